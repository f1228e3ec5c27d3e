"""Evaluation metrics: ranking metrics over gold documents, citation checks, ROUGE-L, abstention.

Rankings are lists of distinct document ids, best first. Relevance is binary: a document is
relevant when it is one of the question's gold documents.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

RANK_DEPTH = 10  # documents ranked per question: hit@10 and nDCG@10 need ten
_MARKER = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")
_SPACE = re.compile(r"\s+")
_DECISION = re.compile(r"\b(yes|no|maybe)\b", re.IGNORECASE)


@dataclass(frozen=True)
class CitationCheck:
    """One citation of an answer with what the evaluation found about it."""

    n: int
    doc_id: str
    source: str
    title: str
    excerpt: str
    start: int
    end: int
    score: float
    verified: bool
    gold: bool  # the excerpt comes from a gold document
    verbatim: bool  # the excerpt is an exact substring of its document's stored text
    span_exact: bool  # document_text[start:end] == excerpt


@dataclass(frozen=True)
class QuestionResult:
    """Everything measured for one question; one row of report.json."""

    id: str
    question: str
    tags: tuple[str, ...]
    answerable: bool
    style: str | None = None
    standalone_question: str = ""
    answer: str = ""
    abstained: bool = True
    backend: str = ""
    gold_doc_ids: tuple[str, ...] = ()
    missing_gold: tuple[str, ...] = ()
    gold_phrases: tuple[str, ...] = ()
    ranking: tuple[str, ...] = ()  # distinct document ids, best first
    passage_docs: tuple[str, ...] = ()  # document ids of the k passages handed to the answerer
    ranking_sources: tuple[str, ...] = ()
    citations: tuple[CitationCheck, ...] = ()
    reference_answer: str | None = None
    rouge_l_f1: float | None = None
    expected_decision: str | None = None
    decision: str | None = None
    latency_ms: float | None = None
    timings_ms: Mapping[str, float] = field(default_factory=dict)
    history_turns: int = 0
    notice: str | None = None
    error: str | None = None  # the engine refused the question; counted as an abstention

    @property
    def gold_rank(self) -> int | None:
        return first_relevant_rank(self.ranking, set(self.gold_doc_ids))

    @property
    def phrase_hit(self) -> bool | None:
        """Whether a gold phrase occurs in a cited excerpt (None when the question has no phrases)."""
        if not self.gold_phrases:
            return None
        return phrase_found([c.excerpt for c in self.citations], self.gold_phrases)

    @property
    def gold_in_passages(self) -> bool:
        """Whether a gold document is among the passages the answerer was given."""
        return bool(set(self.passage_docs) & set(self.gold_doc_ids))

    @property
    def gold_cited(self) -> bool:
        return any(c.gold for c in self.citations)


# -- ranking metrics ------------------------------------------------------------------------------


def first_relevant_rank(ranking: Sequence[str], gold: Collection[str]) -> int | None:
    """1-based rank of the first gold document in `ranking`, or None."""
    for rank, doc_id in enumerate(ranking, start=1):
        if doc_id in gold:
            return rank
    return None


def hit_at(ranking: Sequence[str], gold: Collection[str], k: int) -> float:
    """1.0 when a gold document is among the first `k`, else 0.0."""
    rank = first_relevant_rank(ranking[:k], gold)
    return 0.0 if rank is None else 1.0


def reciprocal_rank(ranking: Sequence[str], gold: Collection[str], depth: int = RANK_DEPTH) -> float:
    """1 / rank of the first gold document within `depth`, else 0 (MRR@depth when averaged)."""
    rank = first_relevant_rank(ranking[:depth], gold)
    return 0.0 if rank is None else 1.0 / rank


def ndcg_at(ranking: Sequence[str], gold: Collection[str], k: int) -> float:
    """Binary-relevance nDCG@k; the ideal ranking puts all gold documents (at most k) first."""
    if not gold:
        raise ValueError("nDCG needs at least one gold document")
    dcg = sum(1.0 / math.log2(i + 2) for i, doc_id in enumerate(ranking[:k]) if doc_id in gold)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(gold), k)))
    return dcg / ideal


def distinct(items: Iterable[str]) -> list[str]:
    """The items in first-seen order without repeats (a chunk ranking becomes a document ranking)."""
    return list(dict.fromkeys(items))


# -- text metrics ---------------------------------------------------------------------------------


def normalise(text: str) -> str:
    """Casefolded with runs of whitespace as single spaces (for phrase matching)."""
    return _SPACE.sub(" ", text).strip().casefold()


def phrase_found(excerpts: Sequence[str], phrases: Sequence[str]) -> bool:
    """Whether any phrase occurs in any excerpt, ignoring case and line breaks."""
    texts = [normalise(e) for e in excerpts]
    return any(normalise(p) in t for p in phrases for t in texts)


def strip_markers(text: str) -> str:
    """The answer without its `[n]` citation markers."""
    return _MARKER.sub("", text).strip()


@lru_cache(maxsize=1)
def _rouge_scorer():
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)


def rouge_l_f1(prediction: str, reference: str) -> float:
    """ROUGE-L F1 (rouge-score, Porter stemming) of the answer without markers against the reference."""
    return float(_rouge_scorer().score(reference, strip_markers(prediction))["rougeL"].fmeasure)


def decision_of(answer: str) -> str | None:
    """The yes/no/maybe verdict a generated answer opens with (first one in its first sentence)."""
    first = re.split(r"(?<=[.!?])\s", strip_markers(answer), maxsplit=1)[0]
    match = _DECISION.search(first)
    return match.group(1).lower() if match else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (linear interpolation), None for no values."""
    return float(np.percentile(np.asarray(values, dtype=float), q)) if values else None


