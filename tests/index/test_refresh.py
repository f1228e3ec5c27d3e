"""Two opens of one library (as two processes would have): each answers from its view, catches up
with the other's changes on `refresh`, and never hands out a half-made change."""

from __future__ import annotations

import shutil

import pytest

from rag.engine import ChangeGuide
from rag.index.store import Index
from rag.index.vector_store import ChromaVectorStore
from tests.conftest import CORPUS


@pytest.fixture()
def pair(settings):
    first, second = Index.open(settings), Index.open(settings)
    yield first, second
    second.close()
    first.close()


def test_a_view_moves_only_on_refresh_and_then_sees_everything(pair, library):
    reader, writer = pair
    lean, kotter = library["lean"], library["kotter"]
    writer.add_document(lean.doc, lean.chunks, lean.vectors)
    assert reader.documents() == [] and reader.keyword_search("value stream", 3) == [], "the view holds still"
    assert reader.refresh() is True and reader.generation == writer.generation
    assert [d.doc_id for d in reader.documents()] == [lean.id]
    assert reader.keyword_search("value stream mapping", 1)[0][0] == lean.chunk_ids[1], "BM25 caught up too"
    assert reader.dense_search(lean.vectors[0], 1)[0][0] == lean.chunk_ids[0]
    assert reader.refresh() is False, "nothing new: the cheap path"
    writer.add_document(kotter.doc, kotter.chunks, kotter.vectors, replaces=lean.id)
    assert reader.refresh() is True
    assert [d.doc_id for d in reader.documents()] == [kotter.id], "the replacement, never both or neither"
    assert reader.verify() == [] and writer.verify() == []


def test_vectors_no_committed_document_owns_are_left_out(pair, library, settings):
    reader, _ = pair
    ethics = library["ethics"]
    reader.add_document(ethics.doc, ethics.chunks, ethics.vectors)
    # Another writer between its Chroma write and its registry commit: the vectors are there first.
    lean = library["lean"]
    loose = ChromaVectorStore(settings.index.dir / "chroma")
    loose.add(lean.chunk_ids, lean.vectors, [lean.id] * len(lean.chunks))
    hits = reader.dense_search(lean.vectors[0], 10)
    assert hits and {cid for cid, _ in hits} <= set(ethics.chunk_ids), f"only committed documents: {hits}"
    loose.delete(lean.chunk_ids)


def test_a_question_whose_documents_vanish_mid_way_is_asked_again_on_a_fresh_view(
    settings, embedder, tmp_path
):
    folder = tmp_path / "docs"
    folder.mkdir()
    for name in ("kotter-eight-steps.md", "run-charts.md"):
        shutil.copy(CORPUS / name, folder)
    engine = ChangeGuide(settings, embedder=embedder)
    other = Index.open(settings)
    try:
        assert engine.ingest([folder]).ok
        kotter = engine.index.document_by_source(str((folder / "kotter-eight-steps.md").resolve()))
        assert kotter is not None
        real_refresh, calls = engine.index.refresh, []

        def refresh_after_removal(wait: bool = False) -> bool:
            # The other process removes the document just after this one checked for changes.
            calls.append(wait)
            if len(calls) == 1:
                other.refresh(wait=True)
                other.remove_document(kotter.doc_id)
                return False
            return real_refresh(wait=wait)

        engine.index.refresh = refresh_after_removal  # type: ignore[method-assign]
        answer = engine.ask("What are Kotter's eight steps for leading change?")
        assert calls == [False, True], "the stale view failed once and the question went round again"
        assert all(c.doc_id != kotter.doc_id for c in answer.citations), "nothing from the removed document"
        assert all(p.chunk.doc_id != kotter.doc_id for p in answer.retrieved)
        # The feature reranker holds the document profiles (the neural stage wraps it as `first`).
        feature_reranker = getattr(engine.reranker, "first", engine.reranker)
        profiles = feature_reranker._profiles  # type: ignore[attr-defined]  # the cache itself
        assert kotter.doc_id not in profiles and profiles, "the removed document's profile is dropped"
    finally:
        other.close()
        engine.close()
