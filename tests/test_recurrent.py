"""Recurrent layers: the equations of DESIGN.md, PyTorch parity, BPTT, second order, errors."""

from __future__ import annotations

import numpy as np
import pytest

import scratchnet as sn
import scratchnet.functional as F
from scratchnet import nn

KINDS = ["RNN", "LSTM", "GRU"]
WEIGHTS = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]


@pytest.fixture
def float64():
    sn.set_default_dtype(np.float64)  # conftest restores float32 afterwards


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def reference_step(kind: str, cell: nn.Module, x: np.ndarray, state):
    """One step written straight from DESIGN.md's equations, in NumPy."""
    w_ih, w_hh, b_ih, b_hh = (getattr(cell, w).numpy() for w in WEIGHTS)
    if kind == "RNN":
        return np.tanh(x @ w_ih + b_ih + state @ w_hh + b_hh)
    if kind == "LSTM":
        h, c = state
        i, f, g, o = np.split(x @ w_ih + b_ih + h @ w_hh + b_hh, 4, axis=1)
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        return _sigmoid(o) * np.tanh(c), c
    x_r, x_z, x_n = np.split(x @ w_ih + b_ih, 3, axis=1)
    h_r, h_z, h_n = np.split(state @ w_hh + b_hh, 3, axis=1)
    r, z = _sigmoid(x_r + h_r), _sigmoid(x_z + h_z)
    n = np.tanh(x_n + r * h_n)
    return (1 - z) * n + z * state


def reference_run(kind: str, layer: nn.Module, x: np.ndarray, state):
    """The stack, layer by layer and step by step, with :func:`reference_step`."""
    finals = []
    for index, cell in enumerate(layer.cells):
        s = tuple(part[index] for part in state) if kind == "LSTM" else state[index]
        outputs = []
        for t in range(x.shape[1]):
            s = reference_step(kind, cell, x[:, t], s)
            outputs.append(s[0] if kind == "LSTM" else s)
        x = np.stack(outputs, axis=1)
        finals.append(s)
    if kind == "LSTM":
        return x, tuple(np.stack([f[k] for f in finals]) for k in range(2))
    return x, np.stack(finals)


def _state(kind, rng, shape):
    if kind == "LSTM":
        return rng.normal(size=shape), rng.normal(size=shape)
    return rng.normal(size=shape)


def _as_tensors(state):
    return tuple(sn.Tensor(s) for s in state) if isinstance(state, tuple) else sn.Tensor(state)


def _flat(state):
    return list(state) if isinstance(state, tuple) else [state]


