"""Convolution, transposed convolution, pooling, padding and cropping on NCHW tensors.

Two array tricks carry everything here:

* **Windows (im2col).** ``sliding_window_view`` turns a padded image into a *view* of all
  its kh×kw patches, without copying. Copied once into a matrix with one row per (channel,
  kernel offset) and one column per output pixel, (C·kh·kw, H_out·W_out·N), a
  convolution is a single matrix product with the kernels reshaped to (C_out, C·kh·kw).
  Pooling is a reduction over the window axes.
* **col2im.** The way back — adding each patch-shaped gradient into the image it came
  from — is a loop over the kh×kw kernel offsets, each adding a strided slice. Windows
  overlap when stride < kernel, so contributions must be *added*.

Inside the convolutions the batch axis goes **last**: the image is copied once to
(C, Hp, Wp, N), padding included, and the matrix is (C, kh, kw, H_out, W_out, N). Every
copy and every strided add then moves runs of N contiguous numbers, where the (N, C, H, W)
order would move runs of W_out numbers with a stride between them; with the DCGAN's 7×7
and 14×14 feature maps, numpy's per-run overhead made those copies 3–5× slower. The
results are handed back as (N, C, H, W) *views* of the batch-last arrays, so the next
convolution's copy to batch-last reads memory in order.

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

Pooling is built the same way, as adjoint pairs: ``MaxPool2d`` (gather each window's
maximum) and ``MaxUnpool2d`` (scatter back to where it came from); ``AvgPool2d`` and
``AvgPool2dTranspose`` (spread evenly over the window).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from scratchnet.autograd import Function, Tensor, as_tensor
from scratchnet.backend import get_array_module
from scratchnet.functional.math import getitem
from scratchnet.functional.math import sum as sum_

__all__ = ["avg_pool2d", "conv2d", "conv_transpose2d", "crop2d", "max_pool2d", "pad2d"]

Pair = tuple[int, int]
Pads = tuple[Pair, Pair]  # ((top, bottom), (left, right))


class Geometry(NamedTuple):
    """Window layout: kernel (kh, kw), stride (sh, sw), pads ((top, bottom), (left, right))."""

    kernel: Pair
    stride: Pair
    pads: Pads


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


# --------------------------------------------------------------------------------------
# The two array tricks
# --------------------------------------------------------------------------------------
def _full_like_layout(like: Any, shape: tuple[int, ...], value: float) -> Any:
    """An (N, C, H, W) array of ``value`` laid out batch-last in memory when ``like`` is.

    The convolutions return batch-last views; elementwise work between two arrays whose
    memory orders differ reads one of them out of order (3-4× slower max pooling).
    """
    xp = get_array_module(like)
    if like.ndim == 4 and like.transpose(1, 2, 3, 0).flags.c_contiguous:
        return xp.full((*shape[1:], shape[0]), value, dtype=like.dtype).transpose(3, 0, 1, 2)
    return xp.full(shape, value, dtype=like.dtype)


def _pad(x: Any, pads: Pads, value: float = 0.0) -> Any:
    """(N, C, H, W) -> (N, C, H + top + bottom, W + left + right), filled with ``value``."""
    if pads == ((0, 0), (0, 0)):
        return x
    (top, bottom), (left, right) = pads
    n, c, h, w = x.shape
    # A filled array and one slice assignment: about 3× faster than xp.pad.
    padded = _full_like_layout(x, (n, c, h + top + bottom, w + left + right), value)
    padded[:, :, top:top + h, left:left + w] = x
    return padded


def _batch_last(x: Any, pads: Pads) -> Any:
    """(N, C, H, W) -> zero-padded, batch-last (C, H + top + bottom, W + left + right, N)."""
    (top, bottom), (left, right) = pads
    n, c, h, w = x.shape
    out = get_array_module(x).zeros((c, h + top + bottom, w + left + right, n), dtype=x.dtype)
    out[:, top:top + h, left:left + w] = x.transpose(1, 2, 3, 0)
    return out


def _crop(x: Any, pads: Pads) -> Any:
    if pads == ((0, 0), (0, 0)):
        return x
    (top, bottom), (left, right) = pads
    return x[:, :, top:x.shape[2] - bottom, left:x.shape[3] - right]


def _windows(x_padded: Any, geometry: Geometry, out: Pair, axes: Pair = (2, 3)) -> Any:
    """A view of every window of a padded array: the two image ``axes`` become (H_out, W_out)
    and two window axes (kh, kw) are appended; (N, C, Hp, Wp) -> (N, C, Ho, Wo, kh, kw)."""
    xp = get_array_module(x_padded)
    (kh, kw), (sh, sw) = geometry.kernel, geometry.stride
    view = xp.lib.stride_tricks.sliding_window_view(x_padded, (kh, kw), axis=axes)
    step = [slice(None)] * x_padded.ndim
    step[axes[0]] = slice(None, (out[0] - 1) * sh + 1, sh)
    step[axes[1]] = slice(None, (out[1] - 1) * sw + 1, sw)
    return view[tuple(step)]


def _im2col(x: Any, geometry: Geometry, out: Pair) -> Any:
    """The windows of an (N, C, H, W) array as a contiguous (C, kh, kw, Ho, Wo, N) array."""
    xp = get_array_module(x)
    windows = _windows(_batch_last(x, geometry.pads), geometry, out, axes=(1, 2))
    return xp.ascontiguousarray(windows.transpose(0, 4, 5, 1, 2, 3))    # from C, Ho, Wo, N, kh, kw


def _col2im(cols: Any, padded_hw: Pair, geometry: Geometry) -> Any:
    """Add window values (C, kh, kw, Ho, Wo, N) back into their padded image, returned as an
    (N, C, Hp, Wp) view of a batch-last array."""
    xp = get_array_module(cols)
    (kh, kw), (sh, sw) = geometry.kernel, geometry.stride
    c, _, _, ho, wo, n = cols.shape
    image = xp.zeros((c, *padded_hw, n), dtype=cols.dtype)
    for u in range(kh):  # one strided slice per kernel offset; overlaps add up
        for v in range(kw):
            image[:, u:u + sh * ho:sh, v:v + sw * wo:sw] += cols[:, u, v]
    return image.transpose(3, 0, 1, 2)


def _padded_size(size: Pair, pads: Pads) -> Pair:
    return size[0] + sum(pads[0]), size[1] + sum(pads[1])


def _offset_slices(geometry: Geometry, out: Pair) -> list[tuple[slice, ...]]:
    """For each kernel offset (u, v), row-major, the slice of the padded image it sees."""
    (kh, kw), (sh, sw) = geometry.kernel, geometry.stride
    return [(slice(None), slice(None), slice(u, u + sh * out[0], sh),
             slice(v, v + sw * out[1], sw)) for u in range(kh) for v in range(kw)]


def _conv2d_array(x: Any, w: Any, geometry: Geometry) -> Any:
    """conv2d on arrays: one GEMM between the kernels and the im2col matrix."""
    out = _out_size(geometry, x.shape[2:], "conv2d")
    cols = _im2col(x, geometry, out)                                     # C, kh, kw, Ho, Wo, N
    y = w.reshape(w.shape[0], -1) @ cols.reshape(-1, out[0] * out[1] * x.shape[0])
    return y.reshape(w.shape[0], *out, x.shape[0]).transpose(3, 0, 1, 2)


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
    -> y (N, C_out, H_out, W_out).

    Backward: dx = conv_transpose2d(dy, w), dw = Conv2dWeightGrad(x, dy) and db = Σ dy over
    N, H_out, W_out. The bias is added here rather than by a separate op so that the graph
    does not keep the output both without and with it (a third of a conv layer's memory).
    The im2col matrix is not kept for dw: it is the largest array of a layer, and keeping
    one per layer until backward made a training step's peak memory 3× PyTorch's.
    """

    def __init__(self, geometry: Geometry) -> None:
        self.geometry = geometry

    def forward(self, x, w, b=None):
        self.save_for_backward(x, w)
        y = _conv2d_array(x, w, self.geometry)
        if b is not None:
            y += b.reshape(1, -1, 1, 1)
        return y

    def backward(self, gy):
        x, w = self.saved_tensors
        g = self.geometry
        gx = ConvTranspose2d(g, x.shape[2:])(gy, w) if self.needs_input_grad[0] else None
        gw = Conv2dWeightGrad(g, w.shape[2:])(x, gy) if self.needs_input_grad[1] else None
        return gx, gw, *_bias_grad(gy, self.needs_input_grad[2:])


