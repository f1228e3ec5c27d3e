"""The shared logistic model: fit recovers a separable rule, round-trips through JSON, fails clearly."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rag.errors import ConfigError
from rag.models.linear import fit_logistic, load_model


def _data(n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 2)) * [1.0, 5.0] + [0.0, 10.0]
    y = (x[:, 0] + 0.2 * (x[:, 1] - 10.0) > 0).astype(float)
    return x, y


def test_fit_separates_and_is_deterministic():
    x, y = _data()
    a = fit_logistic(x, y, ["a", "b"], name="m")
    b = fit_logistic(x, y, ["a", "b"], name="m")
    accuracy = float(((a.proba(x) > 0.5) == (y == 1)).mean())
    assert accuracy > 0.95, f"a linearly separable rule should be learned, got accuracy {accuracy:.2f}"
    assert a.weights == b.weights, "the fit must be deterministic"
    assert a.weights[0] > 0 and a.weights[1] > 0, f"both features push towards 1: {a.weights}"


def test_round_trip_and_named_scoring(tmp_path):
    x, y = _data()
    model = fit_logistic(x, y, ["a", "b"], name="m")
    path = tmp_path / "models.json"
    path.write_text(json.dumps({"m": model.to_json()}))
    loaded = load_model(path, "m")
    assert loaded.fingerprint() == model.fingerprint()
    assert loaded.score({"a": 2.0, "b": 10.0}) > 0.9
    assert loaded.score({"a": -2.0, "b": 10.0}) < 0.1
    with pytest.raises(KeyError, match="needs features"):
        loaded.score({"a": 1.0})


def test_missing_model_names_the_fix(tmp_path):
    path = tmp_path / "models.json"
    path.write_text("{}")
    with pytest.raises(ConfigError, match="training/README.md"):
        load_model(path, "abstain")
