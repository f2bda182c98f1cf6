"""Convolution, transposed convolution, pooling, padding and cropping (scratchnet.functional.conv).

* The course's worked example, to the exact integers.
* The loop definitions of ``scratchnet.functional.conv_reference`` against the vectorised ops
  on small random cases: every stride, padding form and channel count the API accepts.
* Gradient checks (first and second order, float64) w.r.t. every input, with stride < kernel,
  stride > kernel, asymmetric and "same" padding, and output_padding.
* Max-pool ties: the first maximum in row-major order takes the whole gradient.
* Errors that name the function and what it got.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import scratchnet as sn
import scratchnet.functional as F
from scratchnet.autograd import iter_functions
from scratchnet.functional import _conv_layout
from scratchnet.functional import conv_reference as ref
from scratchnet.functional.conv import Conv2d, ConvTranspose2d
from scratchnet.functional.conv_reference import pair


@pytest.fixture(autouse=True)
def _float64_default():  # conftest restores the default afterwards
    sn.set_default_dtype(np.float64)


# --------------------------------------------------------------------------------------
# Helpers (the loop references themselves are scratchnet.functional.conv_reference)
# --------------------------------------------------------------------------------------
def adjoint_by_matrix(linear, in_shape, y):
    """``Aᵀ y`` for a linear map ``linear`` on arrays of ``in_shape``, built column by column."""
    size = int(np.prod(in_shape))
    columns = []
    for k in range(size):
        e = np.zeros(size)
        e[k] = 1.0
        columns.append(linear(e.reshape(in_shape)).ravel())
    return (np.stack(columns, axis=1).T @ y.ravel()).reshape(in_shape)


def pool_out_shape(x_shape, kernel_size, stride, padding):
    """The documented formula, ``floor((H + 2p - k) / s) + 1``, for symmetric padding."""
    kh, kw = pair(kernel_size)
    sh, sw = pair((kh, kw) if stride is None else stride)
    ph, pw = pair(padding)
    return (*x_shape[:2], (x_shape[2] + 2 * ph - kh) // sh + 1,
            (x_shape[3] + 2 * pw - kw) // sw + 1)


def distinct(shape, rng, spacing=0.1):
    """A random permutation of evenly spaced values: no ties, no kink within ``spacing``."""
    n = int(np.prod(shape))
    return spacing * (rng.permutation(n) - (n - 1) / 2).reshape(shape)


# --------------------------------------------------------------------------------------
# The course's worked example, and cross-correlation (no flip)
# --------------------------------------------------------------------------------------
WORKED_INPUT = np.array([
    [0, 1, 1, 1, 0, 0, 0],
    [0, 0, 1, 1, 1, 0, 0],
    [0, 0, 0, 1, 1, 1, 0],
    [0, 0, 0, 1, 1, 0, 0],
    [0, 0, 1, 1, 0, 0, 0],
    [0, 1, 1, 0, 0, 0, 0],
    [1, 1, 0, 0, 0, 0, 0],
])
WORKED_KERNEL = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]])
WORKED_OUTPUT = np.array([
    [1, 4, 3, 4, 1],
    [1, 2, 4, 3, 3],
    [1, 2, 3, 4, 1],
    [1, 3, 3, 1, 1],
    [3, 3, 1, 1, 0],
])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_worked_example_from_the_course(dtype):
    x = sn.Tensor(WORKED_INPUT.reshape(1, 1, 7, 7).astype(dtype))
    w = sn.Tensor(WORKED_KERNEL.reshape(1, 1, 3, 3).astype(dtype))
    y = F.conv2d(x, w)
    assert y.shape == (1, 1, 5, 5)
    assert y.dtype == dtype
    np.testing.assert_array_equal(y.numpy()[0, 0], WORKED_OUTPUT)
    np.testing.assert_array_equal(ref.conv2d(x.numpy(), w.numpy())[0, 0], WORKED_OUTPUT)


def test_the_loop_reference_is_part_of_the_public_api():
    # a student finds it next to the fast ops: F.conv_reference
    assert F.conv_reference is ref
    assert "read this first" in ref.__doc__.lower()
    for name in ("conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d"):
        assert callable(getattr(ref, name))


def test_conv2d_is_cross_correlation_the_kernel_is_not_flipped():
    # A single bright pixel: a cross-correlation paints the kernel rotated by 180°,
    # a true convolution would paint it upright.
    x = np.zeros((1, 1, 5, 5))
    x[0, 0, 2, 2] = 1.0
    kernel = np.arange(1.0, 10.0).reshape(3, 3)
    y = F.conv2d(x, kernel.reshape(1, 1, 3, 3), padding=1).numpy()[0, 0]
    np.testing.assert_array_equal(y[1:4, 1:4], kernel[::-1, ::-1])
    # and one window exactly over an asymmetric patch gives the plain Σ x·w
    patch = np.arange(9.0).reshape(1, 1, 3, 3)
    assert F.conv2d(patch, kernel.reshape(1, 1, 3, 3)).item() == float((patch[0, 0] * kernel).sum())


# --------------------------------------------------------------------------------------
# Against the loop references
# --------------------------------------------------------------------------------------
CONV2D_CASES = [
    # x shape, w shape, stride, padding, bias
    ((2, 3, 7, 6), (4, 3, 3, 3), 1, 0, True),
    ((1, 2, 8, 9), (3, 2, 3, 2), 2, 1, False),
    ((2, 1, 9, 9), (2, 1, 4, 4), 3, (1, 2), True),
    ((1, 2, 7, 8), (2, 2, 3, 3), (2, 1), ((0, 2), (1, 0)), True),
    ((2, 2, 7, 7), (3, 2, 3, 3), 2, "same", True),
    ((1, 3, 6, 5), (2, 3, 4, 2), (1, 2), "same", False),     # even kernel: odd pixel at the end
    ((1, 2, 5, 7), (2, 2, 2, 3), 3, "same", True),           # stride > kernel
    ((1, 1, 5, 5), (1, 1, 5, 5), 1, "valid", True),          # kernel = input
    ((1, 2, 9, 9), (2, 2, 2, 2), 3, 0, True),                # stride > kernel: gaps
    ((2, 2, 4, 4), (3, 2, 1, 1), 1, 2, False),               # 1×1 kernel over pure padding
]


@pytest.mark.parametrize("x_shape, w_shape, stride, padding, bias", CONV2D_CASES)
def test_conv2d_matches_loop_reference(x_shape, w_shape, stride, padding, bias):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0]) if bias else None
    expected = ref.conv2d(x, w, b, stride, padding)
    (sh, sw), (kh, kw) = pair(stride), w_shape[2:]
    (top, bottom), (left, right) = ref.pads(padding, x_shape[2:], (kh, kw), (sh, sw))
    assert expected.shape == (x_shape[0], w_shape[0], (x_shape[2] + top + bottom - kh) // sh + 1,
                              (x_shape[3] + left + right - kw) // sw + 1)
    if padding == "same":
        assert expected.shape[2:] == (math.ceil(x_shape[2] / sh), math.ceil(x_shape[3] / sw))
    y = F.conv2d(x, w, b, stride=stride, padding=padding)
    assert y.shape == expected.shape
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-12, atol=1e-12)


def test_same_padding_splits_the_odd_pixel_to_the_bottom_right():
    # 4×4 input, kernel 2, stride 1: total padding 1, all of it at the bottom/right (Keras).
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    w = np.ones((1, 1, 2, 2))
    y = F.conv2d(x, w, padding="same").numpy()
    np.testing.assert_array_equal(y, F.conv2d(x, w, padding=((0, 1), (0, 1))).numpy())
    assert y[0, 0, 0, 0] == 0 + 1 + 4 + 5
    # stride 2 on 5 rows: out 3, total padding (3-1)·2 + 3 - 5 = 2 -> (1, 1)
    x5 = np.arange(25.0).reshape(1, 1, 5, 5)
    w3 = np.ones((1, 1, 3, 3))
    np.testing.assert_array_equal(F.conv2d(x5, w3, stride=2, padding="same").numpy(),
                                  F.conv2d(x5, w3, stride=2, padding=1).numpy())


CONV_TRANSPOSE_CASES = [
    # x shape, w shape (C_in, C_out, kh, kw), stride, padding, output_padding, bias
    ((2, 3, 4, 4), (3, 2, 3, 3), 1, 0, 0, True),
    ((1, 2, 3, 4), (2, 3, 3, 3), 2, 1, 1, True),
    ((2, 1, 3, 3), (1, 2, 4, 4), 3, (1, 2), (2, 0), False),
    ((1, 2, 4, 3), (2, 2, 3, 2), (2, 1), ((0, 2), (1, 0)), (1, 0), True),
    ((1, 2, 3, 3), (2, 1, 2, 2), 3, 0, 2, True),            # stride > kernel: gaps in between
    ((2, 2, 3, 2), (2, 3, 1, 1), 2, 0, 1, False),
    ((2, 2, 4, 3), (2, 3, 3, 2), 1, ((1, 0), (0, 1)), 0, True),  # stride 1, C_in <= C_out:
    ((1, 2, 3, 3), (2, 2, 2, 2), 1, 1, 0, False),           # computed as a flipped conv2d
]


@pytest.mark.parametrize("x_shape, w_shape, stride, padding, output_padding, bias",
                         CONV_TRANSPOSE_CASES)
def test_conv_transpose2d_matches_loop_reference(x_shape, w_shape, stride, padding,
                                                 output_padding, bias):
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[1]) if bias else None
    expected = ref.conv_transpose2d(x, w, b, stride, padding, output_padding)
    (sh, sw), (oh, ow) = pair(stride), pair(output_padding)
    (top, bottom), (left, right) = ref.pads(padding)
    assert expected.shape == (x_shape[0], w_shape[1],
                              (x_shape[2] - 1) * sh - top - bottom + w_shape[2] + oh,
                              (x_shape[3] - 1) * sw - left - right + w_shape[3] + ow)
    z = F.conv_transpose2d(x, w, b, stride=stride, padding=padding,
                           output_padding=output_padding)
    assert z.shape == expected.shape
    np.testing.assert_allclose(z.numpy(), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("x_shape, w_shape, stride, padding, output_padding, bias",
                         CONV_TRANSPOSE_CASES)
def test_conv_transpose2d_is_the_adjoint_of_the_loop_conv2d(x_shape, w_shape, stride, padding,
                                                            output_padding, bias):
    # conv_transpose2d(y, w) = Aᵀ y, where A is the matrix of z ↦ conv2d(z, w) on the
    # input size the transposed output has.
    rng = np.random.default_rng(2)
    y, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    z = F.conv_transpose2d(y, w, stride=stride, padding=padding, output_padding=output_padding)
    expected = adjoint_by_matrix(lambda e: ref.conv2d(e, w, None, stride, padding),
                                 z.shape, y)
    np.testing.assert_allclose(z.numpy(), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kernel, stride", [(3, 1), (3, 2), (4, 2), (1, 2), (2, 3), (5, 3),
                                            ((3, 2), (2, 1))])
def test_conv_transpose2d_same_is_the_adjoint_of_conv2d_same(kernel, stride):
    # "same" gives out = in · stride, and the map is the gradient of a "same" conv2d that
    # takes in · stride back down to in (Keras' Conv2DTranspose).
    rng = np.random.default_rng(3)
    kh, kw = pair(kernel)
    sh, sw = pair(stride)
    y, w = rng.standard_normal((1, 2, 3, 2)), rng.standard_normal((2, 2, kh, kw))
    b = rng.standard_normal(2)
    z = F.conv_transpose2d(y, w, b, stride=stride, padding="same")
    assert z.shape == (1, 2, 3 * sh, 2 * sw)
    expected = adjoint_by_matrix(lambda e: ref.conv2d(e, w, None, stride, "same"),
                                 z.shape, y) + b.reshape(1, -1, 1, 1)
    np.testing.assert_allclose(z.numpy(), expected, rtol=1e-12, atol=1e-12)
    # the loop reference's stamps, cropped the "same" way, give the same numbers
    np.testing.assert_allclose(ref.conv_transpose2d(y, w, b, stride, "same"), expected,
                               rtol=1e-12, atol=1e-12)


def test_conv2d_and_conv_transpose2d_are_built_from_each_other():
    # The input gradient of conv2d is a ConvTranspose2d, and the input gradient of
    # conv_transpose2d is a Conv2d (docs/architecture.md, invariant 2).
    rng = np.random.default_rng(4)
    x = sn.Tensor(rng.standard_normal((1, 2, 5, 5)), requires_grad=True)
    w = sn.Tensor(rng.standard_normal((3, 2, 3, 3)), requires_grad=True)
    v = sn.Tensor(rng.standard_normal((1, 3, 3, 3)))
    (gx,) = sn.grad((F.conv2d(x, w) * v).sum(), [x], create_graph=True)
    assert ConvTranspose2d in {type(f) for f in iter_functions(gx)}
    np.testing.assert_allclose(gx.numpy(), F.conv_transpose2d(v, w).numpy(), rtol=1e-12)

    y = sn.Tensor(rng.standard_normal((1, 3, 3, 3)), requires_grad=True)
    u = sn.Tensor(rng.standard_normal((1, 2, 5, 5)))
    (gy,) = sn.grad((F.conv_transpose2d(y, w) * u).sum(), [y], create_graph=True)
    assert Conv2d in {type(f) for f in iter_functions(gy)}
    np.testing.assert_allclose(gy.numpy(), F.conv2d(u, w).numpy(), rtol=1e-12)


# --------------------------------------------------------------------------------------
# The memory layout (scratchnet.functional._conv_layout) changes speed, not numbers
# --------------------------------------------------------------------------------------
def _conv_values_and_gradients(op, x, w, b, **options):
    """op(x, w, b, **options) and the gradients of <op(...), v> with respect to x, w and b."""
    xt, wt, bt = (sn.Tensor(a, requires_grad=True) for a in (x, w, b))
    y = op(xt, wt, bt, **options)
    v = np.random.default_rng(8).standard_normal(y.shape)
    return [y.numpy()] + [g.numpy() for g in sn.grad((y * v).sum(), [xt, wt, bt])]


@pytest.mark.parametrize("op, x_shape, w_shape, options", [
    (F.conv2d, (3, 2, 7, 6), (3, 2, 3, 3), dict(padding="same")),
    (F.conv2d, (2, 3, 9, 8), (2, 3, 4, 3), dict(stride=2, padding=1)),
    (F.conv_transpose2d, (2, 3, 4, 5), (3, 2, 4, 4), dict(stride=2, padding=1)),
    (F.conv_transpose2d, (2, 2, 5, 4), (2, 3, 3, 3), dict(padding=1)),     # the flipped conv
], ids=["conv2d-same", "conv2d-stride2", "conv_transpose2d-stride2", "conv_transpose2d-flip"])
def test_bands_of_one_row_give_the_numbers_of_one_band(monkeypatch, op, x_shape, w_shape,
                                                       options):
    rng = np.random.default_rng(9)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[1] if op is F.conv_transpose2d else w_shape[0])
    monkeypatch.setattr(_conv_layout, "BAND_BYTES", 2**40)   # the whole image in one band
    whole = _conv_values_and_gradients(op, x, w, b, **options)
    monkeypatch.setattr(_conv_layout, "BAND_BYTES", 1)       # one output row per band
    banded = _conv_values_and_gradients(op, x, w, b, **options)
    for one, many in zip(whole, banded):
        np.testing.assert_allclose(many, one, rtol=1e-12, atol=1e-12)
    reference = ref.conv_transpose2d if op is F.conv_transpose2d else ref.conv2d
    np.testing.assert_allclose(banded[0], reference(x, w, b, **options), rtol=1e-12,
                               atol=1e-12)


@pytest.mark.parametrize("n", [1, 8, 11])  # the copy to batch-last goes 8 images at a time
def test_batch_last_and_nchw_inputs_give_the_same_numbers(n):
    # A convolution's output is an (N, C, H, W) view of a batch-last array; the next
    # convolution must read it, and a plain (N, C, H, W) array, the same way.
    rng = np.random.default_rng(10)
    x = rng.standard_normal((n, 3, 6, 5))
    batch_last = np.ascontiguousarray(x.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)
    w, wt = rng.standard_normal((2, 3, 3, 3)), rng.standard_normal((3, 2, 3, 3))
    for data in (x, batch_last):
        np.testing.assert_allclose(F.conv2d(data, w, padding=1).numpy(),
                                   ref.conv2d(x, w, padding=1), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(F.conv_transpose2d(data, wt, stride=2).numpy(),
                                   ref.conv_transpose2d(x, wt, stride=2), rtol=1e-12,
                                   atol=1e-12)
        np.testing.assert_array_equal(F.max_pool2d(data, 2).numpy(), ref.max_pool2d(x, 2))


POOL_CASES = [
    # x shape, kernel_size, stride, padding
    ((2, 3, 6, 6), 2, None, 0),
    ((1, 2, 7, 7), 3, 2, 1),          # overlapping windows and padding
    ((2, 1, 7, 5), 3, 1, 0),          # heavily overlapping
    ((1, 2, 8, 8), 2, 3, 0),          # stride > kernel: skipped pixels
    ((1, 1, 5, 7), 3, 2, 0),          # the last row/column fits no window
    ((1, 2, 6, 7), (2, 3), (1, 2), (1, 1)),
]


@pytest.mark.parametrize("x_shape, kernel_size, stride, padding", POOL_CASES)
def test_max_pool2d_matches_loop_reference(x_shape, kernel_size, stride, padding):
    rng = np.random.default_rng(5)
    x = distinct(x_shape, rng)
    gy_array = rng.standard_normal(pool_out_shape(x_shape, kernel_size, stride, padding))
    expected = ref.max_pool2d(x, kernel_size, stride, padding)
    expected_grad = ref.max_pool2d_grad(x, gy_array, kernel_size, stride, padding)
    xt = sn.Tensor(x, requires_grad=True)
    y = F.max_pool2d(xt, kernel_size, stride=stride, padding=padding)
    assert y.shape == expected.shape
    np.testing.assert_array_equal(y.numpy(), expected)
    (gx,) = sn.grad(y, [xt], grad_outputs=gy_array)
    np.testing.assert_allclose(gx.numpy(), expected_grad, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("x_shape, kernel_size, stride, padding", POOL_CASES)
def test_avg_pool2d_matches_loop_reference(x_shape, kernel_size, stride, padding):
    rng = np.random.default_rng(6)
    x = rng.standard_normal(x_shape)
    expected = ref.avg_pool2d(x, kernel_size, stride, padding)
    y = F.avg_pool2d(x, kernel_size, stride=stride, padding=padding)
    assert y.shape == expected.shape
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-12, atol=1e-12)
    # its gradient is its adjoint
    gy = rng.standard_normal(expected.shape)
    xt = sn.Tensor(x, requires_grad=True)
    (gx,) = sn.grad(F.avg_pool2d(xt, kernel_size, stride=stride, padding=padding), [xt],
                    grad_outputs=gy)
    expected_grad = adjoint_by_matrix(
        lambda e: ref.avg_pool2d(e, kernel_size, stride, padding), x_shape, gy)
    np.testing.assert_allclose(gx.numpy(), expected_grad, rtol=1e-12, atol=1e-12)


def test_max_pool2d_pads_with_minus_infinity_and_avg_pool2d_counts_zeros():
    x = -np.arange(1.0, 10.0).reshape(1, 1, 3, 3)          # all negative: -1 ... -9
    y = F.max_pool2d(x, 2, stride=2, padding=1).numpy()[0, 0]
    np.testing.assert_array_equal(y, [[-1, -2], [-4, -5]])  # never the padding's 0
    a = F.avg_pool2d(-x, 2, stride=2, padding=1).numpy()[0, 0]
    np.testing.assert_array_equal(a, [[1 / 4, (2 + 3) / 4], [(4 + 7) / 4, (5 + 6 + 8 + 9) / 4]])


@pytest.mark.parametrize("padding, pads", [
    (1, ((1, 1), (1, 1))),
    ((2, 0), ((2, 2), (0, 0))),
    (((0, 2), (1, 3)), ((0, 2), (1, 3))),
])
def test_pad2d_and_crop2d(padding, pads):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3, 4, 5))
    padded = F.pad2d(x, padding)
    np.testing.assert_array_equal(padded.numpy(), np.pad(x, ((0, 0), (0, 0), *pads)))
    np.testing.assert_array_equal(F.crop2d(padded, padding).numpy(), x)
    (top, bottom), (left, right) = pads
    big = rng.standard_normal((1, 2, 7, 8))
    np.testing.assert_array_equal(F.crop2d(big, padding).numpy(),
                                  big[:, :, top:7 - bottom, left:8 - right])


# --------------------------------------------------------------------------------------
# Gradient checks, float64, random upstream gradients
# --------------------------------------------------------------------------------------
CONV_GRAD_CASES = {
    # name: x shape, w shape (conv2d layout), stride, padding
    "stride1": ((2, 2, 4, 4), (2, 2, 3, 3), 1, 0),
    "stride<kernel": ((1, 2, 5, 5), (2, 2, 3, 3), 2, 0),
    "stride>kernel": ((1, 2, 5, 5), (2, 2, 2, 2), 3, 0),
    "asymmetric-padding": ((1, 2, 4, 5), (3, 2, 3, 2), (2, 1), ((0, 2), (1, 0))),
    "same-stride1": ((1, 2, 4, 4), (2, 2, 3, 3), 1, "same"),
    "same-stride2-even-kernel": ((1, 1, 5, 5), (2, 1, 4, 4), 2, "same"),
}


def _conv2d_inputs(x_shape, w_shape, seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(x_shape), rng.standard_normal(w_shape),
            rng.standard_normal(w_shape[0])]


@pytest.mark.parametrize("case", CONV_GRAD_CASES)
def test_conv2d_gradcheck(case):
    x_shape, w_shape, stride, padding = CONV_GRAD_CASES[case]
    def fn(x, w, b):
        return F.conv2d(x, w, b, stride=stride, padding=padding)
    arrays = _conv2d_inputs(x_shape, w_shape, 10)
    assert sn.gradcheck(fn, arrays)
    assert sn.gradgradcheck(fn, arrays)


CONV_TRANSPOSE_GRAD_CASES = {
    # name: x shape, w shape (C_in, C_out, kh, kw), stride, padding, output_padding
    "stride1": ((2, 2, 3, 3), (2, 2, 3, 3), 1, 0, 0),
    "stride<kernel": ((1, 2, 3, 3), (2, 2, 3, 3), 2, 0, 0),
    "stride<kernel-output-padding": ((1, 2, 3, 2), (2, 1, 3, 3), 2, 1, 1),
    "stride>kernel-output-padding": ((1, 2, 2, 3), (2, 2, 2, 2), 3, 0, (2, 1)),
    "asymmetric-padding": ((1, 2, 3, 3), (2, 2, 3, 2), (2, 1), ((0, 2), (1, 0)), (1, 0)),
    "same-stride2": ((1, 2, 2, 3), (2, 2, 3, 3), 2, "same", 0),
    "same-stride2-even-kernel": ((1, 1, 3, 2), (1, 2, 4, 4), 2, "same", 0),
}


@pytest.mark.parametrize("case", CONV_TRANSPOSE_GRAD_CASES)
def test_conv_transpose2d_gradcheck(case):
    x_shape, w_shape, stride, padding, output_padding = CONV_TRANSPOSE_GRAD_CASES[case]
    def fn(x, w, b):
        return F.conv_transpose2d(x, w, b, stride=stride, padding=padding,
                                  output_padding=output_padding)
    rng = np.random.default_rng(11)
    arrays = [rng.standard_normal(x_shape), rng.standard_normal(w_shape),
              rng.standard_normal(w_shape[1])]
    assert sn.gradcheck(fn, arrays)
    assert sn.gradgradcheck(fn, arrays)


POOL_GRAD_CASES = {
    # name: x shape, kernel, stride, padding
    "non-overlapping": ((2, 2, 4, 4), 2, None, 0),
    "stride<kernel-padding": ((1, 2, 5, 5), 3, 2, 1),
    "stride1": ((1, 1, 5, 4), 2, 1, 0),
    "stride>kernel": ((1, 2, 5, 5), 2, 3, 0),
    "asymmetric": ((1, 2, 5, 6), (3, 2), (2, 1), (1, 0)),
}


@pytest.mark.parametrize("case", POOL_GRAD_CASES)
@pytest.mark.parametrize("pool", [F.max_pool2d, F.avg_pool2d], ids=["max", "avg"])
def test_pool_gradcheck(pool, case):
    x_shape, kernel_size, stride, padding = POOL_GRAD_CASES[case]
    def fn(x):
        return pool(x, kernel_size, stride=stride, padding=padding)
    arrays = [distinct(x_shape, np.random.default_rng(12))]  # no tie within eps
    assert sn.gradcheck(fn, arrays)
    assert sn.gradgradcheck(fn, arrays)


@pytest.mark.parametrize("padding", [1, (0, 2), ((2, 0), (1, 3))])
def test_pad2d_and_crop2d_gradcheck(padding):
    rng = np.random.default_rng(13)
    assert sn.gradcheck(lambda x: F.pad2d(x, padding), [rng.standard_normal((1, 2, 3, 4))])
    assert sn.gradgradcheck(lambda x: F.pad2d(x, padding), [rng.standard_normal((1, 2, 3, 4))])
    assert sn.gradcheck(lambda x: F.crop2d(x, padding), [rng.standard_normal((1, 2, 5, 6))])


def test_conv_layers_chain_gradcheck():
    # conv -> max pool -> transposed conv -> avg pool, second order too (the penalties
    # differentiate through whole networks).
    rng = np.random.default_rng(14)
    x = distinct((1, 1, 6, 6), rng)
    w1 = rng.standard_normal((2, 1, 3, 3))
    w2 = rng.standard_normal((2, 1, 2, 2))

    def net(x, w1, w2):
        h = F.max_pool2d(F.conv2d(x, w1, padding="same"), 2)            # (1, 2, 3, 3)
        return F.avg_pool2d(F.conv_transpose2d(h, w2, stride=2), 2, stride=1)  # (1, 1, 5, 5)

    assert sn.gradcheck(net, [x, w1, w2])
    assert sn.gradgradcheck(net, [x, w1, w2])


# --------------------------------------------------------------------------------------
# Max-pool ties
# --------------------------------------------------------------------------------------
def _pool_grad(x, kernel_size, stride=None, padding=0, gy=None):
    """max_pool2d's output and input gradient, after checking both against the loops."""
    x = np.asarray(x, dtype=np.float64)
    xt = sn.Tensor(x, requires_grad=True)
    y = F.max_pool2d(xt, kernel_size, stride=stride, padding=padding)
    gy = np.ones(y.shape) if gy is None else np.asarray(gy, dtype=np.float64)
    (gx,) = sn.grad(y, [xt], grad_outputs=gy)
    np.testing.assert_array_equal(y.numpy(), ref.max_pool2d(x, kernel_size, stride, padding))
    np.testing.assert_array_equal(gx.numpy(),
                                  ref.max_pool2d_grad(x, gy, kernel_size, stride, padding))
    return y.numpy(), gx.numpy()


