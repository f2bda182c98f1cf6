"""F.pixel_shuffle and F.pixel_unshuffle (Shi et al., CVPR 2016): the index formula, PyTorch's
channel order, the two ops as each other's inverse and adjoint, their gradients, and errors.

The catalogue (``op_catalogue.py``) gradchecks both ops as well; the checks here are on
larger shapes and on every backend of ``conftest.BACKENDS``.
"""

from __future__ import annotations

import numpy as np
import pytest

import scratchnet as sn
import scratchnet.functional as F
from scratchnet.autograd import iter_functions
from scratchnet.backend import to_device
from scratchnet.functional.conv import PixelShuffle, PixelUnshuffle

# (N, C, H, W) of the *small* side and the factor r: the large side is (N, C, H·r, W·r)
SHAPES = [((2, 3, 2, 4), 2), ((1, 2, 3, 2), 3), ((2, 1, 2, 3), 1), ((1, 1, 1, 1), 4)]


def tensor(array: np.ndarray, backend: str = "numpy", requires_grad: bool = False) -> sn.Tensor:
    return sn.Tensor(to_device(array, backend), requires_grad=requires_grad)


# --------------------------------------------------------------------------------------
# The formula, element by element
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("small, r", SHAPES)
def test_shuffle_follows_the_formula(small, r) -> None:
    n, c, h, w = small
    x = np.arange(n * c * r * r * h * w, dtype=np.float64).reshape(n, c * r * r, h, w)
    out = F.pixel_shuffle(sn.Tensor(x), r).numpy()
    assert out.shape == (n, c, h * r, w * r)
    for b, k, hh, ww, i, j in np.ndindex(n, c, h, w, r, r):
        assert out[b, k, hh * r + i, ww * r + j] == x[b, k * r * r + i * r + j, hh, ww]


@pytest.mark.parametrize("small, r", SHAPES)
def test_unshuffle_follows_the_formula(small, r) -> None:
    n, c, h, w = small
    y = np.arange(n * c * h * r * w * r, dtype=np.float64).reshape(n, c, h * r, w * r)
    out = F.pixel_unshuffle(sn.Tensor(y), r).numpy()
    assert out.shape == (n, c * r * r, h, w)
    for b, k, hh, ww, i, j in np.ndindex(n, c, h, w, r, r):
        assert out[b, k * r * r + i * r + j, hh, ww] == y[b, k, hh * r + i, ww * r + j]


def test_a_block_of_four_channels_fills_one_two_by_two_block() -> None:
    # The picture to keep in mind: channels 0..3 at one pixel become a 2x2 block, row by row.
    x = np.arange(4.0).reshape(1, 4, 1, 1)
    assert F.pixel_shuffle(sn.Tensor(x), 2).numpy().tolist() == [[[[0.0, 1.0], [2.0, 3.0]]]]


@pytest.mark.parametrize("small, r", SHAPES)
def test_equal_to_pytorch(small, r) -> None:
    torch = pytest.importorskip("torch")
    n, c, h, w = small
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c * r * r, h, w))
    y = rng.standard_normal((n, c, h * r, w * r))
    np.testing.assert_array_equal(
        F.pixel_shuffle(sn.Tensor(x), r).numpy(),
        torch.nn.functional.pixel_shuffle(torch.from_numpy(x), r).numpy())
    np.testing.assert_array_equal(
        F.pixel_unshuffle(sn.Tensor(y), r).numpy(),
        torch.nn.functional.pixel_unshuffle(torch.from_numpy(y), r).numpy())


# --------------------------------------------------------------------------------------
# Inverse and adjoint
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("small, r", SHAPES)
def test_round_trips_are_exact(small, r, backend) -> None:
    n, c, h, w = small
    rng = np.random.default_rng(1)
    x = rng.standard_normal((n, c * r * r, h, w)).astype(np.float32)
    y = rng.standard_normal((n, c, h * r, w * r)).astype(np.float32)
    back = F.pixel_unshuffle(F.pixel_shuffle(tensor(x, backend), r), r)
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back.numpy(), x)
    np.testing.assert_array_equal(
        F.pixel_shuffle(F.pixel_unshuffle(tensor(y, backend), r), r).numpy(), y)


@pytest.mark.parametrize("small, r", SHAPES)
def test_unshuffle_is_the_adjoint_of_shuffle(small, r, backend) -> None:
    # <shuffle(x), y> = <x, unshuffle(y)>: the same products, summed in another order.
    n, c, h, w = small
    rng = np.random.default_rng(2)
    x = rng.standard_normal((n, c * r * r, h, w))
    y = rng.standard_normal((n, c, h * r, w * r))
    left = float((F.pixel_shuffle(tensor(x, backend), r) * tensor(y, backend)).sum().item())
    right = float((tensor(x, backend) * F.pixel_unshuffle(tensor(y, backend), r)).sum().item())
    assert left == pytest.approx(right, rel=1e-12, abs=1e-12)
    assert left != pytest.approx(0.0, abs=1e-3)  # random vectors: the identity is not 0 = 0


def test_the_adjoint_identity_fails_for_a_wrong_order() -> None:
    # Not every rearrangement passes: pairing shuffle with a transposed unshuffle breaks it.
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((1, 4, 2, 2)), rng.standard_normal((1, 1, 4, 4))
    left = float((F.pixel_shuffle(sn.Tensor(x), 2) * sn.Tensor(y)).sum().item())
    wrong = F.pixel_unshuffle(sn.Tensor(y.transpose(0, 1, 3, 2)), 2).numpy()
    assert left != pytest.approx(float((x * wrong).sum()), abs=1e-6)


