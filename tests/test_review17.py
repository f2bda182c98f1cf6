"""Bugs found reviewing the recurrent-network work (issue 17), each pinned by a test."""

from __future__ import annotations

import numpy as np
import pytest

import scratchnet as sn
import scratchnet.functional as F
from scratchnet import datasets, models, nn, optim
from scratchnet.autograd import _graph_nodes, _PendingGradients


@pytest.fixture
def float64():
    sn.set_default_dtype(np.float64)  # conftest restores float32 afterwards


def _second_order_graph_size(kind: str, steps: int) -> tuple[int, np.ndarray]:
    """Nodes in the graph of d(loss)/dW_hh taken with create_graph, and its HVP."""
    layer = getattr(nn, kind)(2, 3, rng=0)
    x = sn.Tensor(np.random.default_rng(1).normal(size=(2, steps, 2)))
    out, _ = layer(x)
    w = layer.cells[0].weight_hh
    (g,) = sn.grad((out * out).sum(), w, create_graph=True)
    (hv,) = sn.grad((g * sn.Tensor(np.ones(w.shape))).sum(), w)
    return len(_graph_nodes([g])), hv.numpy()


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_second_derivatives_through_the_fused_steps_grow_linearly_with_the_sequence(
        float64, kind):
    # Each fused step's double backward took the gradient at its inputs themselves, so
    # grad() also ran every earlier step (all reach the shared W_hh), each doing the same
    # again: the graph doubled with every step (38,932 nodes for an LSTM at T = 10).
    small, _ = _second_order_graph_size(kind, 4)
    large, hv_fused = _second_order_graph_size(kind, 8)
    assert large < 3 * small
    cell_type = getattr(nn, f"{kind}Cell")
    cell_type.fused = False
    try:
        _, hv_composed = _second_order_graph_size(kind, 8)
    finally:
        del cell_type.fused  # back to _Cell's default
    np.testing.assert_allclose(hv_fused, hv_composed, rtol=1e-10, atol=1e-12)


class _Node:
    generation = 1
    _output_specs = ()
    _hooks = None


def test_a_sum_replaced_after_a_dtype_change_is_no_longer_added_into():
    # A sum that is replaced (its dtype differs from the next contribution) is freed; its
    # id must leave the set of arrays safe to add into, or a later tensor given the same
    # id (someone else's gradient) would be written in place.
    pending = _PendingGradients()
    node, other = _Node(), _Node()
    pending.add(node, 0, sn.Tensor(np.ones(3, np.float32)))
    pending.add(node, 0, sn.Tensor(np.ones(3, np.float32)))  # a sum, made here
    stale = id(pending.grads[node][0])
    pending.add(node, 0, sn.Tensor(np.ones(3, np.float64)))  # replaces (and frees) it
    assert stale not in pending.sums
    # Whoever now holds that id is not added into.
    held = [sn.Tensor(np.zeros(3)) for _ in range(200)]
    reused = next((t for t in held if id(t) == stale), held[0])
    pending.add(other, 0, reused)
    pending.add(other, 0, sn.Tensor(np.ones(3)))
    np.testing.assert_array_equal(reused.numpy(), np.zeros(3))


def test_clip_grad_norm_takes_a_single_tensor_as_pytorch_does():
    # A Tensor iterates over its rows, whose .grad is None: clipping returned 0.0 and did
    # nothing.
    w = sn.Tensor(np.zeros((2, 2)), requires_grad=True)
    w.grad = sn.Tensor(np.full((2, 2), 3.0))
    total = optim.clip_grad_norm_(w, 1.0)
    assert total == pytest.approx(6.0)
    np.testing.assert_allclose(w.grad.numpy(), np.full((2, 2), 0.5))


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_a_stack_reads_a_nested_list_like_an_array(float64, kind):
    layer = getattr(nn, kind)(2, 3, rng=0)
    x = np.random.default_rng(0).normal(size=(1, 2, 2))
    out, _ = layer(x.tolist())
    np.testing.assert_allclose(out.numpy(), layer(x)[0].numpy())


def test_unstack_of_an_empty_axis_names_itself():
    with pytest.raises(ValueError, match="unstack"):
        F.unstack(sn.Tensor(np.zeros((2, 0, 3))), axis=1)


def test_a_list_state_is_described_as_a_list():
    layer = nn.LSTM(2, 3)
    h = np.zeros((1, 1, 3))
    with pytest.raises(ValueError, match="got a list"):
        layer(np.zeros((1, 2, 2)), [h, h])


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
def test_a_cell_reads_a_nested_list_like_an_array(float64, kind):
    cell = getattr(nn, kind)(2, 3, rng=0)
    x = np.random.default_rng(0).normal(size=(2, 2))
    got, want = cell(x.tolist()), cell(x)
    for a, b in zip(got if isinstance(got, tuple) else (got,),
                    want if isinstance(want, tuple) else (want,)):
        np.testing.assert_allclose(a.numpy(), b.numpy())


