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

from scratchnet.autograd import Function, Tensor, as_tensor, get_default_dtype
from scratchnet.backend import get_array_module, is_array

Axis = int | tuple[int, ...] | None

__all__ = [
    "abs", "add", "astype", "broadcast_to", "clip", "concatenate", "div", "exp", "expand_dims",
    "getitem", "log", "logsumexp", "masked", "matmul", "max", "maximum", "mean", "min",
    "minimum", "mul",
    "neg", "pow", "reshape", "result_type", "sqrt", "squeeze", "stack", "sub", "sum", "sum_to",
    "transpose", "var", "where",
]


def raw(value: Any) -> Any:
    """The array inside a Tensor, or the value itself."""
    return value.data if isinstance(value, Tensor) else value


# --------------------------------------------------------------------------------------
# Type promotion: the dtype of a result computed from two operands
# --------------------------------------------------------------------------------------
# Kinds absorb one another in this order: bool < integer < floating point.
_KIND_RANK = {"b": 0, "u": 1, "i": 1, "f": 2}


def _is_number(value: Any) -> bool:
    """A Python (or NumPy scalar) bool, int or float: a "weak" operand."""
    return isinstance(value, (int, float, np.bool_, np.integer, np.floating))


def _number_kind(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "b"
    return "i" if isinstance(value, (int, np.integer)) else "f"


def _default_dtype(kind: str) -> np.dtype:
    """The dtype a number of ``kind`` gets on its own: bool, int64 or the default float."""
    return {"b": np.dtype(bool), "i": np.dtype(np.int64), "f": get_default_dtype()}[kind]


def _rank(dtype: np.dtype) -> int:
    if dtype.kind not in _KIND_RANK:
        raise TypeError(f"result_type: got dtype {dtype}; tensors hold bool, integer or "
                        "floating-point numbers")
    return _KIND_RANK[dtype.kind]


def result_type(a: Any, b: Any) -> np.dtype:
    """The dtype of ``a ⊕ b`` for any elementwise op ⊕: PyTorch's type promotion.

    * Tensors and arrays are *strong*: their dtypes decide. Of two kinds, the higher one's
      dtype wins whole (int64 with float32 gives float32, where NumPy would widen to
      float64); within a kind the wider dtype wins (float32 with float64 gives float64).
    * Python numbers (and NumPy scalars) are *weak*: one of the tensor's kind or a lower
      kind takes the tensor's dtype (``x * 0.5`` stays float32, ``int_tensor + 1`` stays
      int), one of a higher kind gives that kind's default: a float gives
      :func:`~scratchnet.get_default_dtype`, an int gives int64 (``bool_tensor * 2``).

    PyTorch also treats a 0-d tensor as weaker than one with dimensions; here, as in
    NumPy, every tensor is strong.
    """
    if _is_number(a) and _is_number(b):
        return _default_dtype(builtins.max(_number_kind(a), _number_kind(b),
                                           key=_KIND_RANK.__getitem__))
    if _is_number(a) or _is_number(b):
        tensor, number = (b, a) if _is_number(a) else (a, b)
        dtype, kind = as_tensor(tensor).dtype, _number_kind(number)
        return dtype if _KIND_RANK[kind] <= _rank(dtype) else _default_dtype(kind)
    da, db = as_tensor(a).dtype, as_tensor(b).dtype
    rank_a, rank_b = _rank(da), _rank(db)
    if rank_a != rank_b:
        return da if rank_a > rank_b else db
    return np.result_type(da, db)


def _operand(value: Any, dtype: np.dtype, beside: Any) -> Tensor:
    """One operand of a binary op as a Tensor whose kind (bool, int, float) is ``dtype``'s."""
    if isinstance(value, Tensor):
        if value.data.dtype.kind == dtype.kind:
            return value
        # A lower kind meeting a higher one: an int or bool tensor, which never requires
        # grad, so a plain cast outside the graph will do.
        return Tensor._wrap(value.data.astype(dtype))
    if isinstance(beside, Tensor):  # a number is made on the other operand's device
        return Tensor._wrap(get_array_module(beside.data).asarray(value, dtype=dtype))
    return Tensor(value, dtype=dtype)


def _pair(a: Any, b: Any) -> tuple[Tensor, Tensor]:
    """Both operands as tensors, promoted as :func:`result_type` says.

    Operands of a lower kind (int or bool) are cast up front. Two float dtypes (float32 with
    float64) are left to NumPy, which widens exactly as PyTorch does; the engine then casts
    each input's gradient back to that input's dtype.
    """
    if isinstance(a, Tensor):
        # The common cases first, and fast: two tensors of one dtype, and a float tensor
        # with a Python float (`x * 0.5`), which keeps the tensor's dtype.
        if isinstance(b, Tensor):
            if a.data.dtype == b.data.dtype:
                return a, b
        elif type(b) is float and type(a.data) is np.ndarray and a.data.dtype.kind == "f":
            return a, Tensor._wrap(np.asarray(b, dtype=a.data.dtype))  # host: a NumPy a.data
    a = a if _is_number(a) else as_tensor(a)
    b = b if _is_number(b) else as_tensor(b)
    dtype = result_type(a, b)
    return _operand(a, dtype, b), _operand(b, dtype, a)


def as_float(x: Any) -> Tensor:
    """``x`` as a Tensor, cast to the default float dtype when it holds ints or bools.

    For the functions whose values are not integers (exp, log, logsumexp, sigmoid, ...):
    PyTorch's rule, where NumPy would give float64.
    """
    x = as_tensor(x)
    if x.data.dtype.kind == "f":
        return x
    return Tensor._wrap(x.data.astype(get_default_dtype()))  # not a float: never requires grad


def constant(array: Any) -> Tensor:
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
        need_a, need_b = self.needs_input_grad
        self.save_for_backward(b if need_a else None, a if need_b else None)
        return a * b

    def backward(self, gy):
        b, a = self.saved_tensors  # da = gy · b, db = gy · a
        return (gy * b if self.needs_input_grad[0] else None,
                gy * a if self.needs_input_grad[1] else None)


class Div(Function):
    def forward(self, a, b):
        self.save_for_backward(a if self.needs_input_grad[1] else None, b)
        return a / b

    def backward(self, gy):
        a, b = self.saved_tensors  # da = gy / b, db = -gy · a / b²
        ga = gy / b if self.needs_input_grad[0] else None
        gb = -gy * a / (b * b) if self.needs_input_grad[1] else None
        return ga, gb


class Neg(Function):
    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


class PowConst(Function):
    """``x ** c`` for a constant exponent ``c``: d/dx = c x^(c-1), and 0 for c = 0."""

    def __init__(self, exponent: float) -> None:
        self.exponent = exponent

    def forward(self, x):
        self.save_for_backward(x)
        return x ** self.exponent

    def backward(self, gy):
        (x,) = self.saved_tensors
        c = self.exponent
        if c == 0:  # x ** 0 = 1 is constant; 0 · x^-1 would be 0 · inf = NaN at x = 0
            return constant(get_array_module(gy.data).zeros_like(gy.data))
        return gy * (c * x ** (c - 1))


class Pow(Function):
    """``a ** b`` for two tensors: d/da = b a^(b-1), d/db = a^b log a.

    At a = 0 both formulas give 0 · inf = NaN where the derivative is 0: d/da where b = 0
    (0 · 0^-1) and d/db where b >= 0 (0^b · log 0, or 1 · log 0 at b = 0, where PyTorch
    also says 0). There the base is replaced by 1 *before* the power or the log is taken,
    so the factor in front makes the 0: no inf is computed, NumPy warns of nothing, and
    the second derivatives, which differentiate these same expressions, stay finite.
    """

    def forward(self, a, b):
        y = a ** b
        self.save_for_backward(a, b, y)
        return y

    def backward(self, gy):
        a, b, y = self.saved_tensors
        ga = gb = None
        if self.needs_input_grad[0]:
            ga = gy * b * where((a.data == 0) & (b.data == 0), 1.0, a) ** (b - 1)
        if self.needs_input_grad[1]:
            gb = gy * y * log(where((a.data == 0) & (b.data >= 0), 1.0, a))
        return ga, gb


class Exp(Function):
    def forward(self, x):
        y = get_array_module(x).exp(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved_tensors
        return gy * y


class Log(Function):
    def forward(self, x):
        self.save_for_backward(x)
        return get_array_module(x).log(x)

    def backward(self, gy):
        (x,) = self.saved_tensors
        return gy / x


class Sqrt(Function):
    def forward(self, x):
        y = get_array_module(x).sqrt(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved_tensors
        return gy / (2.0 * y)


class Abs(Function):
    """|x|; at 0 the subgradient 0 is used (``sign(0) == 0``)."""

    def forward(self, x):
        self.save_for_backward(x)
        return get_array_module(x).abs(x)

    def backward(self, gy):
        x = self.saved_tensors[0].data
        return gy * constant(get_array_module(x).sign(x))


class Maximum(Function):
    """Elementwise max; a tie sends the gradient to the first argument."""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return get_array_module(a).maximum(a, b)

    def backward(self, gy):
        a, b = self.saved_tensors
        first = a.data >= b.data
        return (where(first, gy, 0.0) if self.needs_input_grad[0] else None,
                where(first, 0.0, gy) if self.needs_input_grad[1] else None)


class Minimum(Function):
    """Elementwise min; a tie sends the gradient to the first argument."""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return get_array_module(a).minimum(a, b)

    def backward(self, gy):
        a, b = self.saved_tensors
        first = a.data <= b.data
        return (where(first, gy, 0.0) if self.needs_input_grad[0] else None,
                where(first, 0.0, gy) if self.needs_input_grad[1] else None)


class Clip(Function):
    """Clamp to ``[low, high]``; the gradient passes where ``low <= x <= high``."""

    def __init__(self, low: float | None, high: float | None) -> None:
        self.low, self.high = low, high

    def forward(self, x):
        self.save_for_backward(x)
        return get_array_module(x).clip(x, self.low, self.high)

    def backward(self, gy):
        x = self.saved_tensors[0].data
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


class Masked(Function):
    """``x`` where the fixed boolean ``keep`` holds, 0 elsewhere: ``x * keep``.

    The gradient of ReLU and the like. NumPy multiplies by the boolean array converting it
    a small block at a time, so no float copy of the mask is ever whole in memory; a
    ``where`` on random signs was 8x slower. Linear in ``x`` and its own adjoint.
    """

    def __init__(self, keep: Any) -> None:
        self.keep = keep

    def forward(self, x):
        return x * self.keep

    def backward(self, gy):
        return Masked(self.keep)(gy)


def masked(x: Tensor, keep: Any) -> Tensor:
    """``x`` where the boolean array ``keep`` is True and 0 elsewhere (``keep`` broadcasts)."""
    keep = raw(keep)
    if getattr(keep, "dtype", None) != np.bool_:
        raise TypeError(f"masked: keep must be a boolean array, got "
                        f"{getattr(keep, 'dtype', type(keep).__name__)}")
    x = as_float(x)
    return Masked(get_array_module(x.data).asarray(keep))(x)


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
    """a / b with broadcasting: true division, so integers give the default float dtype."""
    a, b = _pair(a, b)
    if a.data.dtype.kind != "f":  # then neither is a float (see _pair)
        a, b = as_float(a), as_float(b)
    return Div()(a, b)


def neg(x: Tensor) -> Tensor:
    """-x."""
    return Neg()(as_tensor(x))


def pow(x: Any, exponent: Any) -> Tensor:
    """``x ** exponent``; a Python-number exponent is a constant, a Tensor one is differentiated.

    Either way the result's dtype is :func:`result_type`'s: ``int_tensor ** 0.5`` gives
    the default float dtype, ``bool_tensor ** 2`` int64.
    """
    if isinstance(exponent, (int, float)) and not isinstance(exponent, bool):
        x = as_tensor(x)
        return PowConst(exponent)(_operand(x, result_type(x, exponent), exponent))
    return Pow()(*_pair(x, exponent))


def exp(x: Tensor) -> Tensor:
    """e^x (integers and bools give the default float dtype, as for log and sqrt)."""
    return Exp()(as_float(x))


def log(x: Tensor) -> Tensor:
    """Natural logarithm."""
    return Log()(as_float(x))


def sqrt(x: Tensor) -> Tensor:
    """Square root."""
    return Sqrt()(as_float(x))


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
    x = as_tensor(x)
    for bound in (low, high):
        if bound is not None:  # an int tensor with a float bound gives floats, as x + 0.5
            x = _operand(x, result_type(x, bound), bound)
    return Clip(low, high)(x)


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
# Casting
# --------------------------------------------------------------------------------------
class Cast(Function):
    """Convert to another float dtype; the gradient is converted back to the input's dtype.

    The engine uses it too, to give a float32 input that met float64 data (and so
    received a float64 gradient) a float32 gradient.
    """

    def __init__(self, dtype: np.dtype) -> None:
        self.dtype = dtype

    def forward(self, x):
        self.input_dtype = x.dtype
        return x.astype(self.dtype)

    def backward(self, gy):
        return astype(gy, self.input_dtype)


def astype(x: Tensor, dtype: Any) -> Tensor:
    """``x`` converted to ``dtype``; differentiable between float dtypes.

    Returns ``x`` itself when it has that dtype already (as PyTorch's ``.to``; NumPy's
    ``astype`` would copy). A cast to an integer or bool dtype has no gradient: its result
    does not require grad.
    """
    x = as_tensor(x)
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"astype: expected a dtype such as np.float32, got {dtype!r}") from None
    if dtype.kind not in _KIND_RANK:
        raise TypeError(f"astype: tensors hold bool, integer or floating-point numbers; "
                        f"cannot convert to {dtype}")
    if dtype == x.data.dtype:
        return x
    if dtype.kind != "f":
        return Tensor._wrap(x.data.astype(dtype))
    return Cast(dtype)(x)


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
        need_a, need_b = self.needs_input_grad
        self.save_for_backward(b if need_a else None, a if need_b else None)
        return a @ b

    def backward(self, gy):
        b, a = self.saved_tensors  # dA = dY · Bᵀ, dB = Aᵀ · dY
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


def _reduced_shape(shape: tuple[int, ...], axis: Axis) -> tuple[int, ...]:
    axes = _normalize_axis(axis, len(shape))
    return tuple(n for i, n in enumerate(shape) if i not in axes)


class Sum(Function):
    def __init__(self, axis: Axis, keepdims: bool) -> None:
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.input_shape = x.shape
        return x.sum(axis=self.axis, keepdims=self.keepdims)

    def backward(self, gy):
        shape = self.input_shape
        if not self.keepdims and gy.ndim:  # a 0-d gradient (a total) broadcasts as it is
            gy = reshape(gy, _keepdims_shape(shape, self.axis))
        return broadcast_to(gy, shape)


class _Extremum(Function):
    """max/min over axes; tied extrema share the gradient equally (a valid subgradient)."""

    reduce = "max"

    def __init__(self, axis: Axis, keepdims: bool) -> None:
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        y = getattr(x, self.reduce)(axis=self.axis, keepdims=self.keepdims)
        self.save_for_backward(x, y)
        return y

    def backward(self, gy):
        x, y = (t.data for t in self.saved_tensors)
        keep = _keepdims_shape(x.shape, self.axis)
        hits = x == y.reshape(keep)
        share = hits / hits.sum(axis=self.axis, keepdims=True)
        return reshape(gy, keep) * constant(share.astype(x.dtype))


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
        y = y if self.keepdims else y.reshape(_reduced_shape(x.shape, self.axis))
        self.save_for_backward(x, y)
        return y

    def backward(self, gy):
        x, y = self.saved_tensors
        keep = _keepdims_shape(x.shape, self.axis)
        return reshape(gy, keep) * exp(x - reshape(y, keep))


def sum(x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Sum over ``axis`` (all axes when ``None``)."""
    x = as_tensor(x)
    _normalize_axis(axis, x.ndim)
    return Sum(axis, keepdims)(x)


def mean(x: Tensor, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Mean over ``axis``: the sum divided by the number of elements reduced.

    Integers and bools give the default float dtype: their sum (int64) times the float
    ``1 / count`` is promoted so. The same holds for :func:`var`.
    """
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
    x = as_float(x)
    _normalize_axis(axis, x.ndim)
    return LogSumExp(axis, keepdims)(x)


# --------------------------------------------------------------------------------------
# Shape operations
# --------------------------------------------------------------------------------------
class Reshape(Function):
    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape

    def forward(self, x):
        self.input_shape = x.shape
        try:
            return x.reshape(self.shape)
        except ValueError:
            raise ValueError(f"cannot reshape a tensor of shape {x.shape} "
                             f"({x.size} elements) into {self.shape}") from None

    def backward(self, gy):
        return reshape(gy, self.input_shape)


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
        self.input_shape = x.shape
        return get_array_module(x).broadcast_to(x, self.shape)

    def backward(self, gy):
        return sum_to(gy, self.input_shape)


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
        self.input_shape = x.shape
        return _sum_to_array(x, self.shape)

    def backward(self, gy):
        return broadcast_to(gy, self.input_shape)


class Concatenate(Function):
    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, *xs):
        self.lengths = [x.shape[self.axis] for x in xs]
        return get_array_module(*xs).concatenate(xs, axis=self.axis)

    def backward(self, gy):
        grads, start = [], 0
        for length, needed in zip(self.lengths, self.needs_input_grad):
            stop = start + length
            index = (slice(None),) * (self.axis % gy.ndim) + (slice(start, stop),)
            grads.append(getitem(gy, index) if needed else None)
            start = stop
        return tuple(grads)


class Split(Function):
    """Cut ``x`` into equal pieces along ``axis``: one node with several outputs.

    The gradient is the pieces' gradients joined back together (a piece that got no
    gradient contributes zeros). ``squeeze`` drops the cut axis from pieces of length 1,
    which turns a sequence (N, T, F) into its T steps (N, F).
    """

    def __init__(self, pieces: int, axis: int, squeeze: bool) -> None:
        self.pieces, self.axis, self.squeeze = pieces, axis, squeeze

    def forward(self, x):
        parts = get_array_module(x).split(x, self.pieces, axis=self.axis)
        if self.squeeze:
            parts = [part.squeeze(self.axis) for part in parts]
        return tuple(parts)

    def backward(self, *grads):
        if self.squeeze:
            return stack(grads, self.axis)
        return concatenate(grads, self.axis)


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
            raise ValueError(f"transpose: axes {axes} are not a permutation of the axes "
                             f"0..{x.ndim - 1} of a tensor of shape {x.shape}")
    return Transpose(axes)(x)


def broadcast_to(x: Tensor, shape: Sequence[int]) -> Tensor:
    """Repeat ``x`` along broadcast axes to ``shape`` (NumPy broadcasting rules)."""
    x = as_tensor(x)
    shape = tuple(shape)
    if x.shape == shape:
        return x
    return BroadcastTo(shape)(x)


def sum_to(x: Tensor, shape: Sequence[int]) -> Tensor:
    """Sum ``x`` down to ``shape``: the inverse of :func:`broadcast_to` for gradients.

    ``shape`` must broadcast to ``x.shape``: it has no more axes than ``x``, and aligned
    from the right each of its axes is 1 (summed over) or equal to ``x``'s; the axes in
    front of it are summed away.
    """
    x = as_tensor(x)
    shape = tuple(shape)
    if x.shape == shape:
        return x
    lead = x.ndim - len(shape)
    if lead < 0 or any(n not in (1, x.shape[lead + i]) for i, n in enumerate(shape)):
        raise ValueError(f"sum_to: cannot sum a tensor of shape {x.shape} to shape {shape}: "
                         "the target must broadcast to the tensor's shape (aligned from the "
                         "right, each of its axes 1 or equal, and no more axes)")
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


def split(x: Tensor, pieces: int, axis: int = -1) -> list[Tensor]:
    """Cut ``x`` into ``pieces`` equal parts along ``axis`` (like ``numpy.split``).

    An LSTM cuts its (N, 4H) pre-activations into the four gates this way:
    ``i, f, g, o = F.split(z, 4)``.
    """
    x = as_tensor(x)
    axis = _split_axis("split", x, axis)
    if isinstance(pieces, bool) or not isinstance(pieces, (int, np.integer)) or pieces < 1 \
            or x.shape[axis] % pieces:
        raise ValueError(f"split: cannot cut axis {axis} of length {x.shape[axis]} (shape "
                         f"{x.shape}) into {pieces!r} equal pieces; expected a positive "
                         "integer that divides it")
    if pieces == 1:
        return [x]
    return list(Split(int(pieces), axis, squeeze=False)(x))


def unstack(x: Tensor, axis: int = 0) -> list[Tensor]:
    """The slices of ``x`` along ``axis``, that axis removed: the inverse of :func:`stack`.

    A recurrent layer reads a sequence (N, T, F) as its T steps, ``unstack(x, axis=1)``,
    in one node, whose backward is one ``stack``. (T separate ``x[:, t]`` would each send
    back a gradient of the whole sequence's size, mostly zeros.)
    """
    x = as_tensor(x)
    axis = _split_axis("unstack", x, axis)
    if x.shape[axis] == 0:
        raise ValueError(f"unstack: axis {axis} of shape {x.shape} is empty; expected at "
                         "least one slice")
    if x.shape[axis] == 1:
        return [squeeze(x, axis)]
    return list(Split(x.shape[axis], axis, squeeze=True)(x))


def _split_axis(name: str, x: Tensor, axis: int) -> int:
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) \
            or not -x.ndim <= axis < x.ndim:
        raise ValueError(f"{name}: axis {axis!r} is out of range for a tensor of shape "
                         f"{x.shape}")
    return int(axis) % x.ndim


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
        self.input_shape = x.shape
        return x[self.index]

    def backward(self, gy):
        return ScatterAdd(self.index, self.input_shape)(gy)


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
