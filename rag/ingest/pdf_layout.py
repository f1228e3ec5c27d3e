"""Reading order of a PDF page from pdfium's characters: spans, columns (XY-cut), lines.

pdfium gives characters in content-stream order with their boxes. Stream order is the author's
order for LaTeX and Word exports but runs across columns line by line in typeset documents such
as the IRS instructions, so the order is rebuilt from geometry:

1. characters become *spans* (runs on one baseline without a wide gap);
2. the page is cut recursively (XY-cut): at vertical gutters into columns, left to right, and
   above and below the lines that straddle a gutter (titles, full-width headings);
3. each leaf region becomes lines, top to bottom.

Coordinates are PDF points with y growing upwards, as pdfium reports them.
"""

from __future__ import annotations

import bisect
import math
import statistics
from dataclasses import dataclass, field

# A gap wider than this many font sizes ends a span: word spaces in justified text stay under
# about 0.6 em, the gutters of the shared three-column documents measure 1.5-2.5 em.
SPAN_GAP_EM = 1.0
# Characters whose baseline differs by less than this share of the font size are on one line.
BASELINE_TOLERANCE = 0.35
# Text turned by more than this (radians, about 10 degrees) is margin text such as the Federal
# Register's rotated typesetting stamp; it is left out when it is a small share of the page.
ROTATED_RADIANS = 0.17
MAX_ROTATED_SHARE = 0.2
# A gutter is at least this wide (points) and each column beside it at least this wide, with
# spans averaging this many characters: number columns of a table are never text columns.
MIN_GUTTER = 6.0
MIN_COLUMN_WIDTH = 120.0
MIN_COLUMN_CHARS = 10
# pdfium reports a hyphen it takes for a line-end hyphenation as U+FFFE (or U+0002).
_PDFIUM_HYPHENS = frozenset("\ufffe\x02")
# Spans set smaller than this share of their line's size are superscripts or subscripts.
SMALL_SHARE = 0.8
# A gutter may be crossed by up to this share of a region's spans (titles, running footers).
STRADDLER_SHARE = 0.05


@dataclass(slots=True, eq=False)
class Span:
    """Characters on one baseline with no wide gap, in reading order; y grows upwards."""

    x0: float
    x1: float
    bottom: float
    top: float
    baseline: float
    size: float
    chars: list[str] = field(default_factory=list)
    xs: list[float] = field(default_factory=list)  # left edge of each character (tables split cells)

    @property
    def text(self) -> str:
        return "".join(self.chars).strip()

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    def words(self, min_gap: float = 0.0) -> list[Span]:
        """The span cut at its spaces (those wider than `min_gap` points), each piece with its x-extent."""
        out: list[Span] = []
        start = 0
        n = len(self.chars)
        for i in range(n + 1):
            if i < n and self.chars[i] != " ":
                continue
            if i < n:
                # The space's own left edge is where the word before it ended.
                right = self.xs[i]
                following = self.xs[i + 1] if i + 1 < n else self.x1
                if following - right < min_gap:
                    continue
            if i > start:
                right = self.xs[i] if i < n else self.x1
                chars = self.chars[start:i]
                while chars and chars[-1] == " ":
                    chars = chars[:-1]
                out.append(
                    Span(self.xs[start], right, self.bottom, self.top, self.baseline, self.size,
                         chars, self.xs[start : start + len(chars)])
                )  # fmt: skip
            start = i + 1
        return out or [self]


@dataclass(slots=True, eq=False)
class Line:
    """Spans side by side at one height, left to right; the bounds are kept as spans join."""

    spans: list[Span]
    x0: float = 0.0
    x1: float = 0.0
    bottom: float = 0.0
    top: float = 0.0
    size: float = 0.0

    def __post_init__(self) -> None:
        first = self.spans[0]
        self.x0, self.x1, self.bottom, self.top, self.size = (
            first.x0,
            first.x1,
            first.bottom,
            first.top,
            first.size,
        )
        for span in self.spans[1:]:
            self.add(span)

    def add(self, span: Span) -> None:
        if span not in self.spans:
            self.spans.append(span)
        self.x0, self.x1 = min(self.x0, span.x0), max(self.x1, span.x1)
        self.bottom, self.top = min(self.bottom, span.bottom), max(self.top, span.top)
        self.size = max(self.size, span.size)

    @property
    def text(self) -> str:
        out = ""
        previous: Span | None = None
        for span in self.spans:
            text = span.text
            if not text:
                continue
            # A superscript set tight against its word ("available,1") keeps no space.
            tight = previous is not None and span.x0 - previous.x1 < 0.15 * min(span.size, previous.size)
            out += text if not out or tight else " " + text
            previous = span
        return out