def test_max_pool_tie_sends_the_gradient_to_the_first_maximum_only():
    y, gx = _pool_grad(np.full((1, 1, 2, 2), 3.0), 2, gy=[[[[5.0]]]])
    assert y.item() == 3.0
    np.testing.assert_array_equal(gx[0, 0], [[5.0, 0.0], [0.0, 0.0]])
    # the first maximum in row-major order, wherever it is
    _, gx = _pool_grad([[[[0.0, 7.0], [7.0, 7.0]]]], 2)
    np.testing.assert_array_equal(gx[0, 0], [[0.0, 1.0], [0.0, 0.0]])
    _, gx = _pool_grad([[[[0.0, 1.0, 2.0], [2.0, 2.0, 1.0], [0.0, 2.0, 0.0]]]], 3)
    np.testing.assert_array_equal(gx[0, 0], [[0, 0, 1], [0, 0, 0], [0, 0, 0]])


def test_max_pool_ties_in_overlapping_windows_go_to_each_windows_first_maximum():
    # All equal, 2×2 windows at stride 1 on 3×3: window (i, j) starts at (i, j), and its
    # first maximum is its own top-left pixel.
    gy = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    _, gx = _pool_grad(np.zeros((1, 1, 3, 3)), 2, stride=1, gy=gy)
    np.testing.assert_array_equal(gx[0, 0], [[1, 2, 0], [3, 4, 0], [0, 0, 0]])


