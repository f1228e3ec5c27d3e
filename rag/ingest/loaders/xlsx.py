"""Excel workbooks (XLSX) with openpyxl in read-only mode: each sheet a section.

Sheets of notes (contents, information, terms) are read as prose; sheets of figures as rows
"row label: column header: value; ..." with header rows found below title rows (see
`tabular.sheet_lines`). Values are the cached results of formulas, as Excel last showed them.
Only the first `settings.ingest.max_rows_per_sheet` rows of a sheet are listed; the rest are
summarised under the table's column headers (ranges of numbers and dates, common values), and how
many were left out is recorded in the document's meta (`rows_left_out`, `truncated_sheets`) and
the ingestion summary.
"""

from __future__ import annotations

import io
import itertools
import warnings
from pathlib import Path

from rag.config import Settings
from rag.errors import IngestError
from rag.ingest.loaders.archive import check_office_zip
from rag.ingest.loaders.base import TextBuilder, build_document, one_line, read_bytes
from rag.ingest.loaders.tabular import ColumnProfile, profile_block, sheet_lines
from rag.types import SourceDocument


def load(path: Path, settings: Settings) -> SourceDocument:
    """Read every visible sheet of a workbook.

    Raises:
        IngestError: not a zip / XLSX archive, a zip bomb, or openpyxl cannot read it.
    """
    raw = read_bytes(path)
    check_office_zip(raw, "XLSX", "xl/workbook.xml", settings.ingest.max_docx_expanded_mb)
    import openpyxl

    limit = settings.ingest.max_rows_per_sheet
    builder = TextBuilder()
    n_tables = 0
    truncated: list[str] = []
    left_out = 0
    try:
        with warnings.catch_warnings():
            # openpyxl warns about styles and extensions it does not read; the values are what we need.
            warnings.simplefilter("ignore")
            workbook = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
        try:
            for sheet in workbook.worksheets:
                if getattr(sheet, "sheet_state", "visible") != "visible":
                    continue  # hidden sheets hold lookups and scratch work, not what the author shows
                rows = sheet.iter_rows(values_only=True)
                read = sheet_lines(itertools.islice(rows, limit))
                profiles = {name: ColumnProfile() for name in read.columns.values()}
                rest = 0
                for row in rows:  # past the limit: counted and summarised under the table's headers
                    if any(v is not None for v in row):
                        rest += 1
                        for j, name in read.columns.items():
                            if j < len(row):
                                profiles[name].add(row[j])
                if not read.blocks:
                    continue
                builder.add_heading(1, sheet.title)
                for block in read.blocks:
                    builder.add(block)
                if rest and profiles:
                    builder.add(profile_block(profiles, rest, limit))
                n_tables += read.n_tables
                if rest:
                    left_out += rest
                    truncated.append(f"{sheet.title}: {rest:,} rows after row {limit:,}")
        finally:
            workbook.close()
    except IngestError:
        raise
    except Exception as exc:  # openpyxl raises KeyError, ValueError, zip and XML errors on bad parts
        raise IngestError(f"could not read XLSX: {type(exc).__name__}: {one_line(exc, 120)}") from exc
    props = workbook.properties
    return build_document(
        path=path,
        raw=raw,
        fmt="xlsx",
        text=builder.text(),
        # Sheet names are not titles ("Analysis", "Sheet1"): without a workbook title, the file name.
        title=((props.title or "").strip() if props is not None else "") or path.stem,
        sections=builder.sections(),
        meta={
            # Workbooks are made from templates: the last save dates the figures, not the creation.
            "year": _year(props),
            "n_tables": n_tables,
            "rows_left_out": left_out,
            "truncated_sheets": truncated,
        },
    )


def _year(props) -> int | None:
    when = (props.modified or props.created) if props is not None else None
    return when.year if when else None
