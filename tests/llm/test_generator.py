"""`LLMGenerator` with a scripted fake chat model: streaming, verification and every fallback."""

from __future__ import annotations

import httpx
import pytest

from rag.llm.generator import DECLINED_NOTICE, UNVERIFIED_NOTICE
from rag.llm.prompts import NOT_COVERED
from tests.llm.fakes import (
    FAITHFUL,
    INJECTION,
    OFF_TOPIC,
    UNSUPPORTED,
    ScriptedChatModel,
    injected_passage,
    obeys_injection,
)

QUESTION = "How does the Model for Improvement use PDSA cycles?"
OUT_OF_SCOPE = "What is the VAT rate on hospital car parking in Belgium?"


def _cited(n: int) -> str:
    return f"{FAITHFUL[n][:-1]} [{n}]."


def test_a_faithful_answer_streams_and_is_fully_verified(make_generator, pdsa_passages):
    answer = " ".join(_cited(n) for n in (1, 2, 3))
    model = ScriptedChatModel([answer])
    tokens: list[str] = []
    draft = make_generator(model).generate(QUESTION, pdsa_passages, on_token=tokens.append)
    assert len(tokens) > 10 and "".join(tokens) == answer, "the model's words arrive one by one, in full"
    assert draft.text == answer and not draft.abstained and draft.notice is None, draft
    assert [s.verified for s in draft.sentences] == [True, True, True], draft.sentences
    assert [c.n for c in draft.citations] == [1, 2, 3] and all(c.verified for c in draft.citations)


def test_an_invented_citation_is_removed(make_generator, pdsa_passages):
    model = ScriptedChatModel([f"{_cited(1)} {FAITHFUL[2][:-1]} [2][9]."])
    draft = make_generator(model).generate(QUESTION, pdsa_passages)
    assert "[9]" not in draft.text, f"citation 9 names no excerpt and must go: {draft.text}"
    assert {c.n for c in draft.citations} == {1, 2} and all(s.verified for s in draft.sentences)
    assert draft.notice and "1 citation number(s) that named no excerpt were removed" in draft.notice, (
        draft.notice
    )


def test_an_unsupported_sentence_is_marked_unverified(make_generator, pdsa_passages):
    model = ScriptedChatModel([f"{_cited(1)} {UNSUPPORTED[:-1]} [1]. {_cited(3)}"])
    draft = make_generator(model).generate(QUESTION, pdsa_passages)
    assert [s.verified for s in draft.sentences] == [True, False, True], draft.sentences
    assert UNSUPPORTED[:-1] in draft.text, "the sentence stays, flagged, so the reader sees what was said"
    assert draft.notice and draft.notice.startswith("1 of 3 sentences"), draft.notice


def test_nothing_verified_returns_the_extractive_answer_with_a_notice(
    make_generator, extractive, pdsa_passages
):
    model = ScriptedChatModel([f"{UNSUPPORTED[:-1]} [1]. {OFF_TOPIC[:-1]} [2]."])
    draft = make_generator(model).generate(QUESTION, pdsa_passages)
    expected = extractive.generate(QUESTION, pdsa_passages)
    assert draft.notice == UNVERIFIED_NOTICE
    assert (draft.text, draft.citations) == (expected.text, expected.citations), (
        "the extractive answer stands"
    )


def test_a_model_that_finds_no_answer_gives_way_to_the_extractive_one(
    make_generator, extractive, pdsa_passages
):
    draft = make_generator(ScriptedChatModel([NOT_COVERED])).generate(QUESTION, pdsa_passages)
    assert draft.notice == DECLINED_NOTICE and draft.text == extractive.generate(QUESTION, pdsa_passages).text


def test_weak_evidence_abstains_without_calling_the_model(make_generator, pdsa_passages):
    model = ScriptedChatModel([])
    tokens: list[str] = []
    draft = make_generator(model).generate(OUT_OF_SCOPE, pdsa_passages, on_token=tokens.append)
    assert draft.abstained, "the extractive judge finds no evidence for an out-of-scope question"
    assert model.calls == [], "the model must not be asked when the library does not cover the question"
    assert tokens == [draft.text], "the abstention is still delivered through on_token"


def test_a_model_that_obeys_an_injected_instruction_is_caught(make_generator, extractive, pdsa_passages):
    passages = [injected_passage(), *pdsa_passages[:3]]
    model = ScriptedChatModel([obeys_injection])
    draft = make_generator(model).generate(QUESTION, passages)
    prompt = model.calls[0]
    assert INJECTION not in str(prompt[0].content), "the injection never reaches the system message"
    data = str(prompt[1].content).split("<excerpts>")[1].split("</excerpts>")[0]
    assert INJECTION in data, "the injection is quoted inside the data delimiters"
    assert "PWNED" not in draft.text, f"verification must reject the obeyed instruction: {draft.text}"
    assert draft.notice == UNVERIFIED_NOTICE
    assert draft.text == extractive.generate(QUESTION, passages).text


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (httpx.ConnectError("[Errno 111] Connection refused"), "could not be reached"),
        (httpx.ReadTimeout("timed out"), "did not answer in time"),
        (RuntimeError("model 'x' not found"), "returned an error (model 'x' not found)"),
    ],
)
def test_client_errors_fall_back_with_a_notice(make_generator, extractive, pdsa_passages, error, expected):
    draft = make_generator(ScriptedChatModel([error])).generate(QUESTION, pdsa_passages)
    assert (
        draft.notice == f"The LLM server at http://127.0.0.1:9/v1 {expected}; showing the extractive answer."
    )
    assert draft.text == extractive.generate(QUESTION, pdsa_passages).text and not draft.abstained


def test_after_an_outage_the_server_is_left_alone_for_a_while(make_generator, pdsa_passages):
    model = ScriptedChatModel([httpx.ConnectError("refused"), _cited(1)])
    generator = make_generator(model, retry_after_s=60)
    first = generator.generate(QUESTION, pdsa_passages)
    second = generator.generate(QUESTION, pdsa_passages)
    assert len(model.calls) == 1, "a second question within retry_after_s must not wait on a dead server"
    assert first.notice == second.notice and "could not be reached" in (second.notice or "")
    generator.health.retry_after_s = 0
    third = generator.generate(QUESTION, pdsa_passages)
    assert len(model.calls) == 2 and third.notice is None, "after the pause the server is tried again"


def test_a_failure_mid_stream_keeps_the_streamed_text_and_returns_the_fallback(make_generator, pdsa_passages):
    class Breaks(ScriptedChatModel):
        def _stream(self, messages, stop=None, run_manager=None, **kwargs):
            yield from list(super()._stream(messages, stop, run_manager, **kwargs))[:3]
            raise httpx.ReadTimeout("stalled")

    tokens: list[str] = []
    draft = make_generator(Breaks([_cited(1)])).generate(QUESTION, pdsa_passages, on_token=tokens.append)
    assert len(tokens) == 3, "the pieces before the failure were streamed, and nothing after them"
    assert draft.notice and "did not answer in time" in draft.notice
