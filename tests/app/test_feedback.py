"""Feedback: stored in SQLite, exported as a valid evaluation question set."""

from __future__ import annotations

import json

from rag.app.feedback import FeedbackStore, export_jsonl
from rag.evals.questions import parse_questions
from rag.types import Answer, Citation, Turn


def _answer(
    question: str, *, abstained: bool = False, sources: tuple[str, ...] = ("/lib/run-charts.md",)
) -> Answer:
    citations = tuple(
        Citation(
            n=i + 1,
            chunk_id=f"c{i}",
            doc_id=f"d{i}",
            title="T",
            source=s,
            excerpt="e",
            start=0,
            end=1,
            score=1.0,
        )
        for i, s in enumerate(() if abstained else sources)
    )
    return Answer(
        question=question,
        standalone_question=question,
        text="...",
        abstained=abstained,
        backend="extractive",
        citations=citations,
        index_fingerprint="fp",
    )


def test_feedback_round_trips_through_sqlite(tmp_path):
    store = FeedbackStore.in_folder(tmp_path / "data")
    history = (Turn("How do you read a run chart?", "A run chart is..."),)
    first = store.add(
        _answer("and the rules?", sources=("/a/run-charts.md", "/b/spc.md", "/a/run-charts.md")),
        helpful=True,
        comment="  useful  ",
        history=history,
    )
    store.add(_answer("dose of amoxicillin?", abstained=True), helpful=False)
    reopened = FeedbackStore.in_folder(tmp_path / "data").items()
    assert [i.id for i in reopened] == [first, first + 1], "items persist in order"
    item = reopened[0]
    assert item.helpful and item.comment == "useful" and item.history == history, item
    assert item.cited_sources == ("run-charts.md", "spc.md"), "cited file names, distinct, in citation order"
    assert FeedbackStore.in_folder(tmp_path / "data").counts() == (1, 1)


def test_export_is_a_valid_question_set(tmp_path):
    store = FeedbackStore.in_folder(tmp_path)
    store.add(_answer("How do you read a run chart?"), helpful=True)
    store.add(_answer("What is the dose of amoxicillin?", abstained=True), helpful=True)
    store.add(_answer("Is lean any good?"), helpful=False, comment="wrong source")
    store.add(_answer("and the rules?"), helpful=True, history=(Turn("How do you read a run chart?", "..."),))
    text, left_out = export_jsonl(store.items())
    questions = parse_questions(text.splitlines(), name="feedback.jsonl")  # raises on any invalid line
    assert left_out == 1, "the unhelpful answer has no known gold sources and stays out"
    assert [q.answerable for q in questions] == [True, False, True]
    assert questions[0].gold_sources == ("run-charts.md",) and questions[1].gold_sources == ()
    assert all("feedback" in q.tags for q in questions) and "follow-up" in questions[2].tags
    assert questions[2].turns[0].question == "How do you read a run chart?"
    assert len({json.loads(line)["id"] for line in text.splitlines()}) == 3, "ids are unique"
