"""The training protocol of ``sn.train``: one ``fit`` for every model.

A model with its own ``training_step(batch, optimizers) -> dict`` is trained by calling it
(its ``configure_optimizers()`` gives the defaults); any other model minimises
``loss_fn(model, *batch)``. Around the steps ``fit`` keeps a :class:`History` (per epoch, the
batch-size-weighted mean of every logged number), validates on one loader or a dict of
them, steps one scheduler or a list, runs callbacks in ``order`` at every hook, and stops
with :class:`TrainingDiverged` before a non-finite loss or gradient reaches the weights,
which :func:`minimize` guarantees on its own too. :class:`SampleGrid` saves a model's samples
as it trains.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pytest
from test_train import mse, regression_data  # tests/ is on sys.path (pytest's default)

import scratchnet as sn
import scratchnet.functional as F
from scratchnet import nn, optim
from scratchnet.datasets.loader import DataLoader
from scratchnet.train import (
    Callback,
    Checkpoint,
    History,
    SampleGrid,
    TrainingDiverged,
    evaluate,
    fit,
    minimize,
)

PNG = b"\x89PNG\r\n\x1a\n"


def params(module):
    return [p.numpy().copy() for p in module.parameters()]


class Regressor(nn.Module):
    """A model with a step of its own: a least-squares step, and the batch's mean input."""

    def __init__(self):
        super().__init__()
        self.layer = nn.Dense(3, 1, rng=0)
        self.configured = 0
        self.calls = []

    def configure_optimizers(self, lr=0.1):
        self.configured += 1
        return optim.SGD(self.parameters(), lr=lr)

    def training_step(self, batch, optimizer):
        self.calls.append((batch, optimizer))
        x, y = batch
        loss = F.mse_loss(self.layer(sn.Tensor(x)), sn.Tensor(y))
        return {"loss": minimize(loss, optimizer), "x_mean": float(np.mean(x))}

    def forward(self, x):
        return self.layer(x)


class Probe(nn.Module):
    """A model whose step logs what ``logs(batch, step)`` says and moves no weight."""

    def __init__(self, logs):
        super().__init__()
        self.weight = nn.Parameter(np.zeros(2))
        self.logs, self.steps = logs, 0

    def configure_optimizers(self):
        return None

    def training_step(self, batch, optimizer):
        self.steps += 1
        return self.logs(batch, self.steps)


# ---- models with a training_step -------------------------------------------------------------
def test_fit_trains_a_model_through_its_training_step_with_configure_optimizers_defaults():
    x, y = regression_data()
    model = Regressor()
    history = fit(model, loader=DataLoader(x, y, batch_size=32, rng=0), epochs=20,
                  progress=False)
    assert model.configured == 1
    assert len(model.calls) == 20 * 8
    # Each batch arrives as the loader yields it (a pair of arrays), with the one optimizer.
    batch, optimizer = model.calls[0]
    assert isinstance(batch, tuple) and all(isinstance(a, np.ndarray) for a in batch)
    assert isinstance(optimizer, optim.SGD) and optimizer.lr == 0.1
    assert all(opt is optimizer for _, opt in model.calls)
    assert set(history) == {"loss", "x_mean", "lr"}
    assert history.epochs == 20 and history["lr"] == [0.1] * 20
    assert history["loss"][-1] < 1e-4 < history["loss"][0]
    np.testing.assert_allclose(model.layer.weight.numpy().ravel(), [1.5, -2.0, 0.5], atol=1e-2)


def test_fit_hands_a_given_optimizer_to_training_step_and_configures_none():
    x, y = regression_data(n=32)
    model = Regressor()
    mine = optim.SGD(model.parameters(), lr=0.05)
    history = fit(model, optimizer=mine, loader=DataLoader(x, y, batch_size=8, rng=0),
                  epochs=2, progress=False)
    assert model.configured == 0
    assert len(model.calls) == 8 and all(opt is mine for _, opt in model.calls)
    assert history["lr"] == [0.05, 0.05]


