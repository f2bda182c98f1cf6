"""The Tensor's array-like surface: properties, methods, comparisons, conversions."""

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


def test_tensors_stay_hashable_and_compare_by_identity():
    a, b = sn.Tensor(1.0), sn.Tensor(1.0)
    assert len({a, b}) == 2


def test_item_bool_and_repr():
    t = sn.Tensor(3.5)
    assert t.item() == 3.5 and bool(t)
    with pytest.raises(ValueError):
        bool(sn.Tensor([1.0, 2.0]))
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
