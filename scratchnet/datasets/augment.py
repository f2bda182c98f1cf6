"""Data augmentation: new training images from old ones, for small data sets.

Plain array functions on image batches (N, C, H, W), seeded through ``rng``: shifts (the
padded random crop), rotations by any angle or by quarter turns, additive noise, and
dynamic binarisation. They return new arrays and build no autograd graph.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from scratchnet.backend import get_array_module
from scratchnet.checks import check_int, check_number
from scratchnet.random import get_generator

__all__ = ["gaussian_noise", "random_binarize", "random_rotation", "random_shift", "rotate",
           "rotate90"]


def random_shift(images: Any, max_shift: int = 2,
                 rng: np.random.Generator | int | None = None) -> Any:
    """Move each image by its own random offset of up to ``max_shift`` pixels per axis.

    A digit shifted by a pixel or two is still the same digit, so a classifier trained on
    shifted copies sees more variety than the data set holds. The vacated border is zero.
    This is the padded random crop of CIFAR training: pad by ``max_shift``, then crop back
    to H×W at a random offset.
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


def _check_images(owner: str, images: Any, floats: bool = True) -> None:
    if not hasattr(images, "dtype"):
        raise TypeError(f"{owner}: images must be an array, got {type(images).__name__}")
    if np.ndim(images) != 4:
        raise ValueError(f"{owner}: expected images of shape (N, C, H, W), got "
                         f"{np.shape(images)}")
    if floats and images.dtype.kind != "f":
        raise TypeError(f"{owner}: images must be a float array, got dtype {images.dtype}")


def rotate(images: Any, degrees: Any) -> Any:
    """Rotate each image counterclockwise (as displayed, row 0 at the top) about its centre.

    Shapes: ``images`` (N, C, H, W) floats; ``degrees`` a number or an (N,) array, one angle
    per image. Output pixel (y, x) reads the input at the point the rotation carries onto
    it: with the centre (cy, cx) = ((H-1)/2, (W-1)/2), u = x - cx and v = cy - y (up),

        u_s = cos θ · u + sin θ · v,   v_s = -sin θ · u + cos θ · v,

    and the value there is bilinear between the four nearest pixels, with zeros outside the
    image (so corners rotated in from outside are black). 0 degrees gives the input back.
    """
    _check_images("rotate", images)
    xp = get_array_module(images)
    n, _, h, w = images.shape
    angles = np.asarray(degrees, dtype=np.float64)
    if angles.ndim == 0:
        angles = np.full(n, float(angles))
    if angles.shape != (n,):
        raise ValueError(f"rotate: degrees must be a number or an array of shape ({n},), got "
                         f"shape {angles.shape}")
    if not np.isfinite(angles).all():
        raise ValueError("rotate: degrees must be finite")
    theta = xp.asarray(np.deg2rad(angles))[:, None, None]
    cos, sin = xp.cos(theta), xp.sin(theta)
    cy, cx = (h - 1) / 2, (w - 1) / 2
    v = cy - xp.arange(h, dtype=xp.float64)[None, :, None]
    u = xp.arange(w, dtype=xp.float64)[None, None, :] - cx
    x_src = cos * u + sin * v + cx                  # (N, H, W) source coordinates
    y_src = cy - (-sin * u + cos * v)
    y0, x0 = xp.floor(y_src), xp.floor(x_src)
    wy, wx = (y_src - y0).astype(images.dtype), (x_src - x0).astype(images.dtype)
    # One pixel of zero padding all round: a neighbour outside the image, clipped onto the
    # padding, reads 0, so every point needs no special case.
    padded = xp.pad(images, ((0, 0), (0, 0), (1, 1), (1, 1)))
    rows = xp.arange(n)[:, None, None]

    def pixel(yy: Any, xx: Any) -> Any:
        yi = xp.clip(yy, -1, h).astype(xp.int64) + 1
        xi = xp.clip(xx, -1, w).astype(xp.int64) + 1
        return padded[rows, :, yi, xi]              # (N, H, W, C)

    wy, wx = wy[..., None], wx[..., None]
    out = ((1 - wy) * ((1 - wx) * pixel(y0, x0) + wx * pixel(y0, x0 + 1))
           + wy * ((1 - wx) * pixel(y0 + 1, x0) + wx * pixel(y0 + 1, x0 + 1)))
    return xp.ascontiguousarray(out.transpose(0, 3, 1, 2))


