"""Tables as readable rows: "column: value; column: value", for slides, workbooks and CSV files.

A grid of cells becomes one line per row, each value next to its column header, so a row
retrieved on its own still says what its numbers are. Workbooks rarely start their table at
row 1: `sheet_lines` finds the header rows below title rows and notes, joins multi-level
headers (merged cells are read as blanks in read-only mode, so upper header rows are filled
rightwards), and carries group labels ("Persons", "Deaths by age group") into the rows below.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time

# A row line longer than this is continued on a new line that repeats the row's label. The
# chunker cuts at the last line end past half a chunk, so a line under half a chunk (175 of 350
# tokens) always ends up whole in one chunk: 400 characters of ONS rows are 130-150 tokens.
MAX_LINE_CHARS = 400
# At most this many rows above a table's data are read as its header (ONS sheets use up to 4).
MAX_HEADER_ROWS = 5
# A sheet needs this many rows holding numbers beside a label to be read as a data table;
# fewer (a contents list, terms and conditions) and its rows are read as prose.
MIN_DATA_ROWS = 3
# A one-cell row this short inside a table labels the rows below it ("Deaths by age group");
# longer ones are notes and stay prose.
MAX_GROUP_LABEL_CHARS = 60

_NUMBER = re.compile(r"[-+−]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?%?")
# Dates as `cell_text` writes them ("3 April 2020") or as CSV files hold them ("2020-04-03").
_DATE = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?|\d{1,2}[ -/](?:\d{1,2}|[A-Z][a-z]+)[ -/]\d{2,4}(?: \d{2}:\d{2})?"
)
_SPACE = re.compile(r"\s+")


def cell_text(value: object) -> str:
    """A cell value as a reader sees it: dates spelt out, whole floats without ".0", spaces squeezed."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return f"{value.day} {value:%B %Y}"
        return f"{value.day} {value:%B %Y %H:%M}"
    if isinstance(value, date):
        return f"{value.day} {value:%B %Y}"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return f"{value:.6f}".rstrip("0").rstrip(".")
    return _SPACE.sub(" ", str(value)).strip()


def is_number(text: str) -> bool:
    return bool(text) and any(ch.isdigit() for ch in text) and _NUMBER.fullmatch(text) is not None


def _kind(text: str) -> str:
    if not text:
        return ""
    if is_number(text):
        return "num"
    if _DATE.fullmatch(text):
        return "date"
    return "text"


def row_line(label: str, pairs: Sequence[tuple[str, str]], max_chars: int = MAX_LINE_CHARS) -> list[str]:
    """One row as lines of "label: header: value; header: value", the label repeated per line.

    A pair with no header shows the value alone; a label-less row starts with its first pair.
    """
    items = [f"{h}: {v}" if h and h != v else v for h, v in pairs if v]
    if not items:
        return [label] if label else []
    prefix = f"{label}: " if label else ""
    lines: list[str] = []
    current: list[str] = []
    for item in items:
        if current and len(prefix) + len("; ".join([*current, item])) > max_chars:
            lines.append(prefix + "; ".join(current))
            current = []
        current.append(item)
    lines.append(prefix + "; ".join(current))
    return lines


def grid_lines(rows: Sequence[Sequence[str]]) -> list[str]:
    """A small table (a slide's, a CSV's) whose first row is its header: one line per later row."""
    cleaned = [[cell_text(c) for c in row] for row in rows]
    cleaned = [row for row in cleaned if any(row)]
    if not cleaned:
        return []
    header, body = cleaned[0], cleaned[1:]
    if not body:
        return ["; ".join(c for c in header if c)]
    lines: list[str] = []
    for row in body:
        pairs = [(header[j] if j < len(header) else "", value) for j, value in enumerate(row)]
        lines += row_line("", pairs)
    return lines


@dataclass
class SheetText:
    """What `sheet_lines` made of one sheet: its blocks of lines and what it found."""

    blocks: list[str] = field(default_factory=list)  # paragraphs: prose, or the rows of a table
    n_tables: int = 0
    data_rows: int = 0
    is_data: bool = False
    columns: dict[int, str] = field(default_factory=dict)  # the last table's column names, by index


def _trimmed(row: Sequence[object]) -> list[str]:
    cells = [cell_text(v) for v in row]
    while cells and not cells[-1]:
        cells.pop()
    return cells


