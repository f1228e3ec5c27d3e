"""Abstention: measure how well the retrieved passages can answer, and say so plainly when not.

The evidence score mixes two signals that fail differently: the cosine similarity of the
question with its best-matching sentence (semantic closeness; fooled by same-domain questions
the library does not answer) and the share of the question's content terms the best sentences
contain (fooled by common words). The weights and `settings.answer.abstain_threshold` were
calibrated on evals/questions/dev.jsonl with benchmarks/calibrate_abstention.py.
"""

from __future__ import annotations

from dataclasses import dataclass

# Weights of the evidence score (sum 1), chosen with benchmarks/calibrate_abstention.py.
COSINE_WEIGHT = 0.7
COVERAGE_WEIGHT = 0.3

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
    score: float  # the combination compared with the threshold


def evidence_score(best_cosine: float, coverage: float) -> Evidence:
    """Combine the two signals into one evidence score in [0, 1] (cosines below 0 count as 0)."""
    cosine = max(0.0, float(best_cosine))
    return Evidence(cosine, float(coverage), COSINE_WEIGHT * cosine + COVERAGE_WEIGHT * float(coverage))


def should_abstain(evidence: Evidence, threshold: float) -> bool:
    """Whether the evidence is too weak to answer."""
    return evidence.score < threshold