def test_overlapping_windows_that_share_the_maximum_accumulate():
    x = np.array([[[[0.1, 0.2, 0.3], [0.4, 9.0, 0.5], [0.6, 0.7, 0.8]]]])
    gy = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    y, gx = _pool_grad(x, 2, stride=1, gy=gy)
    np.testing.assert_array_equal(y, np.full((1, 1, 2, 2), 9.0))
    expected = np.zeros((3, 3))
    expected[1, 1] = 1.0 + 2.0 + 3.0 + 4.0
    np.testing.assert_array_equal(gx[0, 0], expected)
    # a second 9 at (0, 1): it comes first (row-major) in windows (0, 0) and (0, 1), which
    # both hold it; windows (1, 0) and (1, 1) only hold the 9 at (1, 1).
    x[0, 0, 0, 1] = 9.0
    _, gx = _pool_grad(x, 2, stride=1, gy=gy)
    expected = np.zeros((3, 3))
    expected[0, 1] = 1.0 + 2.0
    expected[1, 1] = 3.0 + 4.0
    np.testing.assert_array_equal(gx[0, 0], expected)


def test_max_pool_with_more_than_256_window_offsets():
    # The winners are stored as small unsigned integers; a 17×17 window has 289 offsets.
    x = distinct((1, 2, 17, 17), np.random.default_rng(15))
    gy = np.array([[[[2.0]], [[3.0]]]])
    y, gx = _pool_grad(x, 17, gy=gy)
    np.testing.assert_array_equal(y[:, :, 0, 0], x.max(axis=(2, 3)))
    assert gx[0, 0].max() == 2.0 and gx[0, 1].max() == 3.0