class ConvTranspose2d(Function):
    """conv2d's adjoint in its input: y (N, C_y, Ho, Wo), w (C_y, C_z, kh, kw) -> (N, C_z, H, W).

    Each input pixel stamps a copy of the kernel, scaled by its value, onto the output at
    stride spacing; overlapping stamps add up (col2im), then the padding is cropped.
    ``size`` = (H, W) fixes the output size, which the input alone leaves ambiguous by up to
    stride - 1. Backward: dy = conv2d(dz, w), dw = Conv2dWeightGrad(dz, y).
    """

    def __init__(self, geometry: Geometry, size: Pair) -> None:
        self.geometry, self.size = geometry, tuple(size)

    def forward(self, y, w, b=None):
        self.save_for_backward(y, w)
        z = self._stamp(y, w)
        if b is not None:
            z += b.reshape(1, -1, 1, 1)
        return z

    def _stamp(self, y, w):
        g = self.geometry
        (kh, kw), (top, bottom), (left, right) = g.kernel, *g.pads
        if (g.stride == (1, 1) and max(top, bottom) < kh and max(left, right) < kw
                and y.shape[1] <= w.shape[1]):
            # With stride 1, stamping kernels equals correlating the zero-padded input with
            # the kernel flipped by 180°: a plain convolution. It skips col2im, and it is
            # cheaper when the output has at least as many channels as the input.
            flipped = w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)
            full = Geometry(g.kernel, (1, 1), ((kh - 1 - top, kh - 1 - bottom),
                                               (kw - 1 - left, kw - 1 - right)))
            return _conv2d_array(y, flipped, full)
        n, c_y, ho, wo = y.shape
        y_matrix = y.transpose(1, 2, 3, 0).reshape(c_y, -1)               # C_y, Ho·Wo·N
        cols = w.reshape(c_y, -1).T @ y_matrix                            # C_z·kh·kw, Ho·Wo·N
        cols = cols.reshape(w.shape[1], *g.kernel, ho, wo, n)
        return _crop(_col2im(cols, _padded_size(self.size, g.pads), g), g.pads)

    def backward(self, gz):
        y, w = self.saved_tensors
        g = self.geometry
        gy = Conv2d(g)(gz, w) if self.needs_input_grad[0] else None
        gw = Conv2dWeightGrad(g, w.shape[2:])(gz, y) if self.needs_input_grad[1] else None
        return gy, gw, *_bias_grad(gz, self.needs_input_grad[2:])