# --------------------------------------------------------------------------------------
# The equations
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("kind", KINDS)
def test_a_stack_computes_the_design_equations(float64, kind, num_layers):
    rng = np.random.default_rng(1)
    layer = getattr(nn, kind)(4, 3, num_layers=num_layers, rng=0)
    x = rng.normal(size=(2, 5, 4))
    state = _state(kind, rng, (num_layers, 2, 3))
    outputs, final = layer(x, _as_tensors(state))
    expected_outputs, expected_final = reference_run(kind, layer, x, state)
    np.testing.assert_allclose(outputs.numpy(), expected_outputs, rtol=1e-12, atol=1e-12)
    for ours, theirs in zip(_flat(final), _flat(expected_final)):
        np.testing.assert_allclose(ours.numpy(), theirs, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_no_state_means_zeros_and_a_cell_is_one_step(float64, kind):
    rng = np.random.default_rng(2)
    layer = getattr(nn, kind)(3, 4, rng=0)
    x = rng.normal(size=(2, 1, 3))
    zeros = _state(kind, np.random.default_rng(0), (1, 2, 4))
    zeros = tuple(np.zeros_like(z) for z in zeros) if kind == "LSTM" else np.zeros_like(zeros)
    _, from_none = layer(x)
    _, from_zeros = layer(x, _as_tensors(zeros))
    one_step = layer.cells[0](x[:, 0])
    for a, b, c in zip(_flat(from_none), _flat(from_zeros), _flat(one_step)):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
        # one (N, F) product instead of an (N, T, F) one: equal up to rounding
        np.testing.assert_allclose(a.numpy()[0], c.numpy(), rtol=1e-14, atol=1e-15)


def test_rnn_relu_and_the_parameter_layout():
    layer = nn.LSTM(5, 3, num_layers=2, rng=0)
    shapes = {name: tuple(p.shape) for name, p in layer.named_parameters()}
    assert shapes == {
        "cells.0.weight_ih": (5, 12), "cells.0.weight_hh": (3, 12),
        "cells.0.bias_ih": (12,), "cells.0.bias_hh": (12,),
        "cells.1.weight_ih": (3, 12), "cells.1.weight_hh": (3, 12),
        "cells.1.bias_ih": (12,), "cells.1.bias_hh": (12,)}
    assert nn.GRU(2, 4, rng=0).cells[0].weight_hh.shape == (4, 12)
    relu = nn.RNN(2, 3, nonlinearity="relu", rng=0)
    outputs, _ = relu(np.random.default_rng(0).normal(size=(4, 6, 2)))
    assert outputs.numpy().min() == 0.0 and outputs.numpy().max() > 0.0
    assert "num_layers=2" in repr(layer)


def test_the_same_seed_gives_the_same_weights_and_pytorch_init_bounds():
    a, b = nn.GRU(3, 16, rng=5), nn.GRU(3, 16, rng=5)
    for (_, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
    values = np.concatenate([p.numpy().ravel() for p in a.parameters()])
    assert np.abs(values).max() <= 1 / 4 and np.abs(values).max() > 0.2  # U(-1/sqrt(H), ..)


# --------------------------------------------------------------------------------------
# Backpropagation through time is the engine on the unrolled graph
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_bptt_gradchecks_with_an_initial_state(float64, kind):
    rng = np.random.default_rng(3)
    layer = getattr(nn, kind)(2, 3, num_layers=2, rng=0)
    names = [name for name, _ in layer.named_parameters()]
    x = rng.normal(size=(2, 4, 2))
    state = _flat(_state(kind, rng, (2, 2, 3)))

    def run(x, *tensors):
        params, states = tensors[:len(names)], tensors[len(names):]
        _swap(layer, names, params)
        outputs, final = layer(x, tuple(states) if kind == "LSTM" else states[0])
        return (outputs, *_flat(final))

    original = [p for p in layer.parameters()]
    try:
        assert sn.gradcheck(run, [x, *[p.numpy() for p in original], *state])
    finally:
        _swap(layer, names, original)


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
def test_every_cell_has_second_derivatives(float64, kind):
    rng = np.random.default_rng(4)
    cell = getattr(nn, kind)(2, 2, rng=0)
    names = [name for name, _ in cell.named_parameters()]
    x = rng.normal(size=(3, 2))
    states = [rng.normal(size=(3, 2)) for _ in range(2 if kind == "LSTMCell" else 1)]

    def step(x, *tensors):
        params, state = tensors[:len(names)], tensors[len(names):]
        _swap(cell, names, params)
        return tuple(_flat(cell(x, tuple(state) if kind == "LSTMCell" else state[0])))

    original = cell.parameters()
    try:
        assert sn.gradgradcheck(step, [x, *[p.numpy() for p in original], *states])
    finally:
        _swap(cell, names, original)


def _swap(module, names, tensors):
    for name, tensor in zip(names, tensors):
        *path, attr = name.split(".")
        owner = module
        for part in path:
            owner = owner[int(part)] if part.isdigit() else getattr(owner, part)
        object.__setattr__(owner, attr, tensor)


def test_the_unrolled_graph_grows_linearly_with_the_sequence():
    layer = nn.RNN(2, 3, rng=0)
    counts = []
    for steps in (5, 10, 20):
        x = sn.Tensor(np.ones((1, steps, 2)), requires_grad=True)
        outputs, _ = layer(x)
        counts.append(len(sn.autograd.iter_functions(outputs.sum())))
    per_step = counts[1] - counts[0]
    assert per_step > 0 and counts[2] - counts[1] == 2 * per_step


@pytest.mark.parametrize("kind", KINDS)
def test_truncated_bptt_carries_the_state_and_cuts_the_graph(kind):
    rng = np.random.default_rng(5)
    layer = getattr(nn, kind)(3, 4, rng=0)
    x = rng.normal(size=(2, 8, 3)).astype(np.float32)
    whole, _ = layer(x)
    state, chunks, inputs = None, [], []
    for start in (0, 4):
        chunk = sn.Tensor(x[:, start:start + 4], requires_grad=True)
        outputs, state = layer(chunk, nn.detach_state(state))
        chunks.append(outputs.numpy())
        inputs.append(chunk)
        outputs.sum().backward()
        if start == 0:
            first_gradient = chunk.grad.numpy().copy()
    np.testing.assert_allclose(np.concatenate(chunks, axis=1), whole.numpy(), rtol=1e-5,
                               atol=1e-6)
    # The second chunk's backward stopped at the detached state: the first chunk's input
    # gradient is what its own backward left.
    np.testing.assert_array_equal(inputs[0].grad.numpy(), first_gradient)
    assert nn.detach_state(None) is None


# --------------------------------------------------------------------------------------
# Embedding
# --------------------------------------------------------------------------------------
def test_embedding_looks_up_rows_and_adds_the_gradients_of_repeats():
    table = nn.Embedding(4, 2, rng=0)
    ids = np.array([[1, 3, 1], [0, 1, 2]])
    out = table(ids)
    assert out.shape == (2, 3, 2)
    np.testing.assert_array_equal(out.numpy(), table.weight.numpy()[ids])
    upstream = np.arange(12, dtype=np.float32).reshape(2, 3, 2)
    out.backward(upstream)
    expected = np.zeros((4, 2), dtype=np.float32)
    np.add.at(expected, ids, upstream)
    np.testing.assert_array_equal(table.weight.grad.numpy(), expected)
    np.testing.assert_array_equal(table.weight.grad.numpy()[1], upstream[0, 0] + upstream[0, 2]
                                  + upstream[1, 1])
    assert tuple(table(sn.Tensor(np.array([2]))).shape) == (1, 2)


def test_embedding_refuses_floats_and_ids_out_of_range():
    table = nn.Embedding(4, 2, rng=0)
    with pytest.raises(TypeError, match=r"Embedding: expected integer ids, got .*float64"):
        table(np.array([0.0, 1.0]))
    with pytest.raises(IndexError, match=r"Embedding: id 4 is out of range for 4"):
        table(np.array([0, 4]))
    with pytest.raises(IndexError, match=r"id -1 is out of range"):
        table(np.array([-1]))


# --------------------------------------------------------------------------------------
# Clear errors
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("call, error, message", [
    (lambda: nn.LSTM(3, 4)(np.zeros((2, 3))), ValueError,
     r"LSTM: expected a batch-first sequence of shape \(N, T, 3\), got a tensor of rank 2"),
    (lambda: nn.GRU(3, 4)(np.zeros((2, 5, 2))), ValueError,
     r"GRU: expected 3 features per step \(input_size\), got 2"),
    (lambda: nn.RNN(3, 4)(np.zeros((2, 0, 3))), ValueError, r"RNN: the sequence is empty"),
    (lambda: nn.RNN(3, 4, num_layers=2)(np.zeros((2, 5, 3)), sn.Tensor(np.zeros((1, 2, 4)))),
     ValueError, r"RNN: expected an initial state of shape \(num_layers, N, hidden_size\) = "
                 r"\(2, 2, 4\), got shape \(1, 2, 4\)"),
    (lambda: nn.LSTM(3, 4)(np.zeros((2, 5, 3)), sn.Tensor(np.zeros((1, 2, 4)))), ValueError,
     r"LSTM: the initial state must be a tuple \(h, c\)"),
    (lambda: nn.GRU(3, 4)(np.zeros((2, 5, 3)), (np.zeros((1, 2, 4)),) * 2), ValueError,
     r"GRU: the initial state must be one tensor h"),
    (lambda: nn.LSTMCell(3, 4)(np.zeros((2, 5, 3))), ValueError,
     r"LSTMCell: expected an input of shape \(N, 3\), got \(2, 5, 3\); for a whole sequence "
     r"\(N, T, F\) use LSTM"),
    (lambda: nn.GRUCell(3, 4)(np.zeros((2, 3)), sn.Tensor(np.zeros((2, 5)))), ValueError,
     r"GRUCell: expected a state of shape \(N, hidden_size\) = \(2, 4\), got shape \(2, 5\)"),
    (lambda: nn.RNNCell(3, 4, nonlinearity="sigmoid"), ValueError,
     r"RNNCell: nonlinearity must be 'tanh' or 'relu', got 'sigmoid'"),
    (lambda: nn.LSTM(3, 4, num_layers=0), ValueError,
     r"LSTM: num_layers must be a positive integer, got 0"),
    (lambda: nn.Embedding(0, 3), ValueError, r"Embedding: num_embeddings must be a positive"),
    (lambda: F.split(sn.Tensor(np.zeros((2, 6))), 4), ValueError,
     r"split: cannot cut axis 1 of length 6 \(shape \(2, 6\)\) into 4 equal pieces"),
    (lambda: F.unstack(sn.Tensor(np.zeros((2, 6))), axis=2), ValueError,
     r"unstack: axis 2 is out of range for a tensor of shape \(2, 6\)"),
])
def test_bad_input_is_named(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_split_and_unstack_invert_concatenate_and_stack():
    x = sn.Tensor(np.arange(24.0).reshape(2, 3, 4))
    parts = F.split(x, 2)
    np.testing.assert_array_equal(F.concatenate(parts, axis=-1).numpy(), x.numpy())
    assert [p.shape for p in parts] == [(2, 3, 2)] * 2
    steps = F.unstack(x, axis=1)
    assert len(steps) == 3 and steps[1].shape == (2, 4)
    np.testing.assert_array_equal(F.stack(steps, axis=1).numpy(), x.numpy())
    assert F.split(x, 1)[0] is x
    assert F.unstack(sn.Tensor(np.zeros((2, 1, 3))), axis=1)[0].shape == (2, 3)


# --------------------------------------------------------------------------------------
# PyTorch parity (float64, the same weights): outputs, final states and every gradient
# --------------------------------------------------------------------------------------
def _torch_twin(torch, kind, layer):
    twin = getattr(torch.nn, kind)(layer.input_size, layer.hidden_size,
                                   num_layers=layer.num_layers, batch_first=True,
                                   **({"nonlinearity": layer.cells[0].nonlinearity}
                                      if kind == "RNN" else {})).double()
    with torch.no_grad():
        for index, cell in enumerate(layer.cells):
            for name in WEIGHTS:
                value = getattr(cell, name).numpy()
                getattr(twin, f"{name}_l{index}").copy_(torch.tensor(value.T.copy()
                                                                     if value.ndim == 2
                                                                     else value))
    return twin


@pytest.mark.parametrize("with_state", [False, True], ids=["zero-state", "initial-state"])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("kind, options", [("RNN", {}), ("RNN", {"nonlinearity": "relu"}),
                                           ("LSTM", {}), ("GRU", {})],
                         ids=["rnn-tanh", "rnn-relu", "lstm", "gru"])
def test_pytorch_parity(float64, kind, options, num_layers, with_state):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    layer = getattr(nn, kind)(4, 5, num_layers=num_layers, rng=1, **options)
    twin = _torch_twin(torch, kind, layer)
    x = rng.normal(size=(3, 6, 4))
    state = _state(kind, rng, (num_layers, 3, 5)) if with_state else None
    ours_x = sn.Tensor(x, requires_grad=True)
    ours_state = None if state is None else _as_tensors(state)
    if ours_state is not None:
        for s in _flat(ours_state):
            s.requires_grad = True
    theirs_x = torch.tensor(x, requires_grad=True)
    theirs_state = None if state is None else (
        tuple(torch.tensor(s, requires_grad=True) for s in state) if kind == "LSTM"
        else torch.tensor(state, requires_grad=True))
    outputs, final = layer(ours_x, ours_state)
    t_outputs, t_final = twin(theirs_x, theirs_state)
    # A random upstream gradient on the outputs and on every final state.
    upstream = [rng.normal(size=outputs.shape)] + [rng.normal(size=f.shape)
                                                   for f in _flat(final)]
    total = sum((o * sn.Tensor(u)).sum() for o, u in zip([outputs, *_flat(final)], upstream))
    total.backward()
    t_total = sum((o * torch.tensor(u)).sum()
                  for o, u in zip([t_outputs, *_flat(t_final)], upstream))
    t_total.backward()
    close = dict(rtol=0, atol=1e-10)
    np.testing.assert_allclose(outputs.numpy(), t_outputs.detach().numpy(), **close)
    for ours, theirs in zip(_flat(final), _flat(t_final)):
        np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), **close)
    np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(), **close)
    if state is not None:
        for ours, theirs in zip(_flat(ours_state), _flat(theirs_state)):
            np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), **close)
    for index, cell in enumerate(layer.cells):
        for name in WEIGHTS:
            theirs = getattr(twin, f"{name}_l{index}").grad.numpy()
            np.testing.assert_allclose(getattr(cell, name).grad.numpy(),
                                       theirs.T if theirs.ndim == 2 else theirs, **close)


