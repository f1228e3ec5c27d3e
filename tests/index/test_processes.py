"""Several processes on one library: a running engine sees what a command-line ingest adds, without
errors while it happens; two ingests at once; an ingest killed mid-batch, then verified and rerun.

Real processes (`python -m rag ...`), real Chroma (embedded, and as a server), the real model.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from rag.config import IndexSettings, Settings
from rag.engine import ChangeGuide
from rag.index.store import Index
from tests.conftest import CORPUS
from tests.index.test_kill import _documents_in, _write_library

REPO = Path(__file__).resolve().parents[2]
FIRST = ("run-charts.md", "funnel-plots.md")
ADDED = "kotter-eight-steps.md"
QUESTION = "What are Kotter's eight steps for leading change?"
SEEN_WITHIN_S = 30  # generous: two cores shared with other jobs; the figure is in benchmarks/


def _copy(names, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(CORPUS / name, folder / name)
    return folder


def _env(settings: Settings) -> dict[str, str]:
    env = {**os.environ, "CHANGEGUIDE_INDEX__DIR": str(settings.index.dir)}
    if settings.index.chroma_url:
        env["CHANGEGUIDE_INDEX__CHROMA_URL"] = settings.index.chroma_url
        env["CHANGEGUIDE_INDEX__CHROMA_COLLECTION"] = settings.index.chroma_collection
    return env


def _cli(settings: Settings, *argv: str) -> list[str]:
    return [sys.executable, "-m", "rag", *argv, "--index", str(settings.index.dir)]


@pytest.fixture(params=["embedded", "server"])
def shared_settings(request, tmp_path) -> Settings:
    index = IndexSettings(dir=tmp_path / "index")
    if request.param == "server":
        server = request.getfixturevalue("chroma_server")
        index = IndexSettings(
            dir=tmp_path / "index", chroma_url=server.url, chroma_collection=f"p-{uuid.uuid4().hex[:8]}"
        )
    return Settings(index=index)


def _sources(answer) -> set[str]:
    return {Path(c.source).name for c in answer.citations}


@pytest.mark.slow
def test_a_running_engine_answers_throughout_a_cli_ingest_and_then_from_the_new_document(
    tmp_path, shared_settings, embedder
):
    engine = ChangeGuide(shared_settings, embedder=embedder)
    try:
        assert engine.ingest([_copy(FIRST, tmp_path / "first")]).ok
        before = engine.ask(QUESTION)
        assert ADDED not in {Path(p.chunk.meta["source"]).name for p in before.retrieved}
        child = subprocess.Popen(
            _cli(shared_settings, "ingest", str(_copy([ADDED], tmp_path / "added"))),
            cwd=REPO,
            env=_env(shared_settings),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        asked, errors = 0, []
        while child.poll() is None:  # questions all the while the other process ingests
            try:
                engine.ask(QUESTION)
                asked += 1
            except Exception as exc:  # noqa: BLE001  # any failure at all is what this test looks for
                errors.append(f"{type(exc).__name__}: {exc}")
        out, err = child.communicate()
        assert child.returncode == 0, f"the CLI ingest failed: {out[-1000:]}{err[-1000:]}"
        assert not errors, f"{len(errors)} of {asked + len(errors)} questions failed meanwhile: {errors[:3]}"
        deadline = time.monotonic() + SEEN_WITHIN_S
        while True:
            answer = engine.ask(QUESTION)
            dense = engine.ask(QUESTION, retriever="dense")  # its vectors too, not only BM25
            found = {Path(p.chunk.meta["source"]).name for p in dense.retrieved}
            if ADDED in _sources(answer) and ADDED in found:
                break
            assert time.monotonic() < deadline, (
                f"the new document is not answerable {SEEN_WITHIN_S} s after the ingest: "
                f"cited {_sources(answer)}, dense search found {found}"
            )
            time.sleep(0.2)
        assert not answer.abstained and answer.retrieved[0].chunk.meta["source"].endswith(ADDED), answer.text
        assert {d.source for d in engine.documents()} >= {str(tmp_path / "added" / ADDED)}, "listed too"
        assert engine.index.verify() == []
    finally:
        engine.close()


@pytest.mark.slow
def test_two_ingests_at_once_both_land_and_the_index_agrees(tmp_path, shared_settings):
    first = _copy(FIRST, tmp_path / "a")
    second = _copy([ADDED, "psychological-safety.md"], tmp_path / "b")
    Index.open(shared_settings).close()  # both find the index there: neither creates it under the other
    children = [
        subprocess.Popen(
            _cli(shared_settings, "ingest", str(folder)),
            cwd=REPO,
            env=_env(shared_settings),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for folder in (first, second)
    ]
    for child in children:
        out, err = child.communicate(timeout=600)
        assert child.returncode == 0, f"an ingest failed: {out[-1000:]}{err[-1000:]}"
    verify = subprocess.run(
        _cli(shared_settings, "index", "verify"),
        cwd=REPO,
        env=_env(shared_settings),
        capture_output=True,
        text=True,
    )
    assert verify.returncode == 0 and verify.stdout.startswith("ok: 4 documents"), (
        verify.stdout + verify.stderr
    )
    with Index.open(shared_settings, create=False) as index:
        assert {Path(r.source).name for r in index.documents()} == {*FIRST, ADDED, "psychological-safety.md"}


@pytest.mark.slow
def test_an_ingest_killed_mid_batch_never_fails_a_question_and_verifies_clean(
    tmp_path, shared_settings, embedder
):
    engine = ChangeGuide(shared_settings, embedder=embedder)
    folder = tmp_path / "library"
    _write_library(folder)
    try:
        assert engine.ingest([_copy(FIRST, tmp_path / "first")]).ok
        child = subprocess.Popen(
            _cli(shared_settings, "ingest", str(folder)),
            cwd=REPO,
            env=_env(shared_settings),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        registry = shared_settings.index.dir / "registry.sqlite3"
        errors: list[str] = []
        deadline = time.monotonic() + 300
        try:
            while _documents_in(registry) < len(FIRST) + 3:
                assert child.poll() is None, (
                    f"the ingest ended before it could be killed: {child.stderr.read()!r}"
                )
                assert time.monotonic() < deadline, "no progress within 5 minutes"
                try:
                    engine.ask("How long is a shift on a run chart?")
                except Exception as exc:  # noqa: BLE001
                    errors.append(f"{type(exc).__name__}: {exc}")
            child.send_signal(signal.SIGKILL)
        finally:
            child.wait(timeout=60)
            child.stderr.close()
        assert child.returncode == -signal.SIGKILL
        for _ in range(5):  # and just after the kill, with its change possibly half done
            try:
                engine.ask("How long is a shift on a run chart?")
            except Exception as exc:  # noqa: BLE001
                errors.append(f"{type(exc).__name__}: {exc}")
        assert not errors, f"questions failed around the kill: {errors[:3]}"
        env = _env(shared_settings)
        verify = subprocess.run(
            _cli(shared_settings, "index", "verify"), cwd=REPO, env=env, capture_output=True, text=True
        )
        assert verify.returncode == 0, (
            f"after the kill the index verifies clean: {verify.stdout}{verify.stderr}"
        )
        rerun = subprocess.run(
            _cli(shared_settings, "ingest", str(folder)),
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert rerun.returncode == 0, rerun.stdout[-1500:] + rerun.stderr[-1500:]
        engine.index.refresh(wait=True)
        assert len(engine.documents()) == len(FIRST) + len(list(folder.iterdir()))
        assert engine.index.verify() == []
    finally:
        engine.close()
