"""Regression tests for the backward engine (scratchnet.autograd).

Each test pins one promise of docs/architecture.md, "The autodiff core": accumulation of a
node used twice, accumulation across backward calls, grad() leaving .grad alone, retain_grad,
an iterative engine that survives deep graphs, weakly held outputs so graphs are freed,
no_grad, broadcasting undone once by the engine, dtype preservation (a gradient has its
tensor's dtype, float64 data or not), scatter-add for repeated indices, detach, NumPy operands
on the left, several roots at once, and an error naming a Function whose backward returns a
gradient of the wrong shape.
"""

from __future__ import annotations

import gc
import time
import weakref

import numpy as np
import pytest

import scratchnet as sn
import scratchnet.functional as F


def _f64(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# ---------------------------------------------------------------------------------------
# Accumulation
# ---------------------------------------------------------------------------------------
def test_node_used_twice_accumulates_to_8a():
    a_np = _f64(3, 2)
    a = sn.Tensor(a_np, requires_grad=True)
    b = a + a          # b = 2a, a used twice by one op
    c = b * b          # c = 4a², b used twice by one op
    upstream = _f64(3, 2, seed=1)
    c.backward(upstream)
    np.testing.assert_allclose(c.numpy(), 4 * a_np**2, rtol=1e-12)
    np.testing.assert_allclose(a.grad.numpy(), 8 * a_np * upstream, rtol=1e-12)


def test_diamond_graph_accumulates_from_both_branches():
    # y = sin-free diamond: u = 3x, v = x², y = u * v = 3x³  ->  dy/dx = 9x²
    x_np = _f64(5)
    x = sn.Tensor(x_np, requires_grad=True)
    u = x * 3.0
    v = x * x
    (u * v).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 9 * x_np**2, rtol=1e-12)


def test_backward_twice_doubles_grad():
    x_np = _f64(4)
    x = sn.Tensor(x_np, requires_grad=True)
    loss = (F.tanh(x) ** 2).sum()
    loss.backward()
    first = x.grad.numpy().copy()
    expected = 2 * np.tanh(x_np) * (1 - np.tanh(x_np) ** 2)
    np.testing.assert_allclose(first, expected, rtol=1e-12)
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first, rtol=1e-12)


# ---------------------------------------------------------------------------------------
# sn.grad and retain_grad
# ---------------------------------------------------------------------------------------
def test_grad_leaves_dot_grad_untouched_and_reaches_intermediates():
    x_np = _f64(3)
    x = sn.Tensor(x_np, requires_grad=True)
    h = x * 2.0                       # intermediate
    y = (h * h).sum()                 # y = 4 Σ x²
    gx, gh = sn.grad(y, [x, h])
    np.testing.assert_allclose(gx.numpy(), 8 * x_np, rtol=1e-12)
    np.testing.assert_allclose(gh.numpy(), 2 * (2 * x_np), rtol=1e-12)
    assert x.grad is None
    assert h.grad is None

    # An existing .grad is left exactly as it was.
    y.backward()
    before = x.grad.numpy().copy()
    sn.grad(y, x)
    np.testing.assert_array_equal(x.grad.numpy(), before)


def test_grad_of_intermediate_only():
    x = sn.Tensor(_f64(4), requires_grad=True)
    h = F.sigmoid(x)
    y = (h * 5.0).sum()
    (gh,) = sn.grad(y, h)
    np.testing.assert_allclose(gh.numpy(), np.full(4, 5.0))
    assert x.grad is None


def test_retain_grad_keeps_intermediate_grad_plain_one_gets_none():
    x_np = _f64(3)
    x = sn.Tensor(x_np, requires_grad=True)
    kept = (x * 3.0).retain_grad()
    plain = x * 2.0
    y = (kept * plain).sum()          # 6 Σ x²
    y.backward()
    np.testing.assert_allclose(kept.grad.numpy(), 2 * x_np, rtol=1e-12)
    assert plain.grad is None
    np.testing.assert_allclose(x.grad.numpy(), 12 * x_np, rtol=1e-12)


