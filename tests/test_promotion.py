"""Type promotion: the dtype of a result whose operands are ints, bools and floats.

The rules are PyTorch's (``F.result_type``): tensors decide over Python numbers, the higher
kind's dtype wins between two tensors (int64 with float32 gives float32), an int or bool
tensor with a Python float gives the default float dtype, and true division and the
functions whose values are not integers (mean, var, exp, sigmoid, ...) give floats.

Every test states the dtype it expects, so all of them run without PyTorch; the
``*_match_pytorch`` tests compare dtypes and values with PyTorch as well, where installed.
"""

from __future__ import annotations

import operator

import numpy as np
import pytest

import scratchnet as sn
import scratchnet.functional as F

TENSORS = {
    "int64": np.array([1, 2, 3]),
    "int32": np.array([1, 2, 3], dtype=np.int32),
    "bool": np.array([True, False, True]),
    "float32": np.array([0.5, 1.5, 2.0], dtype=np.float32),
    "float64": np.array([0.5, 1.5, 2.0]),
}

# (left, right, dtype of left ⊕ right): a string names a tensor of TENSORS, anything else is
# a Python number. Each pair is also tested the other way round (right ⊕ left).
PAIRS = [
    ("int64", 0.5, np.float32),       # int tensor, Python float: the default float dtype
    ("int32", 0.5, np.float32),
    ("bool", 0.5, np.float32),
    ("int64", 2, np.int64),           # int tensor, Python int: the tensor's int dtype
    ("int32", 2, np.int32),
    ("int64", True, np.int64),
    ("bool", 2, np.int64),            # bool tensor, Python int: int64
    ("bool", True, np.bool_),
    ("float32", 0.5, np.float32),     # a float tensor keeps its dtype
    ("float32", 2, np.float32),
    ("float64", 0.5, np.float64),
    ("float32", True, np.float32),
    ("int64", "float32", np.float32),  # two tensors of two kinds: the float one's dtype
    ("int32", "float64", np.float64),
    ("bool", "float32", np.float32),
    ("bool", "int32", np.int32),
    ("int32", "int64", np.int64),     # one kind: the wider dtype
    ("float32", "float64", np.float64),
    ("bool", "bool", np.bool_),
]

OPERATORS = {"+": operator.add, "-": operator.sub, "*": operator.mul,
             "/": operator.truediv, "**": operator.pow}


def _both_ways(pairs):
    for left, right, dtype in pairs:
        yield left, right, dtype
        if left != right:
            yield right, left, dtype


CASES = [pytest.param(symbol, left, right, np.dtype(dtype), id=f"{left}{symbol}{right}")
         for symbol in OPERATORS for left, right, dtype in _both_ways(PAIRS)]


def _operand(spec, make):
    return make(TENSORS[spec]) if isinstance(spec, str) else spec


def _values(x, dtype):
    return np.asarray(x.numpy() if isinstance(x, sn.Tensor) else x, dtype=dtype)


def _refused(symbol, left, right):
    """What NumPy refuses, and so scratchnet: bool - bool (NumPy has no such loop)."""
    return symbol == "-" and {left, right} <= {"bool", True}


def _unsupported(symbol, left, right):
    """bool ** bool: NumPy computes it in int8, PyTorch refuses it; not pinned down here."""
    return symbol == "**" and {left, right} <= {"bool", True}


@pytest.mark.parametrize("left, right, dtype", [
    pytest.param(left, right, np.dtype(dtype), id=f"{left},{right}")
    for left, right, dtype in _both_ways(PAIRS)])
def test_result_type_follows_pytorchs_rules(left, right, dtype):
    assert F.result_type(_operand(left, sn.Tensor), _operand(right, sn.Tensor)) == dtype
    assert F.result_type(_operand(left, np.asarray), _operand(right, np.asarray)) == dtype


