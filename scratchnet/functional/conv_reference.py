"""Convolution and pooling as plain loops: **read this first.**

Each function here is the definition of an op of :mod:`scratchnet.functional.conv`, written
as a loop over output (or input) pixels that a student can follow with a pencil. They work
on NumPy arrays of shape (N, C, H, W) and return float64 arrays; they are slow, and they
know nothing about gradients. The fast ops compute the same numbers with one matrix product
(im2col), record them for backpropagation, and are tested against these loops
(``tests/test_conv.py``, ``tests/test_conv_properties.py``).

Conventions, the same as the fast ops':

* **Cross-correlation.** Deep learning's "convolution" does not flip the kernel:
  ``y[n, o, i, j] = b[o] + Σ_c Σ_u Σ_v w[o, c, u, v] · x_pad[n, c, i·sh + u, j·sw + v]``.
* **Padding** is an int, a pair (ph, pw), ((top, bottom), (left, right)), ``"valid"`` (none)
  or ``"same"`` (Keras: ``H_out = ceil(H / stride)``, the odd row or column at the
  bottom/right); see :func:`pads`.
* **Window positions.** Output pixel (i, j) reads the window whose top-left corner is at
  (i·sh, j·sw) of the padded input, so ``H_out = (H + top + bottom - kh) // sh + 1``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["avg_pool2d", "conv2d", "conv_transpose2d", "max_pool2d", "max_pool2d_grad",
           "output_shape", "pad", "pads"]

Pair = tuple[int, int]
Pads = tuple[Pair, Pair]


def pair(value: Any) -> Pair:
    """An int n -> (n, n); a pair stays a pair."""
    return (value, value) if isinstance(value, int) else tuple(value)


def pads(padding: Any, size: Pair | None = None, kernel: Pair | None = None,
         stride: Pair | None = None) -> Pads:
    """Any padding form -> ((top, bottom), (left, right)).

    ``"same"`` needs the input ``size``, ``kernel`` and ``stride``: it pads just enough for
    ``ceil(size / stride)`` windows, the odd pixel at the end.
    """
    if padding == "valid":
        return (0, 0), (0, 0)
    if padding == "same":
        both = []
        for n, k, s in zip(size, kernel, stride):
            total = max((math.ceil(n / s) - 1) * s + k - n, 0)  # what the last window lacks
            both.append((total // 2, total - total // 2))
        return both[0], both[1]
    if isinstance(padding, int):
        return (padding, padding), (padding, padding)
    rows, cols = padding
    return pair(rows), pair(cols)


def pad(x: np.ndarray, padding: Pads, value: float = 0.0) -> np.ndarray:  # host: NumPy loops
    """(N, C, H, W) -> (N, C, top + H + bottom, left + W + right), the border set to ``value``."""
    (top, bottom), (left, right) = padding
    n, c, h, w = x.shape
    padded = np.full((n, c, top + h + bottom, left + w + right), value, dtype=np.float64)
    padded[:, :, top:top + h, left:left + w] = x
    return padded


def output_shape(padded_shape: tuple[int, ...], kernel: Pair, stride: Pair
                 ) -> tuple[int, int, int, int]:
    """(N, C, Hp, Wp) -> (N, C, H_out, W_out): how many windows fit, one every stride."""
    n, c, hp, wp = padded_shape
    return n, c, (hp - kernel[0]) // stride[0] + 1, (wp - kernel[1]) // stride[1] + 1


def windows(x_pad: np.ndarray, kernel: Pair, stride: Pair
            ) -> Iterator[tuple[tuple[int, int, int, int], np.ndarray]]:
    """Every output position (n, c, i, j) of a padded (N, C, Hp, Wp) array, with the kh×kw
    window it reads: rows i·sh to i·sh + kh, columns j·sw to j·sw + kw of channel c."""
    (kh, kw), (sh, sw) = kernel, stride
    for n, c, i, j in itertools.product(*map(range, output_shape(x_pad.shape, kernel, stride))):
        yield (n, c, i, j), x_pad[n, c, i * sh:i * sh + kh, j * sw:j * sw + kw]


# --------------------------------------------------------------------------------------
# Convolution and its transpose
# --------------------------------------------------------------------------------------
def conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, stride: Any = 1,
           padding: Any = 0) -> np.ndarray:  # host: NumPy loops
    """x (N, C_in, H, W), w (C_out, C_in, kh, kw), b (C_out,) -> (N, C_out, H_out, W_out).

    Each output pixel is the sum of one input window (all channels) times one kernel.
    """
    c_out, _, kh, kw = w.shape
    sh, sw = pair(stride)
    x_pad = pad(x, pads(padding, x.shape[2:], (kh, kw), (sh, sw)))
    n_batch, _, h_out, w_out = output_shape(x_pad.shape, (kh, kw), (sh, sw))
    y = np.zeros((n_batch, c_out, h_out, w_out))
    for n, o, i, j in itertools.product(*map(range, y.shape)):
        window = x_pad[n, :, i * sh:i * sh + kh, j * sw:j * sw + kw]  # all channels
        y[n, o, i, j] = np.sum(w[o] * window)
    return y if b is None else y + b.reshape(1, -1, 1, 1)


def conv_transpose2d(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None,
                     stride: Any = 1, padding: Any = 0,
                     output_padding: Any = 0) -> np.ndarray:  # host: NumPy loops
    """x (N, C_in, H, W), w (C_in, C_out, kh, kw), b (C_out,) -> (N, C_out, H_out, W_out).

    Each input pixel stamps the kernel, scaled by its value, onto the output at stride
    spacing; overlapping stamps add up. Then ``padding`` rows and columns are cut off the
    edges, so that this is the adjoint (the gradient) of ``conv2d`` with the same stride and
    padding: ``H_out = (H - 1)·sh - top - bottom + kh + output_padding``, or ``H·sh`` for
    ``"same"``.
    """
    n_batch, c_in, h, wd = x.shape
    _, c_out, kh, kw = w.shape
    sh, sw = pair(stride)
    if padding == "same":
        (top, bottom), (left, right) = pads("same", (h * sh, wd * sw), (kh, kw), (sh, sw))
        h_out, w_out = h * sh, wd * sw
    else:
        (top, bottom), (left, right) = pads(padding)
        h_out = (h - 1) * sh - top - bottom + kh + pair(output_padding)[0]
        w_out = (wd - 1) * sw - left - right + kw + pair(output_padding)[1]
    canvas = np.zeros((n_batch, c_out, top + h_out + bottom, left + w_out + right))
    for n, c, i, j in itertools.product(range(n_batch), range(c_in), range(h), range(wd)):
        canvas[n, :, i * sh:i * sh + kh, j * sw:j * sw + kw] += x[n, c, i, j] * w[c]
    z = canvas[:, :, top:top + h_out, left:left + w_out]
    return z if b is None else z + b.reshape(1, -1, 1, 1)


# --------------------------------------------------------------------------------------
# Pooling: a window at a time, channel by channel
# --------------------------------------------------------------------------------------
def _pool_geometry(kernel_size: Any, stride: Any, padding: Any) -> tuple[Pair, Pair, Pads]:
    """Kernel, stride (the kernel's by default) and pads of a pooling call."""
    kernel = pair(kernel_size)
    return kernel, pair(kernel if stride is None else stride), pads(padding)


def max_pool2d(x: np.ndarray, kernel_size: Any, stride: Any = None,
               padding: Any = 0) -> np.ndarray:  # host: NumPy loops
    """Each window's maximum: (N, C, H, W) -> (N, C, H_out, W_out). The padding is -inf,
    so it never wins."""
    kernel, stride, padding = _pool_geometry(kernel_size, stride, padding)
    x_pad = pad(x, padding, -np.inf)
    y = np.zeros(output_shape(x_pad.shape, kernel, stride))
    for index, window in windows(x_pad, kernel, stride):
        y[index] = window.max()
    return y


def max_pool2d_grad(x: np.ndarray, gy: np.ndarray, kernel_size: Any, stride: Any = None,
                    padding: Any = 0) -> np.ndarray:  # host: NumPy loops
    """max_pool2d's gradient: each window's ``gy`` goes to the pixel that won it, the first
    maximum in row-major order on a tie; overlapping windows that share a winner add up."""
    kernel, stride, padding = _pool_geometry(kernel_size, stride, padding)
    x_pad = pad(x, padding, -np.inf)
    gx_pad = np.zeros(x_pad.shape)
    for (n, c, i, j), window in windows(x_pad, kernel, stride):
        u, v = np.unravel_index(np.argmax(window), kernel)  # argmax: the first maximum
        gx_pad[n, c, i * stride[0] + u, j * stride[1] + v] += gy[n, c, i, j]
    (top, _), (left, _) = padding
    return gx_pad[:, :, top:top + x.shape[2], left:left + x.shape[3]]


def avg_pool2d(x: np.ndarray, kernel_size: Any, stride: Any = None,
               padding: Any = 0) -> np.ndarray:  # host: NumPy loops
    """Each window's mean: (N, C, H, W) -> (N, C, H_out, W_out). The zero padding counts, so
    every window is divided by kh·kw."""
    kernel, stride, padding = _pool_geometry(kernel_size, stride, padding)
    x_pad = pad(x, padding)
    y = np.zeros(output_shape(x_pad.shape, kernel, stride))
    for index, window in windows(x_pad, kernel, stride):
        y[index] = window.sum() / window.size
    return y
