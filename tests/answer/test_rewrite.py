"""Deterministic follow-up rewriting."""

from __future__ import annotations

import pytest

from rag.answer.rewrite import is_followup, key_phrase, rewrite_followup
from rag.types import Turn

MFI = [Turn("What is the Model for Improvement?", "The Model for Improvement is a framework ... [1]")]
PDSA = [Turn("How do I run a PDSA cycle?", "...")]
SAFETY = [Turn("What is psychological safety?", "...")]
WARD = [Turn("What is the Productive Ward?", "...")]


@pytest.mark.parametrize(
    ("question", "history", "expected"),
    [
        ("and in primary care?", PDSA, "How do I run a PDSA cycle in primary care?"),
        ("In mental health services?", PDSA, "How do I run a PDSA cycle in mental health services?"),
        ("what are the pitfalls?", MFI, "What are the pitfalls (Model for Improvement)?"),
        ("who wrote that?", MFI, "Who wrote Model for Improvement?"),
        ("Does it work in primary care?", MFI, "Does Model for Improvement work in primary care?"),
        ("What are its limits?", MFI, "What are Model for Improvement's limits?"),
        ("Is this approach evidence-based?", MFI, "Is this approach evidence-based (Model for Improvement)?"),
        ("what about run charts?", MFI, "What is the Model for Improvement: what about run charts?"),
        # Verbs and adjectives around the pronoun do not make the question self-contained.
        ("How can I measure it in my team?", SAFETY, "How can I measure psychological safety in my team?"),
        ("What are the common pitfalls?", MFI, "What are the common pitfalls (Model for Improvement)?"),
        ("Who started it?", WARD, "Who started Productive Ward?"),
    ],
)
def test_followups_carry_the_earlier_key_terms(question, history, expected):
    assert is_followup(question), f"{question!r} should be seen as a follow-up"
    assert rewrite_followup(question, history) == expected


@pytest.mark.parametrize(
    "question",
    [
        "What is a run chart?",
        "How do I read a funnel plot comparing trusts?",
        "What evidence is there that PDSA works?",  # "that" as a conjunction
        "What is Lean and is it effective in hospitals?",  # "it" points inside the question
        "Why do improvements decay after a project ends?",
    ],
)
def test_self_contained_questions_pass_through_unchanged(question):
    assert not is_followup(question), f"{question!r} is self-contained"
    assert rewrite_followup(question, MFI) == question


def test_without_history_nothing_changes():
    assert rewrite_followup("what are the pitfalls?", []) == "what are the pitfalls?"


def test_a_chain_of_followups_keeps_the_original_topic():
    history = [*PDSA, Turn("and in primary care?", "...")]
    rewritten = rewrite_followup("what are the pitfalls?", history)
    assert rewritten == "What are the pitfalls (PDSA cycle in primary care)?", rewritten


def test_a_followup_that_names_the_topic_is_left_alone():
    assert rewrite_followup("And the Model for Improvement's pitfalls?", MFI) == (
        "And the Model for Improvement's pitfalls?"
    )


def test_key_phrase_strips_question_words():
    assert key_phrase("What is the Model for Improvement?") == "Model for Improvement"
    assert key_phrase("How should I read a funnel plot?") == "read a funnel plot"
    assert key_phrase("What are the pitfalls?") == ""
