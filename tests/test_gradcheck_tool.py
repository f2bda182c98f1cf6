"""The checker is checked: sn.gradcheck and sn.gradgradcheck must catch wrong gradients.

A gradient test suite is only as good as its checker, so each mode (full Jacobian,
vector-Jacobian, random directions) is fed a deliberately wrong backward and must raise
GradcheckError naming the input and both values.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import scratchnet as sn
import scratchnet.functional as F
from scratchnet import Function, GradcheckError, Tensor


# ---------------------------------------------------------------------------------------
# Deliberately wrong Functions
# ---------------------------------------------------------------------------------------
class DoubledSquareGrad(Function):
    """x² with a backward off by a factor of 2 (returns 4x instead of 2x)."""

    def forward(self, x):
        self.save_for_backward(x)
        return x * x

    def backward(self, gy):
        return gy * self.saved_tensors[0] * 4.0


class CorrectSquare(Function):
    def forward(self, x):
        self.save_for_backward(x)
        return x * x

    def backward(self, gy):
        return gy * self.saved_tensors[0] * 2.0


class WrongSecondInput(Function):
    """a * b with the gradient for b wrong (uses b instead of a)."""

    def forward(self, a, b):
        self.save_for_backward(b)
        return a * b

    def backward(self, gy):
        (b,) = self.saved_tensors
        return gy * b, gy * b


class ZeroGradSoftmax(Function):
    """A softmax whose backward returns zeros: invisible to a check of ``.sum()``."""

    def forward(self, x):
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    def backward(self, gy):
        return gy * 0.0


class CubeWithConstantGrad(Function):
    """x³ whose backward multiplies by a *constant* 3x² (raw NumPy, no graph).

    The first derivative is right; its derivative with respect to x is lost, so the
    second derivative is wrong (0 instead of 6x).
    """

    def forward(self, x):
        self.save_for_backward(x)
        return x**3

    def backward(self, gy):
        (x,) = self.saved_tensors
        return gy * Tensor(3 * x.data**2)


class CubeCorrect(Function):
    def forward(self, x):
        self.save_for_backward(x)
        return x**3

    def backward(self, gy):
        (x,) = self.saved_tensors
        return gy * 3.0 * x * x


def _away_from_zero(shape, seed=0):
    rng = np.random.default_rng(seed)
    return np.sign(rng.standard_normal(shape)) * (0.5 + rng.random(shape))


# ---------------------------------------------------------------------------------------
# Each mode catches a factor-of-2 error
# ---------------------------------------------------------------------------------------
def _message_values(message):
    numerical = float(re.search(r"numerical (\S+),", message).group(1))
    analytic = float(re.search(r"analytic (\S+),", message).group(1))
    return numerical, analytic


@pytest.mark.parametrize("shape, mode", [
    ((3, 4), "Jacobian"),             # 12 inputs, 12 outputs: full Jacobian
    ((500,), "vᵀJ"),                  # 500 inputs: every entry of vᵀJ
    ((100, 100), "vᵀJu"),             # 10,000 inputs: random directions
], ids=["full-jacobian", "vector-jacobian", "directional"])
def test_factor_two_error_caught_in_every_mode(shape, mode):
    x = _away_from_zero(shape)
    assert sn.gradcheck(lambda t: CorrectSquare()(t), [x])
    with pytest.raises(GradcheckError) as info:
        sn.gradcheck(lambda t: DoubledSquareGrad()(t), [x])
    message = str(info.value)
    assert re.search(rf"{mode}( \(random direction \d+\))? mismatch for input 0", message)
    assert f"(shape {shape})" in message
    numerical, analytic = _message_values(message)
    # The analytic value is twice the numerical one, whatever element is reported.
    assert analytic == pytest.approx(2 * numerical, rel=1e-4)
    if mode == "Jacobian":
        # Diagonal Jacobian: the worst entry sits on the diagonal, d(x_k²)/dx_k = 2 x_k.
        m = re.search(r"output element (\d+), input element \((\d+), (\d+)\)", message)
        k, i, j = (int(g) for g in m.groups())
        assert k == i * shape[1] + j
        assert numerical == pytest.approx(2 * x[i, j], rel=1e-6)
    if mode == "vᵀJ":
        m = re.search(r"at element \((\d+),\)", message)
        assert m is not None


def test_error_names_the_second_input():
    a, b = _away_from_zero((2, 3)), _away_from_zero((2, 3), seed=1)
    with pytest.raises(GradcheckError, match=r"mismatch for input 1 \(shape \(2, 3\)\)"):
        sn.gradcheck(lambda s, t: WrongSecondInput()(s, t), [a, b])


def test_transposed_gradient_caught():
    class TransposedGrad(Function):
        """x @ W whose dW is gyᵀ x reshaped to W's shape: right numbers, wrong places."""

        def forward(self, x, w):
            self.save_for_backward(x, w)
            return x @ w

        def backward(self, gy):
            x, w = self.saved_tensors
            wrong = (gy.T @ x).reshape(w.shape)
            return gy @ w.T, wrong

    x = _away_from_zero((4, 3))
    w = _away_from_zero((3, 5), seed=1)
    with pytest.raises(GradcheckError, match=r"Jacobian mismatch for input 1 \(shape \(3, 5\)\)"):
        sn.gradcheck(lambda s, t: TransposedGrad()(s, t), [x, w])
    assert sn.gradcheck(lambda s, t: s @ t, [x, w])