# ---------------------------------------------------------------------------------------
# Deep graphs and memory
# ---------------------------------------------------------------------------------------
N_DEEP = 100_000


def test_100k_node_chain_backpropagates_without_recursion():
    start = time.perf_counter()
    x = sn.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x
    factor = 1.0000001
    for _ in range(N_DEEP):
        y = y * factor
    y.sum().backward()
    np.testing.assert_allclose(y.numpy(), np.array([1.0, 2.0]) * factor**N_DEEP, rtol=1e-9)
    np.testing.assert_allclose(x.grad.numpy(), np.full(2, factor**N_DEEP), rtol=1e-9)
    del y  # freeing a 100k-deep chain must not overflow the C stack either
    elapsed = time.perf_counter() - start
    assert elapsed < 10.0, f"100,000-node chain took {elapsed:.1f} s"


def test_100k_node_chain_with_sn_grad_and_add():
    x = sn.Tensor(np.array(0.5), requires_grad=True)
    y = x
    for _ in range(N_DEEP):
        y = y + 0.0
    (g,) = sn.grad(y * y, x)
    assert g.item() == pytest.approx(1.0)


def test_graph_freed_by_refcounting_alone():
    gc.collect()
    gc.disable()
    try:
        x = sn.Tensor(_f64(3), requires_grad=True)
        h = F.tanh(x * 2.0)
        out = (h * h).sum()
        h_ref = weakref.ref(h)
        creator_ref = weakref.ref(h.creator)
        out_creator_ref = weakref.ref(out.creator)
        del h
        assert h_ref() is not None          # still held by the graph of `out`
        del out
        assert h_ref() is None
        assert creator_ref() is None
        assert out_creator_ref() is None
    finally:
        gc.enable()


def test_graph_freed_after_backward():
    gc.collect()
    gc.disable()
    try:
        x = sn.Tensor(_f64(3), requires_grad=True)
        h = F.sigmoid(x)
        out = (h * x).sum()
        out.backward()
        h_ref, fn_ref = weakref.ref(h), weakref.ref(h.creator)
        del h, out
        assert h_ref() is None and fn_ref() is None
        assert x.grad is not None
    finally:
        gc.enable()


# ---------------------------------------------------------------------------------------
# no_grad and detach
# ---------------------------------------------------------------------------------------
def test_no_grad_records_no_graph():
    x = sn.Tensor(_f64(3), requires_grad=True)
    with sn.no_grad():
        assert not sn.is_grad_enabled()
        y = F.sigmoid(x * 2.0).sum()
    assert sn.is_grad_enabled()
    assert y.creator is None
    assert y.requires_grad is False
    with pytest.raises(RuntimeError):
        y.backward()


def test_enable_grad_inside_no_grad():
    x = sn.Tensor(_f64(3), requires_grad=True)
    with sn.no_grad(), sn.enable_grad():
        y = (x * x).sum()
    assert y.creator is not None and y.requires_grad


def test_detach_cuts_the_graph():
    x_np = _f64(3)
    x = sn.Tensor(x_np, requires_grad=True)
    d = (x * x).detach()
    assert d.creator is None and not d.requires_grad
    np.testing.assert_array_equal(d.numpy(), x_np**2)
    y = (d * x).sum()                  # gradient only through the second factor
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), x_np**2, rtol=1e-12)


# ---------------------------------------------------------------------------------------
# Broadcasting
# ---------------------------------------------------------------------------------------
def test_bias_broadcast_grad_is_column_sum():
    x = sn.Tensor(_f64(4, 3), requires_grad=True)
    b = sn.Tensor(_f64(3, seed=1), requires_grad=True)
    upstream = _f64(4, 3, seed=2)
    (x + b).backward(upstream)
    assert b.grad.shape == (3,)
    np.testing.assert_allclose(b.grad.numpy(), upstream.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), upstream)


