"""The learned abstention model: its file, its features and the decision it makes."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rag.answer.abstain import (
    ABSTAIN_MODEL_FILE,
    DIRECTIONS,
    FEATURES,
    SUPPORT_FEATURES,
    abstention_features,
    answer_probability,
    evidence_score,
    learned_model,
    outside_support,
    should_abstain,
    support_floors,
)
from rag.answer.scope import ScopeSignals
from rag.config import Settings
from rag.types import Chunk, ScoredChunk


def test_the_shipped_model_has_every_feature_a_threshold_and_its_provenance():
    model = learned_model(ABSTAIN_MODEL_FILE)
    assert model.features == FEATURES
    assert model.threshold is not None and 0 < model.threshold < 1
    provenance = model.provenance
    for key in ("command", "questions", "features_sha256", "reranker_fingerprint", "cross_validation"):
        assert key in provenance, f"abstain.json provenance lacks {key!r}"
    cv = provenance["cross_validation"]
    assert cv["false_abstention"] <= 0.05 and cv["per_style"], cv


def test_every_weight_of_the_shipped_model_keeps_its_direction():
    # More relevance never lowers p(answerable) and more that the passages lack never raises it.
    model = learned_model(ABSTAIN_MODEL_FILE)
    assert set(DIRECTIONS) == set(FEATURES)
    wrong = {f: w for f, w in zip(model.features, model.weights, strict=True) if DIRECTIONS[f] * w < 0}
    assert not wrong, f"weights against their direction (refit, training/README.md): {wrong}"


def test_the_shipped_model_was_fitted_on_as_many_passages_as_the_engine_reads():
    # Its features (the best logit, the margin, the mean of three) shift with the passages read.
    provenance = learned_model(ABSTAIN_MODEL_FILE).provenance
    retrieval = Settings().retrieval
    fitted = provenance.get("neural_passages")
    assert fitted == retrieval.neural_passages, (
        f"abstain.json was fitted with {fitted} passages read; refit it (training/README.md)"
    )
    # The scope features (what no passage holds) shift with the passages handed over.
    handed = (provenance.get("k"), provenance.get("per_doc_cap"))
    assert handed == (retrieval.k, retrieval.per_doc_cap), (
        f"abstain.json was fitted with (k, per_doc_cap) = {handed}; refit it (training/README.md)"
    )


def _passage(name: str, logit: float | None) -> ScoredChunk:
    chunk = Chunk(id=name, doc_id=name, text="text", start=0, end=4)
    return ScoredChunk(chunk, 0.5, dense_score=0.5, keyword_score=3.0, rerank_score=0.5, neural_score=logit)


def test_features_read_the_cross_encoder_scores_best_first():
    evidence = evidence_score(0.6, 0.5)
    features = abstention_features(evidence, [_passage("a", 1.0), _passage("b", 4.0), _passage("c", 2.0)])
    assert features is not None and set(features) == set(FEATURES)
    assert features["ce_top"] == 4.0 and features["ce_margin"] == 2.0
    assert features["ce_mean3"] == pytest.approx(7.0 / 3)
    assert features["best_cosine"] == 0.6 and features["coverage"] == 0.5


def test_strong_passages_are_answered_and_weak_ones_declined():
    strong = [_passage("a", 8.0), _passage("b", 2.0)]
    weak = [_passage("a", -8.0), _passage("b", -9.0)]
    evidence_strong, evidence_weak = evidence_score(0.8, 0.9), evidence_score(0.2, 0.1)
    assert answer_probability(evidence_strong, strong) > answer_probability(evidence_weak, weak)
    assert not should_abstain(evidence_strong, 0.99, strong), (
        "the learned model ignores the fallback threshold"
    )
    assert should_abstain(evidence_weak, 0.0, weak)


def test_passages_unlike_the_question_are_declined_whatever_the_cross_encoder_says():
    floors = support_floors(ABSTAIN_MODEL_FILE)
    assert set(floors) == set(SUPPORT_FEATURES), "abstain.json has no support floors: refit it"
    confident = [_passage("a", 8.0), _passage("b", 2.0)]
    unlike = evidence_score(0.05, 0.0, ScopeSignals(passage_coverage=0.0))
    assert should_abstain(unlike, 0.0, confident)
    assert answer_probability(unlike, confident) == 0.0, "the probability agrees with the decision"
    like = evidence_score(0.8, 0.9, ScopeSignals(passage_coverage=1.0))
    assert not should_abstain(like, 1.0, confident)
    # Below one floor only is inside the support: the model decides.
    assert not outside_support({"best_cosine": 0.0, "passage_coverage": 1.0}, floors)
    assert not outside_support({"best_cosine": 0.0, "passage_coverage": 0.0}, {})


def test_without_neural_scores_the_hand_weighted_fallback_decides():
    passages = [replace(_passage("a", None), neural_score=None)]
    evidence = evidence_score(0.6, 0.5)
    assert abstention_features(evidence, passages) is None
    assert should_abstain(evidence, evidence.score + 0.01, passages)
    assert not should_abstain(evidence, evidence.score - 0.01, passages)


def test_the_engine_answers_on_topic_and_declines_off_domain_with_the_real_models(answer_engine):
    from rag.retrieve.cross_encoder import read_manifest

    on = answer_engine.ask("How many points in a row on one side of the median count as a shift?")
    assert not on.abstained, on.text
    assert any(c.source.endswith("run-charts.md") for c in on.citations), [c.source for c in on.citations]
    assert on.reranker_fingerprint == read_manifest().fingerprint
    off = answer_engine.ask("What is the loading dose of vancomycin for a 70 kg adult?")
    assert off.abstained and not off.citations, off.text
    assert off.nearest_documents, "a declined question still lists the nearest documents"
