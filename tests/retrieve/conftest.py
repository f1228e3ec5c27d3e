"""A small real index (real model, real Chroma and BM25) of the documents in library.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.retrieve.library import DOCUMENTS, build_document


@pytest.fixture(scope="module")
def small_index(tmp_path_factory, embedder) -> Iterator[Any]:
    """An `Index` holding DOCUMENTS, with vectors from the real model."""
    from rag.config import Settings
    from rag.index.store import Index

    settings = Settings().with_index_dir(tmp_path_factory.mktemp("retrieve") / "index")
    index = Index.open(settings)
    with index.batch():
        for name in DOCUMENTS:
            doc, chunks = build_document(name)
            index.add_document(doc, chunks, embedder.embed_batch([c.text for c in chunks]))
    yield index
    index.close()


@pytest.fixture(scope="module")
def cached_embedder(embedder):
    from rag.retrieve.dense import CachedEmbedder

    return CachedEmbedder(embedder)
