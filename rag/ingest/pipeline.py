"""Ingestion: discover files, guard against bad input, load, chunk, embed and store each document.

Every file succeeds or fails on its own: a failure is recorded with a one-line reason and the
batch goes on, and the index changes only for files that got all the way through. Parsing the
next files runs in a worker thread while the current one embeds (torch releases the GIL), so
everything besides embedding stays off the critical path.
"""

from __future__ import annotations

import errno
import fnmatch
import hashlib
import os
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
from rag.index.embedding import Embedder
from rag.ingest.chunking import chunk_document
from rag.ingest.loaders import SUPPORTED_EXTENSIONS, loader_for
from rag.ingest.loaders.base import one_line
from rag.types import Chunk, SourceDocument

if TYPE_CHECKING:
    from rag.index.store import Index

MB = 1024 * 1024
# A folder may list file-name globs its ingest should pass over (e.g. a catalogue README).
IGNORE_FILE = ".changeguideignore"
PREFETCH = 2  # files parsed ahead of the one being embedded; more only holds more text in memory
EMBED_BATCH = 256  # chunk texts per embed_batch call (the embedder batches further inside)

Stage = Literal["loading", "embedding", "storing", "added", "updated", "unchanged", "failed"]
FINAL_STAGES = frozenset({"added", "updated", "unchanged", "failed"})
DocumentEntry = tuple[str, str, str]  # (source, doc_id, title)


@dataclass(frozen=True)
class IngestEvent:
    """Progress of one file: `index` is 1-based among `total` files; final stages end that file."""

    index: int
    total: int
    path: str
    stage: Stage

    @property
    def finished(self) -> bool:
        return self.stage in FINAL_STAGES


@dataclass
class IngestReport:
    """What an ingest did, file by file. `notes` maps a source to extra detail (e.g. duplicates)."""

    added: list[DocumentEntry] = field(default_factory=list)
    updated: list[DocumentEntry] = field(default_factory=list)
    unchanged: list[DocumentEntry] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)
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


ProgressCallback = Callable[[IngestEvent], None]


def ingest_paths(
    paths: Sequence[Path],
    index: Index,
    embedder: Embedder,
    settings: Settings,
    progress: ProgressCallback | None = None,
) -> IngestReport:
    """Add new files, replace changed ones and leave unchanged ones alone.

    Args:
        paths: files and folders (searched recursively; hidden files are ignored).
        index: the open index to update.
        embedder: turns chunk texts into vectors.
        settings: ingestion limits and chunking settings.
        progress: called with an `IngestEvent` as each file moves through the stages.

    Raises:
        IndexError_: the index itself failed (per-file problems are reported, not raised).
    """
    started = time.perf_counter()
    report = IngestReport()
    # Never ingest the index itself (e.g. `changeguide ingest .` with the default data/index).
    files = discover(paths, report, exclude=[Path(settings.index.dir).expanduser().resolve()])
    total = len(files)

    def emit(i: int, source: str, stage: Stage) -> None:
        if progress is not None:
            progress(IngestEvent(index=i + 1, total=total, path=source, stage=stage))

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
                stage = _store(future.result(), index, embedder, replaces, report, partial(emit, i, source))
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
    return _Loaded(doc, chunks)


def _store(
    loaded: _Loaded,
    index: Index,
    embedder: Embedder,
    replaces: str | None,
    report: IngestReport,
    emit: Callable[[Stage], None],
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
    vectors = np.vstack(
        [embedder.embed_batch(texts[k : k + EMBED_BATCH]) for k in range(0, len(texts), EMBED_BATCH)]
    )
    emit("storing")
    index.add_document(doc, chunks, vectors, replaces=replaces)
    report.n_chunks_added += len(chunks)
    if replaces is None:
        report.added.append(entry)
        return "added"
    report.updated.append(entry)
    return "updated"


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


def discover(paths: Sequence[Path], report: IngestReport, exclude: Sequence[Path] = ()) -> list[Path]:
    """Resolved, de-duplicated files to ingest, in order; problems go into `report`.

    A named file that is missing, a symlink loop or of an unsupported type is a failure;
    inside a folder, unsupported files and files matching the folder's `.changeguideignore`
    globs are skipped (a glob ending in "/" skips a subfolder whole, reported once), and hidden
    files and folders and the `exclude` folders are ignored.
    """
    found: list[Path] = []
    seen: set[Path] = set()
    failed: set[str] = set()

    def take(path: Path, named: bool) -> None:
        try:
            resolved = _resolve(path)
        except IngestError as exc:
            if str(path) not in failed:  # a file named and also inside a named folder: report once
                failed.add(str(path))
                report.failed.append((str(path), str(exc)))
            return
        if resolved.is_dir():
            if named:
                _walk(resolved, take, lambda p, why: report.skipped.append((str(p), why)), set(exclude))
            return
        if resolved in seen:
            return
        if resolved.suffix.lower() not in SUPPORTED_EXTENSIONS:
            reason = f"unsupported file type {resolved.suffix or '(no extension)'}"
            if named:
                supported = " ".join(sorted(SUPPORTED_EXTENSIONS))
                report.failed.append((str(resolved), f"{reason} (supported: {supported})"))
            else:
                report.skipped.append((str(resolved), reason))
            return
        seen.add(resolved)
        found.append(resolved)

    for path in paths:
        take(Path(path).expanduser(), named=True)
    return found


def _walk(
    folder: Path, take: Callable[[Path, bool], None], skip: Callable[[Path, str], None], exclude: set[Path]
) -> None:
    if folder in exclude:
        return
    for root, dirs, files in os.walk(folder):  # symlinked folders are not followed: no cycles
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and Path(root) / d not in exclude)
        ignored = _ignore_patterns(Path(root))
        # A pattern ending in "/" names subfolders: each is passed over whole, in one report line.
        folders = [p.rstrip("/") for p in ignored if p.endswith("/")]
        for name in [d for d in dirs if any(fnmatch.fnmatchcase(d, pattern) for pattern in folders)]:
            dirs.remove(name)
            skip(Path(root) / name, f"folder ignored by {IGNORE_FILE}")
        for name in sorted(files):
            if name.startswith("."):
                continue
            if any(fnmatch.fnmatchcase(name, pattern) for pattern in ignored):
                skip(Path(root) / name, f"ignored by {IGNORE_FILE}")
            else:
                take(Path(root) / name, False)


def _ignore_patterns(folder: Path) -> list[str]:
    """Patterns listed in the folder's ignore file (one glob a line, # comments; "name/" = a subfolder)."""
    try:
        lines = (folder / IGNORE_FILE).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def _resolve(path: Path) -> Path:
    """The real path of an existing file or folder.

    Raises:
        IngestError: missing path, broken link or symlink loop.
    """
    try:
        return path.resolve(strict=True)
    except FileNotFoundError as exc:
        reason = "broken symbolic link" if path.is_symlink() else "no such file or directory"
        raise IngestError(reason) from exc
    except RuntimeError as exc:  # Python 3.11 reports a symlink loop as RuntimeError
        raise IngestError("symbolic link loop") from exc
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise IngestError("symbolic link loop") from exc
        raise IngestError(f"cannot access: {exc.strerror or exc}") from exc
