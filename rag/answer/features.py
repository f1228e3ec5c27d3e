"""Features of a candidate sentence for the learned sentence score (rag/models/sentence.json).

One definition for the answerer and for training/fit_sentences.py, so the model is applied to
exactly the features it was fitted on. Every feature is a float; the names are the model's.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.answer.intent import asks_for_list, heading_kinds
from rag.answer.terms import coverage
from rag.types import QuestionIntent

FEATURES = (
    "cosine",  # question vs sentence embedding cosine
    "cosine_gap",  # cosine minus the best cosine among the candidates (how close to the best)
    "cosine_rank",  # its rank by cosine among the candidates, 0 (best) to 1 (worst)
    "coverage",  # share of the question's content terms in the sentence
    "coverage_gap",  # coverage minus the best coverage among the candidates
    "subject",  # share of them in the sentence's opening words (its subject)
    "passage_prior",  # 1 for the best passage, falling with rank
    "heading_match",  # the sentence's section heading holds the kind of answer asked for
    "heading_other",  # its heading holds another kind of answer ("What it is" for a how-to)
    "definition_off",  # shaped like a definition ("X is a...") when no definition was asked
    "definition_on",  # shaped like a definition when one was asked
    "number_on",  # holds a number when a number was asked
    "side_cover",  # comparison: share of one side's terms it holds (its best side)
    "advice",  # shaped like advice or a step ("should", "start by", "make sure")
    "log_words",  # log of its length in words
    "short",  # under SHORT_SENTENCE_WORDS words
    "list_asked",  # a quoted list when the question asks for an enumeration
    "is_list",  # a quoted list
    "joined",  # it opens with a reference back and is quoted with the sentence before
)
SHORT_SENTENCE_WORDS = 8  # shorter sentences match a question's topic while saying little about it
SUBJECT_WORDS = 6  # the opening words that count as the sentence's subject
PASSAGE_PRIOR_STEP = 0.1  # the prior falls by this much per rank of the passage (floor 0.5)

# "X is a / are the / refers to / means": the opening of a definition (within its first words).
_DEFINITION_SHAPE = re.compile(
    r"^(?:\S+\s+){0,8}?(?:is|are|was)\s+(?:a|an|the|one|any|when|how|what)\b|"
    r"^(?:\S+\s+){0,8}?(?:refers? to|means|is defined as|describes|is the name|is known as)\b",
    re.IGNORECASE,
)
_ADVICE_SHAPE = re.compile(
    r"\b(?:should|start (?:by|with)|begin (?:by|with)|make sure|ensure|aim to|try to|it helps to|set up|"
    r"agree|involve|ask|plan|test|use|avoid|keep|give|build|focus on|invest|need to|must|first|then|"
    r"before|after)\b",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"\d")


def passage_prior(rank: int) -> float:
    """1.0 for the best passage, PASSAGE_PRIOR_STEP less per rank, never below 0.5."""
    return max(0.5, 1.0 - PASSAGE_PRIOR_STEP * rank)


@dataclass(frozen=True)
class SentenceInput:
    """What the features are computed from (one candidate of one question)."""

    text: str  # the quoted text (with its antecedent when joined)
    terms: frozenset[str]  # content terms of the sentence
    opening_terms: frozenset[str]  # content terms of its first SUBJECT_WORDS words
    n_words: int
    kind: str  # sentence kind (prose, bullet, list...)
    rank: int  # its passage's rank
    heading: str  # its innermost section heading ("" when none)
    cosine: float
    joined: bool


def pool_features(
    items: Sequence[SentenceInput], question: str, question_terms: set[str], intent: QuestionIntent
) -> list[dict[str, float]]:
    """The named features of each candidate of one question (some are relative to the others)."""
    asked = set(intent.kinds) - {"general"}
    enumeration = asks_for_list(question)
    coverages = [coverage(question_terms, set(item.terms)) for item in items]
    best_cosine = max((item.cosine for item in items), default=0.0)
    best_coverage = max(coverages, default=0.0)
    order = sorted(range(len(items)), key=lambda i: -items[i].cosine)
    cosine_rank = {i: r / max(1, len(items) - 1) for r, i in enumerate(order)}
    out = []
    for i, item in enumerate(items):
        held = heading_kinds(item.heading)
        definition = bool(_DEFINITION_SHAPE.match(item.text))
        side = max((coverage(set(s), set(item.terms)) for s in intent.sides), default=0.0)
        out.append(
            {
                "cosine": item.cosine,
                "cosine_gap": item.cosine - best_cosine,
                "cosine_rank": cosine_rank[i],
                "coverage": coverages[i],
                "coverage_gap": coverages[i] - best_coverage,
                "subject": coverage(question_terms, set(item.opening_terms)),
                "passage_prior": passage_prior(item.rank),
                "heading_match": float(bool(asked & held)),
                "heading_other": float(bool(asked) and bool(held) and not asked & held),
                "definition_off": float(definition and "definition" not in asked),
                "definition_on": float(definition and "definition" in asked),
                "number_on": float("number" in asked and bool(_NUMBER.search(item.text))),
                "side_cover": side,
                "advice": float(bool(_ADVICE_SHAPE.search(item.text))),
                "log_words": math.log(max(1, item.n_words)),
                "short": float(item.n_words < SHORT_SENTENCE_WORDS),
                "list_asked": float(item.kind == "list" and enumeration),
                "is_list": float(item.kind == "list"),
                "joined": float(item.joined),
            }
        )
    return out