def test_max_pool_tie_across_channels_and_batch_is_per_window():
    x = np.zeros((2, 2, 2, 2))
    x[1, 0] = [[1.0, 2.0], [2.0, 0.0]]
    _, gx = _pool_grad(x, 2)
    expected = np.zeros((2, 2, 2, 2))
    expected[:, :, 0, 0] = 1.0           # all-zero windows: the top-left
    expected[1, 0] = [[0.0, 1.0], [0.0, 0.0]]
    np.testing.assert_array_equal(gx, expected)


# --------------------------------------------------------------------------------------
# Errors: they name the function and what it got
# --------------------------------------------------------------------------------------
def raises(match_all, call, error=ValueError):
    """``call()`` raises ``error`` whose message contains every string of ``match_all``
    (case-insensitive)."""
    with pytest.raises(error) as info:
        call()
    message = str(info.value).lower()
    missing = [m for m in match_all if m.lower() not in message]
    assert not missing, f"message {str(info.value)!r} does not mention {missing}"


X = np.ones((2, 3, 5, 5))
W = np.ones((4, 3, 3, 3))
WT = np.ones((3, 4, 3, 3))


@pytest.mark.parametrize("name, call", [
    ("conv2d", lambda x: F.conv2d(x, W)),
    ("conv_transpose2d", lambda x: F.conv_transpose2d(x, WT)),
    ("max_pool2d", lambda x: F.max_pool2d(x, 2)),
    ("avg_pool2d", lambda x: F.avg_pool2d(x, 2)),
    ("pad2d", lambda x: F.pad2d(x, 1)),
    ("crop2d", lambda x: F.crop2d(x, 1)),
])
def test_wrong_input_rank_names_the_function_and_shape(name, call):
    raises([name, "(3, 5, 5)"], lambda: call(np.ones((3, 5, 5))))
    raises([name, "(5, 5)"], lambda: call(np.ones((5, 5))))


