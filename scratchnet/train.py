"""Training: ``sn.train.fit``, one protocol for every model that learns by gradient steps.

One gradient step is :func:`minimize`: clear the gradients, backpropagate the loss, check
that the loss and every gradient are finite, and let the optimizer move the weights.
``fit`` takes such steps over a loader for some epochs, and adds what a careful experiment
needs around them:

* a progress bar per epoch with the running means (quiet with ``progress=False`` or when
  the output is not a terminal);
* a :class:`History`: per epoch, the mean of every logged number over the epoch's steps
  (weighted by batch size), for :func:`scratchnet.viz.plot_history`;
* validation in evaluation mode without recording a graph, on one loader or several;
* learning-rate schedules, stepped once per epoch;
* callbacks: :class:`Checkpoint`, :class:`EarlyStopping`, :class:`SampleGrid`, or your own;
* a guard that stops on the first NaN or infinite loss or gradient with
  :class:`TrainingDiverged`, naming the epoch and step, *before* the bad step reaches the
  weights, so the last checkpoint is still good.

Two kinds of model train through it:

* **One loss, one optimizer** (an MLP, an autoencoder, a VAE): every step minimises
  ``loss_fn(model, *batch)``::

      fit(vae, lambda m, x: m.loss(x), optim.Adam(vae.parameters()), loader, epochs=10)

* **A step of its own.** A model whose step is not "one loss, one optimizer" defines
  ``training_step(batch, optimizers) -> dict`` of the numbers to log, and calls
  :func:`minimize` for each update it makes. A GAN updates two players, its discriminator
  ``d_steps`` times per generator update; an RBM first runs the Gibbs chains of its
  negative phase. Such a model usually also defines ``configure_optimizers()``, which
  ``fit`` calls when no optimizer is given::

      fit(gan, loader=DataLoader(images, batch_size=64, drop_last=True), epochs=20)

  Everything else (progress, History, callbacks, validation, the NaN guard) stays with
  ``fit``, so every model is trained, logged and stopped the same way.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from scratchnet.autograd import Tensor, as_tensor, no_grad
from scratchnet.backend import as_numpy, get_array_module
from scratchnet.checkpoint import save
from scratchnet.checks import check_number, with_article
from scratchnet.nn.module import Module
from scratchnet.optim import clip_grad_norm_

__all__ = ["Callback", "Checkpoint", "EarlyStopping", "History", "SampleGrid",
           "TrainingDiverged", "evaluate", "fit", "minimize"]

LossFn = Callable[..., Tensor]
Metric = Callable[..., float]


class TrainingDiverged(RuntimeError):
    """The loss or a gradient became NaN or infinite, so no step was taken.

    Attributes: ``what`` diverged ("the loss", "a gradient", ...), its ``value``, and,
    filled in by :func:`fit`, the ``epoch`` and ``step`` (counting from 1) and the last good
    ``checkpoint`` (when a :class:`Checkpoint` callback saved one).
    """

    def __init__(self, what: str, value: float, epoch: int | None = None,
                 step: int | None = None, checkpoint: Path | None = None) -> None:
        super().__init__(what, value)
        self.what, self.value = what, value
        self.epoch, self.step, self.checkpoint = epoch, step, checkpoint

    def __str__(self) -> str:
        where = "" if self.epoch is None else f" at epoch {self.epoch}, step {self.step}"
        kept = ("" if self.epoch is None else
                f"; the last good checkpoint is {self.checkpoint}" if self.checkpoint is not None
                else "; no checkpoint was saved")
        return (f"training diverged: {self.what} is not finite (value {self.value}){where}"
                f"{kept}. Try a smaller learning rate.")


# --------------------------------------------------------------------------------------
# One gradient step
# --------------------------------------------------------------------------------------
def _check_loss(loss: Any, caller: str) -> None:
    """A clear error for anything but a scalar Tensor."""
    if not isinstance(loss, Tensor):
        raise TypeError(f"{caller}: the loss must be a scalar Tensor, got "
                        f"{type(loss).__name__}")
    if loss.size != 1:
        raise ValueError(f"{caller}: the loss must be a scalar Tensor, got shape "
                         f"{loss.shape}; reduce it, e.g. with .mean()")


def _loss_value(loss: Any, caller: str) -> float:
    """The float value of a scalar loss Tensor, with a clear error for anything else."""
    _check_loss(loss, caller)
    return float(loss.item())


def _first_bad_gradient(parameters: Iterable[Tensor]) -> float | None:
    """The first non-finite value in the gradients, else None.

    One reduction per gradient: a NaN or inf anywhere makes its sum non-finite. A sum can
    also overflow while every value is finite, so a non-finite sum is confirmed value by
    value before it counts.
    """
    for p in parameters:
        if p.grad is not None:
            g = p.grad.data
            xp = get_array_module(g)
            if not bool(xp.isfinite(g.sum())):
                bad = g[~xp.isfinite(g)]
                if bad.size:
                    return float(bad[0])
    return None


def minimize(loss: Tensor, optimizer: Any, parameters: Iterable[Tensor] | None = None,
             clip_grad_norm: float | None = None) -> float:
    """One gradient step on ``loss``; returns the loss as a float.

    Clears the gradients of the optimizer's parameters, backpropagates, checks that the
    loss and every gradient of ``parameters`` (default: ``optimizer.params``) are finite,
    rescales those gradients to a joint norm of at most ``clip_grad_norm`` when it is given
    (:func:`~scratchnet.optim.clip_grad_norm_`), and takes ``optimizer.step()``. A NaN or
    inf stops it before the step, so the weights never take a bad step: it raises
    :class:`TrainingDiverged` (``fit`` adds where).
    """
    value = _loss_value(loss, "minimize")
    if not math.isfinite(value):
        raise TrainingDiverged("the loss", value)
    optimizer.zero_grad()
    loss.backward()
    # A list: the check and the clipping both walk it (a generator would last for one).
    checked = list(getattr(optimizer, "params", ()) if parameters is None else parameters)
    bad = _first_bad_gradient(checked)
    if bad is not None:
        raise TrainingDiverged("a gradient", bad)
    if clip_grad_norm is not None:
        clip_grad_norm_(checked, clip_grad_norm)
    optimizer.step()
    return value


# --------------------------------------------------------------------------------------
# History and callbacks
# --------------------------------------------------------------------------------------
class History(Mapping):
    """Per-epoch records: ``history["loss"]`` is the list of the epochs' mean losses.

    A read-only mapping from each logged name to its list of per-epoch values, so
    ``dict(history)``, ``list(history)`` and ``"val_loss" in history`` work as for a dict.
    Names: what the steps log (``"loss"``, or a model's own, such as a GAN's ``"d_loss"``
    and ``"g_loss"``), ``"<prefix>_<name>"`` for validation (``"val_loss"``), ``"lr"``
    when the optimizer has one.
    """

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}

    def record(self, values: Mapping[str, float]) -> None:
        """Append one epoch's values."""
        for key, value in values.items():
            self.history.setdefault(key, []).append(float(value))

    def __getitem__(self, key: str) -> list[float]:
        if key not in self.history:
            raise KeyError(f"History: nothing logged as {key!r}; logged: {sorted(self.history)}")
        return self.history[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.history)

    def __len__(self) -> int:
        return len(self.history)

    @property
    def epochs(self) -> int:
        """How many epochs have been recorded."""
        return max((len(values) for values in self.history.values()), default=0)

    def last(self) -> dict[str, float]:
        """The most recent epoch's values."""
        return {key: values[-1] for key, values in self.history.items()}

    def __repr__(self) -> str:
        last = ", ".join(f"{k}={v:.4g}" for k, v in self.last().items())
        return f"History({self.epochs} epochs: {last})"


