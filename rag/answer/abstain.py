"""Abstention: decide whether the retrieved passages answer the question, and say so plainly when not.

Two deciders:

- The learned one (default, whenever the neural reranker has read the passages): a logistic model
  over the cross-encoder's scores of the passages (best, margin over the second, mean of the top
  three), the first stage's scores of the best passage (feature-model probability, cosine, BM25
  over the library's scale: raw BM25 grows with the library, and a model fed it declined a
  one-document library's own questions),
  the answerer's sentence evidence (best sentence cosine, question-term coverage) and what the
  passages lack of the question (rag/answer/scope.py: its numbers and names, in any passage and in
  the one the cross-encoder rates best, a year later than the passages', the kind of answer it asks
  for, a question about the present). It gives
  p(the library answers this); below its threshold the answerer declines. Fitted and calibrated
  by training/fit_abstention.py on evals/questions/managers-dev.jsonl with grouped, seeded
  cross-validation; the model, its threshold and provenance are rag/models/abstain.json.
- The hand-weighted fallback (`hand_weighted_abstain`), used only when the neural stage is off:
  0.7 x best sentence cosine + 0.3 x coverage against `settings.answer.abstain_threshold`,
  calibrated on evals/questions/dev.jsonl with benchmarks/calibrate_abstention.py.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rag.answer.scope import ScopeSignals
from rag.errors import ConfigError
from rag.models.linear import LinearModel, load_model
from rag.types import ScoredChunk

# Weights of the hand-weighted evidence score (sum 1), chosen with benchmarks/calibrate_abstention.py.
COSINE_WEIGHT = 0.7
COVERAGE_WEIGHT = 0.3

ABSTAIN_MODEL_FILE = Path(__file__).resolve().parent.parent / "models" / "abstain.json"
ABSTAIN_MODEL_NAME = "abstain"
# The learned model's features, in order (training/fit_abstention.py writes them in this order).
FEATURES = (
    "ce_top",  # the cross-encoder's best logit among the passages
    "ce_margin",  # best minus second-best logit (one clear answer vs. many lukewarm ones)
    "ce_mean3",  # mean logit of the best three
    "feature_top",  # the feature reranker's probability for the best passage
    "cosine_top",  # question-passage cosine of the best passage
    "bm25_top",  # log(1 + BM25 over the library's scale) of the best passage (0 when BM25 missed it)
    "best_cosine",  # question vs its closest quotable sentence (the answerer's evidence)
    "coverage",  # share of question content terms in the closest sentences
    # What the passages lack of the question (rag/answer/scope.py): near-domain traps show here.
    "passage_coverage",  # share of question content terms anywhere in the passages
    "missing_specific",  # the question's numbers and proper names that no passage holds (capped)
    "best_missing",  # ... that the cross-encoder's best passage does not hold (capped)
    "year_after",  # the question names a year later than any the passages hold
    "type_missing",  # a quantity, a year or a person is asked for and no close sentence has one
    "asks_present",  # the question asks about now, the recent past or the future ("this year")
)

# How each feature may move p(the library answers this): more relevance never lowers it, more that
# the passages lack never raises it. The fit holds every weight to its direction (fit_logistic's
# `signs`); unconstrained, correlated relevance features take opposite signs that fit the dev
# questions (most of their out-of-scope ones near-domain traps) and do not carry over to unlike
# questions (training/README.md has the comparison).
DIRECTIONS = {
    "ce_top": 1,
    "ce_margin": 1,
    "ce_mean3": 1,
    "feature_top": 1,
    "cosine_top": 1,
    "bm25_top": 1,
    "best_cosine": 1,
    "coverage": 1,
    "passage_coverage": 1,
    "missing_specific": -1,
    "best_missing": -1,
    "year_after": -1,
    "type_missing": -1,
    "asks_present": -1,
}

ABSTENTION_TEXT = (
    "The library does not seem to cover this question: none of its passages answers it closely "
    "enough to quote. The nearest documents are listed below; try rephrasing, or add a document "
    "that covers it."
)
NO_PASSAGES_TEXT = "The library holds nothing that matches this question, so there is no answer to quote."


@dataclass(frozen=True)
class Evidence:
    """How strongly the retrieved passages answer a question."""

    best_cosine: float  # question vs its closest quotable sentence
    coverage: float  # share of question content terms found in the closest sentences
    score: float  # the hand-weighted combination (the fallback compares it with the threshold)
    scope: ScopeSignals = ScopeSignals()  # what the passages lack of the question (learned model only)


def evidence_score(best_cosine: float, coverage: float, scope: ScopeSignals | None = None) -> Evidence:
    """Combine the two signals into one evidence score in [0, 1] (cosines below 0 count as 0)."""
    cosine = max(0.0, float(best_cosine))
    score = COSINE_WEIGHT * cosine + COVERAGE_WEIGHT * float(coverage)
    return Evidence(cosine, float(coverage), score, scope or ScopeSignals())


def hand_weighted_abstain(evidence: Evidence, threshold: float) -> bool:
    """The fallback decider (neural stage off): whether the evidence score is below `threshold`."""
    return evidence.score < threshold


def abstention_features(evidence: Evidence, passages: Sequence[ScoredChunk]) -> dict[str, float] | None:
    """The learned model's features, or None when the cross-encoder read none of the passages."""
    read = sorted((p for p in passages if p.neural_score is not None), key=lambda p: -float(p.neural_score))
    if not read:
        return None
    logits = [float(p.neural_score) for p in read]  # type: ignore[arg-type]
    top = read[0]
    return {
        "ce_top": logits[0],
        "ce_margin": logits[0] - logits[1] if len(logits) > 1 else 0.0,
        "ce_mean3": sum(logits[:3]) / len(logits[:3]),
        "feature_top": float(top.rerank_score or 0.0),
        "cosine_top": float(top.dense_score or 0.0),
        "bm25_top": math.log1p(max(0.0, float(top.keyword_score or 0.0))),
        "best_cosine": evidence.best_cosine,
        "coverage": evidence.coverage,
        "passage_coverage": evidence.scope.passage_coverage,
        "missing_specific": evidence.scope.missing_specific,
        "best_missing": evidence.scope.best_missing,
        "year_after": evidence.scope.year_after,
        "type_missing": evidence.scope.type_missing,
        "asks_present": evidence.scope.asks_present,
    }


