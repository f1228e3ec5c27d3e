"""PDF: text in reading order from pdfium, sections and metadata from pypdf's outline.

pypdf opens and checks the file (corrupt, encrypted) and reads the outline and the info
dictionary; `rag.ingest.pdf_pages` reads each page with pypdfium2 (layout, tables, OCR of
scanned pages). One page span per physical page (1-based). See benchmarks/README.md for why
pdfium.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

from rag.config import Settings
from rag.errors import IngestError
from rag.ingest.loaders.base import (
    build_document,
    one_line,
    read_bytes,
    sections_from_starts,
    title_from_filename,
)
from rag.types import PageSpan, SourceDocument

# Fewer visible characters than this per page on average means no text layer: scans carry at
# most a stray page number, while even a one-line real page has more.
MIN_CHARS_PER_PAGE = 5
PAGE_SEPARATOR = "\n\n"


def load(path: Path, settings: Settings) -> SourceDocument:
    """Read a PDF's text layer, page by page, in reading order.

    Raises:
        IngestError: if the file is corrupt, encrypted with a password, or has no text layer.
    """
    import pypdf
    from pypdf.errors import PdfReadError

    # pypdf logs every malformed object it repairs; the reason that matters is raised, not logged.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    raw = read_bytes(path)
    if not raw.lstrip()[:5].startswith(b"%PDF"):
        raise IngestError("not a PDF file (no %PDF header): the file is corrupt or misnamed")
    try:
        reader = pypdf.PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not _decrypt_with_empty_password(reader):
            raise IngestError("encrypted PDF: it needs a password; save an unprotected copy and ingest that")
        n_pages = len(reader.pages)
    except IngestError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise IngestError(f"corrupt PDF: {one_line(exc, 120)}") from exc
    if not n_pages:
        raise IngestError("corrupt PDF: it has no pages")
    from rag.ingest.pdf_pages import read_pages

    read = read_pages(raw)
    page_texts = read.texts
    visible = sum(len(t.strip()) for t in page_texts)
    if visible < MIN_CHARS_PER_PAGE * len(page_texts):
        if read.unread_pages:
            raise IngestError(f"no text layer: this scanned PDF needs OCR; {read.ocr_unavailable}")
        if read.ocr_pages:
            raise IngestError("no text found: OCR read no text on the scanned pages")
        raise IngestError("no text layer and no images: the pages are blank")

    parts: list[str] = []
    pages: list[PageSpan] = []
    offset = 0
    for number, page_text in enumerate(page_texts, start=1):
        if parts:
            parts.append(PAGE_SEPARATOR)
            offset += len(PAGE_SEPARATOR)
        pages.append(PageSpan(page=number, start=offset, end=offset + len(page_text)))
        parts.append(page_text)
        offset += len(page_text)
    text = "".join(parts)
    return build_document(
        path=path,
        raw=raw,
        fmt="pdf",
        text=text,
        # Outline entries are not titles (the first is often "Contents"): metadata, else the file name.
        title=_info_title(reader) or title_from_filename(path),
        pages=pages,
        sections=_outline_sections(reader, pages, text),
        meta={
            "authors": _info_authors(reader),
            "ocr_pages": list(read.ocr_pages),
            "ocr_missing_pages": list(read.unread_pages),
            "n_tables": read.n_tables,
        },
        page_count=len(page_texts),
    )


def _decrypt_with_empty_password(reader) -> bool:
    """Many PDFs are encrypted only to restrict printing and open with an empty password."""
    try:
        return bool(reader.decrypt(""))
    except Exception:  # pypdf raises DependencyError, NotImplementedError, ... for unsupported ciphers
        return False


def _info_title(reader) -> str | None:
    try:
        title = reader.metadata.title if reader.metadata else None
    except Exception:  # a malformed info dictionary must not cost us the document
        return None
    title = one_line(title or "", 300)
    return title or None


def _info_authors(reader) -> list[str]:
    try:
        author = reader.metadata.author if reader.metadata else None
    except Exception:
        return []
    return [one_line(author, 200)] if author and author.strip() else []


def _outline_sections(reader, pages: list[PageSpan], text: str):
    """Sections from the PDF outline (bookmarks): each starts at its title on the target page, else the top."""
    try:
        outline = reader.outline
    except Exception:
        return ()
    starts: list[tuple[str, int]] = []

    def walk(items, trail: tuple[str, ...]) -> None:
        previous: tuple[str, ...] = trail
        for item in items:
            if isinstance(item, list):
                walk(item, previous)
                continue
            try:
                title = one_line(item.title, 200)
                page_index = reader.get_destination_page_number(item)
            except Exception:
                continue
            # Word exports hidden bookmarks such as "_GoBack"; they are not sections.
            if (
                title
                and not title.startswith("_")
                and page_index is not None
                and 0 <= page_index < len(pages)
            ):
                previous = (*trail, title)
                page = pages[page_index]
                found = text.find(title, page.start, page.end)
                starts.append((" > ".join(previous), found if found >= 0 else page.start))

    walk(outline, ())
    # Bookmarks sharing a start: the last (deepest) one names the section; keep text order.
    by_start: dict[int, str] = {}
    for path, start in starts:
        by_start[start] = path
    return sections_from_starts([(by_start[s], s) for s in sorted(by_start)], len(text))
