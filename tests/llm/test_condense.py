"""Condensing follow-ups with a (fake) chat model, and falling back to the deterministic rewrite."""

from __future__ import annotations

import httpx
import pytest

from rag.answer.rewrite import rewrite_followup
from rag.llm.condense import MAX_GROWTH_CHARS, LLMCondenser, clean_reply
from rag.llm.failures import ServerHealth
from rag.types import Turn
from tests.llm.fakes import ScriptedChatModel

HISTORY = [
    Turn("How do I run a PDSA cycle?", "Plan a small test, run it, study the results, act on them [1].")
]
FOLLOW_UP = "and in primary care?"


def _condenser(script, **health) -> tuple[LLMCondenser, ScriptedChatModel]:
    model = ScriptedChatModel(script)
    return LLMCondenser(model, ServerHealth("http://127.0.0.1:9/v1", **health)), model


def test_the_model_turns_a_follow_up_into_a_standalone_question():
    condense, model = _condenser(["Standalone question: How do I run a PDSA cycle in primary care?"])
    assert condense(FOLLOW_UP, HISTORY) == "How do I run a PDSA cycle in primary care?", "label stripped"
    sent = str(model.calls[0][1].content)
    assert HISTORY[0].question in sent and FOLLOW_UP in sent, (
        "the model sees the conversation and the follow-up"
    )


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ('"Who wrote the Improvement Guide?"', "Who wrote the Improvement Guide?"),
        (
            "Question: What are the pitfalls of PDSA?\nThis rewrite keeps the topic.",
            "What are the pitfalls of PDSA?",
        ),
        ("", None),
        ("   \n  ", None),
        ("x" * (len(FOLLOW_UP) + MAX_GROWTH_CHARS + 1), None),
    ],
)
def test_replies_are_cleaned_or_rejected(reply, expected):
    assert clean_reply(reply, FOLLOW_UP) == expected, repr(reply)


def test_a_useless_reply_falls_back_to_the_deterministic_rewrite():
    condense, _ = _condenser([""])
    assert condense(FOLLOW_UP, HISTORY) == rewrite_followup(FOLLOW_UP, HISTORY)


def test_a_server_failure_falls_back_and_is_remembered():
    condense, model = _condenser([httpx.ConnectError("refused")], retry_after_s=60)
    expected = rewrite_followup(FOLLOW_UP, HISTORY)
    assert condense(FOLLOW_UP, HISTORY) == expected, "a dead server still gives a usable query"
    assert condense(FOLLOW_UP, HISTORY) == expected and len(model.calls) == 1, "no second wait on it"
    assert condense.health.recent_outage() is not None, "the answerer sharing this health will skip it too"


def test_a_first_question_is_not_sent_to_the_model():
    condense, model = _condenser([])
    assert condense("What is Lean?", []) == "What is Lean?" and model.calls == []
