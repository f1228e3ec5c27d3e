"""The library: the document table, the filter choices, the ingest summary, and the librarians'
changes (adding and removing documents), which refuse anyone else whatever the page shows."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rag.app.roles import Visitor, require_librarian
from rag.app.uploads import delete_upload, save_uploads
from rag.app.view import source_name
from rag.errors import ChangeGuideError
from rag.ingest.details import format_duration
from rag.ingest.status import describe as ingest_status_text  # noqa: F401  # shown on the page (the CLI uses it too)
from rag.types import Filters

if TYPE_CHECKING:
    from rag.config import Settings
    from rag.engine import ChangeGuide
    from rag.index.duplicates import SharedShare
    from rag.index.store import DocumentRecord
    from rag.ingest.pipeline import IngestEvent, IngestReport

FORMAT_LABELS = {
    "pdf": "PDF",
    "docx": "Word",
    "pptx": "PowerPoint",
    "xlsx": "Excel",
    "csv": "CSV",
    "html": "Web page",
    "markdown": "Markdown",
    "text": "Text",
}


def topics_of(record: DocumentRecord) -> list[str]:
    raw = record.meta.get("topics") or ()
    return [str(t) for t in ([raw] if isinstance(raw, str) else raw)]


def year_of(record: DocumentRecord) -> int | None:
    value = record.meta.get("year")
    try:
        return int(str(value)[:4]) if value not in (None, "") else None
    except ValueError:
        return None


def display_title(record: DocumentRecord) -> str:
    return record.title or source_name(record.source)


@dataclass(frozen=True)
class Facets:
    """The choices the filters offer, drawn from the documents in the library."""

    titles: dict[str, str]  # doc_id -> title, for the documents filter
    topics: list[str]
    formats: list[str]
    years: tuple[int, int] | None  # (earliest, latest) or None when no document has a year


def facets(records: Sequence[DocumentRecord]) -> Facets:
    titles = {r.doc_id: display_title(r) for r in sorted(records, key=lambda r: display_title(r).casefold())}
    years = [y for r in records if (y := year_of(r)) is not None]
    return Facets(
        titles=titles,
        topics=sorted({t for r in records for t in topics_of(r)}, key=str.casefold),
        formats=sorted({r.format for r in records}),
        years=(min(years), max(years)) if years else None,
    )


def search_filters(
    doc_ids: Iterable[str] = (),
    topics: Iterable[str] = (),
    years: tuple[int, int] | None = None,
    all_years: tuple[int, int] | None = None,
) -> Filters:
    """The engine's `Filters` from the sidebar; a year range equal to the full span means no filter
    (so documents without a year stay searchable)."""
    year_min = year_max = None
    if years is not None and years != all_years:
        year_min, year_max = years
    return Filters(doc_ids=frozenset(doc_ids), topics=frozenset(topics), year_min=year_min, year_max=year_max)


def shared_label(shared: SharedShare | None) -> str:
    """ "31% shared with 2 documents", or "–" when the document repeats no other."""
    return shared.label() if shared is not None and shared.chunks else "–"


def document_rows(
    records: Sequence[DocumentRecord], shares: Mapping[str, SharedShare] | None = None
) -> list[dict[str, Any]]:
    """One row per document for the library table; the Year column only when some document has one,
    the Shared column (passages repeated in other documents) only when some document has such."""
    shares = shares or {}
    with_year = any(year_of(r) is not None for r in records)
    with_shared = any(shares.get(r.doc_id) is not None for r in records)
    rows = []
    for r in records:
        row: dict[str, Any] = {
            "Title": display_title(r),
            "Format": FORMAT_LABELS.get(r.format, r.format),
            "Pages": str(r.page_count) if r.page_count else "–",
            "Passages": r.n_chunks,
            "Topics": ", ".join(topics_of(r)),
        }
        if with_year:
            row["Year"] = str(year_of(r) or "–")
        if with_shared:
            row["Shared"] = shared_label(shares.get(r.doc_id))
        row |= {"Added": r.ingested_at[:16].replace("T", " "), "File": source_name(r.source)}
        rows.append(row)
    return rows


def filter_records(
    records: Sequence[DocumentRecord], text: str = "", formats: Iterable[str] = (), topics: Iterable[str] = ()
) -> list[DocumentRecord]:
    """Documents whose title or file name contains `text` (any case), of the given formats and topics."""
    needle = text.strip().casefold()
    formats, topics = set(formats), set(topics)
    return [
        r
        for r in records
        if (not needle or needle in display_title(r).casefold() or needle in source_name(r.source).casefold())
        and (not formats or r.format in formats)
        and (not topics or topics & set(topics_of(r)))
    ]


@dataclass(frozen=True)
class IngestSummary:
    """What an upload did, as lines a person reads: one headline and the files by outcome."""

    headline: str
    added: list[str]
    updated: list[str]
    unchanged: list[str]
    failed: list[tuple[str, str]]  # (file name, reason)
    details: list[tuple[str, list[str]]] = field(default_factory=list)  # (name, what was found in it)

    @property
    def ok(self) -> bool:
        return not self.failed


def ingest_summary(report: IngestReport | None, rejected: Sequence[tuple[str, str]] = ()) -> IngestSummary:
    """Summarise an ingest and the uploads refused before it (too large, unsupported, ...)."""
    added = [title or source_name(src) for src, _doc, title in report.added] if report else []
    updated = [title or source_name(src) for src, _doc, title in report.updated] if report else []
    unchanged = [title or source_name(src) for src, _doc, title in report.unchanged] if report else []
    failed = list(rejected) + ([(source_name(src), why) for src, why in report.failed] if report else [])
    counts = [
        f"{len(added)} added" if added else "",
        f"{len(updated)} updated" if updated else "",
        f"{len(unchanged)} already in the library" if unchanged else "",
        f"{len(failed)} could not be added" if failed else "",
    ]
    headline = ", ".join(c for c in counts if c) or "Nothing to add."
    if report is not None and report.seconds:
        headline += f" ({report.seconds:.1f} s)"
    details = []
    if report is not None:
        for src, _doc, title in report.added + report.updated:
            found = report.details.get(src)
            if found is not None and found.notes():
                details.append((title or source_name(src), found.notes()))
    return IngestSummary(headline, added, updated, unchanged, failed, details)


def progress_fraction(event: IngestEvent) -> float:
    """How far an ingest is, 0-1: by bytes of the files to parse, else by files."""
    if event.bytes_total:
        return min(1.0, event.bytes_done / event.bytes_total)
    done = event.index if event.finished else event.index - 1
    return done / max(event.total, 1)


def progress_text(event: IngestEvent, labels: Mapping[str, str]) -> str:
    """The upload bar's text: the stage and file, files and chunks done, the rate and the time left."""
    done = event.index if event.finished else event.index - 1
    parts = [
        f"{labels.get(event.stage, event.stage)}: {source_name(event.path)}",
        f"{done} of {event.total} files",
        f"{event.chunks_done:,} passages",
    ]
    if event.chunks_done:
        parts.append(f"{event.rate:.1f} passages/s")
    left = event.seconds_left
    if left is not None and done < event.total:
        parts.append(f"about {format_duration(left)} left")
    return " · ".join(parts)


