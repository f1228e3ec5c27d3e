"""Tables as readable rows, the same for every format: "Column: value; Column: value." a line.

Why rows and not a Markdown table: a quoted excerpt is a few lines cut out of a longer text.
A Markdown row without its header row is a run of bare numbers ("| Alabama | 18,870 | 23,022 |"),
while a row that names its columns still answers the question on its own ("State / Territory:
Alabama; Permit: 18,870; Handgun: 23,022; ..."). Two-level headers are joined with " / "
("Pre-Pawn / Handgun"). A table without a header row keeps its cells joined with " | ".
"""

from __future__ import annotations

import re
from collections.abc import Sequence

HEADER_JOIN = " / "
CELL_JOIN = " | "
_DIGIT = re.compile(r"\d")


def column_labels(header_rows: Sequence[Sequence[str]], n_columns: int) -> list[str]:
    """One label per column from header rows (top first), levels joined, repeats dropped."""
    labels = []
    for column in range(n_columns):
        parts: list[str] = []
        for row in header_rows:
            cell = " ".join(row[column].split()) if column < len(row) else ""
            if cell and (not parts or parts[-1] != cell):
                parts.append(cell)
        labels.append(HEADER_JOIN.join(parts))
    return labels


def render_row(labels: Sequence[str], cells: Sequence[str]) -> str:
    """ "Label: value; Label: value." (empty cells left out), or cells joined by " | " without labels."""
    values = [" ".join(c.split()) for c in cells]
    if not any(labels):
        text = CELL_JOIN.join(v for v in values if v)
    else:
        parts = []
        for label, value in zip(labels, values, strict=False):
            if value:
                parts.append(f"{label}: {value}" if label and label != value else value)
        text = "; ".join(parts)
    if sum(1 for v in values if v) > 1 and text[-1] not in ".!?:;":
        text += "."  # each row reads as a sentence of its own to the sentence splitter
    return text


def render_table(rows: Sequence[Sequence[str]], n_header_rows: int, caption: str | None = None) -> str:
    """The table as lines: the caption (if any), then one line per body row."""
    width = max((len(r) for r in rows), default=0)
    labels = column_labels(rows[:n_header_rows], width)
    lines = [" ".join(caption.split())] if caption and caption.strip() else []
    for row in rows[n_header_rows:]:
        if any(c.strip() for c in row):
            lines.append(render_row(labels, row))
    return "\n".join(lines)


def looks_like_header(row: Sequence[str], body: Sequence[Sequence[str]]) -> bool:
    """Whether a first row names the columns: every cell filled, no figures, and the table
    has at least two columns and a row below it."""
    cells = [" ".join(c.split()) for c in row]
    if len(cells) < 2 or not body or not all(cells):
        return False
    return not any(_DIGIT.search(c) for c in cells)
