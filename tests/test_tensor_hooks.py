"""Tensor.register_hook: see, or replace, a tensor's gradient when it is complete."""

import numpy as np
import pytest

import scratchnet as sn
import scratchnet.functional as F


def _leaf(values):
    return sn.Tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


def test_a_hook_sees_the_complete_gradient_of_an_intermediate_once():
    x = _leaf([1.0, 2.0, 3.0])
    h = x * 2.0
    seen = []
    h.register_hook(lambda g: seen.append(g.numpy().copy()))
    (h * h + h).sum().backward()  # h is used twice: the hook sees the sum, 2h + 1
    assert len(seen) == 1
    np.testing.assert_allclose(seen[0], 2 * h.numpy() + 1)
    np.testing.assert_allclose(x.grad.numpy(), 2.0 * (2 * h.numpy() + 1))


def test_a_hook_that_returns_a_tensor_replaces_the_gradient_from_there_on():
    x = _leaf([1.0, -2.0, 3.0])
    h = x * 3.0
    h.register_hook(lambda g: F.clip(g, -0.5, 0.5))
    (h * h).sum().backward()  # dL/dh = 2h = (6, -12, 18), clipped to (0.5, -0.5, 0.5)
    np.testing.assert_allclose(x.grad.numpy(), 3.0 * np.array([0.5, -0.5, 0.5]))


def test_a_hook_on_a_leaf_changes_what_reaches_its_grad():
    w = _leaf([1.0, 2.0])
    w.register_hook(lambda g: g * 10.0)
    (w * w).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), 10.0 * 2 * w.numpy())


def test_removing_the_handle_stops_the_hook():
    x = _leaf([1.0, 2.0])
    calls = []
    handle = x.register_hook(lambda g: calls.append(1))
    (x * 2.0).sum().backward()
    handle.remove()
    handle.remove()  # a second remove does nothing
    (x * 2.0).sum().backward()
    assert calls == [1]


def test_hooks_run_in_grad_and_their_replacement_is_differentiable():
    x = _leaf([0.5, -1.0])
    h = x * x
    handle = h.register_hook(lambda g: g * h)  # replace dL/dh by dL/dh · h
    (gx,) = sn.grad(h.sum(), x, create_graph=True)  # 1 · h · 2x = 2x³
    np.testing.assert_allclose(gx.numpy(), 2 * x.numpy() ** 3)
    handle.remove()  # else it would also act on h's gradient in the next pass
    (ggx,) = sn.grad(gx.sum(), x)
    np.testing.assert_allclose(ggx.numpy(), 6 * x.numpy() ** 2)


def test_register_hook_refuses_what_cannot_work():
    with pytest.raises(RuntimeError, match="does not require grad"):
        sn.Tensor(np.ones(2)).register_hook(lambda g: None)
    with pytest.raises(TypeError, match="expected a function of the gradient, got int"):
        _leaf([1.0]).register_hook(3)
    x = _leaf([1.0, 2.0])
    y = x * 2.0
    y.register_hook(lambda g: g.sum())
    with pytest.raises(TypeError, match=r"a hook must return None or a Tensor of the "
                                        r"gradient's shape \(2,\), got a Tensor of shape "
                                        r"\(\)"):
        y.sum().backward()
    z = x * 3.0
    z.register_hook(lambda g: g.numpy())
    with pytest.raises(TypeError, match=r"shape \(2,\), got ndarray"):
        z.sum().backward()


def test_a_replacement_of_another_dtype_is_cast_to_the_gradients():
    w = sn.Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    w.register_hook(lambda g: g.astype(np.float64) * 2.0)
    (w * 1.5).sum().backward()
    assert w.grad.dtype == np.float32
    np.testing.assert_allclose(w.grad.numpy(), 3.0)
