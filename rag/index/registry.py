"""The document registry (SQLite): documents, their extracted text and their chunks.

The registry is the index's source of truth: a document exists when its row is committed here.
Every committed change bumps a generation counter, which the keyword index stamps on itself
so a stale BM25 index is detected on open.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rag.index.duplicate_rows import DuplicateRows
from rag.index.duplicates import DuplicateLink
from rag.types import Chunk, Filters, PageSpan, SectionSpan, SourceDocument

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    title TEXT NOT NULL,
    format TEXT NOT NULL,
    page_count INTEGER,
    size_bytes INTEGER NOT NULL,
    ingested_at TEXT NOT NULL,
    meta TEXT NOT NULL,
    file_sha256 TEXT,
    n_chunks INTEGER NOT NULL,
    text TEXT NOT NULL,
    pages TEXT NOT NULL,
    sections TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_source ON documents(source);
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    page INTEGER,
    page_end INTEGER,
    section TEXT,
    text TEXT NOT NULL,
    meta TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id, ordinal);
CREATE TABLE IF NOT EXISTS signatures (
    chunk_id TEXT PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE,
    doc_id TEXT NOT NULL,
    signature BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS duplicates (
    chunk_id TEXT NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
    other_id TEXT NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
    doc_id TEXT NOT NULL,
    other_doc_id TEXT NOT NULL,
    similarity REAL NOT NULL,
    PRIMARY KEY (chunk_id, other_id)
);
CREATE INDEX IF NOT EXISTS duplicates_doc ON duplicates(doc_id);
CREATE INDEX IF NOT EXISTS duplicates_other ON duplicates(other_id);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO state(key, value) VALUES ('generation', 0);
"""

_DOC_COLUMNS = "doc_id, title, source, format, page_count, size_bytes, ingested_at, n_chunks, meta"
_CHUNK_COLUMNS = 'id, doc_id, text, start, "end", page, page_end, section, ordinal, meta'
# SQLite's default limit on bound parameters is 32766 since 3.32; stay well below it.
_MAX_PARAMS = 900


@dataclass(frozen=True)
class DocumentRecord:
    """What the index knows about one document (everything but its text)."""

    doc_id: str
    title: str
    source: str
    format: str
    page_count: int | None
    size_bytes: int
    ingested_at: str
    n_chunks: int
    meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Snapshot:
    """The registry as of one generation: its documents, and the keyword corpus if asked for."""

    generation: int
    records: list[DocumentRecord]
    corpus: tuple[list[str], list[str], list[str]] | None  # chunk ids, their document ids, texts


def _json(value: Any) -> str:
    # Front matter may hold dates and other YAML types: store their text rather than fail.
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _record(row: sqlite3.Row) -> DocumentRecord:
    return DocumentRecord(
        doc_id=row["doc_id"],
        title=row["title"],
        source=row["source"],
        format=row["format"],
        page_count=row["page_count"],
        size_bytes=row["size_bytes"],
        ingested_at=row["ingested_at"],
        n_chunks=row["n_chunks"],
        meta=json.loads(row["meta"]),
    )


def _chunk(row: sqlite3.Row) -> Chunk:
    return Chunk(
        id=row["id"],
        doc_id=row["doc_id"],
        text=row["text"],
        start=row["start"],
        end=row["end"],
        page=row["page"],
        page_end=row["page_end"],
        section=row["section"],
        ordinal=row["ordinal"],
        meta=json.loads(row["meta"]),
    )


def _batches(items: Sequence[str], size: int = _MAX_PARAMS) -> Iterable[Sequence[str]]:
    for begin in range(0, len(items), size):
        yield items[begin : begin + size]


