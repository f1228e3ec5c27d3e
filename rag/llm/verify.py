"""Check a generated answer against the excerpts it cites, sentence by sentence.

Steps: split the answer into sentences and their `[n]` markers; drop numbers that name no
excerpt; measure each sentence's support in the excerpts it cites twice over, by content-word
recall (ROUGE-1-like: the share of the sentence's content words found in the cited excerpts, so
an invented number, name or claim lowers it) and by the embedding cosine with the closest
sentence of a cited excerpt (so a sentence on another subject fails even when it reuses words);
both must pass. The citations are cut from the cited passages with the extractive answerer's
citation builder, so every excerpt is verbatim document text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.answer.citations import build_citation, excerpt_bounds
from rag.answer.sentences import Sentence, split_sentences
from rag.answer.terms import content_terms
from rag.index.embedding import Embedder
from rag.llm.prompts import NOT_COVERED
from rag.types import AnswerSentence, Citation, ScoredChunk

# Thresholds; both must be met. On the starter library (benchmarks/verify_thresholds.py, 597
# claims) they accept 98% of first-clause and 100% of whole-sentence quotes, 4.4% of sentences
# from another part of the same document and 0.6% from another document. Lexical 0.6 would cut
# the same-document rate to 0.6% but rejects looser paraphrases (hand-written ones score 0.6-0.9).
MIN_LEXICAL_RECALL = 0.5  # at least half the sentence's content words occur in the cited excerpts
MIN_EMBEDDING_COSINE = 0.55  # MiniLM: paraphrases of a sentence score ~0.6+, other topics < 0.4
# A sentence with fewer content words is no checkable claim: "Yes [1]." or an echoed "PWNED [1]."
# would otherwise pass on one shared word.
MIN_CLAIM_TERMS = 3

# One group of adjacent markers: "[1]", "[1][3]", "[1, 3]", "[2; 4]".
_MARKERS = re.compile(r"\s*(?:\[\s*\d{1,3}(?:\s*[,;]\s*\d{1,3})*\s*\]\s*)+")
# Markers placed after a sentence's full stop ("... care. [2] Next") are moved before it, so the
# sentence splitter keeps them with the sentence they cite.
_AFTER_STOP = re.compile(r"([.!?])((?:\s*\[\s*\d{1,3}(?:\s*[,;]\s*\d{1,3})*\s*\])+)")
_NUMBER = re.compile(r"\d+")
_MIN_SOURCE_WORDS = 3  # shorter pieces of an excerpt (a lone heading word) cannot support a claim


@dataclass(frozen=True)
class SentenceCheck:
    """How well one generated sentence is supported by the excerpts it cites."""

    text: str  # the sentence without its markers
    cited: tuple[int, ...]  # valid citation numbers, in the order written
    lexical: float  # content-word recall in the cited excerpts together
    cosine: float  # best cosine with a sentence of a cited excerpt
    verified: bool


@dataclass(frozen=True)
class Verification:
    """A generated answer after checking: cleaned text, sentences, citations and what was removed."""

    text: str  # the answer with invented citation numbers removed
    sentences: tuple[AnswerSentence, ...]
    citations: tuple[Citation, ...]
    checks: tuple[SentenceCheck, ...]
    invented: tuple[int, ...]  # citation numbers that named no excerpt
    declined: bool  # the model said the excerpts do not cover the question

    @property
    def n_verified(self) -> int:
        return sum(s.verified for s in self.sentences)


def is_supported(lexical: float, cosine: float) -> bool:
    """Whether a sentence's lexical recall and embedding cosine both reach their thresholds."""
    return lexical >= MIN_LEXICAL_RECALL and cosine >= MIN_EMBEDDING_COSINE


def lexical_recall(claim: str, source_terms: set[str]) -> float:
    """Share of the distinct content words of `claim` that occur in `source_terms` (0 if it has none)."""
    terms = set(content_terms(claim))
    if not terms:
        return 0.0
    return len(terms & source_terms) / len(terms)


def parse_markers(text: str) -> list[int]:
    """The citation numbers in `text`, in order of appearance, without repeats."""
    numbers: list[int] = []
    for group in _MARKERS.finditer(text):
        for number in map(int, _NUMBER.findall(group.group())):
            if number not in numbers:
                numbers.append(number)
    return numbers


def strip_markers(text: str) -> str:
    """`text` without citation markers, whitespace collapsed."""
    return " ".join(_MARKERS.sub(" ", text).split()).replace(" .", ".").replace(" ,", ",")


def _answer_sentences(text: str) -> list[tuple[str, list[int]]]:
    """(sentence with markers, its citation numbers) in order; leading markers join the sentence before."""
    normalised = _AFTER_STOP.sub(lambda m: f"{m.group(2)}{m.group(1)}", text)
    pieces: list[tuple[str, list[int]]] = []
    for sentence in split_sentences(normalised):
        piece = sentence.text
        lead = _MARKERS.match(piece)
        if lead and pieces:
            previous, numbers = pieces[-1]
            pieces[-1] = (previous + lead.group().rstrip(), numbers + parse_markers(lead.group()))
            piece = piece[lead.end() :]
        if strip_markers(piece):
            pieces.append((piece, parse_markers(piece)))
    return pieces


