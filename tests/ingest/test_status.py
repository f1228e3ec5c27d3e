"""One ingest at a time per library, visibly: the shared status, the queue, a killed batch; and
ingestion off the question path (questions answered while a batch embeds, documents appearing one by one)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rag.app import library
from rag.engine import ChangeGuide
from rag.ingest.status import ingest_slot, read_status
from rag.types import IngestStatus
from tests.conftest import CORPUS

REPO = Path(__file__).resolve().parents[2]
BRIEFS = ("run-charts.md", "funnel-plots.md", "kotter-eight-steps.md")
WAIT_S = 120  # upper bound on any one wait below (two busy cores); never a timing assertion


def _wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_nothing_running_reads_as_idle(tmp_path):
    status = read_status(tmp_path)
    assert status == IngestStatus(running=False), status
    assert library.ingest_status_text(status) is None


def test_a_second_batch_queues_behind_the_first_and_both_are_visible(tmp_path):
    release, entered = threading.Event(), []

    def batch(name: str) -> None:
        with ingest_slot(tmp_path, name):
            entered.append(name)
            if name == "first":
                release.wait(WAIT_S)

    first = threading.Thread(target=batch, args=("first",))
    first.start()
    _wait_for(lambda: entered == ["first"], "the first batch to start")
    second = threading.Thread(target=batch, args=("second",))
    second.start()
    _wait_for(lambda: read_status(tmp_path).queued == 1, "the second batch to queue")
    status = read_status(tmp_path)
    assert status.running and status.label == "first" and entered == ["first"], status
    text = library.ingest_status_text(status)
    assert text is not None and "first" in text and "1 more upload(s) queued" in text, text
    release.set()
    first.join(WAIT_S)
    second.join(WAIT_S)
    assert entered == ["first", "second"], "the second ran only after the first"
    after = read_status(tmp_path)
    assert not after.running and after.queued == 0 and after.label == "second", after


@pytest.mark.slow
def test_a_batch_killed_with_sigkill_frees_the_library_and_reads_as_stopped(tmp_path):
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from rag.ingest.status import ingest_slot\n"
        "with ingest_slot(Path(sys.argv[1]), 'doomed'):\n"
        "    print('holding', flush=True)\n"
        "    time.sleep(600)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "holding"
        assert read_status(tmp_path).running, "another process's batch is seen running"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(60)
    status = read_status(tmp_path)
    assert not status.running and status.outcome == "stopped before it finished", status
    took = threading.Event()

    def next_batch() -> None:
        with ingest_slot(tmp_path, "next"):
            took.set()

    thread = threading.Thread(target=next_batch)
    thread.start()
    thread.join(WAIT_S)
    assert took.is_set(), "the kernel released the killed batch's lock"


class GatedEmbedder:
    """The real model, but the ingest thread's second file waits mid-embedding at a gate the test opens
    (each brief is one embedding call)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.gate = threading.Event()
        self.embedding = threading.Event()
        self.ingest_thread: int | None = None
        self.calls = 0

    def embed_batch(self, texts):
        if threading.get_ident() == self.ingest_thread:
            self.calls += 1
            if self.calls > 1:
                self.embedding.set()
                assert self.gate.wait(WAIT_S), "the test never opened the gate"
        return self.inner.embed_batch(texts)


@pytest.mark.slow
def test_questions_are_answered_while_a_batch_embeds_and_see_its_documents_one_by_one(
    tmp_path, settings, embedder
):
    gated = GatedEmbedder(embedder)
    engine = ChangeGuide(settings, embedder=gated)
    try:
        first = tmp_path / "first"
        first.mkdir()
        shutil.copy(CORPUS / BRIEFS[0], first)
        assert engine.ingest([first]).ok
        batch = tmp_path / "batch"
        batch.mkdir()
        for name in BRIEFS[1:]:
            shutil.copy(CORPUS / name, batch)
        events, result = [], {}

        def ingest() -> None:
            gated.ingest_thread = threading.get_ident()
            result["report"] = engine.ingest([batch], progress=events.append, label="upload (2 files)")

        thread = threading.Thread(target=ingest)
        thread.start()  # the batch's first file goes through; the second is held mid-embedding
        _wait_for(gated.embedding.is_set, "the second file to start embedding")
        assert len(engine.documents()) == 2, "the batch's first document is committed on its own"
        status = engine.ingest_status()
        assert status.running and status.label == "upload (2 files)" and status.files_total == 2, status
        assert status.stage == "embedding" and status.files_done == 1, status
        # A question now is answered (no lock is held while a file embeds) and already sees the
        # batch's first document, committed on its own.
        answer = engine.ask("How do you read a funnel plot?")
        assert any(Path(c.source).name == "funnel-plots.md" for c in answer.citations), answer.text
        assert thread.is_alive(), "the batch was still embedding while the question was answered"
        gated.gate.set()
        thread.join(WAIT_S)
        assert result["report"].ok and len(result["report"].added) == 2, result
        done = engine.ingest_status()
        assert not done.running and done.outcome.startswith("added 2"), done
        assert engine.index.verify() == []
    finally:
        gated.gate.set()
        engine.close()
