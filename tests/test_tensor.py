"""The Tensor's array-like surface: properties, methods, comparisons, conversions."""

import re

import numpy as np
import pytest

import scratchnet as sn
import scratchnet.functional as F


def test_leaf_and_non_leaf():
    x = sn.Tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    assert x.is_leaf and not y.is_leaf
    assert type(y.creator).__name__ == "Mul"
    assert y.detach().is_leaf and not y.detach().requires_grad


def test_properties_mirror_numpy():
    data = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    t = sn.Tensor(data)
    assert (t.shape, t.ndim, t.size, t.dtype, len(t)) == ((2, 3, 4), 3, 24, np.float32, 2)
    np.testing.assert_array_equal(t.T.numpy(), data.T)
    np.testing.assert_array_equal(np.asarray(t), data)
    assert np.asarray(t, dtype=np.float64).dtype == np.float64


@pytest.mark.parametrize("method, reference", [
    ("sum", np.sum), ("mean", np.mean), ("max", np.max), ("min", np.min), ("var", np.var),
])
def test_reduction_methods_match_numpy(method, reference):
    data = np.random.default_rng(0).normal(size=(3, 4))
    t = sn.Tensor(data)
    np.testing.assert_allclose(getattr(t, method)().numpy(), reference(data))
    np.testing.assert_allclose(getattr(t, method)(axis=1, keepdims=True).numpy(),
                               reference(data, axis=1, keepdims=True))


def test_elementwise_and_shape_methods_match_numpy():
    data = np.random.default_rng(1).uniform(0.5, 2.0, size=(2, 3))
    t = sn.Tensor(data)
    np.testing.assert_allclose(t.exp().numpy(), np.exp(data))
    np.testing.assert_allclose(t.log().numpy(), np.log(data))
    np.testing.assert_allclose(t.sqrt().numpy(), np.sqrt(data))
    np.testing.assert_allclose(t.clip(1.0, 1.5).numpy(), np.clip(data, 1.0, 1.5))
    assert t.reshape(3, 2).shape == t.reshape((3, 2)).shape == (3, 2)
    assert t.transpose(1, 0).shape == t.transpose((1, 0)).shape == (3, 2)
    np.testing.assert_allclose(abs(-t).numpy(), data)
    np.testing.assert_allclose((2.0 ** t).numpy(), 2.0 ** data)


def test_comparisons_give_boolean_masks_without_gradient():
    x = sn.Tensor([-1.0, 0.0, 2.0], requires_grad=True)
    assert (x > 0).numpy().tolist() == [False, False, True]
    assert (x >= 0).numpy().tolist() == [False, True, True]
    assert (x < 0).numpy().tolist() == [True, False, False]
    assert (x <= 0).numpy().tolist() == [True, True, False]
    assert not (x > 0).requires_grad
    np.testing.assert_allclose(F.where(x > 0, x, 0.0).numpy(), [0.0, 0.0, 2.0])


def test_equality_is_elementwise_and_gives_bool_masks():
    x = sn.Tensor([0.0, 1.0, 2.0], requires_grad=True)
    assert (x == 1).dtype == np.bool_
    assert (x == 1).numpy().tolist() == [False, True, False]
    assert (x != 1).numpy().tolist() == [True, False, True]
    assert (x == sn.Tensor([0.0, 5.0, 2.0])).numpy().tolist() == [True, False, True]
    assert (x == np.array([[0.0], [2.0]])).numpy().tolist() == [[True, False, False],
                                                              [False, False, True]]
    assert (np.ones(3) == x).numpy().tolist() == [False, True, False]  # an array on the left
    assert not (x == 1).requires_grad and (x != 1).creator is None
    t = sn.Tensor([0, 3, 0, 5])
    assert (t == 0).mean().item() == pytest.approx(0.5)  # the fraction of zeros
    assert (t != 0).sum().item() == 2


def test_equality_matches_numpy():
    a_np, b_np = np.array([[1, 2], [3, 4]]), np.array([1, 5])
    a, b = sn.Tensor(a_np), sn.Tensor(b_np)
    np.testing.assert_array_equal((a == b).numpy(), a_np == b_np)
    np.testing.assert_array_equal((a != b).numpy(), a_np != b_np)