def _clean_markers(text: str, valid: set[int]) -> str:
    """`text` with every marker group rewritten to its valid, distinct numbers (or removed)."""

    def rewrite(match: re.Match[str]) -> str:
        kept = list(dict.fromkeys(n for n in map(int, _NUMBER.findall(match.group())) if n in valid))
        group = match.group()
        # Keep the whitespace after the group (a space or a paragraph break) unless the text ends.
        trailing = group[len(group.rstrip()) :] if match.end() < len(match.string) else ""
        if not kept:
            return trailing
        return " " + "".join(f"[{n}]" for n in kept) + trailing

    return _MARKERS.sub(rewrite, text).strip()


class _Sources:
    """The sentences of the cited passages, embedded once."""

    def __init__(self, passages: Sequence[ScoredChunk], numbers: set[int], embedder: Embedder) -> None:
        self.sentences: dict[int, list[Sentence]] = {}
        self.terms: dict[int, set[str]] = {}
        owners: list[tuple[int, int]] = []  # (citation number, sentence index) per embedded row
        texts: list[str] = []
        for n in sorted(numbers):
            text = passages[n - 1].chunk.text
            self.sentences[n] = split_sentences(text)
            self.terms[n] = set(content_terms(text))
            for index, sentence in enumerate(self.sentences[n]):
                if sentence.n_words >= _MIN_SOURCE_WORDS:
                    owners.append((n, index))
                    texts.append(" ".join(sentence.text.split()))
        self.owners = owners
        self.vectors = embedder.embed_batch(texts) if texts else np.zeros((0, 1), dtype=np.float32)

    def best(self, vector: np.ndarray, n: int) -> tuple[float, int | None]:
        """Best cosine of `vector` with a sentence of passage `n`, and that sentence's index."""
        rows = [row for row, (owner, _) in enumerate(self.owners) if owner == n]
        if not rows:
            return 0.0, None
        cosines = self.vectors[rows] @ vector
        best = int(np.argmax(cosines))
        return float(cosines[best]), self.owners[rows[best]][1]


def verify_answer(text: str, passages: Sequence[ScoredChunk], embedder: Embedder) -> Verification:
    """Check `text`, written from `passages` numbered from 1, against the excerpts each sentence cites.

    Args:
        text: the generated answer with `[n]` markers.
        passages: the passages the prompt numbered 1..len(passages), in that order.
        embedder: the engine's embedder (unit vectors), shared with retrieval.
    """
    valid = set(range(1, len(passages) + 1))
    pieces = _answer_sentences(text)
    plain = [strip_markers(piece) for piece, _ in pieces]
    cited = [[n for n in numbers if n in valid] for _, numbers in pieces]
    invented = tuple(dict.fromkeys(n for _, numbers in pieces for n in numbers if n not in valid))
    sources = _Sources(passages, {n for numbers in cited for n in numbers}, embedder)
    vectors = embedder.embed_batch(plain) if plain else np.zeros((0, 1), dtype=np.float32)

    checks: list[SentenceCheck] = []
    # For each citation: (cosine, sentence index) of its best match and whether it supports a sentence.
    best_match: dict[int, tuple[float, int | None]] = {}
    supports: dict[int, bool] = {}
    for sentence, numbers, vector in zip(plain, cited, vectors, strict=True):
        per_passage = {n: sources.best(vector, n) for n in numbers}
        lexical = lexical_recall(sentence, set().union(*(sources.terms[n] for n in numbers)))
        cosine = max((c for c, _ in per_passage.values()), default=0.0)
        checkable = len(set(content_terms(sentence))) >= MIN_CLAIM_TERMS
        verified = bool(numbers) and checkable and is_supported(lexical, cosine)
        checks.append(SentenceCheck(sentence, tuple(numbers), lexical, cosine, verified))
        for n, (c, index) in per_passage.items():
            if n not in best_match or c > best_match[n][0]:
                best_match[n] = (c, index)
            # A citation is verified when a verified sentence cites it and this excerpt itself matches.
            own = (
                c >= MIN_EMBEDDING_COSINE or lexical_recall(sentence, sources.terms[n]) >= MIN_LEXICAL_RECALL
            )
            supports[n] = supports.get(n, False) or (verified and own)

    citations = []
    for n in sorted(best_match):
        cosine, index = best_match[n]
        passage = passages[n - 1]
        sentences = sources.sentences[n]
        if index is None:  # nothing embeddable: cite the passage from its start
            span = (0, len(passage.chunk.text))
            excerpt = sentence_span = span
        else:
            excerpt = excerpt_bounds(passage.chunk.text, sentences, index, index)
            sentence_span = (sentences[index].start, sentences[index].end)
        citations.append(
            build_citation(n, passage, excerpt, sentence_span, max(cosine, 0.0), verified=supports[n])
        )
    return Verification(
        text=_clean_markers(text, valid),
        sentences=tuple(AnswerSentence(c.text, c.cited, c.verified) for c in checks),
        citations=tuple(citations),
        checks=tuple(checks),
        invented=invented,
        declined=any(NOT_COVERED.rstrip(".").lower() in s.lower() for s in plain),
    )