def random_rotation(images: Any, max_degrees: float = 15.0,
                    rng: np.random.Generator | int | None = None) -> Any:
    """Rotate each image by its own angle drawn uniformly from [-max_degrees, max_degrees].

    A slightly tilted digit is the same digit. Bilinear, zero fill, about the centre: see
    :func:`rotate`. Shapes: (N, C, H, W) -> (N, C, H, W), same dtype.
    """
    max_degrees = check_number("random_rotation", "max_degrees", max_degrees, low=0, high=180)
    _check_images("random_rotation", images)
    angles = get_generator(rng).uniform(-max_degrees, max_degrees, len(images))
    return rotate(images, angles)


def rotate90(images: Any, k: Any) -> Any:
    """Rotate each image by ``k`` exact quarter turns counterclockwise (as displayed).

    ``k`` is an int or an (N,) int array (one per image; any integer, taken modulo 4).
    Image i comes out as ``np.rot90(images[i], k[i], axes=(1, 2))``: no interpolation, so
    rotating by k and then by 4 - k gives the input back exactly. The rotation-prediction
    pretext task builds its four classes with it. Images must be square (H == W) unless
    every turn is a half or whole one. Shapes: (N, C, H, W) -> (N, C, H, W), same dtype.
    """
    _check_images("rotate90", images, floats=False)
    xp = get_array_module(images)
    n, _, h, w = images.shape
    turns = np.asarray(k.get() if hasattr(k, "get") else k)
    if turns.dtype.kind not in "iu" or turns.ndim > 1:
        raise TypeError(f"rotate90: k must be an int or a 1-d int array, got "
                        f"{turns.dtype} of shape {turns.shape}")
    if turns.ndim == 1 and turns.shape != (n,):
        raise ValueError(f"rotate90: k has shape {turns.shape}, expected ({n},): one per image")
    turns = np.broadcast_to(turns % 4, (n,))
    if h != w and (turns % 2 == 1).any():
        raise ValueError(f"rotate90: a quarter turn of a non-square image ({h}×{w}) would "
                         f"change its shape; give square images or even k")
    out = xp.empty_like(images)
    for r in range(4):
        chosen = xp.asarray(np.flatnonzero(turns == r))
        if len(chosen):
            out[chosen] = xp.rot90(images[chosen], r, axes=(2, 3))
    return out


def gaussian_noise(images: Any, std: float = 0.1, rng: np.random.Generator | int | None = None,
                   clip: tuple[float, float] | None = (0.0, 1.0)) -> Any:
    """``images + std · ε`` with ε ~ N(0, 1) per pixel, then clipped to ``clip`` (if given).

    The default clip keeps pixel values in [0, 1]; ``clip=None`` leaves the noise as drawn.
    Shapes: (N, C, H, W) -> (N, C, H, W), same dtype.
    """
    std = check_number("gaussian_noise", "std", std, low=0)
    _check_images("gaussian_noise", images)
    if clip is not None:
        if len(clip) != 2:
            raise ValueError(f"gaussian_noise: clip must be None or (low, high), got {clip!r}")
        low = check_number("gaussian_noise", "clip low", clip[0])
        high = check_number("gaussian_noise", "clip high", clip[1])
        if low >= high:
            raise ValueError(f"gaussian_noise: clip must have low < high, got {clip!r}")
    xp = get_array_module(images)
    noise = xp.asarray(get_generator(rng).standard_normal(images.shape, dtype=images.dtype))
    out = images + images.dtype.type(std) * noise
    return out if clip is None else xp.clip(out, low, high).astype(images.dtype)