# -- aggregation ----------------------------------------------------------------------------------


def _mean(values: Iterable[float]) -> float | None:
    vals = list(values)
    return float(sum(vals) / len(vals)) if vals else None


def _share(flags: Iterable[bool]) -> float | None:
    return _mean(1.0 if f else 0.0 for f in flags)


def retrieval_metrics(results: Sequence[QuestionResult]) -> dict[str, Any]:
    """hit@1/5/10, MRR@10 and nDCG@10 over answerable questions whose gold sources are in the index."""
    scored = [r for r in results if r.answerable and r.gold_doc_ids]
    out: dict[str, Any] = {"n": len(scored)}
    for k in (1, 5, 10):
        out[f"hit@{k}"] = _mean(hit_at(r.ranking, r.gold_doc_ids, k) for r in scored)
    out["mrr"] = _mean(reciprocal_rank(r.ranking, r.gold_doc_ids) for r in scored)
    out["ndcg@10"] = _mean(ndcg_at(r.ranking, r.gold_doc_ids, 10) for r in scored)
    out["passage_hit"] = _share(r.gold_in_passages for r in scored)
    return out


def citation_metrics(results: Sequence[QuestionResult]) -> dict[str, Any]:
    """precision, recall, phrase_hit over answerable questions; verbatim over every citation."""
    answerable = [r for r in results if r.answerable and r.gold_doc_ids]
    cited = [c for r in answerable for c in r.citations]
    every = [c for r in results for c in r.citations]
    with_phrases = [r for r in answerable if r.gold_phrases]
    return {
        "n_citations": len(every),
        "precision": _share(c.gold for c in cited),
        "recall": _share(r.gold_cited for r in answerable),
        "phrase_hit": _share(bool(r.phrase_hit) for r in with_phrases),
        "verbatim": _share(c.verbatim for c in every),
        "span_exact": _share(c.span_exact for c in every),
    }


def answer_metrics(results: Sequence[QuestionResult], generative: bool) -> dict[str, Any]:
    """ROUGE-L F1 against reference answers; yes/no/maybe accuracy with a generative backend."""
    rouge = [r.rouge_l_f1 for r in results if r.rouge_l_f1 is not None]
    decided = [r for r in results if r.expected_decision]
    out: dict[str, Any] = {
        "n_reference": len(rouge),
        "rougeL_f1": _mean(rouge),
        "yes_no_maybe_accuracy": None,
    }
    if decided and generative:
        out["yes_no_maybe_accuracy"] = _share(r.decision == r.expected_decision for r in decided)
    elif decided:
        out["yes_no_maybe_note"] = (
            "not applicable: the extractive backend quotes passages and gives no yes/no/maybe verdict"
        )
    return out


