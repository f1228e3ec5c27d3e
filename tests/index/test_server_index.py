"""`Index` with Chroma as a server (CHANGEGUIDE_INDEX__CHROMA_URL): the same library from two opens."""

from __future__ import annotations

import uuid

import pytest

from rag.config import IndexSettings, Settings
from rag.index.store import Index
from rag.index.vector_store import ChromaVectorStore


def _server_settings(tmp_path, url: str) -> Settings:
    index = IndexSettings(
        dir=tmp_path / "index", chroma_url=url, chroma_collection=f"t-{uuid.uuid4().hex[:8]}"
    )
    return Settings(index=index)


def test_an_index_on_a_chroma_server_keeps_its_vectors_there(tmp_path, chroma_server, library):
    settings = _server_settings(tmp_path, chroma_server.url)
    assert settings.with_index_dir(tmp_path / "other").index.chroma_url == chroma_server.url, (
        "pointing at another folder keeps the server"
    )
    with Index.open(settings) as index:
        for doc in library.values():
            index.add_document(doc.doc, doc.chunks, doc.vectors)
        lean = library["lean"]
        assert index.dense_search(lean.vectors[0], 1)[0][0] == lean.chunk_ids[0]
        assert index.verify() == []
    assert not (settings.index.dir / "chroma").exists(), "nothing embedded is created beside the registry"
    store = ChromaVectorStore(None, settings.index.chroma_collection, url=chroma_server.url)
    try:
        assert store.count() == sum(len(d.chunks) for d in library.values()), "the vectors live on the server"
    finally:
        store.close()
    with Index.open(settings, create=False) as again:
        assert again.verify() == [] and len(again.documents()) == len(library)


@pytest.mark.slow
def test_a_chroma_server_killed_mid_service_is_a_clear_error_and_a_restart_resumes(tmp_path, embedder):
    import shutil
    import signal

    from rag.engine import ChangeGuide
    from rag.errors import VectorStoreUnavailableError
    from tests.conftest import CORPUS
    from tests.index.chroma_server import start

    server = start(tmp_path / "chroma-db")
    folder = tmp_path / "docs"
    folder.mkdir()
    shutil.copy(CORPUS / "run-charts.md", folder)
    engine = ChangeGuide(_server_settings(tmp_path, server.url), embedder=embedder)
    try:
        assert engine.ingest([folder]).ok
        question = "How many points make a shift on a run chart?"
        assert engine.ask(question).citations
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(30)
        with pytest.raises(VectorStoreUnavailableError, match="chroma run"):
            engine.ask(question)
        server = start(tmp_path / "chroma-db", server.port)
        answer = engine.ask(question)
        assert answer.citations and not answer.abstained, "the same engine answers again once Chroma is back"
    finally:
        engine.close()
        server.stop()
