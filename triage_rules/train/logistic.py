"""Binary logistic regression over sparse set features, in pure Python, reproducible from a seed.

Training data is small (a few thousand messages), so plain stochastic gradient
descent with AdaGrad step sizes and L2 regularisation is enough and needs no
numeric library. Each example is a list of feature indices, all of value
``1/sqrt(len)`` (the scaling ``reader.Reader.read`` applies), a label 0/1 and
a sample weight.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Example:
    indices: tuple[int, ...]
    label: int
    weight: float = 1.0


@dataclass(frozen=True)
class Settings:
    epochs: int = 12
    rate: float = 0.5
    l2: float = 3e-3
    seed: int = 15


def sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def train(examples: Sequence[Example], size: int, settings: Settings) -> tuple[list[float], float]:
    """Weights (one per feature index) and bias; deterministic for a given seed and input order."""
    weights = [0.0] * size
    squares = [1e-8] * size
    bias, bias_square = 0.0, 1e-8
    order = list(range(len(examples)))
    rng = random.Random(settings.seed)  # noqa: S311 -- a seeded, reproducible order, not a secret
    positives = sum(e.weight for e in examples if e.label) or 1.0
    negatives = sum(e.weight for e in examples if not e.label) or 1.0
    # balance the classes: each contributes as much in total
    balance = (len(examples) / (2 * positives), len(examples) / (2 * negatives))
    for _ in range(settings.epochs):
        rng.shuffle(order)
        for position in order:
            example = examples[position]
            indices = example.indices
            scale = 1.0 / math.sqrt(len(indices)) if indices else 0.0
            z = bias
            for i in indices:
                z += weights[i] * scale
            cls_weight = balance[0] if example.label else balance[1]
            error = (sigmoid(z) - example.label) * example.weight * cls_weight
            bias_square += error * error
            bias -= settings.rate * error / math.sqrt(bias_square)
            for i in indices:
                gradient = error * scale + settings.l2 * weights[i]
                squares[i] += gradient * gradient
                weights[i] -= settings.rate * gradient / math.sqrt(squares[i])
    return weights, bias


def predict(weights: Sequence[float], bias: float, indices: Sequence[int]) -> float:
    scale = 1.0 / math.sqrt(len(indices)) if indices else 0.0
    z = bias
    for i in indices:
        z += weights[i] * scale
    return sigmoid(z)
