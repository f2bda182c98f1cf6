"""Instruments for training: what each layer's gradients, updates and activations are doing.

A loss curve says *that* training went wrong; :class:`TrainingMonitor` says *where*. Pass it
to :func:`scratchnet.train.fit` as a callback and it adds, per epoch, for each layer, to
the same :class:`~scratchnet.train.History` the losses go to::

    monitor = TrainingMonitor()
    history = sn.train.fit(model, loss_fn, opt, loader, epochs=10, callbacks=[monitor])
    viz.save_figure(plot_monitor(history), "monitor.png")

The names are ``"monitor/<layer>/<quantity>"``, where ``<layer>`` is the module's dotted name
in the model (``"0"``, ``"encoder.2"``, ``"discriminator.1"``) and the quantities are:

* ``grad_norm``: the layer's gradient norm ‖∂L/∂θ‖₂ over all its parameters θ, as the root
  mean square over the epoch's backward passes, √(mean_steps Σ_θ ‖g_θ‖²). Exploding
  gradients show as a norm that grows by orders of magnitude; a layer that gets almost
  no gradient (vanishing, or dead units) as one near 0.
* ``update_ratio``: ‖θ_end − θ_start‖ / ‖θ_start‖ over the *whole epoch* (the sum of the
  epoch's steps, not one step). A layer whose ratio stays near 0 has stopped learning;
  one near or above 1 is being rewritten every epoch (a learning rate far too high).
* ``act_mean``, ``act_std``: mean and standard deviation of the layer's output on the
  epoch's last training batch it saw.
* ``dead_fraction`` (layers whose output is a ReLU): the fraction of units that output 0
  for every example of that batch (and every position, for a convolution: a unit is a
  channel). Such a unit passes no gradient to its weights and cannot recover.
* ``saturated_fraction`` (sigmoid and tanh outputs): the fraction of outputs within
  ``saturation`` of the function's limits (0 or 1; −1 or 1), where its slope is below
  about ``saturation`` and the gradient through it nearly vanishes.

A *layer* is a module that holds parameters of its own (a Dense or Conv layer, with its
activation inside it) or a standalone ReLU, LeakyReLU, Sigmoid or Tanh module; the last
two groups of numbers are recorded for both, the first two only for layers with parameters.

Model-specific numbers, where the model offers them:

* a model with ``kl_per_unit(x)`` (a VAE): ``"monitor/kl/<u>"``, the mean KL of latent unit
  u in nats, and ``"monitor/active_units"``, how many units spend more than
  ``active_threshold`` nats. x is the ``data`` given to the monitor, or else the last
  training batch the model's ``encoder`` saw. Units with KL ≈ 0 carry no information
  about x: all of them at 0 is posterior collapse.
* a GAN already logs ``d_real`` and ``d_fake`` (the mean D(x) and D(G(z))) through ``fit``;
  :func:`plot_monitor` draws them.

Cost. Recording is done by hooks: a tensor hook on every parameter adds one dot product
per parameter and backward pass; a forward hook on each layer keeps a reference to its
last output (no copy, no arithmetic); the statistics, a copy of the weights and the KL
are computed once per epoch. ``docs/troubleshooting.md`` gives the overhead measured.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from scratchnet.autograd import Tensor, no_grad
from scratchnet.backend import as_numpy, get_array_module
from scratchnet.checks import check_number
from scratchnet.hooks import RemovableHandle
from scratchnet.nn.activations import LeakyReLU, ReLU, Sigmoid, Tanh
from scratchnet.nn.module import Module, Parameter
from scratchnet.train import Callback, History

__all__ = ["TrainingMonitor", "activation_stats", "monitored_layers", "plot_monitor"]

PREFIX = "monitor/"
_ACTIVATIONS = (ReLU, LeakyReLU, Sigmoid, Tanh)


def _own_parameters(module: Module) -> list[Parameter]:
    """The parameters a module holds itself, not those of the modules inside it."""
    return [v for v in vars(module).values() if isinstance(v, Parameter)]


def _output_kind(module: Module) -> str | None:
    """"relu", "sigmoid" or "tanh" when the module's output comes out of one, else None."""
    last = module if isinstance(module, _ACTIVATIONS) else getattr(module, "activation", None)
    for kind, cls in (("relu", ReLU), ("sigmoid", Sigmoid), ("tanh", Tanh)):
        if isinstance(last, cls):
            return kind
    return None


def monitored_layers(model: Module) -> dict[str, Module]:
    """``{dotted name: module}`` of the layers :class:`TrainingMonitor` watches, in order.

    A module with parameters of its own, or a standalone activation module (one that is
    not the ``activation`` of a layer with parameters, which is watched through its layer).
    """
    inside: set[int] = set()
    layers: dict[str, Module] = {}
    for name, module in model.named_modules():
        if _own_parameters(module):
            layers[name or type(module).__name__] = module
            inside.update(id(m) for m in module.modules() if m is not module)
        elif isinstance(module, _ACTIVATIONS) and id(module) not in inside:
            layers[name or type(module).__name__] = module
    return layers


