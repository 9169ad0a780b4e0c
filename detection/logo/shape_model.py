"""A small neural network over :func:`detection.logo.shape.shape_features`: one hidden layer,
standardised inputs, softmax over the four shape classes. Weights ship as ``shape_model.npz``
(plain arrays, no pickle); :func:`train` fits them with full-batch Adam in seconds."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

MODEL_PATH = Path(__file__).with_name("shape_model.npz")


@dataclass(frozen=True)
class ShapeModel:
    names: tuple[str, ...]
    classes: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray

    def vector(self, features: dict[str, float]) -> np.ndarray:
        return np.array([float(features.get(name, 0.0)) for name in self.names], np.float64)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        z = (np.atleast_2d(x) - self.mean) / self.scale
        hidden = np.tanh(z @ self.w1 + self.b1)
        logits = hidden @ self.w2 + self.b2
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, features: dict[str, float]) -> str:
        return self.classes[int(np.argmax(self.probabilities(self.vector(features))[0]))]

    def save(self, path: Path) -> None:
        np.savez_compressed(
            path, names=np.array(self.names), classes=np.array(self.classes), mean=self.mean,
            scale=self.scale, w1=self.w1, b1=self.b1, w2=self.w2, b2=self.b2,
        )  # fmt: skip

    @classmethod
    def load(cls, path: Path) -> ShapeModel:
        with np.load(path, allow_pickle=False) as data:
            return cls(
                tuple(str(n) for n in data["names"]), tuple(str(c) for c in data["classes"]),
                data["mean"], data["scale"], data["w1"], data["b1"], data["w2"], data["b2"],
            )  # fmt: skip


@lru_cache(maxsize=1)
def default_model() -> ShapeModel | None:
    """The model shipped with the package, or None when there is none (the rules then decide)."""
    return ShapeModel.load(MODEL_PATH) if MODEL_PATH.exists() else None


def train(
    x: np.ndarray, y: np.ndarray, names: tuple[str, ...], classes: tuple[str, ...],
    hidden: int = 32, epochs: int = 1000, l2: float = 1e-3, seed: int = 0,
) -> ShapeModel:  # fmt: skip
    """Fit the network on feature rows ``x`` and class indices ``y`` (full-batch Adam, weighted
    so that every class counts the same)."""
    rng = np.random.default_rng(seed)
    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-6
    z = (x - mean) / scale
    n, d = z.shape
    k = len(classes)
    onehot = np.eye(k)[y]
    weight = (n / (k * np.maximum(np.bincount(y, minlength=k), 1)))[y][:, None]
    params = [rng.normal(0, 1 / np.sqrt(d), (d, hidden)), np.zeros(hidden),
              rng.normal(0, 1 / np.sqrt(hidden), (hidden, k)), np.zeros(k)]  # fmt: skip
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    rate, beta1, beta2 = 0.01, 0.9, 0.999
    for step in range(1, epochs + 1):
        w1, b1, w2, b2 = params
        h = np.tanh(z @ w1 + b1)
        logits = h @ w2 + b2
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        grad_logits = weight * (p - onehot) / n
        grad_w2 = h.T @ grad_logits + l2 * w2
        grad_b2 = grad_logits.sum(axis=0)
        grad_h = grad_logits @ w2.T * (1 - h**2)
        grad_w1 = z.T @ grad_h + l2 * w1
        grad_b1 = grad_h.sum(axis=0)
        for i, g in enumerate((grad_w1, grad_b1, grad_w2, grad_b2)):
            m[i] = beta1 * m[i] + (1 - beta1) * g
            v[i] = beta2 * v[i] + (1 - beta2) * g * g
            params[i] = params[i] - rate * (m[i] / (1 - beta1**step)) / (
                np.sqrt(v[i] / (1 - beta2**step)) + 1e-8
            )
    return ShapeModel(names, classes, mean, scale, *params)
