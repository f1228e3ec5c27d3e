"""The training questions (training/data/*.jsonl): shape, styles, honest gold, and no leak of the eval sets.

These questions train the cross-encoder and the learned abstention (issue 9), so each one must be
a valid question-set line, cite only library files, carry gold phrases that occur in the text our
loaders extract from one of its gold sources (case and whitespace ignored, as the metric matches
them), and must not repeat or closely paraphrase a question of the manager evaluation sets: a
model trained on the held-out questions would report figures that mean nothing.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from rag.evals.metrics import normalise
from rag.evals.questions import STYLES, Question, load_questions
from tests.gold_sources import SHARED_DOCS, extracted, library_files

REPO = Path(__file__).resolve().parents[2]
TRAINING = REPO / "training" / "data"
# briefs: corpus/; docs: ../shared/docs; traps-*: near-domain traps and hard styles, written later
TRAINING_FILES = ("briefs.jsonl", "docs.jsonl", "traps-briefs.jsonl", "traps-docs.jsonl")
EVAL_SETS = tuple(REPO / "evals" / "questions" / f"managers-{s}.jsonl" for s in ("dev", "test"))

NEAR_DUPLICATE_JACCARD = 0.6  # token-set overlap at which two questions count as the same question
OUT_OF_SCOPE_TAGS = {"near-domain", "off-domain"}
_TOKEN = re.compile(r"[a-z0-9]+")


def _tokens(text: str) -> frozenset[str]:
    return frozenset(_TOKEN.findall(normalise(text)))


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


def _present() -> list[str]:
    return [name for name in TRAINING_FILES if (TRAINING / name).exists()]


@pytest.fixture(scope="module")
def library() -> dict[str, Path]:
    if not SHARED_DOCS.is_dir():
        pytest.fail(f"the shared documents are expected at {SHARED_DOCS}")
    return library_files()


@pytest.fixture(scope="module")
def training() -> dict[str, list[Question]]:
    """Each training file that exists, parsed with the question-set loader (it checks the shape)."""
    present = _present()
    if not present:
        pytest.skip("no training data written yet")
    return {name: load_questions(TRAINING / name) for name in present}


@pytest.mark.parametrize("name", TRAINING_FILES)
def test_every_question_has_a_style_and_out_of_scope_ones_say_which_kind(name):
    if not (TRAINING / name).exists():
        pytest.skip(f"{name} not written yet")
    problems = []
    for q in load_questions(TRAINING / name):
        if q.style not in STYLES:
            problems.append(f"{q.id}: style {q.style!r} is not one of {STYLES}")
        if not q.answerable and not OUT_OF_SCOPE_TAGS & set(q.tags):
            problems.append(f"{q.id}: tag an out-of-scope question near-domain or off-domain")
        if q.answerable and not q.gold_phrases:
            problems.append(f"{q.id}: an answerable question needs gold phrases")
    assert not problems, "\n".join(problems)


def test_ids_are_unique_across_the_training_files(training):
    counts = Counter(q.id for questions in training.values() for q in questions)
    repeated = sorted(i for i, n in counts.items() if n > 1)
    assert not repeated, f"ids used twice: {repeated}"


@pytest.mark.parametrize("name", TRAINING_FILES)
def test_gold_sources_are_library_files_and_gold_phrases_occur_in_one_of_them(name, library):
    if not (TRAINING / name).exists():
        pytest.skip(f"{name} not written yet")
    problems = []
    for q in load_questions(TRAINING / name):
        texts = []
        for gold in q.gold_sources:
            path = library.get(gold.casefold())
            if path is None:
                problems.append(f"{q.id}: gold source {gold!r} is not a file of corpus/ or ../shared/docs")
                continue
            text = extracted(path)
            if text is None:
                problems.append(f"{q.id}: no loader reads {gold!r}")
                continue
            texts.append(text)
        for phrase in q.gold_phrases:
            if texts and not any(normalise(phrase) in t for t in texts):
                problems.append(f"{q.id}: {phrase!r} occurs in none of {list(q.gold_sources)}")
    assert not problems, "\n".join(problems)


def test_no_training_question_repeats_or_closely_paraphrases_an_evaluation_question(training):
    # Only ids are reported, never the evaluation question's text: the held-out split is not to be
    # read by whoever writes training questions.
    evaluation = [(q.id, _tokens(q.question)) for path in EVAL_SETS for q in load_questions(path)]
    clashes = []
    for questions in training.values():
        for q in questions:
            mine = _tokens(q.question)
            for eval_id, theirs in evaluation:
                overlap = _jaccard(mine, theirs)
                if overlap >= NEAR_DUPLICATE_JACCARD:
                    clashes.append(f"{q.id} is too close to {eval_id} (token Jaccard {overlap:.2f})")
    assert not clashes, "\n".join(clashes)


def test_no_question_is_written_twice_in_the_training_data(training):
    seen: dict[str, str] = {}
    clashes = []
    for questions in training.values():
        for q in questions:
            key = normalise(q.question) + "\n" + "\n".join(normalise(t.question) for t in q.history)
            if key in seen:
                clashes.append(f"{q.id} repeats {seen[key]}")
            seen.setdefault(key, q.id)
    assert not clashes, "\n".join(clashes)


def test_the_jaccard_check_catches_a_reworded_copy():
    # Guards the threshold: a light rewording of a question must count as the same question.
    original = _tokens("How do I run a PDSA cycle on my ward?")
    assert _jaccard(original, _tokens("how do I run a PDSA cycle on the ward")) >= NEAR_DUPLICATE_JACCARD
    assert _jaccard(original, _tokens("What is a funnel plot for?")) < NEAR_DUPLICATE_JACCARD
