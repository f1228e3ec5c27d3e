"""Compare two evaluation runs: the delta of every headline figure, flagged where B is worse than A."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rag.evals.report import HEADLINE, fmt

LOWER_IS_BETTER = frozenset(
    {"abstention.false_abstentions", "abstention.false_answers", "latency_ms.p50", "latency_ms.p95"}
)
# Latency on shared machines moves by several percent between identical runs: only a larger
# slowdown is flagged. Quality figures are deterministic, so any drop counts.
LATENCY_TOLERANCE = 0.10
EPSILON = 1e-9
TAG_FIGURES = ("hit@5", "citation_recall", "phrase_hit", "abstention_correct")


@dataclass(frozen=True)
class Delta:
    """One figure in both runs; `worse` when B moved in the bad direction."""

    metric: str
    a: float | None
    b: float | None
    lower_is_better: bool = False

    @property
    def delta(self) -> float | None:
        return None if self.a is None or self.b is None else self.b - self.a

    @property
    def worse(self) -> bool:
        if self.delta is None:
            return self.a is not None  # a figure that disappeared counts as a regression
        if self.metric.startswith("latency_ms."):
            return self.a is not None and self.delta > LATENCY_TOLERANCE * abs(self.a)
        return self.delta > EPSILON if self.lower_is_better else self.delta < -EPSILON


def _figure(report: dict[str, Any], section: str, key: str) -> float | None:
    value = report.get(section, {}).get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def compare_reports(a: dict[str, Any], b: dict[str, Any]) -> list[Delta]:
    """Headline deltas, then per-tag deltas for tags present in both runs."""
    extra = (("abstention", "false_answers"),)
    keys = [(s, k) for s, k, _ in HEADLINE] + list(extra)
    deltas = [
        Delta(f"{s}.{k}", _figure(a, s, k), _figure(b, s, k), f"{s}.{k}" in LOWER_IS_BETTER) for s, k in keys
    ]
    tags_a, tags_b = a.get("per_tag", {}), b.get("per_tag", {})
    for tag in sorted(set(tags_a) & set(tags_b)):
        for figure in TAG_FIGURES:
            deltas.append(
                Delta(f"per_tag.{tag}.{figure}", _figure(tags_a, tag, figure), _figure(tags_b, tag, figure))
            )
    return [d for d in deltas if d.a is not None or d.b is not None]


def _context(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Warnings when the two runs are not like for like."""
    notes = []
    if a.get("index_fingerprint") != b.get("index_fingerprint"):
        notes.append(
            f"index fingerprints differ ({a.get('index_fingerprint')} vs {b.get('index_fingerprint')}): "
            "embedding or chunking settings changed"
        )
    qa = [q["id"] for q in a.get("questions", [])]
    qb = [q["id"] for q in b.get("questions", [])]
    if qa != qb:
        notes.append(f"the question sets differ ({len(qa)} vs {len(qb)} questions)")
    ca, cb = a.get("config", {}), b.get("config", {})
    for key in ("backend", "retriever", "k"):
        if ca.get(key) != cb.get(key):
            notes.append(f"{key}: {ca.get(key)} -> {cb.get(key)}")
    return notes


def format_comparison(
    a: dict[str, Any], b: dict[str, Any], deltas: Sequence[Delta], names: tuple[str, str] = ("A", "B")
) -> str:
    """A plain-text table of the deltas, with `WORSE` against each regression."""
    name_a, name_b = names
    lines = [f"A = {name_a}", f"B = {name_b}"]
    lines += [f"note: {n}" for n in _context(a, b)]
    width = max((len(d.metric) for d in deltas), default=10)
    lines.append(f"{'metric':<{width}}  {'A':>9}  {'B':>9}  {'B - A':>9}")
    for d in deltas:
        delta = "n/a" if d.delta is None else f"{d.delta:+.3f}" if abs(d.delta) < 10 else f"{d.delta:+.1f}"
        flag = "  WORSE" if d.worse else ""
        lines.append(f"{d.metric:<{width}}  {fmt(d.a):>9}  {fmt(d.b):>9}  {delta:>9}{flag}")
    worse = [d.metric for d in deltas if d.worse]
    lines.append(f"{len(worse)} figure(s) got worse" + (f": {', '.join(worse)}" if worse else ""))
    return "\n".join(lines)
