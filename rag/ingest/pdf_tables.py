"""Tables on PDF pages, found from the alignment of their cells, written as rows that name
their columns (rag.ingest.tables).

Within a region (a column, or the whole page for a page-wide table), a table is a run of lines
that break into several cells (spans apart by more than an em) with figures among them. Its
columns are the x-intervals the row cells share; the header is the short lines just above,
each label given to the columns under it. A label over several columns (a group header such
as "Pre-Pawn" over Handgun / Long Gun / Other) covers the columns between the vertical rules
beside it when the page draws them, else the columns up to halfway to its neighbours.
Side-by-side copies of one table (the IRS tax tables print three) are split apart.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from dataclasses import dataclass

from rag.ingest.pdf_layout import Line, Span
from rag.ingest.tables import HEADER_JOIN, render_row

# A table has at least this many rows with cells, and each row at least 2 cells.
MIN_TABLE_ROWS = 3
# Header lines above a table: at most this many, each cell at most this many words.
MAX_HEADER_LINES = 8
MAX_HEADER_WORDS = 8
MAX_CELL_WORDS = 8
# A cell is a figure when at least this share of its visible characters are digits.
FIGURE_SHARE = 0.5
# Figures further apart than this many ems are two cells; thousands set with thin spaces
# ("3 023 537", about 0.17 em) stay one.
FIGURE_GAP_EM = 0.4
# Lines closer than this many line heights belong to one paragraph (a caption).
PARAGRAPH_GAP = 0.6
_CAPTION = re.compile(r"^(?:table|tab\.)\s*[\dIVXLC]+\b", re.IGNORECASE)


@dataclass(frozen=True)
class Rule:
    """A vertical rule drawn on the page (x, and its extent)."""

    x: float
    bottom: float
    top: float


def is_figure(text: str) -> bool:
    visible = [ch for ch in text if not ch.isspace()]
    return bool(visible) and sum(ch.isdigit() for ch in visible) >= FIGURE_SHARE * len(visible)


def _is_row(line: Line) -> bool:
    """Cells with figures among them, and no run of prose (a sentence beside a table is not a cell)."""
    return (
        len(line.spans) >= 2
        and any(is_figure(s.text) for s in line.spans[1:])
        and all(len(s.text.split()) <= MAX_CELL_WORDS for s in line.spans)
    )


def split_tables(lines: list[Line], rules: list[Rule]) -> list[tuple[str, list[Line] | str]]:
    """The region's lines as ("text", lines) and ("table", rendered rows) pieces, in order."""
    pieces: list[tuple[str, list[Line] | str]] = []
    i, start = 0, 0
    while i < len(lines):
        if not _is_row(lines[i]):
            i += 1
            continue
        j = i
        while j < len(lines) and (_is_row(lines[j]) or _is_interlude(lines, j)):
            j += 1
        if sum(_is_row(line) for line in lines[i:j]) < MIN_TABLE_ROWS:
            i = j
            continue
        head = _header_start(lines, i)
        result = _render(lines[head:i], lines[i:j], rules)
        if result is None:
            i = j
            continue
        rendered, n_title = result
        head += n_title
        if head > start:
            pieces.append(("text", lines[start:head]))
        if j < len(lines) and _CAPTION.match(lines[j].text):
            # "Table II: ..." set under the table goes before its rows, the whole paragraph.
            end = j + 1
            while end < len(lines) and lines[end - 1].bottom - lines[end].top < PARAGRAPH_GAP * (
                lines[end].top - lines[end].bottom
            ):
                end += 1
            rendered = "\n".join(line.text for line in lines[j:end]) + "\n" + rendered
            j = end
        pieces.append(("table", rendered))
        i = start = j
    if start < len(lines):
        pieces.append(("text", lines[start:]))
    return pieces


def _is_interlude(lines: list[Line], j: int) -> bool:
    """A one-cell line between rows (a group label such as "2,000" in the tax tables)."""
    return len(lines[j].spans) == 1 and j + 1 < len(lines) and _is_row(lines[j + 1])


def _header_start(lines: list[Line], i: int) -> int:
    first = lines[i]
    head = i
    while head > 0 and i - head < MAX_HEADER_LINES:
        line = lines[head - 1]
        gap = line.bottom - lines[head].top
        if gap > 2.5 * (first.top - first.bottom) or _is_row(line) or _CAPTION.match(line.text):
            break
        if any(len(s.text.split()) > MAX_HEADER_WORDS for s in line.spans):
            break
        if line.x0 < first.x0 - 20 or line.x1 > max(r.x1 for r in lines[i : i + 3]) + 20:
            break
        head -= 1
    return head


