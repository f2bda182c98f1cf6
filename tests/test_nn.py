"""Layers and Module: gradients in train and eval mode, parameter bookkeeping, summary, init."""

from __future__ import annotations

import numpy as np
import pytest

import scratchnet as sn
import scratchnet.functional as F
from scratchnet import nn


def _owner(module: nn.Module, dotted: str) -> tuple[nn.Module, str]:
    *path, attr = dotted.split(".")
    for name in path:
        module = getattr(module, name)
    return module, attr


def layer_gradcheck(layer: nn.Module, x: np.ndarray, before_call=None, second_order=False):
    """gradcheck the layer w.r.t. its input and every parameter, in float64.

    gradcheck hands fresh float64 tensors to the function; they are swapped in for the
    layer's parameters during the forward pass, then the parameters are put back.
    """
    names = [name for name, _ in layer.named_parameters()]
    params = [p.numpy() for _, p in layer.named_parameters()]

    def fn(x, *ps):
        saved = []
        for name, p in zip(names, ps):
            owner, attr = _owner(layer, name)
            saved.append((owner, attr, getattr(owner, attr)))
            object.__setattr__(owner, attr, p)
        try:
            if before_call is not None:
                before_call()
            return layer(x)
        finally:
            for owner, attr, original in saved:
                object.__setattr__(owner, attr, original)

    check = sn.gradgradcheck if second_order else sn.gradcheck
    return check(fn, [x, *params])


@pytest.fixture
def float64():
    sn.set_default_dtype(np.float64)  # conftest restores float32 afterwards


RNG = np.random.default_rng(0)


@pytest.mark.parametrize("activation", [None, "relu", "leaky_relu", "sigmoid", "tanh", "softplus"])
def test_dense_gradcheck(float64, activation):
    layer = nn.Dense(4, 3, activation=activation, rng=1)
    x = RNG.normal(size=(5, 4))
    pre_activation = x @ layer.weight.numpy() + layer.bias.numpy()
    assert np.abs(pre_activation).min() > 1e-3  # finite differences stay off relu's kink
    assert layer_gradcheck(layer, x)


def test_dense_gradgradcheck(float64):
    assert layer_gradcheck(nn.Dense(3, 2, activation="tanh", rng=2), RNG.normal(size=(4, 3)),
                           second_order=True)


def test_dense_without_bias_has_one_parameter(float64):
    layer = nn.Dense(3, 2, bias=False, rng=0)
    assert [n for n, _ in layer.named_parameters()] == ["weight"]
    assert layer_gradcheck(layer, RNG.normal(size=(2, 3)))


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm1d_gradcheck_train_and_eval(float64, training):
    layer = nn.BatchNorm1D(3)
    layer.weight.data[:] = [0.5, 1.5, -2.0]
    layer.bias.data[:] = [0.1, -0.2, 0.3]
    layer.running_mean[:] = [0.2, -0.1, 0.4]
    layer.running_var[:] = [1.5, 0.7, 2.0]
    layer.train(training)
    assert layer_gradcheck(layer, RNG.normal(size=(6, 3)))


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm2d_gradcheck_train_and_eval(float64, training):
    layer = nn.BatchNorm2D(2)
    layer.weight.data[:] = [0.7, -1.3]
    layer.train(training)
    assert layer_gradcheck(layer, RNG.normal(size=(3, 2, 2, 2)))


def test_batchnorm_second_order_in_training(float64):
    assert layer_gradcheck(nn.BatchNorm1D(2), RNG.normal(size=(5, 2)), second_order=True)


