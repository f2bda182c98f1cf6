"""The training loop: ``sn.train.fit(model, loss_fn, optimizer, loader, epochs)``.

One epoch = for every minibatch: clear the gradients, compute the loss, backpropagate,
take an optimizer step. ``fit`` adds what a careful experiment needs around that loop:

* a progress bar per epoch with the running loss (quiet with ``progress=False`` or when
  the output is not a terminal);
* a :class:`History` of per-epoch losses and metrics, for :func:`scratchnet.viz.plot_history`;
* validation in evaluation mode without recording a graph;
* callbacks: :class:`Checkpoint` (atomic, every n epochs) and :class:`EarlyStopping`;
* a guard that stops on the first NaN or infinite loss or gradient with
  :class:`TrainingDiverged`, naming the epoch and step, before the bad step reaches the
  weights, so the last checkpoint is still good.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from scratchnet.autograd import Tensor, as_tensor, no_grad
from scratchnet.backend import get_array_module
from scratchnet.checkpoint import save
from scratchnet.nn.module import Module

__all__ = ["Callback", "Checkpoint", "EarlyStopping", "History", "TrainingDiverged", "fit"]

LossFn = Callable[..., Tensor]
Metric = Callable[..., float]


class TrainingDiverged(RuntimeError):
    """The loss or a gradient became NaN or infinite. ``epoch`` and ``step`` count from 1."""

    def __init__(self, epoch: int, step: int, loss: float, checkpoint: Path | None,
                 what: str = "the loss") -> None:
        self.epoch, self.step, self.loss, self.checkpoint = epoch, step, loss, checkpoint
        kept = (f"the last good checkpoint is {checkpoint}" if checkpoint is not None
                else "no checkpoint was saved")
        super().__init__(f"training diverged: {what} is not finite (loss {loss}) at epoch "
                         f"{epoch}, step {step}; {kept}. Try a smaller learning rate.")


class History:
    """Per-epoch records: ``history["loss"]`` is the list of mean training losses.

    Keys: ``"loss"``, ``"val_loss"`` when there is validation data, ``"val_<name>"`` for
    each metric, ``"lr"`` when the optimizer has one.
    """

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}

    def record(self, values: Mapping[str, float]) -> None:
        for key, value in values.items():
            self.history.setdefault(key, []).append(float(value))

    def __getitem__(self, key: str) -> list[float]:
        return self.history[key]

    def __contains__(self, key: str) -> bool:
        return key in self.history

    @property
    def epochs(self) -> int:
        return len(self.history.get("loss", []))

    def last(self) -> dict[str, float]:
        """The most recent epoch's values."""
        return {key: values[-1] for key, values in self.history.items()}

    def __repr__(self) -> str:
        last = ", ".join(f"{k}={v:.4g}" for k, v in self.last().items())
        return f"History({self.epochs} epochs: {last})"


class Callback:
    """Hooks called by :func:`fit`; return ``True`` from ``on_epoch_end`` to stop training.

    A callback may be passed to several ``fit`` calls: ``on_train_begin`` starts it afresh.
    """

    def on_train_begin(self, model: Module) -> None:
        """Called once before the first epoch; reset any state here."""

    def on_epoch_end(self, epoch: int, history: History, model: Module) -> bool | None:
        """Called after each epoch (counting from 1), once ``history`` holds its values."""
        return None

    def on_train_end(self, model: Module) -> None:
        """Called once after the last epoch (also after early stopping)."""


class Checkpoint(Callback):
    """Save the model to ``path`` every ``every`` epochs (and after the last epoch).

    Each save replaces the file atomically, so it always holds a complete, good model:
    when training diverges, the file still holds the last epoch that finished cleanly.
    The final save comes after every other callback's ``on_train_end`` (so it holds the
    weights that :class:`EarlyStopping` restored). The metadata records the epoch.
    """

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
                           f"{sorted(history.history)} (val_loss needs val_loader=...)")
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


def _tensors(batch: Any) -> tuple[Tensor, ...]:
    batch = batch if isinstance(batch, (tuple, list)) else (batch,)
    return tuple(as_tensor(b) for b in batch)


def _loss_value(loss: Any, caller: str) -> float:
    """The float value of a scalar loss Tensor, with a clear error for anything else."""
    if not isinstance(loss, Tensor):
        raise TypeError(f"{caller}: loss_fn must return a scalar Tensor, got "
                        f"{type(loss).__name__}")
    if loss.size != 1:
        raise ValueError(f"{caller}: loss_fn must return a scalar Tensor, got shape "
                         f"{loss.shape}; reduce it, e.g. with .mean()")
    return float(loss.item())


