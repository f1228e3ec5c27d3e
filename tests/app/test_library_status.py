"""The Library page shows a running ingest to every session, whichever process runs it."""

from __future__ import annotations

import threading
import time

from rag.ingest.pipeline import IngestEvent
from rag.ingest.status import ingest_slot, read_status


def test_every_session_sees_another_process_s_ingest_and_its_queue(make_app, app_index):
    holding, release = threading.Event(), threading.Event()

    def batch() -> None:  # stands in for a command-line ingest: same lock, same status file
        with ingest_slot(app_index, "changeguide ingest") as status:
            status.update(
                IngestEvent(
                    index=2,
                    total=5,
                    path="/x/board-report.pdf",
                    stage="embedding",
                    chunks_done=40,
                    elapsed=4.0,
                )
            )
            holding.set()
            release.wait(60)

    def queued() -> None:
        with ingest_slot(app_index, "upload (1 file)"):
            pass

    thread, waiting = threading.Thread(target=batch), threading.Thread(target=queued)
    thread.start()
    try:
        assert holding.wait(60), "the batch did not start"
        waiting.start()
        deadline = time.monotonic() + 60
        while read_status(app_index).queued < 1:
            assert time.monotonic() < deadline, "the second batch never queued"
            time.sleep(0.02)
        reader = make_app(CHANGEGUIDE_APP__READ_ONLY="true").run()
        reader.switch_page("rag/app/pages/library.py").run()
        assert not reader.exception, f"the library page raised: {reader.exception}"
        shown = " ".join(i.value for i in reader.info).replace("\\", "")  # the page escapes Markdown
        assert "Adding documents (changeguide ingest)" in shown and "1 of 5 files" in shown, shown
        assert "board-report.pdf" in shown and "10.0/s" in shown, shown
        assert "1 more upload(s) queued behind it" in shown, shown
    finally:
        release.set()
        thread.join(60)
        waiting.join(60)
    after = make_app(CHANGEGUIDE_APP__READ_ONLY="true").run()
    after.switch_page("rag/app/pages/library.py").run()
    assert not any("Adding documents" in i.value for i in after.info), "nothing shown once it is over"