def test_batchnorm_training_normalises_and_tracks_running_statistics():
    layer = nn.BatchNorm1D(3, momentum=0.1)
    x = RNG.normal(loc=[1.0, -2.0, 5.0], scale=[1.0, 3.0, 0.5], size=(64, 3)).astype(np.float32)
    y = layer(sn.Tensor(x)).numpy()
    np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(y.var(axis=0), 1.0, rtol=1e-3)
    np.testing.assert_allclose(layer.running_mean, 0.1 * x.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(layer.running_var, 0.9 + 0.1 * x.var(axis=0, ddof=1), rtol=1e-5)
    layer.eval()
    expected = (x - layer.running_mean) / np.sqrt(layer.running_var + layer.eps)
    np.testing.assert_allclose(layer(sn.Tensor(x)).numpy(), expected, rtol=1e-5, atol=1e-6)


def test_batchnorm_eval_does_not_move_running_statistics():
    layer = nn.BatchNorm1D(2).eval()
    layer(sn.Tensor(RNG.normal(size=(8, 2)).astype(np.float32)))
    np.testing.assert_array_equal(layer.running_mean, [0.0, 0.0])
    np.testing.assert_array_equal(layer.running_var, [1.0, 1.0])


@pytest.mark.parametrize("layer_type", [nn.Dropout, nn.GaussianNoise])
def test_noise_layers_gradcheck_with_a_fixed_draw_and_are_identity_in_eval(float64, layer_type):
    layer = layer_type(0.3)
    x = RNG.normal(size=(4, 5))

    def same_draw():
        layer.rng = np.random.default_rng(7)

    assert layer_gradcheck(layer, x, before_call=same_draw)
    layer.eval()
    np.testing.assert_array_equal(layer(sn.Tensor(x)).numpy(), x)


def test_dropout_in_training_zeroes_about_p_and_rescales():
    layer = nn.Dropout(0.25, rng=0)
    y = layer(sn.Tensor(np.ones((200, 100), np.float32))).numpy()
    assert abs((y == 0).mean() - 0.25) < 0.01
    np.testing.assert_allclose(np.unique(y), [0.0, 1 / 0.75], rtol=1e-6)


def test_gaussian_noise_has_the_requested_spread_and_is_seeded():
    x = sn.Tensor(np.zeros((300, 300), np.float32))
    a = nn.GaussianNoise(0.5, rng=3)(x).numpy()
    b = nn.GaussianNoise(0.5, rng=3)(x).numpy()
    np.testing.assert_array_equal(a, b)
    assert abs(a.std() - 0.5) < 0.01


def test_flatten_and_reshape_round_trip(float64):
    x = RNG.normal(size=(2, 3, 4))
    model = nn.Sequential(nn.Flatten(), nn.Reshape((4, 3)))
    assert model(sn.Tensor(x)).shape == (2, 4, 3)
    assert layer_gradcheck(model, x)
    with pytest.raises(ValueError, match=r"Reshape\(5,\)"):
        nn.Reshape((5,))(sn.Tensor(x))


@pytest.mark.parametrize("name, module", [
    ("relu", nn.ReLU), ("leaky_relu", nn.LeakyReLU), ("sigmoid", nn.Sigmoid),
    ("tanh", nn.Tanh), ("softplus", nn.Softplus), ("linear", nn.Identity), (None, nn.Identity),
])
def test_activation_names_map_to_layers(name, module):
    assert type(nn.get_activation(name)) is module


def test_unknown_activation_lists_the_choices():
    with pytest.raises(ValueError, match=r"unknown activation 'swish'.*relu"):
        nn.Dense(2, 2, activation="swish")


def test_dense_rejects_a_wrong_input_width():
    with pytest.raises(ValueError, match=r"Dense\(4 -> 3\).*\(N, 4\).*\(2, 5\)"):
        nn.Dense(4, 3)(sn.Tensor(np.zeros((2, 5), np.float32)))


def test_batchnorm_rejects_wrong_channels_and_single_examples():
    with pytest.raises(ValueError, match=r"BatchNorm1D\(3\).*got shape \(4, 2\)"):
        nn.BatchNorm1D(3)(sn.Tensor(np.zeros((4, 2), np.float32)))
    with pytest.raises(ValueError, match="more than one value per channel"):
        nn.BatchNorm1D(3)(sn.Tensor(np.zeros((1, 3), np.float32)))


# ---- Module bookkeeping ---------------------------------------------------------------------
class TwoTower(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Dense(6, 4, activation="relu"), nn.BatchNorm1D(4))
        self.scale = nn.Parameter(np.ones(1))
        self.decoder = nn.Dense(4, 6)

    def forward(self, x):
        return self.decoder(self.encoder(x) * self.scale)


def test_parameters_are_registered_by_assignment_in_order():
    model = TwoTower()
    names = [n for n, _ in model.named_parameters()]
    assert names == ["scale", "encoder.0.weight", "encoder.0.bias", "encoder.1.weight",
                     "encoder.1.bias", "decoder.weight", "decoder.bias"]
    assert model.num_parameters() == 1 + (6 * 4 + 4) + (4 + 4) + (4 * 6 + 6)
    assert [n for n, _ in model.named_buffers()] == ["encoder.1.running_mean",
                                                     "encoder.1.running_var"]


def test_a_shared_parameter_is_counted_once_and_survives_save_and_load(tmp_path):
    def tied():
        model = nn.Sequential(nn.Dense(3, 3), nn.Dense(3, 3))
        model[1].weight = model[0].weight
        return model

    model = tied()
    assert len(model.parameters()) == 3
    assert model.num_parameters() == 9 + 3 + 3
    assert list(model.state_dict()) == ["0.weight", "0.bias", "1.bias"]
    other = tied()
    sn.load(other, sn.save(model, tmp_path / "tied.npz"))
    np.testing.assert_array_equal(other[1].weight.numpy(), model[0].weight.numpy())
    assert other[1].weight is other[0].weight  # still tied after loading


def test_a_plain_list_of_layers_is_refused():
    class Stack(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = [nn.Dense(2, 2), nn.Dense(2, 2)]

    with pytest.raises(TypeError, match=r"Stack.layers: a list of layers .* nn.Sequential"):
        Stack()


@pytest.mark.parametrize("make, error, message", [
    (lambda: nn.Dense(3.0, 2), TypeError, r"Dense: in_features must be an integer, got float 3.0"),
    (lambda: nn.Dense(3, 0), ValueError, r"Dense: out_features must be a positive integer, got 0"),
    (lambda: nn.BatchNorm1D(0), ValueError, r"BatchNorm1D: num_features must be a positive"),
    (lambda: nn.BatchNorm2D(4, momentum=2.0), ValueError,
     r"BatchNorm2D: momentum must be a finite number in \[0, 1\], got 2.0"),
    (lambda: nn.BatchNorm1D(4, eps=0.0), ValueError,
     r"BatchNorm1D: eps must be a finite number > 0"),
    (lambda: nn.GaussianNoise(float("nan")), ValueError,
     r"GaussianNoise: stddev must be a finite number >= 0, got nan"),
    (lambda: nn.Dropout(1.0), ValueError, r"Dropout: p must be a finite number in \[0, 1\)"),
])
def test_bad_layer_settings_are_named(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_assigning_a_parameter_before_super_init_is_a_clear_error():
    class Forgetful(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(np.zeros(2))

    with pytest.raises(AttributeError, match=r"call super\(\).__init__\(\) before assigning 'w'"):
        Forgetful()


def test_train_eval_reach_every_submodule():
    model = TwoTower()
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_zero_grad_clears_every_gradient():
    model = TwoTower()
    model(sn.Tensor(RNG.normal(size=(5, 6)).astype(np.float32))).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_state_dict_is_a_copy_and_round_trips_in_place():
    sn.manual_seed(0)
    a = TwoTower()
    state = a.state_dict()
    assert set(state) == {n for n, _ in a.named_parameters()} | {n for n, _ in a.named_buffers()}
    state["decoder.weight"] += 1.0  # editing the copy leaves the model alone
    assert not np.allclose(a.decoder.weight.numpy(), state["decoder.weight"])
    b = TwoTower()
    weight_array = b.decoder.weight.data
    b.load_state_dict(state)
    assert b.decoder.weight.data is weight_array  # loaded in place: optimizers stay valid
    np.testing.assert_array_equal(b.decoder.weight.numpy(), state["decoder.weight"])


def test_load_state_dict_lists_every_problem_and_changes_nothing():
    model = TwoTower()
    before = model.state_dict()
    state = dict(before)
    del state["scale"]
    state["extra"] = np.zeros(1)
    state["decoder.bias"] = np.zeros(7)
    with pytest.raises(nn.StateDictError) as info:
        model.load_state_dict(state)
    message = str(info.value)
    assert "missing: scale" in message and "unexpected: extra" in message
    assert "shape of decoder.bias: expected (6,), got (7,)" in message
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_non_strict_loading_ignores_names_but_not_shapes():
    model = TwoTower()
    model.load_state_dict({"scale": np.array([3.0]), "unrelated": np.zeros(2)}, strict=False)
    assert model.scale.item() == 3.0
    with pytest.raises(nn.StateDictError, match="shape of scale"):
        model.load_state_dict({"scale": np.zeros(2)}, strict=False)


def test_to_moves_parameters_and_buffers_and_forgets_gradients(monkeypatch):
    model = TwoTower()
    model(sn.Tensor(RNG.normal(size=(5, 6)).astype(np.float32))).sum().backward()
    moved = []

    def fake_to_device(array, backend):  # records each array handed over, returns a copy
        moved.append(backend)
        return np.array(array, copy=True)

    monkeypatch.setattr(sn.nn.module, "to_device", fake_to_device)
    weight = model.decoder.weight.data
    assert model.to("cupy") is model
    assert moved == ["cupy"] * (len(model.parameters()) + 2)  # + BatchNorm's two buffers
    assert model.decoder.weight.data is not weight
    assert all(p.grad is None for p in model.parameters())


def test_to_an_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="unknown backend 'tpu'"):
        TwoTower().to("tpu")


def test_repr_shows_the_tree():
    text = repr(nn.Sequential(nn.Dense(4, 2, activation="relu"), nn.Dropout(0.1)))
    assert text.startswith("Sequential(\n  (0): Dense(4 -> 2")
    assert "(activation): ReLU()" in text and "(1): Dropout(p=0.1)" in text


# ---- summary -----------------------------------------------------------------------------------
def test_summary_lists_layers_with_exact_parameter_counts():
    model = nn.Sequential(nn.Flatten(), nn.Dense(784, 256, activation="relu"),
                          nn.BatchNorm1D(256), nn.Dropout(0.2), nn.Dense(256, 10))
    lines = []
    table = model.summary((1, 28, 28), print_fn=lines.append)
    assert lines == [table]
    rows = [line.split() for line in table.splitlines()]
    assert ["Flatten_0", "(None,", "784)", "0"] in rows
    assert ["Dense_1", "(None,", "256)", "200,960"] in rows
    assert ["BatchNorm1D_2", "(None,", "256)", "512"] in rows
    assert ["Dense_4", "(None,", "10)", "2,570"] in rows
    assert "Total params: 204,042" in table
    assert model.num_parameters() == 204_042


def test_summary_looks_through_containers_and_restores_modes():
    model = TwoTower()
    model.train()
    running = model.encoder[1].running_mean.copy()
    table = model.summary((6,), print_fn=lambda _: None)
    kinds = [line.split()[0] for line in table.splitlines() if "_" in line.split()[0]]
    assert kinds == ["Dense_0", "BatchNorm1D_1", "Dense_2"]
    assert "Total params: 67" in table
    assert all(m.training for m in model.modules())
    np.testing.assert_array_equal(model.encoder[1].running_mean, running)


# ---- initialisers -------------------------------------------------------------------------------
@pytest.mark.parametrize("name, variance", [
    ("glorot_uniform", 2 / (400 + 600)), ("glorot_normal", 2 / (400 + 600)),
    ("he_uniform", 2 / 400), ("he_normal", 2 / 400),
])
def test_initialisers_have_the_variance_their_paper_prescribes(name, variance):
    w = nn.Dense(400, 600, init=name, rng=0).weight.numpy()
    assert w.dtype == np.float32
    assert abs(w.mean()) < 0.01 * np.sqrt(variance) * 10
    assert abs(w.var() / variance - 1) < 0.02


def test_zeros_normal_and_custom_initialisers():
    assert not nn.Dense(5, 4, init="zeros").weight.numpy().any()
    w = nn.Dense(300, 300, init=nn.init.normal(0.5), rng=0).weight.numpy()
    assert abs(w.std() - 0.5) < 0.01
    custom = nn.Dense(2, 3, init=lambda shape, fan_in, fan_out, rng: np.full(shape, 7.0))
    np.testing.assert_array_equal(custom.weight.numpy(), np.full((2, 3), 7.0))
    with pytest.raises(ValueError, match="unknown initialiser 'lecun'"):
        nn.Dense(2, 2, init="lecun")


def test_same_seed_same_weights():
    a = nn.Dense(10, 5, rng=42).weight.numpy()
    b = nn.Dense(10, 5, rng=42).weight.numpy()
    sn.manual_seed(1)
    c = nn.Dense(10, 5).weight.numpy()
    sn.manual_seed(1)
    d = nn.Dense(10, 5).weight.numpy()
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(c, d)
    assert not np.array_equal(a, c)


class FlatOutputs(nn.Module):
    """A recurrent layer's outputs and final state joined into one Tensor, for the layer
    tables. It hands the input on exactly as given, array or Tensor, so that
    ``tests/test_module.py`` checks the layer's own handling of arrays."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def __call__(self, x):
        out = self.inner(x)
        parts = out if isinstance(out, tuple) else (out,)
        flat = [q for p in parts for q in (p if isinstance(p, tuple) else (p,))]
        return F.concatenate([p.reshape(-1) for p in flat])


class _EmbeddingTimesInput(nn.Module):
    """Embedding's ids are integers, so the checked input multiplies the looked-up rows."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(5, 3, rng=0)
        self.ids = np.array([[0, 4, 0, 2], [1, 1, 3, 0]])  # repeats: the scatter must add

    def forward(self, x):
        return self.embedding(self.ids) * x


LAYERS = {
    "Dense": (lambda: nn.Dense(4, 3, activation="tanh", rng=0), (5, 4)),
    "BatchNorm1D": (lambda: nn.BatchNorm1D(4), (5, 4)),
    "BatchNorm2D": (lambda: nn.BatchNorm2D(2), (3, 2, 2, 2)),
    "Dropout": (lambda: nn.Dropout(0.3), (5, 4)),
    "GaussianNoise": (lambda: nn.GaussianNoise(0.3), (5, 4)),
    "Flatten": (lambda: nn.Flatten(), (2, 3, 2)),
    "Reshape": (lambda: nn.Reshape((2, 3)), (2, 6)),
    "Identity": (lambda: nn.Identity(), (3, 2)),
    "ReLU": (lambda: nn.ReLU(), (3, 2)),
    "LeakyReLU": (lambda: nn.LeakyReLU(0.2), (3, 2)),
    "Sigmoid": (lambda: nn.Sigmoid(), (3, 2)),
    "Tanh": (lambda: nn.Tanh(), (3, 2)),
    "Softplus": (lambda: nn.Softplus(), (3, 2)),
    "Conv2D": (lambda: nn.Conv2D(2, 3, 3, stride=2, padding=1, activation="tanh", rng=0),
               (2, 2, 5, 5)),
    "ConvTranspose2D": (lambda: nn.ConvTranspose2D(2, 3, 3, stride=2, padding=1,
                                                   output_padding=1, rng=0), (2, 2, 3, 3)),
    "MaxPool2D": (lambda: nn.MaxPool2D(2), (2, 2, 4, 4)),
    "AvgPool2D": (lambda: nn.AvgPool2D(3, stride=2, padding=1), (2, 2, 5, 5)),
    "ZeroPadding2D": (lambda: nn.ZeroPadding2D(((1, 0), (2, 1))), (1, 2, 3, 3)),
    "Cropping2D": (lambda: nn.Cropping2D(((1, 0), (0, 2))), (1, 2, 4, 5)),
    "RNNCell": (lambda: FlatOutputs(nn.RNNCell(3, 4, nonlinearity="relu", rng=0)), (2, 3)),
    "LSTMCell": (lambda: FlatOutputs(nn.LSTMCell(3, 2, rng=0)), (2, 3)),
    "GRUCell": (lambda: FlatOutputs(nn.GRUCell(3, 2, rng=0)), (2, 3)),
    "RNN": (lambda: FlatOutputs(nn.RNN(3, 2, num_layers=2, rng=0)), (2, 3, 3)),
    "LSTM": (lambda: FlatOutputs(nn.LSTM(3, 2, num_layers=2, rng=0)), (2, 3, 3)),
    "GRU": (lambda: FlatOutputs(nn.GRU(3, 2, num_layers=2, rng=0)), (2, 3, 3)),
    "Embedding": (_EmbeddingTimesInput, (2, 4, 3)),
    # Converged power iterations: σ = uᵀWv is then W's spectral norm at every evaluation.
    "SpectralNorm": (lambda: nn.SpectralNorm(nn.Dense(4, 3, activation="tanh", rng=0),
                                             n_power_iterations=100, rng=0), (5, 4)),
}


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_every_layer_gradchecks_in_train_and_eval_mode(float64, name, training):
    make, shape = LAYERS[name]
    layer = make().train(training)
    # Away from the kinks of relu/leaky_relu at 0.
    x = np.sign(RNG.normal(size=shape)) * (0.1 + np.abs(RNG.normal(size=shape)))
    if name == "MaxPool2D":  # distinct values: no tie inside a window
        x = RNG.permutation(np.prod(shape)).reshape(shape) * 0.1

    def same_draw():  # Dropout and GaussianNoise draw the same mask on every evaluation
        if hasattr(layer, "rng"):
            layer.rng = np.random.default_rng(3)

    assert layer_gradcheck(layer, x, before_call=same_draw)


def test_the_layer_table_covers_every_layer_class():
    public = {name for name in nn.__all__
              if isinstance(getattr(nn, name), type) and issubclass(getattr(nn, name), nn.Module)}
    assert public - {"Module", "Sequential"} == set(LAYERS)