def test_keepdim_broadcast_grad_shape():
    # (4, 1) * (1, 3) -> (4, 3): each operand's gradient is summed over the stretched axis.
    a_np, b_np = _f64(4, 1), _f64(1, 3, seed=1)
    a = sn.Tensor(a_np, requires_grad=True)
    b = sn.Tensor(b_np, requires_grad=True)
    g = _f64(4, 3, seed=2)
    (a * b).backward(g)
    assert a.grad.shape == (4, 1) and b.grad.shape == (1, 3)
    np.testing.assert_allclose(a.grad.numpy(), (g * b_np).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(b.grad.numpy(), (g * a_np).sum(axis=0, keepdims=True))


# ---------------------------------------------------------------------------------------
# dtypes
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_preserved_with_python_scalars(dtype):
    x = sn.Tensor(np.array([1.0, 2.0, 3.0], dtype=dtype), requires_grad=True)
    results = {
        "x * 2.0": x * 2.0,
        "2.0 * x": 2.0 * x,
        "2.0 - x": 2.0 - x,
        "x - 1": x - 1,
        "x / 3.0": x / 3.0,
        "1.0 / x": 1.0 / x,
        "x ** 2": x**2,
        "x ** 0.5": x**0.5,
        "2.0 ** x": 2.0**x,
        "-x": -x,
        "sigmoid": F.sigmoid(x),
        "mean": x.mean(),
    }
    for name, y in results.items():
        assert y.dtype == dtype, f"{name} gave {y.dtype}"
    loss = sum(r.sum() for r in results.values())
    loss.backward()
    assert x.grad.dtype == dtype


# ---------------------------------------------------------------------------------------
# Indexing
# ---------------------------------------------------------------------------------------
def test_integer_getitem_with_repeats_accumulates():
    x = sn.Tensor(np.arange(5.0), requires_grad=True)
    idx = np.array([0, 2, 2, 2, 4, 0])
    y = x[idx]
    upstream = np.array([1.0, 10.0, 100.0, 1000.0, 5.0, 2.0])
    y.backward(upstream)
    np.testing.assert_array_equal(y.numpy(), np.arange(5.0)[idx])
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 0.0, 1110.0, 0.0, 5.0])


def test_2d_fancy_getitem_with_repeats_accumulates():
    x = sn.Tensor(np.zeros((3, 4)), requires_grad=True)
    rows, cols = np.array([0, 0, 2]), np.array([1, 1, 3])
    x[rows, cols].sum().backward()
    expected = np.zeros((3, 4))
    expected[0, 1] = 2.0
    expected[2, 3] = 1.0
    np.testing.assert_array_equal(x.grad.numpy(), expected)


# ---------------------------------------------------------------------------------------
# NumPy on the left
# ---------------------------------------------------------------------------------------
def test_numpy_array_on_left_gives_tensor_and_grad():
    w_np = _f64(3)
    a = _f64(3, seed=1)
    w = sn.Tensor(w_np, requires_grad=True)
    for y, expected_grad in [
        (a * w, a),
        (a + w, np.ones(3)),
        (a - w, -np.ones(3)),
        (a / w, -a / w_np**2),
    ]:
        assert isinstance(y, sn.Tensor), type(y)
        w.grad = None
        y.sum().backward()
        np.testing.assert_allclose(w.grad.numpy(), expected_grad, rtol=1e-12)


def test_numpy_matrix_matmul_on_left():
    m = _f64(2, 3)
    w = sn.Tensor(_f64(3, 4, seed=1), requires_grad=True)
    y = m @ w
    assert isinstance(y, sn.Tensor)
    g = _f64(2, 4, seed=2)
    y.backward(g)
    np.testing.assert_allclose(w.grad.numpy(), m.T @ g, rtol=1e-12)


