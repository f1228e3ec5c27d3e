"""`changeguide ask`: exit codes, JSON output, readable output and filters."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rag.cli import main

REPO = Path(__file__).resolve().parents[2]
BRIEFS = ("run-charts.md", "funnel-plots.md")
# A user document whose key sources carry a DOI and a URL (and one plain citation).
HUDDLES = """---
title: "Ward safety huddles"
key_sources:
  - citation: "Goldenhar LM et al. 2013. Huddling for high reliability and situation awareness. BMJ Qual Saf 22(11)."
    doi: "10.1136/bmjqs-2012-001731"
  - citation: "NHS England. 2019. The NHS Patient Safety Strategy."
    url: "https://www.england.nhs.uk/patient-safety/the-nhs-patient-safety-strategy/"
  - "A plain citation without a link. 2020."
---
# Ward safety huddles

A ward safety huddle is a short standing meeting, held at the same time every day, where the ward team
names the patients at risk of deterioration or falls and agrees who will act on each concern.
Huddles usually take ten to fifteen minutes and are led by the nurse in charge of the shift.
"""


@pytest.fixture(scope="module")
def cli_index(tmp_path_factory, embedder) -> Path:
    """A real index of two starter briefs, built once and closed before the CLI opens it."""
    from rag.config import Settings
    from rag.engine import ChangeGuide

    docs = tmp_path_factory.mktemp("ask-docs")
    for name in BRIEFS:
        shutil.copy(REPO / "corpus" / name, docs / name)
    (docs / "ward-huddles.md").write_text(HUDDLES, encoding="utf-8")
    index_dir = tmp_path_factory.mktemp("ask-index") / "index"
    engine = ChangeGuide(Settings().with_index_dir(index_dir), embedder=embedder)
    try:
        report = engine.ingest([docs])
    finally:
        engine.close()
    assert report.ok and len(report.added) == len(BRIEFS) + 1, f"index build failed: {report}"
    return index_dir


@pytest.fixture()
def loaded_model(monkeypatch, embedder):
    """Let the command reuse the session's model instead of loading its own (~5 s each)."""
    monkeypatch.setattr("rag.index.embedding.make_embedder", lambda *args, **kwargs: embedder)


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["ask", *argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err, f"a traceback reached the user: {err}"
    return code, out, err


@pytest.mark.parametrize(
    ("question", "message"),
    [("", "empty"), ("   ", "empty"), ("x" * 2001, "limit is 2,000")],
)
def test_bad_questions_exit_2_with_a_clear_message(capsys, tmp_path, question, message):
    code, out, err = _run(capsys, question, "--index", str(tmp_path / "index"))
    assert code == 2 and message in err and not out, (code, out, err)


def test_a_missing_index_exits_2(capsys, tmp_path):
    code, _, err = _run(capsys, "What is a run chart?", "--index", str(tmp_path / "nowhere"))
    assert code == 2 and "no index" in err and "changeguide ingest" in err, err


def test_an_empty_library_exits_2(capsys, tmp_path, loaded_model):
    empty = tmp_path / "index"
    empty.mkdir()
    code, _, err = _run(capsys, "What is a run chart?", "--index", str(empty))
    assert code == 2 and "library is empty" in err, err


def test_json_output_is_one_object_with_the_documented_keys(capsys, cli_index, loaded_model):
    code, out, _ = _run(capsys, "What is a run chart?", "--index", str(cli_index), "--json")
    assert code == 0
    data = json.loads(out)
    assert set(data) == {
        "question",
        "standalone_question",
        "answer",
        "abstained",
        "backend",
        "citations",
        "retrieved",
        "timings_ms",
        "index_fingerprint",
        "reranker_fingerprint",
        "sentences",
    }, sorted(data)
    assert data["backend"] == "extractive" and not data["abstained"] and data["citations"], data["answer"]
    assert data["citations"][0]["source"].endswith("run-charts.md"), data["citations"][0]


def test_readable_output_lists_numbered_sources(capsys, cli_index, loaded_model):
    code, out, _ = _run(capsys, "What is a run chart?", "--index", str(cli_index))
    assert code == 0
    assert "[1]" in out and "Sources:" in out and "Run charts and the rules for reading them" in out, out
    assert "run-charts.md" in out, "each source shows the path it was ingested from"


def test_readable_output_lists_the_key_sources_of_cited_documents_with_links(capsys, cli_index, loaded_model):
    code, out, _ = _run(capsys, "What is a ward safety huddle?", "--index", str(cli_index))
    assert code == 0 and "Key sources of the cited documents:" in out, out
    listing = out.split("Key sources of the cited documents:", 1)[1]
    assert "Ward safety huddles" in listing and "Goldenhar LM et al. 2013" in listing, listing
    assert "https://doi.org/10.1136/bmjqs-2012-001731" in listing, "a DOI is shown as its resolver link"
    assert "https://www.england.nhs.uk/patient-safety/the-nhs-patient-safety-strategy/" in listing
    assert "A plain citation without a link. 2020." in listing, "plain citations are listed too"


def test_json_citations_carry_their_documents_key_sources(capsys, cli_index, loaded_model):
    code, out, _ = _run(capsys, "What is a ward safety huddle?", "--index", str(cli_index), "--json")
    assert code == 0
    cited = [c for c in json.loads(out)["citations"] if c["source"].endswith("ward-huddles.md")]
    assert cited, "the huddles document is cited"
    assert cited[0]["key_sources"] == [
        {
            "citation": "Goldenhar LM et al. 2013. Huddling for high reliability and situation awareness. "
            "BMJ Qual Saf 22(11).",
            "doi": "10.1136/bmjqs-2012-001731",
            "url": "https://doi.org/10.1136/bmjqs-2012-001731",
        },
        {
            "citation": "NHS England. 2019. The NHS Patient Safety Strategy.",
            "doi": None,
            "url": "https://www.england.nhs.uk/patient-safety/the-nhs-patient-safety-strategy/",
        },
        {"citation": "A plain citation without a link. 2020.", "doi": None, "url": None},
    ]


def test_out_of_scope_question_lists_nearest_documents(capsys, cli_index, loaded_model):
    code, out, _ = _run(capsys, "How do I make a creamy mushroom risotto?", "--index", str(cli_index))
    assert code == 0 and "does not seem to cover" in out and "Nearest documents:" in out, out


def test_doc_filter_by_file_name_and_k(capsys, cli_index, loaded_model):
    code, out, _ = _run(
        capsys,
        "How do I compare providers?",
        "--index",
        str(cli_index),
        "--doc",
        "run-charts.md",
        "--k",
        "2",
        "--json",
    )
    assert code == 0
    retrieved = json.loads(out)["retrieved"]
    assert 1 <= len(retrieved) <= 2, retrieved
    assert all(r["source"].endswith("run-charts.md") for r in retrieved), retrieved


@pytest.mark.parametrize(
    ("extra", "message"), [(["--doc", "no-such.md"], "No document matches"), (["--k", "0"], "--k")]
)
def test_bad_filters_exit_2(capsys, cli_index, loaded_model, extra, message):
    code, _, err = _run(capsys, "What is a run chart?", "--index", str(cli_index), *extra)
    assert code == 2 and message in err, err


def test_the_real_command_exits_2_without_a_traceback(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "rag", "ask", "", "--index", str(tmp_path / "index")],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert done.returncode == 2 and "empty" in done.stderr and "Traceback" not in done.stderr, done.stderr
