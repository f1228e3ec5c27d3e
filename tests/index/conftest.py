"""Small hand-built documents with vectors from the real model, for the index tests."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rag.types import Chunk, SourceDocument, content_hash

# Paragraphs are chunks; each paragraph is distinctive enough for both retrievers to find it.
TEXTS = {
    "ethics": (
        "Ethics and data storage statement. Interview recordings were kept on an encrypted drive "
        "and destroyed after transcription.\n\n"
        "Participants gave written consent and could withdraw at any time without giving a reason."
    ),
    "infection": (
        "Infection Control Domains for Gap Assessment. Hand hygiene, environmental cleaning and "
        "personal protective equipment are assessed separately.\n\n"
        "Each domain is scored by the infection prevention lead during a ward walk-round."
    ),
    "lean": (
        "Lean thinking in hospitals removes waste from patient pathways: waiting, duplicated tests "
        "and unnecessary movement.\n\n"
        "Value stream mapping shows every step a patient takes from referral to discharge."
    ),
    "kotter": (
        "Kotter's eight steps begin with a sense of urgency and a guiding coalition.\n\n"
        "Short-term wins keep momentum; the final step anchors new approaches in the culture."
    ),
}

META: dict[str, dict[str, Any]] = {
    "ethics": {"topics": ["Research", "Governance"], "year": 2019, "file_sha256": "e" * 64},
    "infection": {"topics": ["Infection prevention"], "year": 2023},
    "lean": {"topics": ["Improvement", "Flow"], "year": 2012},
    "kotter": {"topics": ["Leadership"]},
}
FORMATS = {"ethics": "pdf", "infection": "pdf", "lean": "markdown", "kotter": "text"}


@dataclass(frozen=True)
class Doc:
    """A document ready for `Index.add_document`."""

    doc: SourceDocument
    chunks: tuple[Chunk, ...]
    vectors: np.ndarray

    @property
    def id(self) -> str:
        return self.doc.doc_id

    @property
    def chunk_ids(self) -> list[str]:
        return [c.id for c in self.chunks]


def build_doc(
    text: str, source: str, embedder, fmt: str = "text", meta: Mapping[str, Any] | None = None
) -> Doc:
    """A document whose paragraphs are its chunks, embedded with `embedder`."""
    doc_id = content_hash(text)
    chunks, start = [], 0
    for ordinal, paragraph in enumerate(text.split("\n\n")):
        start = text.index(paragraph, start)
        end = start + len(paragraph)
        chunks.append(
            Chunk(
                id=content_hash(doc_id, str(start), str(end), paragraph),
                doc_id=doc_id,
                text=paragraph,
                start=start,
                end=end,
                page=ordinal + 1 if fmt == "pdf" else None,
                page_end=ordinal + 1 if fmt == "pdf" else None,
                section="Intro" if ordinal == 0 else None,
                ordinal=ordinal,
                meta={"title": source, "source": source},
            )
        )
        start = end
    doc = SourceDocument(
        doc_id=doc_id,
        title=source.rsplit("/", 1)[-1],
        source=source,
        format=fmt,  # type: ignore[arg-type]
        text=text,
        meta=dict(meta or {}),
        page_count=len(chunks) if fmt == "pdf" else None,
        size_bytes=len(text.encode()),
    )
    return Doc(doc, tuple(chunks), embedder.embed_batch([c.text for c in chunks]))


@pytest.fixture(scope="session")
def make_doc(embedder) -> Callable[..., Doc]:
    """Factory: `make_doc(text, source, fmt="text", meta=None)` with real embeddings."""

    def make(text: str, source: str, fmt: str = "text", meta: Mapping[str, Any] | None = None) -> Doc:
        return build_doc(text, source, embedder, fmt, meta)

    return make


@pytest.fixture(scope="session")
def library(make_doc) -> dict[str, Doc]:
    """Four small documents, by name."""
    return {
        name: make_doc(text, f"/library/{name}.txt", FORMATS[name], META[name])
        for name, text in TEXTS.items()
    }


@dataclass(frozen=True)
class DiskState:
    """What each of the three stores of a closed index holds, read with the component classes."""

    documents: frozenset[str]
    registry: frozenset[str]
    chroma: frozenset[str]
    bm25: frozenset[str] | None  # None: no saved BM25 index
    bm25_generation: int | None
    generation: int
    journal: bool


def read_disk_state(path: Path) -> DiskState:
    from rag.index.keyword import KeywordIndex
    from rag.index.manifest import BM25, CHROMA, JOURNAL, REGISTRY
    from rag.index.registry import Registry
    from rag.index.vector_store import ChromaVectorStore

    registry = Registry(path / REGISTRY)
    try:
        documents = frozenset(r.doc_id for r in registry.records())
        chunk_ids = frozenset(registry.all_chunk_ids())
        generation = registry.generation()
    finally:
        registry.close()
    vectors = ChromaVectorStore(path / CHROMA)
    try:
        chroma = frozenset(vectors.all_ids())
    finally:
        vectors.close()
    keyword = KeywordIndex.load(path / BM25)
    return DiskState(
        documents=documents,
        registry=chunk_ids,
        chroma=chroma,
        bm25=None if keyword is None else frozenset(keyword.chunk_ids),
        bm25_generation=None if keyword is None else keyword.generation,
        generation=generation,
        journal=(path / JOURNAL).exists(),
    )


@pytest.fixture(scope="session")
def disk_state() -> Callable[[Path], DiskState]:
    """`disk_state(index_dir)`: read a closed index's stores independently of `Index`."""
    return read_disk_state


def assert_agree(state: DiskState) -> None:
    assert state.registry == state.chroma, (
        f"Chroma and the registry disagree: only in Chroma {sorted(state.chroma - state.registry)}, "
        f"only in the registry {sorted(state.registry - state.chroma)}"
    )
    assert state.bm25 == state.registry, f"BM25 {state.bm25} disagrees with the registry {state.registry}"
    assert state.bm25_generation == state.generation, (
        f"saved BM25 is stamped {state.bm25_generation}, the registry is at {state.generation}"
    )
    assert not state.journal, "a journal was left behind"


@pytest.fixture(scope="session")
def stores_agree() -> Callable[[DiskState], None]:
    """`stores_agree(state)`: assert the three stores of a closed index hold the same chunks."""
    return assert_agree


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """One real Chroma server for the session (tests use their own collections or index folders)."""
    from tests.index.chroma_server import start

    server = start(tmp_path_factory.mktemp("chroma-server") / "db")
    yield server
    server.stop()