class Conv2dWeightGrad(Function):
    """conv2d's gradient in its kernel: x (N, C_in, H, W), g (N, C_out, Ho, Wo) -> w's shape.

    ``dw[o, c, u, v] = Σ_n Σ_i Σ_j g[n, o, i, j] · x_pad[n, c, i·s + u, j·s + v]``: for each
    kernel offset (u, v), one GEMM between g and the pixels of x that the offset sees, the
    same windows as the forward pass, one offset at a time. It is bilinear, with
    ``<dw, k> = <conv2d(x, k), g>``, which gives its own backward.
    """

    def __init__(self, geometry: Geometry, kernel: Pair) -> None:
        self.geometry, self.kernel = geometry, tuple(kernel)

    def forward(self, x, g):
        self.save_for_backward(x, g)
        xp = get_array_module(x, g)
        (kh, kw), (sh, sw) = self.kernel, self.geometry.stride
        c_in, (c_out, ho, wo) = x.shape[1], g.shape[1:]
        # The forward pass made this same padded copy for its im2col matrix; remaking it
        # here, rather than keeping it alive until backward, is what keeps the conv
        # autoencoder's training step within 2× PyTorch's peak memory.
        x_padded = _batch_last(x, self.geometry.pads)                     # C_in, Hp, Wp, N
        g_matrix = g.transpose(1, 2, 3, 0).reshape(c_out, -1)             # C_out, Ho·Wo·N
        gw = xp.empty((c_out, c_in, kh, kw), dtype=xp.result_type(x, g))
        # Offset by offset rather than one GEMM with the whole im2col matrix: the same
        # copies and arithmetic, with 1/(kh·kw) of the memory, which the backward pass of
        # a training step (where this runs) is short of.
        for u in range(kh):
            for v in range(kw):
                seen = x_padded[:, u:u + sh * ho:sh, v:v + sw * wo:sw]    # C_in, Ho, Wo, N
                gw[:, :, u, v] = g_matrix @ seen.reshape(c_in, -1).T
        return gw

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
    """Each window's maximum, (N, C, H, W) -> (N, C, H_out, W_out), remembering where it was.

    The windows are scanned one kernel offset at a time (a strided slice each), keeping the
    running maximum. ``winners`` holds one boolean array per offset (row-major inside the
    window): True where that offset holds the window's maximum, only the first one on a
    tie. Given ``winners``, this is a plain gather (used for second derivatives).
    Backward: MaxUnpool2d sends each gradient back to its winner.
    """

    def __init__(self, geometry: Geometry, winners: list[Any] | None = None) -> None:
        self.geometry, self.winners = geometry, winners

    def forward(self, x):
        xp = get_array_module(x)
        g = self.geometry
        out = _out_size(g, x.shape[2:], "max_pool2d")
        self.size = x.shape[2:]
        given = self.winners is not None
        padded = _pad(x, g.pads, 0.0 if given else -xp.inf)  # padding never wins a maximum
        slices = [padded[s] for s in _offset_slices(g, out)]
        if given:
            return sum(part * won for part, won in zip(slices, self.winners))
        best = slices[0].copy(order="K")  # in the input's memory order, like the slices
        for part in slices[1:]:
            xp.maximum(best, part, out=best)
        self.winners = [slices[0] == best]  # masks: multiplying by them beats where()
        taken = self.winners[0].copy(order="K")
        for part in slices[1:]:
            won = part == best
            won &= ~taken  # a tie goes to the first maximum only
            taken |= won
            self.winners.append(won)
        return best

    def backward(self, gy):
        return MaxUnpool2d(self.geometry, self.winners, self.size)(gy)