class Callback:
    """Hooks that :func:`fit` calls; return ``True`` from ``on_epoch_end`` to stop training.

    A callback may be passed to several ``fit`` calls: ``on_train_begin`` starts it afresh.
    Callbacks run in increasing ``order`` (then in the order given) at every hook.
    """

    order = 0

    def on_train_begin(self, model: Module) -> None:
        """Called once before the first epoch; reset any state here."""

    def on_epoch_end(self, epoch: int, history: History, model: Module) -> bool | None:
        """Called after each epoch (counting from 1), once ``history`` holds its values."""
        return None

    def on_train_end(self, model: Module) -> None:
        """Called once after the last epoch (also after early stopping)."""

    def on_diverged(self, error: TrainingDiverged, model: Module) -> None:
        """Called when training diverges, before ``error`` is raised (it may add to it)."""


class Checkpoint(Callback):
    """Save the model to ``path`` every ``every`` epochs (and after the last epoch).

    Each save replaces the file atomically, so it always holds a complete, good model:
    when training diverges, the file still holds the last epoch that finished cleanly,
    and the :class:`TrainingDiverged` error names it. Its ``order`` is 10, so it runs after
    the other callbacks and its final save holds what they left (the weights that
    :class:`EarlyStopping` restored). The metadata records the epoch.
    """

    order = 10

    def __init__(self, path: str | os.PathLike[str], every: int = 1) -> None:
        if every < 1:
            raise ValueError(f"Checkpoint: every must be >= 1, got {every}")
        self.path, self.every = Path(path), every
        self.saved: Path | None = None
        self.epoch = 0

    def on_train_begin(self, model: Module) -> None:
        self.saved, self.epoch = None, 0

    def on_epoch_end(self, epoch: int, history: History, model: Module) -> None:
        self.epoch = epoch
        if epoch % self.every == 0:
            self.saved = save(model, self.path, epoch=epoch)

    def on_train_end(self, model: Module) -> None:
        self.saved = save(model, self.path, epoch=self.epoch)

    def on_diverged(self, error: TrainingDiverged, model: Module) -> None:
        error.checkpoint = self.saved


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    With ``restore_best=True`` the model's weights are set back to the best epoch's at
    the end of training.
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0,
                 mode: str = "min", restore_best: bool = True) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min' or 'max', got {mode!r}")
        self.monitor, self.patience, self.min_delta = monitor, patience, min_delta
        self.sign = 1.0 if mode == "min" else -1.0
        self.restore_best = restore_best
        self._reset()

    def on_train_begin(self, model: Module) -> None:
        self._reset()

    def _reset(self) -> None:
        self.best = math.inf
        self.best_epoch = 0
        self.best_state: dict[str, Any] | None = None
        self.stopped_epoch: int | None = None

    def on_epoch_end(self, epoch: int, history: History, model: Module) -> bool:
        if self.monitor not in history:
            raise KeyError(f"EarlyStopping: no {self.monitor!r} in the history; it has "
                           f"{sorted(history)} (val_loss needs val_loader=...)")
        value = self.sign * history[self.monitor][-1]
        if value < self.best - self.min_delta:
            self.best, self.best_epoch = value, epoch
            if self.restore_best:
                self.best_state = model.state_dict()
        elif epoch - self.best_epoch >= self.patience:
            self.stopped_epoch = epoch
            return True
        return False

    def on_train_end(self, model: Module) -> None:
        if self.restore_best and self.best_state is not None:
            model.load_state_dict(self.best_state)


