"""Question intent from wording, comparison sides, and the kinds of answer a heading holds."""

from __future__ import annotations

import pytest

from rag.answer.intent import asks_for_list, classify, heading_kinds, last_heading

EXAMPLES = (
    ("How do I run a PDSA cycle on a ward?", "how-to"),
    ("How do I get clinicians on board with a change they are sceptical about?", "how-to"),
    ("ok, so where do we start with co-production?", "how-to"),
    ("What goes wrong with PDSA cycles?", "pitfalls"),
    ("What's the catch with Lean in hospitals?", "pitfalls"),
    ("What mistakes do boards make when they look at quality data?", "pitfalls"),
    ("What's the difference between spreading an improvement and scaling it up?", "comparison"),
    ("Advice and guidance versus PIFU: what's the difference?", "comparison"),
    ("Should we compare hospitals with a league table or a funnel plot?", "comparison"),
    ("What is a run chart?", "definition"),
    ("What does psychological safety mean?", "definition"),
    ("How many consecutive points above the median count as a shift?", "number"),
    ("What percentage of PDSA projects used predictions?", "number"),
    ("What does the evidence say about engaging doctors in quality improvement?", "why"),
    ("Why does management capacity matter for performance?", "why"),
    ("Tell me about safety huddles", "general"),
)


@pytest.mark.parametrize(("question", "kind"), EXAMPLES)
def test_leading_intent_from_wording(question, kind):
    intent = classify(question)
    assert intent.primary == kind, f"{question!r}: {intent}"


@pytest.mark.parametrize(
    "question",
    (
        "How do I run a PDSA cycle on a ward?",
        "What goes wrong with PDSA cycles?",
        "What's the difference between a run chart and an SPC chart?",
        "What does the evidence say about huddles?",
        "What are Kotter's eight steps?",
    ),
)
def test_definition_only_when_the_question_asks_what_something_is(question):
    assert "definition" not in classify(question).kinds, f"{question!r} is not a definition question"


def test_two_part_question_keeps_both_kinds():
    kinds = classify("What is psychological safety and why does it matter?").kinds
    assert {"definition", "why"} <= set(kinds), kinds


@pytest.mark.parametrize(
    ("question", "side_a", "side_b"),
    (
        ("What's the difference between spreading an improvement and scaling it up?", "spread", "scale"),
        ("Should we compare hospitals with a league table or a funnel plot?", "leagu", "funnel"),
        ("How does Lewin's model compare with Kotter's eight steps?", "lewin", "kotter"),
        ("Is human factors the same thing as teamwork training?", "human", "teamwork"),
        ("Model for Improvement or Lean: which works better?", "improv", "lean"),
    ),
)
def test_comparison_sides(question, side_a, side_b):
    intent = classify(question)
    assert intent.primary == "comparison" and len(intent.sides) == 2, intent
    assert side_a in intent.sides[0] and side_b in intent.sides[1], intent.sides


def test_or_without_two_sides_is_not_a_comparison():
    intent = classify("Should I use a run chart or not?")
    assert "comparison" not in intent.kinds and not intent.sides, intent


@pytest.mark.parametrize(
    ("heading", "kind"),
    (
        ("How to apply it", "how-to"),
        ("Key steps", "how-to"),
        ("Recommendations", "how-to"),
        ("Common pitfalls", "pitfalls"),
        ("Risks and barriers", "pitfalls"),
        ("Lessons learned", "pitfalls"),
        ("What the evidence shows", "why"),
        ("Findings", "why"),
        ("What it is", "definition"),
        ("Definitions", "definition"),
    ),
)
def test_heading_vocabulary_is_general(heading, kind):
    assert kind in heading_kinds(heading), f"{heading!r}: {sorted(heading_kinds(heading))}"


def test_unknown_heading_and_section_path():
    assert heading_kinds("Theatre productivity") == frozenset()
    assert heading_kinds(None) == frozenset()
    assert last_heading("Run charts > How to apply it") == "How to apply it"
    assert last_heading(None) == ""


def test_enumeration_questions():
    assert asks_for_list("What are Kotter's eight steps?")
    assert not asks_for_list("What is a safety huddle?")
