"""Weight initialisers: how the first weights are drawn, and why the scale matters.

A layer with ``fan_in`` inputs adds up ``fan_in`` products; if each weight has variance
``v``, the output's variance is about ``fan_in · v`` times the input's. Too large and
activations (and gradients) explode layer after layer; too small and they vanish. The
classic fixes pick ``v`` from the fan sizes:

* Glorot/Xavier (Glorot & Bengio, 2010): ``v = 2 / (fan_in + fan_out)``, for tanh/sigmoid.
* He/Kaiming (He et al., 2015): ``v = 2 / fan_in``, for ReLU, which zeroes half its inputs.

Each initialiser is a function ``init(shape, fan_in, fan_out, rng) -> ndarray``; layers take
one by name (``init="he_normal"``) or as a callable (``init=nn.init.normal(0.01)``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

__all__ = ["Initializer", "get_initializer", "glorot_normal", "glorot_uniform", "he_normal",
           "he_uniform", "normal", "zeros"]

Initializer = Callable[[tuple[int, ...], int, int, np.random.Generator], np.ndarray]


def glorot_uniform(shape: tuple[int, ...], fan_in: int, fan_out: int,
                   rng: np.random.Generator) -> np.ndarray:
    """U(-a, a) with a = sqrt(6 / (fan_in + fan_out)), so the variance is 2 / (fan_in + fan_out)."""
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape)


def glorot_normal(shape: tuple[int, ...], fan_in: int, fan_out: int,
                  rng: np.random.Generator) -> np.ndarray:
    """N(0, 2 / (fan_in + fan_out))."""
    return rng.normal(0.0, math.sqrt(2.0 / (fan_in + fan_out)), size=shape)


def he_uniform(shape: tuple[int, ...], fan_in: int, fan_out: int,
               rng: np.random.Generator) -> np.ndarray:
    """U(-a, a) with a = sqrt(6 / fan_in), so the variance is 2 / fan_in."""
    limit = math.sqrt(6.0 / fan_in)
    return rng.uniform(-limit, limit, size=shape)


def he_normal(shape: tuple[int, ...], fan_in: int, fan_out: int,
              rng: np.random.Generator) -> np.ndarray:
    """N(0, 2 / fan_in)."""
    return rng.normal(0.0, math.sqrt(2.0 / fan_in), size=shape)


def zeros(shape: tuple[int, ...], fan_in: int, fan_out: int,
          rng: np.random.Generator) -> np.ndarray:
    """All zeros: every unit of a layer then computes (and learns) the same thing."""
    return np.zeros(shape)  # host: initial values are made on the host, like rng's


def normal(std: float = 0.01) -> Initializer:
    """An initialiser drawing N(0, std²), whatever the fan sizes: ``init=normal(0.01)``."""
    if std < 0:
        raise ValueError(f"normal: std must be >= 0, got {std}")

    def init(shape: tuple[int, ...], fan_in: int, fan_out: int,
             rng: np.random.Generator) -> np.ndarray:
        return rng.normal(0.0, std, size=shape)

    init.__name__ = f"normal({std})"
    return init


_BY_NAME: dict[str, Initializer] = {
    "glorot_uniform": glorot_uniform,
    "xavier_uniform": glorot_uniform,
    "glorot_normal": glorot_normal,
    "xavier_normal": glorot_normal,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
    "zeros": zeros,
    "normal": normal(0.01),
}


def get_initializer(init: str | Initializer) -> Initializer:
    """The initialiser called ``init`` (see the module docstring), or ``init`` if callable."""
    if callable(init):
        return init
    if init not in _BY_NAME:
        raise ValueError(f"unknown initialiser {init!r}; expected one of {sorted(_BY_NAME)} "
                         "or a callable (shape, fan_in, fan_out, rng) -> array")
    return _BY_NAME[init]
