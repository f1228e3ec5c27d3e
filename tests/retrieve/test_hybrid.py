"""First-stage retrieval on a small real index: modes, fusion against single retrievers, filters."""

from __future__ import annotations

import pytest

from rag.retrieve.hybrid import HybridRetriever
from rag.types import Filters
from tests.retrieve.library import (
    DOCUMENTS,
    KEYWORD_QUERY,
    KEYWORD_TARGET,
    PARAPHRASE_QUERY,
    PARAPHRASE_TARGET,
    chunk_id,
    doc_id,
)


@pytest.fixture(scope="module")
def retriever(small_index, cached_embedder):
    return HybridRetriever(small_index, cached_embedder)


def _top(results) -> str:
    assert results, "the search returned nothing"
    return results[0].chunk.id


def test_hybrid_finds_an_exact_code_that_dense_search_misses(retriever):
    target = chunk_id(*KEYWORD_TARGET)
    assert _top(retriever.search(KEYWORD_QUERY, 40, mode="dense")) != target, (
        "premise: near-identical codes should fool dense search"
    )
    assert _top(retriever.search(KEYWORD_QUERY, 40, mode="bm25")) == target, "premise: BM25 matches the code"
    assert _top(retriever.search(KEYWORD_QUERY, 40)) == target, (
        "hybrid search should put the exact match first"
    )


def test_hybrid_finds_a_paraphrase_that_bm25_misses(retriever):
    target = chunk_id(*PARAPHRASE_TARGET)
    assert _top(retriever.search(PARAPHRASE_QUERY, 40, mode="bm25")) != target, (
        "premise: the shared words should lure BM25 to the wrong passage"
    )
    assert _top(retriever.search(PARAPHRASE_QUERY, 40, mode="dense")) == target, (
        "premise: dense sees the meaning"
    )
    assert _top(retriever.search(PARAPHRASE_QUERY, 40)) == target, (
        "hybrid search should put the paraphrase first"
    )


def test_fused_scores_and_stage_scores(retriever):
    results = retriever.search(KEYWORD_QUERY, 40)
    scores = [r.score for r in results]
    assert scores == sorted(scores, reverse=True), "results come best first"
    assert len({r.chunk.id for r in results}) == len(results), "no chunk twice"
    top = results[0]
    assert top.keyword_score is not None and top.keyword_score > 0, "the BM25 hit keeps its BM25 score"
    assert top.dense_score is not None and -1.0 <= top.dense_score <= 1.0, "and its cosine"
    dense_only = [r for r in results if r.keyword_score is None]
    assert dense_only and all(r.dense_score is not None for r in dense_only), "dense-only hits carry a cosine"


def test_modes_use_only_their_retriever(retriever):
    bm25 = retriever.search(KEYWORD_QUERY, 40, mode="bm25")
    assert [r.chunk.id for r in bm25] == [chunk_id(*KEYWORD_TARGET)], "only one chunk contains the code"
    assert all(r.dense_score is None for r in bm25), "BM25 mode must not run dense search"
    dense = retriever.search(KEYWORD_QUERY, 3, mode="dense")
    assert len(dense) == 3 and all(r.keyword_score is None for r in dense), "n caps each retriever"
    with pytest.raises(ValueError, match="mode"):
        retriever.search(KEYWORD_QUERY, 5, mode="fuzzy")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("filters", "allowed"),
    [
        (Filters(doc_ids=frozenset({doc_id("lean"), doc_id("kotter")})), {"lean", "kotter"}),
        (Filters(topics=frozenset({"Wellbeing"})), {"wellbeing"}),
        (Filters(formats=frozenset({"pdf"})), {"wellbeing", "theatres"}),
        (Filters(year_min=2019, year_max=2021), {"wellbeing", "discharge"}),
        (Filters(topics=frozenset({"flow", "finance"}), year_min=2022), {"theatres"}),
    ],
)
def test_filters_restrict_both_retrievers(retriever, filters, allowed):
    allowed_ids = {doc_id(name) for name in allowed}
    for query in (KEYWORD_QUERY, PARAPHRASE_QUERY):
        results = retriever.search(query, 40, filters)
        got = {r.chunk.doc_id for r in results}
        assert got and got <= allowed_ids, f"{filters} allows {allowed}, got documents {got}"
    everything = sum(len(DOCUMENTS[name][2]) for name in allowed)
    assert len(retriever.search(PARAPHRASE_QUERY, 40, filters, mode="dense")) == everything, (
        "a selective filter still yields every allowed chunk, not a post-filtered few"
    )


def test_a_filter_that_excludes_everything_returns_nothing(retriever):
    assert retriever.search(PARAPHRASE_QUERY, 40, Filters(topics=frozenset({"astronomy"}))) == []
    assert retriever.search(PARAPHRASE_QUERY, 40, Filters(year_min=2030)) == []