def abstention_metrics(results: Sequence[QuestionResult]) -> dict[str, Any]:
    """precision/recall of abstaining on out-of-scope questions, and the false-abstention rate."""
    abstained = [r for r in results if r.abstained]
    out_of_scope = [r for r in results if not r.answerable]
    answerable = [r for r in results if r.answerable]
    false_abstentions = [r for r in answerable if r.abstained]
    false_answers = [r for r in out_of_scope if not r.abstained]
    return {
        "n_abstained": len(abstained),
        "n_out_of_scope": len(out_of_scope),
        "precision": _share(not r.answerable for r in abstained),
        "recall": _share(r.abstained for r in out_of_scope),
        "false_abstentions": _share(r.abstained for r in answerable),
        "false_answers": _share(not r.abstained for r in out_of_scope),
        "n_false_abstentions": len(false_abstentions),
        "n_false_answers": len(false_answers),
    }


def latency_metrics(results: Sequence[QuestionResult]) -> dict[str, Any]:
    values = [r.latency_ms for r in results if r.latency_ms is not None]
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "mean": _mean(values),
        "max": max(values) if values else None,
    }


def aggregate(results: Sequence[QuestionResult], *, generative: bool) -> dict[str, Any]:
    """All the headline sections of report.json for these results."""
    return {
        "n_questions": len(results),
        "n_answerable": sum(r.answerable for r in results),
        "n_errors": sum(r.error is not None for r in results),
        "retrieval": retrieval_metrics(results),
        "citations": citation_metrics(results),
        "answer": answer_metrics(results, generative),
        "abstention": abstention_metrics(results),
        "latency_ms": latency_metrics(results),
    }


# The compact figures shown per tag: (name, how to read it from an aggregate).
TAG_FIGURES: tuple[tuple[str, Callable[[dict[str, Any]], Any]], ...] = (
    ("n", lambda a: a["n_questions"]),
    ("hit@1", lambda a: a["retrieval"]["hit@1"]),
    ("hit@5", lambda a: a["retrieval"]["hit@5"]),
    ("mrr", lambda a: a["retrieval"]["mrr"]),
    ("ndcg@10", lambda a: a["retrieval"]["ndcg@10"]),
    ("citation_precision", lambda a: a["citations"]["precision"]),
    ("citation_recall", lambda a: a["citations"]["recall"]),
    ("phrase_hit", lambda a: a["citations"]["phrase_hit"]),
    ("rougeL_f1", lambda a: a["answer"]["rougeL_f1"]),
    ("latency_p50", lambda a: a["latency_ms"]["p50"]),
)


# Per question style (evals/README.md): what a manager sees of each kind of question.
STYLE_FIGURES: tuple[tuple[str, Callable[[dict[str, Any]], Any]], ...] = (
    ("n_answerable", lambda a: a["n_answerable"]),
    ("n_out_of_scope", lambda a: a["abstention"]["n_out_of_scope"]),
    ("gold_retrieved", lambda a: a["retrieval"]["passage_hit"]),
    ("gold_cited", lambda a: a["citations"]["recall"]),
    ("phrase_hit", lambda a: a["citations"]["phrase_hit"]),
    ("false_abstentions", lambda a: a["abstention"]["false_abstentions"]),
    ("out_of_scope_declined", lambda a: a["abstention"]["recall"]),
)


def per_style(results: Sequence[QuestionResult], *, generative: bool) -> dict[str, dict[str, Any]]:
    """The figures of STYLE_FIGURES for each question style present, plus "all"."""
    styles = sorted({r.style for r in results if r.style})
    out: dict[str, dict[str, Any]] = {}
    for style in [*styles, "all"] if styles else []:
        subset = results if style == "all" else [r for r in results if r.style == style]
        agg = aggregate(subset, generative=generative)
        out[style] = {name: read(agg) for name, read in STYLE_FIGURES}
    return out


def per_tag(results: Sequence[QuestionResult], *, generative: bool) -> dict[str, dict[str, Any]]:
    """Compact figures for each tag, plus `abstention_correct`: share of right answer/abstain calls."""
    tags = sorted({t for r in results for t in r.tags})
    out: dict[str, dict[str, Any]] = {}
    for tag in tags:
        subset = [r for r in results if tag in r.tags]
        agg = aggregate(subset, generative=generative)
        figures = {name: read(agg) for name, read in TAG_FIGURES}
        figures["abstention_correct"] = _share(r.abstained != r.answerable for r in subset)
        out[tag] = figures
    return out
