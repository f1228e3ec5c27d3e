"""Ingestion: discover files, guard against bad input, load, chunk, embed and store each document.

Every file succeeds or fails on its own: a failure is recorded with a one-line reason and the
batch goes on, and the index changes only for files that got all the way through. Parsing the
next files runs in a worker thread while the current one embeds (torch releases the GIL), so
everything besides embedding stays off the critical path.
"""

from __future__ import annotations

import hashlib
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from rag.config import Settings
from rag.errors import IndexError_, IngestError
from rag.index.duplicates import signatures
from rag.index.embedding import Embedder
from rag.ingest.chunking import chunk_document
from rag.ingest.details import FileDetails, file_details
from rag.ingest.discovery import discover
from rag.ingest.loaders import loader_for
from rag.ingest.loaders.base import one_line
from rag.ingest.status import finish as finish_status
from rag.ingest.status import ingest_slot
from rag.types import Chunk, SourceDocument

if TYPE_CHECKING:
    from rag.index.store import Index

MB = 1024 * 1024
PREFETCH = 2  # files parsed ahead of the one being embedded; more only holds more text in memory
EMBED_BATCH = 256  # chunk texts per embed_batch call (the embedder batches further inside)

Stage = Literal["loading", "embedding", "storing", "added", "updated", "unchanged", "failed"]
FINAL_STAGES = frozenset({"added", "updated", "unchanged", "failed"})
DocumentEntry = tuple[str, str, str]  # (source, doc_id, title)


@dataclass(frozen=True)
class IngestEvent:
    """Progress of one file: `index` is 1-based among `total` files; final stages end that file.

    The counters cover the whole call, for a progress bar: chunks embedded so far and the bytes
    of the files to parse (unchanged files are never parsed and count for nothing).
    """

    index: int
    total: int
    path: str
    stage: Stage
    chunks_done: int = 0  # chunks embedded and stored so far in this call
    bytes_done: int = 0  # bytes of the files to parse that are finished
    bytes_total: int = 0  # bytes of all the files to parse
    elapsed: float = 0.0  # seconds since the call started

    @property
    def finished(self) -> bool:
        return self.stage in FINAL_STAGES

    @property
    def rate(self) -> float:
        """Chunks embedded per second so far."""
        return self.chunks_done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def seconds_left(self) -> float | None:
        """Estimated seconds to go: the time per byte so far times the bytes left (None until a file is done)."""
        if self.bytes_done <= 0 or self.bytes_total <= 0:
            return None
        return self.elapsed * max(0, self.bytes_total - self.bytes_done) / self.bytes_done