def test_wrong_kernel_rank():
    raises(["conv2d", "(4, 3, 3)"], lambda: F.conv2d(X, np.ones((4, 3, 3))))
    raises(["conv_transpose2d", "(3, 4, 3)"], lambda: F.conv_transpose2d(X, np.ones((3, 4, 3))))


def test_channel_mismatch_names_both_shapes():
    raises(["conv2d", "(2, 3, 5, 5)", "(4, 2, 3, 3)"],
           lambda: F.conv2d(X, np.ones((4, 2, 3, 3))))
    # conv_transpose2d's kernel is (C_in, C_out, kh, kw): C_in must match x's channels
    raises(["conv_transpose2d", "(2, 3, 5, 5)", "(4, 3, 3, 3)"],
           lambda: F.conv_transpose2d(X, np.ones((4, 3, 3, 3))))


def test_bias_of_the_wrong_size_names_the_function_and_the_shapes():
    # Beyond the list: a bias that does not match C_out should not surface as a
    # bare broadcasting error.
    raises(["conv2d", "(3,)"], lambda: F.conv2d(X, W, np.ones(3)))
    raises(["conv_transpose2d", "(3,)"], lambda: F.conv_transpose2d(X, WT, np.ones(3)))


def test_kernel_larger_than_the_padded_input():
    x = np.ones((1, 1, 3, 3))
    raises(["conv2d", "kernel"], lambda: F.conv2d(x, np.ones((1, 1, 5, 5))))
    raises(["conv2d", "kernel"], lambda: F.conv2d(x, np.ones((1, 1, 2, 6)), padding=1))
    assert F.conv2d(x, np.ones((1, 1, 5, 5)), padding=1).shape == (1, 1, 1, 1)  # just fits
    raises(["max_pool2d", "kernel"], lambda: F.max_pool2d(x, 4))
    raises(["avg_pool2d", "kernel"], lambda: F.avg_pool2d(x, (2, 4)))


