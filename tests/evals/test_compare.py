"""`changeguide eval compare`: deltas between runs, flagged where B is worse."""

from __future__ import annotations

import copy
import json

import pytest

from rag.cli import main
from rag.evals.compare import compare_reports, format_comparison


def _report() -> dict:
    return {
        "index_fingerprint": "abc",
        "config": {"backend": "extractive", "retriever": "hybrid", "k": 5},
        "questions": [{"id": "q1"}, {"id": "q2"}],
        "retrieval": {"hit@1": 0.6, "hit@5": 0.9, "hit@10": 0.95, "mrr": 0.7, "ndcg@10": 0.75},
        "citations": {"precision": 0.8, "recall": 0.9, "phrase_hit": 0.7, "verbatim": 1.0},
        "answer": {"rougeL_f1": 0.2, "yes_no_maybe_accuracy": None},
        "abstention": {"precision": 0.9, "recall": 0.8, "false_abstentions": 0.05, "false_answers": 0.2},
        "latency_ms": {"p50": 100.0, "p95": 200.0},
        "per_tag": {
            "measurement": {
                "hit@5": 1.0,
                "citation_recall": 1.0,
                "phrase_hit": 1.0,
                "abstention_correct": 1.0,
            }
        },
    }


def test_regressions_are_flagged_in_the_right_direction():
    a = _report()
    b = copy.deepcopy(a)
    b["retrieval"]["hit@5"] = 0.8  # worse
    b["retrieval"]["mrr"] = 0.75  # better
    b["abstention"]["false_abstentions"] = 0.10  # lower is better: worse
    b["abstention"]["false_answers"] = 0.1  # better
    b["latency_ms"]["p50"] = 105.0  # within the latency tolerance
    b["latency_ms"]["p95"] = 300.0  # much slower
    b["per_tag"]["measurement"]["hit@5"] = 0.5  # worse
    deltas = {d.metric: d for d in compare_reports(a, b)}
    worse = {m for m, d in deltas.items() if d.worse}
    assert worse == {
        "retrieval.hit@5",
        "abstention.false_abstentions",
        "latency_ms.p95",
        "per_tag.measurement.hit@5",
    }, worse
    assert deltas["retrieval.hit@5"].delta == pytest.approx(-0.1)
    assert "answer.yes_no_maybe_accuracy" not in deltas, "figures absent from both runs are left out"
    text = format_comparison(a, b, list(deltas.values()))
    assert "4 figure(s) got worse" in text, text


def test_identical_runs_flag_nothing_but_notes_differences_in_setup():
    a = _report()
    b = copy.deepcopy(a)
    b["config"]["retriever"] = "bm25"
    b["index_fingerprint"] = "def"
    deltas = compare_reports(a, b)
    assert not any(d.worse for d in deltas)
    text = format_comparison(a, b, deltas)
    assert "retriever: hybrid -> bm25" in text and "fingerprints differ" in text, text


def test_cli_compare_prints_deltas_and_exits_zero(tmp_path, capsys):
    a, b = _report(), _report()
    b["citations"]["recall"] = 0.5
    for name, report in (("a", a), ("b", b)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "report.json").write_text(json.dumps(report), encoding="utf-8")
    assert main(["eval", "compare", str(tmp_path / "a"), str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    assert "citations.recall" in out and "WORSE" in out, out


def test_cli_usage_errors_exit_2(tmp_path, capsys):
    assert main(["eval", "compare", str(tmp_path)]) == 2, "compare needs two runs"
    assert main(["eval", "compare", str(tmp_path / "x"), str(tmp_path / "y")]) == 2, "missing runs"
    assert "no evaluation report" in capsys.readouterr().err
    assert main(["eval", "q.jsonl", "--index", "i", "--docs", "d"]) == 2, (
        "--index and --docs exclude each other"
    )
    assert main(["eval", "q.jsonl", "--dataset", "pubmedqa", "--docs", "d"]) == 2
    assert main(["eval", "q.jsonl", "--k", "0"]) == 2
