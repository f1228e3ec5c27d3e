"""The default answerer: the most relevant sentences of the retrieved passages, quoted verbatim.

No language model: every sentence of the answer is a sentence of a document, followed by the
marker of the citation that quotes it. Steps: split passages into sentences and drop junk; a
sentence opening with a reference back ("This supports...") is quoted with the sentence before
it, or not at all; shortlist by a cheap lexical score; embed the question and the shortlist in
one batch; abstain if the evidence is weak; score each sentence with the learned sentence model
(rag/models/sentence.json: cosine, term coverage, the question's intent against the sentence's
section heading and shape...); pick sentences greedily without near-duplicates, covering each
side of a comparison; lay them out as one or two lead sentences, then the points by source.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from rag.answer.abstain import (
    ABSTENTION_TEXT,
    NO_PASSAGES_TEXT,
    Evidence,
    evidence_score,
    should_abstain,
)
from rag.answer.base import Draft
from rag.answer.citations import EXCERPT_MAX_WORDS, build_citation, excerpt_bounds
from rag.answer.features import SUBJECT_WORDS, SentenceInput, passage_prior, pool_features
from rag.answer.intent import classify, last_heading
from rag.answer.layout import answer_layout, layout_text
from rag.answer.scope import scope_signals
from rag.answer.sentences import (
    Sentence,
    count_words,
    is_dangling,
    is_question,
    is_quotable,
    split_sentences,
)
from rag.answer.terms import content_terms, coverage
from rag.config import AnswerSettings
from rag.index.embedding import Embedder
from rag.models.linear import LinearModel, load_model
from rag.types import AnswerSentence, Citation, QuestionIntent, ScoredChunk

MODEL_PATH = Path(__file__).resolve().parent.parent / "models" / "sentence.json"
MODEL_NAME = "sentence"

SHORTLIST_SIZE = 16  # sentences embedded per question (~10 ms each on 2 cores): the fallback for a
# model without `selection.shortlist_size` (chosen by training/fit_sentences.py; the shipped one is 8)
EVIDENCE_SENTENCES = 3  # coverage is measured on this many closest sentences together
TYPE_SENTENCES = 5  # the kind of answer asked for (a quantity, a year, a name) is looked for in this many
# Abstention evidence reads at most the first SHORTLIST_SIZE of the lexical shortlist, so a longer
# shortlist for selection does not move the abstention threshold; a shorter one does (refit it).
ANTECEDENT_STEPS = 2  # a back-referring sentence may carry at most this many sentences before it
_ANTECEDENT_KINDS = ("prose", "bullet", "quote", "list")
# Selection thresholds on the model's probability, relative to the best sentence's: set by
# training/fit_sentences.py (out-of-fold simulation of this selection on managers-dev) and
# stored with the model; these are the fallbacks the script starts from.
RELATIVE_FLOOR = 0.6  # never quote a sentence scoring below this share of the best one
EXTEND_FLOOR = 0.8  # past min_words, only sentences this close to the best are added
SIDE_FLOOR = 0.3  # a comparison's missing side is quoted only if its best sentence scores this share
MAX_SENTENCES = 8
MAX_LEADS = 2  # lead sentences: the direct answer (one per side of a comparison)
DUPLICATE_COSINE = 0.9  # two sentences this similar say the same thing
DUPLICATE_JACCARD = 0.7  # same for the share of content terms they have in common


def judged_passages(passages: Sequence[ScoredChunk]) -> set[int]:
    """The positions of the passages the cross-encoder read (all of them when it read none)."""
    read = {i for i, p in enumerate(passages) if p.neural_score is not None}
    return read or set(range(len(passages)))


@dataclass
class _Candidate:
    rank: int  # rank of the passage, 0 = best
    passage: ScoredChunk
    sentences: list[Sentence]  # every sentence of the passage, for excerpts
    index: int  # this sentence's index in `sentences`
    first: int  # index of the first sentence quoted: `index`, or its antecedent's
    terms: set[str]
    heading: str
    lexical: float = 0.0
    subject: float = 0.0
    cosine: float = 0.0
    score: float = 0.0
    orphan: bool = False  # a question, or refers back to a sentence it cannot carry: never quoted
    features: dict[str, float] = field(default_factory=dict, repr=False)
    item: SentenceInput | None = field(default=None, repr=False)  # what the features are computed from
    vector: np.ndarray | None = field(default=None, repr=False)

    @property
    def sentence(self) -> Sentence:
        return self.sentences[self.index]

    @property
    def start(self) -> int:
        return self.sentences[self.first].start

    @property
    def quote(self) -> str:
        """The quoted text: the sentence with its antecedent, verbatim from the chunk."""
        return self.passage.chunk.text[self.start : self.sentence.end]


@lru_cache(maxsize=4)
def default_model(path: Path = MODEL_PATH) -> LinearModel:
    """The shipped sentence model (loaded once per process)."""
    return load_model(path, MODEL_NAME)


class ExtractiveGenerator:
    """Answers by quoting the sentences that best answer the question. Thread-safe, stateless.

    The engine passes its caching embedder, so the question's vector from retrieval and the
    vectors of sentences quoted before are not computed again.
    """

    name = "extractive"

    def __init__(
        self, embedder: Embedder, settings: AnswerSettings | None = None, model: LinearModel | None = None
    ) -> None:
        self.embedder = embedder
        self.settings = settings or AnswerSettings()
        self.model = model or default_model()
        floors = self.model.provenance.get("selection", {}) if self.model.provenance else {}
        self.relative_floor = float(floors.get("relative_floor", RELATIVE_FLOOR))
        self.extend_floor = float(floors.get("extend_floor", EXTEND_FLOOR))
        self.shortlist_size = int(floors.get("shortlist_size", SHORTLIST_SIZE))

    def generate(
        self, question: str, passages: Sequence[ScoredChunk], *, on_token: Callable[[str], None] | None = None
    ) -> Draft:
        candidates, evidence = self._score(question, passages)
        if evidence is None:
            draft = Draft(text=NO_PASSAGES_TEXT, sentences=(), citations=(), abstained=True)
        elif should_abstain(evidence, self.settings.abstain_threshold, passages):
            draft = Draft(text=ABSTENTION_TEXT, sentences=(), citations=(), abstained=True)
        else:
            intent = classify(question)
            chosen = self._select(candidates, intent)
            if chosen:
                draft = self._compose(chosen, intent)
            else:  # every close sentence is a question or refers back to one it cannot carry
                draft = Draft(text=ABSTENTION_TEXT, sentences=(), citations=(), abstained=True)
        if on_token is not None:
            on_token(draft.text)  # nothing to stream: the whole answer is ready at once
        return draft

    def assess(self, question: str, passages: Sequence[ScoredChunk]) -> Evidence | None:
        """The evidence the passages hold for the question (None if they hold no quotable sentence)."""
        return self._score(question, passages)[1]

    # -- scoring -------------------------------------------------------------------------------

    def pool(self, question: str, passages: Sequence[ScoredChunk]) -> list[_Candidate]:
        """The shortlisted candidates with their features (for training/fit_sentences.py)."""
        return self._shortlist(question, passages)[0]

    def _shortlist(
        self, question: str, passages: Sequence[ScoredChunk]
    ) -> tuple[list[_Candidate], Evidence | None]:
        question_terms = set(content_terms(question))
        candidates = self._candidates(passages, question_terms)
        if not candidates:
            return [], None
        # Cheap lexical shortlist so only `shortlist_size` sentences go through the model.
        candidates.sort(key=lambda c: (-(c.lexical + 0.5 * passage_prior(c.rank)), c.rank, c.index))
        shortlist = candidates[: self.shortlist_size]
        vectors = self.embedder.embed_batch([question] + [c.sentence.text for c in shortlist])
        cosines = vectors[1:] @ vectors[0]
        for candidate, vector, cosine in zip(shortlist, vectors[1:], cosines, strict=True):
            candidate.vector = vector
            candidate.cosine = float(cosine)
        # The evidence is read from the passages the cross-encoder judged (the further passages widen
        # what may be quoted, not what decides whether the library answers), so the abstention
        # model sees what it was fitted on whatever k is.
        judged = judged_passages(passages)
        by_cosine = sorted(shortlist[:SHORTLIST_SIZE], key=lambda c: -c.cosine)
        by_cosine = [c for c in by_cosine if c.rank in judged] or by_cosine
        closest = by_cosine[:EVIDENCE_SENTENCES]
        covered = coverage(question_terms, set().union(*(c.terms for c in closest)))
        scope = scope_signals(
            question, [passages[i] for i in sorted(judged)], [c.quote for c in by_cosine[:TYPE_SENTENCES]]
        )
        items = [_input(c) for c in shortlist]
        features = pool_features(items, question, question_terms, classify(question))
        for candidate, item, values in zip(shortlist, items, features, strict=True):
            candidate.item, candidate.features = item, values
        return shortlist, evidence_score(closest[0].cosine, covered, scope)

    def _score(
        self, question: str, passages: Sequence[ScoredChunk]
    ) -> tuple[list[_Candidate], Evidence | None]:
        shortlist, evidence = self._shortlist(question, passages)
        if shortlist:
            x = np.array([self.model.vector(c.features) for c in shortlist])
            for candidate, p in zip(shortlist, self.model.proba(x), strict=True):
                candidate.score = float(p)
            shortlist.sort(key=lambda c: -c.score)
        return shortlist, evidence

    @staticmethod
    def _candidates(passages: Sequence[ScoredChunk], question_terms: set[str]) -> list[_Candidate]:
        """Quotable sentences of all passages; a sentence seen in two overlapping chunks counts once."""
        seen: set[tuple[str, int]] = set()
        candidates = []
        for rank, passage in enumerate(passages):
            sentences = split_sentences(passage.chunk.text)
            headings = _headings(sentences, last_heading(passage.chunk.section))
            for index, sentence in enumerate(sentences):
                key = (passage.chunk.doc_id, passage.chunk.start + sentence.start)
                if key in seen or not is_quotable(sentence):
                    continue
                seen.add(key)
                first = _antecedent(sentences, index)
                terms = set(content_terms(sentence.text))
                opening = set(content_terms(" ".join(sentence.text.split()[:SUBJECT_WORDS])))
                candidates.append(
                    _Candidate(
                        rank,
                        passage,
                        sentences,
                        index,
                        first if first is not None else index,
                        terms,
                        headings[index],
                        lexical=coverage(question_terms, terms),
                        subject=coverage(question_terms, opening),
                        orphan=first is None or is_question(sentence.text),
                    )
                )
        return candidates

    # -- selection and composition ---------------------------------------------------------------

    def _select(self, ranked: list[_Candidate], intent: QuestionIntent) -> list[_Candidate]:
        """Best sentences first, near-duplicates skipped, until the answer is long enough; then
        the best sentence of any side of a comparison that no chosen sentence speaks to."""
        quotable = [c for c in ranked if not c.orphan]
        if not quotable:
            return []
        best = quotable[0].score
        chosen: list[_Candidate] = []
        n_words = 0
        for candidate in quotable:
            if candidate.score < self.relative_floor * best or len(chosen) >= MAX_SENTENCES:
                break
            if n_words >= self.settings.min_words and candidate.score < self.extend_floor * best:
                break
            words = count_words(candidate.quote)
            if chosen and n_words + words > self.settings.max_words:
                continue
            if any(_near_duplicate(candidate, other) for other in chosen):
                continue
            chosen.append(candidate)
            n_words += words
        for side in intent.sides:
            if any(_speaks_to(side, c.terms) for c in chosen):
                continue
            speaks = [c for c in quotable if _speaks_to(side, c.terms) and c.score >= SIDE_FLOOR * best]
            extra = next((c for c in speaks if not any(_near_duplicate(c, o) for o in chosen)), None)
            if extra is None:
                continue
            while len(chosen) > 1 and n_words + count_words(extra.quote) > self.settings.max_words:
                n_words -= count_words(chosen.pop().quote)  # make room: drop the weakest point
            chosen.append(extra)
            n_words += count_words(extra.quote)
        return chosen

    @staticmethod
    def _leads(chosen: list[_Candidate], intent: QuestionIntent) -> list[_Candidate]:
        """The direct answer: the best sentence; for a comparison, the best one of each side."""
        leads = [chosen[0]]
        for side in intent.sides:
            if len(leads) >= MAX_LEADS or any(_speaks_to(side, c.terms) for c in leads):
                continue
            other = next((c for c in chosen if _speaks_to(side, c.terms)), None)
            if other is not None:
                leads.append(other)
        return leads

    def _compose(self, chosen: list[_Candidate], intent: QuestionIntent) -> Draft:
        # Lead sentences first; then the points by document (best document first), each
        # document's points in their order in it, which reads like a summary of the document.
        leads = self._leads(chosen, intent)
        doc_order: dict[str, int] = {}
        for candidate in sorted(chosen, key=lambda c: c.rank):
            doc_order.setdefault(candidate.passage.chunk.doc_id, len(doc_order))
        points = sorted(
            (c for c in chosen if c not in leads),
            key=lambda c: (doc_order[c.passage.chunk.doc_id], c.passage.chunk.start + c.start),
        )
        groups = _group(chosen)
        group_of = {id(c): i for i, group in enumerate(groups) for c in group}
        numbers: dict[int, int] = {}  # group -> citation number, in order of first appearance
        citations: list[Citation] = []
        answer_sentences: list[AnswerSentence] = []
        for role, candidate in [("lead", c) for c in leads] + [("point", c) for c in points]:
            g = group_of[id(candidate)]
            if g not in numbers:
                numbers[g] = len(citations) + 1
                group = groups[g]
                top = max(group, key=lambda c: c.score)
                first, last = min(c.first for c in group), group[-1].index
                excerpt = excerpt_bounds(top.passage.chunk.text, top.sentences, first, last)
                sentence = (top.start, top.sentence.end)
                citations.append(build_citation(numbers[g], top.passage, excerpt, sentence, top.score))
            text = " ".join(candidate.quote.split())
            answer_sentences.append(AnswerSentence(text=text, citations=(numbers[g],), role=role))
        sentences = tuple(answer_sentences)
        text = layout_text(answer_layout(sentences, citations))
        return Draft(text=text, sentences=sentences, citations=tuple(citations), abstained=False)


def _input(candidate: _Candidate) -> SentenceInput:
    opening = " ".join(candidate.sentence.text.split()[:SUBJECT_WORDS])
    return SentenceInput(
        text=candidate.quote,
        terms=frozenset(candidate.terms),
        opening_terms=frozenset(content_terms(opening)),
        n_words=count_words(candidate.quote),
        kind=candidate.sentence.kind,
        rank=candidate.rank,
        heading=candidate.heading,
        cosine=candidate.cosine,
        joined=candidate.first != candidate.index,
    )


def _headings(sentences: list[Sentence], chunk_heading: str) -> list[str]:
    """Each sentence's innermost heading: the last heading line before it in the chunk, else the
    heading the chunk starts under."""
    current = chunk_heading
    out = []
    for sentence in sentences:
        if sentence.kind == "heading":
            current = sentence.text.lstrip("#").strip()
        out.append(current)
    return out


def _speaks_to(side: tuple[str, ...], terms: set[str]) -> bool:
    """A sentence speaks to a compared side when it holds its terms (two of them for a longer
    side): "a chart" alone does not speak to "run chart"."""
    return len(set(side) & terms) >= min(len(side), 2)


def _antecedent(sentences: list[Sentence], index: int) -> int | None:
    """Index of the first sentence to quote with sentence `index`: itself unless it refers back
    ("This...", "However..."), then the sentence(s) before it; None when that is not prose of the
    same passage (a heading, the chunk's start) or the quote would grow too long."""
    first = index
    for _ in range(ANTECEDENT_STEPS):
        if not is_dangling(sentences[first].text):
            return first
        before = first - 1
        if before < 0 or sentences[before].kind not in _ANTECEDENT_KINDS:
            return None
        first = before
        span = sum(s.n_words for s in sentences[first : index + 1])
        if span > EXCERPT_MAX_WORDS:
            return None
    return None if is_dangling(sentences[first].text) else first


def _near_duplicate(a: _Candidate, b: _Candidate) -> bool:
    if a.passage.chunk.doc_id == b.passage.chunk.doc_id:
        a0, a1 = a.passage.chunk.start + a.start, a.passage.chunk.start + a.sentence.end
        b0, b1 = b.passage.chunk.start + b.start, b.passage.chunk.start + b.sentence.end
        if a0 < b1 and b0 < a1:  # one quotes the other (a sentence and it with its antecedent)
            return True
    if a.vector is not None and b.vector is not None and float(a.vector @ b.vector) >= DUPLICATE_COSINE:
        return True
    union = a.terms | b.terms
    return bool(union) and len(a.terms & b.terms) / len(union) >= DUPLICATE_JACCARD


def _group(chosen: list[_Candidate]) -> list[list[_Candidate]]:
    """Chosen sentences of one passage share a citation while their span fits one excerpt."""
    by_chunk: dict[str, list[_Candidate]] = {}
    for candidate in chosen:
        by_chunk.setdefault(candidate.passage.chunk.id, []).append(candidate)
    groups: list[list[_Candidate]] = []
    for members in by_chunk.values():
        members.sort(key=lambda c: c.index)
        current = [members[0]]
        for candidate in members[1:]:
            text = candidate.passage.chunk.text
            span_words = count_words(text[current[0].start : candidate.sentence.end])
            if span_words <= EXCERPT_MAX_WORDS:
                current.append(candidate)
            else:
                groups.append(current)
                current = [candidate]
        groups.append(current)
    return groups