@pytest.mark.parametrize("stride", [0, -1, (1, 0), (-2, 1)])
def test_stride_must_be_positive(stride):
    raises(["conv2d", "stride"], lambda: F.conv2d(X, W, stride=stride))
    raises(["conv_transpose2d", "stride"], lambda: F.conv_transpose2d(X, WT, stride=stride))
    raises(["max_pool2d", "stride"], lambda: F.max_pool2d(X, 2, stride=stride))
    raises(["avg_pool2d", "stride"], lambda: F.avg_pool2d(X, 2, stride=stride))


@pytest.mark.parametrize("kernel_size", [0, -1, (2, 0)])
def test_kernel_size_must_be_positive(kernel_size):
    raises(["max_pool2d", "kernel"], lambda: F.max_pool2d(X, kernel_size))
    raises(["avg_pool2d", "kernel"], lambda: F.avg_pool2d(X, kernel_size))


def test_empty_kernel():
    raises(["conv2d", "kernel"], lambda: F.conv2d(X, np.ones((4, 3, 0, 3))))
    raises(["conv_transpose2d", "kernel"], lambda: F.conv_transpose2d(X, np.ones((3, 4, 3, 0))))


def test_output_that_would_be_empty():
    # (1 - 1)·1 - 2·1 + 2 = 0 rows
    raises(["conv_transpose2d", "output"],
           lambda: F.conv_transpose2d(np.ones((1, 1, 1, 1)), np.ones((1, 1, 2, 2)), padding=1))
    raises(["crop2d", "(1, 1, 4, 4)"], lambda: F.crop2d(np.ones((1, 1, 4, 4)), 2))
    raises(["crop2d"], lambda: F.crop2d(np.ones((1, 1, 4, 4)), ((0, 0), (1, 3))))