class SampleGrid(Callback):
    """Save a grid of the model's samples every ``every`` epochs: watch a generative model learn.

    Each time, it calls ``model.sample(n, rng=seed, **sample_options)`` with the same
    ``seed``, so a GAN or a VAE decodes the same n codes z every epoch and the grids show one
    model changing rather than new random draws (an RBM's chains start from the same random
    pixels). ``sample_options`` go to ``sample``: ``labels=`` for a conditional GAN,
    ``steps=`` for an RBM. Values are shown over the model's ``data_range`` when it has one
    (a tanh GAN: [−1, 1]), else over [0, 1]. The grids go to ``folder/epoch_001.png``, ...;
    ``saved`` lists them.
    """

    def __init__(self, folder: str | os.PathLike[str], n: int = 64, every: int = 1,
                 seed: int = 0, **sample_options: Any) -> None:
        if n < 1 or every < 1:
            raise ValueError(f"SampleGrid: n and every must be >= 1, got n={n}, every={every}")
        self.folder, self.n, self.every, self.seed = Path(folder), n, every, seed
        self.sample_options = sample_options
        self.saved: list[Path] = []

    def on_train_begin(self, model: Module) -> None:
        if not callable(getattr(model, "sample", None)):
            raise TypeError(f"SampleGrid: {with_article(type(model).__name__)} has no "
                            "sample(n, rng=...) method to draw images from")
        self.saved = []

    def on_epoch_end(self, epoch: int, history: History, model: Module) -> None:
        if epoch % self.every:
            return
        from scratchnet import viz  # matplotlib is imported only when a grid is drawn

        images = model.sample(self.n, rng=self.seed, **self.sample_options)
        images = as_numpy(getattr(images, "data", images))
        # A GAN knows its samples' range (a tanh generator: [-1, 1]); images are in [0, 1].
        value_range = getattr(model, "data_range", None) or (0.0, 1.0)
        # The same latent codes every epoch, so one cell follows one sample as it learns.
        grid = viz.image_grid(images, value_range=value_range, title=(
            f"epoch {epoch}: the same {self.n} latent codes each epoch; "
            "do the samples sharpen and differ from each other?"))
        self.saved.append(viz.save_figure(grid, self.folder / f"epoch_{epoch:03d}.png"))


