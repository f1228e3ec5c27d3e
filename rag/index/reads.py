"""The read side of `Index`: documents, chunks and searches, all answered from one view.

A view is the set of documents of one registry generation. Hits from either retriever are kept
to the view's documents, so vectors of a change another process has not committed yet (or
has just removed) never reach an answer.
"""

from __future__ import annotations

import os
import stat
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np

from rag.errors import VectorStoreError
from rag.index.duplicates import DuplicateLink, SharedShare, shares
from rag.index.keyword import KeywordIndex
from rag.index.locking import ReadWriteLock
from rag.index.manifest import BM25, INGEST_LOCK, INGEST_QUEUE, INGEST_STATUS, WRITE_LOCK
from rag.index.registry import DocumentRecord, Registry, matching_documents
from rag.index.vector_store import VectorStore
from rag.types import Chunk, Filters, PageSpan, SectionSpan, SourceDocument

_T = TypeVar("_T")  # what a read of the keyword index returns (_read_keyword)

# Registry state key: the generation at which a writer last closed its embedded Chroma client,
# which is when Chroma's on-disk vector index holds everything (see `refresh`).
VECTORS_FLUSHED = "vectors_flushed"
BOOKKEEPING = {WRITE_LOCK, INGEST_LOCK, INGEST_STATUS, f"{INGEST_STATUS}.tmp", INGEST_QUEUE}
HELD_BACK_RETRY_S = 1.0  # how often a view missing another process's unflushed documents looks again


@dataclass(frozen=True)
class IndexStats:
    """Size of an index and what shaped it."""

    documents: int
    chunks: int
    fingerprint: str
    size_bytes: int
    path: str


@dataclass(frozen=True)
class View:
    """The documents of one registry generation, in order added (the registry's rows, cached)."""

    generation: int
    records: dict[str, DocumentRecord] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Later documents win: a source re-ingested under a new id names the newer one.
        object.__setattr__(self, "by_source", {r.source: r for r in self.records.values()})
        object.__setattr__(self, "n_chunks", sum(r.n_chunks for r in self.records.values()))

    by_source: dict[str, DocumentRecord] = field(init=False, default_factory=dict)
    n_chunks: int = field(init=False, default=0)