@pytest.mark.parametrize("stride, output_padding", [(1, 1), (2, 2), (2, (0, 3)), (3, -1)])
def test_output_padding_must_be_below_the_stride(stride, output_padding):
    raises(["conv_transpose2d", "output_padding"],
           lambda: F.conv_transpose2d(X, WT, stride=stride, output_padding=output_padding))


@pytest.mark.parametrize("padding", ["full", "SAME ", "", -1, (1, -1), ((0, 1), (2, -3))])
def test_bad_padding(padding):
    raises(["conv2d", "padding"], lambda: F.conv2d(X, W, padding=padding))
    raises(["conv_transpose2d", "padding"], lambda: F.conv_transpose2d(X, WT, padding=padding))


def test_bad_padding_string_is_quoted():
    raises(["'full'"], lambda: F.conv2d(X, W, padding="full"))


@pytest.mark.parametrize("padding", [-1, 2, "same"])
def test_bad_pool_padding(padding):
    # more than half the kernel would let a window see nothing but padding
    raises(["max_pool2d", "padding"], lambda: F.max_pool2d(X, 3, padding=padding))
    raises(["avg_pool2d", "padding"], lambda: F.avg_pool2d(X, 3, padding=padding))


def test_bad_pad2d_and_crop2d_arguments():
    raises(["pad2d", "padding"], lambda: F.pad2d(X, -1))
    raises(["crop2d", "cropping"], lambda: F.crop2d(X, (1, -1)))


def test_same_padding_refuses_an_output_padding():
    x, w = np.zeros((1, 2, 3, 3)), np.zeros((2, 1, 3, 3))
    with pytest.raises(ValueError, match=r"conv_transpose2d: padding='same' .* output_padding"):
        F.conv_transpose2d(x, w, stride=2, padding="same", output_padding=1)
