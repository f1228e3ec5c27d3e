"""Chunk vectors: the `VectorStore` interface and its Chroma implementation.

Chroma runs embedded (a `PersistentClient` on the index folder, the laptop default) or as a
server (`chroma run --path DIR --host 127.0.0.1 --port N`) reached with an `HttpClient`, which
is what several processes sharing one library need: an embedded client keeps its own copy of
the vector index in memory and does not see another process's writes.

Every stored vector carries its document id, so a document's vectors can be found and
deleted without the registry (which is what crash recovery needs).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

import numpy as np

from rag.errors import VectorStoreError, VectorStoreUnavailableError

COLLECTION = "chunks"
# Candidates HNSW explores per search. At Chroma's default (100) a search for the 40 nearest chunks
# returned one of two lists for the same query vector in different processes (3 runs in 10, on
# 2,142 chunks); at 400 every run returned the same list, the exact 40 for 29 of 30 dev questions
# (training/README.md). A mutable setting: an existing collection is raised to it when opened.
HNSW_EF_SEARCH = 400


class VectorStore(Protocol):
    """Unit vectors keyed by chunk id, each tagged with its document id; cosine similarity."""

    def add(self, ids: Sequence[str], vectors: np.ndarray, doc_ids: Sequence[str]) -> None:
        """Store the rows of `vectors` under `ids`; an id already present is overwritten."""
        ...

    def delete_documents(self, doc_ids: Collection[str]) -> None:
        """Delete every vector of these documents (absent ones are ignored)."""
        ...

    def delete(self, ids: Sequence[str]) -> None:
        """Delete these vectors (absent ones are ignored)."""
        ...

    def ids_of(self, doc_id: str) -> set[str]:
        """The chunk ids stored for one document."""
        ...

    def all_ids(self) -> set[str]: ...

    def count(self) -> int: ...

    def search(
        self, vector: np.ndarray, n: int, doc_ids: Collection[str] | None = None
    ) -> list[tuple[str, float]]:
        """Up to `n` nearest ids with cosine similarity, best first, optionally within some documents."""
        ...

    def search_documents(
        self, vector: np.ndarray, n: int, doc_ids: Collection[str] | None = None
    ) -> list[tuple[str, str, float]]:
        """Like `search`, with each hit's document id: (chunk id, document id, cosine similarity)."""
        ...

    def vectors(self, ids: Sequence[str]) -> np.ndarray:
        """Rows for `ids` in the same order; KeyError names any id not stored."""
        ...

    def close(self) -> None: ...


T = TypeVar("T")


def _reading(method: Callable[..., T]) -> Callable[..., T]:
    """Chroma's own failures on a read become `VectorStoreError`, which the engine retries once on a
    fresh view; a server that went away becomes `VectorStoreUnavailableError` with the fix in it."""

    @functools.wraps(method)
    def read(self: ChromaVectorStore, *args: Any, **kwargs: Any) -> T:
        import chromadb.errors
        import httpx

        try:
            return method(self, *args, **kwargs)
        except httpx.TransportError as exc:
            raise VectorStoreUnavailableError(
                f"The Chroma server at {self.url} stopped answering ({_one_line(exc)}); restart it "
                "(`chroma run --path DIR --host 127.0.0.1 --port N`) and ask again."
            ) from exc
        except chromadb.errors.ChromaError as exc:
            raise VectorStoreError(f"Chroma could not answer: {_one_line(exc)}") from exc

    return read


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)


def _one_line(exc: BaseException, limit: int = 200) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:limit]


def _client(path: Path | None, url: str | None) -> Any:
    """An embedded client on `path`, or an HTTP client of the Chroma server at `url`."""
    # Chroma reads this before its settings object; both keep telemetry off.
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if url is None:
        if path is None:
            raise ValueError("a Chroma store needs a folder (embedded) or a server URL")
        return chromadb.PersistentClient(path=str(path), settings=settings)
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not a Chroma server URL such as http://127.0.0.1:8000")
    ssl = parts.scheme == "https"
    try:
        return chromadb.HttpClient(
            host=parts.hostname, port=parts.port or (443 if ssl else 8000), ssl=ssl, settings=settings
        )
    except Exception as exc:  # httpx's connection errors, or Chroma's own on a bad reply
        raise VectorStoreUnavailableError(
            f"The Chroma server at {url} cannot be reached ({_one_line(exc)}). Start it with "
            "`chroma run --path DIR --host 127.0.0.1 --port N`, or unset CHANGEGUIDE_INDEX__CHROMA_URL "
            "to run Chroma inside this process."
        ) from exc