# --------------------------------------------------------------------------------------
# The loop
# --------------------------------------------------------------------------------------
def _tensors(batch: Any) -> tuple[Tensor, ...]:
    batch = batch if isinstance(batch, (tuple, list)) else (batch,)
    return tuple(as_tensor(b) for b in batch)


def _batch_size(batch: Any) -> int:
    first = batch[0] if isinstance(batch, (tuple, list)) else batch
    return len(first)


def show_progress(progress: bool) -> bool:
    """Whether to draw a progress bar: asked for, and stderr is a terminal."""
    return progress and sys.stderr.isatty()


def evaluate(model: Module, loss_fn: LossFn | None, loader: Iterable[Any],
             metrics: Mapping[str, Metric] | None = None) -> dict[str, float]:
    """Mean loss (and metrics) over ``loader`` in evaluation mode, without a graph.

    ``loss_fn`` may be ``None`` when there are metrics (a model that trains through its own
    ``training_step`` has no single loss). Means are weighted by batch size, so a smaller
    last batch counts for what it holds.
    """
    if loss_fn is None and not metrics:
        raise ValueError("evaluate: nothing to measure; give a loss_fn or metrics")
    was_training = model.training
    model.eval()
    totals: dict[str, float] = {}
    count = 0
    try:
        with no_grad():
            for batch in loader:
                tensors = _tensors(batch)
                n = len(tensors[0])
                if loss_fn is not None:
                    loss = _loss_value(loss_fn(model, *tensors), "evaluate")
                    totals["loss"] = totals.get("loss", 0.0) + n * loss
                for name, metric in (metrics or {}).items():
                    totals[name] = totals.get(name, 0.0) + n * float(metric(model, *tensors))
                count += n
    finally:
        model.train(was_training)
    if count == 0:
        raise ValueError("evaluate: the loader yielded no batches")
    return {name: total / count for name, total in totals.items()}


