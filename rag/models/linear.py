"""Logistic models fitted offline (training/) and applied here with NumPy only.

A model is a named entry of a JSON file: feature names, standardisation (mean, scale), weights,
bias, an optional decision threshold, and the provenance (command, data hash, CV figures). The
fit itself lives beside it (`fit_logistic`) so training scripts and tests share one definition.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import ConfigError


@dataclass(frozen=True)
class LinearModel:
    """p(y=1 | x) = sigmoid(w . (x - mean) / scale + b) over named features."""

    name: str
    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    threshold: float | None = None  # decision threshold on the probability, when the model decides
    provenance: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.features)
        if not (len(self.weights) == len(self.mean) == len(self.scale) == n):
            raise ConfigError(f"Model {self.name!r}: features, weights, mean and scale differ in length.")

    def vector(self, values: Mapping[str, float]) -> np.ndarray:
        """The model's feature vector from a mapping (a missing feature is an error, not a zero)."""
        missing = [f for f in self.features if f not in values]
        if missing:
            raise KeyError(f"Model {self.name!r} needs features {missing}.")
        return np.array([float(values[f]) for f in self.features], dtype=np.float64)

    def proba(self, x: np.ndarray) -> np.ndarray:
        """Probabilities for the rows of `x` (n x features) or a single vector."""
        z = (np.atleast_2d(x) - np.array(self.mean)) / np.array(self.scale)
        logits = z @ np.array(self.weights) + self.bias
        return 1.0 / (1.0 + np.exp(-logits))

    def score(self, values: Mapping[str, float]) -> float:
        """Probability for one example given as a feature mapping."""
        return float(self.proba(self.vector(values))[0])

    def fingerprint(self) -> str:
        """Short hash of what the model computes (features, weights, threshold)."""
        payload = json.dumps(
            [self.features, self.weights, self.bias, self.mean, self.scale, self.threshold], sort_keys=True
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:12]

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "weights": list(self.weights),
            "bias": self.bias,
            "mean": list(self.mean),
            "scale": list(self.scale),
            "threshold": self.threshold,
            "provenance": dict(self.provenance),
        }


def load_model(path: Path, name: str) -> LinearModel:
    """The model `name` from the JSON file `path`.

    Raises:
        ConfigError: the file or the model is missing or malformed (the message names the refit command).
    """
    try:
        entry = json.loads(Path(path).read_text(encoding="utf-8"))[name]
        return LinearModel(
            name=name,
            features=tuple(entry["features"]),
            weights=tuple(float(w) for w in entry["weights"]),
            bias=float(entry["bias"]),
            mean=tuple(float(m) for m in entry["mean"]),
            scale=tuple(float(s) for s in entry["scale"]),
            threshold=None if entry.get("threshold") is None else float(entry["threshold"]),
            provenance=entry.get("provenance", {}),
        )
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise ConfigError(
            f"Cannot load model {name!r} from {path}: {exc}. Refit it with the command in training/README.md."
        ) from exc


def fit_logistic(
    x: np.ndarray,
    y: np.ndarray,
    features: Sequence[str],
    *,
    name: str,
    l2: float = 1.0,
    sample_weight: np.ndarray | None = None,
    iterations: int = 100,
    signs: Sequence[int] | None = None,
) -> LinearModel:
    """L2-regularised logistic regression by Newton's method on standardised features.

    Deterministic (no random start), so a refit on the same data gives the same weights.
    `l2` is the penalty on the standardised weights (the bias is not penalised). `signs`, one per
    feature, constrains the direction of each weight: +1 never below 0, -1 never above 0, 0 free
    (projected Newton: a weight held at 0 by its bound leaves the step). Use it where a feature's
    direction is known and correlated features would otherwise take opposite signs that do not
    carry over to data unlike the training set.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] != y.shape[0] or x.shape[1] != len(features):
        raise ValueError(f"x is {x.shape}, y {y.shape}, features {len(features)}")
    direction = np.zeros(len(features) + 1)
    if signs is not None:
        if len(signs) != len(features) or any(s not in (-1, 0, 1) for s in signs):
            raise ValueError(f"signs must be -1, 0 or +1, one per feature: {signs}")
        direction[:-1] = signs
    sw = np.ones_like(y) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = np.hstack([(x - mean) / scale, np.ones((x.shape[0], 1))])
    w = np.zeros(z.shape[1])
    penalty = np.full(z.shape[1], l2)
    penalty[-1] = 0.0

    def project(v: np.ndarray) -> np.ndarray:
        return np.where(direction * v < 0, 0.0, v)

    def loss(v: np.ndarray) -> float:
        logits = z @ v
        return float(np.sum(sw * (np.logaddexp(0.0, logits) - y * logits)) + 0.5 * np.sum(penalty * v * v))

    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(z @ w)))
        grad = z.T @ (sw * (p - y)) + penalty * w
        hess = (z * (sw * p * (1 - p))[:, None]).T @ z + np.diag(penalty + 1e-9)
        # A weight at its bound whose gradient pushes it across stays there this step.
        held = (w == 0) & (direction * grad > 0)
        free = ~held
        step = np.zeros_like(w)
        step[free] = np.linalg.solve(hess[np.ix_(free, free)], grad[free])
        candidate, size = project(w - step), 1.0
        if direction.any():  # the projection can overshoot: halve the step until the loss falls
            current = loss(w)
            while loss(candidate) > current + 1e-12 and size > 1e-6:
                size /= 2
                candidate = project(w - size * step)
        moved = np.max(np.abs(candidate - w))
        w = candidate
        if moved < 1e-8:
            break
    return LinearModel(
        name=name,
        features=tuple(features),
        weights=tuple(float(v) for v in w[:-1]),
        bias=float(w[-1]),
        mean=tuple(float(v) for v in mean),
        scale=tuple(float(v) for v in scale),
    )
