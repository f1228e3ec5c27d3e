"""The real thing: `changeguide ingest` killed with SIGKILL mid-way, then reopened and rerun."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag.index.store import Index

REPO = Path(__file__).resolve().parents[2]
N_FILES = 30
VOCABULARY = (
    "patient flow discharge ward capacity demand variation audit clinician nurse pathway referral "
    "outcome measure run chart baseline median shift trend cycle improvement team huddle board "
    "governance safety incident learning culture staff engagement leadership coalition urgency "
    "vision sustain spread scale pilot evaluation cost productivity waste value stream"
)


def _write_library(folder: Path) -> None:
    """30 distinct files of a few hundred words each, half Markdown with front matter."""
    rng = random.Random(2)
    words = VOCABULARY.split()
    folder.mkdir()
    for i in range(N_FILES):
        paragraphs = [
            " ".join(rng.choice(words) for _ in range(60)).capitalize() + f". Report {i} part {p}."
            for p in range(4)
        ]
        body = "\n\n".join(paragraphs)
        if i % 2:
            text = f"---\ntitle: Report {i}\nyear: {2000 + i}\ntopics: [flow]\n---\n# Report {i}\n\n{body}\n"
            (folder / f"report-{i:02d}.md").write_text(text, encoding="utf-8")
        else:
            (folder / f"report-{i:02d}.txt").write_text(f"Report {i}\n\n{body}\n", encoding="utf-8")


def _documents_in(registry: Path) -> int:
    """Documents committed so far, read while the ingest runs (WAL lets a reader in)."""
    try:
        with sqlite3.connect(f"file:{registry}?mode=ro", uri=True, timeout=1) as db:
            return int(db.execute("SELECT COUNT(*) FROM documents").fetchone()[0])
    except sqlite3.Error:
        return 0  # not created yet


def _ingest(folder: Path, index_dir: Path) -> list[str]:
    return [sys.executable, "-m", "rag", "ingest", str(folder), "--index", str(index_dir)]


@pytest.mark.slow
def test_an_ingest_killed_mid_way_reopens_consistent_and_a_rerun_completes_it(
    tmp_path, settings, disk_state, stores_agree
):
    folder, index_dir = tmp_path / "library", settings.index.dir
    _write_library(folder)
    env = {**os.environ, "CHANGEGUIDE_INDEX__DIR": str(index_dir)}
    child = subprocess.Popen(
        _ingest(folder, index_dir), cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 300
    try:
        while _documents_in(index_dir / "registry.sqlite3") < 3:
            assert child.poll() is None, (
                f"the ingest ended before it could be killed: {child.stderr.read()[-2000:]!r}"
            )
            assert time.monotonic() < deadline, "no progress within 5 minutes"
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=60)
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL, (
        f"the ingest should have died by SIGKILL, got {child.returncode}"
    )

    crashed = disk_state(index_dir)
    assert 3 <= len(crashed.documents) < N_FILES, (
        f"killed mid-way: {len(crashed.documents)} documents committed"
    )

    with Index.open(settings, create=False) as index:
        assert index.verify() == [], "the index opens and agrees with itself after the kill"
    stores_agree(disk_state(index_dir))

    rerun = subprocess.run(
        _ingest(folder, index_dir), cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )
    assert rerun.returncode == 0, f"the rerun should succeed: {rerun.stdout[-1500:]}{rerun.stderr[-1500:]}"
    final = disk_state(index_dir)
    stores_agree(final)
    assert len(final.documents) == N_FILES, f"every file is in after the rerun: {len(final.documents)}"
    with Index.open(settings, create=False) as index:
        sources = {Path(r.source).name for r in index.documents()}
        assert sources == {p.name for p in folder.iterdir()}, sources
        assert index.keyword_search("report 17 part 3", 1), "the rerun's documents are searchable"