def test_fit_refuses_a_loss_fn_for_a_model_with_its_own_training_step():
    x, y = regression_data(n=16)
    model = Regressor()
    before = params(model)
    with pytest.raises(ValueError, match="fit: a Regressor trains through its own "
                                         "training_step; leave loss_fn out"):
        fit(model, mse, loader=DataLoader(x, y, batch_size=8), epochs=1, progress=False)
    assert model.calls == [] and model.configured == 0
    for b, a in zip(before, params(model)):
        np.testing.assert_array_equal(b, a)


def test_a_training_step_model_without_configure_optimizers_needs_an_optimizer():
    class Bare(nn.Module):
        def training_step(self, batch, optimizer):
            return {}

    with pytest.raises(TypeError, match=r"fit: a Bare has no configure_optimizers\(\); pass "
                                        r"the optimizer\(s\) its training_step expects"):
        fit(Bare(), loader=[np.zeros(2)], epochs=1, progress=False)


def test_a_plain_model_needs_a_loss_fn_an_optimizer_and_a_loader():
    x, y = regression_data(n=8)
    model = nn.Dense(3, 1, rng=0)
    opt = optim.SGD(model.parameters(), lr=0.1)
    loader = DataLoader(x, y, batch_size=4)
    with pytest.raises(TypeError, match="fit: loss_fn is required for a Dense"):
        fit(model, optimizer=opt, loader=loader, epochs=1)
    with pytest.raises(TypeError, match="fit: optimizer is required for a Dense"):
        fit(model, mse, loader=loader, epochs=1)
    with pytest.raises(TypeError, match="fit: loader is required"):
        fit(model, mse, opt, epochs=1)


# ---- History: per epoch, the batch-size-weighted mean ---------------------------------------
def test_history_holds_the_batch_size_weighted_mean_of_every_logged_number():
    # Ten rows valued 0..9 in batches of 4, 4 and 2: batch means 1.5, 5.5 and 8.5. Weighted
    # by size they give the data's mean, 4.5; their plain mean would be 5.17.
    x = np.arange(10, dtype=np.float32).reshape(10, 1)
    loader = DataLoader(x, batch_size=4, shuffle=False)
    probe = Probe(lambda batch, step: {"x_mean": float(batch.mean()), "step": float(step)})
    history = fit(probe, loader=loader, epochs=2, progress=False)
    assert history["x_mean"] == pytest.approx([4.5, 4.5], rel=1e-12)
    # Steps 1-3, then 4-6: (4·1 + 4·2 + 2·3)/10 and (4·4 + 4·5 + 2·6)/10.
    assert history["step"] == pytest.approx([1.8, 4.8], rel=1e-12)
    # The same weighting for the loss of a loss_fn (a loss that is the batch mean of x).
    model = nn.Dense(1, 1, rng=0)
    history = fit(model, lambda m, a: (m(a) * 0.0).mean() + a.mean(),
                  optim.SGD(model.parameters(), lr=0.1), loader, epochs=1, progress=False)
    assert history["loss"] == pytest.approx([4.5], rel=1e-6)


def test_dict_of_a_history_gives_its_logged_lists():
    # Regression: dict(history) used to raise KeyError: 0 (History was not a Mapping).
    history = History()
    history.record({"loss": 1.0, "val_loss": 1.5})
    history.record({"loss": 0.5, "val_loss": 0.75})
    assert dict(history) == {"loss": [1.0, 0.5], "val_loss": [1.5, 0.75]}
    assert list(history) == ["loss", "val_loss"]
    assert dict(history.items()) == dict(history)


def test_history_is_a_read_only_mapping_of_the_logged_lists():
    history = History()
    assert isinstance(history, Mapping) and len(history) == 0 and history.epochs == 0
    history.record({"loss": np.float32(2.0), "acc": np.float64(0.25)})
    history.record({"loss": 1.0, "acc": 0.5, "val_loss": 3})
    assert len(history) == 3 and "val_loss" in history and "lr" not in history
    assert history.epochs == 2                      # the longest list counts
    assert history.last() == {"loss": 1.0, "acc": 0.5, "val_loss": 3.0}
    assert all(type(v) is float for values in history.values() for v in values)
    assert history.get("lr") is None
    with pytest.raises(KeyError, match=r"nothing logged as 'lr'; logged: \['acc', 'loss', "
                                       r"'val_loss'\]"):
        history["lr"]
    with pytest.raises(TypeError):
        history["lr"] = [0.1]  # read-only: only record() adds
    assert repr(history) == "History(2 epochs: loss=1, acc=0.5, val_loss=3)"


