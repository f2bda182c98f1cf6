"""Instruments for training: Module.register_full_backward_hook and monitor.TrainingMonitor."""

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import nn


def _leaf(values):
    return sn.Tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


# ---- Module.register_full_backward_hook --------------------------------------------------
def test_a_backward_hook_sees_the_gradients_of_a_dense_layer():
    rng = np.random.default_rng(0)
    layer = nn.Dense(3, 2).to("numpy")
    w, b = layer.weight.numpy(), layer.bias.numpy()
    x = _leaf(rng.normal(size=(4, 3)))
    seen = []
    layer.register_full_backward_hook(lambda m, gi, go: seen.append((m, gi, go)))
    y = layer(x)
    (y * y).sum().backward()  # dL/dy = 2y, dL/dx = 2y Wᵀ
    assert len(seen) == 1
    module, grad_input, grad_output = seen[0]
    assert module is layer and len(grad_input) == 1 and len(grad_output) == 1
    expected_gy = 2 * (x.numpy() @ w + b)
    np.testing.assert_allclose(grad_output[0].numpy(), expected_gy)
    np.testing.assert_allclose(grad_input[0].numpy(), expected_gy @ w.T)


def test_grad_input_counts_only_the_path_through_the_module():
    x = _leaf([[1.0, -2.0]])
    double = nn.Sequential(nn.Identity())
    seen = []
    double.register_full_backward_hook(lambda m, gi, go: seen.append(gi[0].numpy().copy()))
    y = double(x) * 3.0 + x * 5.0  # a residual path around the module
    y.sum().backward()
    np.testing.assert_allclose(seen[0], [[3.0, 3.0]])
    np.testing.assert_allclose(x.grad.numpy(), [[8.0, 8.0]])


def test_an_input_without_gradient_gives_none_and_the_hook_still_runs():
    layer = nn.Dense(2, 1)
    seen = []
    handle = layer.register_full_backward_hook(lambda m, gi, go: seen.append(gi))
    layer(np.ones((3, 2))).sum().backward()
    assert seen == [(None,)]
    handle.remove()
    layer(np.ones((3, 2))).sum().backward()
    assert len(seen) == 1
    with sn.no_grad():
        layer.register_full_backward_hook(lambda m, gi, go: seen.append(gi))
        layer(np.ones((3, 2)))  # no graph: nothing to watch, no error


def test_the_hook_runs_once_per_call_and_per_pass():
    layer = nn.Dense(2, 2)
    calls = []
    layer.register_full_backward_hook(lambda m, gi, go: calls.append(go[0].shape))
    x = _leaf(np.ones((5, 2)))
    loss = (layer(x).sum() + layer(layer(x)).sum())  # three calls
    loss.backward()
    assert len(calls) == 3
    sn.grad(loss, x)  # a second pass over the same graph runs them again
    assert len(calls) == 6


def test_register_full_backward_hook_refuses_what_cannot_work():
    layer = nn.Dense(2, 2)
    with pytest.raises(TypeError, match=r"Dense.register_full_backward_hook: expected a "
                                        r"callable hook\(module, grad_input, grad_output\), "
                                        r"got int"):
        layer.register_full_backward_hook(3)
    layer.register_full_backward_hook(lambda m, gi, go: go[0])
    with pytest.raises(TypeError, match="must return None"):
        layer(_leaf(np.ones((1, 2)))).sum().backward()
