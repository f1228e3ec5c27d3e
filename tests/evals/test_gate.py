"""The evaluation regression gate: the starter set must not fall below evals/thresholds.toml.

Builds an index of corpus/ in a temporary folder, runs evals/questions/starter.jsonl through the
runner (extractive backend, hybrid retriever) and reports every metric below its floor (or above
its ceiling) in one failure message. Latency is deliberately not gated: speed is measured in
benchmarks/, where the machine is quiet.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from rag.config import Settings
from rag.evals.report import write_report
from rag.evals.runner import RunOptions, run_evaluation

REPO = Path(__file__).resolve().parents[2]
THRESHOLDS = REPO / "evals" / "thresholds.toml"
STARTER = REPO / "evals" / "questions" / "starter.jsonl"
CORPUS = REPO / "corpus"

pytestmark = [pytest.mark.eval, pytest.mark.slow]


def _figure(report: dict, dotted: str) -> float | None:
    section, key = dotted.split(".", 1)
    value = report[section][key]
    return None if value is None else float(value)


def test_thresholds_file_is_well_formed():
    limits = tomllib.loads(THRESHOLDS.read_text(encoding="utf-8"))
    assert set(limits) == {"min", "max"}, (
        f"thresholds.toml needs [min] and [max] tables, got {sorted(limits)}"
    )
    for table in limits.values():
        for dotted, value in table.items():
            assert not dotted.startswith("latency_ms."), "latency is not gated (see benchmarks/)"
            assert 0.0 <= value <= 1.0, f"{dotted} = {value} is not a rate"


@pytest.fixture(scope="module")
def starter_report(tmp_path_factory, embedder):
    settings = Settings().with_index_dir(tmp_path_factory.mktemp("gate") / "unused")
    options = RunOptions(
        questions=STARTER, docs=(CORPUS,), backend="extractive", retriever="hybrid", progress=False
    )
    report = run_evaluation(settings, options, embedder=embedder)
    out = tmp_path_factory.mktemp("gate-report")
    write_report(report, out)  # report.md lists the questions that went wrong
    return report, out


def test_starter_set_meets_the_thresholds(starter_report):
    report, out = starter_report
    limits = tomllib.loads(THRESHOLDS.read_text(encoding="utf-8"))
    assert report["n_errors"] == 0, [q["error"] for q in report["questions"] if q["error"]]
    assert not report["unresolved_gold_sources"], report["unresolved_gold_sources"]
    failures = []
    for dotted, floor in limits["min"].items():
        value = _figure(report, dotted)
        if value is None or value < floor:
            failures.append(f"{dotted} = {value} is below its threshold {floor}")
    for dotted, ceiling in limits["max"].items():
        value = _figure(report, dotted)
        if value is None or value > ceiling:
            failures.append(f"{dotted} = {value} is above its threshold {ceiling}")
    assert not failures, (
        "the starter set regressed (evals/thresholds.toml; run `changeguide eval "
        f"evals/questions/starter.jsonl --docs corpus`; this run's report: {out}/report.md):\n  "
        + "\n  ".join(failures)
    )
