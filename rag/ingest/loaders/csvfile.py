"""CSV and TSV files: the first row is the header, each later row "column: value; ...".

The encoding is sniffed as for plain text, the delimiter by `csv.Sniffer` (comma, semicolon,
tab or pipe). Only the first `settings.ingest.max_rows_per_sheet` rows are listed; the rest are
summarised column by column (the range of numbers and dates, the common values), and how many
were left out is recorded in the document's meta (`rows_left_out`) and the ingestion summary.
"""

from __future__ import annotations

import csv
import io
import itertools
from pathlib import Path

from rag.config import Settings
from rag.errors import IngestError
from rag.ingest.loaders.base import TextBuilder, build_document, normalise_newlines, read_bytes
from rag.ingest.loaders.tabular import ColumnProfile, cell_text, profile_block, sheet_lines
from rag.ingest.loaders.text import decode
from rag.types import SourceDocument

DELIMITERS = ",;\t|"
SNIFF_CHARS = 64 * 1024  # enough lines for the sniffer to see the delimiter's pattern


def load(path: Path, settings: Settings) -> SourceDocument:
    """Read a delimited file as one table.

    Raises:
        IngestError: binary content, an undetectable encoding, or malformed CSV.
    """
    raw = read_bytes(path)
    if b"\x00" in raw[:4096] and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise IngestError("binary file: this does not look like CSV")
    text, encoding = decode(raw)
    text = normalise_newlines(text)
    dialect = _dialect(text, tab=path.suffix.lower() == ".tsv")
    limit = settings.ingest.max_rows_per_sheet
    try:
        reader = csv.reader(io.StringIO(text), dialect)
        kept = list(itertools.islice(reader, limit))
        header = next((row for row in kept if any(cell.strip() for cell in row)), [])
        profiles = {cell_text(name): ColumnProfile() for name in header}
        rest = 0
        for row in reader:  # past the limit: counted and summarised, not listed
            if any(cell.strip() for cell in row):
                rest += 1
                for profile, value in zip(profiles.values(), row, strict=False):
                    profile.add(value)
    except csv.Error as exc:
        raise IngestError(f"malformed CSV: {exc}") from exc
    read = sheet_lines(kept, force_header=True)
    builder = TextBuilder()
    builder.add_heading(1, path.stem)
    for block in read.blocks:
        builder.add(block)
    if rest:
        builder.add(profile_block(profiles, rest, limit))
    meta: dict = {"n_tables": 1 if read.data_rows else 0, "rows_left_out": rest}
    if rest:
        meta["truncated_sheets"] = [f"{path.stem}: {rest:,} rows after row {limit:,}"]
    if encoding != "utf-8":
        meta["encoding"] = encoding
    return build_document(
        path=path, raw=raw, fmt="csv", text=builder.text(), title=None, sections=builder.sections(), meta=meta
    )


def _dialect(text: str, tab: bool) -> type[csv.Dialect] | csv.Dialect:
    if tab:
        return csv.excel_tab
    try:
        return csv.Sniffer().sniff(text[:SNIFF_CHARS], delimiters=DELIMITERS)
    except csv.Error:  # one column, or too irregular to tell: the comma is the standard
        return csv.excel