# ---------------------------------------------------------------------------------------
# Several roots
# ---------------------------------------------------------------------------------------
def test_grad_with_multiple_roots_and_grad_outputs():
    x_np, w_np = _f64(3), _f64(3, seed=1)
    x = sn.Tensor(x_np, requires_grad=True)
    w = sn.Tensor(w_np, requires_grad=True)
    y1 = x * w                 # (3,)
    y2 = (x * x).sum()         # scalar
    v1 = _f64(3, seed=2)
    v2 = np.array(0.7)
    gx, gw = sn.grad([y1, y2], [x, w], grad_outputs=[v1, v2])
    np.testing.assert_allclose(gx.numpy(), v1 * w_np + 0.7 * 2 * x_np, rtol=1e-12)
    np.testing.assert_allclose(gw.numpy(), v1 * x_np, rtol=1e-12)
    assert x.grad is None and w.grad is None


def test_grad_with_shared_subgraph_between_roots():
    x_np = _f64(4)
    x = sn.Tensor(x_np, requires_grad=True)
    h = F.tanh(x)
    roots = [h.sum(), (h * h).sum()]
    (gx,) = sn.grad(roots, x, grad_outputs=[np.array(2.0), np.array(3.0)])
    t = np.tanh(x_np)
    np.testing.assert_allclose(gx.numpy(), (2.0 + 3.0 * 2 * t) * (1 - t**2), rtol=1e-12)


# ---------------------------------------------------------------------------------------
# Functions with several outputs
# ---------------------------------------------------------------------------------------
class _TwoOutputs(sn.Function):
    """(2x, 3x): backward must accept a zero gradient for an output nobody used."""

    def forward(self, x):
        return x * 2.0, x * 3.0

    def backward(self, g_double, g_triple):
        return g_double * 2.0 + g_triple * 3.0


def test_multi_output_function_both_used():
    x = sn.Tensor(_f64(3), requires_grad=True)
    p, q = _TwoOutputs()(x)
    (p * 5.0 + q * 7.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full(3, 2 * 5.0 + 3 * 7.0))


def test_multi_output_function_unused_output_still_alive():
    x = sn.Tensor(_f64(3), requires_grad=True)
    p, q = _TwoOutputs()(x)
    p.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full(3, 2.0))
    assert q.grad is None


def test_multi_output_function_unused_output_freed():
    # Outputs are held weakly by their creator, so an output the user drops is freed
    # before backward runs; the engine must still give it a zero gradient.
    x = sn.Tensor(_f64(3), requires_grad=True)
    p, q = _TwoOutputs()(x)
    del q
    p.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full(3, 2.0))


# ---------------------------------------------------------------------------------------
# .grad owns its memory and has its leaf's dtype
# ---------------------------------------------------------------------------------------
def test_leaf_grads_do_not_alias_upstream_or_each_other():
    a = sn.Tensor(np.ones(3), requires_grad=True)
    b = sn.Tensor(np.ones(3), requires_grad=True)
    upstream = np.array([1.0, 2.0, 3.0])
    (a + b).backward(upstream)
    np.testing.assert_array_equal(a.grad.numpy(), upstream)
    np.testing.assert_array_equal(b.grad.numpy(), upstream)
    # An in-place change to one gradient (gradient clipping, weight decay folded into the
    # gradient, zero_grad by fill) must not reach the other leaf or the caller's array.
    assert a.grad is not b.grad
    assert not np.shares_memory(a.grad.data, b.grad.data)
    assert not np.shares_memory(a.grad.data, upstream)


def test_leaf_grad_is_writable_after_sum():
    x = sn.Tensor(np.ones((2, 3)), requires_grad=True)
    x.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((2, 3)))
    x.grad.data *= 0.5   # e.g. gradient clipping in place
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 3), 0.5))


def test_float64_upstream_gives_float32_leaf_a_float32_grad():
    x = sn.Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    (x * 2.0).backward(np.ones(3))          # NumPy's default float64
    assert x.grad.dtype == np.float32
    (g,) = sn.grad(x * 2.0, x, grad_outputs=np.ones(3))
    assert g.dtype == np.float32


