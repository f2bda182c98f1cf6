"""Colour digits: grey MNIST tinted with a random hue, the data of the colorization pretext task.

MNIST has no colour, so there is nothing for a colorization network (Zhang et al., 2016) to
predict. :func:`colorize` makes some: each digit gets one hue drawn uniformly around the colour
wheel, at full saturation and value, and its stroke takes that colour in proportion to the
grey level. The background stays black. A network that sees only the grey image cannot know
the hue, so the task measures what the hue can be guessed from; the lesson says what that
means for the features it learns.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from scratchnet.backend import get_array_module
from scratchnet.random import get_generator

__all__ = ["colorize", "hue_to_rgb", "rgb_to_hue"]


def hue_to_rgb(hues: Any) -> Any:
    """The RGB colour of each hue at saturation 1 and value 1: shape (N,) -> (N, 3).

    The HSV cone with s = v = 1: for channel offsets n = 5, 3, 1 (red, green, blue),
    k = (n + 6h) mod 6 and the channel is 1 − clip(min(k, 4 − k), 0, 1). Hue 0 is red,
    1/3 green, 2/3 blue, and the colour is continuous and periodic in h (h and h + 1 agree).
    Every colour has its largest channel equal to 1.
    """
    xp = get_array_module(hues)
    hues = xp.asarray(hues)
    offsets = xp.asarray([5.0, 3.0, 1.0], dtype=hues.dtype)
    k = (offsets + 6.0 * hues[..., None]) % 6.0
    return 1.0 - xp.clip(xp.minimum(k, 4.0 - k), 0.0, 1.0)


def rgb_to_hue(rgb: Any) -> Any:
    """The hue of each RGB colour, the inverse of :func:`hue_to_rgb`: shape (..., 3) -> (...).

    With M and m the largest and smallest channel and d = M − m, the HSV hue is
    ((g − b) / d) / 6 where red is largest, (2 + (b − r) / d) / 6 where green is, and
    (4 + (r − g) / d) / 6 where blue is, taken mod 1 into [0, 1). It depends only on the
    ratios of the channels, so a tinted pixel g·c has the hue of c at every grey level
    g > 0. Colours with no hue (black and greys, d = 0) get 0. Computed in float64 so that
    a hue is recovered to about 1e-7 from float32 colours, and returned as float64.
    """
    xp = get_array_module(rgb)
    rgb = xp.asarray(rgb, dtype=xp.float64)
    if rgb.ndim < 1 or rgb.shape[-1] != 3:
        raise ValueError(f"rgb_to_hue: expected colours of shape (..., 3), got shape "
                         f"{tuple(rgb.shape)}")
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    largest, spread = rgb.max(axis=-1), rgb.max(axis=-1) - rgb.min(axis=-1)
    # Greys divide by 1 instead of 0; their hue is set to 0 below.
    d = xp.where(spread > 0, spread, 1.0)
    sector = xp.where(largest == r, (g - b) / d,
                      xp.where(largest == g, 2.0 + (b - r) / d, 4.0 + (r - g) / d))
    hue = (sector / 6.0) % 1.0
    # A tiny negative hue mod 1 rounds to exactly 1.0, which is hue 0.
    return xp.where((spread > 0) & (hue < 1.0), hue, 0.0)


def _grey_images(fn: str, images: Any) -> Any:
    """``images`` as an array (a Tensor gives its data), checked: float, (N, 1, H, W), in [0, 1].

    The one check of the grey-digit functions (``colorize``, ``sobel_edges``, ``dilate``);
    its errors name the caller ``fn``.
    """
    images = getattr(images, "data", images)
    images = get_array_module(images).asarray(images)
    if images.ndim != 4 or images.shape[1] != 1:
        raise ValueError(f"{fn}: expected grey images of shape (N, 1, H, W), got shape "
                         f"{tuple(images.shape)}")
    if images.dtype.kind != "f":
        raise TypeError(f"{fn}: images must be floats in [0, 1], got dtype {images.dtype}")
    if images.size and (float(images.min()) < 0 or float(images.max()) > 1):
        raise ValueError(f"{fn}: values must lie in [0, 1], got "
                         f"[{float(images.min())}, {float(images.max())}]")
    return images


def colorize(images: Any, rng: np.random.Generator | int | None = None,
             return_hues: bool = False) -> Any:
    """Tint each grey image with its own random hue: (N, 1, H, W) -> (N, 3, H, W) float32.

    Each image i draws a hue h_i ~ U[0, 1) from ``rng``; its colour c_i = :func:`hue_to_rgb`
    (h_i) and the output is ``grey * c_i`` per channel, so a pixel of grey level g becomes
    (g·r, g·g', g·b): black stays black and the stroke is the colour, as bright as it was
    grey. The grey image is the largest channel, since max(c_i) = 1.

    Args:
        images: float array (or Tensor: its data) of shape (N, 1, H, W), values in [0, 1].
        rng: a Generator, an int seed, or None for the library generator.
        return_hues: also return the hues, shape (N,) float32 (the target of a task that
            predicts the colour as one number, and a check for tests).

    Returns:
        The colour images, float32 of shape (N, 3, H, W); with ``return_hues``, the pair
        ``(images, hues)``.
    """
    images = _grey_images("colorize", images)
    xp = get_array_module(images)
    hues = xp.asarray(get_generator(rng).random(images.shape[0], dtype=np.float32))
    colours = hue_to_rgb(hues).astype(xp.float32)
    tinted = images.astype(xp.float32) * colours[:, :, None, None]
    return (tinted, hues) if return_hues else tinted