class MaxUnpool2d(Function):
    """The adjoint of MaxPool2d: put each value where its window's maximum was, zeros elsewhere.

    Overlapping windows (stride < kernel) that chose the same pixel add up.
    """

    def __init__(self, geometry: Geometry, winners: list[Any], size: Pair) -> None:
        self.geometry, self.winners, self.size = geometry, winners, tuple(size)

    def forward(self, g):
        geo = self.geometry
        image = _full_like_layout(g, (*g.shape[:2], *_padded_size(self.size, geo.pads)), 0.0)
        for where, won in zip(_offset_slices(geo, g.shape[2:]), self.winners):
            image[where] += g * won
        return _crop(image, geo.pads)

    def backward(self, gx):
        return MaxPool2d(self.geometry, self.winners)(gx)


class AvgPool2d(Function):
    """Each window's mean, (N, C, H, W) -> (N, C, H_out, W_out); padding counts as zeros."""

    def __init__(self, geometry: Geometry) -> None:
        self.geometry = geometry

    def forward(self, x):
        g = self.geometry
        out = _out_size(g, x.shape[2:], "avg_pool2d")
        self.size = x.shape[2:]
        return _windows(_pad(x, g.pads), g, out).mean(axis=(4, 5))

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
        return _crop(_col2im(cols, _padded_size(self.size, geo.pads), geo), geo.pads)

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
        return _pad(x, self.pads)

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