def test_float32_leaf_times_float64_data_gets_a_float32_grad():
    w_np = np.array([0.5, -1.0, 2.0], dtype=np.float32)
    data = _f64(4, 3)  # NumPy's default float64, e.g. from np.random.randn
    w = sn.Tensor(w_np, requires_grad=True)
    y = w * data
    assert y.dtype == np.float64  # promoted, as in NumPy and PyTorch
    y.sum().backward()
    assert w.grad.dtype == np.float32
    np.testing.assert_array_equal(w.grad.numpy(), data.sum(axis=0).astype(np.float32))


def test_float32_intermediate_gets_a_float32_grad():
    w = sn.Tensor(np.array([0.5, -1.0, 2.0], dtype=np.float32), requires_grad=True)
    h = (w * 2.0).retain_grad()  # float32
    data = _f64(3)
    (h * data).sum().backward()
    assert h.grad.dtype == np.float32 and w.grad.dtype == np.float32
    np.testing.assert_array_equal(h.grad.numpy(), data.astype(np.float32))
    np.testing.assert_array_equal(w.grad.numpy(), 2 * data.astype(np.float32))


def test_gradient_cast_to_float32_is_differentiable():
    w_np = np.array([0.5, -1.0, 2.0], dtype=np.float32)
    data = _f64(3)
    w = sn.Tensor(w_np, requires_grad=True)
    (g,) = sn.grad((w * w * data).sum(), w, create_graph=True)  # 2 w data
    assert g.dtype == np.float32 and g.requires_grad
    np.testing.assert_allclose(g.numpy(), 2 * w_np * data, rtol=1e-6)
    g.sum().backward()  # d/dw Σ 2 w data = 2 data
    assert w.grad.dtype == np.float32
    np.testing.assert_array_equal(w.grad.numpy(), (2 * data).astype(np.float32))


# ---------------------------------------------------------------------------------------
# A backward that returns a gradient of the wrong shape
# ---------------------------------------------------------------------------------------
class _WrongShapeBackward(sn.Function):
    """Doubles its input, but its backward returns a gradient of twice the rows."""

    def forward(self, x):
        return x * 2.0

    def backward(self, gy):
        return F.concatenate([gy, gy]) * 2.0


def test_backward_with_a_wrongly_shaped_gradient_is_named():
    x = sn.Tensor(_f64(3, 4), requires_grad=True)
    y = _WrongShapeBackward()(x)
    with pytest.raises(ValueError, match=r"^_WrongShapeBackward\.backward returned a gradient "
                                         r"of shape \(6, 4\) for an input of shape \(3, 4\); "
                                         r"sum_to: cannot sum"):
        y.sum().backward()


def test_many_contributions_are_summed_in_place_without_touching_anything_shared():
    # A weight used at every step of a recurrence gets one gradient per step. After the
    # first sum the engine adds the rest into that sum's own array: the result is the
    # plain sum, and no array handed to it (the upstream gradient, a backward's output
    # that is also another input's gradient) is written to.
    w = sn.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    other = sn.Tensor(np.array([3.0, 4.0]), requires_grad=True)
    steps = [w + other for _ in range(5)]  # Add hands the same gradient to both inputs
    y = steps[0]
    for s in steps[1:]:
        y = y + s
    upstream = np.array([0.5, -1.0])
    kept = upstream.copy()
    y.backward(upstream)
    np.testing.assert_array_equal(upstream, kept)
    np.testing.assert_array_equal(w.grad.numpy(), 5 * kept)
    np.testing.assert_array_equal(other.grad.numpy(), 5 * kept)


def test_summing_in_place_leaves_second_derivatives_exact():
    w = sn.Tensor(np.array([0.3, -0.7]), requires_grad=True)
    y = sum((w * w * (k + 1)).sum() for k in range(4))   # w used eight times
    (g,) = sn.grad(y, w, create_graph=True)
    np.testing.assert_allclose(g.numpy(), 2 * 10 * w.numpy())
    (h,) = sn.grad(g.sum(), w)
    np.testing.assert_allclose(h.numpy(), [20.0, 20.0])
