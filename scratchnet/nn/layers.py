"""Layers: Dense, BatchNorm, Dropout, GaussianNoise, Flatten and Reshape.

Every layer is a :class:`~scratchnet.nn.Module` whose ``forward`` is written with
differentiable ops, so gradients (and gradients of gradients) come from the autodiff
engine; no layer has a hand-written backward.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from scratchnet import functional as F
from scratchnet.autograd import Tensor, as_tensor, get_default_dtype
from scratchnet.backend import get_array_module, get_backend_module
from scratchnet.checks import check_int, check_number
from scratchnet.nn.activations import get_activation
from scratchnet.nn.init import Initializer, get_initializer
from scratchnet.nn.module import Module, Parameter
from scratchnet.random import get_generator, own_generator

__all__ = ["BatchNorm1D", "BatchNorm2D", "Dense", "Dropout", "Flatten", "GaussianNoise",
           "Reshape"]


class Dense(Module):
    """Fully connected layer: ``y = activation(x @ W + b)``.

    Shapes: ``x`` (N, in_features) -> ``y`` (N, out_features); ``W`` is stored as
    (in_features, out_features) so a batch of rows multiplies it directly, and ``b`` as
    (out_features,). Parameters: ``in_features * out_features + out_features``.

    Args:
        activation: a name ("relu", "leaky_relu", "sigmoid", "tanh", "softplus",
            "linear"/None) or a Module.
        init: the weight initialiser, by name (default Glorot uniform) or a callable;
            the bias starts at zero.
        rng: generator or seed for the initial weights (default: the library generator).
    """

    def __init__(self, in_features: int, out_features: int, activation: str | Module | None = None,
                 bias: bool = True, init: str | Initializer = "glorot_uniform",
                 rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        self.in_features = check_int("Dense", "in_features", in_features)
        self.out_features = check_int("Dense", "out_features", out_features)
        weights = get_initializer(init)((in_features, out_features), in_features, out_features,
                                        get_generator(rng))
        self.weight = Parameter(weights, dtype=get_default_dtype())
        self.bias = Parameter(np.zeros(out_features), dtype=get_default_dtype()) if bias else None
        self.activation = get_activation(activation)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim < 1 or x.shape[-1] != self.in_features:
            raise ValueError(f"Dense({self.in_features} -> {self.out_features}): expected input "
                             f"of shape (N, {self.in_features}), got {tuple(x.shape)}")
        y = x @ self.weight
        if self.bias is not None:
            y = y + self.bias
        return self.activation(y)

    def extra_repr(self) -> str:
        return f"{self.in_features} -> {self.out_features}"


class Flatten(Module):
    """(N, d1, d2, ...) -> (N, d1 * d2 * ...)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.reshape(x.shape[0], -1)


class Reshape(Module):
    """(N, ...) -> (N, *shape): the batch axis is kept, the rest is reshaped."""

    def __init__(self, shape: Sequence[int]) -> None:
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x: Tensor) -> Tensor:
        if int(np.prod(x.shape[1:])) != int(np.prod(self.shape)) and -1 not in self.shape:
            raise ValueError(f"Reshape{self.shape}: cannot reshape input of shape "
                             f"{tuple(x.shape)} ({int(np.prod(x.shape[1:]))} values per "
                             f"example) to {self.shape}")
        return x.reshape(x.shape[0], *self.shape)

    def extra_repr(self) -> str:
        return str(self.shape)


class Dropout(Module):
    """Inverted dropout (Srivastava et al., 2014): ``y = x ⊙ m / (1 - p)``, m ~ Bernoulli(1 - p).

    Each element is zeroed with probability ``p`` while training; the survivors are scaled
    so that E[y] = x. In evaluation mode it is the identity. Any shape.
    """

    def __init__(self, p: float = 0.5, rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        self.p = check_number("Dropout", "p", p, 0.0, 1.0, high_open=True)
        self.rng = own_generator(rng)

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, training=self.training, rng=self.rng)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class GaussianNoise(Module):
    """Adds N(0, stddev²) noise while training (a denoising autoencoder's corruption).

    In evaluation mode it is the identity.
    """

    def __init__(self, stddev: float, rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        self.stddev = check_number("GaussianNoise", "stddev", stddev, low=0.0)
        self.rng = own_generator(rng)

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.stddev == 0:
            return x
        noise = get_generator(self.rng).normal(0.0, self.stddev, size=x.shape)
        xp = get_array_module(x.data)
        return x + as_tensor(xp.asarray(noise, dtype=x.dtype))

    def extra_repr(self) -> str:
        return f"stddev={self.stddev}"


class _BatchNorm(Module):
    """Batch normalisation (Ioffe & Szegedy, 2015) over every axis except the channels (axis 1).

    Shapes: ``x`` is (N, C), (N, C, L) or (N, C, H, W) and ``y`` has the same shape; the
    scale γ (``weight``) and shift β (``bias``) are (C,), as are the running statistics.

    Training: ``y = γ (x - μ_B) / sqrt(σ²_B + eps) + β`` with the batch mean and (biased)
    variance, and the running statistics move towards them:
    ``running = (1 - momentum) · running + momentum · batch`` (the running variance uses
    the unbiased batch variance). Evaluation: the running statistics replace the batch's.
    """

    ranks: tuple[int, ...] = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1) -> None:
        super().__init__()
        name = type(self).__name__
        self.num_features = check_int(name, "num_features", num_features)
        self.eps = check_number(name, "eps", eps, low=0.0, low_open=True)
        self.momentum = check_number(name, "momentum", momentum, 0.0, 1.0)
        dtype = get_default_dtype()
        xp = get_backend_module()
        self.weight = Parameter(np.ones(num_features), dtype=dtype)
        self.bias = Parameter(np.zeros(num_features), dtype=dtype)
        self.register_buffer("running_mean", xp.zeros(num_features, dtype=dtype))
        self.register_buffer("running_var", xp.ones(num_features, dtype=dtype))

    def forward(self, x: Tensor) -> Tensor:
        name = type(self).__name__
        if x.ndim not in self.ranks or x.shape[1] != self.num_features:
            raise ValueError(f"{name}({self.num_features}): expected input of rank "
                             f"{' or '.join(map(str, self.ranks))} with {self.num_features} "
                             f"channels on axis 1, got shape {tuple(x.shape)}")
        axes = (0, *range(2, x.ndim))
        shape = (1, self.num_features) + (1,) * (x.ndim - 2)
        if self.training:
            count = x.size // self.num_features
            if count < 2:
                raise ValueError(f"{name}: training needs more than one value per channel "
                                 f"to estimate a variance, got shape {tuple(x.shape)}")
            mean = x.mean(axis=axes, keepdims=True)
            centred = x - mean  # made once: the variance and x_hat share it (and its memory)
            var = (centred * centred).mean(axis=axes, keepdims=True)
            m = self.momentum
            self.running_mean *= 1 - m
            self.running_mean += m * mean.data.reshape(-1)
            self.running_var *= 1 - m
            self.running_var += (m * count / (count - 1)) * var.data.reshape(-1)
        else:
            centred = x - as_tensor(self.running_mean.reshape(shape))
            var = as_tensor(self.running_var.reshape(shape))
        x_hat = centred / F.sqrt(var + self.eps)
        return x_hat * self.weight.reshape(shape) + self.bias.reshape(shape)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class BatchNorm1D(_BatchNorm):
    """Batch normalisation of (N, C) features, or (N, C, L) sequences, per channel C."""

    ranks = (2, 3)


class BatchNorm2D(_BatchNorm):
    """Batch normalisation of (N, C, H, W) feature maps, per channel C."""

    ranks = (4,)
