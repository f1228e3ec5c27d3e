"""The per-document cap."""

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
