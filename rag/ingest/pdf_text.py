"""From ordered PDF lines to page text: running headers and footers out, footnotes to the page
end, paragraphs, and hyphenated line breaks joined where the joined word is a word."""

from __future__ import annotations

import functools
import gzip
import json
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field

from rag.ingest.pdf_layout import Line, Span, make_lines
from rag.ingest.pdf_tables import Rule, split_tables

# Header and footer zone: lines this close to the top or bottom edge (share of page height).
CHROME_ZONE = 0.12
# A zone line repeated (digits aside) on this share of pages, and on 3 pages at least
# (2 in documents of up to 4 pages), is a running header or footer.
CHROME_PAGE_SHARE = 0.3
# A page number alone: "12", "- 12 -", "Page 3", "Page 3 of 48", "iv".
_PAGE_NUMBER = re.compile(
    r"^[\W_]*(?:page\s*)?(?:\d{1,4}|[ivxlc]{1,6})(?:\s*(?:of|/)\s*\d{1,4})?[\W_]*$", re.I
)
# Lines set smaller than this share of their region's body size, at its bottom, are footnotes.
FOOTNOTE_SHARE = 0.9
# A vertical gap between lines wider than this many line heights separates paragraphs.
PARAGRAPH_GAP = 0.6
# ... and wider than this many times the region's median gap between lines.
LINE_GAP_SPREAD = 1.5

_HYPHEN_BREAK = re.compile(r"([^\W\d_]+)-\n([^\W\d_]+)")
_WORDS = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")


@dataclass
class PageLines:
    """One page's regions in reading order, with the page box for the header and footer zones."""

    number: int
    bottom: float
    top: float
    regions: list[list[Line]] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)  # vertical rules, for table headers
    n_tables: int = 0  # set by page_text


def running_chrome(pages: list[tuple[list[Span], float, float]]) -> list[set[int]]:
    """The ids of the spans on each page that are running headers, footers or page numbers.

    `pages` holds (spans, bottom, top) per page. Spans near the top or bottom edge are grouped
    into page-wide lines; a line whose letters (digits and spacing aside, so "Page 3 of 48" and
    "- 35 -" match their siblings) recur in the same zone on enough pages is chrome, and so is
    a page number standing alone.
    """
    zone_lines: list[list[tuple[str, Line]]] = []
    counts: Counter[str] = Counter()
    for spans, bottom, top in pages:
        zone = CHROME_ZONE * (top - bottom)
        near = [s for s in spans if s.top >= top - zone or s.bottom <= bottom + zone]
        keyed = []
        for line in make_lines(near) if near else []:
            where = "top" if line.top >= top - zone else "bottom"
            keyed.append((_chrome_key(where, line.text), line))
            # Spans too, for footers whose pieces are set at slightly different heights.
            keyed.extend((_chrome_key(where, span.text), Line([span])) for span in line.spans)
        zone_lines.append(keyed)
        counts.update({key for key, _ in keyed})
    least = 2 if len(pages) <= 4 else max(3, round(CHROME_PAGE_SHARE * len(pages)))
    dropped: list[set[int]] = []
    for keyed in zone_lines:
        ids: set[int] = set()
        for key, line in keyed:
            letters = key.split("|", 1)[1]
            if (len(letters) >= 3 and counts[key] >= least) or _PAGE_NUMBER.match(line.text.strip()):
                ids.update(id(span) for span in line.spans)
        dropped.append(ids)
    return dropped


def _chrome_key(where: str, text: str) -> str:
    return f"{where}|{re.sub(r'[^a-z]+', '', text.lower())}"


