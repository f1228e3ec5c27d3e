"""Citations: a cited sentence widened to an excerpt that reads on its own, with document offsets.

A chunk's text is verbatim document text (`chunk.text == document.text[chunk.start:chunk.end]`),
so an excerpt cut from the chunk is an exact substring of the document at
`[chunk.start + a, chunk.start + b)`.
"""

from __future__ import annotations

from collections.abc import Sequence

from rag.answer.sentences import Sentence, count_words
from rag.types import Citation, ScoredChunk

EXCERPT_MIN_WORDS = 40  # below this a lone sentence often lacks the context to be understood
EXCERPT_MAX_WORDS = 90  # above this the excerpt stops being a quotation and becomes a passage
_EXTENDABLE = ("prose", "bullet", "list", "quote")  # widen over prose only, never into headings or tables


def excerpt_bounds(text: str, sentences: Sequence[Sentence], first: int, last: int) -> tuple[int, int]:
    """The [start, end) span in `text` of sentences `first..last`, widened by neighbours.

    Neighbours are added one at a time (next, then previous) while the excerpt is shorter than
    EXCERPT_MIN_WORDS and stays within EXCERPT_MAX_WORDS; the span always ends on sentence boundaries.

    Args:
        text: the chunk text the sentences were split from.
        sentences: all sentences of `text`, in order.
        first, last: indices of the first and last cited sentence.
    """
    lo, hi = first, last
    n_words = count_words(text[sentences[lo].start : sentences[hi].end])
    prefer_next = True
    while n_words < EXCERPT_MIN_WORDS:
        grown = False
        for step in (1, -1) if prefer_next else (-1, 1):
            index = hi + 1 if step == 1 else lo - 1
            if not 0 <= index < len(sentences) or sentences[index].kind not in _EXTENDABLE:
                continue
            extra = sentences[index].n_words
            if n_words + extra > EXCERPT_MAX_WORDS:
                continue
            lo, hi = (lo, index) if step == 1 else (index, hi)
            n_words += extra
            grown = True
            break
        if not grown:
            break
        prefer_next = not prefer_next
    return sentences[lo].start, sentences[hi].end


def build_citation(
    n: int,
    passage: ScoredChunk,
    excerpt: tuple[int, int],
    sentence: tuple[int, int],
    score: float,
    *,
    verified: bool = True,
) -> Citation:
    """Citation `[n]` of `passage.chunk`, from spans relative to the chunk text.

    Args:
        n: the citation number shown in the answer.
        passage: the retrieved chunk the excerpt comes from.
        excerpt: [start, end) of the excerpt in `passage.chunk.text`.
        sentence: [start, end) of the cited sentence in `passage.chunk.text` (for highlighting).
        score: how strongly the cited sentence answers the question.
    """
    chunk = passage.chunk
    meta = chunk.meta or {}
    return Citation(
        n=n,
        chunk_id=chunk.id,
        doc_id=chunk.doc_id,
        title=str(meta.get("title") or chunk.doc_id),
        source=str(meta.get("source") or ""),
        excerpt=chunk.text[excerpt[0] : excerpt[1]],
        start=chunk.start + excerpt[0],
        end=chunk.start + excerpt[1],
        score=float(score),
        page=chunk.page,
        page_end=chunk.page_end,
        section=chunk.section,
        sentence_start=chunk.start + sentence[0],
        sentence_end=chunk.start + sentence[1],
        verified=verified,
        ocr=bool(meta.get("ocr")),
    )
