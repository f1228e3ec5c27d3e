"""`changeguide ingest`, `changeguide docs list|remove` and `changeguide index stats|verify`."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.cli import EXIT_OK, EXIT_PARTIAL, add_index_argument
from rag.config import Settings
from rag.errors import DocumentNotFoundError
from rag.ingest.details import format_duration

if TYPE_CHECKING:
    import numpy as np

    from rag.index.duplicates import SharedShare
    from rag.index.embedding import Embedder
    from rag.index.store import DocumentRecord, Index
    from rag.ingest.pipeline import IngestEvent, IngestReport


def register(subparsers: argparse._SubParsersAction) -> None:
    ingest = subparsers.add_parser(
        "ingest",
        help="add files and folders to the library",
        description="Add PDF, Word, PowerPoint, Excel, CSV, HTML, Markdown and text files (folders "
        "recursively) to the index. "
        "Unchanged files are skipped quickly; changed files replace their old version.",
    )
    ingest.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files or folders to ingest")
    add_index_argument(ingest)
    ingest.set_defaults(func=run_ingest)

    docs = subparsers.add_parser("docs", help="list or remove documents in the library")
    docs_actions = docs.add_subparsers(dest="docs_action", metavar="ACTION", required=True)
    listing = docs_actions.add_parser("list", help="list the documents")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_index_argument(listing)
    listing.set_defaults(func=run_docs_list)
    remove = docs_actions.add_parser("remove", help="remove a document by id or source path")
    remove.add_argument("target", metavar="ID_OR_PATH", help="document id or the path it was ingested from")
    add_index_argument(remove)
    remove.set_defaults(func=run_docs_remove)

    index = subparsers.add_parser("index", help="inspect the index")
    index_actions = index.add_subparsers(dest="index_action", metavar="ACTION", required=True)
    stats = index_actions.add_parser("stats", help="documents, chunks, fingerprint and size on disk")
    stats.add_argument("--json", action="store_true", help="print JSON")
    add_index_argument(stats)
    stats.set_defaults(func=run_index_stats)
    verify = index_actions.add_parser(
        "verify",
        help="check that the registry, Chroma and BM25 agree (after a crash, say)",
        description="Repair a change a killed process left half done, then compare the registry, "
        "Chroma and the BM25 index chunk by chunk. Exit 0 when they agree, 1 when they do not.",
    )
    add_index_argument(verify)
    verify.set_defaults(func=run_index_verify)
    status = index_actions.add_parser(
        "status", help="the ingest running on this library (from any process) and the batches queued"
    )
    status.add_argument("--json", action="store_true", help="print JSON")
    add_index_argument(status)
    status.set_defaults(func=run_index_status)


def _open_index(settings: Settings, *, create: bool) -> Index:
    from rag.index.store import Index

    return Index.open(settings, create=create)


def run_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from rag.index.embedding import make_embedder
    from rag.ingest.pipeline import ingest_paths

    index = _open_index(settings, create=True)
    bar: tqdm | None = None

    def progress(event: IngestEvent) -> None:
        nonlocal bar
        if bar is None:
            # The bar fills by bytes of the files to parse (the best early guess of the work);
            # the text after it says files and chunks done, the rate and the time left.
            bar = tqdm(
                total=max(event.bytes_total, 1),
                file=sys.stderr,
                dynamic_ncols=True,
                disable=None,
                bar_format="{percentage:3.0f}%|{bar}| {postfix}",
            )
        bar.set_postfix_str(progress_text(event), refresh=False)
        bar.update(max(0, event.bytes_done - bar.n))
        bar.refresh()

    try:
        embedder = _LazyEmbedder(lambda: make_embedder(settings.embedding))
        report = ingest_paths(args.paths, index, embedder, settings, progress=progress)
    finally:
        if bar is not None:
            bar.close()
        index.close()
    print(format_report(report))
    return EXIT_OK if report.ok else EXIT_PARTIAL


class _LazyEmbedder:
    """Loads the model on first use, so re-ingesting unchanged files never pays for it."""

    def __init__(self, factory: Callable[[], Embedder]) -> None:
        self._factory = factory
        self._embedder: Embedder | None = None

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        if self._embedder is None:
            self._embedder = self._factory()
        return self._embedder.embed_batch(texts)


def progress_text(event: IngestEvent) -> str:
    """E.g. "files 3/12 · 450 chunks · 18.2 chunks/s · about 1 min 20 s left · report.pdf: embedding"."""
    done = event.index if event.finished else event.index - 1
    parts = [f"files {done}/{event.total}", f"{event.chunks_done:,} chunks"]
    if event.chunks_done:
        parts.append(f"{event.rate:.1f} chunks/s")
    left = event.seconds_left
    if left is not None and done < event.total:
        parts.append(f"about {format_duration(left)} left")
    parts.append(f"{Path(event.path).name[-40:]}: {event.stage}")
    return " · ".join(parts)


def format_report(report: IngestReport) -> str:
    """A short human summary: counts, then one line per document (with what was found in it), failure and skip."""
    lines = [
        f"added {len(report.added)}, updated {len(report.updated)}, unchanged {len(report.unchanged)}, "
        f"skipped {len(report.skipped)}, failed {len(report.failed)} "
        f"({report.n_chunks_added} chunks added in {report.seconds:.1f} s)"
    ]
    for label, entries in (("added", report.added), ("updated", report.updated)):
        for source, _, title in entries:
            lines.append(f"  {label}: {title} ({source})")
            details = report.details.get(source)
            lines += [f"      {note}" for note in (details.notes() if details else [])]
    lines += [
        f"  unchanged: {source} ({report.notes[source]})"
        for source, _, _ in report.unchanged
        if source in report.notes
    ]
    lines += [f"  skipped: {source}: {reason}" for source, reason in report.skipped]
    lines += [f"  FAILED: {source}: {reason}" for source, reason in report.failed]
    return "\n".join(lines)


def _record_json(record: DocumentRecord, shared: SharedShare | None) -> dict[str, Any]:
    data = dataclasses.asdict(record)
    # How much of the document repeats others: its chunks with a near-duplicate elsewhere.
    data["shared"] = {
        "share": round(shared.share, 4) if shared else 0.0,
        "chunks": shared.chunks if shared else 0,
        "documents": list(shared.documents) if shared else [],
    }
    return data


def run_docs_list(args: argparse.Namespace, settings: Settings) -> int:
    index = _open_index(settings, create=False)
    try:
        records = sorted(index.documents(), key=lambda r: (r.title.lower(), r.source))
        shares = index.shared_shares()
    finally:
        index.close()
    if args.json:
        print(json.dumps([_record_json(r, shares.get(r.doc_id)) for r in records], indent=2, default=str))
        return EXIT_OK
    if not records:
        print("The library is empty: add documents with `changeguide ingest PATH...`.")
        return EXIT_OK
    titles = {r.doc_id: r.title for r in records}
    print(f"{'ID':<16}  {'FORMAT':<8}  {'PAGES':>5}  {'CHUNKS':>6}  TITLE / SOURCE")
    for r in records:
        pages = "" if r.page_count is None else str(r.page_count)
        print(f"{r.doc_id:<16}  {r.format:<8}  {pages:>5}  {r.n_chunks:>6}  {r.title}\n{'':<44}{r.source}")
        shared = shares.get(r.doc_id)
        if shared is not None and shared.chunks:
            names = "; ".join(titles.get(d, d) for d in shared.documents)
            print(f"{'':<44}{shared.label()}: {names}")
    print(f"{len(records)} documents")
    return EXIT_OK


def find_document(index: Index, target: str) -> DocumentRecord:
    """The document whose id or source path is `target`.

    Raises:
        DocumentNotFoundError: nothing matches.
    """
    record = index.get_document(target) or index.document_by_source(target)
    if record is None:
        record = index.document_by_source(str(Path(target).expanduser().resolve()))
    if record is None:
        raise DocumentNotFoundError(
            f"no document with id or source {target!r}; `changeguide docs list` shows ids and sources"
        )
    return record


def run_docs_remove(args: argparse.Namespace, settings: Settings) -> int:
    index = _open_index(settings, create=False)
    try:
        record = find_document(index, args.target)
        index.remove_document(record.doc_id)
    finally:
        index.close()
    print(f"removed {record.doc_id}: {record.title} ({record.source}, {record.n_chunks} chunks)")
    return EXIT_OK


def run_index_stats(args: argparse.Namespace, settings: Settings) -> int:
    index = _open_index(settings, create=False)
    try:
        stats = index.stats()
    finally:
        index.close()
    data = dataclasses.asdict(stats)
    data.setdefault("path", str(settings.index.dir))
    if args.json:
        print(json.dumps(data, indent=2, default=str))
    else:
        for key, value in data.items():
            print(f"{key:<12} {_human_size(value) if key.endswith('bytes') else value}")
    return EXIT_OK


def run_index_verify(args: argparse.Namespace, settings: Settings) -> int:
    index = _open_index(settings, create=False)
    try:
        problems = index.verify()
        stats = index.stats()
    finally:
        index.close()
    if problems:
        print("\n".join(f"PROBLEM: {p}" for p in problems))
        print(
            f"The index at {stats.path} disagrees with itself; rebuild it (`rm -r` the folder and ingest again)."
        )
        return EXIT_PARTIAL
    print(f"ok: {stats.documents} documents, {stats.chunks} chunks agree in the registry, Chroma and BM25")
    return EXIT_OK


def run_index_status(args: argparse.Namespace, settings: Settings) -> int:
    from rag.ingest.status import describe, read_status

    status = read_status(Path(settings.index.dir).expanduser().resolve())
    if args.json:
        print(json.dumps(dataclasses.asdict(status), indent=2))
    else:
        print(
            describe(status)
            or f"No ingest is running{'; last: ' + status.outcome if status.outcome else ''}."
        )
    return EXIT_OK


def _human_size(value: Any) -> str:
    if not isinstance(value, int):
        return str(value)
    size = float(value)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,.1f} {unit}" if unit != "B" else f"{value} B"
        size /= 1024
    return str(value)
