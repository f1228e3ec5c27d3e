"""The second stage: feature reranker on the small real index, and its section-intent features."""

from __future__ import annotations

import numpy as np
import pytest

from rag.retrieve.features import FEATURES, intent_features
from rag.retrieve.hybrid import HybridRetriever
from rag.retrieve.rerank import WEIGHTS, FeatureReranker, FusionOrder
from tests.retrieve.library import KEYWORD_QUERY, KEYWORD_TARGET, PARAPHRASE_QUERY, chunk_id


@pytest.fixture(scope="module")
def candidates(small_index, cached_embedder):
    return HybridRetriever(small_index, cached_embedder).search(PARAPHRASE_QUERY, 40)


@pytest.fixture(scope="module")
def reranker(small_index, cached_embedder):
    return FeatureReranker(small_index, cached_embedder)


def test_rerank_scores_are_probabilities_best_first(reranker, candidates):
    ranked = reranker.rerank(PARAPHRASE_QUERY, candidates, 5)
    assert len(ranked) == 5, "k limits the result"
    scores = [r.score for r in ranked]
    assert all(0.0 < s < 1.0 for s in scores), f"logistic scores lie in (0, 1): {scores}"
    assert scores == sorted(scores, reverse=True), "best first"
    assert all(r.rerank_score == r.score for r in ranked), "the stage score is recorded"
    assert {r.chunk.id for r in ranked} <= {c.chunk.id for c in candidates}, "only candidates come back"


def test_every_candidate_gets_its_exact_cosine(reranker, candidates, small_index, embedder):
    ranked = reranker.rerank(PARAPHRASE_QUERY, candidates, len(candidates))
    assert len(ranked) == len(candidates)
    query = embedder.embed_batch([PARAPHRASE_QUERY])[0]
    vectors = small_index.chunk_vectors([r.chunk.id for r in ranked])
    expected = vectors @ query
    got = np.array([r.dense_score for r in ranked])
    assert np.allclose(got, expected, atol=1e-4), (
        "dense_score is the exact cosine, keyword-only hits included"
    )


def test_the_exact_match_stays_first(reranker, small_index, cached_embedder):
    candidates = HybridRetriever(small_index, cached_embedder).search(KEYWORD_QUERY, 40)
    assert reranker.rerank(KEYWORD_QUERY, candidates, 3)[0].chunk.id == chunk_id(*KEYWORD_TARGET)


def test_feature_matrix_shape_and_ranges(reranker, candidates):
    x = reranker.features(PARAPHRASE_QUERY, candidates)
    assert x.shape == (len(candidates), len(FEATURES))
    assert np.isfinite(x).all(), "no NaN or infinite features"
    for name in ("bm25", "coverage", "sentence_coverage", "pairs", "heading_terms", "rrf"):
        column = x[:, FEATURES.index(name)]
        assert column.min() >= 0.0 and column.max() <= 1.0, f"{name} is normalised to [0, 1]"
    assert x[:, FEATURES.index("cosine_gap")].max() == pytest.approx(0.0), "the best cosine has gap 0"


def test_fusion_order_and_empty_input(reranker, candidates):
    assert [c.chunk.id for c in FusionOrder().rerank(PARAPHRASE_QUERY, candidates, 4)] == [
        c.chunk.id for c in candidates[:4]
    ], "the baseline keeps the RRF order"
    assert reranker.rerank(PARAPHRASE_QUERY, [], 5) == []
    with pytest.raises(ValueError, match="weights"):
        FeatureReranker(reranker.index, reranker.embedder, weights=WEIGHTS[:-1])


@pytest.mark.parametrize(
    ("question", "section", "expected"),
    [
        ("What is a run chart?", "Run charts > What it is", (1.0, 0.0, 0.0)),
        ("What is a run chart?", "Run charts", (1.0, 0.0, 0.0)),  # a document's opening
        ("What is a run chart?", "Run charts > Common pitfalls", (0.0, 1.0, 0.0)),
        ("What are the pitfalls of run charts?", "Run charts > Common pitfalls", (1.0, 0.0, 0.0)),
        ("How do I apply PDSA cycles?", "PDSA > How to apply it", (1.0, 0.0, 0.0)),
        ("Is there evidence that Lean works?", "Lean > What the evidence shows", (1.0, 0.0, 0.0)),
        ("Is there evidence that Lean works?", "Lean > Key sources", (0.0, 0.0, 1.0)),
        ("Tell me about Lean", None, (0.0, 0.0, 0.0)),
    ],
)
def test_intent_features(question, section, expected):
    assert intent_features(question, section) == expected, f"{question!r} in section {section!r}"


def test_warm_embeds_each_document_profile_once(small_index, cached_embedder):
    fresh = FeatureReranker(small_index, cached_embedder)
    assert fresh.warm() == len(small_index.documents()), "every document's profile is embedded"
    assert fresh.warm() == 0, "and only once"
