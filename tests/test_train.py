"""The fit loop: it learns, records history, checkpoints, stops early, and guards against NaN."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest

import scratchnet as sn
import scratchnet.functional as F
from scratchnet import models, nn, optim
from scratchnet.backend import to_device
from scratchnet.datasets.loader import DataLoader
from scratchnet.train import (
    Callback,
    Checkpoint,
    EarlyStopping,
    History,
    TrainingDiverged,
    evaluate,
    fit,
)


def regression_data(n=256, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    y = (x @ np.array([[1.5], [-2.0], [0.5]], np.float32) + 0.3).astype(np.float32)
    return x, y


def mse(model, x, y):
    return F.mse_loss(model(x), y)


def test_fit_learns_a_linear_map_and_records_history(backend):
    # On every backend: the model and the data (so every batch) live on it.
    x, y = (to_device(a, backend) for a in regression_data())
    model = nn.Dense(3, 1, rng=0).to(backend)
    history = fit(model, mse, optim.SGD(model.parameters(), lr=0.1),
                  DataLoader(x, y, batch_size=32, rng=0), epochs=20,
                  val_loader=DataLoader(x, y, batch_size=100, shuffle=False), progress=False,
                  metrics={"mae": lambda m, a, b: float(F.abs(m(a) - b).mean().item())})
    assert history.epochs == 20
    assert set(history) == {"loss", "val_loss", "val_mae", "lr"}
    assert history["loss"][-1] < 1e-4 < history["loss"][0]
    assert history["val_loss"][-1] < 1e-4
    np.testing.assert_allclose(model.weight.numpy().ravel(), [1.5, -2.0, 0.5], atol=1e-2)
    assert history["lr"] == [0.1] * 20
    assert "20 epochs" in repr(history)


def test_evaluate_weights_batches_by_size_and_restores_training_mode():
    x, y = regression_data(n=10)
    model = nn.Sequential(nn.Dense(3, 1, rng=0), nn.Dropout(0.5))
    model.train()
    uneven = evaluate(model, mse, DataLoader(x, y, batch_size=4, shuffle=False))["loss"]
    whole = evaluate(model, mse, DataLoader(x, y, batch_size=10, shuffle=False))["loss"]
    assert uneven == pytest.approx(whole, rel=1e-6)  # eval mode: dropout off, same number
    assert model.training


def test_a_nan_loss_raises_with_epoch_and_step_and_keeps_the_last_good_checkpoint(tmp_path):
    x, y = regression_data(n=64)
    model = nn.Dense(3, 1, rng=0)
    calls = {"n": 0}

    def poisoned(model, x, y):
        calls["n"] += 1
        loss = mse(model, x, y)
        return loss * float("nan") if calls["n"] == 4 + 3 else loss  # epoch 2, step 3

    class Snapshot(Callback):
        def on_epoch_end(self, epoch, history, model):
            self.state = model.state_dict()

    snapshot = Snapshot()
    path = tmp_path / "ckpt.npz"
    with pytest.raises(TrainingDiverged) as info:
        fit(model, poisoned, optim.SGD(model.parameters(), lr=0.01),
            DataLoader(x, y, batch_size=16, shuffle=False), epochs=5,
            callbacks=[Checkpoint(path), snapshot], progress=False)
    error = info.value
    assert (error.epoch, error.step) == (2, 3)
    assert error.what == "the loss" and np.isnan(error.value)
    assert error.checkpoint == path
    assert "epoch 2, step 3" in str(error) and str(path) in str(error)
    restored = nn.Dense(3, 1, rng=5)
    assert sn.load(restored, path)["epoch"] == 1
    for name, value in restored.state_dict().items():
        np.testing.assert_array_equal(value, snapshot.state[name])


def test_an_infinite_loss_without_checkpoint_says_so():
    x, y = regression_data(n=16)
    model = nn.Dense(3, 1, rng=0)
    with pytest.raises(TrainingDiverged, match="no checkpoint was saved"):
        fit(model, lambda m, a, b: mse(m, a, b) * float("inf"),
            optim.SGD(model.parameters(), lr=0.1), DataLoader(x, y, batch_size=8), epochs=1,
            progress=False)


def test_early_stopping_stops_after_patience_epochs_without_improvement():
    x, y = regression_data(n=32)
    model = nn.Dense(3, 1, rng=0)

    class Frozen:  # an optimizer that never moves the weights: val_loss cannot improve
        def zero_grad(self):
            model.zero_grad()

        def step(self):
            pass

    frozen = Frozen()
    stopper = EarlyStopping(patience=2)
    history = fit(model, mse, frozen, DataLoader(x, y, batch_size=8, rng=0), epochs=50,
                  val_loader=DataLoader(x, y, batch_size=32, shuffle=False),
                  callbacks=[stopper], progress=False)
    assert history.epochs == 3
    assert stopper.best_epoch == 1 and stopper.stopped_epoch == 3


def test_early_stopping_restores_the_best_weights():
    model = nn.Dense(1, 1, rng=0)
    stopper = EarlyStopping(monitor="val_loss", patience=2)
    history = History()
    values = [3.0, 2.0, 2.5, 2.4]
    for epoch, value in enumerate(values, start=1):
        model.weight.data[...] = epoch  # the weights at each epoch are recognisable
        history.record({"loss": value, "val_loss": value})
        stop = stopper.on_epoch_end(epoch, history, model)
        assert stop == (epoch == 4)
    stopper.on_train_end(model)
    assert model.weight.item() == 2.0


def test_early_stopping_in_max_mode_and_missing_key():
    stopper = EarlyStopping(monitor="val_acc", patience=1, mode="max")
    history, model = History(), nn.Dense(1, 1)
    history.record({"val_acc": 0.5})
    assert not stopper.on_epoch_end(1, history, model)
    history.record({"val_acc": 0.4})
    assert stopper.on_epoch_end(2, history, model)
    with pytest.raises(KeyError, match="no 'val_loss' in the history"):
        EarlyStopping().on_epoch_end(1, history, model)


def test_checkpoint_every_n_epochs(tmp_path):
    x, y = regression_data(n=32)
    model = nn.Dense(3, 1, rng=0)
    saved_epochs = []

    class Spy(Checkpoint):
        def on_epoch_end(self, epoch, history, model):
            super().on_epoch_end(epoch, history, model)
            saved_epochs.append(None if self.saved is None else
                                sn.checkpoint.read_checkpoint(self.saved)[1]["epoch"])

    fit(model, mse, optim.SGD(model.parameters(), lr=0.01), DataLoader(x, y, batch_size=8),
        epochs=5, callbacks=[Spy(tmp_path / "m.npz", every=2)], progress=False)
    assert saved_epochs == [None, 2, 2, 4, 4]  # nothing before epoch 2, then every 2nd epoch
    final = nn.Dense(3, 1, rng=9)
    sn.load(final, tmp_path / "m.npz")  # the end-of-training save holds the final weights
    np.testing.assert_array_equal(final.weight.numpy(), model.weight.numpy())


def test_the_scheduler_steps_once_per_epoch():
    x, y = regression_data(n=32)
    model = nn.Dense(3, 1, rng=0)
    opt = optim.SGD(model.parameters(), lr=0.1)
    history = fit(model, mse, opt, DataLoader(x, y, batch_size=8), epochs=4,
                  scheduler=optim.StepLR(opt, step_size=2, gamma=0.5), progress=False)
    assert history["lr"] == pytest.approx([0.1, 0.1, 0.05, 0.05])


def test_same_seeds_give_bit_identical_weights():
    x, y = regression_data(n=96)

    def train_once():
        sn.manual_seed(123)
        model = nn.Sequential(nn.Dense(3, 8, activation="tanh"), nn.Dropout(0.2), nn.Dense(8, 1))
        fit(model, mse, optim.Adam(model.parameters(), lr=0.01),
            DataLoader(x, y, batch_size=16, rng=7), epochs=3, progress=False)
        return model.state_dict()

    first, second = train_once(), train_once()
    for name in first:
        np.testing.assert_array_equal(first[name], second[name], err_msg=name)


def test_progress_is_quiet_when_output_is_not_a_terminal(capsys):
    x, y = regression_data(n=32)
    model = nn.Dense(3, 1, rng=0)
    fit(model, mse, optim.SGD(model.parameters(), lr=0.01), DataLoader(x, y, batch_size=8),
        epochs=2, progress=True)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


class _Terminal(io.StringIO):
    """A captured stderr that says it is a terminal, so that fit draws its bars."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("batches", [1, 4])