def test_tensors_stay_hashable_by_identity():
    a, b = sn.Tensor(1.0), sn.Tensor(1.0)
    assert len({a, b}) == 2 and a in {a} and b not in {a}
    names = {a: "a", b: "b"}
    assert names[a] == "a" and names[b] == "b"
    assert hash(a) != hash(b)
    # A list is searched with ==, which is now elementwise: a Tensor equal in value
    # counts as "in" it, and a multi-element one is ambiguous. Search by identity.
    assert a in [b]
    with pytest.raises(ValueError, match="ambiguous"):
        assert sn.Tensor([1.0, 2.0]) in [sn.Tensor([1.0, 2.0])]
    assert not any(a is t for t in [b])


def test_item_bool_and_repr():
    t = sn.Tensor(3.5)
    assert t.item() == 3.5 and bool(t)
    assert bool(t == 3.5) and not bool(t != 3.5)
    for many in (sn.Tensor([1.0, 2.0]), sn.Tensor([1.0, 2.0]) == 1.0):
        with pytest.raises(ValueError, match="truth value of an array with more than one "
                                             "element is ambiguous"):
            bool(many)
    assert repr(sn.Tensor([1.0, 2.0], requires_grad=True)) == \
        "Tensor([1., 2.], requires_grad=True)"
    assert "grad_fn=Mul" in repr(sn.Tensor([1.0], requires_grad=True) * 2.0)
    assert "dtype=float64" in repr(sn.Tensor(np.zeros(2)))


def test_iter_functions_visits_each_node_once():
    x = sn.Tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    z = (y + y).sum()
    names = sorted(type(f).__name__ for f in sn.autograd.iter_functions(z))
    assert names == ["Add", "Mul", "Sum"]


# --------------------------------------------------------------------------------------
# Casting: astype and float
# --------------------------------------------------------------------------------------
def test_astype_gives_the_gradient_in_the_input_dtype():
    x_np = np.array([0.5, -1.25, 3.0], dtype=np.float32)
    x = sn.Tensor(x_np, requires_grad=True)
    y = x.astype(np.float64)
    assert y.dtype == np.float64 and type(y.creator).__name__ == "Cast"
    np.testing.assert_array_equal(y.numpy(), x_np.astype(np.float64))
    upstream = np.array([0.1, 0.2, 0.3])  # float64: cast to float32 on the way back
    y.backward(upstream)
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.numpy(), upstream.astype(np.float32))


def test_astype_is_twice_differentiable():
    x_np = np.array([0.5, -1.25, 3.0], dtype=np.float32)
    x = sn.Tensor(x_np, requires_grad=True)
    (g,) = sn.grad((x.astype(np.float64) ** 3).sum(), x, create_graph=True)  # 3 x²
    assert g.dtype == np.float32
    np.testing.assert_array_equal(g.numpy(), 3 * x_np ** 2)
    g.sum().backward()  # 6 x
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.numpy(), 6 * x_np)


def test_astype_to_the_same_dtype_returns_the_tensor_itself():
    x = sn.Tensor([1.0, 2.0], requires_grad=True)
    assert x.astype(np.float32) is x and F.astype(x, "float32") is x


def test_astype_to_int_or_bool_does_not_require_grad():
    x = sn.Tensor([1.7, -2.5, 0.0], requires_grad=True)
    for dtype, expected in ((np.int64, [1, -2, 0]), (np.bool_, [True, True, False])):
        y = x.astype(dtype)
        assert y.dtype == dtype and not y.requires_grad and y.creator is None
        assert y.numpy().tolist() == expected  # NumPy's astype: truncation towards 0


def test_float_gives_the_default_float_dtype():
    assert sn.Tensor([1, 2]).float().dtype == np.float32
    assert sn.Tensor([True, False]).float().numpy().tolist() == [1.0, 0.0]
    x64 = sn.Tensor(np.array([1.5, 2.5]), requires_grad=True)
    x32 = x64.float()
    assert x32.dtype == np.float32 and x32.requires_grad
    sn.set_default_dtype(np.float64)
    assert sn.Tensor([1, 2]).float().dtype == np.float64
    assert x64.float() is x64


@pytest.mark.parametrize("dtype, message", [
    ("flot32", "astype: expected a dtype such as np.float32, got 'flot32'"),
    (np.complex64, "astype: tensors hold bool, integer or floating-point numbers; cannot "
                   "convert to complex64"),
], ids=["unknown-name", "complex"])
def test_astype_rejects_what_is_not_a_tensor_dtype(dtype, message):
    with pytest.raises(TypeError, match=f"^{re.escape(message)}$"):
        sn.Tensor([1.0]).astype(dtype)