def _first_value_column(rows: Sequence[list[str]]) -> int | None:
    """The column where a data table's values start: where most number-bearing rows have their first number."""
    firsts = []
    for row in rows:
        filled = [j for j, c in enumerate(row) if c]
        if len(filled) < 2:
            continue
        numeric = [j for j in filled if _kind(row[j]) == "num"]
        if numeric:
            firsts.append(numeric[0])
    if len(firsts) < MIN_DATA_ROWS:
        return None
    return Counter(firsts).most_common(1)[0][0]


def _values(row: list[str], v0: int) -> list[str]:
    return [c for c in row[v0:] if c]


def _is_header_like(row: list[str], v0: int) -> bool:
    """Column headers: mostly text or dates, or a rising run of whole numbers (week numbers, years)."""
    values = _values(row, v0)
    if len(values) < 2:
        return False
    texts = sum(_kind(v) in ("text", "date") for v in values)
    if texts * 2 >= len(values):
        return True
    try:
        numbers = [int(v.replace(",", "")) for v in values]
    except ValueError:
        return False
    return all(a < b for a, b in zip(numbers, numbers[1:], strict=False))


def _is_text_header(row: list[str], v0: int) -> bool:
    values = _values(row, v0)
    return len(values) >= 2 and sum(_kind(v) == "text" for v in values) * 2 >= len(values)


class _Table:
    """The header of the table being read: column titles and the labels of the label columns."""

    def __init__(self, header_rows: list[list[str]], v0: int) -> None:
        self.v0 = v0
        width = max(len(r) for r in header_rows)
        self.columns: dict[int, str] = {}
        self.label_headers: dict[int, str] = {}
        filled_rows = []
        for i, row in enumerate(header_rows):
            row = row + [""] * (width - len(row))
            last = i == len(header_rows) - 1
            if not last:  # merged cells of an upper header row span the columns to their right
                carry = ""
                for j in range(v0, width):
                    carry = row[j] or carry
                    row[j] = carry
            filled_rows.append(row)
        for j in range(v0, width):
            parts = []
            for row in filled_rows:
                value = row[j]
                if not value:
                    continue
                name = " ".join(c for c in row[:v0] if c)
                # A row of week numbers or dates names itself in its label cells ("Week number 13").
                keyed = name and not _is_text_header(row, v0)
                parts.append(f"{name} {value}" if keyed else value)
            self.columns[j] = ", ".join(dict.fromkeys(parts))
        text_rows = [r for r in filled_rows if _is_text_header(r, v0)]
        if text_rows:
            for j, value in enumerate(text_rows[-1][:v0]):
                if value:
                    self.label_headers[j] = value


def sheet_lines(rows: Iterable[Sequence[object]], *, force_header: bool = False) -> SheetText:
    """Read a sheet's rows (values, top to bottom) into prose blocks and readable table rows.

    Args:
        rows: the sheet's rows as cell values (None for blanks).
        force_header: the first non-empty row is the header (a CSV file), whatever it holds.
    """
    grid = [_trimmed(r) for r in rows]
    out = SheetText()
    v0 = 0 if force_header else _first_value_column(grid)
    if v0 is None:
        out.blocks = _prose_blocks(grid)
        return out
    out.is_data = True
    block: list[str] = []
    pending_header: list[list[str]] = []
    table: _Table | None = None
    seen_data = False
    groups: list[str] = []
    group_after_data = False

    def flush() -> None:
        if block:
            out.blocks.append("\n".join(block))
            block.clear()

    for row in grid:
        filled = [c for c in row if c]
        if not filled:
            flush()
            continue
        if len(filled) == 1 and not force_header:
            text = filled[0]
            first = next(j for j, c in enumerate(row) if c)
            if table is not None and first < max(v0, 1) + 1 and len(text) <= MAX_GROUP_LABEL_CHARS:
                if group_after_data:
                    groups = []
                    group_after_data = False
                groups.append(text)
            block.append(text)
            continue
        header_like = _is_header_like(row, v0) if not force_header else table is None
        if header_like and (not seen_data or _is_text_header(row, v0)):
            if seen_data:  # a new table starts under its own header
                flush()
                pending_header, seen_data, groups = [], False, []
            pending_header.append(row)
            table = _Table(pending_header[-MAX_HEADER_ROWS:], v0)
            out.columns = {**table.label_headers, **table.columns}
            continue
        if table is None or (not force_header and not any(_kind(c) == "num" for c in row[v0:])):
            block.append("; ".join(filled))
            continue
        if not seen_data:
            out.n_tables += 1
            seen_data = True
        label_parts = []
        for j, value in enumerate(row[:v0]):
            if value:
                header = table.label_headers.get(j)
                label_parts.append(f"{header}: {value}" if header else value)
        named = all(":" in p for p in label_parts) and label_parts
        label = ", ".join(groups + label_parts) if not named else "; ".join(label_parts)
        pairs = [(table.columns.get(j, ""), value) for j, value in enumerate(row) if j >= v0]
        if named:
            block += [f"{label}; {line}" for line in row_line("", pairs)]
        else:
            block += row_line(label, pairs)
        out.data_rows += 1
        group_after_data = True
    flush()
    if not out.n_tables:
        out.is_data = False
    return out


