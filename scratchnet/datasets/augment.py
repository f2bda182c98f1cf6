"""Data augmentation: new training images from old ones, for small data sets."""

from __future__ import annotations

from typing import Any

import numpy as np

from scratchnet.backend import get_array_module
from scratchnet.checks import check_int
from scratchnet.random import get_generator

__all__ = ["random_binarize", "random_shift"]


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


def random_binarize(images: Any, rng: np.random.Generator | int | None = None) -> Any:
    """A fresh binary sample of grey images: each pixel is 1 with probability its value.

    Called on every minibatch, this is *dynamic binarisation*: a model of binary data sees
    a new sample of each digit every epoch, which regularises it, and the grey MNIST
    becomes data a Bernoulli likelihood fits exactly (as in the VAE and IWAE papers).
    Values must lie in [0, 1]. Takes an array or a Tensor (its data) and returns an array
    of the same shape and dtype.
    """
    images = getattr(images, "data", images)
    xp = get_array_module(images)
    images = xp.asarray(images)
    if images.dtype.kind != "f":
        raise TypeError(f"random_binarize: images must be floats in [0, 1], got {images.dtype}")
    if images.size and (float(images.min()) < 0 or float(images.max()) > 1):
        raise ValueError(f"random_binarize: values must lie in [0, 1], got "
                         f"[{float(images.min())}, {float(images.max())}]")
    uniform = xp.asarray(get_generator(rng).random(images.shape, dtype=images.dtype))
    return (uniform < images).astype(images.dtype)
