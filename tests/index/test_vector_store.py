"""The contract every `VectorStore` backend passes: on embedded Chroma and on a Chroma server.

To check another backend, subclass `VectorStoreContract` and provide a `store` fixture
yielding an empty store, and a `reopen` fixture if it persists.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import numpy as np
import pytest

from rag.errors import VectorStoreUnavailableError
from rag.index.vector_store import HNSW_EF_SEARCH, ChromaVectorStore, VectorStore
from tests.index.chroma_server import free_port

TEXTS = {
    "a1": ("doc-a", "Run charts show variation over time."),
    "a2": ("doc-a", "A shift is six points on one side of the median."),
    "b1": ("doc-b", "Discharge before midday improves patient flow."),
    "b2": ("doc-b", "Delayed transfers of care block acute beds."),
    "c1": ("doc-c", "Compassionate leadership means attending to staff."),
}


@pytest.fixture(scope="module")
def vectors(embedder) -> dict[str, np.ndarray]:
    ids = list(TEXTS)
    return dict(zip(ids, embedder.embed_batch([TEXTS[i][1] for i in ids]), strict=True))


class VectorStoreContract:
    """Behaviour the `Index` relies on. Subclasses provide the `store` and `reopen` fixtures."""

    @pytest.fixture()
    def store(self) -> VectorStore:
        raise NotImplementedError("a backend's test class provides an empty store")

    @pytest.fixture()
    def reopen(self) -> Callable[[VectorStore], VectorStore]:
        raise NotImplementedError("a backend's test class provides a way to reopen the store")

    @pytest.fixture()
    def filled(self, store, vectors) -> VectorStore:
        ids = list(TEXTS)
        store.add(ids, np.stack([vectors[i] for i in ids]), [TEXTS[i][0] for i in ids])
        return store

    def test_empty_store(self, store, vectors):
        assert store.count() == 0 and store.all_ids() == set()
        assert store.search(vectors["a1"], 5) == [], "searching nothing finds nothing"
        assert store.ids_of("doc-a") == set()
        store.delete_documents(["doc-a"])  # absent: no error
        store.delete(["a1"])

    def test_add_then_find_by_document(self, filled):
        assert filled.count() == 5 and filled.all_ids() == set(TEXTS)
        assert filled.ids_of("doc-b") == {"b1", "b2"}

    def test_search_scores_are_cosine_similarities_best_first(self, filled, vectors):
        hits = filled.search(vectors["b1"], 3)
        assert hits[0][0] == "b1" and hits[0][1] == pytest.approx(1.0, abs=1e-4), (
            f"a vector finds itself: {hits}"
        )
        expected = float(vectors["b1"] @ vectors[hits[1][0]])
        assert hits[1][1] == pytest.approx(expected, abs=1e-4), "score = 1 - cosine distance"
        assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True) and len(hits) == 3

    def test_search_within_documents(self, filled, vectors):
        hits = filled.search(vectors["a1"], 10, {"doc-b", "doc-c"})
        assert {cid for cid, _ in hits} == {"b1", "b2", "c1"}, (
            f"all of and only the allowed documents: {hits}"
        )
        assert filled.search(vectors["a1"], 1, {"doc-c"}) == [
            ("c1", pytest.approx(float(vectors["a1"] @ vectors["c1"]), abs=1e-4))
        ]
        assert filled.search(vectors["a1"], 5, set()) == [], "an empty filter allows nothing"
        assert len(filled.search(vectors["a1"], 50)) == 5, "n beyond the store's size returns everything"

    def test_hits_carry_their_document(self, filled, vectors):
        hits = filled.search_documents(vectors["b1"], 5)
        assert len(hits) == 5 and all(doc == TEXTS[cid][0] for cid, doc, _ in hits), hits
        assert [(cid, score) for cid, _, score in hits] == filled.search(vectors["b1"], 5)

    def test_vectors_come_back_in_the_order_asked(self, filled, vectors):
        got = filled.vectors(["c1", "a1", "b2"])
        assert np.allclose(got, np.stack([vectors["c1"], vectors["a1"], vectors["b2"]]), atol=1e-5)
        with pytest.raises(KeyError, match="zz"):
            filled.vectors(["a1", "zz"])

    def test_add_is_an_upsert(self, filled, vectors):
        filled.add(["a1"], vectors["c1"][None, :], ["doc-a"])
        assert filled.count() == 5, "re-adding an id must not duplicate it"
        assert np.allclose(filled.vectors(["a1"])[0], vectors["c1"], atol=1e-5), "the new vector wins"

    def test_delete_by_document_and_by_id(self, filled, vectors):
        filled.delete_documents(["doc-b"])
        filled.delete(["c1", "absent"])
        assert filled.all_ids() == {"a1", "a2"}
        assert all(cid.startswith("a") for cid, _ in filled.search(vectors["b1"], 5))

    def test_contents_survive_reopening(self, filled, reopen):
        again = reopen(filled)
        assert again.all_ids() == set(TEXTS) and again.ids_of("doc-c") == {"c1"}


class TestChromaVectorStore(VectorStoreContract):
    @pytest.fixture()
    def store(self, tmp_path):
        store = ChromaVectorStore(tmp_path / "chroma")
        yield store
        store.close()

    @pytest.fixture()
    def reopen(self, tmp_path):
        opened: list[ChromaVectorStore] = []

        def reopen(store: ChromaVectorStore) -> ChromaVectorStore:
            store.close()
            opened.append(ChromaVectorStore(tmp_path / "chroma"))
            return opened[-1]

        yield reopen
        for store in opened:
            store.close()


class TestChromaServerVectorStore(VectorStoreContract):
    """The same contract through `chromadb.HttpClient` against a real `chroma run` server."""

    @pytest.fixture()
    def collection(self) -> str:
        return f"contract-{uuid.uuid4().hex[:12]}"  # one server for the session: a collection per test

    @pytest.fixture()
    def store(self, chroma_server, collection):
        store = ChromaVectorStore(None, collection, url=chroma_server.url)
        assert store.url == chroma_server.url
        yield store
        store.close()

    @pytest.fixture()
    def reopen(self, chroma_server, collection):
        opened: list[ChromaVectorStore] = []

        def reopen(store: ChromaVectorStore) -> ChromaVectorStore:
            store.close()
            opened.append(ChromaVectorStore(None, collection, url=chroma_server.url))
            return opened[-1]

        yield reopen
        for store in opened:
            store.close()

    def test_a_second_client_sees_writes_at_once(self, filled, chroma_server, collection, vectors):
        other = ChromaVectorStore(None, collection, url=chroma_server.url)
        try:
            assert other.all_ids() == set(TEXTS), "another process's client reads the same collection"
            filled.delete_documents(["doc-a"])
            assert other.ids_of("doc-a") == set(), "a delete is visible to the other client straight away"
        finally:
            other.close()

    def test_contents_survive_a_server_restart(self, tmp_path, vectors):
        from tests.index.chroma_server import start

        server = start(tmp_path / "db")
        try:
            store = ChromaVectorStore(None, url=server.url)
            store.add(["a1", "b1"], np.stack([vectors["a1"], vectors["b1"]]), ["doc-a", "doc-b"])
            store.close()
        finally:
            server.stop()
        server = start(tmp_path / "db", server.port)
        try:
            again = ChromaVectorStore(None, url=server.url)
            assert again.all_ids() == {"a1", "b1"}, "the server persists to its --path"
            again.close()
        finally:
            server.stop()


def test_an_unreachable_server_is_a_clear_error():
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with pytest.raises(VectorStoreUnavailableError, match="chroma run"):
        ChromaVectorStore(None, url=url)


@pytest.mark.parametrize("url", ["ftp://host:1", "http://"])
def test_a_malformed_url_is_refused(url):
    with pytest.raises(ValueError, match="not a Chroma server URL"):
        ChromaVectorStore(None, url=url)


def test_searches_explore_enough_of_the_graph_to_be_repeatable_and_older_collections_are_raised(tmp_path):
    # At Chroma's default ef_search (100) the same query returned different neighbours in different
    # processes; a collection created before the setting is raised to it when opened.
    from rag.index.vector_store import _client

    client = _client(tmp_path / "old", None)
    client.get_or_create_collection(
        "chunks", embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
    )
    assert client.get_collection("chunks").configuration["hnsw"]["ef_search"] < HNSW_EF_SEARCH
    del client
    for path in (tmp_path / "old", tmp_path / "new"):
        store = ChromaVectorStore(path)
        try:
            hnsw = store._collection.configuration["hnsw"]
            assert hnsw["ef_search"] == HNSW_EF_SEARCH and hnsw["space"] == "cosine", hnsw
        finally:
            store.close()
