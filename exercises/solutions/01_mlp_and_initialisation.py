"""Reference solutions for lesson 01's exercises (``exercises/01_mlp_and_initialisation.py``)."""

import math

import numpy as np


def glorot_uniform(shape: tuple, fan_in: int, fan_out: int,
                   rng: np.random.Generator) -> np.ndarray:
    """U(-a, a) with a = sqrt(6 / (fan_in + fan_out))."""
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape)


def he_normal(shape: tuple, fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """N(0, 2 / fan_in)."""
    return rng.normal(0.0, math.sqrt(2.0 / fan_in), size=shape)


def dense_backward(x: np.ndarray, W: np.ndarray,
                   gy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """gx = gy Wᵀ, gW = xᵀ gy, gb = column sums of gy."""
    return gy @ W.T, x.T @ gy, gy.sum(axis=0)
