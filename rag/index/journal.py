"""Crash safety: the journal of a change under way, and reconciling the stores after a crash.

A change writes the journal (naming the documents it touches), then Chroma, then commits the
registry, then deletes replaced vectors, then clears the journal. The registry is the source of
truth, so recovery only ever deletes: vectors of documents the registry lacks, and documents whose
vectors are incomplete (they cannot be re-embedded here; the next ingest of their file adds them).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from rag.index.manifest import now, write_atomic
from rag.index.registry import Registry
from rag.index.vector_store import VectorStore


class Journal:
    """The documents a change in progress touches; recovery reconciles exactly those."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def begin(self, op: str, doc_ids: Sequence[str]) -> None:
        write_atomic(self.path, {"op": op, "doc_ids": list(doc_ids), "started_at": now()})

    def pending(self) -> list[str] | None:
        """Document ids of an unfinished change, or None when there is none."""
        try:
            with open(self.path, encoding="utf-8") as f:
                return [str(d) for d in json.load(f)["doc_ids"]]
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError):
            return []  # torn beyond os.replace's guarantee: recovery falls back to a full check

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


def reconcile(registry: Registry, vectors: VectorStore, doc_ids: Sequence[str]) -> None:
    """Make these documents' vectors match the registry, dropping documents whose vectors are missing."""
    known = {r.doc_id for r in registry.records()}
    drop: list[str] = []
    for doc_id in dict.fromkeys(doc_ids):
        stored = vectors.ids_of(doc_id)
        if doc_id not in known:
            if stored:
                vectors.delete(sorted(stored))
            continue
        expected = registry.chunk_ids(doc_id)
        if not expected <= stored:
            # Vectors cannot be recomputed without the embedder: forget the document so the
            # next ingest of its file adds it again.
            drop.append(doc_id)
        elif stored - expected:
            vectors.delete(sorted(stored - expected))
    if drop:
        registry.commit(remove=drop)
        vectors.delete_documents(drop)


def reconcile_all(registry: Registry, vectors: VectorStore) -> None:
    """Make all of Chroma match the registry (after a torn journal or a count mismatch)."""
    expected = registry.all_chunk_ids()
    stored = vectors.all_ids()
    if stored - expected:
        vectors.delete(sorted(stored - expected))
    if expected - stored:
        incomplete = {r.doc_id for r in registry.records() if registry.chunk_ids(r.doc_id) - stored}
        if incomplete:
            registry.commit(remove=sorted(incomplete))
            vectors.delete_documents(incomplete)
