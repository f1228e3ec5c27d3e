"""One ingest at a time per library, with its progress visible to every process.

A batch takes the ingest lock (a file lock in the index folder, so a killed batch frees it);
a second batch writes itself into the queue folder and waits. The running batch keeps a small
JSON status beside the index, which the app's Library page reads in every session.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, fields
from pathlib import Path
from typing import TYPE_CHECKING

from rag.index.filelock import FileLock
from rag.index.manifest import INGEST_LOCK, INGEST_QUEUE, INGEST_STATUS, now, write_atomic
from rag.ingest.details import format_duration
from rag.types import IngestStatus

if TYPE_CHECKING:
    from rag.ingest.pipeline import IngestEvent, IngestReport

WRITE_EVERY_S = 0.5  # progress within a stage is written at most this often; a new stage or file at once


class StatusWriter:
    """Writes the running batch's status file as its events arrive."""

    def __init__(self, directory: Path, label: str) -> None:
        self._path = directory / INGEST_STATUS
        self._queue = directory / INGEST_QUEUE
        self._status = IngestStatus(running=True, label=label, pid=os.getpid(), started_at=now())
        self._written = 0.0
        self._path_seen = ""

    def update(self, event: IngestEvent) -> None:
        moved = event.finished or event.stage != self._status.stage or event.path != self._path_seen
        self._path_seen = event.path
        done = event.index if event.finished else event.index - 1
        self._status = IngestStatus(
            **{
                **asdict(self._status),
                "files_done": done,
                "files_total": event.total,
                "current": Path(event.path).name,
                "stage": event.stage,
                "chunks_done": event.chunks_done,
                "rate": round(event.rate, 2),
                "seconds_left": None if event.seconds_left is None else round(event.seconds_left, 1),
            }
        )
        if moved or time.monotonic() - self._written >= WRITE_EVERY_S:
            self.write()

    def finish(self, outcome: str) -> None:
        self._status = IngestStatus(**{**asdict(self._status), "running": False, "outcome": outcome})
        self.write()

    def write(self) -> None:
        data = asdict(self._status)
        data["updated_at"] = now()
        write_atomic(self._path, data)
        self._written = time.monotonic()


@contextmanager
def ingest_slot(directory: Path, label: str) -> Iterator[StatusWriter]:
    """Wait for the library's ingest lock (queued, visibly, behind a running batch), then hold it."""
    queue = directory / INGEST_QUEUE
    queue.mkdir(exist_ok=True)
    ticket = queue / f"{os.getpid()}-{uuid.uuid4().hex[:8]}.json"
    write_atomic(ticket, {"pid": os.getpid(), "label": label, "queued_at": now()})
    lock = FileLock(directory / INGEST_LOCK)
    try:
        with lock.hold():
            ticket.unlink(missing_ok=True)
            writer = StatusWriter(directory, label)
            writer.write()
            try:
                yield writer
            except BaseException as exc:
                writer.finish(f"stopped: {type(exc).__name__}: {exc}"[:300])
                raise
    finally:
        ticket.unlink(missing_ok=True)


def finish(writer: StatusWriter, report: IngestReport) -> None:
    """Record how a batch ended (its counts), for the sessions that watched it."""
    writer.finish(
        f"added {len(report.added)}, updated {len(report.updated)}, unchanged {len(report.unchanged)}, "
        f"failed {len(report.failed)}"
    )


def read_status(directory: Path) -> IngestStatus:
    """The library's ingest right now: the running (or last) batch and the number queued behind it.

    A status file left by a killed batch reads as not running: the lock it held is free.
    """
    running = (directory / INGEST_LOCK).exists() and FileLock(directory / INGEST_LOCK).held_elsewhere()
    queued = _queued(directory / INGEST_QUEUE)
    try:
        data = json.loads((directory / INGEST_STATUS).read_text(encoding="utf-8"))
        known = {f.name for f in fields(IngestStatus)}
        status = IngestStatus(**{k: v for k, v in data.items() if k in known})
    except (OSError, ValueError, TypeError):
        return IngestStatus(running=running, queued=queued)
    if status.running and not running:
        status = IngestStatus(**{**asdict(status), "running": False, "outcome": "stopped before it finished"})
    return IngestStatus(**{**asdict(status), "running": running, "queued": queued})


def describe(status: IngestStatus) -> str | None:
    """What every session is told about the library's ingest, or None when nothing runs or waits."""
    if not status.running:
        return f"{status.queued} upload(s) waiting to be added." if status.queued else None
    parts = [f"Adding documents ({status.label})" if status.label else "Adding documents"]
    if status.files_total:
        parts.append(f"{status.files_done} of {status.files_total} files")
    if status.current:
        parts.append(f"now {status.current}")
    if status.chunks_done:
        parts.append(f"{status.chunks_done:,} passages, {status.rate:.1f}/s")
    if status.seconds_left is not None and status.files_done < status.files_total:
        parts.append(f"about {format_duration(status.seconds_left)} left")
    if status.queued:
        parts.append(f"{status.queued} more upload(s) queued behind it")
    return " · ".join(parts) + ". Questions are answered meanwhile; new documents appear as each is added."


def _queued(queue: Path) -> int:
    """Batches waiting: tickets whose process is still alive (a killed one leaves its ticket behind)."""
    count = 0
    for ticket in queue.glob("*.json") if queue.is_dir() else ():
        try:
            pid = int(json.loads(ticket.read_text(encoding="utf-8"))["pid"])
            os.kill(pid, 0)
        except (OSError, ValueError, KeyError, TypeError):
            continue
        count += 1
    return count