def page_spans(textpage) -> list[Span]:
    """Spans of a pdfium text page in stream order, rotated margin text left out."""
    import pypdfium2.raw as pdfium_c

    handle = textpage.raw
    count = pdfium_c.FPDFText_CountChars(handle)
    if count <= 0:
        return []
    text = textpage.get_text_range(0, count)
    if len(text) != count:  # characters outside the BMP: ask one by one
        text = "".join(chr(pdfium_c.FPDFText_GetUnicode(handle, i)) for i in range(count))
    box = pdfium_c.FS_RECTF()
    get_box, get_angle = pdfium_c.FPDFText_GetLooseCharBox, pdfium_c.FPDFText_GetCharAngle
    spans: list[Span] = []
    rotated: list[Span] = []
    current: Span | None = None
    current_rotated = space_pending = False
    # Only the loose box is asked for every character (about 1 µs each); the angle only where a
    # span starts. The bottom of the loose box (baseline less the font's descent) is the baseline.
    # The loop is written out (no helper calls) because it runs for every character.
    for i, ch in enumerate(text):
        if ch in "\r\n":
            current, space_pending = None, False
            continue
        if ch.isspace():  # pdfium's generated spaces included
            space_pending = True
            continue
        if ch in _PDFIUM_HYPHENS:
            ch = "-"
        get_box(handle, i, box)
        left, right, bottom, top = box.left, box.right, box.bottom, box.top
        # The loose box's height (ascent to descent) is the size as printed: the nominal font
        # size is 1 in files that scale text with the text matrix (the IRS instructions).
        size = (top - bottom) or pdfium_c.FPDFText_GetFontSize(handle, i) or 1.0
        if current is not None and not current_rotated:
            em = size if size > current.size else current.size
            gap = left - current.x1
            # Same baseline, and a gap from overlap by a whole em (a ligature's second letter
            # shares the first one's box) to SPAN_GAP_EM.
            if abs(bottom - current.baseline) <= BASELINE_TOLERANCE * em and -size <= gap <= SPAN_GAP_EM * em:
                if space_pending or gap > 0.25 * size:
                    current.chars.append(" ")
                    current.xs.append(current.x1)
                current.chars.append(ch)
                current.xs.append(left)
                if right > current.x1:
                    current.x1 = right
                if top > current.top:
                    current.top = top
                if bottom < current.bottom:
                    current.bottom = bottom
                space_pending = False
                continue
        angle = get_angle(handle, i)
        if ROTATED_RADIANS < (angle % math.pi) < math.pi - ROTATED_RADIANS:
            if current is None or not current_rotated:
                current = Span(left, right, bottom, top, bottom, size, [], [])
                rotated.append(current)
                current_rotated = True
            current.chars.append(ch)
            current.xs.append(left)
            continue
        current = Span(left, right, bottom, top, bottom, size, [ch], [left])
        spans.append(current)
        current_rotated = space_pending = False
    if rotated and len(rotated) > MAX_ROTATED_SHARE * (len(spans) + len(rotated)):
        spans.extend(rotated)  # a page set sideways: its text is the content, not margin noise
    return [s for s in spans if s.text]


def reading_order(spans: list[Span]) -> list[list[Line]]:
    """The page's regions in reading order, each a list of lines top to bottom."""
    regions: list[list[Line]] = []
    _cut(spans, regions, depth=0)
    return regions


def _cut(spans: list[Span], out: list[list[Line]], depth: int) -> None:
    if not spans:
        return
    if depth > 60 or len(spans) == 1:
        out.append(make_lines(spans))
        return
    columns = _vertical_split(spans, strict=True)
    if columns:
        for column in columns:
            _cut(column, out, depth + 1)
        return
    bands = _bands_around_straddlers(spans)
    if bands:
        for band in bands:
            _cut(band, out, depth + 1)
        return
    out.append(make_lines(spans))


def _vertical_split(spans: list[Span], *, strict: bool) -> list[list[Span]] | None:
    """Spans split at gutters, left to right, or None.

    Strict gutters are crossed by no span. Otherwise a gutter may be crossed by a few spans
    (a title, a running footer): they are the *straddlers*, returned as a last group.
    """
    left = min(s.x0 for s in spans)
    width = int(max(s.x1 for s in spans) - left) + 2
    # Coverage per point of x: how many spans cross it.
    delta = [0] * (width + 1)
    for span in spans:
        delta[int(span.x0 - left)] += 1
        delta[int(span.x1 - left) + 1] -= 1
    coverage, running = [], 0
    for d in delta[:-1]:
        running += d
        coverage.append(running)
    allowed = 0 if strict else max(1, int(STRADDLER_SHARE * len(spans)))
    runs: list[tuple[float, float]] = []  # candidate gutters [a, b) in page x
    start = None
    for x, c in enumerate(coverage):
        if c <= allowed and start is None:
            start = x
        elif c > allowed and start is not None:
            if x - start >= MIN_GUTTER and start > 0:
                runs.append((left + start, left + x))
            start = None
    chosen: list[tuple[float, float]] = []  # widest first, kept while the columns stay text columns
    for gutter in sorted(runs, key=lambda g: g[0] - g[1]):
        trial = sorted([*chosen, gutter])
        groups, straddlers = _split_at(spans, trial)
        if all(_is_text_column(g) for g in groups):
            chosen = trial
    if not chosen:
        return None
    groups, straddlers = _split_at(spans, chosen)
    return [*groups, straddlers] if straddlers else groups


