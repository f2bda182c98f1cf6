"""Activation functions and dropout.

The exponentials are arranged so that nothing overflows: ``sigmoid`` and ``softplus`` only
ever evaluate ``exp(-|x|)``, and ``softmax``/``log_softmax`` subtract the maximum first.
They are finite and correct for inputs of ±1e4 in float32 and float64.

Integer and bool inputs are converted to the default float dtype first (as PyTorch does),
except by ``relu``, whose values stay integers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from scratchnet.autograd import Function, Tensor, as_tensor
from scratchnet.backend import get_array_module
from scratchnet.functional.math import as_float, constant, exp, masked, sum
from scratchnet.random import get_generator

__all__ = ["dropout", "leaky_relu", "log_sigmoid", "log_softmax", "relu", "sigmoid", "softmax",
           "softplus", "tanh"]


class ReLU(Function):
    """max(x, 0); the gradient at exactly 0 is taken as 0."""

    def forward(self, x):
        # A boolean mask is what backward reads: a quarter of a float32 y's bytes, and after
        # a ReLU comes a pooling layer (which keeps only its winners) as often as a layer
        # that keeps y anyway.
        self.save_for_backward(x > 0)
        return get_array_module(x).maximum(x, 0)

    def backward(self, gy):
        (positive,) = self.saved_tensors
        return masked(gy, positive.data)


class LeakyReLU(Function):
    """x for x > 0, slope·x otherwise (Maas et al., 2013).

    Written as y = m ⊙ x with m = 1 where x > 0 and slope elsewhere, which is also the
    derivative: dx = m ⊙ dy. Backward keeps only where x > 0 (booleans) and remakes m.
    """

    def __init__(self, slope: float) -> None:
        self.slope = slope

    def forward(self, x):
        positive = x > 0
        self.save_for_backward(positive)
        return x * self._factor(positive, x.dtype)

    def backward(self, gy):
        (positive,) = self.saved_tensors
        return gy * constant(self._factor(positive.data, gy.dtype))

    def _factor(self, positive: Any, dtype: Any) -> Any:
        # Arithmetic on a 0/1 array rather than where(): a select on random signs
        # mispredicts branches and was ~3× slower on the DCGAN's feature maps.
        factor = positive.astype(dtype)
        factor *= 1.0 - self.slope
        factor += self.slope
        return factor


def sigmoid_array(x: Any) -> Any:
    """σ(x) = 1 / (1 + e^{-x}) on a raw NumPy/CuPy array (no graph), for any x.

    The formula as written is accurate to float rounding everywhere but far left: where
    e^{-x} overflows (x < −88 in float32, −709 in float64) it is inf and σ comes out 0,
    where the true value is below the smallest normal number. That overflow is the right
    limit, not an error, so its warning is switched off. (The form e/(1 + e) with
    e = e^{-|x|} avoids the overflow but takes several passes over the array and was 1.8 to
    19 times slower on float32 arrays of 20×64 to 1000×784 values.)
    """
    xp = get_array_module(x)
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + xp.exp(-x))


class Sigmoid(Function):
    """σ(x) = 1 / (1 + e^{-x});  σ'(x) = σ(x)(1 - σ(x))."""

    def forward(self, x):
        y = sigmoid_array(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved_tensors
        return gy * y * (1.0 - y)


class Tanh(Function):
    """tanh(x);  tanh'(x) = 1 - tanh(x)²."""

    def forward(self, x):
        y = get_array_module(x).tanh(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved_tensors
        return gy * (1.0 - y * y)


def softplus_array(x: Any) -> Any:
    """log(1 + e^x) on a raw NumPy/CuPy array (no graph), exact for any x."""
    xp = get_array_module(x)
    return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))


class Softplus(Function):
    """log(1 + e^x) = max(x, 0) + log(1 + e^{-|x|});  its derivative is σ(x)."""

    def forward(self, x):
        self.save_for_backward(x)
        return softplus_array(x)

    def backward(self, gy):
        (x,) = self.saved_tensors
        return gy * sigmoid(x)


class Softmax(Function):
    """softmax(x)_i = e^{x_i} / Σ_j e^{x_j} over ``axis``;  dx = y ⊙ (dy - Σ dy ⊙ y)."""

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, x):
        xp = get_array_module(x)
        e = xp.exp(x - x.max(axis=self.axis, keepdims=True))
        y = e / e.sum(axis=self.axis, keepdims=True)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved_tensors
        return y * (gy - sum(gy * y, axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    """x - logsumexp(x) over ``axis``;  dx = dy - softmax(x) Σ dy."""

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, x):
        xp = get_array_module(x)
        shifted = x - x.max(axis=self.axis, keepdims=True)
        y = shifted - xp.log(xp.exp(shifted).sum(axis=self.axis, keepdims=True))
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved_tensors
        return gy - exp(y) * sum(gy, axis=self.axis, keepdims=True)


def relu(x: Tensor) -> Tensor:
    """Rectified linear unit, max(x, 0)."""
    return ReLU()(as_tensor(x))


def leaky_relu(x: Tensor, slope: float = 0.01) -> Tensor:
    """x if x > 0 else slope · x."""
    return LeakyReLU(slope)(as_float(x))


def sigmoid(x: Tensor) -> Tensor:
    """Logistic sigmoid 1 / (1 + e^{-x}), computed without overflow."""
    return Sigmoid()(as_float(x))


def tanh(x: Tensor) -> Tensor:
    """Hyperbolic tangent."""
    return Tanh()(as_float(x))


def softplus(x: Tensor) -> Tensor:
    """log(1 + e^x), a smooth ReLU; stable for any x."""
    return Softplus()(as_float(x))


def log_sigmoid(x: Tensor) -> Tensor:
    """log σ(x) = -softplus(-x); finite even where σ(x) underflows to 0."""
    return -softplus(-as_float(x))


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """Normalised exponentials along ``axis`` (sums to 1)."""
    return Softmax(axis)(as_float(x))


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """log softmax(x) along ``axis``, computed as x - logsumexp(x)."""
    return LogSoftmax(axis)(as_float(x))


def dropout(x: Tensor, p: float = 0.5, training: bool = True,
            rng: np.random.Generator | int | None = None) -> Tensor:
    """Inverted dropout (Srivastava et al., 2014): zero each element with probability ``p``.

    The survivors are scaled by 1 / (1 - p), so the expected value is unchanged and
    evaluation (``training=False``) is the identity. The mask is drawn from ``rng``
    (a ``numpy.random.Generator`` or a seed), or from the library generator that
    :func:`scratchnet.manual_seed` seeds.
    """
    x = as_float(x)
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout: p must be in [0, 1), got {p}")
    if not training or p == 0.0:
        return x
    keep = get_generator(rng).random(x.shape) >= p
    xp = get_array_module(x.data)
    scale = xp.asarray(keep, dtype=x.dtype) * (1.0 / (1.0 - p))
    return x * constant(scale)
