"""The real `langchain-openai` client against a scripted OpenAI-compatible server on loopback."""

from __future__ import annotations

import socket

from rag.config import LLMSettings, Settings
from rag.llm.factory import MAX_RETRIES, make_generator
from rag.types import Turn
from tests.llm.fakes import FAITHFUL
from tests.llm.openai_server import Scripted

QUESTION = "How does the Model for Improvement use PDSA cycles?"
KEY = "sk-test-secret-key-0000"
ANSWER = f"{FAITHFUL[1][:-1]} [1]. {FAITHFUL[2][:-1]} [2]."


def _generator(url: str, embedder, extractive, timeout_s: float = 5.0):
    llm = LLMSettings(backend="openai", base_url=url, api_key=KEY, model="scripted", timeout_s=timeout_s)
    return make_generator("openai", Settings(llm=llm), embedder, extractive)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens here once the socket is closed


def test_a_streamed_answer_arrives_token_by_token(openai_server, shared_embedder, extractive, pdsa_passages):
    server = openai_server(Scripted(text=ANSWER))
    tokens: list[str] = []
    draft = _generator(server.url, shared_embedder, extractive).generate(
        QUESTION, pdsa_passages, on_token=tokens.append
    )
    assert len(tokens) == len(ANSWER.split()) and "".join(tokens) == ANSWER, (
        f"one SSE chunk per word: {tokens}"
    )
    assert draft.text == ANSWER and draft.notice is None and all(s.verified for s in draft.sentences), draft
    request = server.requests[0]
    assert request["path"] == "/v1/chat/completions" and request["body"]["stream"] is True
    assert request["body"]["model"] == "scripted" and request["headers"]["authorization"] == f"Bearer {KEY}"
    roles = [m["role"] for m in request["body"]["messages"]]
    assert roles == ["system", "user"] and "<excerpts>" in request["body"]["messages"][1]["content"]


def test_a_slow_server_times_out_to_the_extractive_answer(
    openai_server, shared_embedder, extractive, pdsa_passages
):
    server = openai_server(Scripted(text=ANSWER, delay_s=30))
    draft = _generator(server.url, shared_embedder, extractive, timeout_s=1.0).generate(
        QUESTION, pdsa_passages
    )
    assert (
        draft.notice
        == f"The LLM server at {server.url} did not answer in time; showing the extractive answer."
    )
    assert draft.text == extractive.generate(QUESTION, pdsa_passages).text and not draft.abstained
    assert len(server.requests) == 1 + MAX_RETRIES, "one retry at most, so a timeout is not multiplied"


def test_a_refused_key_gives_a_notice_without_the_key(
    openai_server, shared_embedder, extractive, pdsa_passages
):
    error = {"error": {"message": f"Incorrect API key provided: {KEY}.", "type": "invalid_request_error"}}
    server = openai_server(Scripted(status=401, error=error))
    draft = _generator(server.url, shared_embedder, extractive).generate(QUESTION, pdsa_passages)
    assert draft.notice and "refused the API key" in draft.notice, draft.notice
    assert KEY not in draft.notice and "sk-" not in draft.notice, "the key must never appear in a message"
    assert draft.text == extractive.generate(QUESTION, pdsa_passages).text
    assert len(server.requests) == 1, "a refused key is not retried"


def test_a_server_that_is_down_gives_a_notice(shared_embedder, extractive, pdsa_passages):
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    draft = _generator(url, shared_embedder, extractive).generate(QUESTION, pdsa_passages)
    assert draft.notice == f"The LLM server at {url} could not be reached; showing the extractive answer."
    assert draft.text == extractive.generate(QUESTION, pdsa_passages).text


def test_another_api_error_shows_the_servers_reason(
    openai_server, shared_embedder, extractive, pdsa_passages
):
    server = openai_server(Scripted(status=404, error={"error": {"message": "model 'scripted' not found"}}))
    draft = _generator(server.url, shared_embedder, extractive).generate(QUESTION, pdsa_passages)
    assert draft.notice == (
        f"The LLM server at {server.url} returned an error (HTTP 404: model 'scripted' not found); "
        "showing the extractive answer."
    )


def test_condensing_uses_a_plain_json_completion(openai_server, shared_embedder, extractive):
    reply = "How do I run a PDSA cycle in primary care?"
    server = openai_server(Scripted(text=reply))
    generator = _generator(server.url, shared_embedder, extractive)
    history = [Turn("How do I run a PDSA cycle?", "Plan, do, study, act [1].")]
    assert generator.condense("and in primary care?", history) == reply
    body = server.requests[0]["body"]
    assert not body.get("stream"), "condensing needs no streaming: one JSON completion"
    assert "<conversation>" in body["messages"][1]["content"]
