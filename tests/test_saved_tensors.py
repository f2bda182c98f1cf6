"""What the graph keeps alive: each Function saves only what its backward reads.

docs/architecture.md, "The autodiff core": edges point at producer nodes, not at tensors,
so an intermediate array is freed as soon as no backward needs it.
"""

import copy
import gc
import pickle
import tracemalloc
import weakref

import numpy as np
import pytest

import scratchnet as sn
import scratchnet.functional as F
from scratchnet.autograd import AccumulateGrad, iter_functions


def _leaf(shape, seed=0):
    return sn.Tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)


def test_add_saves_nothing_and_says_so_when_asked():
    a, b = _leaf((3,)), _leaf((3,), seed=1)
    with pytest.raises(RuntimeError, match=r"Add\.backward reads saved_tensors, but its forward "
                                           r"saved nothing: call self\.save_for_backward"):
        (a + b).creator.saved_tensors  # noqa: B018 - the property is what is tested


def test_mul_saves_only_the_operand_each_gradient_reads():
    a, b = _leaf((3,)), _leaf((3,), seed=1)
    b_saved, a_saved = (a * b).creator.saved_tensors  # da = g·b, db = g·a
    assert b_saved is b and a_saved is a
    h = _leaf((3,)) * 2.0
    b_saved, a_saved = (h * 0.5).creator.saved_tensors  # only h wants a gradient
    assert a_saved is None and b_saved.item() == 0.5


def test_an_operand_used_through_a_detached_copy_is_not_differentiated():
    x = _leaf((3,))
    (g,) = sn.grad((x * x.detach()).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.numpy(), x.numpy())  # d/dx Σ x·c = c, with c = x's values
    assert not g.requires_grad  # c is a constant: the gradient has no graph behind it


def test_relu_saves_a_boolean_mask_not_its_input_or_output():
    h = _leaf((4, 5)) * 2.0
    y = F.relu(h)
    (saved,) = y.creator.saved_tensors
    assert saved.dtype == np.bool_ and not saved.requires_grad
    np.testing.assert_array_equal(saved.numpy(), h.numpy() > 0)


def test_a_saved_output_comes_back_as_a_node_of_the_graph():
    x = _leaf((3,))
    y = F.exp(x)
    (saved,) = y.creator.saved_tensors
    assert saved.creator is y.creator and saved.requires_grad
    # Differentiating through the saved output reaches x: d/dx Σ exp(x) = exp(x).
    (g,) = sn.grad(saved.sum(), x)
    np.testing.assert_allclose(g.numpy(), np.exp(x.numpy()))


def test_conv_saves_input_and_kernel_but_not_bias_or_output():
    x, w, b = _leaf((2, 3, 6, 6)), _leaf((4, 3, 3, 3), seed=1), _leaf((4,), seed=2)
    y = F.conv2d(x, w, b, padding=1)
    saved = y.creator.saved_tensors
    assert len(saved) == 2 and saved[0] is x and saved[1] is w


def test_an_intermediate_array_is_freed_when_no_backward_reads_it():
    x, w, b = _leaf((2, 3, 6, 6)), _leaf((4, 3, 3, 3), seed=1), _leaf((4,), seed=2)
    h = F.conv2d(x, w, b, padding=1)
    y = F.relu(h)  # keeps its output; the conv output h is read by no backward
    h_data = weakref.ref(h.data)
    expected = [t.numpy().copy() for t in sn.grad((y * y).sum(), [x, w, b])]
    del h
    gc.collect()
    assert h_data() is None
    # ... and backpropagation does not need it.
    got = sn.grad((y * y).sum(), [x, w, b])
    for e, g in zip(expected, got):
        np.testing.assert_allclose(g.numpy(), e)


def test_a_node_is_freed_by_reference_counting_alone():
    # A saved output is kept as an array, not as the output Tensor: no cycle
    # output -> creator -> output, so the graph goes when its last tensor does.
    gc.disable()
    try:
        x = _leaf((3,))
        y = F.sigmoid(F.exp(x))
        nodes = [weakref.ref(f) for f in iter_functions(y)]
        assert len(nodes) == 2
        del y
        assert all(ref() is None for ref in nodes)
    finally:
        gc.enable()


def test_a_leaf_used_twice_accumulates_through_one_node():
    x = _leaf((3,))
    y = x * x + x
    edges = [e for f in iter_functions(y) for e in f.edges if e is not None]
    leaf_nodes = {id(e[0]) for e in edges if isinstance(e[0], AccumulateGrad)}
    assert len(leaf_nodes) == 1
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy() + 1)


def test_the_graph_does_not_keep_alive_a_leaf_that_no_backward_reads():
    x = _leaf((3,))
    y = x + 1.0  # Add saves nothing; the leaf's node refers to it weakly
    x_ref = weakref.ref(x)
    del x
    gc.collect()
    assert x_ref() is None
    y.sum().backward()  # the gradient has nowhere to go, and that is not an error


class _Exploding(sn.Function):
    """Identity whose backward must never run."""

    def forward(self, x):
        return x.copy()

    def backward(self, gy):
        raise AssertionError("grad() ran a node that leads to none of its inputs")


def test_grad_runs_only_the_nodes_that_lead_to_its_inputs():
    x, w = _leaf((3,)), _leaf((3,), seed=1)
    loss = (x * 2.0).sum() + _Exploding()(w).sum()
    (gx,) = sn.grad(loss, x)
    np.testing.assert_allclose(gx.numpy(), 2.0)
    with pytest.raises(AssertionError, match="leads to none"):
        sn.grad(loss, w)


def test_grad_of_an_intermediate_stops_at_it():
    x = _leaf((3,))
    h = _Exploding()(x)
    y = (h * h).sum()
    (gh,) = sn.grad(y, h)  # the node that made h is not run
    np.testing.assert_allclose(gh.numpy(), 2 * h.numpy())


def test_save_for_backward_outside_a_graph_keeps_nothing():
    x = sn.Tensor(np.ones(3))  # requires no grad: no node is recorded
    f = F.math.Mul()
    f(x, x)
    assert f._saved == () and f._to_save == ()


@pytest.mark.parametrize("duplicate", [copy.copy, copy.deepcopy,
                                       lambda t: pickle.loads(pickle.dumps(t))],
                         ids=["copy", "deepcopy", "pickle"])
def test_a_copied_leaf_gets_its_own_gradients(duplicate):
    w = _leaf((3,))
    (w * 2.0).sum().backward()  # w now has a leaf node
    w.grad = None
    clone = duplicate(w)
    (clone * 5.0).sum().backward()
    np.testing.assert_allclose(clone.grad.numpy(), 5.0)
    assert w.grad is None


def test_a_leaf_frozen_after_the_forward_pass_gets_no_gradient():
    x, frozen = _leaf((3,)), _leaf((3,), seed=1)
    y = (x * frozen).sum()
    frozen.requires_grad_(False)
    y.backward()
    assert frozen.grad is None and x.grad is not None


def test_grad_keeps_only_the_gradients_it_was_asked_for():
    x = sn.Tensor(np.ones(250_000), requires_grad=True)  # 2 MB
    h = x
    for _ in range(20):
        h = h * 1.0001  # saves only the constant: the chain's forward keeps no 2 MB array
    loss = h.sum()
    tracemalloc.start()
    try:
        (g,) = sn.grad(loss, x)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Each gradient of the chain is dropped once the next one is made: a few arrays at a
    # time, not one per op.
    assert peak < 4 * x.data.nbytes, f"peak {peak / 2**20:.1f} MiB"
    np.testing.assert_allclose(g.numpy(), 1.0001 ** 20)
