"""Fixtures for the generative backends: real corpus passages, the extractive fallback, an
`LLMGenerator` builder and the scripted OpenAI-compatible server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rag.types import ScoredChunk
from tests.llm.openai_server import OpenAIServer, Scripted, start_server, stop_server

CORPUS = Path(__file__).resolve().parents[2] / "corpus"


@pytest.fixture(scope="session")
def pdsa_document():
    """The starter library's Model for Improvement document, loaded with the real Markdown loader."""
    from rag.config import Settings
    from rag.ingest.loaders.markdown import load

    return load(CORPUS / "model-for-improvement-pdsa.md", Settings())


@pytest.fixture(scope="session")
def pdsa_passages(pdsa_document) -> list[ScoredChunk]:
    """Its first four chunks (real chunking) as retrieved passages, best first."""
    from rag.config import Settings
    from rag.ingest.chunking import chunk_document

    chunks = chunk_document(pdsa_document, Settings().chunking)
    assert len(chunks) >= 4, "the PDSA document should make at least four chunks"
    return [ScoredChunk(chunk, 1.0 - 0.1 * rank) for rank, chunk in enumerate(chunks[:4])]


@pytest.fixture(scope="session")
def shared_embedder(embedder):
    """The real model behind the engine's query cache, as `ChangeGuide` shares it between stages."""
    from rag.retrieve.dense import CachedEmbedder

    return CachedEmbedder(embedder)


@pytest.fixture(scope="session")
def extractive(shared_embedder):
    from rag.answer.extractive import ExtractiveGenerator

    return ExtractiveGenerator(shared_embedder)


@pytest.fixture()
def make_generator(shared_embedder, extractive):
    """Build an `LLMGenerator` around a chat model, with the real embedder and extractive fallback."""
    from rag.llm.failures import ServerHealth
    from rag.llm.generator import LLMGenerator

    def build(chat_model, server: str = "http://127.0.0.1:9/v1", **health_kwargs) -> LLMGenerator:
        health = ServerHealth(server, **health_kwargs)
        return LLMGenerator("openai", chat_model, shared_embedder, extractive, health)

    return build


@pytest.fixture()
def openai_server() -> Iterator[Callable[..., OpenAIServer]]:
    """Start a scripted server: `openai_server(Scripted(...), ...)` returns it, with its /v1 URL."""
    started = []

    def start(*script: Scripted) -> OpenAIServer:
        httpd, state = start_server(*script)
        started.append((httpd, state))
        return state

    yield start
    for httpd, state in started:
        stop_server(httpd, state)