# --------------------------------------------------------------------------------------
# The fused steps equal the composed equations
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_the_fused_step_equals_the_composed_one_values_and_gradients(float64, kind):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(3, 6, 4))
    state = _state(kind, rng, (2, 3, 5))
    results = []
    for fused in (True, False):
        layer = getattr(nn, kind)(4, 5, num_layers=2, rng=1)
        for cell in layer.cells:
            cell.fused = fused
        inputs = sn.Tensor(x, requires_grad=True)
        states = [sn.Tensor(s, requires_grad=True) for s in _flat(state)]
        outputs, final = layer(inputs, tuple(states) if kind == "LSTM" else states[0])
        upstream = np.random.default_rng(8)
        total = (outputs * sn.Tensor(upstream.normal(size=outputs.shape))).sum()
        for f in _flat(final):
            total = total + (f * sn.Tensor(upstream.normal(size=f.shape))).sum()
        total.backward()
        results.append([outputs.numpy(), *[f.numpy() for f in _flat(final)],
                        inputs.grad.numpy(), *[s.grad.numpy() for s in states],
                        *[p.grad.numpy() for p in layer.parameters()]])
    fused_graph = {type(f).__name__ for f in sn.autograd.iter_functions(total)}
    assert f"{kind}CellFused" not in fused_graph  # the last run was the composed one
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("kind", ["LSTMCell", "GRUCell"])
def test_the_fused_step_is_one_node_and_its_second_derivatives_match(float64, kind):
    cell = getattr(nn, kind)(2, 3, rng=0)
    x = sn.Tensor(np.random.default_rng(9).normal(size=(2, 2)), requires_grad=True)
    out = _flat(cell(x))[0]
    assert sum(type(f).__name__ == f"{kind}Fused" for f in sn.autograd.iter_functions(out)) == 1
    hessian_vector = []
    for fused in (True, False):
        cell.fused = fused
        h = _flat(cell(x))[0]
        (g,) = sn.grad((h * h).sum(), x, create_graph=True)
        (hv,) = sn.grad((g * sn.Tensor(np.ones((2, 2)))).sum(), x)
        hessian_vector.append(hv.numpy())
    np.testing.assert_allclose(*hessian_vector, rtol=1e-12, atol=1e-13)