def _step_function(model: Module, loss_fn: LossFn | None, optimizer: Any,
                   clip_grad_norm: float | None = None
                   ) -> tuple[Callable[[Any], Mapping[str, float]], Any]:
    """What one step of ``fit`` does, and the optimizer(s) it uses."""
    own_step = getattr(model, "training_step", None)
    name = with_article(type(model).__name__)
    if clip_grad_norm is not None:
        clip_grad_norm = check_number("fit", "clip_grad_norm", clip_grad_norm, low=0.0,
                                      low_open=True)
    if own_step is not None:
        if clip_grad_norm is not None:
            raise ValueError(f"fit: {name} trains through its own training_step, which "
                             "decides its own clipping; clip_grad_norm applies only to "
                             "training with a loss_fn")
        if loss_fn is not None:
            raise ValueError(f"fit: {name} trains through its own training_step; leave "
                             "loss_fn out (None)")
        if optimizer is None:
            if not callable(getattr(model, "configure_optimizers", None)):
                raise TypeError(f"fit: {name} has no configure_optimizers(); pass the "
                                "optimizer(s) its training_step expects")
            optimizer = model.configure_optimizers()
        return (lambda batch: own_step(batch, optimizer)), optimizer
    if loss_fn is None:
        raise TypeError(f"fit: loss_fn is required for {name}: loss_fn(model, *batch) -> "
                        "scalar Tensor, e.g. lambda m, x, y: F.cross_entropy(m(x), y)")
    if optimizer is None:
        raise TypeError(f"fit: optimizer is required for {name}, e.g. "
                        "optim.Adam(model.parameters())")
    checked = None if hasattr(optimizer, "params") else model.parameters()

    def step(batch: Any) -> dict[str, float]:
        loss = loss_fn(model, *_tensors(batch))
        _check_loss(loss, "fit: loss_fn(model, *batch)")
        return {"loss": minimize(loss, optimizer, checked, clip_grad_norm)}

    return step, optimizer


def _numbers(logs: Any, model: Module) -> Mapping[str, float]:
    """What a step logged, checked: a dict of Python numbers."""
    if not isinstance(logs, Mapping):
        raise TypeError(f"fit: {with_article(type(model).__name__)}'s training_step must "
                        f"return a dict of numbers to log, got {type(logs).__name__}")
    for key, value in logs.items():
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer,
                                                             np.floating)):
            raise TypeError(f"fit: training_step logged {key!r} as "
                            f"{with_article(type(value).__name__)}, expected a Python number "
                            "(for a one-element Tensor, log .item())")
    return logs


def _validation_loaders(val_loader: Any) -> dict[str, Iterable[Any]]:
    """``{prefix: loader}``; a single loader is ``{"val": loader}``."""
    if val_loader is None:
        return {}
    if isinstance(val_loader, Mapping):
        return dict(val_loader)
    return {"val": val_loader}


