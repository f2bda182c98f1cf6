"""Stroke thickness of digit images, measured from the pixels.

A pen stroke of width w and length L covers an area A ≈ w·L and has a boundary of length
P ≈ 2·L (both sides; the two ends add 2·w more). So

    thickness = 2·A / P   (pixels)

is the stroke's width, whatever its length or how many strokes a digit has. The ends make
it read low by the factor L / (L + w): about 10% for a 3-pixel stroke 25 pixels long.

On grey images both quantities are taken over every grey level at once: the ink area is
A = Σ u (the image summed, u in [0, 1]) and the boundary length is P = Σ ‖∇u‖, the total
variation. By the coarea formula Σ‖∇u‖ is the perimeter of the set {u > t} integrated over
the levels t in [0, 1], just as Σu is the area of {u > t} integrated over t. So a soft edge
is no thinner or thicker than the threshold in its middle, and a binary image gives its
pixel area and close to the length of its outline. The gradient is taken at the corners
between pixels, from each 2×2 block (the mean of its two horizontal and of its two vertical
differences), so a slanted edge has the same length as a straight one of the same extent
in the plane, up to a few per cent; counting the pixel sides that separate ink from
background instead would call a 45° stroke √2 times thinner. The image is padded with
zeros, so ink touching the border is still bounded.

Strokes under about 2 pixels wide read too wide (by up to a third at 1.5 pixels):
anti-aliasing spreads their ink over two rows of pixels, and the lower grey levels see a
2-pixel stroke.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from scratchnet.autograd import Tensor
from scratchnet.backend import as_numpy

__all__ = ["stroke_thickness"]


def stroke_thickness(images: Any) -> np.ndarray:
    """The mean stroke width of each image, 2·(ink area) / (ink boundary length), in pixels.

    Shapes: images (N, H, W) or (N, 1, H, W), grey levels in [0, 1] (ink 1, background 0)
    -> (N,) float64. Definitions (see the module's docstring): area A = Σ u over the pixels,
    boundary P = Σ ‖∇u‖ over the (H + 1)·(W + 1) pixel corners of the zero-padded image,
    with ∇u from each 2×2 block. An image with no ink (P = 0) gets NaN, since it has no
    stroke to measure.
    """
    # A Tensor gives its data; an array is read as itself (its own .data is a raw buffer).
    x = np.asarray(as_numpy(images.data if isinstance(images, Tensor) else images))
    if x.ndim == 4 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 3 or x.shape[1] < 1 or x.shape[2] < 1:
        raise ValueError(f"stroke_thickness: expected images of shape (N, H, W) or "
                         f"(N, 1, H, W), got {x.shape}")
    if x.dtype.kind not in "fiub":
        raise TypeError(f"stroke_thickness: expected numeric images, got dtype {x.dtype}")
    x = x.astype(np.float64)
    if not np.isfinite(x).all():
        raise ValueError("stroke_thickness: grey levels must lie in [0, 1], got NaN or "
                         "infinite values")
    if x.size and (x.min() < 0 or x.max() > 1):
        raise ValueError(f"stroke_thickness: grey levels must lie in [0, 1], got values "
                         f"from {x.min():.3g} to {x.max():.3g}")
    u = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    # Each 2x2 block [[a, b], [c, d]]: horizontal slope ((b − a) + (d − c)) / 2, vertical
    # ((c − a) + (d − b)) / 2, one gradient per corner between four pixels.
    a, b, c, d = u[:, :-1, :-1], u[:, :-1, 1:], u[:, 1:, :-1], u[:, 1:, 1:]
    gx, gy = (b - a + d - c) / 2, (c - a + d - b) / 2
    perimeter = np.sqrt(gx * gx + gy * gy).sum(axis=(1, 2))
    area = x.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(perimeter > 0, 2 * area / perimeter, np.nan)
