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


def test_signs_hold_each_weight_to_its_direction_at_the_constrained_optimum():
    # b is a near-copy of a, so the free fit gives it a negative weight to sharpen a's: a direction
    # that holds only on this sample. Constrained to +1, it stays at 0 and a carries the signal.
    rng = np.random.default_rng(1)
    a = rng.normal(size=300)
    b = a + rng.normal(scale=0.3, size=300)
    y = (a - 0.6 * b + rng.normal(scale=0.3, size=300) > 0).astype(float)
    x = np.column_stack([a, b])
    free = fit_logistic(x, y, ["a", "b"], name="m")
    assert free.weights[1] < 0, free.weights
    held = fit_logistic(x, y, ["a", "b"], name="m", signs=[1, 1])
    assert held.weights[1] == 0.0 and held.weights[0] > 0, held.weights
    assert fit_logistic(x, y, ["a", "b"], name="m", signs=[0, 0]).weights == free.weights
    # Optimality (KKT): the gradient vanishes on the free weight and pushes the held one below 0.
    z = np.column_stack([(x - held.mean) / held.scale, np.ones(len(y))])
    w = np.array([*held.weights, held.bias])
    p = 1 / (1 + np.exp(-(z @ w)))
    grad = z.T @ (p - y) + np.array([1.0, 1.0, 0.0]) * w
    assert abs(grad[0]) < 1e-6 and abs(grad[2]) < 1e-6 and grad[1] > 0, grad


def test_signs_must_be_one_direction_per_feature():
    x, y = _data()
    with pytest.raises(ValueError, match="signs"):
        fit_logistic(x, y, ["a", "b"], name="m", signs=[1])
    with pytest.raises(ValueError, match="signs"):
        fit_logistic(x, y, ["a", "b"], name="m", signs=[2, 0])
