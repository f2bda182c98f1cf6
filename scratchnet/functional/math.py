"""Elementwise arithmetic, reductions, shape operations and indexing.

Every op is a :class:`~scratchnet.autograd.Function` with a ``forward`` on raw arrays and a
``backward`` written with these same differentiable ops, so second derivatives come for free.
Gradients of broadcast operands are returned at the broadcast shape: the engine sums them
back to each input's shape (see :func:`sum_to`).
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import numpy as np

from scratchnet.autograd import Function, Tensor, as_tensor
from scratchnet.backend import get_array_module, is_array

Axis = int | tuple[int, ...] | None

__all__ = [
    "abs", "add", "broadcast_to", "clip", "concatenate", "div", "exp", "expand_dims", "getitem",
    "log", "logsumexp", "matmul", "max", "maximum", "mean", "min", "minimum", "mul", "neg",
    "pow", "reshape", "sqrt", "squeeze", "stack", "sub", "sum", "sum_to", "transpose", "var",
    "where",
]


def raw(value: Any) -> Any:
    """The array inside a Tensor, or the value itself."""
    return value.data if isinstance(value, Tensor) else value


def _pair(a: Any, b: Any) -> tuple[Tensor, Tensor]:
    """Both operands as tensors; a Python number takes the dtype of the tensor beside it."""
    if isinstance(a, Tensor):
        if type(b) is float and type(a.data) is np.ndarray:  # the common `x * 0.5`, fast
            return a, Tensor._wrap(np.asarray(b, dtype=a.data.dtype))  # host: a NumPy a.data
        return a, as_tensor(b, like=a)
    b = as_tensor(b)
    return as_tensor(a, like=b), b


def _constant(array: Any) -> Tensor:
    """A tensor that never requires grad (a mask or a saved index)."""
    return Tensor._wrap(array)


# --------------------------------------------------------------------------------------
# Arithmetic
# --------------------------------------------------------------------------------------
class Add(Function):
    def forward(self, a, b):
        return a + b

    def backward(self, gy):
        return gy, gy


class Sub(Function):
    def forward(self, a, b):
        return a - b

    def backward(self, gy):
        return gy, (-gy if self.needs_input_grad[1] else None)


class Mul(Function):
    def forward(self, a, b):
        return a * b

    def backward(self, gy):
        a, b = self.inputs
        return (gy * b if self.needs_input_grad[0] else None,
                gy * a if self.needs_input_grad[1] else None)


class Div(Function):
    def forward(self, a, b):
        return a / b

    def backward(self, gy):
        a, b = self.inputs
        ga = gy / b if self.needs_input_grad[0] else None
        gb = -gy * a / (b * b) if self.needs_input_grad[1] else None
        return ga, gb


class Neg(Function):
    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


class PowConst(Function):
    """``x ** c`` for a constant exponent ``c``: d/dx = c x^(c-1)."""

    def __init__(self, exponent: float) -> None:
        self.exponent = exponent

    def forward(self, x):
        return x ** self.exponent

    def backward(self, gy):
        (x,) = self.inputs
        c = self.exponent
        return gy * (c * x ** (c - 1))


class Pow(Function):
    """``a ** b`` for two tensors: d/da = b a^(b-1), d/db = a^b log a (needs a > 0)."""

    def forward(self, a, b):
        return a ** b

    def backward(self, gy):
        a, b = self.inputs
        ga = gy * b * a ** (b - 1) if self.needs_input_grad[0] else None
        gb = gy * self.output() * log(a) if self.needs_input_grad[1] else None
        return ga, gb


class Exp(Function):
    def forward(self, x):
        return get_array_module(x).exp(x)

    def backward(self, gy):
        return gy * self.output()


class Log(Function):
    def forward(self, x):
        return get_array_module(x).log(x)

    def backward(self, gy):
        return gy / self.inputs[0]


class Sqrt(Function):
    def forward(self, x):
        return get_array_module(x).sqrt(x)

    def backward(self, gy):
        return gy / (2.0 * self.output())


class Abs(Function):
    """|x|; at 0 the subgradient 0 is used (``sign(0) == 0``)."""

    def forward(self, x):
        return get_array_module(x).abs(x)

    def backward(self, gy):
        x = self.inputs[0].data
        return gy * _constant(get_array_module(x).sign(x))


class Maximum(Function):
    """Elementwise max; a tie sends the gradient to the first argument."""

    def forward(self, a, b):
        return get_array_module(a).maximum(a, b)

    def backward(self, gy):
        a, b = self.inputs
        first = a.data >= b.data
        return (where(first, gy, 0.0) if self.needs_input_grad[0] else None,
                where(first, 0.0, gy) if self.needs_input_grad[1] else None)


class Minimum(Function):
    """Elementwise min; a tie sends the gradient to the first argument."""

    def forward(self, a, b):
        return get_array_module(a).minimum(a, b)

    def backward(self, gy):
        a, b = self.inputs
        first = a.data <= b.data
        return (where(first, gy, 0.0) if self.needs_input_grad[0] else None,
                where(first, 0.0, gy) if self.needs_input_grad[1] else None)


class Clip(Function):
    """Clamp to ``[low, high]``; the gradient passes where ``low <= x <= high``."""

    def __init__(self, low: float | None, high: float | None) -> None:
        self.low, self.high = low, high

    def forward(self, x):
        return get_array_module(x).clip(x, self.low, self.high)

    def backward(self, gy):
        x = self.inputs[0].data
        inside = get_array_module(x).ones(x.shape, dtype=bool)
        if self.low is not None:
            inside &= x >= self.low
        if self.high is not None:
            inside &= x <= self.high
        return where(inside, gy, 0.0)


class Where(Function):
    """``condition ? a : b`` elementwise, with a fixed boolean ``condition``."""

    def __init__(self, condition: Any) -> None:
        self.condition = condition

    def forward(self, a, b):
        return get_array_module(a, b).where(self.condition, a, b)

    def backward(self, gy):
        c = self.condition
        return (where(c, gy, 0.0) if self.needs_input_grad[0] else None,
                where(c, 0.0, gy) if self.needs_input_grad[1] else None)


def add(a: Any, b: Any) -> Tensor:
    """a + b with broadcasting."""
    return Add()(*_pair(a, b))


def sub(a: Any, b: Any) -> Tensor:
    """a - b with broadcasting."""
    return Sub()(*_pair(a, b))


def mul(a: Any, b: Any) -> Tensor:
    """a * b with broadcasting."""
    return Mul()(*_pair(a, b))


def div(a: Any, b: Any) -> Tensor:
    """a / b with broadcasting."""
    return Div()(*_pair(a, b))


def neg(x: Tensor) -> Tensor:
    """-x."""
    return Neg()(as_tensor(x))


def pow(x: Any, exponent: Any) -> Tensor:
    """``x ** exponent``; a Python-number exponent is a constant, a Tensor one is differentiated."""
    if isinstance(exponent, (int, float)) and not isinstance(exponent, bool):
        return PowConst(exponent)(as_tensor(x))
    return Pow()(*_pair(x, exponent))


def exp(x: Tensor) -> Tensor:
    """e^x."""
    return Exp()(as_tensor(x))


def log(x: Tensor) -> Tensor:
    """Natural logarithm."""
    return Log()(as_tensor(x))


def sqrt(x: Tensor) -> Tensor:
    """Square root."""
    return Sqrt()(as_tensor(x))


def abs(x: Tensor) -> Tensor:
    """|x|."""
    return Abs()(as_tensor(x))


def maximum(a: Any, b: Any) -> Tensor:
    """Elementwise maximum with broadcasting (ties: gradient to ``a``)."""
    return Maximum()(*_pair(a, b))


def minimum(a: Any, b: Any) -> Tensor:
    """Elementwise minimum with broadcasting (ties: gradient to ``a``)."""
    return Minimum()(*_pair(a, b))


def clip(x: Tensor, low: float | None = None, high: float | None = None) -> Tensor:
    """Clamp ``x`` into ``[low, high]`` (either bound may be ``None``)."""
    if low is None and high is None:
        raise ValueError("clip: give at least one of low and high")
    return Clip(low, high)(as_tensor(x))


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """``a`` where ``condition`` holds, else ``b``; ``condition`` is a boolean array or Tensor."""
    condition = raw(condition)
    kind = getattr(condition, "dtype", type(condition))
    if kind != np.bool_:
        raise TypeError(f"where: condition must be a boolean array, got {kind}")
    a, b = _pair(a, b)
    # A NumPy mask may meet GPU data: it moves beside them (as cross_entropy's labels do).
    return Where(get_array_module(a.data, b.data).asarray(condition))(a, b)


# --------------------------------------------------------------------------------------
# Matrix product
# --------------------------------------------------------------------------------------
def _swap_last(x: Tensor) -> Tensor:
    axes = list(range(x.ndim))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return transpose(x, tuple(axes))


class MatMul(Function):
    """Batched matrix product of operands with at least 2 dimensions.

    For ``Y = A @ B``: ``dA = dY @ Bᵀ`` and ``dB = Aᵀ @ dY`` (transposing the last two axes);
    broadcast batch axes are summed away by the engine.
    """

    def forward(self, a, b):
        return a @ b

    def backward(self, gy):
        a, b = self.inputs
        ga = gy @ _swap_last(b) if self.needs_input_grad[0] else None
        gb = _swap_last(a) @ gy if self.needs_input_grad[1] else None
        return ga, gb


def matmul(a: Any, b: Any) -> Tensor:
    """Matrix product with NumPy's rules, including batches and 1-D operands.

    Shapes: ``(..., n, k) @ (..., k, m) -> (..., n, m)``; a 1-D left operand is a row
    vector and a 1-D right operand a column vector, and that axis is dropped afterwards.
    """
    a, b = _pair(a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: operands must have at least 1 dimension, got shapes "
                         f"{a.shape} and {b.shape}; use * for scalars")
    k_a = a.shape[-1]
    k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if k_a != k_b:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not align: "
                         f"{k_a} (last axis of the left) != {k_b} "
                         f"({'only' if b.ndim == 1 else 'second-to-last'} axis of the right)")
    if a.ndim == 1 and b.ndim == 1:
        return sum(a * b)
    if a.ndim == 1:
        return squeeze(MatMul()(expand_dims(a, 0), b), -2)
    if b.ndim == 1:
        return squeeze(MatMul()(a, expand_dims(b, 1)), -1)
    return MatMul()(a, b)


# --------------------------------------------------------------------------------------
# Reductions
# --------------------------------------------------------------------------------------
def _normalize_axis(axis: Axis, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    for a in axes:
        if not -ndim <= a < builtins.max(ndim, 1):
            raise ValueError(f"axis {a} is out of range for a tensor with {ndim} dimensions")
    return tuple(sorted(a % ndim for a in axes)) if ndim else ()


def _keepdims_shape(shape: tuple[int, ...], axis: Axis) -> tuple[int, ...]:
    axes = _normalize_axis(axis, len(shape))
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Sum(Function):
    def __init__(self, axis: Axis, keepdims: bool) -> None:
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        return x.sum(axis=self.axis, keepdims=self.keepdims)

    def backward(self, gy):
        shape = self.inputs[0].shape
        if not self.keepdims:
            gy = reshape(gy, _keepdims_shape(shape, self.axis))
        return broadcast_to(gy, shape)


class _Extremum(Function):
    """max/min over axes; tied extrema share the gradient equally (a valid subgradient)."""

    reduce = "max"

    def __init__(self, axis: Axis, keepdims: bool) -> None:
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        return getattr(x, self.reduce)(axis=self.axis, keepdims=self.keepdims)

    def backward(self, gy):
        x = self.inputs[0].data
        keep = _keepdims_shape(x.shape, self.axis)
        hits = x == self.output().data.reshape(keep)
        share = hits / hits.sum(axis=self.axis, keepdims=True)
        return reshape(gy, keep) * _constant(share.astype(x.dtype))


class Max(_Extremum):
    reduce = "max"


class Min(_Extremum):
    reduce = "min"


class LogSumExp(Function):
    """``log Σ exp(x)`` over ``axis``, computed as ``m + log Σ exp(x - m)`` with m the max.

    Its gradient is the softmax: ``d/dx = exp(x - y)``.
    """

    def __init__(self, axis: Axis, keepdims: bool) -> None:
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        xp = get_array_module(x)
        m = x.max(axis=self.axis, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)  # all -inf along an axis: avoid inf - inf
        y = m + xp.log(xp.exp(x - m).sum(axis=self.axis, keepdims=True))
        return y if self.keepdims else y.reshape(
            tuple(n for i, n in enumerate(x.shape) if i not in _normalize_axis(self.axis, x.ndim)))

    def backward(self, gy):
        x = self.inputs[0]
        keep = _keepdims_shape(x.shape, self.axis)
        return reshape(gy, keep) * exp(x - reshape(self.output(), keep))


def sum(x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Sum over ``axis`` (all axes when ``None``)."""
    x = as_tensor(x)
    _normalize_axis(axis, x.ndim)
    return Sum(axis, keepdims)(x)


