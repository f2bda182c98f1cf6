"""Higher-order gradients: backward passes written with Tensor ops are differentiable.

Hessian-vector products, Newton's method, third derivatives and a WGAN-GP style gradient
penalty, each compared with finite differences or closed forms in float64.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import scratchnet as sn
import scratchnet.functional as F


@pytest.fixture(autouse=True)
def _float64_default():  # conftest restores the default afterwards
    sn.set_default_dtype(np.float64)


# ---------------------------------------------------------------------------------------
# Hessian-vector product of a 2-layer tanh network
# ---------------------------------------------------------------------------------------
def _mlp_setup(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((8, 5))
    y = rng.standard_normal((8, 1))
    w1 = rng.standard_normal((5, 4)) * 0.5
    w2 = rng.standard_normal((4, 1)) * 0.5
    v1 = rng.standard_normal((5, 4))
    v2 = rng.standard_normal((4, 1))
    return x, y, [w1, w2], [v1, v2]


def _mlp_loss(params, x, y):
    w1, w2 = params
    pred = F.tanh(sn.Tensor(x) @ w1) @ w2
    return ((pred - sn.Tensor(y)) ** 2).mean()


def _mlp_grad(arrays, x, y):
    params = [sn.Tensor(a, requires_grad=True) for a in arrays]
    return [g.numpy() for g in sn.grad(_mlp_loss(params, x, y), params)]


def test_hessian_vector_product_matches_finite_difference_of_gradients():
    x, y, arrays, vs = _mlp_setup()
    params = [sn.Tensor(a, requires_grad=True) for a in arrays]
    loss = _mlp_loss(params, x, y)
    grads = sn.grad(loss, params, create_graph=True)
    assert all(g.requires_grad for g in grads)
    gv = sum((g * sn.Tensor(v)).sum() for g, v in zip(grads, vs))
    hvp = [h.numpy() for h in sn.grad(gv, params)]

    eps = 1e-5
    plus = _mlp_grad([a + eps * v for a, v in zip(arrays, vs)], x, y)
    minus = _mlp_grad([a - eps * v for a, v in zip(arrays, vs)], x, y)
    numerical = [(p - m) / (2 * eps) for p, m in zip(plus, minus)]
    for h, n in zip(hvp, numerical):
        assert h.shape == n.shape
        np.testing.assert_allclose(h, n, rtol=1e-6, atol=1e-8)
    # Not vacuous: the product is far from zero.
    assert max(np.abs(h).max() for h in hvp) > 1e-2


def test_hessian_of_quadratic_form_is_exact():
    # f(w) = ½ wᵀ A w with A symmetric: H = A, so Hv = Av.
    rng = np.random.default_rng(3)
    m = rng.standard_normal((6, 6))
    a = m + m.T
    w = sn.Tensor(rng.standard_normal(6), requires_grad=True)
    v = rng.standard_normal(6)
    f = (w * (sn.Tensor(a) @ w)).sum() * 0.5
    (g,) = sn.grad(f, w, create_graph=True)
    np.testing.assert_allclose(g.numpy(), a @ w.numpy(), rtol=1e-12)
    (hv,) = sn.grad((g * sn.Tensor(v)).sum(), w)
    np.testing.assert_allclose(hv.numpy(), a @ v, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------------------
# Newton's method
# ---------------------------------------------------------------------------------------
def _derivatives(fn, x0):
    x = sn.Tensor(np.array(x0), requires_grad=True)
    (d1,) = sn.grad(fn(x), x, create_graph=True)
    (d2,) = sn.grad(d1, x)
    return d1.item(), d2.item()


@pytest.mark.parametrize(
    "fn, x0, minimiser",
    [
        (lambda x: F.exp(x) - 2.0 * x, 0.0, math.log(2.0)),
        (lambda x: x**4 / 4.0 - 2.0 * x, 1.0, 2.0 ** (1.0 / 3.0)),
    ],
    ids=["exp(x)-2x", "x^4/4-2x"],
)
def test_newton_converges_quadratically(fn, x0, minimiser):
    x = x0
    errors = [abs(x - minimiser)]
    steps = 0
    while errors[-1] > 1e-10 and steps < 50:
        d1, d2 = _derivatives(fn, x)
        x = x - d1 / d2
        steps += 1
        errors.append(abs(x - minimiser))
    assert errors[-1] <= 1e-10, errors
    assert steps <= 6, f"{steps} Newton steps, errors {errors}"
    # Quadratic convergence: e_{k+1} ≈ C e_k² near the end, with C = |f'''/(2 f'')|
    # of order 1 here. Check the last two steps that are not yet at rounding level.
    tail = [e for e in errors if e > 1e-14]
    for e_prev, e_next in zip(tail[-3:-1], tail[-2:]):
        assert e_next <= 2.0 * e_prev**2, errors
    # ... which is much faster than linear convergence would be.
    assert tail[-1] < 1e-3 * tail[-2]


# ---------------------------------------------------------------------------------------
# Third derivative
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("x0", [-0.7, 0.0, 0.4])
def test_third_derivative_of_exp_2x(x0):
    x = sn.Tensor(np.array(x0), requires_grad=True)
    y = F.exp(2.0 * x)
    (d1,) = sn.grad(y, x, create_graph=True)
    (d2,) = sn.grad(d1, x, create_graph=True)
    (d3,) = sn.grad(d2, x)
    e = math.exp(2 * x0)
    assert d1.item() == pytest.approx(2 * e, rel=1e-12)
    assert d2.item() == pytest.approx(4 * e, rel=1e-12)
    assert d3.item() == pytest.approx(8 * e, rel=1e-12)


def test_higher_derivatives_of_x5():
    x0 = 1.3
    x = sn.Tensor(np.array(x0), requires_grad=True)
    d = x**5
    found = []
    for _ in range(5):
        (d,) = sn.grad(d, x, create_graph=True)
        found.append(d.item())
    expected = [5 * x0**4, 20 * x0**3, 60 * x0**2, 120 * x0, 120.0]
    np.testing.assert_allclose(found, expected, rtol=1e-12)


def test_second_derivative_through_sigmoid_and_softplus():
    # softplus'' = σ(1-σ); check against the closed form elementwise.
    x_np = np.linspace(-3, 3, 7)
    x = sn.Tensor(x_np, requires_grad=True)
    (g,) = sn.grad(F.softplus(x).sum(), x, create_graph=True)
    (h,) = sn.grad(g.sum(), x)
    s = 1 / (1 + np.exp(-x_np))
    np.testing.assert_allclose(g.numpy(), s, rtol=1e-12)
    np.testing.assert_allclose(h.numpy(), s * (1 - s), rtol=1e-10)


# ---------------------------------------------------------------------------------------
# Gradient penalty (WGAN-GP shape)
# ---------------------------------------------------------------------------------------
def _penalty(w_np, w2_np, x_np):
    w = sn.Tensor(w_np, requires_grad=True)
    x = sn.Tensor(x_np, requires_grad=True)
    critic = F.tanh(x @ w) @ sn.Tensor(w2_np)            # (N, 1)
    (gx,) = sn.grad(critic.sum(), x, create_graph=True)   # (N, D), per-sample grads
    norms = ((gx * gx).sum(axis=1) + 1e-12) ** 0.5
    return ((norms - 1.0) ** 2).mean(), w


def test_gradient_penalty_grad_wrt_weights_matches_finite_differences():
    rng = np.random.default_rng(7)
    x_np = rng.standard_normal((6, 3))
    w_np = rng.standard_normal((3, 5))
    w2_np = rng.standard_normal((5, 1))
    penalty, w = _penalty(w_np, w2_np, x_np)
    (gw,) = sn.grad(penalty, w)
    assert gw.shape == w_np.shape

    eps = 1e-6
    numerical = np.empty_like(w_np)
    for idx in np.ndindex(*w_np.shape):
        wp, wm = w_np.copy(), w_np.copy()
        wp[idx] += eps
        wm[idx] -= eps
        numerical[idx] = (_penalty(wp, w2_np, x_np)[0].item()
                          - _penalty(wm, w2_np, x_np)[0].item()) / (2 * eps)
    np.testing.assert_allclose(gw.numpy(), numerical, rtol=1e-5, atol=1e-8)
    assert np.abs(numerical).max() > 1e-2


def test_squared_grad_norm_penalty_closed_form_linear_critic():
    # critic(x) = x @ w  ->  d critic / dx = wᵀ for every sample, so
    # Σ_n ||∂critic_n/∂x_n||² = N ||w||² and its gradient w.r.t. w is 2 N w.
    rng = np.random.default_rng(2)
    x = sn.Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    w_np = rng.standard_normal((3, 1))
    w = sn.Tensor(w_np, requires_grad=True)
    (gx,) = sn.grad((x @ w).sum(), x, create_graph=True)
    penalty = (gx * gx).sum()
    assert penalty.item() == pytest.approx(4 * (w_np**2).sum(), rel=1e-12)
    (gw,) = sn.grad(penalty, w)
    np.testing.assert_allclose(gw.numpy(), 8 * w_np, rtol=1e-12)
