"""The runner end to end on a tiny real index (three starter briefs) and on three PubMedQA records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.config import Settings
from rag.errors import IndexNotFoundError
from rag.evals.report import LATENCY_PLOT, REPORT_JSON, REPORT_MD, TAG_PLOT, write_report
from rag.evals.runner import RunOptions, prepared_engine, run_evaluation

REPO = Path(__file__).resolve().parents[2]
BRIEFS = tuple(REPO / "corpus" / name for name in ("run-charts.md", "adkar.md", "psirf.md"))
DATASET = REPO.parent / "shared" / "datasets" / "pubmedqa-pqal-dev"

QUESTIONS = [
    {
        "id": "shift",
        "question": "How many consecutive points above the median make a shift on a run chart?",
        "gold_sources": ["run-charts.md"],
        "gold_phrases": ["six or more consecutive points"],
        "reference_answer": "Six or more consecutive points all above or all below the median.",
        "tags": ["measurement", "factual"],
    },
    {
        "id": "adkar-follow-up",
        "question": "What are the pitfalls?",
        "history": [{"question": "What is the ADKAR model of individual change?"}],
        "gold_sources": ["adkar"],
        "gold_phrases": ["commonest mistake"],
        "tags": ["leading-change", "follow-up"],
    },
    {
        "id": "dose",
        "question": "What is the maximum daily dose of paracetamol for an adult?",
        "answerable": False,
        "tags": ["out-of-scope"],
    },
]


@pytest.fixture(scope="module")
def run(tmp_path_factory, embedder):
    """One evaluation run over a temporary index of three briefs, written to a folder."""
    tmp = tmp_path_factory.mktemp("eval")
    questions = tmp / "tiny.jsonl"
    questions.write_text("\n".join(json.dumps(q) for q in QUESTIONS) + "\n", encoding="utf-8")
    settings = Settings().with_index_dir(tmp / "unused-index")
    options = RunOptions(questions=questions, docs=BRIEFS, progress=False)
    report = run_evaluation(settings, options, embedder=embedder)
    out = tmp / "run"
    written = write_report(report, out)
    return report, out, written


def test_report_json_has_every_section(run):
    report, out, _ = run
    on_disk = json.loads((out / REPORT_JSON).read_text(encoding="utf-8"))
    assert on_disk == report, "report.json should hold exactly the returned report"
    for key in ("n_questions", "retrieval", "citations", "answer", "abstention", "latency_ms", "per_tag"):
        assert key in report, f"report.json lacks {key}"
    for key in ("hit@1", "hit@5", "hit@10", "mrr", "ndcg@10"):
        assert key in report["retrieval"], f"retrieval lacks {key}"
    for key in ("precision", "recall", "phrase_hit", "verbatim"):
        assert key in report["citations"], f"citations lack {key}"
    for key in ("rougeL_f1", "yes_no_maybe_accuracy"):
        assert key in report["answer"], f"answer lacks {key}"
    for key in ("precision", "recall", "false_abstentions"):
        assert key in report["abstention"], f"abstention lacks {key}"
    assert set(report["latency_ms"]) >= {"p50", "p95"}
    assert report["index_fingerprint"] == Settings().fingerprint(), (
        "the report must carry the index fingerprint"
    )
    cfg = report["config"]
    assert cfg["backend"] == "extractive" and cfg["retriever"] == "hybrid" and cfg["index"]["built"] is True
    assert "api_key" not in json.dumps(cfg["settings"]["llm"]), "secrets must never reach a report"
    assert report["n_questions"] == 3 and report["n_errors"] == 0, report["questions"]


def test_rows_carry_answers_citations_and_rankings(run):
    report, _, _ = run
    rows = {row["id"]: row for row in report["questions"]}
    assert set(rows) == {"shift", "adkar-follow-up", "dose"}
    shift = rows["shift"]
    assert shift["answer"], "the row should hold the answer text"
    assert shift["citations"], "an answered question should have citations"
    assert all(c["verbatim"] and c["span_exact"] for c in shift["citations"]), "excerpts must be verbatim"
    assert len(shift["ranking"]) == 3, "the ranking holds every distinct document of the tiny index"
    assert shift["gold_rank"] == 1, f"run-charts.md should rank first: {shift['ranking_sources']}"
    assert shift["rouge_l_f1"] is not None
    follow_up = rows["adkar-follow-up"]
    assert "adkar" in follow_up["standalone_question"].lower(), "the follow-up should carry the earlier topic"
    assert follow_up["history_turns"] == 1
    assert report["citations"]["verbatim"] == 1.0
    assert set(report["per_tag"]) == {"measurement", "factual", "leading-change", "follow-up", "out-of-scope"}


def test_report_md_and_plots_are_written(run):
    _, out, written = run
    names = {p.name for p in written}
    assert names == {REPORT_JSON, REPORT_MD, TAG_PLOT, LATENCY_PLOT}, names
    for plot in (TAG_PLOT, LATENCY_PLOT):
        assert (out / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{plot} is not a PNG"
    md = (out / REPORT_MD).read_text(encoding="utf-8")
    for text in (
        "## Headline figures",
        "retrieval hit@5",
        "## By tag",
        f"![{TAG_PLOT}]({TAG_PLOT})",
        "| shift |",
    ):
        assert text in md, f"report.md lacks {text!r}"


def test_an_absent_index_is_refused_and_not_created(tmp_path):
    settings = Settings().with_index_dir(tmp_path / "typo")
    options = RunOptions(questions=tmp_path / "q.jsonl", progress=False)
    with pytest.raises(IndexNotFoundError), prepared_engine(settings, options, []):
        pass
    assert not (tmp_path / "typo").exists(), "evaluating must not create an index"


def test_pubmedqa_run_builds_its_own_index(tmp_path, embedder):
    settings = Settings().with_index_dir(tmp_path / "unused")
    options = RunOptions(questions=DATASET, dataset="pubmedqa", limit=3, progress=False)
    report = run_evaluation(settings, options, embedder=embedder)
    assert report["n_questions"] == 3 and report["n_errors"] == 0
    assert report["config"]["index"]["added"] == 3, report["config"]["index"]
    assert not report["unresolved_gold_sources"], "each PubMed id should name its own document"
    assert report["retrieval"]["n"] == 3
    assert report["answer"]["yes_no_maybe_accuracy"] is None, "extractive answers give no verdict"
    assert "not applicable" in report["answer"]["yes_no_maybe_note"]
    assert report["answer"]["n_reference"] == 3, "every record has a LONG_ANSWER reference"
