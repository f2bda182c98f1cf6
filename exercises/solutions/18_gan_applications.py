"""Reference solutions for lesson 18's exercises (see ``exercises/18_gan_applications.py``)."""

import numpy as np

import scratchnet as sn
import scratchnet.functional as F


def hole_psnr(reference: np.ndarray, estimate: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Squared errors on the hole, summed per image and divided by that image's hole size."""
    axes = tuple(range(1, reference.ndim))
    squared = hole * (reference - estimate) ** 2
    mse = squared.sum(axis=axes) / hole.sum(axis=axes)
    return 10.0 * np.log10(1.0 / mse)


def contextual_loss(generated: sn.Tensor, corrupted: sn.Tensor, known: sn.Tensor) -> sn.Tensor:
    """|M ⊙ (G(z) − y)| summed over every axis but the batch's."""
    per_pixel = F.abs((generated - corrupted) * known)
    return per_pixel.reshape(generated.shape[0], -1).sum(axis=1)


def pixel_shuffle(x: np.ndarray, r: int) -> np.ndarray:
    """Split the channels into (C, i, j), then put i after h and j after w."""
    n, channels, h, w = x.shape
    c = channels // (r * r)
    blocks = x.reshape(n, c, r, r, h, w)            # axes n, c, i, j, h, w
    return blocks.transpose(0, 1, 4, 2, 5, 3).reshape(n, c, h * r, w * r)
