"""Data augmentation: new training images from old ones, for small data sets."""

from __future__ import annotations

from typing import Any

import numpy as np

from scratchnet.backend import get_array_module
from scratchnet.checks import check_int
from scratchnet.random import get_generator

__all__ = ["random_shift"]


def random_shift(images: Any, max_shift: int = 2,
                 rng: np.random.Generator | int | None = None) -> Any:
    """Move each image by its own random offset of up to ``max_shift`` pixels per axis.

    A digit shifted by a pixel or two is still the same digit, so a classifier trained on
    shifted copies sees more variety than the data set holds. The vacated border is zero.
    Shapes: (N, C, H, W) -> (N, C, H, W). Vectorised: the image is zero-padded and one
    window per image is picked out of ``sliding_window_view``.
    """
    max_shift = check_int("random_shift", "max_shift", max_shift, minimum=0)
    if np.ndim(images) != 4:
        raise ValueError(f"random_shift: expected images of shape (N, C, H, W), got "
                         f"{np.shape(images)}")
    if max_shift == 0:
        return images
    xp = get_array_module(images)
    n, _, h, w = images.shape
    s = max_shift
    padded = xp.pad(images, ((0, 0), (0, 0), (s, s), (s, s)))
    windows = xp.lib.stride_tricks.sliding_window_view(padded, (h, w), axis=(2, 3))
    generator = get_generator(rng)
    dy = xp.asarray(generator.integers(0, 2 * s + 1, n))
    dx = xp.asarray(generator.integers(0, 2 * s + 1, n))
    return windows[xp.arange(n), :, dy, dx]
