"""Exercises for lesson 01: a digit classifier, and why the first weights matter.

Fill in each body, then run ``scratchnet check 01``. Reference solutions are in
``exercises/solutions/``.
"""

import numpy as np


def glorot_uniform(shape: tuple, fan_in: int, fan_out: int,
                   rng: np.random.Generator) -> np.ndarray:
    """Glorot (Xavier) uniform weights: U(-a, a) with variance 2 / (fan_in + fan_out).

    A uniform distribution on (-a, a) has variance a² / 3, so a = sqrt(6 / (fan_in + fan_out)).
    Return an array of the given ``shape`` drawn from ``rng`` (use ``rng.uniform``), so that
    the same seed gives the same weights. This is the signature ``nn.Dense(init=...)`` takes.
    """
    raise NotImplementedError("exercise: glorot_uniform")


def he_normal(shape: tuple, fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """He (Kaiming) normal weights for ReLU layers: N(0, 2 / fan_in).

    A ReLU zeroes about half of its inputs, which halves the second moment each layer; the
    factor 2 puts it back. Return an array of the given ``shape`` drawn from ``rng``.
    """
    raise NotImplementedError("exercise: he_normal")


def dense_backward(x: np.ndarray, W: np.ndarray,
                   gy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The backward pass of a dense layer y = x @ W + b, by hand.

    Shapes: x (N, D_in), W (D_in, D_out), gy = dL/dy (N, D_out). Return (gx, gW, gb):

        gx = gy @ Wᵀ   (N, D_in),   gW = xᵀ @ gy   (D_in, D_out),   gb = Σ_n gy[n]   (D_out,).

    Each gradient has the shape of the thing it is the gradient of.
    """
    raise NotImplementedError("exercise: dense_backward")