# ---- validation ------------------------------------------------------------------------------
def test_validation_loaders_in_a_dict_are_logged_under_their_prefixes():
    x, y = regression_data(n=64)
    model = nn.Dense(3, 1, rng=0)
    loaders = {"train": DataLoader(x[:48], y[:48], batch_size=16, shuffle=False),
               "test": DataLoader(x[48:], y[48:], batch_size=16, shuffle=False)}
    metrics = {"mae": lambda m, a, b: float(F.abs(m(a) - b).mean().item())}
    history = fit(model, mse, optim.SGD(model.parameters(), lr=0.05),
                  DataLoader(x, y, batch_size=16, rng=0), epochs=2, val_loader=loaders,
                  metrics=metrics, progress=False)
    assert set(history) == {"loss", "lr", "train_loss", "train_mae", "test_loss", "test_mae"}
    for prefix, loader in loaders.items():
        scores = evaluate(model, mse, loader, metrics)
        assert history[f"{prefix}_loss"][-1] == pytest.approx(scores["loss"], rel=1e-6)
        assert history[f"{prefix}_mae"][-1] == pytest.approx(scores["mae"], rel=1e-6)
    assert history["test_loss"] != history["train_loss"]


def test_a_model_without_a_loss_fn_validates_through_its_metrics_only():
    x, y = regression_data(n=40)
    model = Regressor()
    seen = []

    def mae(m, a, b):
        seen.append((m.training, sn.is_grad_enabled()))
        return float(F.abs(m(a) - b).mean().item())

    val = DataLoader(x, y, batch_size=16, shuffle=False)
    history = fit(model, loader=DataLoader(x, y, batch_size=8, rng=0), epochs=2,
                  val_loader=val, metrics={"mae": mae}, progress=False)
    assert set(history) == {"loss", "x_mean", "lr", "val_mae"}
    # Measured in evaluation mode, without a graph; training mode is back afterwards.
    assert seen and all(state == (False, False) for state in seen)
    assert model.training
    expected = evaluate(model, None, val, {"mae": mae})["mae"]
    assert history["val_mae"][-1] == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match="fit: a Regressor has no loss_fn to validate; pass "
                                         "metrics="):
        fit(Regressor(), loader=DataLoader(x, y, batch_size=8), epochs=1, val_loader=val,
            progress=False)


# ---- schedulers --------------------------------------------------------------------------------
def test_each_scheduler_in_a_list_steps_once_per_epoch():
    class TwoLayers(nn.Module):
        """A GAN-like model: a step of its own with a pair of optimizers."""

        def __init__(self):
            super().__init__()
            self.first, self.second = nn.Dense(3, 1, rng=0), nn.Dense(3, 1, rng=1)

        def training_step(self, batch, optimizers):
            x, y = (sn.Tensor(a) for a in batch)
            return {"first": minimize(F.mse_loss(self.first(x), y), optimizers[0]),
                    "second": minimize(F.mse_loss(self.second(x), y), optimizers[1])}

    model = TwoLayers()
    pair = (optim.SGD(model.first.parameters(), lr=0.1),
            optim.SGD(model.second.parameters(), lr=0.1))
    rates = []

    class Rates(Callback):
        def on_epoch_end(self, epoch, history, model):
            rates.append((pair[0].lr, pair[1].lr))

    x, y = regression_data(n=16)
    for schedulers in (list, tuple):
        rates.clear()
        pair[0].lr = pair[1].lr = 0.1
        chosen = schedulers([optim.StepLR(pair[0], step_size=1, gamma=0.5),
                             optim.StepLR(pair[1], step_size=2, gamma=0.1)])
        fit(model, optimizer=pair, loader=DataLoader(x, y, batch_size=8, rng=0), epochs=4,
            scheduler=chosen, callbacks=[Rates()], progress=False)
        np.testing.assert_allclose(rates, [(0.05, 0.1), (0.025, 0.01), (0.0125, 0.01),
                                           (0.00625, 0.001)], rtol=1e-12)