def add_documents(
    engine: ChangeGuide,
    files: Sequence[tuple[str, bytes]],
    settings: Settings,
    visitor: Visitor | None,
    progress: Callable[[IngestEvent], None] | None = None,
) -> IngestSummary:
    """Save uploaded (name, content) pairs into the uploads folder and ingest them.

    Raises:
        NotPermittedError: the visitor is not a librarian (nothing is saved).
        ChangeGuideError: the index cannot take the batch.
    """
    require_librarian(visitor, "add documents")
    saved = save_uploads(files, settings)
    label = f"upload ({len(saved.paths)} file{'s' if len(saved.paths) != 1 else ''})"
    report = engine.ingest(saved.paths, progress=progress, label=label) if saved.paths else None
    return ingest_summary(report, saved.rejected)


@dataclass(frozen=True)
class Removal:
    """What a removal did: the titles removed, and (title or id, reason) for those that failed."""

    removed: list[str]
    failed: list[tuple[str, str]]


def remove_documents(
    engine: ChangeGuide, doc_ids: Iterable[str], settings: Settings, visitor: Visitor | None
) -> Removal:
    """Remove documents from the index, and their uploaded copies.

    Raises:
        NotPermittedError: the visitor is not a librarian (nothing is removed).
    """
    require_librarian(visitor, "remove documents")
    removed, failed = [], []
    for doc_id in doc_ids:
        try:
            record = engine.remove(doc_id)
        except ChangeGuideError as exc:
            failed.append((doc_id, str(exc)))
            continue
        delete_upload(record.source, settings)
        removed.append(display_title(record))
    return Removal(removed, failed)
