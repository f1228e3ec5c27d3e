"""The second stage's features: what the fused rank throws away about each candidate.

All features are O(1) in size so one set of logistic weights fits them; each row describes one
candidate passage against the question.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from rag.retrieve.terms import terms
from rag.types import ScoredChunk

FEATURES = (
    "cosine",  # exact cosine of question and chunk vectors (keyword-only hits get one too)
    "cosine_gap",  # that cosine minus the best candidate's
    "bm25",  # raw BM25 over the best candidate's (0 when BM25 did not return it)
    "coverage",  # share of the question's content terms in the chunk
    "sentence_coverage",  # the same for the chunk's best single sentence
    "pairs",  # share of the question's adjacent term pairs ("run chart") found adjacent in the chunk
    "heading_terms",  # share of question terms in the document title and section path
    "rrf",  # fused RRF score over the best candidate's
    "profile",  # cosine of the question and the document's title + summary
    "profile_gap",  # that cosine minus the best candidate document's
    "intent",  # the section heading suits what is asked (definition, how-to, evidence, pitfalls)
    "pitfalls_unasked",  # a pitfalls/limitations section when the question does not ask for them
    "references",  # a reference-list section ("Key sources", "References")
)

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
TERMS_CACHE_SIZE = 4096  # analysed chunk texts kept between questions (a few MB)

# Question cue -> heading cue, for the common kinds of question and the sections that answer them.
INTENTS = {
    "definition": (
        re.compile(r"^(what (is|are|does|do)\b|define\b|explain\b|describe\b)|\bmean(s|ing)?\b"),
        re.compile(r"\bwhat (it|they|this) (is|are)\b|overview|introduc|defin|summary|background|about"),
    ),
    "how-to": (
        re.compile(
            r"^how (do|does|should|can|could|would|might|to)\b|\bsteps?\b|\bapply\b|implement|\bwhat (can|should)\b"
        ),
        re.compile(r"\bhow\b|\bappl|practi|\bsteps?\b|implement|guid"),
    ),
    "evidence": (
        re.compile(r"evidence|does it work|research|stud(y|ies)|effective|\bworth\b|proof|\bshow"),
        re.compile(r"evidence|research|finding|result|evaluat|stud(y|ies)"),
    ),
    "pitfalls": (
        re.compile(
            r"pitfall|mistake|wrong|avoid|\brisks?\b|fail|problem|critici|limitation|downside|weakness|trap"
        ),
        re.compile(r"pitfall|mistake|\brisks?\b|limitation|critic|problem|caveat|trap|warning"),
    ),
}
_REFERENCES = re.compile(r"key sources|references|bibliography|further reading|^sources$")


def _pairs(seq: Sequence[str]) -> set[tuple[str, str]]:
    return set(zip(seq, seq[1:], strict=False))


@lru_cache(maxsize=TERMS_CACHE_SIZE)
def _analysed(text: str) -> tuple[frozenset[str], frozenset[tuple[str, str]], tuple[frozenset[str], ...]]:
    """A chunk's term set, adjacent term pairs and per-sentence term sets (chunks recur across questions)."""
    sentences = [terms(s) for s in _SENTENCE_END.split(text)]
    all_terms = [t for sentence in sentences for t in sentence]
    return frozenset(all_terms), frozenset(_pairs(all_terms)), tuple(frozenset(s) for s in sentences if s)


def _heading(section: str | None) -> str:
    """The innermost heading of a section path; "" at the top of a document (its overview)."""
    if not section or " > " not in section:
        return ""
    return section.rsplit(" > ", 1)[1].strip().lower()


def intent_features(question: str, section: str | None) -> tuple[float, float, float]:
    """(intent match, unasked pitfalls section, reference-list section) for one candidate."""
    q = question.strip().lower()
    heading = _heading(section)
    asked = {name for name, (q_cue, _) in INTENTS.items() if q_cue.search(q)}
    suits = {name for name, (_, h_cue) in INTENTS.items() if h_cue.search(heading)}
    if not heading:
        suits.add("definition")  # a document's opening says what the thing is
    match = bool(asked & suits)
    pitfalls_unasked = "pitfalls" in suits and "pitfalls" not in asked
    return float(match), float(pitfalls_unasked), float(bool(_REFERENCES.search(heading)))


def candidate_features(
    query: str,
    query_vector: np.ndarray,
    candidates: Sequence[ScoredChunk],
    vectors: np.ndarray,
    profiles: np.ndarray,
) -> np.ndarray:
    """The feature matrix, one row per candidate, columns as in FEATURES.

    Args:
        query: the standalone question.
        query_vector: its unit embedding, shape (dim,).
        candidates: first-stage candidates (with their RRF and BM25 scores).
        vectors: the candidates' unit chunk vectors, shape (len(candidates), dim).
        profiles: unit vectors of each candidate's document title + summary, same shape.
    """
    n = len(candidates)
    x = np.zeros((n, len(FEATURES)), dtype=np.float64)
    if n == 0:
        return x
    cos = vectors @ query_vector
    x[:, 0] = cos
    x[:, 1] = cos - cos.max()
    bm25 = np.array([c.keyword_score or 0.0 for c in candidates])
    x[:, 2] = bm25 / bm25.max() if bm25.max() > 0 else 0.0
    rrf = np.array([c.score for c in candidates])
    x[:, 7] = rrf / rrf.max() if rrf.max() > 0 else 0.0
    profile = profiles @ query_vector
    x[:, 8] = profile
    x[:, 9] = profile - profile.max()
    q_terms = terms(query)
    q_set = set(q_terms)
    q_pairs = _pairs(q_terms)
    for i, cand in enumerate(candidates):
        chunk = cand.chunk
        x[i, 10:13] = intent_features(query, chunk.section)
        if not q_set:
            continue
        c_terms, c_pairs, sentences = _analysed(chunk.text)
        x[i, 3] = len(q_set & c_terms) / len(q_set)
        x[i, 4] = max((len(q_set & s) for s in sentences), default=0) / len(q_set)
        if q_pairs:
            x[i, 5] = len(q_pairs & c_pairs) / len(q_pairs)
        heading = f"{chunk.meta.get('title', '')} {chunk.section or ''}"
        x[i, 6] = len(q_set.intersection(terms(heading))) / len(q_set)
    return x