def test_progress_bars_follow_the_epochs_in_full_batch_training(monkeypatch, batches):
    x, y = regression_data(n=32)
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    model = nn.Dense(3, 1, rng=0)
    fit(model, mse, optim.SGD(model.parameters(), lr=0.01),
        DataLoader(x, y, batch_size=32 // batches), epochs=3, progress=True)
    drawn = terminal.getvalue()
    if batches == 1:  # one bar over the epochs, with the running numbers
        assert "epochs" in drawn and "/3 [" in drawn and "loss=" in drawn
        assert "epoch 1/3" not in drawn
    else:  # one bar per epoch, over its batches
        assert "epoch 1/3" in drawn and "epoch 3/3" in drawn and "epochs" not in drawn


def test_bad_settings_are_refused():
    x, y = regression_data(n=8)
    model = nn.Dense(3, 1)
    opt = optim.SGD(model.parameters(), lr=0.1)
    for epochs in (0, -1, 1.5, True, None):
        with pytest.raises(ValueError, match="epochs must be a positive integer"):
            fit(model, mse, opt, DataLoader(x, y), epochs=epochs)
    with pytest.raises(ValueError, match="yielded no batches"):
        fit(model, mse, opt, [], epochs=1, progress=False)
    with pytest.raises(ValueError, match="every must be >= 1"):
        Checkpoint("x.npz", every=0)


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning",
                            "ignore:invalid value:RuntimeWarning")  # provoked on purpose
def test_an_exploding_gradient_stops_before_the_step_and_the_checkpoint_stays_finite(tmp_path):
    x, y = regression_data(n=32)
    model = nn.Dense(3, 1, rng=0)
    calls = {"n": 0}

    def exploding(model, x, y):
        calls["n"] += 1
        loss = mse(model, x, y)
        if calls["n"] == 4:  # the last step of epoch 1: sqrt(0) = 0, but its slope is inf
            return loss + F.sqrt(loss * 0.0)
        return loss

    path = tmp_path / "m.npz"
    with pytest.raises(TrainingDiverged, match="a gradient is not finite") as info:
        fit(model, exploding, optim.SGD(model.parameters(), lr=0.01),
            DataLoader(x, y, batch_size=8, shuffle=False), epochs=3,
            callbacks=[Checkpoint(path)], progress=False)
    assert (info.value.epoch, info.value.step) == (1, 4)
    assert np.isfinite(model.weight.numpy()).all()
    assert info.value.checkpoint is None and not path.exists()


def test_callbacks_start_afresh_in_each_fit():
    x, y = regression_data(n=32)
    stopper, checkpoint = EarlyStopping(patience=50), Checkpoint("unused.npz", every=1000)
    loader = DataLoader(x, y, batch_size=8, rng=0)
    val = DataLoader(x, y, batch_size=32, shuffle=False)
    first = nn.Dense(3, 1, rng=0)
    fit(first, mse, optim.SGD(first.parameters(), lr=0.1), loader, epochs=5, val_loader=val,
        callbacks=[stopper], progress=False)
    assert stopper.best < 0.1
    second = nn.Dense(3, 1, rng=1)
    fit(second, mse, optim.SGD(second.parameters(), lr=1e-4), loader, epochs=1,
        val_loader=val, callbacks=[stopper], progress=False)
    # The second run's best is its own epoch 1, not the first model's weights.
    assert stopper.best_epoch == 1 and stopper.best > 0.1
    assert not np.array_equal(second.weight.numpy(), first.weight.numpy())
    checkpoint.saved = "stale.npz"
    checkpoint.on_train_begin(second)
    assert checkpoint.saved is None


def test_the_final_checkpoint_holds_the_weights_early_stopping_restored(tmp_path):
    x, y = regression_data(n=64)
    model = nn.Dense(3, 1, rng=0)
    lrs = iter([0.1] * 3 + [5.0] * 10)  # three good epochs, then divergence-prone steps

    class Schedule:
        def step(self):
            opt.lr = next(lrs)

    opt = optim.SGD(model.parameters(), lr=0.1)
    path = tmp_path / "final.npz"
    stopper = EarlyStopping(patience=2)
    fit(model, mse, opt, DataLoader(x, y, batch_size=64, shuffle=False), epochs=10,
        val_loader=DataLoader(x, y, batch_size=64, shuffle=False), scheduler=Schedule(),
        callbacks=[Checkpoint(path, every=1), stopper], progress=False)
    saved = nn.Dense(3, 1, rng=9)
    meta = sn.load(saved, path)
    np.testing.assert_array_equal(saved.weight.numpy(), model.weight.numpy())
    np.testing.assert_array_equal(saved.weight.numpy(), stopper.best_state["weight"])
    assert meta["epoch"] == stopper.stopped_epoch


def test_a_loss_that_is_not_a_scalar_tensor_is_named():
    x, y = regression_data(n=8)
    model = nn.Dense(3, 1)
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"the loss must be a scalar Tensor, got shape "
                                         r"\(8, 1\); reduce it"):
        fit(model, lambda m, a, b: (m(a) - b) ** 2, opt, DataLoader(x, y), 1, progress=False)
    with pytest.raises(TypeError, match="the loss must be a scalar Tensor, got float"):
        fit(model, lambda m, a, b: 1.0, opt, DataLoader(x, y), 1, progress=False)
    with pytest.raises(ValueError, match="metrics are measured on val_loader"):
        fit(model, mse, opt, DataLoader(x, y), 1, metrics={"m": lambda *a: 0.0})


