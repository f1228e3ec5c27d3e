"""Shared fixtures: the real bundled model, real Chroma in tmp_path, the real shared documents."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SHARED_DOCS = SHARED / "docs"
CORPUS = REPO / "corpus"


@pytest.fixture(scope="session")
def shared_docs() -> Path:
    if not SHARED_DOCS.is_dir():
        pytest.fail(f"the shared documents are expected at {SHARED_DOCS}")
    return SHARED_DOCS


@pytest.fixture(scope="session")
def embedder():
    """The real bundled all-MiniLM-L6-v2, loaded once per test session."""
    from rag.index.embedding import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()


@pytest.fixture()
def settings(tmp_path):
    """Default settings with the index in a fresh temporary folder."""
    from rag.config import Settings

    return Settings().with_index_dir(tmp_path / "index")
