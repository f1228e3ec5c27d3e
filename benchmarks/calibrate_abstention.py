"""Calibrate the abstention threshold on the development questions.

    .venv/bin/python benchmarks/calibrate_abstention.py [--index /tmp/dev-index] [--weights]

Builds (or reuses) a dev index of corpus/, asks every question of evals/questions/dev.jsonl
through the engine (hybrid retrieval, second stage, extractive answerer), measures the evidence
of the passages handed to the answerer, and sweeps the threshold: the false-abstention rate
(in-scope questions refused) against the false-answer rate (out-of-scope questions answered),
overall and for near-domain and far out-of-scope questions. `--weights` also sweeps the share
of cosine versus term coverage in the evidence score. The threshold chosen minimises the sum of
the two error rates, the middle one when several tie.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rag.answer import abstain  # noqa: E402
from rag.config import Settings  # noqa: E402

THRESHOLDS = np.round(np.arange(0.20, 0.701, 0.025), 3)


@dataclass
class Case:
    qid: str
    question: str
    answerable: bool
    near: bool
    best_cosine: float
    coverage: float


def measure(index_dir: Path, questions: Path) -> list[Case]:
    """Evidence of every dev question's passages, from the real engine on a dev index of corpus/."""
    from rag.engine import ChangeGuide

    settings = Settings().with_index_dir(index_dir)
    engine = ChangeGuide(settings)
    report = engine.ingest([REPO / "corpus"])
    print(
        f"dev index {index_dir}: +{len(report.added)} added, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged, {len(report.failed)} failed"
    )
    extractive = engine.generator("extractive")
    cases = []
    for line in questions.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        answer = engine.ask(row["question"], backend="extractive")
        evidence = extractive.assess(row["question"], answer.retrieved)  # type: ignore[attr-defined]
        cosine, covered = (evidence.best_cosine, evidence.coverage) if evidence else (0.0, 0.0)
        cases.append(
            Case(row["id"], row["question"], row["answerable"], "near" in row["tags"], cosine, covered)
        )
    engine.close()
    return cases


def rates(cases: list[Case], scores: np.ndarray, threshold: float) -> tuple[float, float, float, float]:
    """False-abstention, false-answer, false-answer (near domain), false-answer (far) rates."""
    answered = scores >= threshold
    inside = np.array([c.answerable for c in cases])
    near = np.array([not c.answerable and c.near for c in cases])
    far = np.array([not c.answerable and not c.near for c in cases])
    return (
        float((~answered & inside).sum() / max(1, inside.sum())),
        float((answered & ~inside).sum() / max(1, (~inside).sum())),
        float((answered & near).sum() / max(1, near.sum())),
        float((answered & far).sum() / max(1, far.sum())),
    )


def scores_for(cases: list[Case], cosine_weight: float) -> np.ndarray:
    return np.array(
        [cosine_weight * max(0.0, c.best_cosine) + (1 - cosine_weight) * c.coverage for c in cases]
    )


def best_threshold(cases: list[Case], scores: np.ndarray) -> tuple[float, tuple[float, float, float, float]]:
    """The middle of the thresholds with the fewest errors (the widest margin on both sides)."""
    errors = [sum(rates(cases, scores, t)[:2]) for t in THRESHOLDS]
    ties = [t for t, e in zip(THRESHOLDS, errors, strict=True) if e == min(errors)]
    best = float(ties[len(ties) // 2])
    return best, rates(cases, scores, best)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--index", type=Path, default=Path("/tmp/changeguide-dev-index"), help="dev index folder"
    )
    parser.add_argument("--questions", type=Path, default=REPO / "evals/questions/dev.jsonl")
    parser.add_argument("--weights", action="store_true", help="also sweep the cosine/coverage weights")
    args = parser.parse_args()

    cases = measure(args.index, args.questions)
    n_in = sum(c.answerable for c in cases)
    print(f"{len(cases)} questions: {n_in} in scope, {len(cases) - n_in} out of scope\n")

    weight = abstain.COSINE_WEIGHT
    scores = scores_for(cases, weight)
    print(f"evidence = {weight:.2f} * best cosine + {1 - weight:.2f} * term coverage")
    print("threshold  false-abstain  false-answer  (near)  (far)")
    for t in THRESHOLDS:
        fa, fr, near, far = rates(cases, scores, t)
        print(f"   {t:5.3f}      {fa:6.1%}       {fr:6.1%}   {near:6.1%} {far:6.1%}")
    chosen, (fa, fr, near, far) = best_threshold(cases, scores)
    print(
        f"\nchosen threshold {chosen:.3f}: false abstention {fa:.1%}, false answer {fr:.1%} (near {near:.1%}, far {far:.1%})"
    )
    current = Settings().answer.abstain_threshold
    fa, fr, near, far = rates(cases, scores, current)
    print(f"configured threshold {current:.3f}: false abstention {fa:.1%}, false answer {fr:.1%}")

    inside = [s for c, s in zip(cases, scores, strict=True) if c.answerable]
    outside = [s for c, s in zip(cases, scores, strict=True) if not c.answerable]
    print(f"lowest in-scope evidence {min(inside):.3f}, highest out-of-scope {max(outside):.3f}")
    print("\nmistakes at the configured threshold:")
    for case, score in zip(cases, scores, strict=True):
        if (score >= current) != case.answerable:
            kind = "refused" if case.answerable else "answered"
            print(
                f"  {kind:8} {score:.3f} (cos {case.best_cosine:.3f}, cov {case.coverage:.2f}) {case.question}"
            )

    if args.weights:
        print("\ncosine weight  threshold  false-abstain  false-answer")
        for w in np.round(np.arange(0.4, 1.001, 0.1), 2):
            t, (fa, fr, _, _) = best_threshold(cases, scores_for(cases, w))
            print(f"     {w:4.2f}        {t:5.3f}      {fa:6.1%}       {fr:6.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