def fit(model: Module, loss_fn: LossFn | None = None, optimizer: Any = None,
        loader: Iterable[Any] | None = None, epochs: int | None = None,
        val_loader: Iterable[Any] | Mapping[str, Iterable[Any]] | None = None,
        callbacks: Sequence[Callback] = (), progress: bool = True, scheduler: Any = None,
        metrics: Mapping[str, Metric] | None = None,
        clip_grad_norm: float | None = None) -> History:
    """Train ``model`` for ``epochs`` passes over ``loader``; returns the :class:`History`.

    Args:
        loss_fn: ``loss_fn(model, *batch) -> scalar Tensor``; the batch's arrays arrive as
            Tensors, e.g. ``lambda m, x, y: F.cross_entropy(m(x), y)``. Leave it out for a
            model with its own ``training_step(batch, optimizers) -> dict``, which then
            gets each batch as the loader yields it.
        optimizer: anything with ``zero_grad()`` and ``step()`` (see :mod:`scratchnet.optim`),
            or whatever a model's ``training_step`` expects (a GAN: a dict of two); left
            out, such a model's ``configure_optimizers()`` makes the defaults.
        loader: an iterable of batches (a :class:`~scratchnet.datasets.DataLoader`, or any
            iterable that yields arrays or tuples of arrays).
        epochs: the number of passes over ``loader``.
        val_loader: if given, the loss (if there is a ``loss_fn``) and the metrics are
            measured on it after every epoch, as ``val_loss`` and ``val_<metric>``; a dict
            ``{prefix: loader}`` measures several, as ``<prefix>_loss``, ...
        callbacks: e.g. ``[Checkpoint("ae.npz"), EarlyStopping(patience=3)]``.
        progress: show a progress bar per epoch when the output is a terminal (one bar
            over the epochs when each epoch is a single batch).
        scheduler: anything with ``step()``, or a list of them, called after every epoch
            (learning-rate decay).
        metrics: ``name -> metric(model, *batch) -> float``, measured on ``val_loader``.
        clip_grad_norm: if given, every step rescales the gradients to a joint L2 norm of
            at most this (:func:`~scratchnet.optim.clip_grad_norm_`), as recurrent networks
            need. Only for training with a ``loss_fn``: a model's own ``training_step``
            clips as it sees fit.

    Raises:
        TrainingDiverged: the loss or a gradient (or a number a ``training_step`` logged)
            became NaN or infinite; see :func:`minimize`.
    """
    if loader is None:
        raise TypeError("fit: loader is required: an iterable of batches, such as "
                        "DataLoader(x, y, batch_size=64)")
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"fit: epochs must be a positive integer, got {epochs!r}")
    step_fn, optimizer = _step_function(model, loss_fn, optimizer, clip_grad_norm)
    validation = _validation_loaders(val_loader)
    if metrics and not validation:
        raise ValueError("fit: metrics are measured on val_loader; pass val_loader=...")
    if validation and loss_fn is None and not metrics:
        raise ValueError(f"fit: {with_article(type(model).__name__)} has no loss_fn to "
                         "validate; pass metrics= to measure on val_loader")
    schedulers = list(scheduler) if isinstance(scheduler, (list, tuple)) else (
        [] if scheduler is None else [scheduler])
    callbacks = sorted(callbacks, key=lambda c: c.order)
    history = History()
    for callback in callbacks:
        callback.on_train_begin(model)
    # Full-batch training (one batch an epoch) gets one bar over the epochs instead of a
    # one-step bar per epoch: a long run is never silent, and no bar flickers.
    one_batch = getattr(loader, "__len__", None) is not None and len(loader) == 1
    run_bar = tqdm(total=epochs, desc="epochs", leave=False,
                   disable=not (show_progress(progress) and one_batch))
    for epoch in range(1, epochs + 1):
        model.train()
        sums: dict[str, float] = {}
        count = 0
        bar = tqdm(loader, desc=f"epoch {epoch}/{epochs}", leave=False,
                   disable=not show_progress(progress) or one_batch)
        for step, batch in enumerate(bar, start=1):
            try:
                logs = _numbers(step_fn(batch), model)
                bad = next((k for k, v in logs.items() if not math.isfinite(v)), None)
                if bad is not None:
                    raise TrainingDiverged(f"the logged {bad!r}", logs[bad])
            except TrainingDiverged as error:
                error.epoch, error.step = epoch, step
                for callback in callbacks:
                    callback.on_diverged(error, model)
                raise
            n = _batch_size(batch)
            for key, value in logs.items():
                sums[key] = sums.get(key, 0.0) + n * value
            count += n
            if not bar.disable:
                bar.set_postfix({key: f"{total / count:.4f}" for key, total in sums.items()})
        bar.close()
        if count == 0:
            raise ValueError("fit: the loader yielded no batches")
        record = {key: total / count for key, total in sums.items()}
        for prefix, data in validation.items():
            scores = evaluate(model, loss_fn, data, metrics)
            record.update({f"{prefix}_{name}": value for name, value in scores.items()})
        if hasattr(optimizer, "lr"):
            record["lr"] = optimizer.lr
        history.record(record)
        if not run_bar.disable:
            run_bar.set_postfix({key: f"{value:.4f}" for key, value in record.items()})
            run_bar.update()
        for schedule in schedulers:
            schedule.step()
        stop = [bool(callback.on_epoch_end(epoch, history, model)) for callback in callbacks]
        if any(stop):
            break
    run_bar.close()
    for callback in callbacks:
        callback.on_train_end(model)
    return history
