"""What ``Module.__call__`` adds to ``forward``: arrays as inputs, and forward hooks.

``test_every_layer_has_an_array_input_case`` enumerates ``scratchnet.nn``: a new layer
cannot land without a case showing that it takes a NumPy array as it takes a Tensor.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import numpy as np
import pytest
from test_nn import FlatOutputs  # tests/ is on sys.path (pytest's default import mode)

import scratchnet as sn
from scratchnet import nn

# ---- arrays as inputs ---------------------------------------------------------------------
# One case per layer class of scratchnet.nn: how to build it (every random choice seeded,
# so two builds are identical) and the shape of an input it takes.
LAYER_CASES: dict[str, tuple[Callable[[], nn.Module], tuple[int, ...]]] = {
    "AvgPool2D": (lambda: nn.AvgPool2D(2), (2, 3, 4, 4)),
    "BatchNorm1D": (lambda: nn.BatchNorm1D(3), (4, 3)),
    "BatchNorm2D": (lambda: nn.BatchNorm2D(3), (2, 3, 4, 4)),
    "Conv2D": (lambda: nn.Conv2D(3, 2, 3, padding=1, activation="relu", rng=0), (2, 3, 5, 5)),
    "ConvTranspose2D": (lambda: nn.ConvTranspose2D(3, 2, 3, stride=2, rng=0), (2, 3, 3, 3)),
    "Cropping2D": (lambda: nn.Cropping2D(1), (2, 3, 5, 5)),
    "Dense": (lambda: nn.Dense(3, 2, activation="tanh", rng=0), (4, 3)),
    "Dropout": (lambda: nn.Dropout(0.5, rng=0), (4, 3)),
    "Flatten": (lambda: nn.Flatten(), (2, 3, 2)),
    "GaussianNoise": (lambda: nn.GaussianNoise(0.5, rng=0), (4, 3)),
    "Identity": (lambda: nn.Identity(), (4, 3)),
    "LeakyReLU": (lambda: nn.LeakyReLU(0.1), (4, 3)),
    "MaxPool2D": (lambda: nn.MaxPool2D(2), (2, 3, 4, 4)),
    "ReLU": (lambda: nn.ReLU(), (4, 3)),
    "Reshape": (lambda: nn.Reshape((3, 2)), (2, 6)),
    "Sequential": (lambda: nn.Sequential(nn.Dense(3, 4, rng=0), nn.BatchNorm1D(4),
                                         nn.Dropout(0.5, rng=1)), (4, 3)),
    "Sigmoid": (lambda: nn.Sigmoid(), (4, 3)),
    "Softplus": (lambda: nn.Softplus(), (4, 3)),
    "SpectralNorm": (lambda: nn.SpectralNorm(nn.Dense(3, 2, rng=0), rng=0), (4, 3)),
    "Tanh": (lambda: nn.Tanh(), (4, 3)),
    "ZeroPadding2D": (lambda: nn.ZeroPadding2D(1), (2, 3, 4, 4)),
}


class IdsFromInput(nn.Module):
    """Embedding takes integer ids: derived from the float input, as an array or a Tensor."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(5, 3, rng=0)

    def __call__(self, x):
        values = x.numpy() if isinstance(x, sn.Tensor) else x
        ids = (np.abs(values) * 10).astype(np.int64) % 5
        return self.embedding(sn.Tensor(ids) if isinstance(x, sn.Tensor) else ids)


RECURRENT_CASES = {
    "RNNCell": (lambda: FlatOutputs(nn.RNNCell(3, 4, rng=0)), (2, 3)),
    "LSTMCell": (lambda: FlatOutputs(nn.LSTMCell(3, 4, rng=0)), (2, 3)),
    "GRUCell": (lambda: FlatOutputs(nn.GRUCell(3, 4, rng=0)), (2, 3)),
    "RNN": (lambda: FlatOutputs(nn.RNN(3, 4, num_layers=2, rng=0)), (2, 5, 3)),
    "LSTM": (lambda: FlatOutputs(nn.LSTM(3, 4, rng=0)), (2, 5, 3)),
    "GRU": (lambda: FlatOutputs(nn.GRU(3, 4, rng=0)), (2, 5, 3)),
    "Embedding": (IdsFromInput, (2, 4)),
}
LAYER_CASES.update(RECURRENT_CASES)


def layer_classes() -> set[str]:
    """The names of every Module subclass that scratchnet.nn exports (not Module itself)."""
    return {name for name in nn.__all__
            if inspect.isclass(getattr(nn, name)) and issubclass(getattr(nn, name), nn.Module)
            and getattr(nn, name) is not nn.Module}


