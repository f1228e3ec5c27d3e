"""The per-document cap, and near-duplicate passages collapsed into one quote."""

from __future__ import annotations

import pytest

from rag.retrieve.diversity import cap_per_document
from rag.types import Chunk, ScoredChunk


def _ranked(docs: str) -> list[ScoredChunk]:
    """One candidate per letter, best first; the letter is the document id."""
    return [
        ScoredChunk(
            chunk=Chunk(id=f"{doc}{i}", doc_id=doc, text=f"text {i}", start=0, end=6), score=1.0 - i / 100
        )
        for i, doc in enumerate(docs)
    ]


def _ids(items: list[ScoredChunk]) -> list[str]:
    return [c.chunk.id for c in items]


def test_one_long_document_cannot_fill_every_slot():
    picked = cap_per_document(_ranked("AAAAABCA"), k=4, cap=2)
    assert _ids(picked) == ["A0", "A1", "B5", "C6"], f"cap 2 should let B and C in, got {_ids(picked)}"


def test_order_is_preserved_and_k_respected():
    picked = cap_per_document(_ranked("ABABABAB"), k=3, cap=2)
    assert _ids(picked) == ["A0", "B1", "A2"], _ids(picked)


def test_slots_are_filled_when_too_few_documents():
    picked = cap_per_document(_ranked("AAAAB"), k=4, cap=2)
    assert len(picked) == 4, "the cap must never leave slots empty while candidates remain"
    assert _ids(picked) == ["A0", "A1", "A2", "B4"], (
        f"held-back passages fill in rank order, got {_ids(picked)}"
    )


def test_fewer_candidates_than_k_and_bad_cap():
    assert _ids(cap_per_document(_ranked("AB"), k=5, cap=1)) == ["A0", "B1"]
    assert cap_per_document([], k=5, cap=2) == []
    with pytest.raises(ValueError, match="cap"):
        cap_per_document(_ranked("A"), k=1, cap=0)


def _link(a: ScoredChunk, b: ScoredChunk) -> list:
    from rag.index.duplicates import DuplicateLink

    return [DuplicateLink(a.chunk.id, a.chunk.doc_id, b.chunk.id, b.chunk.doc_id, 0.8)]


def test_a_passage_repeating_a_better_one_is_collapsed_into_it():
    from rag.retrieve.diversity import collapse_duplicates

    ranked = _ranked("abcd")
    a, b, c, d = ranked
    links = {c.chunk.id: _link(c, a), a.chunk.id: _link(a, c)}
    kept, collapsed = collapse_duplicates(ranked, links)
    assert _ids(kept) == _ids([a, b, d]) and collapsed == {a.chunk.id: [c]}
    assert collapse_duplicates(ranked, {}) == (ranked, {}), "no links: nothing changes"


QUOTE = (
    "Psychological safety is a shared belief among members of a team that they can take interpersonal risks."
)


def _quote(n: int, doc: str, excerpt: str):
    from rag.types import Citation

    return Citation(
        n=n,
        chunk_id=f"c{n}",
        doc_id=doc,
        title=f"Report {doc}",
        source=f"/{doc}.pdf",
        excerpt=excerpt,
        start=0,
        end=len(excerpt),
        score=0.5,
    )


def test_the_same_quote_cited_from_two_documents_becomes_one_citation():
    from rag.retrieve.diversity import merge_repeated_quotes
    from rag.types import AnswerSentence

    citations = (
        _quote(1, "2023", QUOTE),
        _quote(2, "other", "Run charts show data over time."),
        _quote(3, "2024", QUOTE.replace("a team", "our team")),
    )
    sentences = (AnswerSentence("A", (1,)), AnswerSentence("B", (2, 3)), AnswerSentence("C", (3, 1)))
    text, merged, kept = merge_repeated_quotes("A [1] B [2][3] C [3] [1]", sentences, citations)
    assert [c.n for c in kept] == [1, 2], kept
    assert [r.doc_id for r in kept[0].also_in] == ["2024"] and not kept[1].also_in
    assert text == "A [1] B [2][1] C [1]", text
    assert [s.citations for s in merged] == [(1,), (2, 1), (1,)]
    same = merge_repeated_quotes("A [1] B [2]", sentences[:2], citations[:2])
    assert same == ("A [1] B [2]", sentences[:2], citations[:2]), "different quotes stay apart"