# ---- callbacks -----------------------------------------------------------------------------------
class Logged(Callback):
    def __init__(self, name, log, order=None):
        self.name, self.log = name, log
        if order is not None:
            self.order = order

    def on_train_begin(self, model):
        self.log.append(("begin", self.name))

    def on_epoch_end(self, epoch, history, model):
        self.log.append((f"epoch {epoch}", self.name))

    def on_train_end(self, model):
        self.log.append(("end", self.name))

    def on_diverged(self, error, model):
        self.log.append(("diverged", self.name))


class LoggedCheckpoint(Checkpoint):
    def __init__(self, path, log):
        super().__init__(path)
        self.log = log

    def on_train_begin(self, model):
        super().on_train_begin(model)
        self.log.append(("begin", "checkpoint"))

    def on_epoch_end(self, epoch, history, model):
        super().on_epoch_end(epoch, history, model)
        self.log.append((f"epoch {epoch}", "checkpoint"))

    def on_train_end(self, model):
        super().on_train_end(model)
        self.log.append(("end", "checkpoint"))

    def on_diverged(self, error, model):
        super().on_diverged(error, model)
        self.log.append(("diverged", "checkpoint"))


def test_callbacks_run_in_increasing_order_at_every_hook_and_checkpoint_runs_last(tmp_path):
    x, y = regression_data(n=16)
    model = nn.Dense(3, 1, rng=0)
    log = []
    callbacks = [LoggedCheckpoint(tmp_path / "m.npz", log), Logged("a", log),
                 Logged("first", log, order=-1), Logged("b", log)]
    assert Checkpoint.order == 10 and Callback.order == 0
    fit(model, mse, optim.SGD(model.parameters(), lr=0.01), DataLoader(x, y, batch_size=8),
        epochs=2, callbacks=callbacks, progress=False)
    names = ["first", "a", "b", "checkpoint"]  # by order, then as given
    hooks = ["begin", "epoch 1", "epoch 2", "end"]
    assert log == [(hook, name) for hook in hooks for name in names]


def test_on_diverged_runs_in_order_with_epoch_and_step_and_checkpoint_names_its_file(tmp_path):
    x, y = regression_data(n=16)
    model = nn.Dense(3, 1, rng=0)
    calls = {"n": 0}

    def poisoned(model, a, b):
        calls["n"] += 1
        return mse(model, a, b) * (float("nan") if calls["n"] == 3 else 1.0)  # epoch 2, step 1

    log, seen = [], []

    class Inspect(Callback):
        def on_diverged(self, error, model_):
            seen.append((error.epoch, error.step, error.checkpoint, model_ is model))

    path = tmp_path / "m.npz"
    with pytest.raises(TrainingDiverged) as info:
        fit(model, poisoned, optim.SGD(model.parameters(), lr=0.01),
            DataLoader(x, y, batch_size=8, shuffle=False), epochs=3,
            callbacks=[LoggedCheckpoint(path, log), Inspect(), Logged("a", log)],
            progress=False)
    # Inspect (order 0) saw the error before the Checkpoint (order 10) added its file.
    assert seen == [(2, 1, None, True)]
    assert [entry for entry in log if entry[0] == "diverged"] == [("diverged", "a"),
                                                                  ("diverged", "checkpoint")]
    assert not any(hook == "end" for hook, _ in log)  # no on_train_end after divergence
    assert info.value.checkpoint == path and str(path) in str(info.value)
    assert sn.load(nn.Dense(3, 1), path)["epoch"] == 1