class ChromaVectorStore:
    """One Chroma collection in cosine space, fed our own embeddings (embedded, or on a server).

    Args:
        path: the folder of the embedded database (ignored when `url` is given).
        collection: the collection's name; on a shared server, one per library.
        url: the Chroma server, e.g. http://127.0.0.1:8000; None runs Chroma in this process.
    """

    def __init__(self, path: Path | None, collection: str = COLLECTION, url: str | None = None) -> None:
        self.url = url
        self._client = _client(path, url)
        self._collection = self._client.get_or_create_collection(
            collection,
            embedding_function=None,
            configuration={"hnsw": {"space": "cosine", "ef_search": HNSW_EF_SEARCH}},
        )
        hnsw = (self._collection.configuration or {}).get("hnsw") or {}
        if hnsw.get("ef_search", HNSW_EF_SEARCH) < HNSW_EF_SEARCH:  # built before the setting
            self._collection.modify(configuration={"hnsw": {"ef_search": HNSW_EF_SEARCH}})
        self._max_batch = self._client.get_max_batch_size()

    def add(self, ids: Sequence[str], vectors: np.ndarray, doc_ids: Sequence[str]) -> None:
        if not (len(ids) == len(vectors) == len(doc_ids)):
            raise ValueError(f"{len(ids)} ids, {len(vectors)} vectors and {len(doc_ids)} document ids")
        vectors = np.asarray(vectors, dtype=np.float32)
        for begin in range(0, len(ids), self._max_batch):
            end = begin + self._max_batch
            # upsert, not add: re-running an interrupted write must not fail on ids already there.
            self._collection.upsert(
                ids=list(ids[begin:end]),
                embeddings=vectors[begin:end],
                metadatas=[{"doc_id": d} for d in doc_ids[begin:end]],
            )

    def delete_documents(self, doc_ids: Collection[str]) -> None:
        doc_ids = list(doc_ids)
        if doc_ids:
            self._collection.delete(where={"doc_id": {"$in": doc_ids}})

    def delete(self, ids: Sequence[str]) -> None:
        ids = list(ids)
        for begin in range(0, len(ids), self._max_batch):
            self._collection.delete(ids=ids[begin : begin + self._max_batch])

    @_reading
    def ids_of(self, doc_id: str) -> set[str]:
        return set(self._collection.get(where={"doc_id": doc_id}, include=[])["ids"])

    @_reading
    def all_ids(self) -> set[str]:
        return set(self._collection.get(include=[])["ids"])

    @_reading
    def count(self) -> int:
        return self._collection.count()

    def search(
        self, vector: np.ndarray, n: int, doc_ids: Collection[str] | None = None
    ) -> list[tuple[str, float]]:
        return [(cid, score) for cid, _, score in self.search_documents(vector, n, doc_ids)]

    @_reading
    def search_documents(
        self, vector: np.ndarray, n: int, doc_ids: Collection[str] | None = None
    ) -> list[tuple[str, str, float]]:
        if n <= 0 or (doc_ids is not None and not doc_ids):
            return []
        # Chroma refuses n_results beyond what it holds.
        n = min(n, self.count())
        if n == 0:
            return []
        where = None if doc_ids is None else {"doc_id": {"$in": list(doc_ids)}}
        query = np.asarray(vector, dtype=np.float32).reshape(1, -1)
        result = self._collection.query(
            query_embeddings=query, n_results=n, where=where, include=["distances", "metadatas"]
        )
        ids, distances, metas = result["ids"][0], result["distances"][0], result["metadatas"][0]
        # Chroma's cosine distance is 1 - cosine similarity.
        return [
            (cid, str((meta or {}).get("doc_id", "")), 1.0 - float(d))
            for cid, d, meta in zip(ids, distances, metas, strict=True)
        ]

    @_reading
    def vectors(self, ids: Sequence[str]) -> np.ndarray:
        if not ids:
            return np.zeros((0, 0), dtype=np.float32)
        wanted = list(dict.fromkeys(ids))
        rows: dict[str, np.ndarray] = {}
        for begin in range(0, len(wanted), self._max_batch):
            got = self._collection.get(ids=wanted[begin : begin + self._max_batch], include=["embeddings"])
            rows.update(zip(got["ids"], got["embeddings"], strict=True))
        missing = [cid for cid in wanted if cid not in rows]
        if missing:
            raise KeyError(f"no vectors stored for chunk ids {missing[:5]}")
        # Chroma returns rows in its own order.
        return _unit_rows(np.stack([np.asarray(rows[cid], dtype=np.float32) for cid in ids]))

    def close(self) -> None:
        self._client.close()