# The support floor: a question whose passages are less like it than those of every answerable
# dev question on both of these counts lies outside what the model was fitted on, and is declined
# whatever the cross-encoder says (it can give a high logit to a how-to passage for "how do I make
# a risotto?" in a library of two briefs). The floors are those minima, computed by
# training/fit_abstention.py and stored beside the model ("support_floors").
SUPPORT_FEATURES = ("best_cosine", "passage_coverage")


def outside_support(features: dict[str, float], floors: dict[str, float]) -> bool:
    """Whether every support feature is below its floor (False without floors)."""
    return bool(floors) and all(features[f] < floors[f] for f in floors)


@lru_cache(maxsize=2)
def support_floors(path: Path = ABSTAIN_MODEL_FILE) -> dict[str, float]:
    """The shipped support floors ({} when the file has none)."""
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))[ABSTAIN_MODEL_NAME]
    except (OSError, KeyError, ValueError) as exc:
        raise ConfigError(
            f"Cannot read {path}: {exc}. Refit it with the command in training/README.md."
        ) from exc
    floors = entry.get("support_floors") or {}
    unknown = set(floors) - set(SUPPORT_FEATURES)
    if unknown:
        raise ConfigError(
            f"{path}: unknown support features {sorted(unknown)}; refit it (training/README.md)."
        )
    return {f: float(v) for f, v in floors.items()}


@lru_cache(maxsize=2)
def learned_model(path: Path = ABSTAIN_MODEL_FILE) -> LinearModel:
    """The shipped abstention model (cached).

    Raises:
        ConfigError: the file is missing or malformed (the message names the refit command).
    """
    return load_model(path, ABSTAIN_MODEL_NAME)


def answer_probability(evidence: Evidence, passages: Sequence[ScoredChunk]) -> float | None:
    """The learned model's p(the passages answer the question): 0.0 for a question outside the
    support floors (`outside_support`), None without cross-encoder scores."""
    features = abstention_features(evidence, passages)
    if features is None:
        return None
    if outside_support(features, support_floors()):
        return 0.0
    return learned_model().score(features)


def should_abstain(evidence: Evidence, threshold: float, passages: Sequence[ScoredChunk] = ()) -> bool:
    """Whether to decline: the learned model when the cross-encoder read the passages, else the
    hand-weighted fallback with `threshold`."""
    p = answer_probability(evidence, passages)
    if p is None:
        return hand_weighted_abstain(evidence, threshold)
    model = learned_model()
    return p < (model.threshold if model.threshold is not None else 0.5)
