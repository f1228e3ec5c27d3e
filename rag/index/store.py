"""`Index`: the one object that keeps Chroma, BM25 and the registry in agreement.

The folder layout and fingerprint check are in `manifest.py`, the crash safety in `journal.py`:
a process killed at any point (kill -9) leaves an index that opens and agrees with itself.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.config import Settings
from rag.errors import IndexCorruptError
from rag.index.duplicates import DuplicateFinder, DuplicateLink, SharedShare, load_finder, shares, signatures
from rag.index.journal import Journal, reconcile, reconcile_all
from rag.index.keyword import KeywordIndex
from rag.index.locking import ReadWriteLock
from rag.index.manifest import BM25, CHROMA, JOURNAL, REGISTRY, check_manifest, now
from rag.index.registry import DocumentRecord, Registry, matching_documents
from rag.index.vector_store import ChromaVectorStore, VectorStore
from rag.types import Chunk, Filters, PageSpan, SectionSpan, SourceDocument

__all__ = ["BM25", "CHROMA", "JOURNAL", "REGISTRY", "DocumentRecord", "Index", "IndexStats"]


@dataclass(frozen=True)
class IndexStats:
    """Size of an index and what shaped it."""

    documents: int
    chunks: int
    fingerprint: str
    size_bytes: int
    path: str


class Index:
    """Chroma vectors, a BM25 index and the SQLite registry of one library, kept in agreement.

    Thread-safe: searches and reads share a lock, changes take it exclusively. Open with `Index.open`.
    """

    def __init__(self, directory: Path, fingerprint: str, registry: Registry, vectors: VectorStore) -> None:
        self.path = directory
        self.fingerprint = fingerprint
        self._registry = registry
        self._vectors = vectors
        self._journal = Journal(directory / JOURNAL)
        self._lock = ReadWriteLock()
        self._keyword_lock = threading.Lock()  # one BM25 rebuild at a time
        self._keyword: KeywordIndex | None = None
        self._saved_generation: int | None = None  # generation of the BM25 index on disk
        self._batch_depth = 0
        self._closed = False
        self._records: dict[str, DocumentRecord] = {}  # in order added; the registry's rows, cached
        self._by_source: dict[str, DocumentRecord] = {}
        self._n_chunks = 0
        self._duplicates = DuplicateFinder()  # LSH over the registry's chunk signatures

    @classmethod
    def open(cls, settings: Settings, *, create: bool = True) -> Index:
        """Open (or, with `create`, start) the index at `settings.index.dir`, repairing an interrupted change.

        Raises:
            FingerprintMismatchError: the index was built with other embedding or chunking settings.
            IndexNotFoundError: there is no index there and `create` is False.
            IndexCorruptError: the folder holds something else, or the manifest or registry is unreadable.
        """
        directory = Path(settings.index.dir).expanduser().resolve()
        fingerprint, _ = check_manifest(settings, directory, create)
        try:
            registry = Registry(directory / REGISTRY)
        except sqlite3.DatabaseError as exc:
            raise _corrupt(directory, exc) from exc
        try:
            vectors = ChromaVectorStore(
                directory / CHROMA, settings.index.chroma_collection, url=settings.index.chroma_url
            )
        except BaseException:
            registry.close()
            raise
        index = cls(directory, fingerprint, registry, vectors)
        try:
            index._recover()
            index._refresh_records()
            index._load_duplicates()
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
        """Hold off changes across several calls, e.g. a search and the `get_chunks` of its hits."""
        with self._lock.read():
            yield self

    def document_by_source(self, source: str) -> DocumentRecord | None:
        """The document last ingested from `source`, if any."""
        with self._lock.read():
            return self._by_source.get(source)

    def get_document(self, doc_id: str) -> DocumentRecord | None:
        with self._lock.read():
            return self._records.get(doc_id)

    def documents(self) -> list[DocumentRecord]:
        """Every document, in order of ingestion."""
        with self._lock.read():
            return list(self._records.values())

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
            KeyError: some id is not in the index.
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
            if doc_ids is not None:
                doc_ids = [d for d in doc_ids if d in self._records]
                available = sum(self._records[d].n_chunks for d in doc_ids)
            else:
                available = self._n_chunks
            return self._vectors.search(vector, min(n, available), doc_ids)

    def keyword_search(
        self, query: str, n: int, doc_ids: Collection[str] | None = None
    ) -> list[tuple[str, float]]:
        """Up to `n` (chunk id, raw BM25 score) pairs for `query`, best first; only chunks sharing a term.

        Args:
            query: the question in plain words.
            n: how many to return.
            doc_ids: search only these documents; None searches all.
        """
        with self._lock.read():
            keyword = self._fresh_keyword()
            return keyword.search(query, n, doc_ids)

    def resolve_filters(self, filters: Filters) -> set[str] | None:
        """The ids of the documents `filters` allows, or None when it allows everything.

        Topics and formats match case-insensitively, any one of those given; a year range
        excludes documents without a year. Different kinds of filter all have to match.
        """
        if filters.is_empty():
            return None
        with self._lock.read():
            records = list(self._records.values())
        return matching_documents(records, filters)

    def duplicate_links(self, chunk_ids: Sequence[str]) -> dict[str, list[DuplicateLink]]:
        """Near-duplicates of these chunks in other documents, by chunk id (chunks without any are left out)."""
        with self._lock.read():
            return self._registry.duplicate_links(chunk_ids)

    def shared_shares(self) -> dict[str, SharedShare]:
        """Per document id: how much of it repeats other documents (documents sharing nothing are left out)."""
        with self._lock.read():
            return shares(self._registry.shared_counts(), {d: r.n_chunks for d, r in self._records.items()})

    def stats(self) -> IndexStats:
        """Counts, fingerprint and bytes on disk."""
        with self._lock.read():
            documents = len(self._records)
            chunks = self._n_chunks
        size = sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())
        return IndexStats(documents, chunks, self.fingerprint, size, str(self.path))

    def verify(self) -> list[str]:
        """Disagreements between the registry, Chroma and BM25 (empty when they agree)."""
        with self._lock.read():
            expected = self._registry.all_chunk_ids()
            problems = []
            stored = self._vectors.all_ids()
            if stored != expected:
                problems.append(
                    f"Chroma has {len(stored - expected)} vectors the registry lacks and "
                    f"lacks {len(expected - stored)} of its chunks"
                )
            keyword = self._fresh_keyword()
            if set(keyword.chunk_ids) != expected or len(keyword) != len(expected):
                problems.append(f"BM25 holds {len(keyword)} chunks, the registry {len(expected)}")
            on_disk = KeywordIndex.load(self.path / BM25)
            if (
                on_disk is not None
                and on_disk.generation == keyword.generation
                and set(on_disk.chunk_ids) != expected
            ):
                problems.append("the saved BM25 index claims the current generation but holds other chunks")
            for record in self._records.values():
                if record.n_chunks != len(self._registry.chunk_ids(record.doc_id)):
                    problems.append(
                        f"document {record.doc_id} records {record.n_chunks} chunks but has others"
                    )
            return problems

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

        Its chunks' near-duplicates in other documents are found and stored with it.

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
        with self._lock.write():
            self._check_open()
            present = doc.doc_id in self._records
            remove = [replaces] if replaces and replaces != doc.doc_id and replaces in self._records else []
            if present and not remove:
                return
            touched = ([] if present else [doc.doc_id]) + remove
            ids = [c.id for c in chunks]
            links = [] if present else self._duplicates.links(doc.doc_id, ids, sigs)
            links = [x for x in links if x.doc_id not in remove and x.other_doc_id not in remove]
            self._journal.begin("add", touched)
            try:
                if not present:
                    self._vectors.add(ids, vectors, [doc.doc_id] * len(chunks))
                self._registry.commit(
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
            self._refresh_records(added=None if present else doc.doc_id, removed=remove)
            self._duplicates.remove_documents(remove)
            if not present:
                self._duplicates.add(doc.doc_id, ids, sigs)

    def remove_document(self, doc_id: str) -> None:
        """Delete a document everywhere (an unknown id changes nothing)."""
        with self._lock.write():
            self._check_open()
            if doc_id not in self._records:
                return
            self._journal.begin("remove", [doc_id])
            try:
                # Registry first: once committed the document is gone; leftover vectors are orphans
                # that recovery deletes.
                self._registry.commit(remove=[doc_id])
                self._vectors.delete_documents([doc_id])
            except Exception:
                self._recover_in_process([doc_id])
                raise
            self._journal.clear()
            self._refresh_records(removed=[doc_id])
            self._duplicates.remove_documents([doc_id])

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
                if not self._batch_depth and not self._closed:
                    self._save_keyword()

    def close(self) -> None:
        """Save a BM25 index that lags behind, and release the stores (idempotent)."""
        with self._lock.write():
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
        finally:
            self._registry.close()

    def _refresh_records(self, added: str | None = None, removed: Sequence[str] = ()) -> None:
        """Update the cached records: just the documents named, or all when none are."""
        if added is None and not removed:
            self._records = {r.doc_id: r for r in self._registry.records()}
        for doc_id in removed:
            self._records.pop(doc_id, None)
        if added is not None and (record := self._registry.record(added)) is not None:
            self._records[added] = record
        # Later documents win: a source re-ingested under a new id names the newer one.
        self._by_source = {r.source: r for r in self._records.values()}
        self._n_chunks = sum(r.n_chunks for r in self._records.values())

    def _keyword_stale(self) -> bool:
        return self._keyword is None or self._keyword.generation != self._registry.generation()

    def _fresh_keyword(self) -> KeywordIndex:
        """The BM25 index, rebuilt first if the registry changed since (without saving, mid-batch)."""
        self._check_open()
        with self._keyword_lock:
            if self._keyword_stale():
                self._rebuild_keyword(save=not self._batch_depth)
            assert self._keyword is not None
            return self._keyword

    def _rebuild_keyword(self, save: bool) -> None:
        generation = self._registry.generation()
        ids, doc_ids, texts = self._registry.keyword_corpus()
        keyword = KeywordIndex.build(ids, doc_ids, texts, generation)
        self._keyword = keyword
        if save:
            self._save_keyword()

    def _save_keyword(self) -> None:
        """Bring the BM25 index on disk up to the registry, rebuilding it first if need be."""
        if self._keyword_stale():
            self._rebuild_keyword(save=False)
        assert self._keyword is not None
        if self._saved_generation != self._keyword.generation:
            self._keyword.save(self.path / BM25)
            self._saved_generation = self._keyword.generation

    def _recover(self) -> None:
        """Finish or undo an interrupted change, then make Chroma agree with the registry."""
        pending = self._journal.pending()
        if pending:
            reconcile(self._registry, self._vectors, pending)
        # A cheap count check catches anything a journal missed (e.g. a torn journal).
        if pending is not None or self._vectors.count() != self._registry.chunk_count():
            reconcile_all(self._registry, self._vectors)
        self._journal.clear()

    def _recover_in_process(self, doc_ids: Sequence[str]) -> None:
        """Undo a change that raised; if even that fails the journal stays for the next open."""
        try:
            reconcile(self._registry, self._vectors, doc_ids)
            self._journal.clear()
        finally:
            self._refresh_records()
            self._load_duplicates()

    def _load_duplicates(self) -> None:
        self._duplicates = load_finder(self._registry)


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