@pytest.mark.parametrize("symbol, left, right, dtype", CASES)
def test_binary_operators_promote_int_and_bool_operands(symbol, left, right, dtype):
    if _refused(symbol, left, right) or _unsupported(symbol, left, right):
        return
    if symbol == "/" and dtype.kind != "f":  # true division: ints give floats
        dtype = sn.get_default_dtype()
    a, b = _operand(left, sn.Tensor), _operand(right, sn.Tensor)
    with np.errstate(divide="ignore", invalid="ignore"):  # x / False: inf, as in PyTorch
        result = OPERATORS[symbol](a, b)
        # The reference: NumPy on the same values, both converted to the expected dtype.
        expected = OPERATORS[symbol](_values(a, dtype), _values(b, dtype))
    assert isinstance(result, sn.Tensor)
    assert result.dtype == dtype
    np.testing.assert_allclose(result.numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize("left, right", [("bool", "bool"), ("bool", True), (True, "bool")])
def test_bool_minus_bool_is_an_error_that_names_sub(left, right):
    with pytest.raises(TypeError, match=r"^Sub: .*boolean subtract"):
        _operand(left, sn.Tensor) - _operand(right, sn.Tensor)


@pytest.mark.parametrize("left, right, dtype", [
    ("int64", "float32", np.float32),
    ("float32", "int64", np.float32),
    ("bool", "float64", np.float64),
    ("float32", "float64", np.float64),
    ("int64", "int64", np.int64),
])
def test_matmul_promotes_like_the_other_binary_operators(left, right, dtype):
    # PyTorch refuses mixed dtypes in matmul; NumPy multiplies them, and so does scratchnet,
    # with the dtypes of the elementwise operators.
    x = np.stack([TENSORS[left], TENSORS[left][::-1]])             # (2, 3)
    y = np.stack([TENSORS[right], TENSORS[right][::-1]], axis=1)   # (3, 2)
    expected = x.astype(dtype) @ y.astype(dtype)
    for result in (sn.Tensor(x) @ sn.Tensor(y), sn.Tensor(x) @ y, x @ sn.Tensor(y)):
        assert result.dtype == dtype
        np.testing.assert_allclose(result.numpy(), expected, rtol=1e-6)


# --------------------------------------------------------------------------------------
# Reductions
# --------------------------------------------------------------------------------------
INTS_2x3 = np.array([[1, 2, 3], [4, 6, 8]])
BOOLS_2x3 = np.array([[True, False, True], [False, False, True]])

REDUCTIONS = [
    # (method, data, dtype of the result)
    ("sum", INTS_2x3, np.int64), ("sum", BOOLS_2x3, np.int64),
    ("mean", INTS_2x3, np.float32), ("mean", BOOLS_2x3, np.float32),
    ("var", INTS_2x3, np.float32), ("var", BOOLS_2x3, np.float32),
    ("max", INTS_2x3, np.int64), ("max", BOOLS_2x3, np.bool_),
    ("min", INTS_2x3, np.int64), ("min", BOOLS_2x3, np.bool_),
    ("logsumexp", INTS_2x3, np.float32), ("logsumexp", BOOLS_2x3, np.float32),
]


def _numpy_logsumexp(x, axis=None, keepdims=False):
    return np.log(np.exp(x).sum(axis=axis, keepdims=keepdims))


@pytest.mark.parametrize("method, data, dtype", [
    pytest.param(method, data, np.dtype(dtype), id=f"{method}-{data.dtype}")
    for method, data, dtype in REDUCTIONS])
@pytest.mark.parametrize("axis, keepdims", [(None, False), (1, False), (0, True)])
def test_reductions_of_int_and_bool_tensors(method, data, dtype, axis, keepdims):
    result = getattr(F, method)(sn.Tensor(data), axis=axis, keepdims=keepdims)
    reference = _numpy_logsumexp if method == "logsumexp" else getattr(np, method)
    expected = reference(data.astype(np.float64), axis=axis, keepdims=keepdims)
    assert result.dtype == dtype
    np.testing.assert_allclose(result.numpy().astype(np.float64), expected, rtol=1e-6)





def test_mean_of_a_mask_is_the_fraction_of_true():
    h = sn.Tensor(np.array([0.5, -1.0, 2.0, 0.0], dtype=np.float32))
    fraction = (h > 0).mean()
    assert fraction.dtype == np.float32
    assert fraction.item() == pytest.approx(0.5)
    assert (h == 0).mean().item() == pytest.approx(0.25)

# --------------------------------------------------------------------------------------
# Functions whose values are not integers
# --------------------------------------------------------------------------------------
INTS = np.array([[-2, 0, 1], [3, 1, 2]])


@pytest.mark.parametrize("name, fn", [
    ("exp", F.exp), ("log", lambda x: F.log(x + 3)), ("sqrt", lambda x: F.sqrt(x + 2)),
    ("sigmoid", F.sigmoid), ("tanh", F.tanh), ("softplus", F.softplus),
    ("log_sigmoid", F.log_sigmoid), ("softmax", F.softmax), ("log_softmax", F.log_softmax),
    ("leaky_relu", F.leaky_relu), ("dropout", lambda x: F.dropout(x, 0.5, rng=0)),
    ("clip", lambda x: F.clip(x, -0.5, 1.5)), ("pow-half", lambda x: (x + 2) ** 0.5),
    ("div", lambda x: x / 2),
])
@pytest.mark.parametrize("data", [INTS, INTS > 0], ids=["int64", "bool"])
def test_float_valued_functions_of_ints_give_the_default_float_dtype(name, fn, data):
    result = fn(sn.Tensor(data))
    assert result.dtype == np.float32, f"{name} gave {result.dtype}"
    expected = fn(sn.Tensor(data.astype(np.float32)))
    np.testing.assert_allclose(result.numpy(), expected.numpy(), rtol=1e-6)


@pytest.mark.parametrize("name, fn", [("relu", F.relu), ("abs", F.abs), ("neg", F.neg),
                                      ("square", lambda x: x ** 2)])
def test_integer_valued_functions_keep_integers(name, fn):
    result = fn(sn.Tensor(INTS))
    assert result.dtype == np.int64, f"{name} gave {result.dtype}"
    np.testing.assert_array_equal(result.numpy(), fn(sn.Tensor(INTS.astype(np.float64))).numpy())


def test_python_floats_with_ints_follow_the_default_float_dtype():
    sn.set_default_dtype(np.float64)
    t = sn.Tensor(TENSORS["int64"])
    for result in (t * 0.5, 0.5 * t, t / 2, t.mean(), t.var(), F.exp(t)):
        assert result.dtype == np.float64
    assert F.result_type(t, 0.5) == np.float64


# --------------------------------------------------------------------------------------
# Gradients: an int operand is cast up front and leaves the float operand's gradient alone
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("expression", [lambda w, n: w * n, lambda w, n: n * w,
                                        lambda w, n: n / w, lambda w, n: w ** n])
def test_int_operands_leave_gradients_in_the_float_dtype(expression):
    w_np = np.array([0.5, 1.5, 2.0], dtype=np.float32)
    w = sn.Tensor(w_np, requires_grad=True)
    n = sn.Tensor(TENSORS["int64"])
    y = expression(w, n)
    assert y.dtype == np.float32
    y.sum().backward()
    assert w.grad.dtype == np.float32
    # The same expression with n already float32 gives the same gradient.
    w32 = sn.Tensor(w_np, requires_grad=True)
    expression(w32, sn.Tensor(TENSORS["int64"].astype(np.float32))).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), w32.grad.numpy())