def _split_at(spans: list[Span], gutters: list[tuple[float, float]]) -> tuple[list[list[Span]], list[Span]]:
    groups: list[list[Span]] = [[] for _ in range(len(gutters) + 1)]
    straddlers: list[Span] = []
    for span in spans:
        if any(span.x0 < b - 1 and span.x1 > a + 1 for a, b in gutters):
            straddlers.append(span)
        else:
            groups[sum(1 for a, _ in gutters if span.x0 >= a)].append(span)
    return groups, straddlers


def _is_text_column(spans: list[Span]) -> bool:
    if not spans:
        return False
    width = max(s.x1 for s in spans) - min(s.x0 for s in spans)
    chars = statistics.fmean(len(s.text) for s in spans)
    return width >= MIN_COLUMN_WIDTH and chars >= MIN_COLUMN_CHARS


def _bands_around_straddlers(spans: list[Span]) -> list[list[Span]] | None:
    """Columns, or horizontal bands cut above and below the spans that cross the gutters.

    Only when the rest shows columns: otherwise the region is one column of text and its lines
    are read top to bottom. A straddler with column text beside it (a URL running into the
    gutter) belongs to the column it starts in; one alone at its height (a title, a running
    footer) gets a band of its own, and the text between such bands is cut again.
    """
    split = _vertical_split(spans, strict=False)
    if split is None or len(split) < 2:
        return None
    straddlers = split[-1]
    rest = [s for group in split[:-1] for s in group]
    alone = [s for s in straddlers if not any(s.bottom < o.top and o.bottom < s.top for o in rest)]
    if not alone:
        columns = split[:-1]
        for span in straddlers:
            index = max(i for i, group in enumerate(columns) if i == 0 or min(o.x0 for o in group) <= span.x0)
            columns[index].append(span)
        return columns
    crossing = {id(s) for s in alone}
    bands: list[list[Span]] = []
    band_crossing = False
    for span in sorted(spans, key=lambda s: -s.top):
        is_crossing = id(span) in crossing
        if bands and is_crossing == band_crossing:
            bands[-1].append(span)
        else:
            bands.append([span])
            band_crossing = is_crossing
    return bands if len(bands) > 1 else None


def _merged(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for a, b in intervals:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def make_lines(spans: list[Span]) -> list[Line]:
    """Spans grouped into lines, top to bottom, each left to right.

    Body-size spans make the lines; smaller spans join the body line they overlap (a footnote
    mark stays inside its sentence), and the rest (a table set in smaller type) make lines of
    their own.
    """
    body = body_size(spans)
    lines = _cluster([s for s in spans if s.size >= SMALL_SHARE * body])
    keys = [-line.spans[0].baseline for line in lines]
    leftovers = []
    for span in (s for s in spans if s.size < SMALL_SHARE * body):
        at = bisect.bisect_left(keys, -span.baseline)
        best, best_overlap = None, 0.0
        for line in lines[max(0, at - 2) : at + 2]:
            overlap = min(span.top, line.top) - max(span.bottom, line.bottom)
            if overlap > best_overlap and line.x0 - 2 * span.size <= span.x0 <= line.x1 + 2 * span.size:
                best, best_overlap = line, overlap
        if best is None or best_overlap < 0.3 * (span.top - span.bottom):
            leftovers.append(span)
        else:
            best.add(span)
    lines.extend(_cluster(leftovers))
    lines.sort(key=lambda line: -line.top)
    for line in lines:
        line.spans.sort(key=lambda s: s.x0)
    return lines


def _cluster(spans: list[Span]) -> list[Line]:
    """Spans on one baseline (or inside the line's height) as lines, top to bottom."""
    lines: list[Line] = []
    for span in sorted(spans, key=lambda s: (-s.baseline, s.x0)):
        if lines:
            last = lines[-1]
            mid = (span.top + span.bottom) / 2
            base = last.spans[0].baseline
            if abs(span.baseline - base) <= BASELINE_TOLERANCE * span.size or last.bottom < mid < last.top:
                last.add(span)
                continue
        lines.append(Line([span]))
    return lines


def body_size(spans: list[Span]) -> float:
    """The size most of the characters are set in (to half a point)."""
    weight: dict[float, int] = {}
    for span in spans:
        key = round(span.size * 2) / 2
        weight[key] = weight.get(key, 0) + len(span.chars)
    return max(weight, key=weight.__getitem__)
