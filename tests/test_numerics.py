"""Numerical stability: saturating inputs give finite, exact-limit values and gradients.

Every test here runs with warnings turned into errors, so an overflow, a division by zero
or an invalid value inside NumPy (``RuntimeWarning``) fails the test even when the final
result happens to come out finite.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import scratchnet as sn
import scratchnet.functional as F

pytestmark = pytest.mark.filterwarnings("error")

DTYPES = [np.float32, np.float64]
BIG = 1e4


def _leaf(values, dtype):
    return sn.Tensor(np.array(values, dtype=dtype), requires_grad=True)


def _finite(t):
    return bool(np.all(np.isfinite(t.numpy())))


def _sigmoid(x):
    """Reference sigmoid in float64 that itself raises no overflow warning."""
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _check_grad(x, expected, **tol):
    assert x.grad is not None
    assert x.grad.dtype == x.dtype
    assert _finite(x.grad), x.grad
    np.testing.assert_allclose(x.grad.numpy(), expected, **tol)


# ---------------------------------------------------------------------------------------
# Elementwise activations at ±1e4
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_saturates_without_overflow(dtype):
    x = _leaf([-BIG, -50.0, 0.0, 50.0, BIG], dtype)
    y = F.sigmoid(x)
    assert y.dtype == dtype and _finite(y)
    np.testing.assert_array_equal(y.numpy()[[0, 2, 4]], np.array([0.0, 0.5, 1.0], dtype))
    np.testing.assert_allclose(y.numpy()[1], math.exp(-50.0), rtol=1e-5)
    y.backward(np.ones(5, dtype))
    s = _sigmoid([-BIG, -50.0, 0.0, 50.0, BIG])
    _check_grad(x, s * (1 - s), rtol=1e-5, atol=0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softplus_limits(dtype):
    x = _leaf([-BIG, 0.0, BIG], dtype)
    y = F.softplus(x)
    assert y.dtype == dtype and _finite(y)
    values = y.numpy()
    assert 0.0 <= values[0] < 1e-30          # log(1 + e^-1e4): tiny, not negative
    assert values[1] == pytest.approx(math.log(2.0), rel=1e-6)
    assert values[2] == BIG
    y.backward(np.ones(3, dtype))
    _check_grad(x, [0.0, 0.5, 1.0], rtol=1e-6, atol=0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_log_sigmoid_limits(dtype):
    x = _leaf([-BIG, 0.0, BIG], dtype)
    y = F.log_sigmoid(x)
    assert y.dtype == dtype and _finite(y)
    np.testing.assert_allclose(y.numpy(), [-BIG, -math.log(2.0), 0.0], rtol=1e-6, atol=1e-30)
    y.backward(np.ones(3, dtype))
    # d/dx log σ(x) = 1 - σ(x) = σ(-x)
    _check_grad(x, [1.0, 0.5, 0.0], rtol=1e-6, atol=0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_with_logits_at_extreme_logits(dtype):
    z = _leaf([BIG, -BIG, BIG, -BIG, 0.0], dtype)
    t = np.array([0.0, 1.0, 1.0, 0.0, 1.0], dtype)
    loss = F.binary_cross_entropy_with_logits(z, t, reduction="none")
    assert loss.dtype == dtype and _finite(loss)
    np.testing.assert_allclose(loss.numpy(), [BIG, BIG, 0.0, 0.0, math.log(2.0)],
                               rtol=1e-6, atol=1e-30)
    loss.backward(np.ones(5, dtype))
    sig = np.array([1.0, 0.0, 1.0, 0.0, 0.5])
    _check_grad(z, sig - t, rtol=1e-6, atol=0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_with_logits_mean_reduction_grad(dtype):
    z = _leaf([[BIG, -BIG], [3.0, -2.0]], dtype)
    t = np.array([[0.0, 0.0], [1.0, 0.25]], dtype)
    F.binary_cross_entropy_with_logits(z, t).backward()
    sig = _sigmoid([[BIG, -BIG], [3.0, -2.0]])
    _check_grad(z, (sig - t) / 4, rtol=1e-5, atol=0)


# ---------------------------------------------------------------------------------------
# Softmax family
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_log_softmax_and_softmax_with_huge_spread(dtype):
    values = [[-BIG, 0.0, BIG], [BIG, BIG, -BIG], [-BIG, -BIG, -BIG]]
    x = _leaf(values, dtype)
    ls = F.log_softmax(x, axis=1)
    assert ls.dtype == dtype and _finite(ls)
    log2, log3 = math.log(2.0), math.log(3.0)
    expected_ls = [[-2 * BIG, -BIG, 0.0], [-log2, -log2, -2 * BIG - log2],
                   [-log3, -log3, -log3]]
    np.testing.assert_allclose(ls.numpy(), expected_ls, rtol=1e-6)
    upstream = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0], [1.0, 0.0, -1.0]], dtype)
    ls.backward(upstream)
    p = np.array([[0.0, 0.0, 1.0], [0.5, 0.5, 0.0], [1 / 3, 1 / 3, 1 / 3]])
    _check_grad(x, upstream - p * upstream.sum(axis=1, keepdims=True), rtol=1e-5, atol=1e-6)

    x2 = _leaf(values, dtype)
    sm = F.softmax(x2, axis=1)
    assert sm.dtype == dtype and _finite(sm)
    np.testing.assert_allclose(sm.numpy(), p, rtol=1e-6, atol=0)
    sm.backward(upstream)
    expected = p * (upstream - (upstream * p).sum(axis=1, keepdims=True))
    _check_grad(x2, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_logsumexp_with_huge_values(dtype):
    x = _leaf([[-BIG, 0.0, BIG], [BIG, BIG, 0.0], [-BIG, -BIG, -BIG]], dtype)
    y = F.logsumexp(x, axis=1)
    assert y.dtype == dtype and _finite(y)
    np.testing.assert_allclose(y.numpy(), [BIG, BIG + math.log(2.0), -BIG + math.log(3.0)],
                               rtol=1e-6)
    y.backward(np.array([1.0, 2.0, 3.0], dtype))
    expected = np.array([[0, 0, 1.0], [1.0, 1.0, 0.0], [1.0, 1.0, 1.0]])
    # The gradient is exp(x - y): in float32, y = 1e4 + log 2 is rounded to the nearest
    # multiple of ~1e-3, so the softmax weights are only good to ~5e-4 relative there.
    rtol = 1e-3 if dtype == np.float32 else 1e-9
    _check_grad(x, expected, rtol=rtol, atol=1e-6)


def test_logsumexp_of_all_minus_inf_row():
    x = sn.Tensor(np.array([[-np.inf, -np.inf], [0.0, 0.0]]))
    with warnings.catch_warnings():  # log(0) = -inf is the right answer here
        warnings.filterwarnings("ignore", "divide by zero", RuntimeWarning)
        y = F.logsumexp(x, axis=1)
    assert y.numpy()[0] == -np.inf
    assert y.numpy()[1] == pytest.approx(math.log(2.0))


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_with_huge_logits(dtype):
    logits = _leaf([[BIG, -BIG, 0.0], [BIG, -BIG, 0.0]], dtype)
    labels = np.array([0, 1])
    loss = F.cross_entropy(logits, labels, reduction="none")
    np.testing.assert_allclose(loss.numpy(), [0.0, 2 * BIG], rtol=1e-6, atol=1e-30)
    loss.sum().backward()
    expected = np.array([[0.0, 0, 0], [1.0, -1, 0]])
    _check_grad(logits, expected, rtol=1e-6, atol=1e-30)


# ---------------------------------------------------------------------------------------
# Clamped binary cross-entropy on saturated probabilities
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_binary_cross_entropy_on_exact_zero_and_one(dtype):
    p = _leaf([0.0, 1.0, 0.0, 1.0, 0.5], dtype)
    t = np.array([1.0, 0.0, 0.0, 1.0, 1.0], dtype)
    loss = F.binary_cross_entropy(p, t, reduction="none")
    assert loss.dtype == dtype and _finite(loss)
    # The log is clamped at -100 (float32 rounds exp(-100) to a subnormal, hence rtol).
    np.testing.assert_allclose(loss.numpy(), [100.0, 100.0, 0.0, 0.0, math.log(2.0)],
                               rtol=1e-3, atol=1e-30)
    loss.backward(np.ones(5, dtype))
    g = p.grad.numpy()
    assert _finite(p.grad)
    assert g[0] < -1e6 and g[1] > 1e6      # pushes p towards the target, hard
    assert g[2] == 0.0 and g[3] == 0.0
    assert g[4] == pytest.approx(-2.0, rel=1e-6)


def test_binary_cross_entropy_clamp_is_exactly_100_in_float64():
    p = sn.Tensor(np.array([0.0, 1.0]), requires_grad=True)
    loss = F.binary_cross_entropy(p, np.array([1.0, 0.0]), reduction="sum")
    assert loss.item() == pytest.approx(200.0, rel=1e-12)


def test_binary_cross_entropy_target_grad_finite_at_saturation():
    p = sn.Tensor(np.array([0.0, 1.0, 0.3]))
    t = sn.Tensor(np.array([0.5, 0.5, 0.5]), requires_grad=True)
    F.binary_cross_entropy(p, t, reduction="sum").backward()
    # d/dt = log(1 - p) - log p, with the logs clamped at -100.
    np.testing.assert_allclose(t.grad.numpy(), [100.0, -100.0, math.log(0.7 / 0.3)],
                               rtol=1e-9)


# ---------------------------------------------------------------------------------------
# Gaussian KL
# ---------------------------------------------------------------------------------------
def test_gaussian_kl_is_zero_for_standard_normal():
    mu = sn.Tensor(np.zeros((3, 4)), requires_grad=True)
    logvar = sn.Tensor(np.zeros((3, 4)), requires_grad=True)
    kl = F.gaussian_kl(mu, logvar)
    assert kl.shape == (3,)
    np.testing.assert_array_equal(kl.numpy(), np.zeros(3))
    kl.sum().backward()
    np.testing.assert_array_equal(mu.grad.numpy(), np.zeros((3, 4)))
    np.testing.assert_array_equal(logvar.grad.numpy(), np.zeros((3, 4)))


def test_gaussian_kl_closed_form_and_gradient():
    rng = np.random.default_rng(0)
    mu_np = rng.standard_normal((5, 3))
    lv_np = rng.standard_normal((5, 3)) * 0.5
    mu = sn.Tensor(mu_np, requires_grad=True)
    logvar = sn.Tensor(lv_np, requires_grad=True)
    kl = F.gaussian_kl(mu, logvar)
    # KL(N(m, s²) || N(0, 1)) = log(1/s) + (s² + m²)/2 - 1/2, per dimension.
    s = np.exp(0.5 * lv_np)
    expected = (np.log(1 / s) + (s**2 + mu_np**2) / 2 - 0.5).sum(axis=1)
    np.testing.assert_allclose(kl.numpy(), expected, rtol=1e-12)
    assert np.all(kl.numpy() > 0)
    kl.sum().backward()
    np.testing.assert_allclose(mu.grad.numpy(), mu_np, rtol=1e-12)
    np.testing.assert_allclose(logvar.grad.numpy(), 0.5 * (np.exp(lv_np) - 1), rtol=1e-12)
    assert F.gaussian_kl(mu, logvar, reduction="mean").item() == pytest.approx(expected.mean())


def test_gaussian_kl_matches_monte_carlo():
    rng = np.random.default_rng(1)
    mu_np = np.array([[0.5, -1.0, 0.0]])
    lv_np = np.array([[0.3, -0.5, 1.0]])
    kl = F.gaussian_kl(sn.Tensor(mu_np), sn.Tensor(lv_np)).item()
    n = 200_000
    std = np.exp(0.5 * lv_np)
    z = mu_np + std * rng.standard_normal((n, 3))
    log_q = (-0.5 * ((z - mu_np) / std) ** 2 - np.log(std)).sum(axis=1)
    log_p = (-0.5 * z**2).sum(axis=1)          # the 2π constants cancel
    estimate = np.mean(log_q - log_p)
    stderr = np.std(log_q - log_p) / np.sqrt(n)
    assert abs(estimate - kl) < 5 * stderr
    assert kl > 0.5  # not a trivial agreement at zero


@pytest.mark.parametrize("dtype", DTYPES)
def test_gaussian_kl_with_large_negative_logvar_is_finite(dtype):
    mu = _leaf([[0.0, 1.0]], dtype)
    logvar = _leaf([[-80.0, 20.0]], dtype)
    kl = F.gaussian_kl(mu, logvar)
    assert kl.dtype == dtype and _finite(kl)
    expected = 0.5 * ((math.exp(-80) + 0 - 1 + 80) + (math.exp(20) + 1 - 1 - 20))
    assert kl.item() == pytest.approx(expected, rel=1e-6)


# ---------------------------------------------------------------------------------------
# Powers at 0: where the derivative is 0, the textbook formula gives 0 · inf = NaN
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_x_to_the_0_has_gradient_0_at_x_0(dtype):
    x = _leaf([0.0, 2.0, -1.5], dtype)
    y = x ** 0
    np.testing.assert_array_equal(y.numpy(), [1.0, 1.0, 1.0])
    y.backward(np.ones(3, dtype))
    _check_grad(x, [0.0, 0.0, 0.0], atol=0)


def test_polynomial_features_have_finite_gradients_at_0():
    # f(x) = Σ_k w_k x^k for k = 0..4, the features a student builds with x ** k.
    x_np = np.array([0.0, 0.5, -1.0])
    w_np = np.array([0.3, -1.0, 2.0, 0.5, -0.25])
    x = sn.Tensor(x_np, requires_grad=True)
    w = sn.Tensor(w_np, requires_grad=True)
    f = sum(w[k] * x ** k for k in range(5))
    f.backward(np.ones(3))
    _check_grad(x, sum(k * w_np[k] * x_np ** (k - 1) for k in range(1, 5)), rtol=1e-12)
    _check_grad(w, [(x_np ** k).sum() for k in range(5)], rtol=1e-12)


# (a, b) for a ** b with both differentiated: at a = 0 the derivatives are 0 where
# d/da = b a^(b-1) has b = 0, or d/db = a^b log a has b >= 0 (PyTorch gives the same 0s).
POWERS_AT_ZERO = [(0.0, 0.0), (0.0, 1.0), (0.0, 2.0), (0.0, 3.0), (2.0, 0.0), (0.5, 1.5)]


@pytest.mark.parametrize("dtype", DTYPES)
def test_power_of_two_tensors_has_gradient_0_at_base_0(dtype):
    a = _leaf([p[0] for p in POWERS_AT_ZERO], dtype)
    b = _leaf([p[1] for p in POWERS_AT_ZERO], dtype)
    y = a ** b
    np.testing.assert_allclose(y.numpy(), [1.0, 0.0, 0.0, 0.0, 1.0, 0.5 ** 1.5], rtol=1e-6)
    y.backward(np.ones(len(POWERS_AT_ZERO), dtype))
    _check_grad(a, [0.0, 1.0, 0.0, 0.0, 0.0, 1.5 * 0.5 ** 0.5], rtol=1e-6, atol=0)
    _check_grad(b, [0.0, 0.0, 0.0, 0.0, math.log(2.0), 0.5 ** 1.5 * math.log(0.5)],
                rtol=1e-6, atol=0)


def test_power_second_derivatives_at_base_0_are_finite():
    # PyTorch gives NaN here: its 0s are selected after the 0 · inf is computed.
    a = sn.Tensor(np.array([0.0, 0.0, 2.0]), requires_grad=True)
    b = sn.Tensor(np.array([2.0, 3.0, 0.0]), requires_grad=True)
    ga, gb = sn.grad((a ** b).sum(), [a, b], create_graph=True)
    np.testing.assert_allclose(ga.numpy(), [0.0, 0.0, 0.0], atol=0)
    np.testing.assert_allclose(gb.numpy(), [0.0, 0.0, math.log(2.0)], rtol=1e-12)
    haa, hab = sn.grad(ga.sum(), [a, b])  # row sums of the Hessian blocks
    hba, hbb = sn.grad(gb.sum(), [a, b])
    # For f = a^b: f_aa = b(b-1)a^(b-2), f_ab = a^(b-1)(1 + b log a), f_bb = a^b log² a;
    # at a = 0 with b = 2 or 3 their limits are f_aa = 2 or 0 and f_ab = f_bb = 0. At
    # (2, 0), f_ab = 1/2 says the safe base 1 is used at a = 0 only, not wherever b = 0.
    np.testing.assert_allclose(haa.numpy(), [2.0, 0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(hab.numpy(), [0.0, 0.0, 0.5], atol=1e-12)
    np.testing.assert_allclose(hba.numpy(), [0.0, 0.0, 0.5], atol=1e-12)
    np.testing.assert_allclose(hbb.numpy(), [0.0, 0.0, math.log(2.0) ** 2], atol=1e-12)
