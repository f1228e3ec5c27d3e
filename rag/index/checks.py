"""`Index.verify`: the registry, Chroma and BM25 compared, chunk by chunk."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from rag.index.keyword import KeywordIndex
from rag.index.registry import DocumentRecord, Registry
from rag.index.vector_store import VectorStore


def disagreements(
    registry: Registry,
    vectors: VectorStore,
    keyword: KeywordIndex,
    saved_keyword: Path,
    records: Iterable[DocumentRecord],
) -> list[str]:
    """What does not agree between the stores (empty when they agree).

    The caller holds the write lock, so no change lands while the stores are read; `keyword`
    must be built at the registry's current generation.
    """
    expected = registry.all_chunk_ids()
    problems = []
    stored = vectors.all_ids()
    if stored != expected:
        problems.append(
            f"Chroma has {len(stored - expected)} vectors the registry lacks and "
            f"lacks {len(expected - stored)} of its chunks"
        )
    if set(keyword.chunk_ids) != expected or len(keyword) != len(expected):
        problems.append(f"BM25 holds {len(keyword)} chunks, the registry {len(expected)}")
    on_disk = KeywordIndex.load(saved_keyword)
    if (
        on_disk is not None
        and on_disk.generation == keyword.generation
        and set(on_disk.chunk_ids) != expected
    ):
        problems.append("the saved BM25 index claims the current generation but holds other chunks")
    for record in records:
        if record.n_chunks != len(registry.chunk_ids(record.doc_id)):
            problems.append(f"document {record.doc_id} records {record.n_chunks} chunks but has others")
    return problems
