"""Broadcasting gradients, checked on random shapes with hypothesis.

The engine sums every gradient back to its input's shape once, for every op (``sum_to``).
These tests draw random broadcast-compatible shapes and compare each input's gradient with
a reference written out by hand in NumPy: the upstream gradient, times the local derivative
broadcast to the output's shape, summed over the axes that broadcasting added or stretched.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes, valid_tuple_axes

import scratchnet as sn
import scratchnet.functional as F

SEEDS = st.integers(0, 2**32 - 1)
PAIRS = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3)
TRIPLES = mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=3)


def unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Reference reduction: sum ``g`` over the axes broadcasting added or stretched to reach it."""
    g = g.sum(axis=tuple(range(g.ndim - len(shape))))           # added leading axes
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return g.sum(axis=stretched, keepdims=True)                   # axes of length 1


def gradients(fn, arrays: list[np.ndarray], g: np.ndarray) -> list[np.ndarray]:
    """``gᵀ ∂fn/∂input`` for every input, through scratchnet's backward."""
    xs = [sn.Tensor(a, requires_grad=True) for a in arrays]
    out = fn(*xs)
    assert out.shape == g.shape
    return [grad.numpy() for grad in sn.grad(out, xs, grad_outputs=g)]


def check_against_reference(fn, arrays, references, rng) -> None:
    """Each gradient has its input's shape and matches the hand-written reference."""
    result_shape = np.broadcast_shapes(*(a.shape for a in arrays))
    g = rng.standard_normal(result_shape)
    for array, got, reference in zip(arrays, gradients(fn, arrays, g), references(g)):
        assert got.shape == array.shape
        np.testing.assert_allclose(got, unbroadcast(reference, array.shape), rtol=1e-12,
                                   atol=1e-12)


# --------------------------------------------------------------------------------------
# Binary elementwise ops
# --------------------------------------------------------------------------------------
@given(PAIRS, SEEDS)
def test_add_sub_mul_gradients(shapes, seed):
    rng = np.random.default_rng(seed)
    a, b = (rng.standard_normal(s) for s in shapes.input_shapes)
    check_against_reference(F.add, [a, b], lambda g: [g, g], rng)
    check_against_reference(F.sub, [a, b], lambda g: [g, -g], rng)
    check_against_reference(F.mul, [a, b], lambda g: [g * b, g * a], rng)
    assert sn.gradcheck(F.mul, [a, b])


@given(PAIRS, SEEDS)
def test_div_gradients(shapes, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shapes.input_shapes[0])
    shape_b = shapes.input_shapes[1]
    b = rng.choice([-1.0, 1.0], shape_b) * (0.5 + np.abs(rng.standard_normal(shape_b)))
    check_against_reference(F.div, [a, b], lambda g: [g / b, -g * a / (b * b)], rng)
    assert sn.gradcheck(F.div, [a, b])


@given(PAIRS, SEEDS)
def test_maximum_minimum_gradients(shapes, seed):
    rng = np.random.default_rng(seed)
    # a on even multiples of 0.1, b on odd ones: never closer than 0.1, so never tied.
    a = 0.2 * rng.integers(-10, 10, shapes.input_shapes[0])
    b = 0.2 * rng.integers(-10, 10, shapes.input_shapes[1]) + 0.1
    check_against_reference(F.maximum, [a, b], lambda g: [g * (a > b), g * (a < b)], rng)
    check_against_reference(F.minimum, [a, b], lambda g: [g * (a < b), g * (a > b)], rng)
    assert sn.gradcheck(F.maximum, [a, b])


@given(TRIPLES, SEEDS)
def test_where_gradients(shapes, seed):
    rng = np.random.default_rng(seed)
    shape_c, shape_a, shape_b = shapes.input_shapes
    condition = rng.random(shape_c) < 0.5
    a, b = rng.standard_normal(shape_a), rng.standard_normal(shape_b)

    def fn(a, b):
        return F.where(condition, a, b)

    result_shape = shapes.result_shape
    g = rng.standard_normal(result_shape)
    got_a, got_b = gradients(fn, [a, b], g)
    chosen = np.broadcast_to(condition, result_shape)
    assert got_a.shape == a.shape and got_b.shape == b.shape
    np.testing.assert_allclose(got_a, unbroadcast(np.where(chosen, g, 0.0), a.shape), atol=1e-12)
    np.testing.assert_allclose(got_b, unbroadcast(np.where(chosen, 0.0, g), b.shape), atol=1e-12)
    assert sn.gradcheck(fn, [a, b])


@given(PAIRS, SEEDS)
def test_same_tensor_on_both_sides(shapes, seed):
    # a * a^T-like reuse: a gradient reaching one tensor along two broadcast paths adds up.
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shapes.input_shapes[0])
    b = rng.standard_normal(shapes.input_shapes[1])

    def fn(a, b):
        return a * b + a

    check_against_reference(fn, [a, b], lambda g: [g * b + g, g * a], rng)