class IndexReads:
    """Reads of an `Index` under its readers-writer lock (the `Index` sets the attributes below)."""

    path: Path
    fingerprint: str
    _lock: ReadWriteLock
    _keyword_lock: threading.Lock
    _registry: Registry
    _vectors: VectorStore
    _view: View
    _keyword: KeywordIndex | None
    _batch_depth: int

    _refresh_lock: threading.Lock
    _reopen_vectors: Callable[[], VectorStore] | None
    _vectors_epoch: int | None
    _closed: bool
    _held_back: bool = False  # the view leaves out documents whose vectors are not readable here yet
    _held_back_at: float = 0.0

    def _fresh_keyword(self) -> KeywordIndex:
        raise NotImplementedError

    def _save_if_free(self) -> None:
        raise NotImplementedError

    # -- other processes' changes --------------------------------------------------------------

    @property
    def generation(self) -> int:
        """The registry generation this process answers from."""
        return self._view.generation

    def refresh(self, wait: bool = False) -> bool:
        """Catch up with changes other processes committed; True if the view moved.

        Cheap when nothing changed (one SQLite read). Otherwise the documents and the BM25 index are
        reloaded outside the lock, then swapped in whole, so questions meanwhile keep the previous
        view; an embedded Chroma client whose writer has flushed is reopened during the swap. If another thread
        is already refreshing, returns False at once unless `wait`.
        """
        if self._closed or not self._stale():
            return False
        if not self._refresh_lock.acquire(blocking=wait):
            return False
        try:
            if self._closed or not self._stale():
                return False
            flushed = self._registry.state(VECTORS_FLUSHED)
            if self._reopen_vectors is not None and flushed != self._vectors_epoch:
                with self._lock.write():
                    # Close first: clients of one folder share Chroma's in-process system, which
                    # reloads from disk only once the last of them has closed.
                    self._vectors.close()
                    self._vectors = self._reopen_vectors()
                    self._vectors_epoch = flushed
            view = self._visible(self._read_view())
            keyword = self._keyword_at(view.generation)
            with self._lock.write():
                self._view, self._keyword = view, keyword
            return True
        finally:
            self._refresh_lock.release()

    def _stale(self) -> bool:
        generation = self._registry.generation()
        if generation != self._view.generation or self._keyword is None:
            return True
        if self._keyword.generation < generation:
            return True
        if self._reopen_vectors is None:
            return False
        if self._registry.state(VECTORS_FLUSHED) != self._vectors_epoch:
            return True
        return self._held_back and time.monotonic() - self._held_back_at >= HELD_BACK_RETRY_S

    def _visible(self, view: View) -> View:
        """`view` without new documents whose vectors this process's Chroma client cannot read yet.

        Only embedded Chroma: another process's writes reach this client when that process has
        flushed them (see `refresh`); until then its new documents wait outside the view.
        """
        self._held_back = False
        if self._reopen_vectors is None:
            return view
        hidden = []
        for doc_id in view.records.keys() - self._view.records.keys():
            try:
                self._vectors.vectors(sorted(self._registry.chunk_ids(doc_id)))
            except (KeyError, VectorStoreError):
                hidden.append(doc_id)
        if not hidden:
            return view
        self._held_back, self._held_back_at = True, time.monotonic()
        return View(view.generation, {d: r for d, r in view.records.items() if d not in hidden})

    def _read_view(self) -> View:
        snapshot = self._registry.snapshot()
        return View(snapshot.generation, {r.doc_id: r for r in snapshot.records})

    def _keyword_at(self, generation: int) -> KeywordIndex:
        """A BM25 index of at least `generation`: the one in hand, the saved one, or a new build."""
        current = self._keyword
        if current is not None and current.generation >= generation:
            return current
        saved = KeywordIndex.load(self.path / BM25)
        if saved is not None and saved.generation >= generation:
            return saved
        snapshot = self._registry.snapshot(corpus=True)
        assert snapshot.corpus is not None
        return KeywordIndex.build(*snapshot.corpus, snapshot.generation)

    def document_by_source(self, source: str) -> DocumentRecord | None:
        """The document last ingested from `source`, if any."""
        with self._lock.read():
            return self._view.by_source.get(source)

    def get_document(self, doc_id: str) -> DocumentRecord | None:
        with self._lock.read():
            return self._view.records.get(doc_id)

    def documents(self) -> list[DocumentRecord]:
        """Every document, in order of ingestion."""
        with self._lock.read():
            return list(self._view.records.values())

    def document_text(self, doc_id: str) -> str:
        """The extracted text that the document's chunk offsets point into.

        Raises:
            KeyError: no such document.
        """
        with self._lock.read():
            text = self._registry.text(doc_id)
        if text is None:
            raise KeyError(f"no document {doc_id!r} in the index")
        return text

    def source_document(self, doc_id: str) -> SourceDocument | None:
        """The stored document with its text, pages and sections (for viewers)."""
        with self._lock.read():
            return self._registry.source_document(doc_id)

    def document_spans(self, doc_id: str) -> tuple[tuple[PageSpan, ...], tuple[SectionSpan, ...]] | None:
        """A document's page and section spans, without reading its text (None for an unknown id)."""
        with self._lock.read():
            return self._registry.spans(doc_id)

    def get_chunks(self, chunk_ids: Sequence[str]) -> list[Chunk]:
        """The chunks with these ids, in the same order.

        Raises:
            KeyError: some id is not in the index (e.g. another process removed its document).
        """
        with self._lock.read():
            found = self._registry.chunks(chunk_ids)
        missing = [cid for cid in chunk_ids if cid not in found]
        if missing:
            raise KeyError(f"chunk ids not in the index: {missing[:5]}")
        return [found[cid] for cid in chunk_ids]

    def document_chunks(self, doc_id: str) -> list[Chunk]:
        """A document's chunks in reading order (empty for an unknown document)."""
        with self._lock.read():
            return self._registry.document_chunks(doc_id)

    def chunk_vectors(self, chunk_ids: Sequence[str]) -> np.ndarray:
        """Unit embedding rows of these chunks, same order (shape (0, 0) for no ids).

        Raises:
            KeyError: some id is not in the index.
        """
        with self._lock.read():
            return self._vectors.vectors(chunk_ids)

    def dense_search(
        self, vector: np.ndarray, n: int, doc_ids: Collection[str] | None = None
    ) -> list[tuple[str, float]]:
        """Up to `n` (chunk id, cosine similarity) pairs nearest `vector`, best first.

        Args:
            vector: the query's unit vector, shape (dim,).
            n: how many to return.
            doc_ids: search only these documents; None searches all.
        """
        with self._lock.read():
            records = self._view.records
            if doc_ids is not None:
                doc_ids = [d for d in doc_ids if d in records]
                available = sum(records[d].n_chunks for d in doc_ids)
            else:
                available = self._view.n_chunks
            wanted = min(n, available)
            hits = self._vectors.search_documents(vector, wanted, doc_ids)
            # Vectors of a change another process has not committed yet (or has just removed) stay out;
            # if they took places, ask again within the view's documents (rare: only mid-change).
            kept = [(cid, score) for cid, doc_id, score in hits if doc_id in records]
            if len(kept) < len(hits):
                allowed = list(records) if doc_ids is None else doc_ids
                hits = self._vectors.search_documents(vector, wanted, allowed)
                kept = [(cid, score) for cid, doc_id, score in hits if doc_id in records]
            return kept

    def keyword_search(
        self, query: str, n: int, doc_ids: Collection[str] | None = None
    ) -> list[tuple[str, float]]:
        """Up to `n` (chunk id, raw BM25 score) pairs for `query`, best first; only chunks sharing a term.

        Args:
            query: the question in plain words.
            n: how many to return.
            doc_ids: search only these documents; None searches all.
        """

        def search(keyword: KeywordIndex, records: Mapping[str, DocumentRecord]) -> list[tuple[str, float]]:
            hits = keyword.search_documents(query, n, doc_ids)
            return [(cid, score) for cid, doc_id, score in hits if doc_id in records]

        return self._read_keyword(search)

    def keyword_scale(self) -> float:
        """The BM25 score of a strong match in this library (KeywordIndex.scale): raw BM25 grows
        with the library's size and spread, a score divided by this does not."""

        def scale(keyword: KeywordIndex, records: Mapping[str, DocumentRecord]) -> float:
            return keyword.scale(lambda doc_id: record.title if (record := records.get(doc_id)) else None)

        return self._read_keyword(scale)

    def _read_keyword(self, read: Callable[[KeywordIndex, Mapping[str, DocumentRecord]], _T]) -> _T:
        """`read(keyword index, document records)` on the current keyword index under the read lock;
        a keyword index rebuilt for it is saved afterwards (not inside an ingest batch)."""
        with self._lock.read():
            before = self._keyword
            keyword = self._fresh_keyword()
            result = read(keyword, self._view.records)
        if keyword is not before and not self._batch_depth:
            self._save_if_free()
        return result

    def resolve_filters(self, filters: Filters) -> set[str] | None:
        """The ids of the documents `filters` allows, or None when it allows everything.

        Topics and formats match case-insensitively, any one of those given; a year range
        excludes documents without a year. Different kinds of filter all have to match.
        """
        if filters.is_empty():
            return None
        with self._lock.read():
            records = list(self._view.records.values())
        return matching_documents(records, filters)

    def duplicate_links(self, chunk_ids: Sequence[str]) -> dict[str, list[DuplicateLink]]:
        """Near-duplicates of these chunks in other documents, by chunk id (chunks without any are left out)."""
        with self._lock.read():
            return self._registry.duplicate_links(chunk_ids)

    def shared_shares(self) -> dict[str, SharedShare]:
        """Per document id: how much of it repeats other documents (documents sharing nothing are left out)."""
        with self._lock.read():
            totals = {d: r.n_chunks for d, r in self._view.records.items()}
            return shares(self._registry.shared_counts(), totals)

    def stats(self) -> IndexStats:
        """Counts, fingerprint and bytes on disk."""
        with self._lock.read():
            documents = len(self._view.records)
            chunks = self._view.n_chunks
        return IndexStats(documents, chunks, self.fingerprint, _stored_bytes(self.path), str(self.path))


def _stored_bytes(directory: Path) -> int:
    """Bytes of the files under `directory`, leaving out the ingest's status, queue and lock files
    (they say what runs, not what is stored). Read without the lock, so a file or folder a writer
    renames or deletes mid-walk (a BM25 save, a SQLite journal) is skipped rather than raising:
    `os.walk` passes over folders that vanish, and a vanished file is not counted."""
    size = 0
    for folder, _, names in os.walk(directory):
        parent = os.path.basename(folder)
        for name in names:
            if BOOKKEEPING & {name, parent}:
                continue
            try:
                info = os.stat(os.path.join(folder, name), follow_symlinks=False)
            except FileNotFoundError:
                continue
            if stat.S_ISREG(info.st_mode):
                size += info.st_size
    return size
