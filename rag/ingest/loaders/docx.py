"""DOCX with python-docx: paragraphs and tables in body order, headings as sections."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from docx.oxml.ns import qn

from rag.config import Settings
from rag.errors import IngestError
from rag.ingest.loaders.base import TextBuilder, build_document, one_line, read_bytes
from rag.types import SourceDocument

_HEADING_STYLE = re.compile(r"^heading\s*(\d)$", re.IGNORECASE)
MB = 1024 * 1024


def load(path: Path, settings: Settings) -> SourceDocument:
    """Read a Word document's paragraphs, headings and tables.

    Raises:
        IngestError: if the file is not a zip archive, expands beyond the zip-bomb limit,
            or python-docx cannot read it.
    """
    raw = read_bytes(path)
    _check_archive(raw, settings.ingest.max_docx_expanded_mb)
    import docx
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(raw))
    except Exception as exc:  # python-docx raises KeyError, ValueError, lxml errors, ... on bad parts
        raise IngestError(f"could not read DOCX: {type(exc).__name__}: {one_line(exc, 120)}") from exc

    builder = TextBuilder()
    n_tables = 0
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            table_text = _table_text(block)
            n_tables += bool(table_text)
            builder.add(table_text)
            continue
        text = block.text.strip()
        if not text:
            continue
        level = _heading_level(block)
        if level is None:
            builder.add(text)
        else:
            builder.add_heading(level, text)
    core = document.core_properties
    authors = [a.strip() for a in re.split(r"[;,]", core.author or "") if a.strip()]
    return build_document(
        path=path,
        raw=raw,
        fmt="docx",
        text=builder.text(),
        title=(core.title or "").strip() or None,
        sections=builder.sections(),
        meta={"authors": authors, "year": core.created.year if core.created else None, "n_tables": n_tables},
    )


def _check_archive(raw: bytes, max_expanded_mb: float) -> None:
    """Refuse non-zip files and zip bombs before python-docx inflates anything."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
            names = set(archive.namelist())
    except zipfile.BadZipFile as exc:
        raise IngestError("not a valid DOCX: the file is not a zip archive (corrupt or misnamed)") from exc
    if expanded > max_expanded_mb * MB:
        raise IngestError(
            f"DOCX expands to {expanded / MB:,.0f} MB, over the {max_expanded_mb:g} MB limit "
            "(possible zip bomb; CHANGEGUIDE_INGEST__MAX_DOCX_EXPANDED_MB)"
        )
    if "word/document.xml" not in names:
        raise IngestError("not a valid DOCX: the zip archive has no word/document.xml")


def _heading_level(paragraph) -> int | None:
    name = paragraph.style.name if paragraph.style is not None else ""
    if name == "Title":
        return 1
    match = _HEADING_STYLE.match(name or "")
    return int(match.group(1)) if match else None


def _table_text(table) -> str:
    """Rows as "Column: value; ..." lines (rag.ingest.tables), header rows found as Word marks them."""
    from rag.ingest.tables import looks_like_header, render_table

    rows: list[list[str]] = []
    marked = 0  # leading rows Word repeats on each page (w:tblHeader) or sets in bold
    for index, row in enumerate(table.rows):
        cells, seen = [], set()
        for cell in row.cells:
            # A merged cell is repeated once per grid column: a header keeps the repeats (its
            # label spans those columns), a body row shows the value once.
            repeat = id(cell._tc) in seen
            seen.add(id(cell._tc))
            cells.append("" if repeat and index >= marked else " ".join(cell.text.split()))
        if index == marked and _is_header_row(row):
            marked += 1
        rows.append(cells)
    rows = [r for r in rows if any(r)]
    if not rows:
        return ""
    n_header = marked or (1 if looks_like_header(rows[0], rows[1:]) else 0)
    return render_table(rows, min(n_header, len(rows) - 1))


def _is_header_row(row) -> bool:
    """Marked to repeat as a header on every page, or every run of text in it bold."""
    properties = row._tr.trPr
    if properties is not None and properties.find(qn("w:tblHeader")) is not None:
        return True
    runs = [run for cell in row.cells for p in cell.paragraphs for run in p.runs if run.text.strip()]
    return bool(runs) and all(run.bold for run in runs)
