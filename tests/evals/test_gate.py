"""The evaluation regression gate: each gated question set must not fall below evals/thresholds.toml.

Two sets are gated, each against a fresh index built in a temporary folder with the extractive
backend and the hybrid retriever:
- `starter`: evals/questions/starter.jsonl against corpus/;
- `managers-test`: the held-out manager split (evals/questions/managers-test.jsonl, never tuned on)
  against corpus/ beside ../shared/docs (scanned pages need Tesseract: scripts/ensure_ocr.sh).
Every metric below its floor (or above its ceiling) is reported in one failure message. Latency is
deliberately not gated: speed is measured in benchmarks/, where the machine is quiet.
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
QUESTIONS = REPO / "evals" / "questions"
CORPUS = REPO / "corpus"
SHARED_DOCS = REPO.parent / "shared" / "docs"

# Gated set -> (question file, folders its index is built from, the command that reproduces it).
GATED = {
    "starter": (QUESTIONS / "starter.jsonl", (CORPUS,), "evals/questions/starter.jsonl --docs corpus"),
    "managers-test": (
        QUESTIONS / "managers-test.jsonl",
        (CORPUS, SHARED_DOCS),
        "evals/questions/managers-test.jsonl --docs corpus ../shared/docs",
    ),
}

pytestmark = [pytest.mark.eval, pytest.mark.slow]


def _figure(report: dict, dotted: str) -> float | None:
    section, key = dotted.split(".", 1)
    value = report[section][key]
    return None if value is None else float(value)


def _limits() -> dict:
    return tomllib.loads(THRESHOLDS.read_text(encoding="utf-8"))


def test_thresholds_file_is_well_formed():
    limits = _limits()
    assert set(limits) == set(GATED), f"thresholds.toml needs one table per gated set {sorted(GATED)}"
    for name, tables in limits.items():
        assert set(tables) == {"min", "max"}, f"[{name}] needs [min] and [max] tables, got {sorted(tables)}"
        for dotted, value in {**tables["min"], **tables["max"]}.items():
            assert not dotted.startswith("latency_ms."), "latency is not gated (see benchmarks/)"
            assert 0.0 <= value <= 1.0, f"{name}: {dotted} = {value} is not a rate"
        assert tables["min"].get("citations.verbatim") == 1.0, f"{name}: every excerpt must be verbatim"


@pytest.fixture(scope="module", params=sorted(GATED))
def gated_report(request, tmp_path_factory, embedder):
    name = request.param
    questions, docs, _ = GATED[name]
    if not all(d.is_dir() for d in docs):
        pytest.fail(f"{name}: the gate needs {', '.join(map(str, docs))}")
    settings = Settings().with_index_dir(tmp_path_factory.mktemp(f"gate-{name}") / "unused")
    options = RunOptions(
        questions=questions, docs=docs, backend="extractive", retriever="hybrid", progress=False
    )
    report = run_evaluation(settings, options, embedder=embedder)
    out = tmp_path_factory.mktemp(f"gate-report-{name}")
    write_report(report, out)  # report.md lists the questions that went wrong
    return name, report, out


def test_gated_set_meets_its_thresholds(gated_report):
    name, report, out = gated_report
    limits = _limits()[name]
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
        f"the {name} set regressed (evals/thresholds.toml [{name}]; run `changeguide eval "
        f"{GATED[name][2]}`; this run's report: {out}/report.md):\n  " + "\n  ".join(failures)
    )