def activation_stats(output: Any, kind: str | None, saturation: float = 0.01) -> dict[str, float]:
    """Mean, std and (by ``kind``) the dead or saturated fraction of one batch of outputs.

    ``output``: an array of shape (N, units, ...) (a unit is a feature, or a channel of a
    convolution's output); shape (N,) counts as N examples of one unit. Dead: the fraction
    of units with output exactly 0 for all N examples and positions. Saturated: the
    fraction of outputs within ``saturation`` of 0 or 1 (sigmoid) or of ±1 (tanh).
    """
    y = as_numpy(output).astype(np.float64, copy=False)
    stats = {"act_mean": float(y.mean()), "act_std": float(y.std())}
    if kind == "relu":
        units = y.reshape(y.shape[0], -1) if y.ndim < 3 else np.moveaxis(y, 1, 0).reshape(
            y.shape[1], -1).T
        stats["dead_fraction"] = float((~(units != 0).any(axis=0)).mean())
    elif kind == "sigmoid":
        stats["saturated_fraction"] = float(((y < saturation) | (y > 1 - saturation)).mean())
    elif kind == "tanh":
        stats["saturated_fraction"] = float((np.abs(y) > 1 - saturation).mean())
    return stats


class TrainingMonitor(Callback):
    """A :class:`~scratchnet.train.Callback` that records per-layer health into fit's History.

    Args:
        data: a fixed batch (array or Tensor) for the model-specific numbers (a VAE's KL per
            unit); left out, the last training batch the model's ``encoder`` saw.
        saturation: how close to a sigmoid's or tanh's limits an output counts as saturated.
        active_threshold: the KL, in nats, above which a latent unit counts as active.

    See the module docstring for every name it records. It works with any model
    :func:`~scratchnet.train.fit` trains, including those with their own
    ``training_step`` (a GAN: both players' layers, named ``generator.*`` and
    ``discriminator.*``). After training its hooks are removed; ``layers`` names what it
    watched.
    """

    def __init__(self, data: Any = None, saturation: float = 0.01,
                 active_threshold: float = 0.01) -> None:
        self.data = data
        self.saturation = check_number("TrainingMonitor", "saturation", saturation,
                                       low=0.0, high=0.5)
        self.active_threshold = check_number("TrainingMonitor", "active_threshold",
                                             active_threshold, low=0.0)
        self.layers: dict[str, Module] = {}
        self._handles: list[RemovableHandle] = []

    # ---- hooks -----------------------------------------------------------------------------
    def on_train_begin(self, model: Module) -> None:
        self._remove_hooks()
        self.layers = monitored_layers(model)
        # Per parameter: Σ‖g‖² over the epoch's backward passes and their count.
        self._squares: dict[int, Any] = {}
        self._passes: dict[int, int] = {}
        self._outputs: dict[str, Any] = {}
        self._encoder_input: Any = None
        for name, layer in self.layers.items():
            for p in _own_parameters(layer):
                if p.requires_grad:  # a frozen parameter gets no gradient to record
                    self._handles.append(p.register_hook(self._gradient_recorder(id(p))))
            self._handles.append(layer.register_forward_hook(self._output_recorder(name)))
        encoder = getattr(model, "encoder", None)
        if self.data is None and callable(getattr(model, "kl_per_unit", None)) and isinstance(
                encoder, Module):
            self._handles.append(encoder.register_forward_hook(self._remember_encoder_input))
        self._weights = self._snapshot()

    def _gradient_recorder(self, key: int) -> Callable[[Tensor], None]:
        def record(g: Tensor) -> None:
            flat = g.data.reshape(-1)
            square = get_array_module(flat).vdot(flat, flat)  # stays on the device
            self._squares[key] = self._squares.get(key, 0.0) + square
            self._passes[key] = self._passes.get(key, 0) + 1
        return record

    def _output_recorder(self, name: str) -> Callable[[Module, tuple, Any], None]:
        def record(module: Module, inputs: tuple, output: Any) -> None:
            # Training batches only: fit's validation runs in evaluation mode. A reference,
            # not a copy: the next call of the layer makes a new array.
            if module.training and isinstance(output, Tensor):
                self._outputs[name] = output.data
        return record

    def _remember_encoder_input(self, module: Module, inputs: tuple, output: Any) -> None:
        if module.training and inputs:
            self._encoder_input = inputs[0]

    def _snapshot(self) -> dict[str, list[Any]]:
        return {name: [p.data.copy() for p in _own_parameters(layer)]
                for name, layer in self.layers.items() if _own_parameters(layer)}

    # ---- per epoch ---------------------------------------------------------------------------
    def on_epoch_end(self, epoch: int, history: History, model: Module) -> None:
        record: dict[str, float] = {}
        for name, layer in self.layers.items():
            params = _own_parameters(layer)
            if params:
                record.update(self._parameter_numbers(name, params))
            output = self._outputs.get(name)
            stats = (activation_stats(output, _output_kind(layer), self.saturation)
                     if output is not None else
                     dict.fromkeys(self._activation_names(layer), math.nan))
            record.update({f"{PREFIX}{name}/{key}": value for key, value in stats.items()})
        record.update(self._model_numbers(model))
        self._squares, self._passes, self._outputs = {}, {}, {}
        self._weights = self._snapshot()
        _record_aligned(history, record)

    def _activation_names(self, layer: Module) -> list[str]:
        extra = {"relu": ["dead_fraction"], "sigmoid": ["saturated_fraction"],
                 "tanh": ["saturated_fraction"]}.get(_output_kind(layer) or "", [])
        return ["act_mean", "act_std", *extra]

    def _parameter_numbers(self, name: str, params: list[Parameter]) -> dict[str, float]:
        squares = [float(self._squares[id(p)]) / self._passes[id(p)]
                   for p in params if id(p) in self._passes]
        grad_norm = math.sqrt(sum(squares)) if squares else math.nan
        before = self._weights.get(name)
        moved = size = 0.0
        for p, old in zip(params, before or [], strict=False):
            xp = get_array_module(old)
            moved += float(xp.sum((p.data - old) ** 2))
            size += float(xp.sum(old ** 2))
        ratio = math.sqrt(moved / size) if size > 0 else math.nan
        return {f"{PREFIX}{name}/grad_norm": grad_norm, f"{PREFIX}{name}/update_ratio": ratio}

    def _model_numbers(self, model: Module) -> dict[str, float]:
        kl_per_unit = getattr(model, "kl_per_unit", None)
        x = self.data if self.data is not None else self._encoder_input
        if not callable(kl_per_unit) or x is None:
            return {}
        with no_grad():
            kl = as_numpy(kl_per_unit(x)).astype(np.float64)
        numbers = {f"{PREFIX}kl/{u}": float(value) for u, value in enumerate(kl)}
        numbers[f"{PREFIX}active_units"] = float((kl > self.active_threshold).sum())
        return numbers

    def on_train_end(self, model: Module) -> None:
        self._remove_hooks()

    def on_diverged(self, error: Exception, model: Module) -> None:
        self._remove_hooks()

    def _remove_hooks(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []


def _record_aligned(history: History, record: Mapping[str, float]) -> None:
    """Add the monitor's numbers to this epoch's row of ``history``.

    fit has already recorded this epoch's losses, so the History has one more row than
    a monitor name first seen now: such a name is padded with NaN for the epochs before.
    """
    epochs = history.epochs
    for key, value in record.items():
        values = history.history.setdefault(key, [])
        values.extend([math.nan] * (epochs - 1 - len(values)))
        values.append(float(value))


# --------------------------------------------------------------------------------------
# The figure
# --------------------------------------------------------------------------------------
_PANELS = (
    ("grad_norm", "gradient norm ‖∂L/∂θ‖₂ (loss units per\nparameter unit, log scale)", True,
     "gradient norm per layer: look for growth by\norders of magnitude (exploding) or a "
     "fall to ~0"),
    ("update_ratio", "‖Δθ‖ / ‖θ‖ over the epoch\n(dimensionless, log scale)", True,
     "update / weight ratio per layer: ~0 means the layer\nstopped learning, ≳1 means a "
     "learning rate far too high"),
    ("act_std", "std of the layer's output\n(output units)", False,
     "activation spread per layer: a fall to 0 means the\nlayer outputs a constant "
     "(dead layer, collapsed generator)"),
    ("dead_fraction", "fraction of units (0 to 1)", False,
     "dead ReLU units (0 for the whole batch):\nshould stay near 0"),
    ("saturated_fraction", "fraction of outputs (0 to 1)", False,
     "saturated sigmoid/tanh outputs (slope ≈ 0):\nshould stay well below 1"),
)


def _layer_colours(layers: Sequence[str]) -> dict[str, Any]:
    """One colour per layer; layers of the same part (generator, encoder, ...) share a hue."""
    import matplotlib

    maps = ["Blues", "Oranges", "Greens", "Purples", "Reds", "Greys"]
    groups: dict[str, list[str]] = {}
    for layer in layers:
        groups.setdefault(layer.split(".")[0] if "." in layer else "", []).append(layer)
    colours = {}
    for g, members in enumerate(groups.values()):
        cmap = matplotlib.colormaps[maps[g % len(maps)]]
        for i, layer in enumerate(members):
            colours[layer] = cmap(0.45 + 0.5 * i / max(len(members) - 1, 1))
    return colours


def plot_monitor(history: Mapping[str, Sequence[float]], title: str | None = None) -> Any:
    """Draw what a :class:`TrainingMonitor` recorded: one panel per quantity, one line per layer.

    ``history``: the History ``fit`` returned (or any mapping of name -> per-epoch values).
    Panels: gradient norms, update/weight ratios, activation spread, dead and saturated
    fractions (when recorded), a GAN's D(x) and D(G(z)) (when ``d_real`` and ``d_fake`` are
    in it) and a VAE's KL per latent unit (when recorded). Layers are coloured by the part
    of the model they belong to (the first component of their name: generator,
    discriminator, encoder, ...), darker deeper in. Returns the Figure.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    if not isinstance(history, Mapping):
        raise TypeError(f"plot_monitor: expected the History that fit returned, got "
                        f"{type(history).__name__}")
    series: dict[str, dict[str, list[float]]] = {}
    order: dict[str, None] = {}  # the layers in the order the monitor recorded them
    for key in history:
        parts = key[len(PREFIX):].rsplit("/", 1) if key.startswith(PREFIX) else []
        if len(parts) == 2 and parts[0] != "kl":
            series.setdefault(parts[1], {})[parts[0]] = list(history[key])
            order[parts[0]] = None
    if not series:
        raise ValueError("plot_monitor: the history holds nothing a TrainingMonitor recorded "
                         "(no 'monitor/<layer>/...' names); pass callbacks=[TrainingMonitor()] "
                         "to fit")
    panels = [p for p in _PANELS if p[0] in series]
    gan = "d_real" in history and "d_fake" in history
    kl_keys = sorted((k for k in history if k.startswith(PREFIX + "kl/")),
                     key=lambda k: int(k.rsplit("/", 1)[1]))
    n = len(panels) + gan + bool(kl_keys)
    ncol = 2 if n > 1 else 1
    nrow = math.ceil(n / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(6.2 * ncol, 3.4 * nrow), squeeze=False)
    layers = list(order)
    colours = _layer_colours(layers)
    flat = list(axes.ravel())
    for ax, (quantity, ylabel, log, panel_title) in zip(flat, panels, strict=False):
        for layer, values in series[quantity].items():
            epochs = np.arange(1, len(values) + 1)
            ax.plot(epochs, values, marker="o", markersize=3, color=colours[layer], label=layer)
        if log:
            ax.set_yscale("log")
        if quantity.endswith("fraction"):
            ax.set_ylim(-0.03, 1.03)
        ax.set(xlabel="epoch", ylabel=ylabel, title=panel_title)
        ax.title.set_fontsize(9)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    used = len(panels)
    if gan:
        ax = flat[used]
        used += 1
        epochs = np.arange(1, len(history["d_real"]) + 1)
        ax.plot(epochs, history["d_real"], color="tab:green", marker="o", markersize=3,
                label="D(x), real")
        ax.plot(epochs, history["d_fake"], color="tab:red", marker="o", markersize=3,
                label="D(G(z)), fake")
        ax.axhline(0.5, color="grey", linestyle=":", label="0.5: D cannot tell")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set(xlabel="epoch", ylabel="mean D output (probability)", ylim=(-0.03, 1.03),
               title="discriminator's verdicts: D(x) → 1 with D(G(z)) → 0\n"
                     "means D has won and G gets no useful gradient")
        ax.title.set_fontsize(9)
        ax.legend(fontsize=7)
    if kl_keys:
        ax = flat[used]
        used += 1
        cmap = plt.get_cmap("viridis")
        for i, key in enumerate(kl_keys):
            values = history[key]
            ax.plot(np.arange(1, len(values) + 1), values, color=cmap(i / max(len(kl_keys) - 1, 1)),
                    linewidth=1)
        ax.set(xlabel="epoch", ylabel="KL of one latent unit (nats)",
               title="KL per latent unit (one line each): units at 0 carry\nno information; "
                     "all at 0 is posterior collapse")
        ax.title.set_fontsize(9)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if PREFIX + "active_units" in history:
            active = history[PREFIX + "active_units"][-1]
            ax.text(0.98, 0.95, f"active units at the end: {active:.0f} of {len(kl_keys)}",
                    transform=ax.transAxes, ha="right", va="top", fontsize=8)
    for ax in flat[used:]:
        ax.set_visible(False)
    if flat and len(layers) <= 16:
        # Every layer, including activation modules that appear in the activation panels only.
        handles = [Line2D([], [], color=colours[layer], marker="o", markersize=3, label=layer)
                   for layer in layers]
        flat[0].legend(handles=handles, fontsize=7, title="layer", title_fontsize=7)
    fig.suptitle(title or "training monitor: one line per layer, coloured by part of the model",
                 fontsize=11)
    fig.tight_layout()
    return fig
