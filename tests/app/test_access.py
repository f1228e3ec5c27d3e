"""Readers cannot change the library, keep question sets, export feedback, run evaluations or read
reports: the logic the pages call refuses them itself, so a crafted request gets nowhere even
though the pages never show a reader those controls."""

from __future__ import annotations

import pytest

from rag.app import evaluations, library
from rag.app.feedback import FeedbackStore
from rag.app.roles import decide
from rag.errors import NotPermittedError
from tests.app.conftest import BRIEFS, CORPUS
from tests.app.test_feedback import _answer

QUESTION_SET = (
    b'{"id": "q1", "question": "How do you read a run chart?", "gold_sources": ["run-charts.md"]}\n'
)


@pytest.fixture()
def configured(settings, tmp_path):
    """Settings whose data folder is in tmp_path."""
    app = settings.app.model_copy(update={"data_dir": tmp_path / "data"})
    return settings.model_copy(update={"app": app})


def _reader(settings):
    return decide(settings.app.model_copy(update={"read_only": True}), "open")


def _librarian(settings):
    return decide(settings.app, "open")


def _oidc_reader(settings):
    return decide(settings.app, "oidc", {"is_logged_in": True, "email": "reader@trust.nhs.uk"})


@pytest.mark.parametrize(
    "who", [_reader, _oidc_reader, lambda s: None], ids=["read-only", "reader", "nobody"]
)
def test_readers_cannot_touch_the_evaluation_data(configured, who):
    visitor = who(configured)
    store = FeedbackStore.in_folder(configured.app.data_dir)
    store.add(_answer("What is a confidential question?"), helpful=True, comment="about my ward")
    folder = evaluations.questions_dir(configured)

    with pytest.raises(NotPermittedError, match="Only librarians can keep question sets"):
        evaluations.save_question_set("mine.jsonl", QUESTION_SET, configured, visitor)
    with pytest.raises(NotPermittedError, match="Only librarians can export feedback"):
        evaluations.export_feedback_set(store, configured, visitor)
    assert not folder.exists(), f"nothing written for a reader: {list(folder.iterdir())}"

    starter = evaluations.question_sets(configured)[0]
    with pytest.raises(NotPermittedError, match="Only librarians can run evaluations"):
        # The index does not exist: without the check this would fail otherwise, or start asking.
        evaluations.run_question_set(configured, starter, visitor=visitor)
    assert not evaluations.evals_dir(configured).exists(), "no run folder"

    run = evaluations.Run("20261201-000000-feedback-hybrid", configured.app.data_dir / "evals" / "x")
    with pytest.raises(NotPermittedError, match="Only librarians can read evaluation reports"):
        evaluations.read_report(run, visitor)


def test_librarians_keep_sets_and_export_feedback(configured):
    visitor = _librarian(configured)
    store = FeedbackStore.in_folder(configured.app.data_dir)
    store.add(_answer("How do you read a run chart?"), helpful=True)
    kept = evaluations.save_question_set("mine.jsonl", QUESTION_SET, configured, visitor)
    path, exported, left_out = evaluations.export_feedback_set(store, configured, visitor)
    assert kept.is_file() and path is not None and path.is_file(), "both written"
    assert (exported, left_out) == (1, 0)


def test_readers_cannot_add_or_remove_documents(configured, tmp_path, embedder):
    from rag.engine import ChangeGuide

    engine = ChangeGuide(configured.with_index_dir(tmp_path / "index"), embedder=embedder)
    try:
        librarian, reader = _librarian(configured), _reader(configured)
        brief = (CORPUS / BRIEFS[0]).read_bytes()
        with pytest.raises(NotPermittedError, match="Only librarians can add documents"):
            library.add_documents(engine, [(BRIEFS[0], brief)], configured, reader)
        assert not engine.documents(), "nothing ingested"
        assert not (configured.app.data_dir / "uploads").exists(), "nothing saved"

        summary = library.add_documents(
            engine, [(BRIEFS[0], brief), ("empty.txt", b"")], configured, librarian
        )
        assert len(summary.added) == 1 and summary.failed == [("empty.txt", "the file is empty")], summary
        [record] = engine.documents()

        with pytest.raises(NotPermittedError, match="Only librarians can remove documents"):
            library.remove_documents(engine, [record.doc_id], configured, _oidc_reader(configured))
        assert [r.doc_id for r in engine.documents()] == [record.doc_id], "still in the library"

        removal = library.remove_documents(engine, [record.doc_id, "no-such-id"], configured, librarian)
        assert removal.removed == [library.display_title(record)] and removal.failed[0][0] == "no-such-id"
        assert not engine.documents() and not list((configured.app.data_dir / "uploads").glob("*.md"))
    finally:
        engine.close()