# --------------------------------------------------------------------------------------
# Gradients
# --------------------------------------------------------------------------------------
def test_each_backward_is_the_other_op() -> None:
    rng = np.random.default_rng(4)
    x = sn.Tensor(rng.standard_normal((2, 8, 3, 2)), requires_grad=True)
    v = rng.standard_normal((2, 2, 6, 4))
    (F.pixel_shuffle(x, 2) * sn.Tensor(v)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), F.pixel_unshuffle(sn.Tensor(v), 2).numpy())

    y = sn.Tensor(rng.standard_normal((2, 2, 6, 4)), requires_grad=True)
    u = rng.standard_normal((2, 8, 3, 2))
    (F.pixel_unshuffle(y, 2) * sn.Tensor(u)).sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), F.pixel_shuffle(sn.Tensor(u), 2).numpy())


def test_the_gradient_graph_is_built_from_the_other_op() -> None:
    # With create_graph, the gradient of a shuffle is an unshuffle node (and vice versa):
    # that is what lets second derivatives flow through a sub-pixel generator. The upstream
    # gradient v requires grad, so the backward pass is recorded.
    x = sn.Tensor(np.ones((1, 4, 2, 2)), requires_grad=True)
    v = sn.Tensor(np.ones((1, 1, 4, 4)), requires_grad=True)
    (gx,) = sn.grad((F.pixel_shuffle(x, 2) * v).sum(), [x], create_graph=True)
    assert PixelUnshuffle in {type(f) for f in iter_functions(gx)}
    (gv,) = sn.grad((x * F.pixel_unshuffle(v, 2)).sum(), [v], create_graph=True)
    assert PixelShuffle in {type(f) for f in iter_functions(gv)}


@pytest.mark.parametrize("op, shape, r", [
    (F.pixel_shuffle, (2, 12, 3, 2), 2),
    (F.pixel_shuffle, (1, 18, 2, 2), 3),
    (F.pixel_unshuffle, (2, 3, 4, 6), 2),
    (F.pixel_unshuffle, (1, 2, 6, 3), 3),
])
def test_gradcheck_and_gradgradcheck(op, shape, r, backend) -> None:
    # sn.gradcheck contracts the output with a random upstream gradient, in float64
    x = to_device(np.random.default_rng(5).standard_normal(shape), backend)
    assert sn.gradcheck(lambda t: op(t, r), [x])
    assert sn.gradgradcheck(lambda t: op(t, r), [x])


def test_gradcheck_catches_a_wrong_backward(monkeypatch) -> None:
    # Returning the gradient reshaped, not unshuffled, has the right shape and wrong values.
    monkeypatch.setattr(PixelShuffle, "backward",
                        lambda self, gy: gy.reshape((gy.shape[0], -1, gy.shape[2] // self.r,
                                                     gy.shape[3] // self.r)))
    x = np.random.default_rng(6).standard_normal((1, 4, 2, 3))
    with pytest.raises(sn.GradcheckError):
        sn.gradcheck(lambda t: F.pixel_shuffle(t, 2), [x])


# --------------------------------------------------------------------------------------
# Errors name the function, what it got and what it expected
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("op", [F.pixel_shuffle, F.pixel_unshuffle])
def test_wrong_rank(op) -> None:
    with pytest.raises(ValueError, match=rf"{op.__name__}: expected input of shape "
                                         r"\(N, C, H, W\), got \(4, 2, 2\)"):
        op(sn.Tensor(np.zeros((4, 2, 2))), 2)


@pytest.mark.parametrize("op", [F.pixel_shuffle, F.pixel_unshuffle])
@pytest.mark.parametrize("factor", [0, -2, 2.0, True, "2", None])
def test_factor_must_be_a_positive_integer(op, factor) -> None:
    with pytest.raises(ValueError, match=rf"{op.__name__}: the factor must be an integer "
                                         rf">= 1, got {factor!r}"):
        op(sn.Tensor(np.zeros((1, 4, 2, 2))), factor)


def test_numpy_integer_factor_is_accepted() -> None:
    x = np.arange(8.0).reshape(1, 4, 1, 2)
    np.testing.assert_array_equal(F.pixel_shuffle(sn.Tensor(x), np.int64(2)).numpy(),
                                  F.pixel_shuffle(sn.Tensor(x), 2).numpy())


def test_shuffle_channels_must_divide_by_r_squared() -> None:
    with pytest.raises(ValueError, match=r"pixel_shuffle: the input has 6 channels .*"
                                         r"multiple of upscale_factor² = 4"):
        F.pixel_shuffle(sn.Tensor(np.zeros((1, 6, 2, 2))), 2)


@pytest.mark.parametrize("shape", [(1, 1, 5, 4), (1, 1, 4, 5)])
def test_unshuffle_height_and_width_must_divide_by_r(shape) -> None:
    with pytest.raises(ValueError, match=r"pixel_unshuffle: the input's height and width "
                                         r".* must both be multiples of downscale_factor = 2"):
        F.pixel_unshuffle(sn.Tensor(np.zeros(shape)), 2)


def test_exported_from_functional() -> None:
    assert {"pixel_shuffle", "pixel_unshuffle"} <= set(F.__all__)
