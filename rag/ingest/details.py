"""Per-file details of an ingest: what the summary says about each added or updated file."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rag.types import Chunk, SourceDocument

if TYPE_CHECKING:
    from rag.index.store import Index


@dataclass(frozen=True)
class FileDetails:
    """What ingestion found in one added or updated file, for its line in the summary.

    `ocr_pages` and `tables` come from the loader's meta (`ocr_pages`, `n_tables`); rows left out
    from the spreadsheet loaders' row limit; shared chunks from near-duplicate detection.
    """

    source: str
    format: str
    chunks: int
    pages: int | None = None
    tables: int = 0
    ocr_pages: int = 0
    rows_left_out: int = 0
    truncated: tuple[str, ...] = ()  # e.g. "Sheet1: 17,803 rows after row 1,000"
    shared_chunks: int = 0  # chunks with a near-duplicate in another document
    shared_with: tuple[str, ...] = ()  # titles of those documents

    @property
    def shared_share(self) -> float:
        return self.shared_chunks / self.chunks if self.chunks else 0.0

    def notes(self) -> list[str]:
        """What a reader should know about this file, one short phrase each."""
        out = []
        if self.ocr_pages:
            out.append(f"OCR used on {self.ocr_pages} page{'s' if self.ocr_pages != 1 else ''}")
        if self.tables:
            out.append(f"{self.tables} table{'s' if self.tables != 1 else ''} read as rows")
        if self.rows_left_out:
            out.append(
                f"{self.rows_left_out:,} rows left out past the row limit ({'; '.join(self.truncated)}; "
                "raise CHANGEGUIDE_INGEST__MAX_ROWS_PER_SHEET to read them)"
            )
        if self.shared_chunks:
            n = len(self.shared_with)
            out.append(
                f"{self.shared_share:.0%} of its passages shared with {n} document{'s' if n != 1 else ''} "
                f"({'; '.join(self.shared_with)}): collapsed in answers"
            )
        return out


def file_details(doc: SourceDocument, chunks: Sequence[Chunk], index: Index) -> FileDetails:
    """The summary line's facts about a stored document (its near-duplicates were found on adding it)."""
    links = index.duplicate_links([c.id for c in chunks])
    others = dict.fromkeys(x.other_doc_id for found in links.values() for x in found)
    titles = tuple((r.title if (r := index.get_document(d)) is not None else d) for d in others)
    ocr = doc.meta.get("ocr_pages") or 0
    return FileDetails(
        source=doc.source,
        format=doc.format,
        chunks=len(chunks),
        pages=doc.page_count,
        tables=int(doc.meta.get("n_tables") or 0),
        ocr_pages=len(ocr) if isinstance(ocr, list | tuple) else int(ocr),
        rows_left_out=int(doc.meta.get("rows_left_out") or 0),
        truncated=tuple(doc.meta.get("truncated_sheets") or ()),
        shared_chunks=len(links),
        shared_with=titles,
    )


def format_duration(seconds: float) -> str:
    """ "45 s", "3 min 20 s", "1 h 5 min" (for the time left in progress bars)."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"