@pytest.mark.parametrize("chunk", [0, -3, 2.5])
def test_log_probs_names_a_bad_chunk(chunk):
    model = models.CharRNN(4, 3, rng=0)
    with pytest.raises((TypeError, ValueError), match=r"CharRNN\.log_probs: chunk"):
        model.log_probs(np.array([1, 2, 3]), chunk=chunk)


def test_scoring_text_instead_of_ids_says_to_encode_it():
    vocab = datasets.CharVocab("abc")
    model = models.CharRNN(len(vocab), 3, vocab=vocab, rng=0)
    with pytest.raises(TypeError, match="encode"):
        model.bits_per_char("abc")


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_a_hook_runs_once_when_the_fused_steps_record_their_backward(float64, kind):
    # The double backward's inner grad() used to stop at the step's inputs themselves,
    # W_hh's leaf node among them, and ran its hooks there: 32 calls for an LSTM of five
    # steps, and a hook that changes the gradient changed it each time.
    results = []
    for fused in (True, False):
        layer = getattr(nn, kind)(2, 3, rng=0)
        for cell in layer.cells:
            cell.fused = fused
        w = layer.cells[0].weight_hh
        calls = []
        w.register_hook(lambda g, calls=calls: calls.append(1) or g * 2.0)
        x = sn.Tensor(np.random.default_rng(0).normal(size=(2, 5, 2)), requires_grad=True)
        out, _ = layer(x)
        (out * out).sum().backward(create_graph=True)
        results.append((len(calls), w.grad.numpy(), x.grad.numpy()))
    (fused_calls, fused_w, fused_x), (composed_calls, composed_w, composed_x) = results
    assert fused_calls == composed_calls == 1
    np.testing.assert_allclose(fused_w, composed_w, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fused_x, composed_x, rtol=1e-10, atol=1e-12)


def test_one_tensor_given_as_both_h_and_c_gets_each_share_once_in_second_order(float64):
    rng = np.random.default_rng(3)
    projected = sn.Tensor(rng.normal(size=(2, 8)), requires_grad=True)
    s = sn.Tensor(rng.normal(size=(2, 2)), requires_grad=True)
    w = sn.Tensor(rng.normal(size=(2, 8)), requires_grad=True)
    grads = []
    for step in (F.lstm_cell_fused, F.lstm_cell):
        h, c = step(projected, s, s, w)
        (g,) = sn.grad((h * c).sum(), s, create_graph=True)
        grads.append(g.numpy())
    np.testing.assert_allclose(*grads, rtol=1e-12, atol=1e-13)


def test_minimize_clips_when_the_parameters_come_as_a_generator():
    # The finiteness check consumed the generator, so clipping saw no gradient at all.
    w = sn.Tensor(np.zeros(4), requires_grad=True)
    optimizer = optim.SGD([w], lr=1.0)
    loss = (w * sn.Tensor(np.full(4, 10.0))).sum()
    sn.train.minimize(loss, optimizer, (p for p in [w]), clip_grad_norm=1.0)
    np.testing.assert_allclose(w.numpy(), np.full(4, -0.5), rtol=1e-6)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_a_detached_state_stops_the_gradient_at_the_chunk_boundary(kind):
    # test_recurrent's truncated-BPTT test only checks that detach_state's result does
    # not require grad; this checks that the second chunk's backward stops there.
    layer = getattr(nn, kind)(3, 4, rng=0)
    rng = np.random.default_rng(0)
    first = sn.Tensor(rng.normal(size=(2, 4, 3)), requires_grad=True)
    second = sn.Tensor(rng.normal(size=(2, 4, 3)), requires_grad=True)
    _, state = layer(first)
    outputs, _ = layer(second, nn.detach_state(state))
    outputs.sum().backward()
    assert first.grad is None and second.grad is not None
    _, state = layer(first)
    outputs, _ = layer(second, state)  # not detached: BPTT reaches the first chunk
    outputs.sum().backward()
    assert first.grad is not None


def test_an_empty_list_prime_starts_like_no_prime():
    # np.asarray([]) is float64, which the id check refused (NGramModel.sample takes it).
    model = models.CharRNN(5, 3, rng=0)
    np.testing.assert_array_equal(model.sample(8, prime=[], rng=4), model.sample(8, rng=4))
