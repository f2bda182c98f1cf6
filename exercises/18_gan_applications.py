"""Exercises for lesson 18: putting a trained GAN to work, inpainting and super-resolution.

Fill in each body, then run ``scratchnet check 18``. Reference solutions are in
``exercises/solutions/``. ``hole_psnr`` and ``pixel_shuffle`` work on NumPy arrays;
``contextual_loss`` works on scratchnet Tensors, because the inpainting search
differentiates it.
"""

import numpy as np

import scratchnet as sn
import scratchnet.functional as F  # noqa: F401  (contextual_loss will want F.abs)


def hole_psnr(reference: np.ndarray, estimate: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """The PSNR of each image measured on its hole alone, in decibels: shape (N,).

    Shapes: reference, estimate and hole all (N, C, H, W); the images hold values in
    [0, 1] (so the data range is 1), and hole is 1.0 on the pixels that were missing
    and 0.0 on the pixels that were given. An inpainting method copies the given pixels,
    so only the hole says how well it did. For image n, with H_n the set of its hole
    pixels (every image has at least one, and some error there),

        MSE_n  = (1 / |H_n|) Σ_{p in H_n} (reference[n, p] − estimate[n, p])²
        PSNR_n = 10 · log10(1 / MSE_n)

    The mean runs over the hole pixels of image n only (all channels), not over the
    whole image; the result has one PSNR per image, in the batch's order.

    Mind the mask: ``hole`` is 1 on the missing pixels. The library's
    ``models.hole_psnr(reference, estimate, known, per_image=True)`` takes the opposite
    mask, ``known = 1 − hole``, and computes the same numbers: use it to check yours.
    """
    raise NotImplementedError("exercise: hole_psnr")


def contextual_loss(generated: sn.Tensor, corrupted: sn.Tensor, known: sn.Tensor) -> sn.Tensor:
    """Yeh et al.'s contextual loss: how far G(z) is from y on the pixels that are known.

    Shapes: generated G(z), corrupted y and known M all Tensors (N, C, H, W), with M 1.0
    on the known pixels and 0.0 on the hole (y's values in the hole mean nothing) -> a
    Tensor (N,), one loss per image:

        loss_n = ‖M_n ⊙ (G(z)_n − y_n)‖₁ = Σ_p M[n, p] · |G(z)[n, p] − y[n, p]|

    a sum (not a mean) over every pixel p of image n. This is the first term of
    ``models.inpainting_loss``; the search moves z to make it small, so build it from
    tensor operations (F.abs, multiplication, .sum(axis=...)) that autodiff can
    differentiate with respect to ``generated``.
    """
    raise NotImplementedError("exercise: contextual_loss")


def pixel_shuffle(x: np.ndarray, r: int) -> np.ndarray:
    """Move channels into space, the last step of a sub-pixel convolution: NumPy only.

    Shapes: x (N, C·r², H, W) -> (N, C, H·r, W·r). Output channel c at pixel (h, w) of
    the small grid becomes the r×r block of rows h·r .. h·r + r − 1 and columns
    w·r .. w·r + r − 1, filled row by row from the r² channels c·r² .. c·r² + r² − 1:

        out[n, c, h·r + i, w·r + j] = x[n, c·r² + i·r + j, h, w],   0 <= i, j < r.

    This is the channel order of PyTorch and of ``F.pixel_shuffle``. Use one reshape
    that splits the channel axis, one transpose, and one reshape, no loops.
    """
    raise NotImplementedError("exercise: pixel_shuffle")
