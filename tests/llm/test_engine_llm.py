"""`ChangeGuide.ask` with the openai backend: a real index, the real client, a scripted server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from rag.answer.sentences import is_quotable, split_sentences
from rag.config import LLMSettings, Settings
from rag.engine import ChangeGuide
from rag.types import Turn
from tests.llm.openai_server import OpenAIServer, Scripted, start_server, stop_server

CORPUS = Path(__file__).resolve().parents[2] / "corpus"
DOCUMENTS = ("model-for-improvement-pdsa.md", "run-charts.md", "lean-in-healthcare.md")
CONDENSED = "How are PDSA cycles used to test changes in primary care?"


def quote_first_excerpt(body: dict) -> str:
    """A faithful model: the first quotable sentence of excerpt 1, cited [1]."""
    prompt = body["messages"][-1]["content"]
    excerpt = re.search(r'<excerpt n="1"[^>]*>\n(.*?)\n</excerpt>', prompt, re.DOTALL)
    assert excerpt, "the prompt numbers its excerpts from 1"
    sentence = next(s.text for s in split_sentences(excerpt.group(1)) if is_quotable(s))
    return f"{' '.join(sentence.split())[:-1]} [1]."


@pytest.fixture(scope="module")
def server() -> Iterator[OpenAIServer]:
    httpd, state = start_server(Scripted())
    yield state
    stop_server(httpd, state)


@pytest.fixture(scope="module")
def engine(tmp_path_factory, embedder, server) -> Iterator[ChangeGuide]:
    llm = LLMSettings(base_url=server.url, api_key=SecretStr("sk-engine-test-0000"), timeout_s=5)
    settings = Settings(llm=llm).with_index_dir(tmp_path_factory.mktemp("llm-engine") / "index")
    guide = ChangeGuide(settings, embedder)
    report = guide.ingest([CORPUS / name for name in DOCUMENTS])
    assert guide.stats().documents == len(DOCUMENTS), f"the test library should hold its documents: {report}"
    yield guide
    guide.close()


def test_ask_streams_a_verified_answer_with_verbatim_citations(engine, server):
    server.requests.clear()
    server.script[:] = [Scripted(text=quote_first_excerpt)]
    tokens: list[str] = []
    answer = engine.ask("How does a PDSA cycle work?", backend="openai", on_token=tokens.append)
    assert answer.backend == "openai" and not answer.abstained and answer.notice is None, answer.notice
    assert len(tokens) > 3 and "".join(tokens) == answer.text, "the answer streamed word by word"
    assert [s.verified for s in answer.sentences] == [True] and [c.n for c in answer.citations] == [1]
    citation = answer.citations[0]
    assert citation.chunk_id == answer.retrieved[0].chunk.id, "citation 1 is the first retrieved passage"
    text = engine.index.document_text(citation.doc_id)
    assert text[citation.start : citation.end] == citation.excerpt, "the excerpt is verbatim document text"


def test_a_follow_up_is_condensed_by_the_model(engine, server):
    server.requests.clear()
    server.script[:] = [Scripted(text=CONDENSED), Scripted(text=quote_first_excerpt)]
    history = [Turn("How does a PDSA cycle work?", "Plan, do, study, act [1].")]
    answer = engine.ask("and in primary care?", history=history, backend="openai")
    assert answer.question == "and in primary care?" and answer.standalone_question == CONDENSED
    condense, generate = (r["body"] for r in server.requests)
    assert not condense.get("stream") and generate["stream"] is True, "condense (JSON), then the answer (SSE)"
    assert CONDENSED in generate["messages"][-1]["content"], "the answer is asked for the condensed question"
    assert answer.sentences and answer.sentences[0].verified


def test_the_extractive_backend_keeps_the_deterministic_rewrite(engine, server):
    server.requests.clear()
    history = [Turn("How does a PDSA cycle work?", "Plan, do, study, act [1].")]
    answer = engine.ask("and in primary care?", history=history, backend="extractive")
    assert server.requests == [], "no LLM call without an LLM backend"
    assert "PDSA" in answer.standalone_question and answer.standalone_question != "and in primary care?"
