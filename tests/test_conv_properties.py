"""Property tests (hypothesis) for convolution and pooling over random geometries.

N 1–2, C_in and C_out 1–3, H and W 1–9, kernels 1–5, strides 1–3 and every padding form
(int, pair, ((top, bottom), (left, right)), "same", "valid"), with impossible combinations
(a kernel larger than the padded input) skipped by ``assume``:

* output shapes follow the documented formulas;
* the adjoint identity ``<conv2d(x, w), y> == <x, conv_transpose2d(y, w)>`` holds to 1e-10
  (relative to the size of the terms summed), in float64;
* gradcheck passes on small cases;
* pooling matches the loop references, and ``<pool(x), y> == <x, ∂<pool(x), y>/∂x>`` (average
  pooling is linear, max pooling is piecewise linear and positively homogeneous).

The example counts are set per test with ``settings(max_examples=...)`` on top of the "ci"
profile (no deadline) that conftest.py loads.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from test_conv import distinct, pool_out_shape

import scratchnet as sn
import scratchnet.functional as F
from scratchnet.functional import conv_reference as ref
from scratchnet.functional.conv_reference import pair

SEEDS = st.integers(0, 2**32 - 1)


def sizes(low: int, high: int) -> st.SearchStrategy:
    """An int or an (h, w) pair, each in [low, high]."""
    return st.one_of(st.integers(low, high), st.tuples(st.integers(low, high),
                                                       st.integers(low, high)))


def paddings(high: int = 2, same: bool = True) -> st.SearchStrategy:
    """Every padding form: int, (ph, pw), ((top, bottom), (left, right)), "valid", "same"."""
    side = st.integers(0, high)
    forms = [side, st.tuples(side, side), st.tuples(st.tuples(side, side), st.tuples(side, side)),
             st.just("valid")]
    return st.one_of(*forms, st.just("same")) if same else st.one_of(*forms)


def inner(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """``<a, b>`` and the scale it is measured against, ``Σ |a|·|b|``."""
    return float(np.sum(a * b)), float(np.sum(np.abs(a) * np.abs(b)))


def assert_close(lhs: float, rhs: float, scale: float, rtol: float = 1e-10) -> None:
    assert abs(lhs - rhs) <= rtol * max(scale, 1e-300), (lhs, rhs, scale)


# --------------------------------------------------------------------------------------
# conv2d / conv_transpose2d
# --------------------------------------------------------------------------------------
@st.composite
def conv_cases(draw, max_size=9, max_channels=3, max_kernel=5, max_stride=3, max_pad=2,
               max_batch=2):
    n = draw(st.integers(1, max_batch))
    c_in, c_out = draw(st.integers(1, max_channels)), draw(st.integers(1, max_channels))
    h, w = draw(st.integers(1, max_size)), draw(st.integers(1, max_size))
    kh, kw = draw(st.integers(1, max_kernel)), draw(st.integers(1, max_kernel))
    stride = draw(sizes(1, max_stride))
    padding = draw(paddings(max_pad))
    pads = ref.pads(padding, (h, w), (kh, kw), pair(stride))
    assume(kh <= h + sum(pads[0]) and kw <= w + sum(pads[1]))  # the kernel must fit
    return dict(x_shape=(n, c_in, h, w), w_shape=(c_out, c_in, kh, kw), stride=stride,
                padding=padding, pads=pads, seed=draw(SEEDS))


@settings(max_examples=100)
@given(conv_cases())
def test_conv2d_shape_and_adjoint_identity(case):
    rng = np.random.default_rng(case["seed"])
    n, _, h, w = case["x_shape"]
    c_out, _, kh, kw = case["w_shape"]
    (sh, sw), ((top, bottom), (left, right)) = pair(case["stride"]), case["pads"]
    x, k = rng.standard_normal(case["x_shape"]), rng.standard_normal(case["w_shape"])

    y = F.conv2d(x, k, stride=case["stride"], padding=case["padding"]).numpy()
    h_out, w_out = (h + top + bottom - kh) // sh + 1, (w + left + right - kw) // sw + 1
    assert y.shape == (n, c_out, h_out, w_out)
    if case["padding"] == "same":
        assert (h_out, w_out) == (math.ceil(h / sh), math.ceil(w / sw))

    # The transposed convolution with the same w, stride and pads, and the output_padding
    # that conv2d's floor dropped, returns to x's shape and is conv2d's adjoint.
    output_padding = ((h + top + bottom - kh) % sh, (w + left + right - kw) % sw)
    g = rng.standard_normal(y.shape)
    z = F.conv_transpose2d(g, k, stride=case["stride"], padding=case["pads"],
                           output_padding=output_padding).numpy()
    assert z.shape == x.shape
    lhs, scale = inner(y, g)
    rhs, scale_z = inner(x, z)
    assert_close(lhs, rhs, max(scale, scale_z))


@st.composite
def conv_transpose_cases(draw):
    n = draw(st.integers(1, 2))
    c_in, c_out = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = sh if sh == sw and draw(st.booleans()) else (sh, sw)
    padding = draw(paddings(2, same=False))
    output_padding = (draw(st.integers(0, sh - 1)), draw(st.integers(0, sw - 1)))
    return dict(x_shape=(n, c_in, h, w), w_shape=(c_in, c_out, kh, kw), stride=stride,
                padding=padding, output_padding=output_padding, seed=draw(SEEDS))


@settings(max_examples=100)
@given(conv_transpose_cases())
def test_conv_transpose2d_shape_and_adjoint_identity(case):
    rng = np.random.default_rng(case["seed"])
    n, _, h, w = case["x_shape"]
    _, c_out, kh, kw = case["w_shape"]
    (sh, sw), (oh, ow) = pair(case["stride"]), case["output_padding"]
    (top, bottom), (left, right) = ref.pads(case["padding"])
    h_out = (h - 1) * sh - top - bottom + kh + oh
    w_out = (w - 1) * sw - left - right + kw + ow
    assume(h_out >= 1 and w_out >= 1)
    x, k = rng.standard_normal(case["x_shape"]), rng.standard_normal(case["w_shape"])
    z = F.conv_transpose2d(x, k, stride=case["stride"], padding=case["padding"],
                           output_padding=case["output_padding"]).numpy()
    assert z.shape == (n, c_out, h_out, w_out)
    # conv2d of z's shape lands back on x's shape; the two maps are adjoint
    u = rng.standard_normal(z.shape)
    y = F.conv2d(u, k, stride=case["stride"], padding=case["padding"]).numpy()
    assert y.shape == x.shape
    lhs, scale = inner(y, x)
    rhs, scale_z = inner(u, z)
    assert_close(lhs, rhs, max(scale, scale_z))


@settings(max_examples=60)
@given(n=st.integers(1, 2), c_in=st.integers(1, 3), c_out=st.integers(1, 3),
       h=st.integers(1, 5), w=st.integers(1, 5), kh=st.integers(1, 5), kw=st.integers(1, 5),
       stride=sizes(1, 3), seed=SEEDS)
def test_same_padding_transpose_upsamples_by_the_stride_and_is_adjoint(n, c_in, c_out, h, w,
                                                                       kh, kw, stride, seed):
    # conv_transpose2d(padding="same") maps (h, w) to (h·sh, w·sw) and is the adjoint of
    # conv2d(padding="same"), which maps (h·sh, w·sw) back to (h, w).
    rng = np.random.default_rng(seed)
    sh, sw = pair(stride)
    x = rng.standard_normal((n, c_in, h, w))
    k = rng.standard_normal((c_in, c_out, kh, kw))
    z = F.conv_transpose2d(x, k, stride=stride, padding="same").numpy()
    assert z.shape == (n, c_out, h * sh, w * sw)
    u = rng.standard_normal(z.shape)
    y = F.conv2d(u, k, stride=stride, padding="same").numpy()
    assert y.shape == x.shape
    lhs, scale = inner(y, x)
    rhs, scale_z = inner(u, z)
    assert_close(lhs, rhs, max(scale, scale_z))


@settings(max_examples=40)
@given(conv_cases(max_size=5, max_channels=2, max_kernel=3, max_pad=1, max_batch=1),
       st.booleans())
def test_conv2d_gradcheck_small(case, bias):
    rng = np.random.default_rng(case["seed"])
    arrays = [rng.standard_normal(case["x_shape"]), rng.standard_normal(case["w_shape"])]
    if bias:
        arrays.append(rng.standard_normal(case["w_shape"][0]))
    assert sn.gradcheck(lambda *t: F.conv2d(*t, stride=case["stride"],
                                            padding=case["padding"]), arrays)


@settings(max_examples=40)
@given(conv_cases(max_size=5, max_channels=2, max_kernel=3, max_pad=1, max_batch=1),
       st.booleans())
def test_conv_transpose2d_gradcheck_small(case, bias):
    # the transposed convolution of conv2d's geometry (its input x's shape comes back)
    rng = np.random.default_rng(case["seed"])
    n, c_in, h, w = case["x_shape"]
    c_out, _, kh, kw = case["w_shape"]
    (sh, sw), ((top, bottom), (left, right)) = pair(case["stride"]), case["pads"]
    h_y, w_y = (h + top + bottom - kh) // sh + 1, (w + left + right - kw) // sw + 1
    output_padding = ((h + top + bottom - kh) % sh, (w + left + right - kw) % sw)
    arrays = [rng.standard_normal((n, c_out, h_y, w_y)), rng.standard_normal(case["w_shape"])]
    if bias:
        arrays.append(rng.standard_normal(c_in))

    def fn(*t):
        return F.conv_transpose2d(*t, stride=case["stride"], padding=case["pads"],
                                  output_padding=output_padding)

    assert sn.gradcheck(fn, arrays)


# --------------------------------------------------------------------------------------
# Pooling
# --------------------------------------------------------------------------------------
@st.composite
def pool_cases(draw, max_size=9, max_kernel=5):
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    h, w = draw(st.integers(1, max_size)), draw(st.integers(1, max_size))
    kernel = draw(sizes(1, max_kernel))
    kh, kw = pair(kernel)
    stride = draw(st.one_of(st.none(), sizes(1, 3)))
    # padding at most half the kernel, so no window holds nothing but padding
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    padding = ph if ph == pw and draw(st.booleans()) else (ph, pw)
    assume(kh <= h + 2 * ph and kw <= w + 2 * pw)
    return dict(x_shape=(n, c, h, w), kernel_size=kernel, stride=stride, padding=padding,
                seed=draw(SEEDS))


@settings(max_examples=100)
@given(pool_cases())
def test_max_pool2d_shape_reference_and_homogeneity(case):
    rng = np.random.default_rng(case["seed"])
    args = case["kernel_size"], case["stride"], case["padding"]
    x = distinct(case["x_shape"], rng)
    expected_shape = pool_out_shape(case["x_shape"], *args)
    g = rng.standard_normal(expected_shape)
    expected = ref.max_pool2d(x, *args)
    expected_grad = ref.max_pool2d_grad(x, g, *args)

    xt = sn.Tensor(x, requires_grad=True)
    y = F.max_pool2d(xt, case["kernel_size"], stride=case["stride"], padding=case["padding"])
    assert y.shape == expected_shape
    np.testing.assert_array_equal(y.numpy(), expected)
    (gx,) = sn.grad(y, [xt], grad_outputs=g)
    np.testing.assert_allclose(gx.numpy(), expected_grad, rtol=1e-12, atol=1e-12)
    lhs, scale = inner(y.numpy(), g)
    rhs, scale_x = inner(x, gx.numpy())
    assert_close(lhs, rhs, max(scale, scale_x))


@settings(max_examples=100)
@given(pool_cases())
def test_avg_pool2d_shape_reference_and_adjoint(case):
    rng = np.random.default_rng(case["seed"])
    args = case["kernel_size"], case["stride"], case["padding"]
    x = rng.standard_normal(case["x_shape"])
    expected = ref.avg_pool2d(x, *args)

    xt = sn.Tensor(x, requires_grad=True)
    y = F.avg_pool2d(xt, case["kernel_size"], stride=case["stride"], padding=case["padding"])
    assert y.shape == pool_out_shape(case["x_shape"], *args)
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(y.shape)
    (gx,) = sn.grad(y, [xt], grad_outputs=g)
    assert gx.shape == x.shape
    lhs, scale = inner(y.numpy(), g)
    rhs, scale_x = inner(x, gx.numpy())
    assert_close(lhs, rhs, max(scale, scale_x))


@settings(max_examples=40)
@given(pool_cases(max_size=5, max_kernel=3), st.sampled_from(["max", "avg"]))
def test_pool_gradcheck_small(case, kind):
    pool = F.max_pool2d if kind == "max" else F.avg_pool2d
    x = distinct(case["x_shape"], np.random.default_rng(case["seed"]))
    assert sn.gradcheck(lambda t: pool(t, case["kernel_size"], stride=case["stride"],
                                       padding=case["padding"]), [x])