def test_every_layer_has_an_array_input_case():
    assert layer_classes() == set(LAYER_CASES), (
        "missing cases: " + ", ".join(sorted(layer_classes() - set(LAYER_CASES)))
        + "; cases without a layer: " + ", ".join(sorted(set(LAYER_CASES) - layer_classes())))


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("name", sorted(LAYER_CASES))
def test_a_layer_takes_an_array_as_it_takes_a_tensor(name, training):
    build, shape = LAYER_CASES[name]
    x = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    on_array, on_tensor = build().train(training), build().train(training)
    out_array = on_array(x)
    out_tensor = on_tensor(sn.Tensor(x))
    assert isinstance(out_array, sn.Tensor)
    np.testing.assert_array_equal(out_array.numpy(), out_tensor.numpy())
    # Training updates the same state from either input (BatchNorm's running statistics).
    state_array, state_tensor = on_array.state_dict(), on_tensor.state_dict()
    assert state_array.keys() == state_tensor.keys()
    for key in state_array:
        np.testing.assert_array_equal(state_array[key], state_tensor[key], err_msg=key)


def test_an_array_input_is_wrapped_without_a_copy_and_other_arguments_pass_as_given():
    seen = []

    class Spy(nn.Module):
        def forward(self, x, scale, label=None):
            seen.append((x, scale, label))
            return x * scale

    x = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    labels = np.array([0, 1])
    Spy()(x, 2.0, label=labels)
    (wrapped, scale, label), = seen
    assert isinstance(wrapped, sn.Tensor) and np.shares_memory(wrapped.data, x)
    assert not wrapped.requires_grad
    assert scale == 2.0 and label is labels  # only positional arrays become Tensors


def test_a_layer_on_an_array_still_trains_its_parameters():
    layer = nn.BatchNorm1D(3)
    x = np.random.default_rng(1).normal(size=(5, 3)).astype(np.float32)
    (layer(x) * np.arange(3.0, dtype=np.float32)).sum().backward()
    assert layer.weight.grad is not None and layer.bias.grad is not None
    np.testing.assert_allclose(layer.bias.grad.numpy(), [0.0, 5.0, 10.0])


# ---- forward hooks --------------------------------------------------------------------------
def test_forward_hooks_run_after_forward_in_registration_order():
    layer = nn.Dense(3, 2, rng=0)
    calls = []
    layer.register_forward_hook(lambda m, inputs, out: calls.append(("first", m, inputs, out)))
    layer.register_forward_hook(lambda m, inputs, out: calls.append(("second", m, inputs, out)))
    x = np.ones((4, 3), dtype=np.float32)
    out = layer(x)
    assert [c[0] for c in calls] == ["first", "second"]
    for _, module, inputs, seen in calls:
        assert module is layer and seen is out
        (given,) = inputs
        assert isinstance(given, sn.Tensor)  # the array, as forward received it
        np.testing.assert_array_equal(given.numpy(), x)


def test_a_hook_that_returns_a_value_replaces_the_output_for_the_hooks_after_it():
    layer = nn.ReLU()
    seen = []
    layer.register_forward_hook(lambda m, inputs, out: None)  # None keeps the output
    layer.register_forward_hook(lambda m, inputs, out: out * 10.0)
    layer.register_forward_hook(lambda m, inputs, out: seen.append(out.numpy()))
    out = layer(sn.Tensor([-1.0, 2.0]))
    np.testing.assert_array_equal(out.numpy(), [0.0, 20.0])
    np.testing.assert_array_equal(seen[0], [0.0, 20.0])


def test_a_removed_hook_no_longer_runs_and_the_others_stay():
    layer = nn.Tanh()
    calls = []
    first = layer.register_forward_hook(lambda m, i, o: calls.append("first"))
    layer.register_forward_hook(lambda m, i, o: calls.append("second"))
    layer(sn.Tensor([0.5]))
    first.remove()
    first.remove()  # a second remove does nothing
    layer(sn.Tensor([0.5]))
    assert calls == ["first", "second", "second"]


def test_a_hook_may_remove_itself_while_the_hooks_run():
    layer = nn.Identity()
    calls = []

    def once(module, inputs, output):
        calls.append("once")
        handle.remove()

    handle = layer.register_forward_hook(once)
    layer.register_forward_hook(lambda m, i, o: calls.append("always"))
    layer(sn.Tensor([1.0]))
    layer(sn.Tensor([1.0]))
    assert calls == ["once", "always", "always"]


def test_hooks_are_per_module():
    a, b = nn.ReLU(), nn.ReLU()
    calls = []
    a.register_forward_hook(lambda m, i, o: calls.append(m))
    b(sn.Tensor([1.0]))
    a(sn.Tensor([1.0]))
    assert calls == [a]


