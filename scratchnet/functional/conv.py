"""Convolution, transposed convolution, pooling, padding and cropping on NCHW tensors.

Read :mod:`scratchnet.functional.conv_reference` first: it defines each op here as a plain
loop over pixels. This module computes the same numbers with whole-array operations, and
records them for backpropagation:

* **conv2d is im2col, one GEMM, a reshape.** Copy every kh×kw window of the padded input
  into one column of a matrix, (C_in·kh·kw, H_out·W_out·N): that is *im2col*. With the
  kernels as the rows of W, (C_out, C_in·kh·kw), the convolution is the matrix product
  ``W @ im2col(x)``, whose (C_out, H_out·W_out·N) result reshapes to the output.
* **conv_transpose2d is one GEMM, then col2im.** ``Wᵀ @ y`` gives, for every input pixel,
  its kernel stamp as a column; *col2im* adds each column back into the window it stands
  for, and overlapping windows add up.
* **The weight gradient is one GEMM with im2col transposed**: ``dW = G @ im2col(x)ᵀ``.

How the arrays are laid out in memory for speed (batch last, im2col a band of rows at a
time) is the private :mod:`scratchnet.functional._conv_layout`; it changes how fast the
numbers come, not the numbers.

Deep-learning "convolution" is cross-correlation: the kernel is not flipped,
``y[n, o, i, j] = Σ_c Σ_u Σ_v w[o, c, u, v] · x_pad[n, c, i·s + u, j·s + v]``.

The course's point that *the backward pass of a convolution is itself a convolution*
(Veličković, slide "backpropagation update of a convolutional layer") is how the code is
built. Three operations are each other's adjoints, and every backward below is written
with the other two, so gradients of gradients (WGAN-GP's penalty) work through them:

* ``Conv2d(x, w)``: the convolution;
* ``ConvTranspose2d(y, w)``: its gradient with respect to ``x``, i.e. the transposed
  convolution ("deconvolution") of the DCGAN generator;
* ``Conv2dWeightGrad(x, g)``: its gradient with respect to ``w``.

Pooling is built the same way, as adjoint pairs: ``MaxPool2d`` finds each window's maximum
and remembers which pixel won; ``MaxUnpool2d`` sends values back to the winners, and
``MaxPoolGather`` reads the winners again (MaxUnpool2d's own gradient). ``AvgPool2d`` and
``AvgPool2dTranspose`` average over a window and spread evenly over it.

Pixel shuffle (Shi et al., CVPR 2016) is a pair too: ``PixelShuffle`` moves r² channels
into an r×r block of pixels, ``PixelUnshuffle`` moves them back; each is the other's
inverse, and, being a permutation, its adjoint as well.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from scratchnet.autograd import Function, Tensor, as_tensor
from scratchnet.backend import get_array_module
from scratchnet.functional import _conv_layout as layout
from scratchnet.functional._conv_layout import Geometry, Pads, Pair
from scratchnet.functional.math import getitem
from scratchnet.functional.math import sum as sum_

__all__ = ["avg_pool2d", "conv2d", "conv_transpose2d", "crop2d", "max_pool2d", "pad2d",
           "pixel_shuffle", "pixel_unshuffle"]


# --------------------------------------------------------------------------------------
# Geometry: parsing and checking sizes, with errors that name the function
# --------------------------------------------------------------------------------------
def _pair(value: Any, name: str, func: str, minimum: int) -> Pair:
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if (len(pair) != 2 or any(isinstance(v, bool) or not isinstance(v, (int, np.integer))
                              for v in pair) or min(pair) < minimum):
        raise ValueError(f"{func}: {name} must be an integer >= {minimum} or a pair of them, "
                         f"got {value!r}")
    return int(pair[0]), int(pair[1])


def parse_padding(padding: Any, func: str, name: str = "padding") -> Pads:
    """int | (ph, pw) | ((top, bottom), (left, right)) -> ((top, bottom), (left, right))."""
    if isinstance(padding, (tuple, list)) and len(padding) == 2 and all(
            isinstance(p, (tuple, list)) for p in padding):
        rows = _pair(padding[0], f"{name} (top, bottom)", func, 0)
        cols = _pair(padding[1], f"{name} (left, right)", func, 0)
        return rows, cols
    ph, pw = _pair(padding, name, func, 0)
    return (ph, ph), (pw, pw)


def _same_pads(size: Pair, kernel: Pair, stride: Pair) -> Pads:
    """TensorFlow's "same": out = ceil(in / stride), the odd pixel of padding at the end."""
    pads = []
    for n, k, s in zip(size, kernel, stride):
        total = max((math.ceil(n / s) - 1) * s + k - n, 0)
        pads.append((total // 2, total - total // 2))
    return pads[0], pads[1]


def _bias_inputs(b: Any, channels: int, func: str) -> tuple[Tensor, ...]:
    """() without a bias, else (b,) after checking that it has one value per output channel."""
    if b is None:
        return ()
    b = as_tensor(b)
    if b.shape != (channels,):
        raise ValueError(f"{func}: bias has shape {b.shape}, expected ({channels},) for an "
                         f"output with {channels} channels")
    return (b,)


def _check_input(x: Tensor, func: str) -> None:
    if x.ndim != 4:
        raise ValueError(f"{func}: expected input of shape (N, C, H, W), got {x.shape} "
                         f"({x.ndim} dimensions); add axes with x.reshape(...)")


def _out_size(geometry: Geometry, size: Pair, func: str) -> Pair:
    out = []
    for axis, (n, k, s, (p0, p1)) in enumerate(zip(size, geometry.kernel, geometry.stride,
                                                  geometry.pads)):
        padded = n + p0 + p1
        if k > padded:
            raise ValueError(f"{func}: kernel {geometry.kernel} is larger than the padded "
                             f"input {size[0] + sum(geometry.pads[0])}x"
                             f"{size[1] + sum(geometry.pads[1])} (axis {axis + 2})")
        out.append((padded - k) // s + 1)
    return out[0], out[1]


def _conv_geometry(func: str, size: Pair, kernel: Pair, stride: Any, padding: Any) -> Geometry:
    stride = _pair(stride, "stride", func, 1)
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ValueError(f"{func}: padding must be an int, a pair, 'same' or 'valid', "
                             f"got {padding!r}")
        pads = _same_pads(size, kernel, stride) if padding == "same" else ((0, 0), (0, 0))
    else:
        pads = parse_padding(padding, func)
    return Geometry(kernel, stride, pads)


def _bias_grad(gy: Tensor, needs: tuple[bool, ...]) -> tuple[Tensor | None, ...]:
    """() without a bias input; else (db,) with db = Σ gy over (N, H, W), or (None,)."""
    if not needs:
        return ()
    return (sum_(gy, axis=(0, 2, 3)) if needs[0] else None,)


# --------------------------------------------------------------------------------------
# Convolution: three mutually adjoint Functions
# --------------------------------------------------------------------------------------
class Conv2d(Function):
    """y = conv2d(x, w) + b: x (N, C_in, H, W), w (C_out, C_in, kh, kw), optional b (C_out,)
    -> y (N, C_out, H_out, W_out). The plain loop: ``conv_reference.conv2d``.

    Backward: dx = conv_transpose2d(dy, w), dw = Conv2dWeightGrad(x, dy) and db = Σ dy over
    N, H_out, W_out. It keeps x and w for them, not the im2col matrix (the largest array of
    a layer, nine times the input under a 3×3 kernel). The bias is added here rather than by
    a separate op, so that the output does not exist both without and with it.
    """

    def __init__(self, geometry: Geometry) -> None:
        self.geometry = geometry

    def forward(self, x, w, b=None):
        self.save_for_backward(x, w)
        out = _out_size(self.geometry, x.shape[2:], "conv2d")
        w_matrix = w.reshape(w.shape[0], -1)          # one kernel per row: C_out, C_in·kh·kw
        y = layout.matmul_im2col(w_matrix, x, self.geometry, out)   # W @ im2col(x), batch last
        if b is not None:
            y += b.reshape(-1, 1, 1, 1)
        return layout.nchw(y)                                 # N, C_out, H_out, W_out

    def backward(self, gy):
        x, w = self.saved_tensors
        g = self.geometry
        gx = ConvTranspose2d(g, x.shape[2:])(gy, w) if self.needs_input_grad[0] else None
        gw = Conv2dWeightGrad(g, w.shape[2:])(x, gy) if self.needs_input_grad[1] else None
        return gx, gw, *_bias_grad(gy, self.needs_input_grad[2:])


class ConvTranspose2d(Function):
    """conv2d's adjoint in its input: y (N, C_y, Ho, Wo), w (C_y, C_z, kh, kw) -> (N, C_z, H, W).
    The plain loop: ``conv_reference.conv_transpose2d``.

    Each input pixel stamps a copy of the kernel, scaled by its value, onto the output at
    stride spacing; overlapping stamps add up (col2im), then the padding is cropped.
    ``size`` = (H, W) fixes the output size, which the input alone leaves ambiguous by up to
    stride - 1. Backward: dy = conv2d(dz, w), dw = Conv2dWeightGrad(dz, y).
    """

    def __init__(self, geometry: Geometry, size: Pair) -> None:
        self.geometry, self.size = geometry, tuple(size)

    def forward(self, y, w, b=None):
        self.save_for_backward(y, w)
        w_matrix = w.reshape(w.shape[0], -1)                  # C_y, C_z·kh·kw
        # Column (i, j, n) of Wᵀ @ y is the stamp of input pixel (i, j) of image n; col2im
        # adds the stamps into the padded output, which comes back cropped.
        z = layout.col2im_matmul(w_matrix.T, y, self.geometry, self.size)   # N, C_z, H, W
        if b is not None:
            z += b.reshape(1, -1, 1, 1)
        return z

    def backward(self, gz):
        y, w = self.saved_tensors
        g = self.geometry
        gy = Conv2d(g)(gz, w) if self.needs_input_grad[0] else None
        gw = Conv2dWeightGrad(g, w.shape[2:])(gz, y) if self.needs_input_grad[1] else None
        return gy, gw, *_bias_grad(gz, self.needs_input_grad[2:])


class Conv2dWeightGrad(Function):
    """conv2d's gradient in its kernel: x (N, C_in, H, W), g (N, C_out, Ho, Wo) -> w's shape.

    ``dw[o, c, u, v] = Σ_n Σ_i Σ_j g[n, o, i, j] · x_pad[n, c, i·s + u, j·s + v]``: the same
    windows as the forward pass, so with G the gradient as a (C_out, H_out·W_out·N) matrix,
    ``dW = G @ im2col(x)ᵀ``. It is bilinear, with ``<dw, k> = <conv2d(x, k), g>``, which
    gives its own backward.
    """

    def __init__(self, geometry: Geometry, kernel: Pair) -> None:
        self.geometry, self.kernel = geometry, tuple(kernel)

    def forward(self, x, g):
        self.save_for_backward(x, g)
        gw = layout.matmul_im2col_t(g, x, self.geometry)     # G @ im2col(x)ᵀ: C_out, C_in·kh·kw
        return gw.reshape(g.shape[1], x.shape[1], *self.kernel)

    def backward(self, gw):
        x, g = self.saved_tensors
        geo = self.geometry
        gx = ConvTranspose2d(geo, x.shape[2:])(g, gw) if self.needs_input_grad[0] else None
        gg = Conv2d(geo)(x, gw) if self.needs_input_grad[1] else None
        return gx, gg


def conv2d(x: Tensor, w: Tensor, b: Tensor | None = None, stride: Any = 1,
           padding: Any = 0) -> Tensor:
    """2-D convolution (cross-correlation) of a batch of images with a bank of kernels.

    Shapes: x (N, C_in, H, W), w (C_out, C_in, kh, kw), b (C_out,) -> (N, C_out, H_out, W_out)
    with ``H_out = floor((H + top + bottom - kh) / stride) + 1`` (likewise W).

    Args:
        stride: an int or (sh, sw).
        padding: zeros around the input: an int, (ph, pw), ((top, bottom), (left, right)),
            "valid" (none) or "same" (``H_out = ceil(H / stride)``, the extra pixel of
            padding at the bottom/right, as in Keras).
    """
    x, w = as_tensor(x), as_tensor(w)
    _check_input(x, "conv2d")
    if w.ndim != 4:
        raise ValueError(f"conv2d: expected a kernel of shape (C_out, C_in, kh, kw), got {w.shape}")
    if x.shape[1] != w.shape[1]:
        raise ValueError(f"conv2d: input has {x.shape[1]} channels (shape {x.shape}) but the "
                         f"kernel expects {w.shape[1]} (shape {w.shape})")
    kernel = _pair(w.shape[2:], "kernel size", "conv2d", 1)
    geometry = _conv_geometry("conv2d", x.shape[2:], kernel, stride, padding)
    _out_size(geometry, x.shape[2:], "conv2d")
    return Conv2d(geometry)(x, w, *_bias_inputs(b, w.shape[0], "conv2d"))


def conv_transpose2d(x: Tensor, w: Tensor, b: Tensor | None = None, stride: Any = 1,
                     padding: Any = 0, output_padding: Any = 0) -> Tensor:
    """Transposed convolution ("deconvolution"): the gradient of conv2d with respect to its input.

    Shapes: x (N, C_in, H, W), w (C_in, C_out, kh, kw), b (C_out,) -> (N, C_out, H_out, W_out)
    with ``H_out = (H - 1) · stride - top - bottom + kh + output_padding`` (likewise W).
    It is the adjoint of ``conv2d`` with the same ``w``, stride and padding:
    ``<conv2d(z, w), x> = <z, conv_transpose2d(x, w)>``. It upsamples by ``stride``.

    Args:
        padding: as for :func:`conv2d`, but it *removes* rows and columns from the output;
            ``"same"`` gives ``H_out = H · stride`` (Keras' Conv2DTranspose).
        output_padding: extra rows/columns at the bottom/right (< stride), to reach sizes
            that several conv2d input sizes share.
    """
    x, w = as_tensor(x), as_tensor(w)
    func = "conv_transpose2d"
    _check_input(x, func)
    if w.ndim != 4:
        raise ValueError(f"{func}: expected a kernel of shape (C_in, C_out, kh, kw), got {w.shape}")
    if x.shape[1] != w.shape[0]:
        raise ValueError(f"{func}: input has {x.shape[1]} channels (shape {x.shape}) but the "
                         f"kernel expects {w.shape[0]} (shape {w.shape})")
    kernel = _pair(w.shape[2:], "kernel size", func, 1)
    stride_pair = _pair(stride, "stride", func, 1)
    if padding == "same":
        if _pair(output_padding, "output_padding", func, 0) != (0, 0):
            raise ValueError(f"{func}: padding='same' fixes the output size at input × stride; "
                             f"leave output_padding at 0 (got {output_padding!r})")
        size = (x.shape[2] * stride_pair[0], x.shape[3] * stride_pair[1])
        geometry = _conv_geometry(func, size, kernel, stride_pair, "same")
    else:
        geometry = _conv_geometry(func, x.shape[2:], kernel, stride_pair, padding)
        extra = _pair(output_padding, "output_padding", func, 0)
        if any(e >= s for e, s in zip(extra, stride_pair)):
            raise ValueError(f"{func}: output_padding {extra} must be smaller than the stride "
                             f"{stride_pair}")
        size = tuple((n - 1) * s - sum(p) + k + e for n, s, p, k, e in
                     zip(x.shape[2:], stride_pair, geometry.pads, kernel, extra))
        if min(size) < 1:
            raise ValueError(f"{func}: the output would be {size[0]}x{size[1]}; reduce the "
                             "padding or enlarge the input")
    return ConvTranspose2d(geometry, size)(x, w, *_bias_inputs(b, w.shape[1], func))


# --------------------------------------------------------------------------------------
# Pooling: gather/scatter and average/spread, as adjoint pairs
# --------------------------------------------------------------------------------------
class MaxPool2d(Function):
    """Each window's maximum, (N, C, H, W) -> (N, C, H_out, W_out), remembering which pixel
    won. The plain loop: ``conv_reference.max_pool2d``.

    The windows are scanned one kernel offset at a time (a strided slice each), keeping the
    running maximum and, in ``winners``, the offset (row-major inside the window) that holds
    it: one small integer per output pixel, kept for backward instead of the input. A later
    offset takes over only when it is strictly larger, so a tie goes to the first maximum.
    Backward: MaxUnpool2d sends each gradient back to its winner.
    """

    def __init__(self, geometry: Geometry) -> None:
        self.geometry = geometry

    def forward(self, x):
        xp = get_array_module(x)
        g = self.geometry
        self.size = x.shape[2:]
        padded = layout.pad(x, g.pads, -xp.inf)            # padding never wins a maximum
        slices = [padded[s] for s in layout.offset_slices(g, _out_size(g, self.size,
                                                                        "max_pool2d"))]
        best = slices[0].copy(order="K")                    # in the input's memory order
        winners = xp.zeros_like(best, dtype=xp.min_scalar_type(len(slices) - 1))  # uint8
        for k, part in enumerate(slices[1:], start=1):
            # Where this offset is strictly larger it wins, and k is larger than any earlier
            # winner's offset: a maximum of (k where larger, 0 elsewhere) updates the winners.
            # Plain ufuncs: copyto(where=...) and np.where were 5-8× slower here.
            larger = xp.multiply(part > best, k, dtype=winners.dtype)
            xp.maximum(winners, larger, out=winners)
            xp.maximum(best, part, out=best)
        self.save_for_backward(winners)
        return best

    def backward(self, gy):
        (winners,) = self.saved_tensors
        return MaxUnpool2d(self.geometry, winners.data, self.size)(gy)


class MaxUnpool2d(Function):
    """MaxPool2d's adjoint: put each value where its window's maximum was, zeros elsewhere.

    ``winners`` (N, C, H_out, W_out) holds the kernel offset that won each window. Windows
    that overlap (stride < kernel) and chose the same pixel add up.
    """

    def __init__(self, geometry: Geometry, winners: Any, size: Pair) -> None:
        self.geometry, self.winners, self.size = geometry, winners, tuple(size)

    def forward(self, g):
        xp = get_array_module(g)
        geo = self.geometry
        image = layout.full_like_layout(g, (*g.shape[:2], *layout.padded_size(self.size,
                                                                              geo.pads)), 0.0)
        overlapping = any(s < k for s, k in zip(geo.stride, geo.kernel))
        for k, where in enumerate(layout.offset_slices(geo, g.shape[2:])):
            if overlapping:
                image[where] += g * (self.winners == k)
            else:  # each pixel is in one window at most: write, no need to add
                xp.multiply(g, self.winners == k, out=image[where])
        return layout.crop(image, geo.pads)

    def backward(self, gx):
        return MaxPoolGather(self.geometry, self.winners)(gx)


class MaxPoolGather(Function):
    """MaxUnpool2d's adjoint: read each window's pixel at the offset that ``winners`` names,
    (N, C, H, W) -> (N, C, H_out, W_out). With the winners of ``x``, it gives max_pool2d(x)
    again; it is what the second derivative of max pooling runs through."""

    def __init__(self, geometry: Geometry, winners: Any) -> None:
        self.geometry, self.winners = geometry, winners

    def forward(self, x):
        self.size = x.shape[2:]
        padded = layout.pad(x, self.geometry.pads)
        slices = layout.offset_slices(self.geometry, self.winners.shape[2:])
        return sum(padded[where] * (self.winners == k) for k, where in enumerate(slices))

    def backward(self, gy):
        return MaxUnpool2d(self.geometry, self.winners, self.size)(gy)


class AvgPool2d(Function):
    """Each window's mean, (N, C, H, W) -> (N, C, H_out, W_out); padding counts as zeros.
    The plain loop: ``conv_reference.avg_pool2d``."""

    def __init__(self, geometry: Geometry) -> None:
        self.geometry = geometry

    def forward(self, x):
        g = self.geometry
        self.size = x.shape[2:]
        out = _out_size(g, self.size, "avg_pool2d")
        return layout.windows(layout.pad(x, g.pads), g, out).mean(axis=(4, 5))

    def backward(self, gy):
        return AvgPool2dTranspose(self.geometry, self.size)(gy)


class AvgPool2dTranspose(Function):
    """AvgPool2d's adjoint: spread each value evenly, 1 / (kh·kw) to each pixel of its window."""

    def __init__(self, geometry: Geometry, size: Pair) -> None:
        self.geometry, self.size = geometry, tuple(size)

    def forward(self, g):
        xp = get_array_module(g)
        geo = self.geometry
        kh, kw = geo.kernel
        spread = (g / (kh * kw)).transpose(1, 2, 3, 0)[:, None, None]    # C, 1, 1, Ho, Wo, N
        cols = xp.broadcast_to(spread, (g.shape[1], kh, kw, *g.shape[2:], g.shape[0]))
        image = xp.zeros((g.shape[1], *layout.padded_size(self.size, geo.pads), g.shape[0]),
                         dtype=g.dtype)
        layout.col2im_add(image, cols, geo, slice(0, g.shape[2]))
        return layout.nchw(image, geo.pads)

    def backward(self, gx):
        return AvgPool2d(self.geometry)(gx)


def _pool_geometry(func: str, x: Tensor, kernel_size: Any, stride: Any,
                   padding: Any) -> Geometry:
    _check_input(x, func)
    kernel = _pair(kernel_size, "kernel_size", func, 1)
    geometry = Geometry(kernel, _pair(kernel if stride is None else stride, "stride", func, 1),
                        parse_padding(padding, func))
    for (p0, p1), k in zip(geometry.pads, kernel):
        if max(p0, p1) > k // 2:  # else a window could hold nothing but padding
            raise ValueError(f"{func}: padding {geometry.pads} must be at most half the "
                             f"kernel size {kernel}")
    _out_size(geometry, x.shape[2:], func)
    return geometry


def max_pool2d(x: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:
    """Max pooling: (N, C, H, W) -> (N, C, H_out, W_out), ``H_out = floor((H + 2p - k) / s) + 1``.

    ``stride`` defaults to ``kernel_size``; padding is -inf, so it never wins. The gradient
    goes to each window's maximum; on a tie, to the first maximum in row-major order.
    """
    x = as_tensor(x)
    return MaxPool2d(_pool_geometry("max_pool2d", x, kernel_size, stride, padding))(x)


def avg_pool2d(x: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:
    """Average pooling: (N, C, H, W) -> (N, C, H_out, W_out); zero padding counts in the mean."""
    x = as_tensor(x)
    return AvgPool2d(_pool_geometry("avg_pool2d", x, kernel_size, stride, padding))(x)


# --------------------------------------------------------------------------------------
# Padding and cropping
# --------------------------------------------------------------------------------------
class Pad2d(Function):
    """Zeros around the image: (N, C, H, W) -> (N, C, H + top + bottom, W + left + right)."""

    def __init__(self, pads: Pads) -> None:
        self.pads = pads

    def forward(self, x):
        return layout.pad(x, self.pads)

    def backward(self, gy):
        return crop2d(gy, self.pads)


def pad2d(x: Tensor, padding: Any) -> Tensor:
    """Zero padding: an int, (ph, pw) or ((top, bottom), (left, right))."""
    x = as_tensor(x)
    _check_input(x, "pad2d")
    return Pad2d(parse_padding(padding, "pad2d"))(x)


def crop2d(x: Tensor, cropping: Any) -> Tensor:
    """Remove rows and columns at the edges: an int, (ch, cw) or ((top, bottom), (left, right))."""
    x = as_tensor(x)
    _check_input(x, "crop2d")
    (top, bottom), (left, right) = parse_padding(cropping, "crop2d", "cropping")
    if top + bottom >= x.shape[2] or left + right >= x.shape[3]:
        raise ValueError(f"crop2d: cropping {((top, bottom), (left, right))} leaves nothing of "
                         f"an input of shape {x.shape}")
    return getitem(x, (slice(None), slice(None), slice(top, x.shape[2] - bottom),
                       slice(left, x.shape[3] - right)))


# --------------------------------------------------------------------------------------
# Pixel shuffle: channels to space and back
# --------------------------------------------------------------------------------------
class PixelShuffle(Function):
    """(N, C·r², H, W) -> (N, C, H·r, W·r), with
    ``out[n, c, h·r + i, w·r + j] = x[n, c·r² + i·r + j, h, w]``."""

    def __init__(self, r: int) -> None:
        self.r = r

    def forward(self, x):
        n, c, h, w = x.shape
        r = self.r
        # Split the channel axis into (c, i, j), then interleave i with h and j with w:
        # axes (n, c, h, i, w, j) flatten row-major to the rows h·r + i and columns w·r + j.
        blocks = x.reshape(n, c // (r * r), r, r, h, w).transpose(0, 1, 4, 2, 5, 3)
        return blocks.reshape(n, c // (r * r), h * r, w * r)

    def backward(self, gy):
        return pixel_unshuffle(gy, self.r)


class PixelUnshuffle(Function):
    """(N, C, H·r, W·r) -> (N, C·r², H, W), with
    ``out[n, c·r² + i·r + j, h, w] = x[n, c, h·r + i, w·r + j]``."""

    def __init__(self, r: int) -> None:
        self.r = r

    def forward(self, x):
        n, c, hr, wr = x.shape
        r = self.r
        # The exact reverse of PixelShuffle.forward: split rows into (h, i) and columns
        # into (w, j), then gather (i, j) next to the channel.
        blocks = x.reshape(n, c, hr // r, r, wr // r, r).transpose(0, 1, 3, 5, 2, 4)
        return blocks.reshape(n, c * r * r, hr // r, wr // r)

    def backward(self, gx):
        return pixel_shuffle(gx, self.r)


def _upscale_factor(r: Any, func: str) -> int:
    if isinstance(r, bool) or not isinstance(r, (int, np.integer)) or r < 1:
        raise ValueError(f"{func}: the factor must be an integer >= 1, got {r!r}")
    return int(r)


def pixel_shuffle(x: Tensor, upscale_factor: int) -> Tensor:
    """Rearrange channels into space: (N, C·r², H, W) -> (N, C, H·r, W·r), r = upscale_factor.

    ``out[n, c, h·r + i, w·r + j] = x[n, c·r² + i·r + j, h, w]`` (PyTorch's order): the r²
    channels ``c·r² .. c·r² + r² - 1`` fill, row by row, the r×r block of output channel c
    at pixel (h, w). A convolution to C·r² channels followed by this op is Shi et al.'s
    sub-pixel convolution: it upsamples by r, with every kernel applied at the low
    resolution. The gradient is ``pixel_unshuffle`` of the upstream gradient.
    """
    x = as_tensor(x)
    _check_input(x, "pixel_shuffle")
    r = _upscale_factor(upscale_factor, "pixel_shuffle")
    if x.shape[1] % (r * r):
        raise ValueError(f"pixel_shuffle: the input has {x.shape[1]} channels (shape "
                         f"{x.shape}), expected a multiple of upscale_factor² = {r * r}")
    return PixelShuffle(r)(x)


def pixel_unshuffle(x: Tensor, downscale_factor: int) -> Tensor:
    """Rearrange space into channels: (N, C, H·r, W·r) -> (N, C·r², H, W), r = downscale_factor.

    ``out[n, c·r² + i·r + j, h, w] = x[n, c, h·r + i, w·r + j]``: the exact inverse of
    ``pixel_shuffle``, and (a permutation of the entries) also its adjoint,
    ``<pixel_shuffle(x), y> = <x, pixel_unshuffle(y)>``. The gradient is ``pixel_shuffle``
    of the upstream gradient.
    """
    x = as_tensor(x)
    _check_input(x, "pixel_unshuffle")
    r = _upscale_factor(downscale_factor, "pixel_unshuffle")
    if x.shape[2] % r or x.shape[3] % r:
        raise ValueError(f"pixel_unshuffle: the input's height and width {x.shape[2:]} "
                         f"(shape {x.shape}) must both be multiples of downscale_factor = {r}")
    return PixelUnshuffle(r)(x)