def _gradients_finite(parameters: Iterable[Tensor]) -> bool:
    """One reduction per gradient: a NaN or inf anywhere makes its sum non-finite."""
    for p in parameters:
        if p.grad is not None:
            xp = get_array_module(p.grad.data)
            if not bool(xp.isfinite(p.grad.data.sum())):
                return False
    return True


def show_progress(progress: bool) -> bool:
    """Whether to draw a progress bar: asked for, and stderr is a terminal."""
    return progress and sys.stderr.isatty()


def evaluate(model: Module, loss_fn: LossFn, loader: Iterable[Any],
             metrics: Mapping[str, Metric] | None = None) -> dict[str, float]:
    """Mean loss (and metrics) over ``loader`` in evaluation mode, without a graph.

    Means are weighted by batch size, so a smaller last batch counts for what it holds.
    """
    was_training = model.training
    model.eval()
    totals: dict[str, float] = {}
    count = 0
    try:
        with no_grad():
            for batch in loader:
                tensors = _tensors(batch)
                n = len(tensors[0])
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


def fit(model: Module, loss_fn: LossFn, optimizer: Any, loader: Iterable[Any], epochs: int,
        val_loader: Iterable[Any] | None = None, callbacks: Sequence[Callback] = (),
        progress: bool = True, scheduler: Any = None,
        metrics: Mapping[str, Metric] | None = None) -> History:
    """Train ``model`` for ``epochs`` passes over ``loader``; returns the :class:`History`.

    Args:
        loss_fn: ``loss_fn(model, *batch) -> scalar Tensor``; the batch's arrays arrive as
            Tensors, e.g. ``lambda m, x, y: F.cross_entropy(m(x), y)``.
        optimizer: anything with ``zero_grad()`` and ``step()`` (see :mod:`scratchnet.optim`).
        loader: an iterable of batches (a :class:`~scratchnet.datasets.DataLoader`).
        val_loader: if given, ``val_loss`` (and ``val_<metric>``) is measured every epoch.
        callbacks: e.g. ``[Checkpoint("ae.npz"), EarlyStopping(patience=3)]``.
        progress: show a progress bar per epoch when the output is a terminal.
        scheduler: anything with ``step()``, called after every epoch (learning-rate decay).
        metrics: ``name -> metric(model, *batch) -> float``, measured on ``val_loader``.

    Raises:
        TrainingDiverged: the loss or a gradient became NaN or infinite (checked before
            the optimizer step, so the weights never take the bad step).
    """
    if epochs < 1:
        raise ValueError(f"fit: epochs must be >= 1, got {epochs}")
    if metrics and val_loader is None:
        raise ValueError("fit: metrics are measured on val_loader; pass val_loader=...")
    history = History()
    checkpoints = [c for c in callbacks if isinstance(c, Checkpoint)]
    for callback in callbacks:
        callback.on_train_begin(model)
    for epoch in range(1, epochs + 1):
        model.train()
        total, count = 0.0, 0
        bar = tqdm(loader, desc=f"epoch {epoch}/{epochs}", leave=False,
                   disable=not show_progress(progress))
        for step, batch in enumerate(bar, start=1):
            tensors = _tensors(batch)
            optimizer.zero_grad()
            loss = loss_fn(model, *tensors)
            value = _loss_value(loss, "fit")
            finite = math.isfinite(value)
            if finite:
                loss.backward()
            if not finite or not _gradients_finite(model.parameters()):
                last_good = next((c.saved for c in checkpoints if c.saved is not None), None)
                raise TrainingDiverged(epoch, step, value, last_good,
                                       "the loss" if not finite else "a gradient")
            optimizer.step()
            n = len(tensors[0])
            total, count = total + n * value, count + n
            bar.set_postfix(loss=f"{total / count:.4f}")
        bar.close()
        if count == 0:
            raise ValueError("fit: the loader yielded no batches")
        record = {"loss": total / count}
        if val_loader is not None:
            scores = evaluate(model, loss_fn, val_loader, metrics)
            record.update({f"val_{name}": value for name, value in scores.items()})
        if hasattr(optimizer, "lr"):
            record["lr"] = optimizer.lr
        history.record(record)
        if scheduler is not None:
            scheduler.step()
        stop = [bool(c.on_epoch_end(epoch, history, model)) for c in callbacks]
        if any(stop):
            break
    # Checkpoints last, so the final save holds what the other callbacks left (restored
    # best weights, for instance).
    for callback in sorted(callbacks, key=lambda c: isinstance(c, Checkpoint)):
        callback.on_train_end(model)
    return history
