"""The library's random number generator.

Everything random in scratchnet (weight initialisation, dropout masks, data shuffling,
sampling) draws from one ``numpy.random.Generator``. :func:`manual_seed` resets it, so a
seeded script is reproducible. Functions that use randomness also take ``rng=``: pass your
own generator (or an integer seed) to keep one experiment's randomness separate.
"""

from __future__ import annotations

import numpy as np

__all__ = ["get_generator", "manual_seed", "own_generator"]

_state = {"generator": np.random.default_rng()}


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the library generator and return it."""
    _state["generator"] = np.random.default_rng(seed)
    return _state["generator"]


def get_generator(rng: np.random.Generator | int | None = None) -> np.random.Generator:
    """``rng`` itself if it is a Generator, a new one if it is a seed, else the library's."""
    if rng is None:
        return _state["generator"]
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be None, an int seed or a numpy.random.Generator, "
                    f"got {type(rng).__name__}")


def own_generator(rng: np.random.Generator | int | None) -> np.random.Generator | None:
    """What an object keeps as its ``rng``: ``None``, or one Generator made once from a seed.

    ``None`` stays ``None``, meaning "draw from the library generator at each use", so a
    later :func:`manual_seed` still counts. A seed becomes a Generator here, once: a model
    that handed the bare seed to each of its layers would give every layer the same draws,
    and a layer that turned it into a new Generator at every call would repeat its draws.
    """
    return None if rng is None else get_generator(rng)
