"""Figures for unsupervised learning: image grids, loss curves, latent spaces and filters.

Every function here returns a :class:`matplotlib.figure.Figure`, so a lesson can show it,
save it with :func:`save_figure`, or test it. Each one draws into a new figure of its own,
or into the axes you pass as ``ax=`` (then it returns that axes' figure)::

    from scratchnet import viz

    fig = viz.image_grid(x_test[:64], title="inputs")        # (N, 1, 28, 28) in [0, 1]
    viz.save_figure(fig, "figures/inputs.png")                # creates folders, closes fig

What each figure teaches:

* :func:`image_grid`      what the data (or the reconstructions, or the samples) look like.
* :func:`plot_history`    whether training converged, and whether it overfits (train vs val).
* :func:`latent_scatter`  how the encoder arranged the classes in its code space.
* :func:`latent_manifold` what the decoder makes of every point of a 2-D code space.
* :func:`plot_filters`    which input patterns the first layer (or an RBM's units) respond to.

Headless use. When this module is imported on a Linux machine without a display (neither
``DISPLAY`` nor ``WAYLAND_DISPLAY`` set), outside IPython/Jupyter, and nobody has chosen a
matplotlib backend (no ``MPLBACKEND``, no ``matplotlib.use(...)``, no ``backend:`` in a
matplotlibrc), it switches matplotlib to the non-interactive "Agg" backend, which renders
to files only. A backend you chose yourself is never overridden. :func:`show` displays
figures only when the backend can actually open a window.

Arrays may be NumPy arrays, scratchnet Tensors or CuPy arrays: everything is copied to a
NumPy array first (plots are drawn on the CPU).
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from statistics import NormalDist
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from scratchnet.autograd import no_grad
from scratchnet.backend import as_numpy, is_array
from scratchnet.files import atomic_write
from scratchnet.graph_drawing import draw_graph
from scratchnet.monitor import plot_monitor
from scratchnet.train import History

__all__ = [
    "draw_graph",
    "image_grid",
    "latent_manifold",
    "latent_scatter",
    "normal_ppf",
    "plot_filters",
    "plot_history",
    "plot_monitor",
    "plot_probes",
    "save_figure",
    "show",
]


# ---- headless backend selection ---------------------------------------------------------
def _inside_ipython() -> bool:
    """True when running inside an IPython shell or a Jupyter kernel."""
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    return get_ipython is not None and get_ipython() is not None


def _draws_inline() -> bool:
    """True in a Jupyter kernel (or VS Code's) whose figures appear under the cell."""
    return _inside_ipython() and "inline" in matplotlib.get_backend()


def _backend_chosen() -> bool:
    """True when the user picked a backend (MPLBACKEND, matplotlib.use, matplotlibrc)."""
    if os.environ.get("MPLBACKEND"):
        return True
    get_backend_or_none = getattr(matplotlib.rcParams, "_get_backend_or_none", None)
    if get_backend_or_none is None:  # very old matplotlib: assume a choice, change nothing
        return True
    return get_backend_or_none() is not None


def _has_display() -> bool:
    """False on Linux/BSD with neither an X11 nor a Wayland display; True elsewhere."""
    if sys.platform in ("win32", "cygwin", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _use_agg_if_headless() -> None:
    if not _has_display() and not _inside_ipython() and not _backend_chosen():
        matplotlib.use("Agg")


_use_agg_if_headless()

# Backends that only write files; plt.show() would do nothing useful (and warns) with them.
_FILE_ONLY_BACKENDS = {"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"}


def show(fig: Figure | None = None) -> bool:
    """Show figures on screen if the backend can; return whether ``plt.show()`` was called.

    Under a file-only backend such as Agg (the default on a machine without a display)
    nothing is shown and ``False`` is returned: save the figure with :func:`save_figure`
    instead. ``fig`` is accepted for readability at the call site; pyplot shows all open
    figures.
    """
    if matplotlib.get_backend().lower() in _FILE_ONLY_BACKENDS:
        return False
    plt.show()
    return True


def save_figure(fig: Figure, path: str | os.PathLike[str], dpi: int = 100) -> Path:
    """Save ``fig`` to ``path`` (format from the suffix, ``.png`` if there is none), close it.

    Missing parent folders are created. The file is written to a temporary name in the same
    folder and moved into place, so an interrupted save never leaves half an image behind.
    The figure is closed afterwards (``plt.close(fig)``) to free its memory: a lesson that
    makes hundreds of figures would otherwise keep them all. In a notebook it is first
    shown under the cell, as well as saved. Returns the path written.
    """
    path = Path(path)
    if not path.suffix:
        path = path.with_suffix(".png")
    with atomic_write(path) as f:
        fig.savefig(f, dpi=dpi, format=path.suffix[1:].lower(), bbox_inches="tight")
    if _draws_inline():
        from IPython.display import display

        display(fig)  # a notebook shows it under the cell; once closed, it never would
    plt.close(fig)
    return path


# ---- shared helpers -----------------------------------------------------------------------
def _to_numpy(x: Any) -> np.ndarray:
    """A NumPy copy/view of ``x``: NumPy or CuPy array, scratchnet Tensor, list, number."""
    if is_array(x):
        return as_numpy(x)
    if callable(getattr(x, "numpy", None)):  # scratchnet Tensor (and look-alikes)
        return as_numpy(x.numpy())
    return np.asarray(x)


def _figure_and_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """A new figure with one axes, or the figure that the given ``ax`` belongs to."""
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax
    fig = ax.figure
    while not isinstance(fig, Figure):  # a SubFigure: walk up to the real figure
        fig = fig.figure
    return fig, ax


def _grid_shape(n: int, nrow: int | None, ncol: int | None, caller: str) -> tuple[int, int]:
    """Rows and columns for ``n`` tiles: as square as possible unless told otherwise."""
    for name, value in (("nrow", nrow), ("ncol", ncol)):
        if value is not None and value < 1:
            raise ValueError(f"{caller}: {name} must be a positive integer, got {value}")
    if nrow is None and ncol is None:
        ncol = math.ceil(math.sqrt(n))
    if nrow is None:
        nrow = math.ceil(n / ncol)
    elif ncol is None:
        ncol = math.ceil(n / nrow)
    if nrow * ncol < n:
        raise ValueError(f"{caller}: {nrow} rows x {ncol} columns hold {nrow * ncol} images but "
                         f"got {n}; pass fewer images (e.g. images[:{nrow * ncol}]) or a larger "
                         "grid")
    return nrow, ncol


def _as_image_batch(images: Any, image_shape: Sequence[int] | None, caller: str) -> np.ndarray:
    """Any accepted image batch as a float array of shape (N, C, H, W) with C in {1, 3}.

    Accepted: (N, H, W); (N, C, H, W); (N, D) flat rows with ``image_shape`` (H, W) or
    (C, H, W). Flat rows whose length D is a perfect square are taken as square images
    when no ``image_shape`` is given (784 -> 28x28).
    """
    x = np.asarray(_to_numpy(images), dtype=np.float64)
    if x.ndim < 2 or x.ndim > 4:
        raise ValueError(f"{caller}: expected images of shape (N, H, W), (N, C, H, W) or "
                         f"(N, H*W) with image_shape=(H, W); got shape {x.shape}")
    n = x.shape[0]
    if n == 0:
        raise ValueError(f"{caller}: got an empty batch (shape {x.shape}); need at least 1 image")
    per_image = int(np.prod(x.shape[1:]))
    if image_shape is None and x.ndim == 2:
        side = math.isqrt(per_image)
        if side * side != per_image:
            raise ValueError(f"{caller}: flat images of length {per_image} are not square; "
                             "pass image_shape=(H, W) (or (C, H, W))")
        image_shape = (side, side)
    if image_shape is not None:
        image_shape = tuple(int(s) for s in image_shape)
        if len(image_shape) not in (2, 3) or int(np.prod(image_shape)) != per_image:
            raise ValueError(f"{caller}: image_shape={image_shape} does not fit images of "
                             f"shape {x.shape[1:]} ({per_image} values each); expected (H, W) "
                             "or (C, H, W) with that many values")
        x = x.reshape(n, *image_shape)
    if x.ndim == 3:
        x = x[:, None]  # (N, H, W) -> (N, 1, H, W)
    if x.shape[1] not in (1, 3):
        raise ValueError(f"{caller}: expected 1 (grey) or 3 (RGB) channels in NCHW layout, got "
                         f"shape {x.shape}; channels-last (N, H, W, C) images need "
                         "images.transpose(0, 3, 1, 2)")
    return x


def _tile(x: np.ndarray, nrow: int, ncol: int, padding: int, fill: float) -> np.ndarray:
    """Lay out a batch (N, C, H, W) as one array (C, nrow*H + (nrow+1)*p, ncol*W + (ncol+1)*p).

    Image k goes to row k // ncol, column k % ncol. There are ``padding`` pixels of ``fill``
    between neighbouring images and around the border; empty cells are all ``fill``.
    Vectorised: one reshape and one transpose instead of a loop over images.
    """
    n, c, h, w = x.shape
    p = padding
    # Every cell is an image with p rows/columns of fill before it: (nrow, ncol, C, p+H, p+W).
    cells = np.full((nrow * ncol, c, p + h, p + w), fill, dtype=x.dtype)
    cells[:n, :, p:, p:] = x
    cells = cells.reshape(nrow, ncol, c, p + h, p + w)
    # (row, col, C, y, x) -> (C, row, y, col, x): rows of cells stacked above each other.
    grid = cells.transpose(2, 0, 3, 1, 4).reshape(c, nrow * (p + h), ncol * (p + w))
    # Close the border on the bottom and right.
    return np.pad(grid, ((0, 0), (0, p), (0, p)), constant_values=fill)


def _grid_figsize(nrow: int, ncol: int, h: int, w: int) -> tuple[float, float]:
    """About 0.8 inch per tile (on its longer side), at most 10 inches for the whole grid."""
    tile_w, tile_h = w / max(h, w), h / max(h, w)  # tile size with its longer side = 1
    inch = min(0.8, 10.0 / max(ncol * tile_w, nrow * tile_h))
    return max(2.0, ncol * tile_w * inch), max(2.0, nrow * tile_h * inch)


# ---- image_grid ---------------------------------------------------------------------------
def image_grid(
    images: Any,
    nrow: int | None = None,
    ncol: int | None = None,
    padding: int = 1,
    title: str | None = None,
    ax: Axes | None = None,
    cmap: str = "gray",
    value_range: tuple[float, float] | None = (0, 1),
    *,
    image_shape: Sequence[int] | None = None,
    pad_value: float | None = None,
) -> Figure:
    """Show a batch of images tiled in one grid: look at your data before modelling it.

    Args:
        images: (N, H, W), (N, 1, H, W) grey, (N, 3, H, W) colour, or flat (N, H*W) rows with
            ``image_shape=(H, W)`` (square rows such as 784 = 28x28 need no ``image_shape``).
            NumPy, CuPy or Tensor.
        nrow, ncol: grid size; by default as square as possible (ceil(sqrt(N)) columns).
            Image k is drawn at row k // ncol, column k % ncol.
        padding: pixels of ``pad_value`` between images and around the grid. The tiled
            array has shape (nrow*H + (nrow+1)*padding, ncol*W + (ncol+1)*padding).
        title, ax: figure title; axes to draw into (default: a new figure).
        cmap: colour map for grey images (ignored for RGB).
        value_range: the (low, high) values shown as black and white. ``None`` stretches
            the batch's own min..max instead (useful for weights or unbounded outputs).
        image_shape: (H, W) or (C, H, W) to reshape each image to.
        pad_value: colour of the padding, in data units; default ``high`` (white lines).

    Returns:
        The figure. Its axes hold one ``AxesImage`` whose array is the tiled grid (grey:
        raw values; RGB: values scaled to [0, 1], shape (..., ..., 3)).
    """
    x = _as_image_batch(images, image_shape, "image_grid")
    n, c, h, w = x.shape
    nrow, ncol = _grid_shape(n, nrow, ncol, "image_grid")
    if padding < 0:
        raise ValueError(f"image_grid: padding must be >= 0, got {padding}")

    if value_range is None:
        low, high = float(x.min()), float(x.max())
        if high <= low:  # a constant batch: show it mid-grey rather than divide by zero
            low, high = low - 0.5, high + 0.5
    else:
        low, high = (float(v) for v in value_range)
        if not high > low:
            raise ValueError(f"image_grid: value_range must be (low, high) with low < high, "
                             f"got {value_range}")
    fill = high if pad_value is None else float(pad_value)
    grid = _tile(x, nrow, ncol, padding, fill)

    fig, ax = _figure_and_axes(ax, _grid_figsize(nrow, ncol, h, w))
    if c == 1:
        ax.imshow(grid[0], cmap=cmap, vmin=low, vmax=high, interpolation="nearest")
    else:  # RGB: imshow wants (H, W, 3) floats in [0, 1]
        rgb = np.clip((grid - low) / (high - low), 0.0, 1.0).transpose(1, 2, 0)
        ax.imshow(rgb, interpolation="nearest")
    ax.set_axis_off()
    if title is not None:
        ax.set_title(title)
    return fig


# ---- plot_history ----------------------------------------------------------------------------
def _runs(history: Any) -> dict[str, History]:
    """``{run name: History}``; a single History is the one run ""."""
    if isinstance(history, History):
        return {"": history}
    if (isinstance(history, Mapping) and history
            and all(isinstance(h, History) for h in history.values())):
        return dict(history)
    raise TypeError("plot_history: expected the History that sn.train.fit returns, or a dict "
                    "{run name: History} to compare runs; got "
                    f"{type(history).__name__}. To plot other numbers, log them into the "
                    "History (a callback can call history.record) or use matplotlib directly")


def plot_history(
    history: History | Mapping[str, History],
    keys: Sequence[str] | None = None,
    ax: Axes | None = None,
    log_y: bool = False,
    title: str | None = None,
    ylabel: str | None = None,
) -> Figure:
    """Plot training curves, one line per logged quantity, against the epoch (1, 2, ...).

    A falling training loss says the optimiser works; a validation loss that turns upward
    while the training loss keeps falling says the model is overfitting. To make that
    comparison easy, ``val_<name>`` is drawn dashed in the colour of ``<name>``.

    The learning rate (``lr``, or a key ending in ``_lr``) has its own y axis on the right,
    drawn dotted in grey, when it is plotted with other quantities: on the loss's axis a
    rate of 1e-3 would be a flat line at 0.

    Args:
        history: the :class:`~scratchnet.train.History` that ``sn.train.fit`` returns, or
            ``{run name: History}`` to compare runs: then each run has its own colour, and
            each key its own line style (``val_`` keys dashed).
        keys: which entries to plot (default: every entry with at least one value; with
            several runs, the keys they all have).
        ax: axes to draw into (default: a new figure).
        log_y: logarithmic y axis, for losses that fall over orders of magnitude.
        title: axes title.
        ylabel: the y axis label, with its unit (e.g. "loss (nats)"); default: the names
            of the quantities plotted on that axis.
    """
    runs = _runs(history)
    if keys is None:
        keys = [k for k in next(iter(runs.values()))
                if all(k in run and len(run[k]) for run in runs.values())]
        if not keys:
            raise ValueError("plot_history: nothing to plot; no logged quantity has values"
                             f" (keys: {[sorted(run) for run in runs.values()]})")
    else:
        keys = [keys] if isinstance(keys, str) else list(keys)
        missing = sorted({k for run in runs.values() for k in keys if k not in run})
        if missing:
            available = sorted(set().union(*(set(run) for run in runs.values())))
            raise ValueError(f"plot_history: no entries {missing} in history; available: "
                             f"{available}")

    fig, ax = _figure_and_axes(ax, (6.0, 4.0))
    rates = [k for k in keys if k == "lr" or k.endswith("_lr")]
    others = [k for k in keys if k not in rates]
    # Rates get their own axis only beside other curves; plotted alone they are the curve.
    rate_ax = ax.twinx() if rates and others else None
    main_keys = others if rate_ax is not None else keys
    bases = list(dict.fromkeys(k.removeprefix("val_") for k in main_keys))
    styles = ["-", "--", ":", "-."]
    for r, (name, run) in enumerate(runs.items()):
        for key in keys:
            values = np.asarray(run[key], dtype=float)
            base = key.removeprefix("val_")
            target = rate_ax if rate_ax is not None and key in rates else ax
            if target is rate_ax:  # grey and dotted: a setting, not a result
                color = "0.45" if len(runs) == 1 else f"C{r % 10}"
                style = ":"
            elif len(runs) == 1:  # one colour per base name, so loss and val_loss share one
                color, style = f"C{bases.index(base) % 10}", "--" if key != base else "-"
            else:  # one colour per run, one line style per key
                color, style = f"C{r % 10}", styles[keys.index(key) % len(styles)]
            target.plot(np.arange(1, len(values) + 1), values, color=color, linestyle=style,
                        label=f"{name} {key}".strip(), marker="o" if len(values) <= 30 else None,
                        markersize=3)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel if ylabel is not None else
                  "learning rate" if set(main_keys) <= set(rates) else ", ".join(bases))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if max(len(run[key]) for run in runs.values() for key in keys) == 1:
        ax.set_xticks([1])  # one epoch: the integer locator needs two whole numbers in view
    if log_y:
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    if rate_ax is not None:
        rate_ax.set_ylabel("learning rate")
        more_handles, more_labels = rate_ax.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    ax.legend(handles, labels)
    if title is not None:
        ax.set_title(title)
    return fig


# ---- latent_scatter --------------------------------------------------------------------------
def _is_discrete(labels: np.ndarray) -> bool:
    """True for integer or boolean labels, and for floats that are all whole numbers."""
    if labels.dtype.kind in "biu":
        return True
    values = labels.astype(np.float64)
    return bool(np.all(values == np.round(values)))


def latent_scatter(
    codes: Any,
    labels: Any = None,
    ax: Axes | None = None,
    title: str | None = None,
    max_points: int | None = 5000,
) -> Figure:
    """Scatter 2-D codes, coloured by class: does the encoder separate what it never saw?

    An autoencoder never sees the labels, yet digits of one class often land together in
    its code space; PCA's 2-D codes overlap much more. This plot shows that.

    Args:
        codes: (N, D) codes with D >= 2. Only the first two dimensions are drawn
            (z₁ across, z₂ up); for D > 2 project first (e.g. with PCA) if you want the
            two directions of largest variance instead.
        labels: optional (N,) labels. Integer labels get one discrete colour each (tab10,
            tab20 above 10 classes) and a colour bar with one tick per class; non-integer
            values (e.g. a rotation angle) get the continuous ``viridis`` map.
        ax, title: axes to draw into (default: a new figure); axes title.
        max_points: draw at most this many points (a fixed random subset, seed 0, kept in
            the original order), so 60,000 codes stay readable and fast. ``None``: all.

    Returns:
        The figure; its axes hold one ``PathCollection`` whose offsets are the drawn codes.
    """
    z = np.asarray(_to_numpy(codes), dtype=np.float64)
    if z.ndim != 2 or z.shape[1] < 2:
        raise ValueError(f"latent_scatter: expected codes of shape (N, D) with D >= 2, got "
                         f"shape {z.shape}")
    y = None
    if labels is not None:
        y = np.asarray(_to_numpy(labels)).reshape(-1)
        if y.shape[0] != z.shape[0]:
            raise ValueError(f"latent_scatter: got {z.shape[0]} codes but {y.shape[0]} labels; "
                             "expected one label per code")
    if max_points is not None and z.shape[0] > max_points:
        keep = np.sort(np.random.default_rng(0).choice(z.shape[0], max_points, replace=False))
        z = z[keep]
        y = None if y is None else y[keep]

    fig, ax = _figure_and_axes(ax, (6.0, 5.0))
    style = {"s": 6, "alpha": 0.8, "linewidths": 0}
    if y is None:
        ax.scatter(z[:, 0], z[:, 1], **style)
    elif _is_discrete(y):
        # Discrete classes: colour index 0..K-1 for the K distinct labels.
        classes, index = np.unique(y, return_inverse=True)
        k = len(classes)
        if k <= 10:
            cmap = ListedColormap(matplotlib.colormaps["tab10"].colors[:k])
        elif k <= 20:
            cmap = ListedColormap(matplotlib.colormaps["tab20"].colors[:k])
        else:
            cmap = matplotlib.colormaps["viridis"]
        norm = BoundaryNorm(np.arange(k + 1) - 0.5, cmap.N)  # class i -> one colour bin
        points = ax.scatter(z[:, 0], z[:, 1], c=index, cmap=cmap, norm=norm, **style)
        bar = fig.colorbar(points, ax=ax, ticks=np.arange(k))
        bar.ax.set_yticklabels([str(c.item()) for c in classes])
        bar.set_label("label")
    else:
        points = ax.scatter(z[:, 0], z[:, 1], c=y.astype(np.float64), cmap="viridis", **style)
        fig.colorbar(points, ax=ax).set_label("label")
    of_d = f" (of {z.shape[1]} dims)" if z.shape[1] > 2 else ""
    ax.set_xlabel("z₁" + of_d)
    ax.set_ylabel("z₂" + of_d)
    ax.set_aspect("equal", adjustable="datalim")  # equal units: distances are honest
    if title is not None:
        ax.set_title(title)
    return fig


# ---- latent_manifold ----------------------------------------------------------------------
def normal_ppf(p: Any) -> np.ndarray:
    """Φ⁻¹(p): the standard normal quantile function (inverse CDF), e.g. 0.975 -> 1.95996.

    Uses the standard library's ``statistics.NormalDist``, so scipy is not needed.

    Args:
        p: probabilities strictly between 0 and 1, any shape.
    """
    p = np.asarray(p, dtype=np.float64)
    if np.any(~((p > 0) & (p < 1))):
        raise ValueError(f"normal_ppf: probabilities must lie strictly between 0 and 1, got "
                         f"min {p.min()}, max {p.max()}")
    return np.vectorize(NormalDist().inv_cdf, otypes=[np.float64])(p)


def latent_manifold(
    decode: Callable[[np.ndarray], Any],
    grid_size: int = 15,
    latent_range: tuple[float, float] = (-3, 3),
    image_shape: Sequence[int] = (28, 28),
    ax: Axes | None = None,
    title: str | None = None,
    norm_ppf: bool = False,
    *,
    value_range: tuple[float, float] | None = (0, 1),
) -> Figure:
    """Decode a grid of points of a 2-D latent space and tile the images (Kingma & Welling).

    Walking across the grid shows what the decoder has learned: with a VAE the digits
    morph smoothly into each other, because every point of the prior has to decode to
    something plausible. (Kingma & Welling, "Auto-Encoding Variational Bayes", 2014, fig. 4.)

    The grid: ``grid_size`` values z from ``latent_range[0]`` to ``latent_range[1]`` on each
    axis. Column j uses z₁ = zs[j] (left to right), row i uses z₂ = zs[-1 - i] (so z₂ grows
    upwards, like a plot); the tick labels show the values. ``decode`` is called once with
    all grid_size² points, row by row from the top-left: an (M, 2) float32 NumPy array.

    With ``norm_ppf=True`` the points are equally spaced in probability instead of in z:
    u runs linearly from Φ(low) to Φ(high) and z = Φ⁻¹(u) (see :func:`normal_ppf`). Each
    cell then covers the same mass of the N(0, I) prior, as in the paper; the ends are still
    the ``latent_range`` ends (which must lie within ±6 then), and the points crowd near 0
    where the prior has its mass.

    Args:
        decode: maps (M, 2) latent points to M images: (M, H*W), (M, H, W) or (M, C, H, W);
            NumPy, CuPy or Tensor. It runs under ``no_grad``. Wrap a model, e.g.
            ``lambda z: vae.decode(sn.Tensor(z))``, and call ``vae.eval()`` first so that
            Dropout and BatchNorm behave as at test time; for more than 2 latent dimensions fix
            the others, e.g. ``np.pad(z, ((0, 0), (0, d - 2)))``.
        grid_size: points per axis.
        latent_range: (low, high) ends of the grid on both axes.
        image_shape: (H, W) or (C, H, W) for flat (M, H*W) outputs.
        ax, title: axes to draw into (default: a new figure); axes title.
        value_range: as in :func:`image_grid`; (0, 1) fits Bernoulli decoder means.
    """
    if grid_size < 1:
        raise ValueError(f"latent_manifold: grid_size must be >= 1, got {grid_size}")
    low, high = (float(v) for v in latent_range)
    if not high > low:
        raise ValueError(f"latent_manifold: latent_range must be (low, high) with low < high, "
                         f"got {latent_range}")
    if norm_ppf:
        if max(abs(low), abs(high)) > 6:  # Φ(z) rounds to 1 for z > 8.3; keep z accurate
            raise ValueError(f"latent_manifold: with norm_ppf=True latent_range must lie "
                             f"within [-6, 6], got {latent_range}")
        zs = normal_ppf(np.linspace(NormalDist().cdf(low), NormalDist().cdf(high), grid_size))
    else:
        zs = np.linspace(low, high, grid_size)
    z1, z2 = np.meshgrid(zs, zs[::-1])  # z1 varies along columns, z2 falls down the rows
    points = np.stack([z1.ravel(), z2.ravel()], axis=1).astype(np.float32)

    with no_grad():
        decoded = decode(points)
    out = np.asarray(_to_numpy(decoded))
    if out.ndim < 2 or out.shape[0] != len(points):
        raise ValueError(f"latent_manifold: decode returned shape {out.shape} for "
                         f"{len(points)} latent points; expected ({len(points)}, ...) images")
    x = _as_image_batch(out, image_shape if out.ndim == 2 else None, "latent_manifold")

    padding = 1
    fig = image_grid(x, nrow=grid_size, ncol=grid_size, padding=padding, ax=ax,
                     value_range=value_range, title=title)
    ax = fig.axes[0] if ax is None else ax
    # Put the latent coordinates on the axes: a tick at the centre of every few cells.
    ax.set_axis_on()
    h, w = x.shape[2:]
    shown = np.unique(np.linspace(0, grid_size - 1, min(grid_size, 5)).round().astype(int))
    ax.set_xticks(padding + shown * (w + padding) + (w - 1) / 2, [f"{zs[j]:.2g}" for j in shown])
    ax.set_yticks(padding + shown * (h + padding) + (h - 1) / 2,
                  [f"{zs[-1 - i]:.2g}" for i in shown])
    ax.set_xlabel("z₁")
    ax.set_ylabel("z₂")
    return fig


# ---- plot_filters --------------------------------------------------------------------------
def plot_filters(
    weights: Any,
    ncol: int | None = None,
    title: str | None = None,
    image_shape: Sequence[int] | None = None,
    *,
    channel: int | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Show learned filters as small images: what pattern does each unit look for?

    Trained on MNIST, a first layer learns strokes and blobs (and an RBM's hidden units pen
    strokes); an untrained one shows noise. Each filter is scaled by its own largest
    magnitude, max|w|, so the colours run from -max|w| (blue) through 0 (white) to
    +max|w| (red) with the diverging "RdBu_r" map: red pixels excite the unit, blue
    pixels inhibit it. Dark lines separate the filters.

    Args:
        weights: one of
            * conv weights (C_out, C_in, kh, kw): one kh×kw filter per output channel; with
              several input channels the mean over input channels is shown, or the input
              channel ``channel`` if given (C_in = 1 shows that channel);
            * dense weights (n_in, n_out) with ``image_shape`` (H, W) and n_in = H*W: each
              column (the weights into one unit) as an image. If instead n_out = H*W, as for
              an RBM's W (n_hidden, n_visible), each row is shown (columns win when both fit);
            * (N, H, W): N filters as they are.
        ncol: columns of the grid (default ceil(sqrt(N))).
        title: axes title.
        image_shape: (H, W) of one filter, needed for dense weights.
        channel: which input channel of conv weights to show (default: the mean).
        ax: axes to draw into (default: a new figure).
    """
    w = np.asarray(_to_numpy(weights), dtype=np.float64)
    if w.ndim == 4:
        if channel is None:
            w = w.mean(axis=1)
        elif not 0 <= channel < w.shape[1]:
            raise ValueError(f"plot_filters: channel={channel} is out of range for weights "
                             f"with {w.shape[1]} input channels (shape {w.shape})")
        else:
            w = w[:, channel]
    elif w.ndim == 2:
        if image_shape is None or len(image_shape) != 2:
            raise ValueError(f"plot_filters: dense weights of shape {w.shape} need "
                             "image_shape=(H, W), e.g. image_shape=(28, 28) for MNIST")
        size = int(np.prod(image_shape))
        if w.shape[0] == size:
            w = w.T  # (n_in, n_out): one column per unit
        elif w.shape[1] != size:
            raise ValueError(f"plot_filters: neither dimension of dense weights {w.shape} equals "
                             f"H*W = {size} for image_shape={tuple(image_shape)}")
        w = w.reshape(-1, *image_shape)
    elif w.ndim != 3:
        raise ValueError(f"plot_filters: expected conv weights (C_out, C_in, kh, kw), dense "
                         f"weights (n_in, n_out) with image_shape, or (N, H, W); got shape "
                         f"{w.shape}")

    # Scale every filter by its own max |w|, into [-1, 1]; all-zero filters stay 0.
    scale = np.abs(w).max(axis=(1, 2), keepdims=True)
    w = w / np.where(scale > 0, scale, 1.0)

    n, h, wd = w.shape
    nrow, ncol = _grid_shape(n, None, ncol, "plot_filters")
    padding = 1
    grid = _tile(w[:, None], nrow, ncol, padding, fill=np.nan)[0]  # NaN = padding
    cmap = matplotlib.colormaps["RdBu_r"].with_extremes(bad="0.25")  # NaN drawn dark grey
    fig, ax = _figure_and_axes(ax, _grid_figsize(nrow, ncol, h, wd))
    ax.imshow(grid, cmap=cmap, vmin=-1.0, vmax=1.0, interpolation="nearest")
    ax.set_axis_off()
    if title is not None:
        ax.set_title(title)
    return fig


# ---- plot_probes ------------------------------------------------------------------------------
def plot_probes(results: Mapping[str, Mapping[Any, Any]], budgets: Sequence[int] = (10, 100),
               families: Mapping[str, str] | None = None, reference: str | None = None,
               title: str | None = None) -> Figure:
    """Linear-probe accuracy of several representations: one panel per label budget.

    Args:
        results: ``{name: {budget: probe}}``, each probe a dict with ``"median"`` and
            ``"spread"`` = (min, max), as :func:`scratchnet.metrics.linear_probe` returns
            (extra keys such as ``"k-NN"`` are ignored). Entries run top to bottom in order.
        budgets: the labels-per-class budgets to draw, one panel each.
        families: ``{name: family}``; bars of one family share a colour, with a legend.
        reference: the name whose median is drawn as a dashed line across each panel
            (e.g. ``"raw pixels"``), so that what beats it is seen at a glance.
        title: the figure title.

    Each dot is the median test accuracy (%) over the label draws; its whisker spans the
    lowest to the highest draw. Whiskers that overlap mean the two are not told apart.
    Dots rather than bars: the axis starts near the lowest draw, not at 0, so that close
    entries stay apart, and a bar's length would then mislead.
    """
    if not results:
        raise ValueError("plot_probes: results is empty; expected {name: {budget: probe}}")
    names = list(results)
    missing = [(name, m) for name in names for m in budgets if m not in results[name]]
    if missing:
        raise ValueError(f"plot_probes: no probe for (entry, budget) {missing[0]}; every entry "
                         f"needs a result for each budget in {tuple(budgets)}")
    if reference is not None and reference not in results:
        raise ValueError(f"plot_probes: reference {reference!r} is not one of the entries")
    family_of = dict(families or {})
    palette = plt.get_cmap("tab10")
    family_names = list(dict.fromkeys(family_of.get(name, "") for name in names))
    colour = {family: palette(i % 10) for i, family in enumerate(family_names)}
    fig, axes = plt.subplots(1, len(budgets), figsize=(5.0 * len(budgets), 0.32 * len(names)
                                                      + 1.6), sharey=True, squeeze=False)
    positions = np.arange(len(names))[::-1]
    for ax, m in zip(axes[0], budgets, strict=True):
        medians = np.array([100 * results[name][m]["median"] for name in names])
        lows = np.array([100 * results[name][m]["spread"][0] for name in names])
        highs = np.array([100 * results[name][m]["spread"][1] for name in names])
        for name, y, median, low, high in zip(names, positions, medians, lows, highs,
                                              strict=True):
            ax.errorbar(median, y, xerr=[[median - low], [high - median]], fmt="o",
                        color=colour[family_of.get(name, "")], capsize=3, markersize=6)
        if reference is not None:
            ax.axvline(100 * results[reference][m]["median"], color="0.3", linestyle="--",
                       linewidth=1, label=f"{reference} (median)")
        low_edge = max(0.0, 5 * math.floor((lows.min() - 5) / 5))
        ax.set_xlim(low_edge, 100)
        ax.set_xlabel(f"test accuracy (%), {m} labels per class")
        ax.set_yticks(positions, names)
        ax.set_ylim(-0.7, len(names) - 0.3)
        ax.grid(axis="both", alpha=0.3)
    handles = [Line2D([], [], color=colour[f], marker="o", linestyle="", label=f)
               for f in family_names if f]
    if reference is not None:
        handles += axes[0][0].get_legend_handles_labels()[0]
    if title is not None:
        fig.suptitle(title)
    if handles:
        # Below the panels, so that no bar is hidden behind it.
        fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 4), fontsize=8)
        fig.tight_layout(rect=(0, 0.035 * (1 + len(handles) // 4) + 0.02, 1, 1))
    else:
        fig.tight_layout()
    return fig
