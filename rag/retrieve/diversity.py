"""Diversity: keep one long document from filling every slot."""

from __future__ import annotations

from collections.abc import Sequence

from rag.types import ScoredChunk


def cap_per_document(ranked: Sequence[ScoredChunk], k: int, cap: int) -> list[ScoredChunk]:
    """The best `k` of `ranked` with at most `cap` from any one document.

    When fewer than `k` passages satisfy the cap (e.g. the filters allow a single document),
    the remaining slots are filled from the passages the cap held back, best first: the cap
    spreads the answer across documents, it never leaves slots empty. Order is preserved.

    Raises:
        ValueError: if `cap` < 1.
    """
    if cap < 1:
        raise ValueError(f"per-document cap must be >= 1, got {cap}")
    kept: list[int] = []
    held: list[int] = []
    per_doc: dict[str, int] = {}
    for i, item in enumerate(ranked):
        if len(kept) == k:
            break
        doc = item.chunk.doc_id
        if per_doc.get(doc, 0) < cap:
            per_doc[doc] = per_doc.get(doc, 0) + 1
            kept.append(i)
        else:
            held.append(i)
    if len(kept) < k:
        # The loop ran through every candidate without filling k slots: relax the cap.
        kept.extend(held[: k - len(kept)])
    return [ranked[i] for i in sorted(kept)]
