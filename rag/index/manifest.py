"""The index folder's layout and its manifest: the fingerprint of the settings that shaped it.

Layout of `settings.index.dir`:
    manifest.json      fingerprint, the settings behind it, schema version, created_at
    registry.sqlite3   documents (with their extracted text) and chunks: the source of truth
    chroma/            one Chroma collection (cosine) of chunk vectors, each tagged with its doc_id
                       (absent when CHANGEGUIDE_INDEX__CHROMA_URL names a Chroma server)
    bm25/              the bm25s index, stamped with the registry generation it was built from
    journal.json       present only while a change is under way: which documents it touches
    write.lock         the lock a process holds while it commits one change (or recovers)
    ingest.lock        the lock a process holds for a whole ingest batch; later batches queue
    ingest-status.json the running batch's progress; ingest-queue/ lists the batches waiting
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from rag.config import INDEX_SCHEMA_VERSION, Settings
from rag.errors import FingerprintMismatchError, IndexCorruptError, IndexNotFoundError

MANIFEST = "manifest.json"
REGISTRY = "registry.sqlite3"
CHROMA = "chroma"
BM25 = "bm25"
JOURNAL = "journal.json"
WRITE_LOCK = "write.lock"  # held by the one process committing a change (rag/index/filelock.py)
INGEST_LOCK = "ingest.lock"  # held by the one process running an ingest batch; others queue
INGEST_STATUS = "ingest-status.json"  # the running batch's progress, for every app session
INGEST_QUEUE = "ingest-queue"  # one file per batch waiting for the ingest lock
# Everything an index folder may hold, including the leftovers of an interrupted save.
OWN_NAMES = {
    *(MANIFEST, REGISTRY, CHROMA, BM25, JOURNAL, f"{BM25}.new", f"{BM25}.old", f"{JOURNAL}.tmp"),
    *(WRITE_LOCK, INGEST_LOCK, INGEST_STATUS, f"{INGEST_STATUS}.tmp", INGEST_QUEUE),
}


def write_atomic(path: Path, data: dict) -> None:
    """Write JSON so that `path` holds either the old or the new content, even after a crash."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _differences(old: object, new: object, prefix: str = "") -> list[str]:
    """Human-readable `key: old -> new` lines between two nested settings dicts."""
    if isinstance(old, dict) and isinstance(new, dict):
        lines: list[str] = []
        for key in sorted(set(old) | set(new), key=str):
            lines += _differences(old.get(key), new.get(key), f"{prefix}{key}.")
        return lines
    return [] if old == new else [f"{prefix.rstrip('.')}: {old!r} -> {new!r}"]


def check_manifest(settings: Settings, directory: Path, create: bool) -> tuple[str, bool]:
    """The fingerprint of the index at `directory`, writing a manifest if `create` and there is none.

    Returns the fingerprint and whether the index is new.
    """
    manifest = directory / MANIFEST
    fingerprint = settings.fingerprint()
    if directory.exists() and not directory.is_dir():
        raise IndexCorruptError(f"{directory} is a file, not an index folder; choose a folder for the index.")
    if not manifest.exists():
        if not create:
            raise IndexNotFoundError(
                f"There is no index at {directory}. Build one with `changeguide ingest PATH... --index {directory}`."
            )
        strangers = (
            sorted(p.name for p in directory.iterdir() if p.name not in OWN_NAMES)
            if directory.exists()
            else []
        )
        if strangers:
            raise IndexCorruptError(
                f"{directory} holds other files ({', '.join(strangers[:3])}) and no Change Guide index; "
                "choose an empty or new folder for the index."
            )
        directory.mkdir(parents=True, exist_ok=True)
        write_atomic(
            manifest,
            {
                "fingerprint": fingerprint,
                "details": settings.fingerprint_details(),
                "schema_version": INDEX_SCHEMA_VERSION,
                "created_at": now(),
            },
        )
        return fingerprint, True
    try:
        stamped = json.loads(manifest.read_text(encoding="utf-8"))
        stored, details = str(stamped["fingerprint"]), stamped.get("details", {})
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexCorruptError(
            f"The index manifest {manifest} is unreadable ({exc}). Rebuild the index: "
            f"`rm -r {directory} && changeguide ingest PATH... --index {directory}`."
        ) from exc
    if stored != fingerprint:
        changed = "; ".join(_differences(details, settings.fingerprint_details())) or "unknown settings"
        raise FingerprintMismatchError(
            f"The index at {directory} was built with fingerprint {stored}, but the current settings give "
            f"{fingerprint} (changed: {changed}). Mixing them would give meaningless results. Either restore "
            f"the earlier settings or re-index: `rm -r {directory} && changeguide ingest PATH... --index {directory}`."
        )
    return fingerprint, False
