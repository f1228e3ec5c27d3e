"""The shipped sentence-selection model: its features, and where it came from."""

from __future__ import annotations

import json
import re

from rag.answer.extractive import MODEL_NAME, MODEL_PATH, default_model
from rag.answer.features import FEATURES


def test_the_model_scores_the_features_the_answerer_computes():
    model = default_model()
    assert model.features == FEATURES, f"model features {model.features} != answer features {FEATURES}"
    assert all(s > 0 for s in model.scale), "a zero scale would divide by zero"
    values = dict.fromkeys(FEATURES, 0.0)
    assert 0.0 < model.score(values) < 1.0


def test_provenance_names_the_command_the_tuning_data_and_the_cross_validation():
    entry = json.loads(MODEL_PATH.read_text(encoding="utf-8"))[MODEL_NAME]
    provenance = entry["provenance"]
    assert "training/fit_sentences.py" in provenance["command"], provenance["command"]
    assert provenance["data"] == "evals/questions/managers-dev.jsonl", "fitted on the tuning split only"
    assert "test" not in provenance["data"], "never fitted on the held-out split"
    assert re.fullmatch(r"[0-9a-f]{16}", provenance["data_sha256"]), provenance["data_sha256"]
    cv = provenance["cv"]
    chosen = cv["chosen"]
    assert cv["l2"] > 0 and chosen["name"] in cv, "the chosen fit is one of those cross-validated"
    assert 0.5 < cv[chosen["name"]]["auc"] <= 1.0, cv
    assert "hand_weighted" in cv, "the hand-weighted score it replaces is measured on the same folds"
    selection = provenance["selection"]
    assert 0 < selection["relative_floor"] <= selection["extend_floor"] <= 1, selection
    assert provenance["folds"] >= 2 and isinstance(provenance["seed"], int)


def test_the_fitted_weights_point_the_expected_way():
    weights = dict(zip(default_model().features, default_model().weights, strict=True))
    assert weights["cosine"] > 0, "closer sentences should score higher"
    assert weights["coverage"] > 0, "sentences holding the question's words should score higher"
