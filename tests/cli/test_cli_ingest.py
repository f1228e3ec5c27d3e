"""`changeguide ingest`, `docs list|remove` and `index stats`: output and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rag.cli import EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, main
from rag.config import Settings

REPO = Path(__file__).resolve().parents[2]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write_note(path: Path, title: str, sentence: str) -> Path:
    path.write_text(
        f"---\ntitle: {title}\nyear: 2024\n---\n# {title}\n\n" + (sentence + " ") * 40, encoding="utf-8"
    )
    return path


def test_ingest_list_stats_remove(capsys, tmp_path):
    index = str(tmp_path / "index")
    good = write_note(tmp_path / "good.md", "Huddles", "A short huddle starts each shift.")
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"not a pdf")

    code, out, _ = run(capsys, "ingest", str(good), str(bad), "--index", index)
    assert code == EXIT_PARTIAL, out
    assert out.splitlines()[0].startswith("added 1, updated 0, unchanged 0, skipped 0, failed 1"), out
    assert f"  FAILED: {bad}: not a PDF file" in out and f"  added: Huddles ({good})" in out, out

    code, out, _ = run(capsys, "ingest", str(tmp_path / "good.md"), "--index", index)
    assert code == EXIT_OK and out.startswith("added 0, updated 0, unchanged 1"), out

    code, out, _ = run(capsys, "docs", "list", "--json", "--index", index)
    docs = json.loads(out)
    assert code == EXIT_OK and [(d["title"], d["source"], d["meta"]["year"]) for d in docs] == [
        ("Huddles", str(good), 2024)
    ], docs
    code, out, _ = run(capsys, "docs", "list", "--index", index)
    assert code == EXIT_OK and docs[0]["doc_id"] in out and "Huddles" in out and "1 documents" in out, out

    code, out, _ = run(capsys, "index", "stats", "--json", "--index", index)
    stats = json.loads(out)
    assert code == EXIT_OK and stats["documents"] == 1 and stats["chunks"] == docs[0]["n_chunks"] >= 1, stats
    assert stats["fingerprint"] == Settings().fingerprint() and stats["size_bytes"] > 0, stats
    code, out, _ = run(capsys, "index", "stats", "--index", index)
    assert code == EXIT_OK and "fingerprint" in out and (" KB" in out or " MB" in out), out

    code, _, err = run(capsys, "docs", "remove", "no-such-doc", "--index", index)
    assert code == EXIT_USAGE and "no document with id or source 'no-such-doc'" in err, err
    code, out, _ = run(capsys, "docs", "remove", str(good), "--index", index)
    assert code == EXIT_OK and out.startswith(f"removed {docs[0]['doc_id']}: Huddles"), out
    code, out, _ = run(capsys, "docs", "list", "--json", "--index", index)
    assert json.loads(out) == [], "removed everywhere the registry can see"


def test_remove_by_id(capsys, tmp_path, embedder):
    from rag.index.store import Index
    from rag.ingest.pipeline import ingest_paths

    settings = Settings().with_index_dir(tmp_path / "index")
    path = write_note(tmp_path / "a.md", "Flow", "Discharge before noon frees beds.")
    with Index.open(settings) as index:
        doc_id = ingest_paths([path], index, embedder, settings).added[0][1]
    code, out, _ = run(capsys, "docs", "remove", doc_id, "--index", str(settings.index.dir))
    assert code == EXIT_OK and doc_id in out, out
    with Index.open(settings, create=False) as index:
        assert index.stats().documents == 0 and index.verify() == []


@pytest.mark.parametrize(
    "argv",
    [[], ["ingest"], ["docs"], ["index"], ["docs", "remove"], ["ingest", "--bogus", "x"]],
    ids=["no-command", "no-paths", "docs-no-action", "index-no-action", "remove-no-target", "bad-option"],
)
def test_usage_errors_exit_2(capsys, argv):
    code, _, err = run(capsys, *argv)
    assert code == EXIT_USAGE, f"{argv}: {code}"
    assert err, "argparse explains the usage on stderr"


def test_commands_on_a_missing_index_exit_2_and_create_nothing(capsys, tmp_path):
    index = tmp_path / "nowhere"
    for argv in (["docs", "list"], ["index", "stats"], ["docs", "remove", "x"]):
        code, _, err = run(capsys, *argv, "--index", str(index))
        assert code == EXIT_USAGE and "There is no index at" in err and "changeguide ingest" in err, (
            argv,
            err,
        )
    assert not index.exists(), "reading commands never create an index"


def test_fingerprint_mismatch_names_the_reindex_command(capsys, tmp_path, monkeypatch):
    index = str(tmp_path / "index")
    code, _, _ = run(capsys, "ingest", str(tmp_path / "empty-folder-does-not-exist"), "--index", index)
    assert code == EXIT_PARTIAL, "a missing path fails, but the index is created"
    monkeypatch.setenv("CHANGEGUIDE_CHUNKING__CHUNK_TOKENS", "200")
    code, _, err = run(capsys, "index", "stats", "--index", index)
    assert code == EXIT_USAGE and "changeguide ingest" in err and "chunk_tokens" in err, err


def test_python_m_rag_is_the_same_command(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    ok = subprocess.run(
        [sys.executable, "-m", "rag", "--help"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0 and all(c in ok.stdout for c in ("ingest", "docs", "index")), ok.stdout
    usage = subprocess.run(
        [sys.executable, "-m", "rag", "ingest"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert usage.returncode == EXIT_USAGE and "PATH" in usage.stderr, usage.stderr


def test_index_verify_says_ok_or_lists_the_problems(capsys, tmp_path, monkeypatch):
    index = str(tmp_path / "index")
    note = write_note(tmp_path / "note.md", "Huddles", "A short huddle starts each shift.")
    assert run(capsys, "ingest", str(note), "--index", index)[0] == EXIT_OK
    code, out, _ = run(capsys, "index", "verify", "--index", index)
    assert code == EXIT_OK and out.startswith("ok: 1 documents, "), out

    from rag.index.store import Index

    monkeypatch.setattr(Index, "verify", lambda self: ["Chroma has 1 vectors the registry lacks"])
    code, out, _ = run(capsys, "index", "verify", "--index", index)
    assert code == EXIT_PARTIAL and "PROBLEM: Chroma has 1 vectors the registry lacks" in out, out
    code, _, err = run(capsys, "index", "verify", "--index", str(tmp_path / "none"))
    assert code == EXIT_USAGE and "There is no index" in err, err


def test_index_status_reports_the_last_batch(capsys, tmp_path):
    index = str(tmp_path / "index")
    note = write_note(tmp_path / "note.md", "Huddles", "A short huddle starts each shift.")
    assert run(capsys, "ingest", str(note), "--index", index)[0] == EXIT_OK
    code, out, _ = run(capsys, "index", "status", "--index", index)
    assert (
        code == EXIT_OK
        and out.strip() == "No ingest is running; last: added 1, updated 0, unchanged 0, failed 0."
    ), out
    code, out, _ = run(capsys, "index", "status", "--json", "--index", index)
    data = json.loads(out)
    assert data["running"] is False and data["files_total"] == 1 and data["label"] == "changeguide ingest", (
        data
    )