def matching_documents(records: Iterable[DocumentRecord], filters: Filters) -> set[str]:
    """Ids of the records `filters` allows (see `Index.resolve_filters`)."""
    topics = {t.casefold() for t in filters.topics}
    formats = {f.casefold() for f in filters.formats}
    allowed: set[str] = set()
    for record in records:
        if filters.doc_ids and record.doc_id not in filters.doc_ids:
            continue
        if formats and record.format.casefold() not in formats:
            continue
        if topics and not topics & {str(t).casefold() for t in record.meta.get("topics") or ()}:
            continue
        if filters.year_min is not None or filters.year_max is not None:
            year = _year(record.meta.get("year"))
            if year is None:
                continue
            if filters.year_min is not None and year < filters.year_min:
                continue
            if filters.year_max is not None and year > filters.year_max:
                continue
        allowed.add(record.doc_id)
    return allowed


def _year(value: object) -> int | None:
    try:
        return int(str(value)[:4])
    except (TypeError, ValueError):
        return None


class Registry(DuplicateRows):
    """SQLite tables of documents and chunks; one connection shared under a lock.

    Reads take microseconds to a millisecond, so serialising them costs less than a
    connection per thread; the WAL journal keeps a reader from ever seeing half a commit.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit survives power loss too, before the old vectors of a replaced document go.
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(SCHEMA)

    # -- reads ---------------------------------------------------------------------------------

    def generation(self) -> int:
        """Counter bumped by every committed change."""
        with self._lock:
            return int(self._db.execute("SELECT value FROM state WHERE key='generation'").fetchone()[0])

    def state(self, key: str) -> int | None:
        """A counter in the state table (None if never set)."""
        with self._lock:
            row = self._db.execute("SELECT value FROM state WHERE key=?", (key,)).fetchone()
        return None if row is None else int(row[0])

    def set_state(self, key: str, value: int) -> None:
        """Set a counter in the state table (it does not bump the generation)."""
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO state(key, value) VALUES (?, ?)", (key, value))

    def snapshot(self, corpus: bool = False) -> Snapshot:
        """The generation with every document (and, with `corpus`, the keyword corpus) as of one commit.

        Read in one transaction: WAL gives it a fixed view, so another process's commit lands
        wholly before or wholly after it.
        """
        with self._lock:
            self._db.execute("BEGIN")
            try:
                generation = int(
                    self._db.execute("SELECT value FROM state WHERE key='generation'").fetchone()[0]
                )
                rows = self._db.execute(f"SELECT {_DOC_COLUMNS} FROM documents ORDER BY rowid")
                records = [_record(row) for row in rows]
                texts = None
                if corpus:
                    texts = self._db.execute(
                        "SELECT id, doc_id, text FROM chunks ORDER BY doc_id, ordinal"
                    ).fetchall()
            finally:
                self._db.execute("COMMIT")
        keyword = (
            None if texts is None else ([r[0] for r in texts], [r[1] for r in texts], [r[2] for r in texts])
        )
        return Snapshot(generation, records, keyword)

    def records(self) -> list[DocumentRecord]:
        """Every document, in the order they were added."""
        with self._lock:
            rows = self._db.execute(f"SELECT {_DOC_COLUMNS} FROM documents ORDER BY rowid")
            return [_record(row) for row in rows]

    def record(self, doc_id: str) -> DocumentRecord | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_DOC_COLUMNS} FROM documents WHERE doc_id=?", (doc_id,)
            ).fetchone()
        return None if row is None else _record(row)

    def text(self, doc_id: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT text FROM documents WHERE doc_id=?", (doc_id,)).fetchone()
        return None if row is None else row[0]

    def source_document(self, doc_id: str) -> SourceDocument | None:
        """The stored document with its text, page and section spans."""
        with self._lock:
            row = self._db.execute(
                f"SELECT {_DOC_COLUMNS}, text, pages, sections FROM documents WHERE doc_id=?", (doc_id,)
            ).fetchone()
        if row is None:
            return None
        record = _record(row)
        return SourceDocument(
            doc_id=record.doc_id,
            title=record.title,
            source=record.source,
            format=record.format,  # type: ignore[arg-type]  # written from a SourceDocument
            text=row["text"],
            pages=tuple(PageSpan(*span) for span in json.loads(row["pages"])),
            sections=tuple(SectionSpan(*span) for span in json.loads(row["sections"])),
            meta=record.meta,
            page_count=record.page_count,
            size_bytes=record.size_bytes,
            ingested_at=record.ingested_at,
        )

    def spans(self, doc_id: str) -> tuple[tuple[PageSpan, ...], tuple[SectionSpan, ...]] | None:
        """A document's page and section spans (without its text), or None if unknown."""
        with self._lock:
            row = self._db.execute(
                "SELECT pages, sections FROM documents WHERE doc_id=?", (doc_id,)
            ).fetchone()
        if row is None:
            return None
        pages = tuple(PageSpan(*span) for span in json.loads(row[0]))
        return pages, tuple(SectionSpan(*span) for span in json.loads(row[1]))

    def chunk_ids(self, doc_id: str) -> set[str]:
        with self._lock:
            rows = self._db.execute("SELECT id FROM chunks WHERE doc_id=?", (doc_id,))
            return {row[0] for row in rows}

    def all_chunk_ids(self) -> set[str]:
        with self._lock:
            return {row[0] for row in self._db.execute("SELECT id FROM chunks")}

    def chunk_count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])

    def chunks(self, chunk_ids: Sequence[str]) -> dict[str, Chunk]:
        """The chunks with these ids that exist, by id."""
        found: dict[str, Chunk] = {}
        with self._lock:
            for batch in _batches(list(dict.fromkeys(chunk_ids))):
                marks = ",".join("?" * len(batch))
                rows = self._db.execute(f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE id IN ({marks})", batch)
                found.update((row["id"], _chunk(row)) for row in rows)
        return found

    def document_chunks(self, doc_id: str) -> list[Chunk]:
        """A document's chunks in reading order."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE doc_id=? ORDER BY ordinal", (doc_id,)
            )
            return [_chunk(row) for row in rows]

    # -- writes --------------------------------------------------------------------------------

    def commit(
        self,
        add: tuple[SourceDocument, Sequence[Chunk]] | None = None,
        remove: Sequence[str] = (),
        ingested_at: str = "",
        signatures: np.ndarray | None = None,
        links: Sequence[DuplicateLink] = (),
    ) -> int:
        """Add one document and remove others in a single transaction; returns the new generation.

        `signatures` (one row per chunk of the added document) and its duplicate `links` are stored
        in the same transaction, so a link never outlives either of its chunks.
        """
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                for batch in _batches(list(remove)):
                    marks = ",".join("?" * len(batch))
                    # Chunks go by the cascade, and their signatures and duplicate links with them.
                    self._db.execute(f"DELETE FROM documents WHERE doc_id IN ({marks})", batch)
                if add is not None:
                    self._insert(*add, ingested_at=ingested_at)
                    if signatures is not None:
                        doc, chunks = add
                        self._insert_signatures(
                            [c.id for c in chunks], [doc.doc_id] * len(chunks), signatures, links
                        )
                self._db.execute("UPDATE state SET value = value + 1 WHERE key='generation'")
                generation = int(
                    self._db.execute("SELECT value FROM state WHERE key='generation'").fetchone()[0]
                )
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
        return generation

    def _insert(self, doc: SourceDocument, chunks: Sequence[Chunk], ingested_at: str) -> None:
        meta = dict(doc.meta)
        self._db.execute(
            "INSERT INTO documents (doc_id, source, title, format, page_count, size_bytes, ingested_at, meta, "
            "file_sha256, n_chunks, text, pages, sections) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                doc.doc_id,
                doc.source,
                doc.title,
                doc.format,
                doc.page_count,
                doc.size_bytes,
                ingested_at,
                _json(meta),
                meta.get("file_sha256"),
                len(chunks),
                doc.text,
                _json([[p.page, p.start, p.end] for p in doc.pages]),
                _json([[s.path, s.start, s.end] for s in doc.sections]),
            ),
        )
        self._db.executemany(
            f"INSERT INTO chunks ({_CHUNK_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    c.id,
                    c.doc_id,
                    c.text,
                    c.start,
                    c.end,
                    c.page,
                    c.page_end,
                    c.section,
                    c.ordinal,
                    _json(dict(c.meta)),
                )
                for c in chunks
            ],
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()