def page_text(page: PageLines) -> str:
    """The page's text: regions in order (tables where they stand), footnotes at the end."""
    parts: list[str] = []
    footnotes: list[str] = []
    lines = [line for region in page.regions for line in region]
    page_body = _body_size(lines) if lines else 0.0
    middle = (page.top + page.bottom) / 2
    page.n_tables = 0
    for region in page.regions:
        small = region and region[0].top < middle and _body_size(region) < FOOTNOTE_SHARE * page_body
        if small and not any(kind == "table" for kind, _ in split_tables(region, page.rules)):
            footnotes.append(_region_text(region))  # a block of footnotes under the columns
            continue
        body, notes = _split_footnotes(region)
        for kind, piece in split_tables(body, page.rules) if body else []:
            if kind == "table":
                page.n_tables += 1
                parts.append(piece)
            else:
                parts.append(_region_text(piece))
        if notes:
            footnotes.append(_region_text(notes))
    out = ""
    for part in [*parts, *footnotes]:
        if not part.strip():
            continue
        if out:
            out += "\n" if _continues_sentence(out, part) else "\n\n"
        out += part
    return out


def _split_footnotes(region: list[Line]) -> tuple[list[Line], list[Line]]:
    """Trailing lines set smaller than the region's body text (a column's footnotes)."""
    if len(region) < 2:
        return region, []
    # The upper half of a column is body text even where long footnotes outweigh it below.
    body = _body_size(region[: (len(region) + 1) // 2])
    cut = len(region)
    while cut > 0 and region[cut - 1].size < FOOTNOTE_SHARE * body:
        cut -= 1
    if cut == len(region) or cut == 0:
        return region, []
    return region[:cut], region[cut:]


def _body_size(lines: list[Line]) -> float:
    """The size most of the lines' characters are set in."""
    weight: Counter[float] = Counter()
    for line in lines:
        weight[round(line.size * 2) / 2] += len(line.text)
    return weight.most_common(1)[0][0]


def _region_text(lines: list[Line]) -> str:
    heights = [line.top - line.bottom for line in lines]
    height = statistics.median(heights) if heights else 0.0
    gaps = [a.bottom - b.top for a, b in zip(lines, lines[1:], strict=False)]
    # Wider than the usual gap between lines (double-spaced text has a line's height between
    # lines) and than PARAGRAPH_GAP line heights: a new paragraph.
    threshold = max(PARAGRAPH_GAP * height, LINE_GAP_SPREAD * statistics.median(gaps)) if gaps else 0.0
    out: list[str] = []
    for previous, line in zip([None, *lines], lines, strict=False):
        text = line.text
        if not text:
            continue
        if out and previous is not None:
            gap = previous.bottom - line.top
            out.append("\n\n" if gap > threshold else "\n")
        out.append(text)
    return "".join(out)


def _continues_sentence(before: str, after: str) -> bool:
    """Whether text broken at a column or region edge goes on mid-sentence."""
    last = before.rstrip()[-1:]
    first = after.lstrip()[:1]
    return last == "-" or (bool(last) and last not in '.!?:;"”)' and first.islower())


def join_hyphenated(texts: list[str]) -> list[str]:
    """Join words hyphenated at a line end ("improve-\\nment") when the joined word is a word.

    A hyphen stays ("well-\\nbeing", "COVID-\\n19") when a part is not letters, the second part
    starts with a capital, the document itself writes the word with a hyphen, or the joined
    form is neither in the document elsewhere nor in the English word list.
    """
    vocabulary = Counter(w.lower() for text in texts for w in _WORDS.findall(text))

    def decide(match: re.Match[str]) -> str:
        left, right = match.group(1), match.group(2)
        joined = (left + right).lower()
        if right[0].isupper():
            return match.group(0)
        if vocabulary[joined] > 0:
            return left + right
        if vocabulary[f"{left}-{right}".lower()] > 0:
            return match.group(0)
        return left + right if joined in english_words() else match.group(0)

    return [_HYPHEN_BREAK.sub(decide, text) for text in texts]


@functools.cache
def english_words() -> frozenset[str]:
    """English words from pyspellchecker's frequency list (MIT), the OpenSubtitles-based one."""
    from importlib.resources import files

    resource = files("spellchecker") / "resources" / "en.json.gz"
    with resource.open("rb") as handle:
        return frozenset(json.loads(gzip.decompress(handle.read())))
