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
    # Resolved, as ingestion stores sources: shared/ may be reached through a symbolic link.
    return SHARED_DOCS.resolve()


@pytest.fixture(scope="session")
def embedder():
    """The real bundled all-MiniLM-L6-v2 in the default runtime (settings), loaded once per test session.

    Tests build indexes with `Settings()`, whose fingerprint names the default runtime, so the
    vectors must come from that runtime too.
    """
    from rag.index.embedding import make_embedder

    return make_embedder()


@pytest.fixture()
def settings(tmp_path):
    """Default settings with the index in a fresh temporary folder."""
    from rag.config import Settings

    return Settings().with_index_dir(tmp_path / "index")


# Briefs (plus one hand-made note with a table, fragments, references and a repeated
# paragraph) behind the answer and `ask` tests; a handful keeps the index quick to build.
ANSWER_BRIEFS = ("run-charts.md", "funnel-plots.md", "psychological-safety.md", "kotter-eight-steps.md")
ANSWER_NOTE = REPO / "tests" / "answer" / "data" / "safety-huddles.md"


@pytest.fixture(scope="session")
def answer_engine(tmp_path_factory, embedder):
    """A `ChangeGuide` over a real index of `ANSWER_BRIEFS` and `ANSWER_NOTE`, shared by the session."""
    import shutil

    from rag.config import Settings
    from rag.engine import ChangeGuide

    folder = tmp_path_factory.mktemp("answer-docs")
    for path in [*(CORPUS / name for name in ANSWER_BRIEFS), ANSWER_NOTE]:
        shutil.copy(path, folder / path.name)
    index_dir = tmp_path_factory.mktemp("answer-index") / "index"
    engine = ChangeGuide(Settings().with_index_dir(index_dir), embedder=embedder)
    report = engine.ingest([folder])
    assert report.ok and len(report.added) == len(ANSWER_BRIEFS) + 1, f"answer test index failed: {report}"
    yield engine
    engine.close()