def _prose_blocks(grid: Sequence[list[str]]) -> list[str]:
    """A sheet of notes: each row's cells joined, blank rows ending paragraphs."""
    blocks: list[str] = []
    current: list[str] = []
    for row in grid:
        filled = [c for c in row if c]
        if not filled:
            if current:
                blocks.append("\n".join(current))
                current = []
            continue
        current.append(": ".join(filled) if len(filled) == 2 else "; ".join(filled))
    if current:
        blocks.append("\n".join(current))
    return blocks


# -- a summary of every row, for tables longer than the row limit ------------------------------

MAX_LISTED_VALUES = 8  # text columns with more distinct values list only the most common ones


class ColumnProfile:
    """What a column holds over all rows: the range of its numbers and dates, its common texts."""

    def __init__(self) -> None:
        self.filled = 0
        self.low: float | None = None
        self.high: float | None = None
        self.first: object = None  # earliest date (datetime, or ISO text that sorts as a date)
        self.last: object = None
        self.texts: Counter[str] = Counter()

    def add(self, value: object) -> None:
        if value is None or value == "":
            return
        self.filled += 1
        if isinstance(value, datetime | date) or (
            isinstance(value, str) and _ISO_DAY.fullmatch(value.strip())
        ):
            key = value.strip() if isinstance(value, str) else value
            if self.first is None or _sort_key(key) < _sort_key(self.first):
                self.first = key
            if self.last is None or _sort_key(key) > _sort_key(self.last):
                self.last = key
            return
        text = cell_text(value)
        if isinstance(value, int | float) and not isinstance(value, bool) or is_number(text):
            number = float(text.replace(",", "").replace("%", "").replace("−", "-"))
            self.low = number if self.low is None else min(self.low, number)
            self.high = number if self.high is None else max(self.high, number)
            return
        self.texts[text] += 1

    def describe(self) -> str:
        """E.g. "from 0 to 16387", "from 2010-01-08 to 2020-04-03" or "4 values: a, b, c, d"."""
        parts = []
        if self.low is not None:
            parts.append(f"from {cell_text(self.low)} to {cell_text(self.high)}")
        if self.first is not None:
            parts.append(f"from {cell_text(self.first)} to {cell_text(self.last)}")
        if self.texts:
            common = [t for t, _ in self.texts.most_common(MAX_LISTED_VALUES)]
            n = len(self.texts)
            listed = ", ".join(common)
            label = f"{n:,} value{'s' if n != 1 else ''}"
            parts.append(
                f"{label}: {listed}" if n <= MAX_LISTED_VALUES else f"{label}, most common: {listed}"
            )
        return "; ".join(parts)


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?")


def _sort_key(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime | date) else str(value)


def profile_block(profiles: Mapping[str, ColumnProfile], rows: int, limit: int) -> str:
    """What the rows past the row limit hold, one line per column: written at ingestion, not in the file."""
    lines = [
        f"Summary of the {rows:,} rows after row {limit:,}, left out by the row limit (made at ingestion):"
    ]
    for name, profile in profiles.items():
        described = profile.describe()
        if name and described:
            lines.append(f"{name}: {described}")
    return "\n".join(lines)