@dataclass
class IngestReport:
    """What an ingest did, file by file. `notes` maps a source to extra detail (e.g. duplicates);
    `details` maps each added or updated source to what was found in it."""

    added: list[DocumentEntry] = field(default_factory=list)
    updated: list[DocumentEntry] = field(default_factory=list)
    unchanged: list[DocumentEntry] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)
    details: dict[str, FileDetails] = field(default_factory=dict)
    n_chunks_added: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when no file failed (skipped files inside folders do not count)."""
        return not self.failed


@dataclass(frozen=True)
class _Loaded:
    doc: SourceDocument
    chunks: list[Chunk]
    signatures: np.ndarray  # MinHash rows for near-duplicate detection, computed off the write lock


@dataclass
class _Progress:
    """The counters every event of one call carries."""

    started: float
    bytes_total: int = 0
    bytes_done: int = 0
    chunks_done: int = 0


ProgressCallback = Callable[[IngestEvent], None]


def ingest_paths(
    paths: Sequence[Path],
    index: Index,
    embedder: Embedder,
    settings: Settings,
    progress: ProgressCallback | None = None,
    label: str = "changeguide ingest",
) -> IngestReport:
    """Add new files, replace changed ones and leave unchanged ones alone.

    One batch per library at a time, from any process: a second waits, queued, for the first
    (rag/ingest/status.py), whose progress every process can read. Each document is committed
    as soon as it is embedded, so questions elsewhere see the batch grow document by document.

    Args:
        paths: files and folders (searched recursively; hidden files are ignored).
        index: the open index to update.
        embedder: turns chunk texts into vectors.
        settings: ingestion limits and chunking settings.
        progress: called with an `IngestEvent` as each file moves through the stages.
        label: what started the batch, shown with its progress (e.g. "upload (3 files)").

    Raises:
        IndexError_: the index itself failed (per-file problems are reported, not raised).
    """
    with ingest_slot(index.path, label) as status:
        index.refresh(wait=True)  # files another process added meanwhile are then unchanged

        def report_progress(event: IngestEvent) -> None:
            status.update(event)
            if progress is not None:
                progress(event)

        report = _ingest(paths, index, embedder, settings, report_progress)
        finish_status(status, report)
    return report


def _ingest(
    paths: Sequence[Path], index: Index, embedder: Embedder, settings: Settings, progress: ProgressCallback
) -> IngestReport:
    started = time.perf_counter()
    report = IngestReport()
    # Never ingest the index itself (e.g. `changeguide ingest .` with the default data/index).
    files = discover(paths, report, exclude=[Path(settings.index.dir).expanduser().resolve()])
    total = len(files)

    counters = _Progress(started=started)

    def emit(i: int, source: str, stage: Stage) -> None:
        progress(
            IngestEvent(
                index=i + 1,
                total=total,
                path=source,
                stage=stage,
                chunks_done=counters.chunks_done,
                bytes_done=counters.bytes_done,
                bytes_total=counters.bytes_total,
                elapsed=time.perf_counter() - started,
            )
        )

    # Cheap checks first, in order: guards and the unchanged fast path never parse a file.
    queue: list[tuple[int, Path, str | None]] = []  # (position, path, doc_id it replaces)
    for i, path in enumerate(files):
        source = str(path)
        try:
            digest = _guard_and_hash(path, settings)
        except IngestError as exc:
            report.failed.append((source, str(exc)))
            emit(i, source, "failed")
            continue
        previous = index.document_by_source(source)
        if previous is not None and previous.meta.get("file_sha256") == digest:
            report.unchanged.append((source, previous.doc_id, previous.title))
            emit(i, source, "unchanged")
            continue
        queue.append((i, path, previous.doc_id if previous is not None else None))
        counters.bytes_total += _size(path)

    # One batch: the keyword index is rebuilt once at the end, not after every document.
    with index.batch(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="changeguide-load") as pool:
        pending: deque[tuple[int, Path, str | None, Future[_Loaded]]] = deque()
        upcoming = iter(queue)

        def refill() -> None:
            while len(pending) < PREFETCH + 1:
                item = next(upcoming, None)
                if item is None:
                    return
                pending.append((*item, pool.submit(_load_and_chunk, item[1], settings)))

        refill()
        while pending:
            i, path, replaces, future = pending.popleft()
            refill()
            source = str(path)
            emit(i, source, "loading")
            try:
                stage = _store(
                    future.result(), index, embedder, replaces, report, partial(emit, i, source), counters
                )
            except IndexError_:
                for *_, later in pending:
                    later.cancel()
                raise
            except IngestError as exc:
                report.failed.append((source, str(exc)))
                stage = "failed"
            except Exception as exc:  # one file's surprise must not sink the batch
                report.failed.append(
                    (source, f"unexpected error: {type(exc).__name__}: {one_line(exc, 160)}")
                )
                stage = "failed"
            counters.bytes_done += _size(path)
            emit(i, source, stage)

    report.seconds = time.perf_counter() - started
    return report


def _load_and_chunk(path: Path, settings: Settings) -> _Loaded:
    """Parse and chunk one file (runs in the worker thread; touches no shared state)."""
    loader = loader_for(path)
    if loader is None:  # discovery only queues supported files; kept for direct callers
        raise IngestError(f"unsupported file type {path.suffix or '(none)'}")
    doc = loader(path, settings)
    chunks = chunk_document(doc, settings.chunking)
    if not chunks:
        raise IngestError("no text found in the file")
    return _Loaded(doc, chunks, signatures([c.text for c in chunks]))


def _store(
    loaded: _Loaded,
    index: Index,
    embedder: Embedder,
    replaces: str | None,
    report: IngestReport,
    emit: Callable[[Stage], None],
    counters: _Progress,
) -> Stage:
    """Embed and add one parsed document (or note that its content is already indexed)."""
    doc, chunks = loaded.doc, loaded.chunks
    entry = (doc.source, doc.doc_id, doc.title)
    existing = index.get_document(doc.doc_id)
    if existing is not None:
        if existing.source != doc.source:
            report.notes[doc.source] = f"duplicate of {existing.source}"
        if replaces is not None and replaces != doc.doc_id:
            # This path held other content before and now repeats a document we have: drop the stale one.
            index.remove_document(replaces)
            report.updated.append(entry)
            return "updated"
        report.unchanged.append(entry)
        return "unchanged"
    emit("embedding")
    texts = [chunk.text for chunk in chunks]
    parts = []
    for k in range(0, len(texts), EMBED_BATCH):  # an event per batch keeps a long file's bar moving
        parts.append(embedder.embed_batch(texts[k : k + EMBED_BATCH]))
        counters.chunks_done += len(parts[-1])
        emit("embedding")
    vectors = np.vstack(parts)
    emit("storing")
    index.add_document(doc, chunks, vectors, replaces=replaces, chunk_signatures=loaded.signatures)
    report.n_chunks_added += len(chunks)
    report.details[doc.source] = file_details(doc, chunks, index)
    if replaces is None:
        report.added.append(entry)
        return "added"
    report.updated.append(entry)
    return "updated"


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _guard_and_hash(path: Path, settings: Settings) -> str:
    """Refuse empty and oversized files; return the sha256 of the bytes."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise IngestError(f"cannot read file: {exc.strerror or exc}") from exc
    if size == 0:
        raise IngestError("empty file")
    limit = settings.ingest.max_file_mb
    if size > limit * MB:
        raise IngestError(
            f"file is {size / MB:,.1f} MB, over the {limit:g} MB limit (CHANGEGUIDE_INGEST__MAX_FILE_MB)"
        )
    try:
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError as exc:
        raise IngestError(f"cannot read file: {exc.strerror or exc}") from exc