def test_message_reports_values_and_tolerance():
    x = _away_from_zero((2,))
    with pytest.raises(GradcheckError) as info:
        sn.gradcheck(lambda t: DoubledSquareGrad()(t), [x])
    message = str(info.value)
    assert "numerical" in message and "analytic" in message and "difference" in message
    assert "the tolerance" in message
    numerical, analytic = _message_values(message)
    assert abs(numerical) > 0.5 and analytic == pytest.approx(2 * numerical, rel=1e-6)


def test_small_error_within_tolerance_passes_and_large_fails():
    class Scaled(Function):
        def __init__(self, factor):
            self.factor = factor

        def forward(self, x):
            return x * 3.0

        def backward(self, gy):
            return gy * (3.0 * self.factor)

    x = _away_from_zero((5,))
    assert sn.gradcheck(lambda t: Scaled(1.0 + 1e-6)(t), [x])
    with pytest.raises(GradcheckError):
        sn.gradcheck(lambda t: Scaled(1.01)(t), [x])


# ---------------------------------------------------------------------------------------
# Why the upstream gradient must be random
# ---------------------------------------------------------------------------------------
def test_zero_backward_softmax_passes_sum_check_but_not_gradcheck():
    x = np.random.default_rng(0).standard_normal((3, 5))

    # The vacuous check: d/dx Σ softmax(x) = 0, so a zero backward "matches".
    eps = 1e-6
    numerical = np.empty_like(x)
    for idx in np.ndindex(*x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += eps
        xm[idx] -= eps
        with sn.no_grad():
            plus = ZeroGradSoftmax()(Tensor(xp)).sum().item()
            minus = ZeroGradSoftmax()(Tensor(xm)).sum().item()
        numerical[idx] = (plus - minus) / (2 * eps)
    t = Tensor(x, requires_grad=True)
    ZeroGradSoftmax()(t).sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), numerical, atol=1e-8)  # "passes"
    assert np.abs(numerical).max() < 1e-8
    # ... and even sn.gradcheck passes when handed the sum:
    assert sn.gradcheck(lambda s: ZeroGradSoftmax()(s).sum(), [x])

    # With random upstream gradients the wrong backward is caught...
    with pytest.raises(GradcheckError):
        sn.gradcheck(lambda s: ZeroGradSoftmax()(s), [x])
    # ...while the real softmax passes.
    assert sn.gradcheck(lambda s: F.softmax(s), [x])


# ---------------------------------------------------------------------------------------
# gradgradcheck
# ---------------------------------------------------------------------------------------
def test_gradgradcheck_catches_non_differentiable_backward():
    x = _away_from_zero((3, 2))
    assert sn.gradcheck(lambda t: CubeWithConstantGrad()(t), [x])      # first order is fine
    with pytest.raises(GradcheckError, match="mismatch for input 0"):
        sn.gradgradcheck(lambda t: CubeWithConstantGrad()(t), [x])
    assert sn.gradgradcheck(lambda t: CubeCorrect()(t), [x])


def test_gradgradcheck_passes_for_builtin_ops():
    x = _away_from_zero((3, 4))
    assert sn.gradgradcheck(lambda t: F.tanh(t) * F.sigmoid(t), [x])
    assert sn.gradgradcheck(lambda t: F.log_softmax(t, axis=1), [x])


# ---------------------------------------------------------------------------------------
# dtype handling
# ---------------------------------------------------------------------------------------
def test_gradcheck_runs_in_float64_and_restores_default_dtype():
    sn.set_default_dtype(np.float32)
    seen = {}

    def fn(t):
        seen["input"] = t.dtype
        seen["default"] = sn.get_default_dtype()
        seen["scalar tensor"] = Tensor(2.0).dtype
        return t * Tensor(2.0)

    assert sn.gradcheck(fn, [np.ones(3, dtype=np.float32)])
    assert seen == {"input": np.float64, "default": np.float64, "scalar tensor": np.float64}
    assert sn.get_default_dtype() == np.float32

    # Restored on failure too.
    with pytest.raises(GradcheckError):
        sn.gradcheck(lambda t: DoubledSquareGrad()(t), [np.ones(3, dtype=np.float32)])
    assert sn.get_default_dtype() == np.float32
    with pytest.raises(GradcheckError):
        sn.gradgradcheck(lambda t: CubeWithConstantGrad()(t), [np.ones(3)])
    assert sn.get_default_dtype() == np.float32


def test_gradcheck_does_not_mutate_caller_inputs():
    x = _away_from_zero((4,))
    copy = x.copy()
    t = Tensor(x, requires_grad=True)
    sn.gradcheck(lambda s: s * s, [t])
    np.testing.assert_array_equal(x, copy)
    np.testing.assert_array_equal(t.numpy(), copy)
    assert t.grad is None


def test_float32_output_raises_clear_type_error():
    def casts(t):
        return Tensor(t.data.astype(np.float32), requires_grad=True)

    with pytest.raises(TypeError, match=r"gradcheck: output 0 has dtype float32.*float64"):
        sn.gradcheck(casts, [np.ones(3)])


def test_non_tensor_output_raises_type_error():
    with pytest.raises(TypeError, match="must return Tensors, output 0 is ndarray"):
        sn.gradcheck(lambda t: t.numpy(), [np.ones(3)])


def test_no_floating_input_raises():
    with pytest.raises(ValueError, match="no floating-point input"):
        sn.gradcheck(lambda t: Tensor(np.ones(2)), [np.array([1, 2])])


def test_integer_inputs_pass_through_unchecked():
    logits = np.random.default_rng(0).standard_normal((4, 3))
    labels = np.array([0, 2, 1, 2])
    assert sn.gradcheck(lambda z, y: F.cross_entropy(z, y, reduction="none"), [logits, labels])
