"""The default answerer: the most relevant sentences of the retrieved passages, quoted verbatim.

No language model: every sentence of the answer is a sentence of a document, followed by the
marker of the citation that quotes it. Steps: split passages into sentences and drop junk;
shortlist by a cheap lexical score; embed the question and the shortlist in one batch; score;
abstain if the evidence is weak; pick sentences greedily without near-duplicates; order them so
the most direct answer comes first; build one citation per excerpt.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

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
from rag.answer.sentences import Sentence, count_words, is_quotable, split_sentences
from rag.answer.terms import content_terms, coverage
from rag.config import AnswerSettings
from rag.index.embedding import Embedder
from rag.types import AnswerSentence, Citation, ScoredChunk

SHORTLIST_SIZE = 16  # sentences embedded per question (~100 ms on 2 idle cores); 12-30 answer alike
EVIDENCE_SENTENCES = 3  # coverage is measured on this many closest sentences together
# Sentence score = weighted cosine, question-term coverage, coverage by the sentence's opening
# words (a sentence whose subject is the question's topic answers it most directly) and the
# passage's rank. Set by reading answers to evals/questions/dev.jsonl, then checked with
# benchmarks/tune_answer.py --variants: moving any weight up or down changes gold-phrase recall
# and gold-source share by at most ~0.03 (72 in-scope questions: median 92 words, recall 0.62,
# 86% of quoted sentences from a gold source).
COSINE_WEIGHT = 0.55
COVERAGE_WEIGHT = 0.2
SUBJECT_WEIGHT = 0.1
PASSAGE_WEIGHT = 0.15
SUBJECT_WORDS = 6  # the opening words that count as the sentence's subject
SHORT_SENTENCE_WORDS = 8  # shorter sentences match a question's topic while saying little about it
SHORT_SENTENCE_PENALTY = 0.03
# A question asking for an enumeration ("What are Kotter's eight steps?") is best answered by a
# quoted list, which embeds less like the question than a sentence naming the topic does.
LIST_BONUS = 0.1
_ENUMERATION = re.compile(
    r"\b(?:two|three|four|five|six|seven|eight|nine|ten|\d+|steps|stages|phases|components|elements|"
    r"principles|rules|types|kinds|parts|factors|pillars|domains|dimensions|criteria|questions)\b",
    re.IGNORECASE,
)
PASSAGE_PRIOR_STEP = 0.1  # the prior falls by this much per rank of the passage (floor 0.5)
RELATIVE_FLOOR = 0.6  # never quote a sentence scoring below this share of the best one
EXTEND_FLOOR = 0.8  # past min_words, only sentences this close to the best are added
MAX_SENTENCES = 8
DUPLICATE_COSINE = 0.9  # two sentences this similar say the same thing
DUPLICATE_JACCARD = 0.7  # same for the share of content terms they have in common


@dataclass
class _Candidate:
    rank: int  # rank of the passage, 0 = best
    passage: ScoredChunk
    sentences: list[Sentence]  # every sentence of the passage, for excerpts
    index: int  # this sentence's index in `sentences`
    terms: set[str]
    lexical: float = 0.0
    subject: float = 0.0
    cosine: float = 0.0
    score: float = 0.0
    vector: np.ndarray | None = field(default=None, repr=False)

    @property
    def sentence(self) -> Sentence:
        return self.sentences[self.index]


def _passage_prior(rank: int) -> float:
    return max(0.5, 1.0 - PASSAGE_PRIOR_STEP * rank)


class ExtractiveGenerator:
    """Answers by quoting the sentences that best answer the question. Thread-safe, stateless.

    The engine passes its caching embedder, so the question's vector from retrieval and the
    vectors of sentences quoted before are not computed again.
    """

    name = "extractive"

    def __init__(self, embedder: Embedder, settings: AnswerSettings | None = None) -> None:
        self.embedder = embedder
        self.settings = settings or AnswerSettings()

    def generate(
        self, question: str, passages: Sequence[ScoredChunk], *, on_token: Callable[[str], None] | None = None
    ) -> Draft:
        candidates, evidence = self._score(question, passages)
        if evidence is None:
            draft = Draft(text=NO_PASSAGES_TEXT, sentences=(), citations=(), abstained=True)
        elif should_abstain(evidence, self.settings.abstain_threshold, passages):
            draft = Draft(text=ABSTENTION_TEXT, sentences=(), citations=(), abstained=True)
        else:
            draft = self._compose(self._select(candidates))
        if on_token is not None:
            on_token(draft.text)  # nothing to stream: the whole answer is ready at once
        return draft

    def assess(self, question: str, passages: Sequence[ScoredChunk]) -> Evidence | None:
        """The evidence the passages hold for the question (None if they hold no quotable sentence)."""
        return self._score(question, passages)[1]

    # -- scoring -------------------------------------------------------------------------------

    def _score(
        self, question: str, passages: Sequence[ScoredChunk]
    ) -> tuple[list[_Candidate], Evidence | None]:
        question_terms = set(content_terms(question))
        candidates = self._candidates(passages, question_terms)
        if not candidates:
            return [], None
        # Cheap lexical shortlist so only SHORTLIST_SIZE sentences go through the model.
        candidates.sort(key=lambda c: (-(c.lexical + 0.5 * _passage_prior(c.rank)), c.rank, c.index))
        shortlist = candidates[:SHORTLIST_SIZE]
        list_bonus = LIST_BONUS if _ENUMERATION.search(question) else 0.0
        vectors = self.embedder.embed_batch([question] + [c.sentence.text for c in shortlist])
        cosines = vectors[1:] @ vectors[0]
        for candidate, vector, cosine in zip(shortlist, vectors[1:], cosines, strict=True):
            candidate.vector = vector
            candidate.cosine = float(cosine)
            candidate.score = (
                COSINE_WEIGHT * candidate.cosine
                + COVERAGE_WEIGHT * candidate.lexical
                + SUBJECT_WEIGHT * candidate.subject
                + PASSAGE_WEIGHT * _passage_prior(candidate.rank)
                - (SHORT_SENTENCE_PENALTY if candidate.sentence.n_words < SHORT_SENTENCE_WORDS else 0.0)
                + (list_bonus if candidate.sentence.kind == "list" else 0.0)
            )
        shortlist.sort(key=lambda c: -c.score)
        closest = sorted(shortlist, key=lambda c: -c.cosine)[:EVIDENCE_SENTENCES]
        covered = coverage(question_terms, set().union(*(c.terms for c in closest)))
        return shortlist, evidence_score(closest[0].cosine, covered)

    @staticmethod
    def _candidates(passages: Sequence[ScoredChunk], question_terms: set[str]) -> list[_Candidate]:
        """Quotable sentences of all passages; a sentence seen in two overlapping chunks counts once."""
        seen: set[tuple[str, int]] = set()
        candidates = []
        for rank, passage in enumerate(passages):
            sentences = split_sentences(passage.chunk.text)
            for index, sentence in enumerate(sentences):
                key = (passage.chunk.doc_id, passage.chunk.start + sentence.start)
                if key in seen or not is_quotable(sentence):
                    continue
                seen.add(key)
                terms = set(content_terms(sentence.text))
                opening = set(content_terms(" ".join(sentence.text.split()[:SUBJECT_WORDS])))
                candidates.append(
                    _Candidate(
                        rank,
                        passage,
                        sentences,
                        index,
                        terms,
                        lexical=coverage(question_terms, terms),
                        subject=coverage(question_terms, opening),
                    )
                )
        return candidates

    # -- selection and composition ---------------------------------------------------------------

    def _select(self, ranked: list[_Candidate]) -> list[_Candidate]:
        """Best sentences first, near-duplicates skipped, until the answer is long enough."""
        best = ranked[0].score
        chosen: list[_Candidate] = []
        n_words = 0
        for candidate in ranked:
            if candidate.score < RELATIVE_FLOOR * best or len(chosen) >= MAX_SENTENCES:
                break
            if n_words >= self.settings.min_words and candidate.score < EXTEND_FLOOR * best:
                break
            words = candidate.sentence.n_words
            if chosen and n_words + words > self.settings.max_words:
                continue
            if any(_near_duplicate(candidate, other) for other in chosen):
                continue
            chosen.append(candidate)
            n_words += words
        return chosen

    def _compose(self, chosen: list[_Candidate]) -> Draft:
        # The most direct answer first, with the rest of its excerpt; then the other excerpts in
        # the order of their documents (best document first), which reads like a summary of them.
        lead = chosen[0]
        doc_order: dict[str, int] = {}
        for candidate in sorted(chosen, key=lambda c: c.rank):
            doc_order.setdefault(candidate.passage.chunk.doc_id, len(doc_order))

        def position(group: list[_Candidate]) -> tuple[bool, int, int]:
            first = group[0]
            offset = first.passage.chunk.start + first.sentence.start
            return (lead not in group, doc_order[first.passage.chunk.doc_id], offset)

        ordered: list[tuple[_Candidate, int]] = []
        citations: list[Citation] = []
        for group in sorted(_group(chosen), key=position):
            n = len(citations) + 1
            top = max(group, key=lambda c: c.score)
            first, last = group[0].index, group[-1].index
            excerpt = excerpt_bounds(top.passage.chunk.text, top.sentences, first, last)
            sentence = (top.sentence.start, top.sentence.end)
            citations.append(build_citation(n, top.passage, excerpt, sentence, top.score))
            members = sorted(group, key=lambda c: (c is not lead, c.index))
            ordered.extend((c, n) for c in members)
        answer_sentences = tuple(
            AnswerSentence(text=" ".join(c.sentence.text.split()), citations=(n,)) for c, n in ordered
        )
        text = " ".join(f"{s.text} [{s.citations[0]}]" for s in answer_sentences)
        return Draft(text=text, sentences=answer_sentences, citations=tuple(citations), abstained=False)


def _near_duplicate(a: _Candidate, b: _Candidate) -> bool:
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
            span_words = count_words(text[current[0].sentence.start : candidate.sentence.end])
            if span_words <= EXCERPT_MAX_WORDS:
                current.append(candidate)
            else:
                groups.append(current)
                current = [candidate]
        groups.append(current)
    return groups