def mean(x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Mean over ``axis``: the sum divided by the number of elements reduced."""
    x = as_tensor(x)
    count = int(np.prod([x.shape[a] for a in _normalize_axis(axis, x.ndim)]))
    return sum(x, axis, keepdims) * (1.0 / builtins.max(count, 1))


def var(x: Tensor, axis: Axis = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    """Variance ``Σ (x - mean)² / (n - ddof)`` over ``axis``."""
    x = as_tensor(x)
    count = int(np.prod([x.shape[a] for a in _normalize_axis(axis, x.ndim)]))
    if count - ddof <= 0:
        raise ValueError(f"var: {count} elements with ddof={ddof} leave no degrees of freedom")
    centred = x - mean(x, axis, keepdims=True)
    return sum(centred * centred, axis, keepdims) * (1.0 / (count - ddof))


def max(x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Maximum over ``axis``; ties share the gradient equally."""
    x = as_tensor(x)
    _normalize_axis(axis, x.ndim)
    return Max(axis, keepdims)(x)


def min(x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Minimum over ``axis``; ties share the gradient equally."""
    x = as_tensor(x)
    _normalize_axis(axis, x.ndim)
    return Min(axis, keepdims)(x)


def logsumexp(x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Numerically stable ``log Σ exp(x)`` over ``axis``."""
    x = as_tensor(x)
    _normalize_axis(axis, x.ndim)
    return LogSumExp(axis, keepdims)(x)


# --------------------------------------------------------------------------------------
# Shape operations
# --------------------------------------------------------------------------------------
class Reshape(Function):
    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape

    def forward(self, x):
        try:
            return x.reshape(self.shape)
        except ValueError:
            raise ValueError(f"cannot reshape a tensor of shape {x.shape} "
                             f"({x.size} elements) into {self.shape}") from None

    def backward(self, gy):
        return reshape(gy, self.inputs[0].shape)


class Transpose(Function):
    def __init__(self, axes: tuple[int, ...] | None) -> None:
        self.axes = axes

    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, gy):
        if self.axes is None:
            return transpose(gy)
        return transpose(gy, tuple(np.argsort(self.axes)))  # host: axes is a Python tuple


class BroadcastTo(Function):
    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape

    def forward(self, x):
        return get_array_module(x).broadcast_to(x, self.shape)

    def backward(self, gy):
        return sum_to(gy, self.inputs[0].shape)


def _sum_to_array(array: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``array`` over the axes that broadcasting added or stretched, to get ``shape``."""
    lead = array.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape)
                                      if n == 1 and array.shape[lead + i] != 1)
    out = array.sum(axis=axes, keepdims=True) if axes else array
    return out.reshape(shape) if lead else out


class SumTo(Function):
    """The adjoint of broadcasting: sum a gradient back to the shape of a broadcast input."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape

    def forward(self, x):
        return _sum_to_array(x, self.shape)

    def backward(self, gy):
        return broadcast_to(gy, self.inputs[0].shape)


class Concatenate(Function):
    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, *xs):
        return get_array_module(*xs).concatenate(xs, axis=self.axis)

    def backward(self, gy):
        grads, start = [], 0
        for x, needed in zip(self.inputs, self.needs_input_grad):
            stop = start + x.shape[self.axis]
            index = (slice(None),) * (self.axis % gy.ndim) + (slice(start, stop),)
            grads.append(getitem(gy, index) if needed else None)
            start = stop
        return tuple(grads)


def reshape(x: Tensor, shape: Sequence[int]) -> Tensor:
    """The same elements in a new shape (one entry may be -1)."""
    x = as_tensor(x)
    shape = tuple(shape)
    if shape == x.shape:
        return x
    return Reshape(shape)(x)


def transpose(x: Tensor, axes: Sequence[int] | None = None) -> Tensor:
    """Permute axes (reverse them when ``axes`` is ``None``)."""
    x = as_tensor(x)
    if axes is not None:
        axes = tuple(a % x.ndim for a in axes)
        if sorted(axes) != list(range(x.ndim)):
            raise ValueError(f"transpose: axes {axes} are not a permutation of a "
                             f"{x.ndim}-dimensional tensor's axes")
    return Transpose(axes)(x)


def broadcast_to(x: Tensor, shape: Sequence[int]) -> Tensor:
    """Repeat ``x`` along broadcast axes to ``shape`` (NumPy broadcasting rules)."""
    x = as_tensor(x)
    shape = tuple(shape)
    if x.shape == shape:
        return x
    return BroadcastTo(shape)(x)


def sum_to(x: Tensor, shape: Sequence[int]) -> Tensor:
    """Sum ``x`` down to ``shape``: the inverse of :func:`broadcast_to` for gradients."""
    x = as_tensor(x)
    shape = tuple(shape)
    if x.shape == shape:
        return x
    return SumTo(shape)(x)


def expand_dims(x: Tensor, axis: int) -> Tensor:
    """Insert an axis of length 1 at position ``axis``."""
    x = as_tensor(x)
    axis = axis % (x.ndim + 1)
    return reshape(x, (*x.shape[:axis], 1, *x.shape[axis:]))


def squeeze(x: Tensor, axis: int) -> Tensor:
    """Drop the length-1 axis ``axis``."""
    x = as_tensor(x)
    axis = axis % x.ndim
    if x.shape[axis] != 1:
        raise ValueError(f"squeeze: axis {axis} of shape {x.shape} has length "
                         f"{x.shape[axis]}, not 1")
    return reshape(x, x.shape[:axis] + x.shape[axis + 1:])


def concatenate(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis."""
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("concatenate: need at least one tensor")
    return Concatenate(axis)(*tensors)


def stack(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join same-shape tensors along a new axis."""
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("stack: need at least one tensor")
    shapes = {t.shape for t in tensors}
    if len(shapes) != 1:
        raise ValueError(f"stack: all tensors must have the same shape, got {sorted(shapes)}")
    return concatenate([expand_dims(t, axis) for t in tensors], axis)


# --------------------------------------------------------------------------------------
# Indexing
# --------------------------------------------------------------------------------------
def _normalize_index(index: Any, xp: Any) -> Any:
    """Tensors and lists inside an index become arrays (lists of ints mean gather).

    Lists and index arrays become arrays of ``xp``, the module of the indexed data, so that
    a NumPy index works on GPU data and the gradient's ``add.at`` gets an index on the same
    device.
    """
    if isinstance(index, tuple):
        return tuple(_normalize_index(i, xp) for i in index)
    if isinstance(index, Tensor):
        index = index.data
    if isinstance(index, list) or is_array(index):
        return xp.asarray(index)
    return index


def _has_integer_array(index: Any) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return any(getattr(p, "dtype", None) is not None and p.dtype.kind in "iu" for p in parts)


class GetItem(Function):
    """``x[index]``: basic slicing or integer-array (gather) indexing."""

    def __init__(self, index: Any) -> None:
        self.index = index

    def forward(self, x):
        return x[self.index]

    def backward(self, gy):
        return ScatterAdd(self.index, self.inputs[0].shape)(gy)


class ScatterAdd(Function):
    """The adjoint of :class:`GetItem`: put ``g`` back where ``x[index]`` came from.

    An index that repeats an element (``x[[0, 0]]``) must add both contributions, so
    integer-array indices use ``add.at``; slices and masks never repeat and just assign.
    """

    def __init__(self, index: Any, shape: tuple[int, ...]) -> None:
        self.index, self.shape = index, shape

    def forward(self, g):
        xp = get_array_module(g)
        out = xp.zeros(self.shape, dtype=g.dtype)
        if _has_integer_array(self.index):
            xp.add.at(out, self.index, g)
        else:
            out[self.index] = g
        return out

    def backward(self, gy):
        return getitem(gy, self.index)


def getitem(x: Tensor, index: Any) -> Tensor:
    """``x[index]`` with NumPy semantics; the gradient scatters back (adding repeats)."""
    x = as_tensor(x)
    return GetItem(_normalize_index(index, get_array_module(x.data)))(x)
