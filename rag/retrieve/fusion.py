"""Reciprocal rank fusion (Cormack, Clarke and Buettcher, SIGIR 2009).

Each ranking contributes `1 / (RRF_K + rank)` to an item's fused score, rank counted from 1.
Only ranks matter, so dense cosines and raw BM25 scores need no common scale.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

RRF_K = 60  # constant from Cormack et al. 2009: damps the weight of the very first ranks

T = TypeVar("T", bound=Hashable)


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[T]], *, k: int = RRF_K, weights: Sequence[float] | None = None
) -> list[tuple[T, float]]:
    """Fuse rankings (best first) into one list of `(item, score)`, best first.

    Ties are broken by the item's best rank in any single ranking, then by first appearance,
    so the result is deterministic.

    Args:
        rankings: each a sequence of items, best first; an item repeated in one ranking
            counts at its first (best) position only.
        k: the RRF constant.
        weights: optional per-ranking multipliers (default 1 each).

    Raises:
        ValueError: when `weights` does not match `rankings` or `k` is negative.
    """
    if k < 0:
        raise ValueError(f"RRF constant k must be >= 0, got {k}")
    if weights is None:
        weights = [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError(f"{len(weights)} weights for {len(rankings)} rankings")
    scores: dict[T, float] = {}
    best_rank: dict[T, int] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        seen: set[T] = set()
        for rank, item in enumerate(ranking, start=1):
            if item in seen:
                continue
            seen.add(item)
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
            best_rank[item] = min(best_rank.get(item, rank), rank)
    order = {item: i for i, item in enumerate(scores)}
    fused = sorted(scores.items(), key=lambda kv: (-kv[1], best_rank[kv[0]], order[kv[0]]))
    return fused