def test_any_callback_can_add_to_the_error_in_on_diverged(tmp_path):
    # fit does not look for a Checkpoint: whatever a callback sets is in the error raised.
    kept = tmp_path / "kept_by_hand.npz"

    class MySaver(Callback):
        def on_diverged(self, error, model):
            error.checkpoint = kept

    x, y = regression_data(n=8)
    model = nn.Dense(3, 1, rng=0)
    with pytest.raises(TrainingDiverged, match=r"the last good checkpoint is .*kept_by_hand"):
        fit(model, lambda m, a, b: mse(m, a, b) * float("inf"),
            optim.SGD(model.parameters(), lr=0.1), DataLoader(x, y, batch_size=8), epochs=1,
            callbacks=[MySaver()], progress=False)


def test_a_training_step_that_logs_a_non_finite_number_raises_training_diverged():
    log = []
    probe = Probe(lambda batch, step: {"loss": 1.0,
                                       "gap": float("inf") if step == 5 else 0.0})
    with pytest.raises(TrainingDiverged, match=r"the logged 'gap' is not finite \(value "
                                               r"inf\) at epoch 2, step 2") as info:
        fit(probe, loader=DataLoader(np.zeros((6, 2)), batch_size=2, shuffle=False),
            epochs=3, callbacks=[Logged("a", log)], progress=False)
    assert info.value.what == "the logged 'gap'" and info.value.value == float("inf")
    assert (info.value.epoch, info.value.step) == (2, 2)
    assert ("diverged", "a") in log and ("epoch 2", "a") not in log


def test_a_training_step_that_logs_a_tensor_gets_an_error_naming_the_key():
    # training_step must return plain floats; a Tensor (the loss itself, say) should be
    # named, not fail deep inside fit.
    probe = Probe(lambda batch, step: {"loss": sn.Tensor(1.0)})
    with pytest.raises(TypeError, match="'loss'"):
        fit(probe, loader=DataLoader(np.zeros((4, 2)), batch_size=2), epochs=1,
            progress=False)


# ---- minimize on its own -----------------------------------------------------------------------
def test_minimize_takes_one_step_on_a_fresh_gradient_and_returns_the_loss():
    x, y = regression_data(n=8)
    model = nn.Dense(3, 1, rng=0)
    reference = nn.Dense(3, 1, rng=0)
    loss = mse(reference, x, y)
    loss.backward()
    expected = [p.numpy() - 0.1 * p.grad.numpy() for p in reference.parameters()]
    for p in model.parameters():
        p.grad = sn.Tensor(np.full(p.shape, 100.0, np.float32))  # stale: must be cleared
    value = minimize(mse(model, x, y), optim.SGD(model.parameters(), lr=0.1))
    assert isinstance(value, float) and value == pytest.approx(loss.item(), rel=1e-6)
    for p, e in zip(model.parameters(), expected):
        np.testing.assert_allclose(p.numpy(), e, rtol=1e-6)


def test_minimize_with_a_nan_loss_raises_before_stepping_and_the_weights_are_untouched():
    x, y = regression_data(n=8)
    model = nn.Dense(3, 1, rng=0)
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    before = params(model)
    with pytest.raises(TrainingDiverged) as info:
        minimize(mse(model, x, y) * float("nan"), optimizer)
    error = info.value
    assert error.what == "the loss" and np.isnan(error.value)
    assert (error.epoch, error.step, error.checkpoint) == (None, None, None)
    assert str(error) == ("training diverged: the loss is not finite (value nan). Try a "
                          "smaller learning rate.")
    for b, a in zip(before, params(model)):
        np.testing.assert_array_equal(b, a)
    assert all(state == {} for state in optimizer.state)  # the optimizer never stepped


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning",
                            "ignore:invalid value:RuntimeWarning")  # provoked on purpose