def test_a_hooked_layer_inside_a_sequential_changes_what_the_next_layer_gets():
    first, second = nn.Dense(3, 2, rng=0), nn.Dense(2, 1, rng=1)
    model = nn.Sequential(first, second)
    x = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    expected = second(first(x) * 0.0).numpy()  # that is, the bias of the second layer
    inputs_seen = []
    first.register_forward_hook(lambda m, inputs, out: out * 0.0)
    second.register_forward_hook(lambda m, inputs, out: inputs_seen.append(inputs[0].numpy()))
    np.testing.assert_array_equal(model(x).numpy(), expected)
    np.testing.assert_array_equal(inputs_seen[0], np.zeros((4, 2), dtype=np.float32))


class ParameterHook(nn.Module):
    """A hook that is itself a Module holding a Parameter: stored hooks must stay unseen."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(np.ones(5))
        self.calls = 0

    def forward(self, module, inputs, output):
        self.calls += 1


def test_hooks_are_not_children_parameters_or_state():
    model = nn.Sequential(nn.Dense(3, 2, rng=0), nn.BatchNorm1D(2))
    before = (model.state_dict().keys(), [n for n, _ in model.named_parameters()],
              [n for n, _ in model.named_modules()], repr(model), model.num_parameters())
    hook = ParameterHook()
    for module in model.modules():
        module.register_forward_hook(hook)
    after = (model.state_dict().keys(), [n for n, _ in model.named_parameters()],
             [n for n, _ in model.named_modules()], repr(model), model.num_parameters())
    assert after == before
    model(np.ones((4, 3), dtype=np.float32))
    assert hook.calls == 4  # the Sequential, the Dense, its activation, the BatchNorm
    model.load_state_dict(model.state_dict())


def test_register_forward_hook_refuses_what_it_cannot_call():
    with pytest.raises(TypeError, match=r"ReLU.register_forward_hook: expected a callable "
                                        r"hook\(module, inputs, output\), got str"):
        nn.ReLU().register_forward_hook("print")


# ---- summary, written with hooks ------------------------------------------------------------
class Broken(nn.Module):
    """Runs its first layer, then fails: summary must still clean up."""

    def __init__(self):
        super().__init__()
        self.first = nn.Dense(3, 2, rng=0)
        self.second = nn.Dense(2, 2, rng=1)

    def forward(self, x):
        self.first(x)
        raise RuntimeError("broken on purpose")


def test_summary_removes_its_hooks_even_when_the_forward_pass_fails():
    model = Broken().train()
    mine = []
    model.first.register_forward_hook(lambda m, i, o: mine.append(o.shape))
    with pytest.raises(RuntimeError, match="broken on purpose"):
        model.summary((3,), print_fn=lambda _: None)
    assert mine == [(1, 2)]  # the user's hook ran during summary, and it is still there
    assert [len(m._forward_hooks) for m in model.modules()] == [0, 1, 0, 0, 0]
    assert all(m.training for m in model.modules())  # modes restored too
    model.first(np.ones((2, 3), dtype=np.float32))
    assert mine == [(1, 2), (2, 2)]


def test_summary_leaves_no_hook_behind():
    model = nn.Sequential(nn.Dense(4, 3, activation="relu"), nn.Dense(3, 2))
    model.summary((4,), print_fn=lambda _: None)
    assert all(not m._forward_hooks for m in model.modules())


class Twice(nn.Module):
    """One layer used twice: two rows, its parameters once in the total."""

    def __init__(self):
        super().__init__()
        self.shared = nn.Dense(3, 3, activation="relu", rng=0)

    def forward(self, x):
        return self.shared(self.shared(x))


def test_summary_gives_a_row_per_call_of_a_layer():
    table = Twice().summary((3,), print_fn=lambda _: None)
    kinds = [line.split()[0] for line in table.splitlines() if "_" in line.split()[0]]
    assert kinds == ["Dense_0", "Dense_1"]  # not the ReLU called inside each
    assert "Total params: 12" in table


def test_summary_counts_the_weight_of_a_spectrally_normalised_layer():
    model = nn.Sequential(nn.SpectralNorm(nn.Dense(4, 3, rng=0), rng=0), nn.ReLU())
    rows = [line.split() for line in model.summary((4,), print_fn=lambda _: None).splitlines()]
    assert ["Dense_0", "(None,", "3)", "15"] in rows  # the weight is lent as a Tensor then
    assert ["ReLU_1", "(None,", "3)", "0"] in rows


def test_sequential_names_a_layer_that_is_not_a_module():
    with pytest.raises(TypeError, match="Sequential: layer 1 has type ndarray, expected a "
                                        "Module instance"):
        nn.Sequential(nn.ReLU(), np.zeros(3))
