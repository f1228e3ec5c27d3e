"""The manager question sets (evals/questions/managers-*.jsonl): shape, styles and honest gold.

They are asked against an index of corpus/ beside ../shared/docs, so a gold source may be a brief
or a shared document, and a gold phrase must occur in the text our loaders extract from one of the
question's gold sources (case and whitespace ignored, as the metric matches it).
`managers-pending.jsonl` holds questions about files no loader reads yet (slides, workbooks,
scans): they are checked for shape and sources only, and move into the two sets when a loader
lands (this test then checks their phrases too).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from rag.evals.metrics import normalise
from rag.evals.questions import STYLES, Question, load_questions
from tests.gold_sources import CORPUS, SHARED_DOCS, extracted, library_files

REPO = Path(__file__).resolve().parents[2]
QUESTIONS = REPO / "evals" / "questions"
DEV, TEST, PENDING = (QUESTIONS / f"managers-{s}.jsonl" for s in ("dev", "test", "pending"))
IN_VOCABULARY = (QUESTIONS / "dev.jsonl", QUESTIONS / "starter.jsonl")

MIN_ANSWERABLE = 220  # both splits together (issue 9)
MIN_OUT_OF_SCOPE = 60
MIN_PER_STYLE_HELD_OUT = 10  # answerable questions of each style in the test split
OUT_OF_SCOPE_TAGS = {"near-domain", "off-domain"}


@pytest.fixture(scope="module")
def library() -> dict[str, Path]:
    if not SHARED_DOCS.is_dir():
        pytest.fail(f"the shared documents are expected at {SHARED_DOCS}")
    return library_files()


@pytest.fixture(scope="module")
def splits() -> dict[str, list[Question]]:
    return {"dev": load_questions(DEV), "test": load_questions(TEST)}


def test_the_sets_are_big_enough_and_every_question_has_a_style(splits):
    questions = splits["dev"] + splits["test"]
    answerable = [q for q in questions if q.answerable]
    assert len(answerable) >= MIN_ANSWERABLE, f"{len(answerable)} answerable questions"
    assert len(questions) - len(answerable) >= MIN_OUT_OF_SCOPE, "too few out-of-scope questions"
    for q in questions:
        assert q.style in STYLES, f"{q.id} has no style"
        if not q.answerable:
            assert OUT_OF_SCOPE_TAGS & set(q.tags), f"{q.id}: tag it near-domain or off-domain"
    held_out = Counter(q.style for q in splits["test"] if q.answerable)
    thin = {s: held_out[s] for s in STYLES if held_out[s] < MIN_PER_STYLE_HELD_OUT}
    assert not thin, f"styles with fewer than {MIN_PER_STYLE_HELD_OUT} held-out questions: {thin}"
    traps = [q for q in splits["test"] if "near-domain" in q.tags]
    assert len(traps) >= 10, f"only {len(traps)} near-domain traps in the test split"


def test_a_third_of_the_answerable_questions_are_about_documents_other_than_the_briefs(splits, library):
    answerable = [q for q in splits["dev"] + splits["test"] if q.answerable]

    def about_other_documents(q: Question) -> bool:
        return any(library[g.casefold()].parent != CORPUS for g in q.gold_sources)

    share = sum(about_other_documents(q) for q in answerable) / len(answerable)
    assert share >= 1 / 3, f"only {share:.0%} of answerable questions are about non-brief documents"


@pytest.mark.parametrize("split", ["dev", "test"])
def test_gold_sources_are_library_files_and_gold_phrases_occur_in_one_of_them(split, splits, library):
    problems = []
    for q in splits[split]:
        texts = []
        for gold in q.gold_sources:
            path = library.get(gold.casefold())
            if path is None:
                problems.append(f"{q.id}: gold source {gold!r} is not a file of corpus/ or ../shared/docs")
                continue
            text = extracted(path)
            if text is None:
                problems.append(f"{q.id}: no loader reads {gold!r} yet (move it to managers-pending.jsonl)")
                continue
            texts.append(text)
        if q.answerable and not q.gold_phrases:
            problems.append(f"{q.id}: an answerable question needs gold phrases")
        for phrase in q.gold_phrases:
            if texts and not any(normalise(phrase) in t for t in texts):
                problems.append(f"{q.id}: {phrase!r} occurs in none of {list(q.gold_sources)}")
    assert not problems, "\n".join(problems)


def test_no_question_is_in_two_sets(splits):
    seen: dict[str, str] = {}
    sets = {"managers-dev": splits["dev"], "managers-test": splits["test"]}
    sets.update({p.name: load_questions(p) for p in IN_VOCABULARY if p.exists()})
    if PENDING.exists():
        sets["managers-pending"] = load_questions(PENDING)
    clashes = []
    for name, questions in sets.items():
        for q in questions:
            key = normalise(q.question)
            if key in seen and seen[key] != name:
                clashes.append(f"{q.id} ({name}) repeats a question of {seen[key]}")
            seen.setdefault(key, name)
    assert not clashes, "\n".join(clashes)


def test_pending_questions_name_real_files_no_loader_reads_yet(library):
    if not PENDING.exists():
        pytest.skip("no pending questions")
    for q in load_questions(PENDING):
        assert q.style in STYLES, f"{q.id} has no style"
        paths = [library.get(g.casefold()) for g in q.gold_sources]
        assert all(paths), f"{q.id}: a gold source is not a library file: {q.gold_sources}"
        assert any(extracted(p) is None for p in paths), (
            f"{q.id}: every gold source has a loader now: move it into managers-dev/test.jsonl"
        )
