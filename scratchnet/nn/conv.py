"""Convolutional layers: Conv2D, ConvTranspose2D, pooling, zero padding and cropping.

All take and return (N, C, H, W) tensors; the ops themselves live in
:mod:`scratchnet.functional.conv`, and their plain loop definitions in
:mod:`scratchnet.functional.conv_reference`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from scratchnet import functional as F
from scratchnet.autograd import Tensor, get_default_dtype
from scratchnet.checks import check_int
from scratchnet.functional.conv import parse_padding
from scratchnet.nn.activations import get_activation
from scratchnet.nn.init import Initializer, get_initializer
from scratchnet.nn.module import Module, Parameter
from scratchnet.random import get_generator

__all__ = ["AvgPool2D", "Conv2D", "ConvTranspose2D", "Cropping2D", "MaxPool2D", "ZeroPadding2D"]


def _kernel_pair(layer: str, kernel_size: Any) -> tuple[int, int]:
    pair = (kernel_size, kernel_size) if np.ndim(kernel_size) == 0 else tuple(kernel_size)
    if len(pair) != 2:
        raise ValueError(f"{layer}: kernel_size must be an int or a pair, got {kernel_size!r}")
    return check_int(layer, "kernel_size", pair[0]), check_int(layer, "kernel_size", pair[1])


def _default_init(activation: Any) -> str:
    """He for the rectifiers (they zero half their inputs), Glorot otherwise."""
    return "he_uniform" if activation in ("relu", "leaky_relu") else "glorot_uniform"


class _Convolution(Module):
    """What Conv2D and ConvTranspose2D share: kernels, bias, activation, input checks."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any,
                 padding: Any, activation: str | Module | None, bias: bool,
                 init: str | Initializer | None, rng: np.random.Generator | int | None,
                 weight_shape: tuple[int, ...]) -> None:
        super().__init__()
        name = type(self).__name__
        self.in_channels = check_int(name, "in_channels", in_channels)
        self.out_channels = check_int(name, "out_channels", out_channels)
        self.kernel_size = _kernel_pair(name, kernel_size)
        self.stride, self.padding = stride, padding
        area = self.kernel_size[0] * self.kernel_size[1]
        initializer = get_initializer(_default_init(activation) if init is None else init)
        weights = initializer(weight_shape, in_channels * area, out_channels * area,
                              get_generator(rng))
        self.weight = Parameter(weights, dtype=get_default_dtype())
        self.bias = (Parameter(np.zeros(out_channels), dtype=get_default_dtype()) if bias
                     else None)
        self.activation = get_activation(activation)

    def _check(self, x: Tensor) -> None:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"{type(self).__name__}({self.extra_repr()}): expected input of "
                             f"shape (N, {self.in_channels}, H, W), got {tuple(x.shape)}; the "
                             f"kernel has shape {tuple(self.weight.shape)}")

    def extra_repr(self) -> str:
        kh, kw = self.kernel_size
        return (f"{self.in_channels} -> {self.out_channels}, kernel {kh}x{kw}, "
                f"stride={self.stride}, padding={self.padding!r}")


class Conv2D(_Convolution):
    """``y = activation(conv2d(x, W) + b)``: (N, C_in, H, W) -> (N, C_out, H_out, W_out).

    ``W`` has shape (C_out, C_in, kh, kw) and ``b`` (C_out,): ``C_out · C_in · kh · kw +
    C_out`` parameters, shared across every position of the image. See
    :func:`scratchnet.functional.conv2d` for stride, padding and the output size. The
    default initialiser is He uniform for ReLU-type activations, Glorot uniform otherwise.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, activation: str | Module | None = None, bias: bool = True,
                 init: str | Initializer | None = None,
                 rng: np.random.Generator | int | None = None) -> None:
        kh, kw = _kernel_pair("Conv2D", kernel_size)
        super().__init__(in_channels, out_channels, (kh, kw), stride, padding, activation, bias,
                         init, rng, (out_channels, in_channels, kh, kw))

    def forward(self, x: Tensor) -> Tensor:
        self._check(x)
        return self.activation(F.conv2d(x, self.weight, self.bias, self.stride, self.padding))


class ConvTranspose2D(_Convolution):
    """``y = activation(conv_transpose2d(x, W) + b)``, upsampling by ``stride``.

    Shapes: (N, C_in, H, W) -> (N, C_out, H_out, W_out) with
    ``H_out = (H - 1) · stride - padding_top - padding_bottom + kh + output_padding``;
    ``padding="same"`` gives ``H_out = H · stride``. ``W`` has shape (C_in, C_out, kh, kw).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, output_padding: Any = 0,
                 activation: str | Module | None = None, bias: bool = True,
                 init: str | Initializer | None = None,
                 rng: np.random.Generator | int | None = None) -> None:
        kh, kw = _kernel_pair("ConvTranspose2D", kernel_size)
        super().__init__(in_channels, out_channels, (kh, kw), stride, padding, activation, bias,
                         init, rng, (in_channels, out_channels, kh, kw))
        self.output_padding = output_padding

    def forward(self, x: Tensor) -> Tensor:
        self._check(x)
        return self.activation(F.conv_transpose2d(x, self.weight, self.bias, self.stride,
                                                  self.padding, self.output_padding))


class MaxPool2D(Module):
    """Max pooling (see :func:`scratchnet.functional.max_pool2d`); stride defaults to the kernel."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x: Tensor) -> Tensor:
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2D(MaxPool2D):
    """Average pooling (see :func:`scratchnet.functional.avg_pool2d`)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding)


class ZeroPadding2D(Module):
    """Zeros around each image: an int, (ph, pw) or ((top, bottom), (left, right))."""

    def __init__(self, padding: Any) -> None:
        super().__init__()
        self.padding = parse_padding(padding, "ZeroPadding2D")

    def forward(self, x: Tensor) -> Tensor:
        return F.pad2d(x, self.padding)

    def extra_repr(self) -> str:
        return str(self.padding)


class Cropping2D(Module):
    """Remove rows and columns at the edges: an int, (ch, cw) or ((top, bottom), (left, right)).

    The course's conv autoencoder uses it to go back from 32×32 to 28×28.
    """

    def __init__(self, cropping: Any) -> None:
        super().__init__()
        self.cropping = parse_padding(cropping, "Cropping2D", "cropping")

    def forward(self, x: Tensor) -> Tensor:
        return F.crop2d(x, self.cropping)

    def extra_repr(self) -> str:
        return str(self.cropping)
