"""Token-aware chunking that never crosses documents and prefers heading, paragraph, sentence cuts.

The text is first cut into small atoms (sentences, lines, paragraphs), each remembering how
strong the boundary after it is. Atoms are packed greedily up to `chunk_tokens`; when a chunk
is full it is cut at the strongest boundary in its second half, and the next chunk starts
`overlap_tokens` back. A heading starts a new chunk once the current one holds a fair amount.
Every chunk is a verbatim slice: `chunk.text == doc.text[chunk.start:chunk.end]`.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from rag.config import ChunkingSettings
from rag.ingest.tokens import get_encoding
from rag.types import Chunk, PageSpan, SectionSpan, SourceDocument, content_hash

# Boundary strengths after an atom: a cut prefers the strongest boundary available.
WORD, SENTENCE, LINE, PARAGRAPH, SECTION = range(5)
# A heading starts a new chunk only if the current chunk already holds this share of the target;
# otherwise a short section would become a chunk too small to retrieve well on its own.
MIN_FILL_BEFORE_SECTION = 0.25
# A full chunk is cut at its strongest boundary after this share of the target, never earlier.
MIN_FILL_BEFORE_CUT = 0.5

_BREAKS = re.compile(r"\n[ \t]*\n\s*|\n\s*|(?<=[.!?…:;])[\"'’”)\]]*\s+")


@dataclass(frozen=True, slots=True)
class _Atom:
    start: int
    end: int  # includes trailing whitespace, so atoms tile the text
    tokens: int
    strength: int  # of the boundary after this atom


def chunk_document(doc: SourceDocument, settings: ChunkingSettings) -> list[Chunk]:
    """Split `doc` into overlapping, token-bounded, verbatim chunks with page and section."""
    atoms = _atoms(doc.text, doc.sections, settings)
    spans = _pack(atoms, settings.chunk_tokens, settings.overlap_tokens)
    page_starts = [p.start for p in doc.pages]
    section_starts = [s.start for s in doc.sections]
    meta = {
        "title": doc.title,
        "source": doc.source,
        "format": doc.format,
        "topics": list(doc.meta.get("topics", [])),
        "year": doc.meta.get("year"),
    }
    ocr_pages = frozenset(doc.meta.get("ocr_pages", ()))
    chunks: list[Chunk] = []
    for span in spans:
        trimmed = _trim(doc.text, *span)
        if trimmed is None:
            continue
        start, end = trimmed
        text = doc.text[start:end]
        page, page_end = _page_at(doc.pages, page_starts, start), _page_at(doc.pages, page_starts, end - 1)
        # Text Tesseract read is marked, so a citation can say so.
        is_ocr = bool(ocr_pages) and page is not None and not ocr_pages.isdisjoint(range(page, page_end + 1))
        chunks.append(
            Chunk(
                id=content_hash(doc.doc_id, str(start), str(end), text),
                doc_id=doc.doc_id,
                text=text,
                start=start,
                end=end,
                page=page,
                page_end=page_end,
                section=_section_at(doc.sections, section_starts, start),
                ordinal=len(chunks),
                meta={**meta, "ocr": True} if is_ocr else meta,
            )
        )
    return chunks


def _atoms(text: str, sections: tuple[SectionSpan, ...], settings: ChunkingSettings) -> list[_Atom]:
    """Tile `text` with sentence-sized atoms; section starts are the strongest boundaries."""
    encoding = get_encoding(settings.encoding)
    cuts = {0, len(text)} | {s.start for s in sections if 0 < s.start < len(text)}
    section_cuts = set(cuts)
    strengths: dict[int, int] = {}
    for match in _BREAKS.finditer(text):
        gap = match.group(0)
        newlines = gap.count("\n")
        strength = PARAGRAPH if newlines >= 2 else LINE if newlines == 1 else SENTENCE
        cuts.add(match.end())
        strengths[match.end()] = max(strengths.get(match.end(), WORD), strength)
    for cut in section_cuts:
        strengths[cut] = SECTION
    ordered = sorted(cuts)
    pieces = [(a, b) for a, b in zip(ordered, ordered[1:], strict=False) if b > a]
    counts = [len(t) for t in encoding.encode_ordinary_batch([text[a:b] for a, b in pieces])]
    atoms: list[_Atom] = []
    limit = max(1, settings.chunk_tokens // 2)
    for (a, b), n in zip(pieces, counts, strict=True):
        if n <= limit:
            atoms.append(_Atom(a, b, n, strengths.get(b, WORD)))
        else:
            atoms.extend(_split_long(text, a, b, strengths.get(b, WORD), limit, encoding))
    return atoms


def _split_long(text: str, start: int, end: int, strength: int, limit: int, encoding) -> list[_Atom]:
    """Split an atom with no sentence breaks (a table, a run-on line) at token boundaries."""
    tokens = encoding.encode_ordinary(text[start:end])
    _, offsets = encoding.decode_with_offsets(tokens)
    atoms = []
    for i in range(0, len(tokens), limit):
        a = start + offsets[i]
        b = start + offsets[i + limit] if i + limit < len(tokens) else end
        if b > a:
            atoms.append(_Atom(a, b, min(limit, len(tokens) - i), strength if b == end else WORD))
    return atoms


def _pack(atoms: list[_Atom], target: int, overlap: int) -> list[tuple[int, int]]:
    """Greedy packing of atoms into [start, end) spans; see the module docstring."""
    spans: list[tuple[int, int]] = []
    i, n = 0, len(atoms)
    while i < n:
        j, total, stop = i, 0, None
        while j < n:
            boundary_before = atoms[j - 1].strength if j > i else None
            if boundary_before == SECTION and total >= target * MIN_FILL_BEFORE_SECTION:
                stop = j
                break
            if j > i and total + atoms[j].tokens > target:
                break
            total += atoms[j].tokens
            j += 1
        if stop is None and j < n:
            stop = _best_cut(atoms, i, j, target)
        elif stop is None:
            stop = n
        spans.append((atoms[i].start, atoms[stop - 1].end))
        if stop >= n:
            break
        if atoms[stop - 1].strength == SECTION:
            i = stop  # a new section starts clean: overlap across a heading only confuses retrieval
            continue
        k, shared = stop, 0
        while k - 1 > i and shared + atoms[k - 1].tokens <= overlap:
            k -= 1
            shared += atoms[k].tokens
        i = k
    return spans


def _best_cut(atoms: list[_Atom], i: int, j: int, target: int) -> int:
    """The end (exclusive atom index) in (i, j] with the strongest boundary past the minimum fill."""
    best, best_strength, total = j, -1, 0
    for m in range(i, j):
        total += atoms[m].tokens
        if m + 1 < j and total < target * MIN_FILL_BEFORE_CUT:
            continue
        if atoms[m].strength >= best_strength:
            best, best_strength = m + 1, atoms[m].strength
    return best


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The span without leading and trailing whitespace, or None if nothing is left."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if end > start else None


def _page_at(pages: tuple[PageSpan, ...], starts: list[int], offset: int) -> int | None:
    if not pages:
        return None
    index = max(0, bisect.bisect_right(starts, offset) - 1)
    return pages[index].page


def _section_at(sections: tuple[SectionSpan, ...], starts: list[int], offset: int) -> str | None:
    index = bisect.bisect_right(starts, offset) - 1
    if index < 0 or offset >= sections[index].end:
        return None
    return sections[index].path
