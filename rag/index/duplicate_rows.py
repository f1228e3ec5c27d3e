"""The registry's near-duplicate tables: chunk signatures and the links between chunks of different documents.

A mixin of `Registry` (it shares the registry's connection and lock): the tables are declared in
`registry.SCHEMA`, tied to their chunks by foreign keys so a removed chunk takes its rows along.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence

import numpy as np

from rag.index.duplicates import NUM_PERM, DuplicateLink

_MAX_PARAMS = 900  # as in registry.py: well below SQLite's limit on bound parameters


def _batches(items: Sequence[str], size: int = _MAX_PARAMS) -> Iterable[Sequence[str]]:
    for begin in range(0, len(items), size):
        yield items[begin : begin + size]


class DuplicateRows:
    """Reads and writes of the `signatures` and `duplicates` tables."""

    _db: sqlite3.Connection
    _lock: threading.Lock

    def signatures(self) -> tuple[list[str], list[str], np.ndarray]:
        """Chunk ids, their document ids and MinHash signatures of every chunk that has one."""
        with self._lock:
            rows = self._db.execute(
                "SELECT chunk_id, doc_id, signature FROM signatures ORDER BY rowid"
            ).fetchall()
        sigs = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.uint32).reshape(len(rows), NUM_PERM)
        return [r[0] for r in rows], [r[1] for r in rows], sigs

    def unsigned_chunks(self) -> list[tuple[str, str, str]]:
        """(chunk id, doc id, text) of chunks without a signature (an index made before signatures)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT c.id, c.doc_id, c.text FROM chunks c LEFT JOIN signatures s ON s.chunk_id = c.id "
                "WHERE s.chunk_id IS NULL ORDER BY c.doc_id, c.ordinal"
            ).fetchall()
        return [(r[0], r[1], r[2]) for r in rows]

    def add_signatures(
        self,
        chunk_ids: Sequence[str],
        doc_ids: Sequence[str],
        sigs: np.ndarray,
        links: Sequence[DuplicateLink],
    ) -> None:
        """Store signatures and links of chunks already in the registry (one transaction)."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._insert_signatures(chunk_ids, doc_ids, sigs, links)
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    def duplicate_links(self, chunk_ids: Sequence[str]) -> dict[str, list[DuplicateLink]]:
        """The stored near-duplicates of these chunks in other documents, by chunk id, most similar first."""
        found: dict[str, list[DuplicateLink]] = {}
        with self._lock:
            for batch in _batches(list(dict.fromkeys(chunk_ids))):
                marks = ",".join("?" * len(batch))
                rows = self._db.execute(
                    "SELECT chunk_id, doc_id, other_id, other_doc_id, similarity FROM duplicates "
                    f"WHERE chunk_id IN ({marks}) ORDER BY similarity DESC",
                    batch,
                )
                for row in rows:
                    found.setdefault(row[0], []).append(DuplicateLink(*row))
        return found

    def shared_counts(self) -> dict[str, tuple[int, list[str]]]:
        """Per document: how many of its chunks have a near-duplicate elsewhere, and in which documents."""
        with self._lock:
            counts = self._db.execute(
                "SELECT doc_id, COUNT(DISTINCT chunk_id) FROM duplicates GROUP BY doc_id"
            ).fetchall()
            pairs = self._db.execute(
                "SELECT DISTINCT doc_id, other_doc_id FROM duplicates ORDER BY doc_id, other_doc_id"
            ).fetchall()
        others: dict[str, list[str]] = {}
        for doc_id, other in pairs:
            others.setdefault(doc_id, []).append(other)
        return {doc_id: (n, others.get(doc_id, [])) for doc_id, n in counts}

    def _insert_signatures(
        self,
        chunk_ids: Sequence[str],
        doc_ids: Sequence[str],
        sigs: np.ndarray,
        links: Sequence[DuplicateLink],
    ) -> None:
        rows = np.ascontiguousarray(sigs, dtype=np.uint32)
        self._db.executemany(
            "INSERT OR REPLACE INTO signatures (chunk_id, doc_id, signature) VALUES (?,?,?)",
            [(c, d, rows[i].tobytes()) for i, (c, d) in enumerate(zip(chunk_ids, doc_ids, strict=True))],
        )
        self._db.executemany(
            "INSERT OR REPLACE INTO duplicates (chunk_id, other_id, doc_id, other_doc_id, similarity) "
            "VALUES (?,?,?,?,?)",
            [(x.chunk_id, x.other_id, x.doc_id, x.other_doc_id, x.similarity) for x in links],
        )