# --------------------------------------------------------------------------------------
# Reductions over random axes
# --------------------------------------------------------------------------------------
@st.composite
def shape_and_axis(draw):
    shape = draw(array_shapes(min_dims=1, max_dims=4, max_side=3))
    ndim = len(shape)
    axis = draw(st.none() | st.integers(-ndim, ndim - 1) | valid_tuple_axes(ndim, min_size=1))
    return shape, axis, draw(st.booleans())


@given(shape_and_axis(), SEEDS)
def test_sum_and_mean_over_random_axes(case, seed):
    shape, axis, keepdims = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    kept_shape = np.sum(x, axis=axis, keepdims=True).shape
    count = x.size // int(np.prod(kept_shape))
    for op, reference, scale in ((F.sum, np.sum, 1.0), (F.mean, np.mean, 1.0 / count)):
        def fn(t, op=op):
            return op(t, axis=axis, keepdims=keepdims)

        out = fn(sn.Tensor(x))
        np.testing.assert_allclose(out.numpy(), reference(x, axis=axis, keepdims=keepdims),
                                   rtol=1e-12, atol=1e-12)
        g = rng.standard_normal(out.shape)
        (got,) = gradients(fn, [x], g)
        # Every element reduced into an output gets that output's gradient (times 1/count).
        expected = np.broadcast_to(g.reshape(kept_shape), shape) * scale
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
        assert sn.gradcheck(fn, [x])


# --------------------------------------------------------------------------------------
# Reshape and transpose
# --------------------------------------------------------------------------------------
@st.composite
def shape_and_permutation(draw):
    shape = draw(array_shapes(min_dims=1, max_dims=4, max_side=3))
    permutation = draw(st.permutations(range(len(shape))))
    return shape, tuple(permutation)


@given(shape_and_permutation(), SEEDS)
def test_reshape_transpose_round_trip(case, seed):
    shape, permutation = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    inverse = tuple(int(i) for i in np.argsort(permutation))
    permuted_shape = tuple(shape[i] for i in permutation)

    def round_trip(t):
        flat = t.transpose(permutation).reshape(-1)
        return F.transpose(flat.reshape(permuted_shape), inverse)

    out = round_trip(sn.Tensor(x))
    np.testing.assert_array_equal(out.numpy(), x)
    g = rng.standard_normal(shape)
    (got,) = gradients(round_trip, [x], g)
    np.testing.assert_array_equal(got, g)  # the round trip is the identity: so is its gradient

    # One way only: the gradient is the upstream gradient moved back into x's layout.
    def permute_and_flatten(t):
        return t.transpose(permutation).reshape(-1)

    g = rng.standard_normal(x.size)
    (got,) = gradients(permute_and_flatten, [x], g)
    np.testing.assert_array_equal(got, g.reshape(permuted_shape).transpose(inverse))
    assert sn.gradcheck(permute_and_flatten, [x])


# --------------------------------------------------------------------------------------
# sum_to's target shape
# --------------------------------------------------------------------------------------
@given(PAIRS, SEEDS)
def test_sum_to_accepts_exactly_the_shapes_that_broadcast(shapes, seed):
    # NumPy's broadcast_to is the reference: x can be summed to `target` exactly when an
    # array of shape `target` broadcasts to x's shape.
    rng = np.random.default_rng(seed)
    x_shape, target = shapes.input_shapes
    x = rng.standard_normal(x_shape)
    try:
        np.broadcast_to(np.empty(target), x_shape)
    except ValueError:
        with pytest.raises(ValueError, match=r"^sum_to: cannot sum a tensor of shape"):
            F.sum_to(sn.Tensor(x), target)
    else:
        out = F.sum_to(sn.Tensor(x), target)
        np.testing.assert_allclose(out.numpy(), unbroadcast(x, target).reshape(target),
                                   rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape, target", [
    ((3, 4), (6, 4)),         # an axis that is neither 1 nor equal
    ((10, 20, 20), (10,)),    # aligned from the right, 10 meets 20
    ((3, 4), (1, 3, 4)),      # more axes than the tensor
    ((3, 1), (3, 4)),         # a target axis longer than the tensor's
], ids=["neither-1-nor-equal", "aligned-from-the-right", "more-axes", "longer-axis"])
def test_sum_to_names_both_shapes_and_the_rule(shape, target):
    message = (rf"^sum_to: cannot sum a tensor of shape {re.escape(str(shape))} to shape "
               rf"{re.escape(str(target))}: the target must broadcast to the tensor's shape")
    with pytest.raises(ValueError, match=message):
        F.sum_to(sn.Tensor(np.zeros(shape)), target)