def _render(header: list[Line], body: list[Line], rules: list[Rule]) -> tuple[str, int] | None:
    """The rows, and how many of the header lines are in fact the title above (left as text)."""
    for line in body:  # figures set closer than a span gap ("23,000 23,050") are two cells
        line.spans[:] = [piece for span in line.spans for piece in _figures(span)]
    # Columns come from the rows with the usual number of cells: a group label across the
    # columns ("23,000" over the tax table's first two) must not merge them.
    counts = Counter(len(line.spans) for line in body if len(line.spans) >= 2)
    usual = counts.most_common(1)[0][0] if counts else 0
    slots = _slots([s for line in body if len(line.spans) >= usual for s in line.spans])
    if len(slots) < 2:
        return None
    n_title = _title_lines(header, slots)
    header = header[n_title:]
    labels = _labels(header, slots, rules)
    groups = _side_by_side(labels)
    out: list[str] = []
    for group in groups:
        for line in body:
            spans = [w for s in line.spans for w in _cells(s, slots)]
            cells = [s for s in spans if group[0] <= _slot_of(s, slots) <= group[-1]]
            if not cells:
                continue
            if len(cells) == 1 and len(line.spans) < max(2, usual // 2):
                out.append(cells[0].text)  # an interlude label
                continue
            values = [""] * len(group)
            for span in cells:
                k = _slot_of(span, slots) - group[0]
                values[k] = f"{values[k]} {span.text}".strip()
            out.append(render_row([labels[g] for g in group], values))
    return "\n".join(out), n_title


def _figures(span: Span) -> list[Span]:
    """A span of figures apart by more than a thin space, cut into one span per figure."""
    pieces = span.words(min_gap=FIGURE_GAP_EM * span.size)
    return pieces if len(pieces) > 1 and all(is_figure(p.text) for p in pieces) else [span]


def _cells(span: Span, slots: list[tuple[float, float]]) -> list[Span]:
    """A span set across two columns (words closer than a span gap) cut into its words."""
    if sum(1 for a, b in slots if min(b, span.x1) - max(a, span.x0) > 1) > 1:
        return span.words()
    return [span]


def _title_lines(header: list[Line], slots: list[tuple[float, float]]) -> int:
    """How many header lines, from the top, are the title: up to a lone line centred over many columns."""
    left, right = slots[0][0], slots[-1][1]
    centre = (left + right) / 2
    for k in range(len(header) - 1, -1, -1):
        line = header[k]
        if (
            len(slots) >= 4
            and len(line.spans) == 1
            and abs((line.x0 + line.x1) / 2 - centre) < 0.05 * (right - left)
        ):
            return k + 1
    return 0


def _slots(spans: list[Span]) -> list[tuple[float, float]]:
    """Column intervals: the row cells' x-intervals merged where they overlap."""
    slots: list[tuple[float, float]] = []
    for a, b in sorted((s.x0, s.x1) for s in spans):
        if slots and a < slots[-1][1] - 0.5:
            slots[-1] = (slots[-1][0], max(slots[-1][1], b))
        else:
            slots.append((a, b))
    return slots


def _slot_of(span: Span, slots: list[tuple[float, float]]) -> int:
    """The column the span overlaps most (slots are sorted and disjoint: look near its start)."""
    at = bisect.bisect_right(slots, (span.x0, float("inf")))
    best, best_overlap = 0, -1e9
    for k in range(max(0, at - 2), min(len(slots), at + 3)):
        a, b = slots[k]
        overlap = min(b, span.x1) - max(a, span.x0)
        if overlap > best_overlap:
            best, best_overlap = k, overlap
    if best_overlap <= 0:  # wider than it looks: check every column
        best = max(range(len(slots)), key=lambda k: min(slots[k][1], span.x1) - max(slots[k][0], span.x0))
    return best


def _labels(header: list[Line], slots: list[tuple[float, float]], rules: list[Rule]) -> list[str]:
    """A label per column from the header lines, group labels first ("Pre-Pawn / Handgun")."""
    parts: list[list[str]] = [[] for _ in slots]
    single: list[bool] = [False] * len(slots)  # whether the last part came from a one-column cell
    for number, line in enumerate(header):
        cells = []
        for span in line.spans:
            covered = _covered(span, slots, rules)
            # Above the last header line a label over several columns is a group label; on the
            # last line it is words set close together, unless rules show it is one cell.
            if len(covered) > 1 and (number < len(header) - 1 or _ruled(span, rules)):
                cells.append((span, covered))
            else:
                cells.extend((w, _covered(w, slots, rules)) for w in _cells(span, slots))
        for span, covered in cells:
            for k in covered:
                if parts[k] and single[k] and len(covered) == 1:
                    parts[k][-1] += " " + span.text  # a cell set on two lines ("Married" / "filing")
                else:
                    parts[k].append(span.text)
                single[k] = len(covered) == 1
    return [HEADER_JOIN.join(p) for p in parts]


def _ruled(span: Span, rules: list[Rule]) -> bool:
    """Whether rules stand on both sides of the span and none crosses it (one ruled cell)."""
    beside = [r.x for r in rules if r.bottom <= span.top and r.top >= span.bottom]
    crossed = any(span.x0 + 1 < x < span.x1 - 1 for x in beside)
    return not crossed and any(x <= span.x0 + 1 for x in beside) and any(x >= span.x1 - 1 for x in beside)


def _covered(span: Span, slots, rules: list[Rule]) -> list[int]:
    """The columns a header cell labels: those between the rules beside it when the page draws
    them (a group label centred over its columns), else those it overlaps, else the nearest."""
    centres = [(a + b) / 2 for a, b in slots]
    beside = [r.x for r in rules if r.bottom <= span.top and r.top >= span.bottom]
    left_rule = max((x for x in beside if x <= span.x0 + 1), default=None)
    right_rule = min((x for x in beside if x >= span.x1 - 1), default=None)
    if left_rule is not None and right_rule is not None:
        within = [k for k, c in enumerate(centres) if left_rule < c < right_rule]
        if within:
            return within
    covered = [k for k, (a, b) in enumerate(slots) if min(b, span.x1) - max(a, span.x0) > 0]
    return covered or [min(range(len(slots)), key=lambda k: abs(centres[k] - (span.x0 + span.x1) / 2))]


def _side_by_side(labels: list[str]) -> list[list[int]]:
    """Column groups of tables printed side by side (the same labels repeating), else one group."""
    n = len(labels)
    for period in range(2, n // 2 + 1):
        if (
            n % period == 0
            and any(labels[:period])
            and all(labels[i] == labels[i % period] for i in range(n))
        ):
            return [list(range(k, k + period)) for k in range(0, n, period)]
    return [list(range(n))]