def test_minimize_with_an_infinite_gradient_raises_before_stepping():
    x, y = regression_data(n=8)
    model = nn.Dense(3, 1, rng=0)
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    before = params(model)
    loss = mse(model, x, y)
    with pytest.raises(TrainingDiverged, match="a gradient is not finite") as info:
        minimize(loss + F.sqrt(loss * 0.0), optimizer)  # sqrt(0) = 0, but its slope is inf
    assert info.value.what == "a gradient" and not np.isfinite(info.value.value)
    for b, a in zip(before, params(model)):
        np.testing.assert_array_equal(b, a)
    assert all(state == {} for state in optimizer.state)


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning",
                            "ignore:invalid value:RuntimeWarning")  # provoked on purpose
def test_minimize_checks_the_parameters_it_is_given():
    model = nn.Dense(3, 1, rng=0)
    steps = []

    class Custom:  # an optimizer without .params: minimize is told what to check
        def zero_grad(self):
            model.zero_grad()

        def step(self):
            steps.append(1)

    x, y = regression_data(n=8)
    loss = mse(model, x, y)
    with pytest.raises(TrainingDiverged, match="a gradient"):
        minimize(loss + F.sqrt(loss * 0.0), Custom(), model.parameters())
    assert steps == []
    assert minimize(mse(model, x, y), Custom(), model.parameters()) > 0 and steps == [1]


def test_minimize_needs_a_scalar_tensor():
    model = nn.Dense(3, 1, rng=0)
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    x, y = regression_data(n=8)
    with pytest.raises(ValueError, match=r"minimize: the loss must be a scalar Tensor, got "
                                         r"shape \(8, 1\); reduce it"):
        minimize((model(x) - y) ** 2, optimizer)
    with pytest.raises(TypeError, match="minimize: the loss must be a scalar Tensor, got "
                                        "float"):
        minimize(1.0, optimizer)


# ---- SampleGrid --------------------------------------------------------------------------------
class Sampler(Probe):
    """A model that 'generates' 4×4 images from the seed it is given, and logs each call."""

    def __init__(self):
        super().__init__(lambda batch, step: {"loss": 0.0})
        self.sample_calls = []

    def sample(self, n, rng=None, **options):
        self.sample_calls.append((n, rng, options))
        return np.random.default_rng(rng).random((n, 4, 4))


def test_sample_grid_saves_every_nth_epoch_and_lists_the_files(tmp_path):
    model = Sampler()
    grid = SampleGrid(tmp_path / "grids", n=6, every=2, seed=3, steps=7)
    fit(model, loader=DataLoader(np.zeros((4, 2)), batch_size=2), epochs=5, callbacks=[grid],
        progress=False)
    # Epochs 2 and 4, each with the same seed and the sample options passed on.
    assert model.sample_calls == [(6, 3, {"steps": 7})] * 2
    folder = tmp_path / "grids"
    assert grid.saved == [folder / "epoch_002.png", folder / "epoch_004.png"]
    assert sorted(p.name for p in folder.iterdir()) == ["epoch_002.png", "epoch_004.png"]
    assert all(path.read_bytes()[:8] == PNG for path in grid.saved)
    # A second fit starts a fresh list.
    fit(model, loader=DataLoader(np.zeros((4, 2)), batch_size=2), epochs=2, callbacks=[grid],
        progress=False)
    assert grid.saved == [folder / "epoch_002.png"]


def test_sample_grid_needs_a_model_that_can_sample(tmp_path):
    x, y = regression_data(n=8)
    model = nn.Dense(3, 1, rng=0)
    before = params(model)
    with pytest.raises(TypeError, match=r"SampleGrid: a Dense has no sample\(n, rng=\.\.\.\) "
                                        "method"):
        fit(model, mse, optim.SGD(model.parameters(), lr=0.1), DataLoader(x, y), epochs=1,
            callbacks=[SampleGrid(tmp_path)], progress=False)
    for b, a in zip(before, params(model)):  # refused before the first step
        np.testing.assert_array_equal(b, a)
    assert not any(tmp_path.iterdir())
    with pytest.raises(ValueError, match="SampleGrid: n and every must be >= 1"):
        SampleGrid(tmp_path, n=0)
    with pytest.raises(ValueError, match="SampleGrid: n and every must be >= 1"):
        SampleGrid(tmp_path, every=0)
