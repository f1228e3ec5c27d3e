"""Where an excerpt lies: the pages (or slides) and section of its own text, not of its chunk's start.

A chunk can start a page, a slide or a heading before the sentence the answerer quotes from it,
so a citation copied from the chunk would send the reader to the wrong page ("slide 9" for a
quote on slide 11). The engine relocates every citation with the stored document's spans.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import replace

from rag.types import Citation, PageSpan, SectionSpan


def _page_at(pages: Sequence[PageSpan], offset: int) -> int | None:
    starts = [p.start for p in pages]
    index = bisect.bisect_right(starts, offset) - 1
    return pages[max(0, index)].page if pages else None


def _section_at(sections: Sequence[SectionSpan], offset: int) -> str | None:
    starts = [s.start for s in sections]
    index = bisect.bisect_right(starts, offset) - 1
    if index < 0 or offset >= sections[index].end:
        return None
    return sections[index].path


def locate(citation: Citation, pages: Sequence[PageSpan], sections: Sequence[SectionSpan]) -> Citation:
    """`citation` with `page`/`page_end` of its excerpt's first and last character and the section at its start."""
    if citation.end <= citation.start:
        return citation
    page = _page_at(pages, citation.start) if pages else citation.page
    page_end = _page_at(pages, citation.end - 1) if pages else citation.page_end
    section = _section_at(sections, citation.start) if sections else citation.section
    if (page, page_end, section) == (citation.page, citation.page_end, citation.section):
        return citation
    return replace(citation, page=page, page_end=page_end, section=section)
