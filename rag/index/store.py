"""`Index`: the one object that keeps Chroma, BM25 and the registry in agreement.

The folder layout and fingerprint check are in `manifest.py`, the crash safety in `journal.py`:
a process killed at any point (kill -9) leaves an index that opens and agrees with itself.

Several processes may open one library (app processes, a command-line ingest). Changes are
serialised between them by a file lock; each process answers from its *view*: the documents
and the BM25 index of one registry generation, swapped whole by `refresh` when another process
has committed something. Hits from either retriever are kept to the view's documents, so a
change that is half-way into Chroma never reaches an answer.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from rag.config import Settings
from rag.errors import IndexCorruptError
from rag.index.checks import disagreements
from rag.index.duplicates import DuplicateFinder, load_finder, signatures
from rag.index.filelock import FileLock, LockTimeoutError
from rag.index.journal import Journal, reconcile, reconcile_all
from rag.index.keyword import KeywordIndex
from rag.index.locking import ReadWriteLock
from rag.index.manifest import BM25, CHROMA, JOURNAL, REGISTRY, WRITE_LOCK, check_manifest, now
from rag.index.reads import VECTORS_FLUSHED, IndexReads, IndexStats, View
from rag.index.registry import DocumentRecord, Registry
from rag.index.vector_store import ChromaVectorStore, VectorStore
from rag.types import Chunk, SourceDocument

__all__ = ["BM25", "CHROMA", "JOURNAL", "REGISTRY", "DocumentRecord", "Index", "IndexStats"]


class Index(IndexReads):
    """Chroma vectors, a BM25 index and the SQLite registry of one library, kept in agreement.

    Thread-safe: searches and reads share a lock, changes take it exclusively, and only for the
    commit of one document. Open with `Index.open`.
    """

    def __init__(
        self,
        directory: Path,
        fingerprint: str,
        registry: Registry,
        vectors: VectorStore,
        reopen_vectors: Callable[[], VectorStore] | None = None,
    ) -> None:
        self.path = directory
        self.fingerprint = fingerprint
        self._registry = registry
        self._vectors = vectors
        self._reopen_vectors = reopen_vectors  # embedded Chroma only: reopened to see others' writes
        self._vectors_epoch = registry.state(VECTORS_FLUSHED)
        self._journal = Journal(directory / JOURNAL)
        self._lock = ReadWriteLock()
        self._writer = FileLock(directory / WRITE_LOCK)  # one committing process at a time
        self._keyword_lock = threading.Lock()  # one BM25 rebuild at a time
        self._refresh_lock = threading.Lock()
        self._keyword: KeywordIndex | None = None
        self._saved_generation: int | None = None  # generation of the BM25 index on disk
        self._batch_depth = 0
        self._wrote = False  # changed Chroma since its client opened (embedded: flush on close)
        self._closed = False
        self._view = View(-1)
        self._duplicates = DuplicateFinder()  # LSH over the registry's chunk signatures
        self._duplicates_generation: int | None = None  # None: not loaded

    @classmethod
    def open(cls, settings: Settings, *, create: bool = True) -> Index:
        """Open (or, with `create`, start) the index at `settings.index.dir`, repairing an interrupted change.

        Raises:
            FingerprintMismatchError: the index was built with other embedding or chunking settings.
            IndexNotFoundError: there is no index there and `create` is False.
            IndexCorruptError: the folder holds something else, or the manifest or registry is unreadable.
            VectorStoreUnavailableError: the Chroma server the settings name cannot be reached.
        """
        directory = Path(settings.index.dir).expanduser().resolve()
        fingerprint, _ = check_manifest(settings, directory, create)
        try:
            registry = Registry(directory / REGISTRY)
        except sqlite3.DatabaseError as exc:
            raise _corrupt(directory, exc) from exc
        url, collection = settings.index.chroma_url, settings.index.chroma_collection

        def connect() -> VectorStore:
            return ChromaVectorStore(directory / CHROMA, collection, url=url)

        try:
            vectors = connect()
        except BaseException:
            registry.close()
            raise
        index = cls(directory, fingerprint, registry, vectors, None if url else connect)
        try:
            with index._writer.hold():
                index._recover()
                index._finder()  # signs and links an index built before near-duplicates were tracked
                index._view = index._read_view()
                index._keyword = KeywordIndex.load(directory / BM25)
                index._saved_generation = None if index._keyword is None else index._keyword.generation
                index._save_keyword()
        except BaseException as exc:
            index._release()
            if isinstance(exc, sqlite3.DatabaseError):
                raise _corrupt(directory, exc) from exc
            raise
        return index

    # -- reads ---------------------------------------------------------------------------------

    @contextmanager
    def reading(self) -> Iterator[Index]:
        """Hold off changes (and view swaps) across several calls, e.g. a search and its `get_chunks`."""
        with self._lock.read():
            yield self

    def verify(self) -> list[str]:
        """Disagreements between the registry, Chroma and BM25 (empty when they agree).

        Waits for a change another process is committing, and repairs an interrupted one first.
        """
        with self._writer.hold(), self._lock.write():
            self._check_open()
            self._recover_interrupted()
            self._view = self._read_view()
            keyword = self._fresh_keyword()
            records = list(self._view.records.values())
            return disagreements(self._registry, self._vectors, keyword, self.path / BM25, records)

    # -- changes -------------------------------------------------------------------------------

    def add_document(
        self,
        doc: SourceDocument,
        chunks: Sequence[Chunk],
        vectors: np.ndarray,
        replaces: str | None = None,
        chunk_signatures: np.ndarray | None = None,
    ) -> None:
        """Add a document with its chunks and their vectors; a document already present is left alone.

        Its chunks' near-duplicates in other documents are found and stored with it. Waits for a
        change another process is committing; readers wait only for this one commit.

        Args:
            doc: the extracted document.
            chunks: its chunks, each `doc.text[start:end]`.
            vectors: one unit row per chunk.
            replaces: id of an earlier version (e.g. the same file before it changed), removed in
                the same step: readers see either the old or the new document, never both or neither.
            chunk_signatures: the chunks' MinHash signatures (`duplicates.signatures`), if the
                caller computed them off the write lock; computed here otherwise.

        Raises:
            ValueError: chunks and vectors (or signatures) do not match the document.
        """
        vectors = np.asarray(vectors, dtype=np.float32)
        _validate(doc, chunks, vectors)
        sigs = signatures([c.text for c in chunks]) if chunk_signatures is None else chunk_signatures
        if sigs.shape[0] != len(chunks):
            raise ValueError(f"{len(chunks)} chunks need {len(chunks)} signatures, got {sigs.shape[0]}")
        with self._writer.hold(), self._lock.write():
            self._check_open()
            self._recover_interrupted()
            # The registry, not the view: another process may have changed it since.
            present = self._registry.record(doc.doc_id) is not None
            remove = (
                [replaces]
                if replaces and replaces != doc.doc_id and self._registry.record(replaces) is not None
                else []
            )
            if present and not remove:
                self._catch_up()
                return
            touched = ([] if present else [doc.doc_id]) + remove
            ids = [c.id for c in chunks]
            finder = self._finder()
            links = [] if present else finder.links(doc.doc_id, ids, sigs)
            links = [x for x in links if x.doc_id not in remove and x.other_doc_id not in remove]
            self._journal.begin("add", touched)
            try:
                self._wrote = True
                if not present:
                    self._vectors.add(ids, vectors, [doc.doc_id] * len(chunks))
                generation = self._registry.commit(
                    add=None if present else (doc, chunks),
                    remove=remove,
                    ingested_at=doc.ingested_at or now(),
                    signatures=None if present else sigs,
                    links=links,
                )
                self._vectors.delete_documents(remove)
            except Exception:
                self._recover_in_process(touched)
                raise
            self._journal.clear()
            finder.remove_documents(remove)
            if not present:
                finder.add(doc.doc_id, ids, sigs)
            self._committed(generation, added=None if present else doc.doc_id, removed=remove)

    def remove_document(self, doc_id: str) -> None:
        """Delete a document everywhere (an unknown id changes nothing)."""
        with self._writer.hold(), self._lock.write():
            self._check_open()
            self._recover_interrupted()
            if self._registry.record(doc_id) is None:
                self._catch_up()
                return
            self._journal.begin("remove", [doc_id])
            try:
                self._wrote = True
                # Registry first: once committed the document is gone; leftover vectors are orphans
                # that recovery deletes.
                generation = self._registry.commit(remove=[doc_id])
                self._vectors.delete_documents([doc_id])
            except Exception:
                self._recover_in_process([doc_id])
                raise
            self._journal.clear()
            if self._duplicates_generation is not None:
                self._duplicates.remove_documents([doc_id])
            self._committed(generation, removed=[doc_id])

    @contextmanager
    def batch(self) -> Iterator[Index]:
        """Group many changes: BM25 is rebuilt and saved once, when the outermost batch ends."""
        with self._lock.write():
            self._batch_depth += 1
        try:
            yield self
        finally:
            with self._lock.write():
                self._batch_depth -= 1
                outermost = not self._batch_depth and not self._closed
            if outermost:
                with self._writer.hold():
                    self._save_keyword()
                    self._flush_vectors()

    def close(self) -> None:
        """Save a BM25 index that lags behind, and release the stores (idempotent)."""
        with self._writer.hold(), self._lock.write():
            if self._closed:
                return
            try:
                self._save_keyword()
            finally:
                self._release()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals (callers hold the lock) -----------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this Index is closed; open it again with Index.open(settings)")

    def _release(self) -> None:
        self._closed = True
        try:
            self._vectors.close()
            if self._wrote and self._reopen_vectors is not None:
                self._registry.set_state(VECTORS_FLUSHED, self._registry.generation())
        finally:
            self._registry.close()

    def _committed(self, generation: int, added: str | None = None, removed: Sequence[str] = ()) -> None:
        """Bring the view past this process's own commit (reloading it if another process's came between)."""
        if generation != self._view.generation + 1:
            self._view = self._read_view()
            return
        records = {d: r for d, r in self._view.records.items() if d not in removed}
        if added is not None and (record := self._registry.record(added)) is not None:
            records[added] = record
        self._view = View(generation, records)
        if self._duplicates_generation is not None:
            self._duplicates_generation = generation

    def _catch_up(self) -> None:
        if self._view.generation != self._registry.generation():
            self._view = self._read_view()

    def _finder(self) -> DuplicateFinder:
        """The near-duplicate LSH index, (re)loaded if it missed other processes' changes."""
        generation = self._registry.generation()
        if self._duplicates_generation != generation:
            self._duplicates = load_finder(self._registry)
            self._duplicates_generation = self._registry.generation()
        return self._duplicates

    def _fresh_keyword(self) -> KeywordIndex:
        """The BM25 index, rebuilt in memory first if it lags behind the view (`refresh`, batches and
        `close` save it: saving takes the writer lock, which must never be awaited holding this one's)."""
        self._check_open()
        with self._keyword_lock:
            if self._keyword is None or self._keyword.generation < self._view.generation:
                snapshot = self._registry.snapshot(corpus=True)
                assert snapshot.corpus is not None
                self._keyword = KeywordIndex.build(*snapshot.corpus, snapshot.generation)
            return self._keyword

    def _save_keyword(self) -> None:
        """Bring the BM25 index on disk up to the registry, rebuilding it first if need be (writer lock held)."""
        if self._keyword is None or self._keyword.generation != self._registry.generation():
            snapshot = self._registry.snapshot(corpus=True)
            assert snapshot.corpus is not None
            self._keyword = KeywordIndex.build(*snapshot.corpus, snapshot.generation)
        if self._saved_generation != self._keyword.generation:
            self._keyword.save(self.path / BM25)
            self._saved_generation = self._keyword.generation

    def _save_if_free(self) -> None:
        """Save a rebuilt BM25 index unless another writer is busy (never waits: a reader may hold locks)."""
        try:
            with self._writer.hold(timeout=0):
                if not self._closed:
                    self._save_keyword()
        except LockTimeoutError:
            pass  # the writer saves at the end of its batch

    def _flush_vectors(self) -> None:
        """Embedded Chroma keeps recent writes in memory: reopen it so other processes can load them."""
        if not self._wrote or self._reopen_vectors is None:
            return
        with self._lock.write():
            self._vectors.close()
            self._vectors = self._reopen_vectors()
            self._wrote = False
            self._vectors_epoch = self._registry.generation()
            self._registry.set_state(VECTORS_FLUSHED, self._vectors_epoch)

    def _recover(self) -> None:
        """Finish or undo an interrupted change, then make Chroma agree with the registry."""
        pending = self._journal.pending()
        if pending:
            reconcile(self._registry, self._vectors, pending)
        # A cheap count check catches anything a journal missed (e.g. a torn journal).
        if pending is not None or self._vectors.count() != self._registry.chunk_count():
            reconcile_all(self._registry, self._vectors)
        self._journal.clear()

    def _recover_interrupted(self) -> None:
        """Repair a change a killed process left half done (its journal is still there)."""
        if self._journal.pending() is not None:
            self._recover()
            self._view = self._read_view()
            self._duplicates_generation = None

    def _recover_in_process(self, doc_ids: Sequence[str]) -> None:
        """Undo a change that raised; if even that fails the journal stays for the next open."""
        try:
            reconcile(self._registry, self._vectors, doc_ids)
            self._journal.clear()
        finally:
            self._view = self._read_view()
            self._duplicates_generation = None


def _corrupt(directory: Path, exc: Exception) -> IndexCorruptError:
    return IndexCorruptError(
        f"The registry in {directory} cannot be read ({exc}). Rebuild the index: "
        f"`rm -r {directory} && changeguide ingest PATH... --index {directory}`."
    )


def _validate(doc: SourceDocument, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
    if vectors.ndim != 2 or len(vectors) != len(chunks):
        raise ValueError(
            f"{len(chunks)} chunks need a 2-d array of {len(chunks)} vectors, got shape {vectors.shape}"
        )
    if not np.isfinite(vectors).all():
        raise ValueError(f"document {doc.doc_id} has vectors with NaN or infinite values")
    for chunk in chunks:
        if chunk.doc_id != doc.doc_id:
            raise ValueError(f"chunk {chunk.id} belongs to document {chunk.doc_id}, not {doc.doc_id}")
        if doc.text[chunk.start : chunk.end] != chunk.text:
            raise ValueError(f"chunk {chunk.id} is not the document text at [{chunk.start}:{chunk.end}]")
    if len({c.id for c in chunks}) != len(chunks):
        raise ValueError(f"document {doc.doc_id} has duplicate chunk ids")
