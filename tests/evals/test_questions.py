"""Question sets: validation with line numbers, gold-source matching, and the starter set itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.errors import QuestionSetError
from rag.evals.metrics import normalise
from rag.evals.questions import gold_keys, load_questions, parse_questions, resolve_gold

REPO = Path(__file__).resolve().parents[2]
STARTER = REPO / "evals" / "questions" / "starter.jsonl"
DEV = REPO / "evals" / "questions" / "dev.jsonl"
CORPUS = REPO / "corpus"


def _line(**fields) -> str:
    return json.dumps(fields)


def test_valid_file_parses_with_defaults_and_history(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text(
        "\n".join(
            [
                "// a comment line",
                _line(id="a", question="What is a run chart?", gold_sources=["run-charts.md"]),
                "",
                _line(
                    id="b",
                    question="and its rules?",
                    gold_sources=["run-charts"],
                    history=[{"question": "What is a run chart?"}],
                    tags=["follow-up"],
                ),
                _line(id="c", question="Dose of paracetamol?", answerable=False),
            ]
        ),
        encoding="utf-8",
    )
    questions = load_questions(path)
    assert [q.id for q in questions] == ["a", "b", "c"], "comments and blank lines should be skipped"
    assert questions[0].answerable is True, "answerable should default to true"
    assert questions[1].turns[0].question == "What is a run chart?", "history should become engine turns"
    assert questions[1].turns[0].answer == "", "a turn's answer may be left out"
    assert questions[2].answerable is False


def test_every_problem_is_reported_with_its_line_number():
    lines = [
        _line(id="ok", question="Fine?", gold_sources=["x.md"]),
        "{not json",
        _line(id="no-question", gold_sources=["x.md"]),
        _line(id="no-gold", question="Where is my gold?"),
        _line(id="oos", question="Off topic?", answerable=False, gold_sources=["x.md"]),
        _line(id="ok", question="Same id again?", gold_sources=["x.md"]),
        _line(id="extra", question="Typo field?", gold_sources=["x.md"], tag=["oops"]),
        "[1, 2]",
        _line(id="blank", question="   ", gold_sources=["x.md"]),
    ]
    with pytest.raises(QuestionSetError) as info:
        parse_questions(lines, name="set.jsonl")
    message = str(info.value)
    expected = [
        "set.jsonl:2: not valid JSON",
        "set.jsonl:3: question: Field required",
        "set.jsonl:4: (record): Value error, an answerable question needs at least one gold source",
        "set.jsonl:5: (record): Value error, an out-of-scope question",
        "set.jsonl:6: id 'ok' already used on line 1",
        "set.jsonl:7: tag: Extra inputs are not permitted",
        "set.jsonl:8: expected a JSON object, got list",
        "set.jsonl:9: question: Value error, must not be blank",
    ]
    for part in expected:
        assert part in message, f"missing {part!r} in:\n{message}"
    assert "8 problem(s)" in message, message


def test_missing_and_empty_files_are_clear_errors(tmp_path):
    with pytest.raises(QuestionSetError, match="no question set at"):
        load_questions(tmp_path / "absent.jsonl")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n// nothing\n", encoding="utf-8")
    with pytest.raises(QuestionSetError, match="holds no questions"):
        load_questions(empty)


def test_gold_sources_match_by_file_name_stem_or_doc_id():
    docs = [("a1b2c3", "/lib/briefs/run-charts.md"), ("d4e5f6", "/data/12345.txt"), ("0000aa", "/x/notes")]
    matched, missing = resolve_gold(["run-charts.md", "12345", "0000aa", "RUN-CHARTS", "absent.pdf"], docs)
    assert matched == {"a1b2c3", "d4e5f6", "0000aa"}, matched
    assert missing == ["absent.pdf"], missing
    assert gold_keys("ID", "/p/report.final.pdf") == {"id", "report.final.pdf", "report.final"}


# -- the starter set (the held-out test set for the starter library) -------------------------------


@pytest.fixture(scope="module")
def starter():
    return load_questions(STARTER)


def test_starter_set_meets_the_brief(starter):
    out_of_scope = [q for q in starter if not q.answerable]
    follow_ups = [q for q in starter if q.history]
    assert len(starter) >= 80, f"only {len(starter)} questions"
    assert len(out_of_scope) >= 15, f"only {len(out_of_scope)} out-of-scope questions"
    assert len(follow_ups) >= 10, f"only {len(follow_ups)} follow-ups with history"
    kinds = {"factual", "how-to", "follow-up", "out-of-scope"}
    for q in starter:
        assert kinds & set(q.tags), f"{q.id} has no kind tag"
        assert ("out-of-scope" in q.tags) == (not q.answerable), (
            f"{q.id}: out-of-scope tag and answerable disagree"
        )
        if q.answerable:
            assert q.gold_phrases, f"{q.id} has no gold phrases"


def test_starter_gold_phrases_occur_in_their_gold_briefs(starter):
    texts = {p.name: normalise(p.read_text(encoding="utf-8")) for p in CORPUS.glob("*.md")}
    for q in starter:
        for gold in q.gold_sources:
            assert gold in texts, f"{q.id}: gold source {gold} is not a brief in corpus/"
        for phrase in q.gold_phrases:
            assert any(normalise(phrase) in texts[g] for g in q.gold_sources), (
                f"{q.id}: gold phrase {phrase!r} occurs in none of {q.gold_sources}"
            )


def test_starter_set_is_not_the_dev_set(starter):
    if not DEV.exists():
        pytest.skip("evals/questions/dev.jsonl is not there yet")
    dev = {normalise(q.question) for q in load_questions(DEV)}
    shared = [q.id for q in starter if normalise(q.question) in dev]
    assert not shared, f"starter questions also in the tuning set: {shared}"


def test_style_is_one_of_the_named_styles_and_follow_ups_carry_history():
    ok = _line(
        id="s", question="my ward keeps failing audits, help?", gold_sources=["x.md"], style="situation"
    )
    assert parse_questions([ok])[0].style == "situation"
    lines = [
        _line(id="bad", question="What?", gold_sources=["x.md"], style="rant"),
        _line(id="fu", question="and for community teams?", gold_sources=["x.md"], style="follow-up"),
    ]
    with pytest.raises(QuestionSetError) as info:
        parse_questions(lines, name="s.jsonl")
    message = str(info.value)
    assert "s.jsonl:1: style: Input should be 'situation'" in message, message
    assert "s.jsonl:2: (record): Value error, a follow-up (style: follow-up) needs its history" in message
