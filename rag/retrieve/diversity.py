"""Diversity: keep one long document from filling every slot, and one passage from appearing twice.

Near-duplicate passages in different documents (a trust's yearly reports repeat paragraphs) are
collapsed before the answerer sees them: the better-ranked one stays, and the documents of the
others are named on its citations ("also in: ...").
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace

from rag.index.duplicates import EXCERPT_CONTAINMENT, DuplicateLink, containment
from rag.types import AnswerSentence, Chunk, Citation, DocumentRef, ScoredChunk


def collapse_duplicates(
    ranked: Sequence[ScoredChunk], links: Mapping[str, Collection[DuplicateLink]]
) -> tuple[list[ScoredChunk], dict[str, list[ScoredChunk]]]:
    """`ranked` without passages that nearly repeat a better-ranked one; order is preserved.

    Args:
        ranked: candidates, best first.
        links: each chunk's near-duplicates in other documents (`Index.duplicate_links`).

    Returns:
        The kept passages, and for each kept chunk id the passages collapsed into it.
    """
    kept: list[ScoredChunk] = []
    collapsed: dict[str, list[ScoredChunk]] = {}
    kept_by_id: dict[str, str] = {}  # chunk id -> the kept chunk it was collapsed into (or itself)
    for item in ranked:
        chunk_id = item.chunk.id
        partner = next(
            (kept_by_id[x.other_id] for x in links.get(chunk_id, ()) if x.other_id in kept_by_id), None
        )
        if partner is None:
            kept.append(item)
            kept_by_id[chunk_id] = chunk_id
        else:
            collapsed.setdefault(partner, []).append(item)
            kept_by_id[chunk_id] = partner
    return kept, collapsed


def with_also_in(
    citations: Sequence[Citation],
    links: Mapping[str, Collection[DuplicateLink]],
    partners: Mapping[str, Chunk],
    titles: Mapping[str, tuple[str, str]],
) -> tuple[Citation, ...]:
    """Citations naming the other documents whose near-duplicate chunk holds the quoted excerpt.

    Args:
        citations: the answer's citations.
        links: near-duplicates of the cited chunks (`Index.duplicate_links`).
        partners: the linked chunks, by id (their text is checked for the excerpt).
        titles: (title, source) by document id.
    """
    out = []
    for citation in citations:
        refs: dict[str, DocumentRef] = {}
        for link in links.get(citation.chunk_id, ()):
            other = partners.get(link.other_id)
            if other is None or link.other_doc_id in refs or link.other_doc_id == citation.doc_id:
                continue
            if containment(citation.excerpt, other.text) >= EXCERPT_CONTAINMENT:
                title, source = titles.get(link.other_doc_id, (link.other_doc_id, ""))
                refs[link.other_doc_id] = DocumentRef(
                    link.other_doc_id, title, source, round(link.similarity, 3)
                )
        out.append(replace(citation, also_in=tuple(refs.values())) if refs else citation)
    return tuple(out)


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


_MARKER = re.compile(r"\[(\d+)\]")


def merge_repeated_quotes(
    text: str, sentences: Sequence[AnswerSentence], citations: Sequence[Citation]
) -> tuple[str, tuple[AnswerSentence, ...], tuple[Citation, ...]]:
    """One citation for a quote cited from two documents (a generative backend may cite both copies).

    A later citation whose excerpt is (nearly) contained in an earlier one's from another
    document is dropped: its markers point at the earlier citation, which names its document
    in `also_in`. Other citation numbers are kept as they are.
    """
    kept: list[Citation] = []
    renumber: dict[int, int] = {}
    for citation in citations:
        twin = next(
            (
                k
                for k in kept
                if k.doc_id != citation.doc_id
                and max(containment(citation.excerpt, k.excerpt), containment(k.excerpt, citation.excerpt))
                >= EXCERPT_CONTAINMENT
            ),
            None,
        )
        if twin is None:
            kept.append(citation)
            continue
        renumber[citation.n] = twin.n
        ref = DocumentRef(citation.doc_id, citation.title, citation.source, 1.0)
        if all(r.doc_id != citation.doc_id for r in twin.also_in):
            index = kept.index(twin)
            kept[index] = replace(twin, also_in=(*twin.also_in, ref))
    if not renumber:
        return text, tuple(sentences), tuple(citations)
    text = _MARKER.sub(lambda m: f"[{renumber.get(int(m.group(1)), int(m.group(1)))}]", text)
    text = re.sub(r"(\[\d+\])(?:\s*\1)+", r"\1", text)  # "[1] [1]" after merging reads once
    merged = tuple(
        replace(s, citations=tuple(dict.fromkeys(renumber.get(n, n) for n in s.citations))) for s in sentences
    )
    return text, merged, tuple(kept)