def test_fit_clips_each_step_to_the_cap():
    # A huge learning signal: with the cap, every step moves the weights by at most
    # lr * max_norm (SGD without momentum), whatever the raw gradient's size.
    x, y = regression_data(64)
    model = nn.Dense(3, 1, rng=0)
    before = np.concatenate([p.numpy().ravel() for p in model.parameters()])
    fit(model, lambda m, x, y: 1000.0 * mse(m, x, y), optim.SGD(model.parameters(), lr=0.1),
        DataLoader(x, y, batch_size=64, shuffle=False), epochs=1, progress=False,
        clip_grad_norm=0.5)
    after = np.concatenate([p.numpy().ravel() for p in model.parameters()])
    assert np.linalg.norm(after - before) == pytest.approx(0.05, rel=1e-4)


def test_fit_refuses_clip_grad_norm_for_a_model_with_its_own_step():
    rbm = models.RBM(4, 2, rng=0)
    with pytest.raises(ValueError, match="fit: an RBM trains through its own training_step"):
        fit(rbm, None, None, DataLoader(np.zeros((4, 4), np.float32), batch_size=2),
            epochs=1, clip_grad_norm=1.0)
    with pytest.raises(ValueError, match="fit: clip_grad_norm must be"):
        fit(nn.Dense(3, 1), mse, optim.SGD(nn.Dense(3, 1).parameters(), lr=0.1),
            DataLoader(*regression_data(8), batch_size=4), epochs=1, clip_grad_norm=0)
