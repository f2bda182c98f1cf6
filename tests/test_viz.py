"""scratchnet.viz: every figure function draws exactly the data it was given.

The checks read the drawn artists back (the AxesImage's array, the Line2D data, the
scatter offsets) instead of looking at pixels, so they are exact and fast. The headless
rule is checked in fresh interpreters, because it acts at import time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.image import AxesImage

import scratchnet as sn
from scratchnet import viz
from scratchnet.train import History

ROOT = Path(__file__).resolve().parents[1]
PHI_INV_0975 = 1.959963984540054  # Φ⁻¹(0.975), the 95% two-sided normal quantile
PHI_INV_09 = 1.2815515655446004  # Φ⁻¹(0.9)
PHI_INV_07 = 0.5244005127080407  # Φ⁻¹(0.7)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _image(fig: Figure) -> AxesImage:
    images = fig.axes[0].get_images()
    assert len(images) == 1
    return images[0]


def _block(grid: np.ndarray, row: int, col: int, h: int, w: int, padding: int) -> np.ndarray:
    """The tile at (row, col) of a grid laid out with ``padding`` around every tile."""
    top = padding + row * (h + padding)
    left = padding + col * (w + padding)
    return grid[top:top + h, left:left + w]


# ---- image_grid -----------------------------------------------------------------------------
def test_image_grid_tiles_images_row_by_row_with_padding() -> None:
    rng = np.random.default_rng(0)
    h, w, p = 5, 4, 1
    x = rng.uniform(0, 1, size=(6, 1, h, w)).astype(np.float32)
    fig = viz.image_grid(x, nrow=2, ncol=3, padding=p)
    assert isinstance(fig, Figure)
    grid = np.asarray(_image(fig).get_array())
    assert grid.shape == (2 * h + 3 * p, 3 * w + 4 * p)
    assert np.array_equal(grid[p:p + h, p:p + w], x[0, 0])  # first image: top-left
    for k in range(6):
        assert np.array_equal(_block(grid, k // 3, k % 3, h, w, p), x[k, 0])
    # Padding rows/columns between and around the tiles show the top of value_range.
    assert np.all(grid[0] == 1.0) and np.all(grid[:, 0] == 1.0)
    assert np.all(grid[p + h] == 1.0) and np.all(grid[-1] == 1.0)
    assert _image(fig).get_clim() == (0.0, 1.0)


def test_image_grid_default_layout_and_empty_cells() -> None:
    x = np.arange(10 * 3 * 3, dtype=np.float64).reshape(10, 3, 3) / 90
    grid = np.asarray(_image(viz.image_grid(x, padding=2, pad_value=-1.0)).get_array())
    # 10 images: ceil(sqrt(10)) = 4 columns, 3 rows; cells 10 and 11 are empty.
    assert grid.shape == (3 * 3 + 4 * 2, 4 * 3 + 5 * 2)
    assert np.array_equal(_block(grid, 2, 1, 3, 3, 2), x[9])
    assert np.all(_block(grid, 2, 2, 3, 3, 2) == -1.0)
    assert np.all(_block(grid, 2, 3, 3, 3, 2) == -1.0)


def test_image_grid_flat_rows() -> None:
    x = np.random.default_rng(1).uniform(size=(4, 784))
    grid = np.asarray(_image(viz.image_grid(x, nrow=1)).get_array())  # 784 = 28 x 28
    assert grid.shape == (28 + 2, 4 * 28 + 5)
    assert np.array_equal(_block(grid, 0, 2, 28, 28, 1), x[2].reshape(28, 28))

    y = np.arange(2 * 12, dtype=np.float64).reshape(2, 12)
    grid = np.asarray(_image(viz.image_grid(y, image_shape=(3, 4), padding=0,
                                            value_range=None)).get_array())
    assert np.array_equal(grid, np.hstack([y[0].reshape(3, 4), y[1].reshape(3, 4)]))
    with pytest.raises(ValueError, match=r"image_grid: .*image_shape"):
        viz.image_grid(y)  # 12 is not a square


def test_image_grid_rgb() -> None:
    x = np.random.default_rng(2).uniform(-1, 1, size=(3, 3, 4, 5))
    fig = viz.image_grid(x, nrow=1, padding=1, value_range=(-1, 1))
    rgb = np.asarray(_image(fig).get_array())
    assert rgb.shape == (4 + 2, 3 * 5 + 4, 3)
    np.testing.assert_allclose(rgb[1:5, 1:6], (x[0].transpose(1, 2, 0) + 1) / 2)
    assert np.all(rgb[0] == 1.0)  # white padding


def test_image_grid_value_range_none_stretches_the_batch() -> None:
    x = np.linspace(-3, 5, 2 * 4 * 4).reshape(2, 4, 4)
    assert _image(viz.image_grid(x, value_range=None)).get_clim() == (-3.0, 5.0)


def test_image_grid_accepts_tensors_and_cupy_arrays(monkeypatch: pytest.MonkeyPatch) -> None:
    x = np.random.default_rng(3).uniform(size=(2, 1, 3, 3)).astype(np.float32)
    grid = np.asarray(_image(viz.image_grid(sn.Tensor(x), padding=0)).get_array())
    assert np.array_equal(grid, np.hstack([x[0, 0], x[1, 0]]))

    # A stand-in for CuPy: the backend recognises cupy.ndarray and copies it with .get().
    class FakeCupyArray:
        def __init__(self, data: np.ndarray) -> None:
            self.data = data

        def get(self) -> np.ndarray:
            return self.data

    monkeypatch.setitem(sys.modules, "cupy", types.SimpleNamespace(ndarray=FakeCupyArray))
    grid = np.asarray(_image(viz.image_grid(FakeCupyArray(x), padding=0)).get_array())
    assert np.array_equal(grid, np.hstack([x[0, 0], x[1, 0]]))


def test_image_grid_draws_into_given_axes() -> None:
    fig, (left, right) = plt.subplots(1, 2)
    out = viz.image_grid(np.zeros((4, 2, 2)), ax=right, title="zeros")
    assert out is fig
    assert len(right.get_images()) == 1 and not left.get_images()
    assert right.get_title() == "zeros"


@pytest.mark.parametrize(("images", "kwargs", "message"), [
    (np.zeros(5), {}, r"image_grid: expected images of shape"),
    (np.zeros((2, 2, 4, 4)), {}, r"image_grid: expected 1 \(grey\) or 3 \(RGB\) channels"),
    (np.zeros((2, 28, 28, 3)), {}, r"image_grid: .*channels-last"),
    (np.zeros((7, 4, 4)), {"nrow": 2, "ncol": 3}, r"image_grid: 2 rows x 3 columns hold 6"),
    (np.zeros((2, 16)), {"image_shape": (3, 5)}, r"image_grid: image_shape=\(3, 5\)"),
    (np.zeros((2, 4, 4)), {"value_range": (1, 0)}, r"image_grid: value_range"),
    (np.zeros((0, 4, 4)), {}, r"image_grid: got an empty batch"),
])
def test_image_grid_errors_name_the_function(images, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        viz.image_grid(images, **kwargs)


# ---- plot_history ---------------------------------------------------------------------------
LOGS = {"loss": [1.0, 0.5, 0.25, 0.2], "val_loss": [1.1, 0.7, 0.6, 0.65], "kl": [3, 2, 1, 1]}


def _history(logs: dict) -> History:
    """A History holding ``logs``, recorded one epoch at a time as fit does."""
    history = History()
    for epoch in range(max(len(values) for values in logs.values())):
        history.record({k: v[epoch] for k, v in logs.items() if epoch < len(v)})
    return history


HISTORY = _history(LOGS)


def test_plot_history_one_line_per_key_from_epoch_1() -> None:
    fig = viz.plot_history(HISTORY)
    lines = fig.axes[0].get_lines()
    assert [line.get_label() for line in lines] == list(LOGS)
    for line, values in zip(lines, LOGS.values()):
        np.testing.assert_array_equal(line.get_ydata(), values)
        np.testing.assert_array_equal(line.get_xdata(), np.arange(1, len(values) + 1))
    assert fig.axes[0].get_legend() is not None
    # val_loss is drawn dashed in the colour of loss.
    loss, val_loss, kl = lines
    assert val_loss.get_color() == loss.get_color() != kl.get_color()
    assert val_loss.get_linestyle() == "--" and loss.get_linestyle() == "-"
    assert fig.axes[0].get_xlabel() == "epoch" and fig.axes[0].get_ylabel() == "loss, kl"


def test_plot_history_draws_the_history_that_fit_returns() -> None:
    x = np.random.default_rng(0).normal(size=(32, 2)).astype(np.float32)
    model = sn.nn.Dense(2, 1, rng=0)
    history = sn.train.fit(model, lambda m, a: (m(a) ** 2).mean(),
                           sn.optim.SGD(model.parameters(), lr=0.1),
                           sn.datasets.DataLoader(x, batch_size=8, rng=0), epochs=3,
                           progress=False)
    fig = viz.plot_history(history)
    loss_ax, rate_ax = fig.axes  # the learning rate on its own axis, not flat at 0 by the loss
    assert [line.get_label() for line in loss_ax.get_lines()] == ["loss"]
    assert [line.get_label() for line in rate_ax.get_lines()] == ["lr"]
    np.testing.assert_array_equal(loss_ax.get_lines()[0].get_ydata(), history["loss"])
    np.testing.assert_array_equal(rate_ax.get_lines()[0].get_ydata(), history["lr"])
    assert (loss_ax.get_ylabel(), rate_ax.get_ylabel()) == ("loss", "learning rate")
    assert [t.get_text() for t in loss_ax.get_legend().get_texts()] == ["loss", "lr"]


def test_plot_history_keys_log_scale_title_and_ylabel() -> None:
    history = _history({"loss": [np.float32(2.0), np.float64(1.0), 0.5], "lr": [0.1] * 3})
    fig = viz.plot_history(history, keys=["loss"], log_y=True, title="t",
                           ylabel="loss (nats)")
    ax = fig.axes[0]
    assert len(ax.get_lines()) == 1
    np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), [2.0, 1.0, 0.5])
    assert ax.get_yscale() == "log" and ax.get_title() == "t"
    assert ax.get_ylabel() == "loss (nats)"
    rate_only = viz.plot_history(history, keys="lr")
    assert len(rate_only.axes) == 1 and len(rate_only.axes[0].get_lines()) == 1
    assert rate_only.axes[0].get_ylabel() == "learning rate"


def test_plot_history_compares_runs_with_one_colour_per_run_and_one_style_per_key() -> None:
    runs = {"sgd": HISTORY,
            "adam": _history({"loss": [0.9, 0.3, 0.1, 0.05], "val_loss": [1.0, 0.5, 0.4, 0.4]})}
    lines = viz.plot_history(runs).axes[0].get_lines()
    # By default, the keys that every run has ("kl" is only in the first).
    assert [line.get_label() for line in lines] == ["sgd loss", "sgd val_loss", "adam loss",
                                                    "adam val_loss"]
    sgd_loss, sgd_val, adam_loss, adam_val = lines
    np.testing.assert_array_equal(adam_val.get_ydata(), [1.0, 0.5, 0.4, 0.4])
    np.testing.assert_array_equal(sgd_val.get_ydata(), LOGS["val_loss"])
    assert sgd_loss.get_color() == sgd_val.get_color() != adam_loss.get_color()
    assert adam_loss.get_color() == adam_val.get_color()
    assert sgd_loss.get_linestyle() == adam_loss.get_linestyle() == "-"
    assert sgd_val.get_linestyle() == adam_val.get_linestyle() == "--"
    with pytest.raises(ValueError, match=r"plot_history: no entries \['kl'\] in history"):
        viz.plot_history(runs, keys=["kl"])


def test_plot_history_refuses_a_plain_dict_of_lists_and_names_history() -> None:
    with pytest.raises(TypeError, match=r"plot_history: expected the History that "
                                        r"sn\.train\.fit returns.*got dict"):
        viz.plot_history(LOGS)
    with pytest.raises(TypeError, match=r"expected the History.*got list"):
        viz.plot_history([1.0, 2.0])
    with pytest.raises(TypeError, match=r"expected the History.*got dict"):
        viz.plot_history({})
    with pytest.raises(TypeError, match=r"expected the History.*got dict"):
        viz.plot_history({"run": HISTORY, "other": LOGS})  # one run is not a History


def test_plot_history_errors() -> None:
    with pytest.raises(ValueError, match=r"plot_history: no entries \['acc'\]"):
        viz.plot_history(HISTORY, keys=["acc"])
    with pytest.raises(ValueError, match="plot_history: nothing to plot"):
        viz.plot_history(History())


# ---- latent_scatter -------------------------------------------------------------------------
def test_latent_scatter_offsets_are_the_codes_and_labels_are_discrete() -> None:
    rng = np.random.default_rng(4)
    codes = rng.normal(size=(50, 2))
    labels = rng.integers(0, 4, size=50)
    fig = viz.latent_scatter(codes, labels, title="codes")
    ax = fig.axes[0]
    (points,) = ax.collections
    np.testing.assert_array_equal(points.get_offsets(), codes)
    np.testing.assert_array_equal(points.get_array(), labels)  # classes 0..3 -> colours 0..3
    colorbar_ax = fig.axes[1]
    assert [t.get_text() for t in colorbar_ax.get_yticklabels()] == ["0", "1", "2", "3"]
    assert ax.get_title() == "codes"


def test_latent_scatter_higher_dims_subsampling_and_no_labels() -> None:
    codes = np.random.default_rng(5).normal(size=(300, 5))
    (points,) = viz.latent_scatter(sn.Tensor(codes)).axes[0].collections
    np.testing.assert_allclose(points.get_offsets(), codes[:, :2], rtol=1e-6)

    (points,) = viz.latent_scatter(codes, max_points=100).axes[0].collections
    drawn = np.asarray(points.get_offsets())
    assert drawn.shape == (100, 2)
    # A subset of the rows, in their original order.
    rows = [int(np.flatnonzero(np.all(np.isclose(codes[:, :2], d), axis=1))[0]) for d in drawn]
    assert rows == sorted(set(rows))


def test_latent_scatter_errors() -> None:
    with pytest.raises(ValueError, match=r"latent_scatter: expected codes of shape \(N, D\)"):
        viz.latent_scatter(np.zeros((10, 1)))
    with pytest.raises(ValueError, match="latent_scatter: got 10 codes but 9 labels"):
        viz.latent_scatter(np.zeros((10, 2)), np.zeros(9, dtype=int))


# ---- latent_manifold ------------------------------------------------------------------------
def test_normal_ppf_matches_known_quantiles() -> None:
    np.testing.assert_allclose(
        viz.normal_ppf([0.975, 0.025, 0.9, 0.7, 0.8413447460685429, 1e-10]),
        [PHI_INV_0975, -PHI_INV_0975, PHI_INV_09, PHI_INV_07, 1.0, -6.361340902404056],
        rtol=1e-12)
    assert abs(viz.normal_ppf(0.5)) < 1e-15
    with pytest.raises(ValueError, match="normal_ppf"):
        viz.normal_ppf([0.5, 1.0])


def _recording_decoder(calls: list, h: int = 4, w: int = 3):
    """A decoder whose k-th image is filled with k, and which records its inputs."""
    def decode(z: np.ndarray) -> np.ndarray:
        calls.append((z.copy(), sn.is_grad_enabled()))
        return np.repeat(np.arange(len(z), dtype=np.float32), h * w).reshape(len(z), h * w)
    return decode


def test_latent_manifold_grid_corners_and_tiling() -> None:
    calls: list = []
    fig = viz.latent_manifold(_recording_decoder(calls), grid_size=3, latent_range=(-2, 2),
                              image_shape=(4, 3), value_range=None)
    (z, grad_enabled), = calls
    assert z.dtype == np.float32 and z.shape == (9, 2) and not grad_enabled
    # Row by row from the top-left; z₁ grows to the right, z₂ grows upwards.
    np.testing.assert_array_equal(z, [[-2, 2], [0, 2], [2, 2],
                                      [-2, 0], [0, 0], [2, 0],
                                      [-2, -2], [0, -2], [2, -2]])
    grid = np.asarray(_image(fig).get_array())
    assert grid.shape == (3 * 4 + 4, 3 * 3 + 4)
    for k in range(9):
        assert np.all(_block(grid, k // 3, k % 3, 4, 3, 1) == k)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["-2", "0", "2"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["2", "0", "-2"]


def test_latent_manifold_norm_ppf_spaces_points_by_probability() -> None:
    calls: list = []
    viz.latent_manifold(_recording_decoder(calls), grid_size=5,
                        latent_range=(-PHI_INV_09, PHI_INV_09), image_shape=(4, 3),
                        norm_ppf=True)
    (z, _), = calls
    # u = linspace(Φ(low), Φ(high), 5) = 0.1, 0.3, 0.5, 0.7, 0.9 -> z = Φ⁻¹(u).
    expected = [-PHI_INV_09, -PHI_INV_07, 0.0, PHI_INV_07, PHI_INV_09]
    np.testing.assert_allclose(z[:5, 0], expected, atol=1e-6)  # top row: z₁ left to right
    np.testing.assert_allclose(z[::5, 1], expected[::-1], atol=1e-6)  # left column: z₂ down


def test_latent_manifold_tensor_and_nchw_outputs() -> None:
    def decode(z: np.ndarray) -> sn.Tensor:
        images = np.broadcast_to(z[:, :1, None, None], (len(z), 1, 6, 5))
        return sn.Tensor(np.ascontiguousarray(images))

    fig = viz.latent_manifold(decode, grid_size=2, latent_range=(0, 1), value_range=None)
    grid = np.asarray(_image(fig).get_array())
    assert grid.shape == (2 * 6 + 3, 2 * 5 + 3)  # image_shape (28, 28) ignored for NCHW
    assert np.all(_block(grid, 0, 1, 6, 5, 1) == 1.0)  # top-right: z₁ = 1


def test_latent_manifold_errors() -> None:
    with pytest.raises(ValueError, match=r"latent_manifold: decode returned shape \(3, 784\)"):
        viz.latent_manifold(lambda z: np.zeros((3, 784)), grid_size=2)
    with pytest.raises(ValueError, match=r"latent_manifold: image_shape=\(28, 28\)"):
        viz.latent_manifold(lambda z: np.zeros((len(z), 10)), grid_size=2)
    with pytest.raises(ValueError, match="latent_manifold: latent_range"):
        viz.latent_manifold(lambda z: z, latent_range=(1, -1))
    with pytest.raises(ValueError, match=r"latent_manifold: with norm_ppf=True .*\[-6, 6\]"):
        viz.latent_manifold(lambda z: z, latent_range=(-10, 10), norm_ppf=True)


# ---- plot_filters ---------------------------------------------------------------------------
def test_plot_filters_conv_weights_each_scaled_to_its_own_range() -> None:
    rng = np.random.default_rng(6)
    weights = rng.normal(size=(7, 2, 3, 3))
    fig = viz.plot_filters(weights, ncol=3, title="conv1")
    image = _image(fig)
    grid = np.ma.getdata(image.get_array())
    mask = np.ma.getmaskarray(image.get_array())
    assert grid.shape == (3 * 3 + 4, 3 * 3 + 4)  # 7 filters on a 3x3 grid
    mean = weights.mean(axis=1)
    for k in range(7):
        expected = mean[k] / np.abs(mean[k]).max()
        np.testing.assert_allclose(_block(grid, k // 3, k % 3, 3, 3, 1), expected)
    # Exactly 7 tiles are drawn; padding and the two empty cells are masked (NaN).
    assert (~mask).sum() == 7 * 9
    assert image.get_clim() == (-1.0, 1.0)
    assert image.get_cmap().name.startswith("RdBu_r")

    grid = np.ma.getdata(_image(viz.plot_filters(weights, channel=1)).get_array())
    np.testing.assert_allclose(_block(grid, 0, 0, 3, 3, 1),
                               weights[0, 1] / np.abs(weights[0, 1]).max())


def test_plot_filters_dense_columns_and_rbm_rows() -> None:
    rng = np.random.default_rng(7)
    dense = rng.normal(size=(20, 5))  # (n_in = 4*5, n_out = 5): one column per unit
    grid = np.ma.getdata(_image(viz.plot_filters(dense, image_shape=(4, 5))).get_array())
    unit = dense[:, 3].reshape(4, 5)
    np.testing.assert_allclose(_block(grid, 1, 0, 4, 5, 1), unit / np.abs(unit).max())

    rbm_w = rng.normal(size=(6, 20))  # RBM W: (n_hidden, n_visible), one row per unit
    image = _image(viz.plot_filters(rbm_w, image_shape=(4, 5)))
    assert (~np.ma.getmaskarray(image.get_array())).sum() == 6 * 20
    unit = rbm_w[4].reshape(4, 5)
    np.testing.assert_allclose(_block(np.ma.getdata(image.get_array()), 1, 1, 4, 5, 1),
                               unit / np.abs(unit).max())


def test_plot_filters_errors() -> None:
    with pytest.raises(ValueError, match=r"plot_filters: dense weights .* need image_shape"):
        viz.plot_filters(np.zeros((784, 10)))
    with pytest.raises(ValueError, match="plot_filters: neither dimension"):
        viz.plot_filters(np.zeros((30, 10)), image_shape=(28, 28))
    with pytest.raises(ValueError, match="plot_filters: channel=2 is out of range"):
        viz.plot_filters(np.zeros((4, 2, 3, 3)), channel=2)
    with pytest.raises(ValueError, match="plot_filters: expected conv weights"):
        viz.plot_filters(np.zeros(5))


# ---- save_figure and show -------------------------------------------------------------------
def test_save_figure_creates_folders_writes_png_and_closes(tmp_path: Path) -> None:
    fig = viz.image_grid(np.random.default_rng(8).uniform(size=(4, 8, 8)))
    open_before = len(plt.get_fignums())
    path = viz.save_figure(fig, tmp_path / "a" / "b" / "grid.png", dpi=50)
    assert path == tmp_path / "a" / "b" / "grid.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 100
    assert len(plt.get_fignums()) == open_before - 1
    assert fig.number not in plt.get_fignums()
    assert sorted(p.name for p in path.parent.iterdir()) == ["grid.png"]  # no temp file left

    no_suffix = viz.save_figure(viz.plot_history(HISTORY), str(tmp_path / "history"))
    assert no_suffix.name == "history.png" and no_suffix.stat().st_size > 0


def test_show_never_calls_plt_show_under_agg(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail() -> None:
        raise AssertionError("plt.show() called under a file-only backend")

    monkeypatch.setattr(plt, "show", fail)
    monkeypatch.setattr(matplotlib, "get_backend", lambda: "agg")
    assert viz.show(plt.figure()) is False


def test_show_calls_plt_show_with_an_interactive_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    monkeypatch.setattr(plt, "show", lambda: calls.append(True))
    monkeypatch.setattr(matplotlib, "get_backend", lambda: "TkAgg")
    assert viz.show(plt.figure()) is True and calls == [True]


# ---- headless backend selection -------------------------------------------------------------
def _backend_in_fresh_python(code: str, **env_overrides: str) -> str:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "MPLBACKEND")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env.update(env_overrides)
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().lower()


@pytest.mark.skipif(sys.platform in ("win32", "cygwin", "darwin"),
                    reason="the display check applies to Linux/BSD")
def test_headless_import_selects_agg() -> None:
    code = "import scratchnet.viz, matplotlib; print(matplotlib.get_backend())"
    assert _backend_in_fresh_python(code) == "agg"


def test_a_chosen_backend_is_kept() -> None:
    code = "import scratchnet.viz, matplotlib; print(matplotlib.get_backend())"
    assert _backend_in_fresh_python(code, MPLBACKEND="svg") == "svg"
    code = ("import matplotlib; matplotlib.use('pdf'); import scratchnet.viz; "
            "print(matplotlib.get_backend())")
    assert _backend_in_fresh_python(code) == "pdf"


def test_agg_rule_leaves_ipython_and_displays_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    used = []
    monkeypatch.setattr(matplotlib, "use", used.append)
    monkeypatch.setattr(viz, "_backend_chosen", lambda: False)
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)

    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=object))
    viz._use_agg_if_headless()  # inside a running IPython: leave the backend to it
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: None))
    viz._use_agg_if_headless()  # a display is available
    assert used == []
    monkeypatch.delenv("DISPLAY")
    viz._use_agg_if_headless()  # IPython imported but not running, no display: Agg
    assert used == ["Agg"]


def test_plot_history_of_one_epoch_has_one_whole_epoch_tick():
    history = History()
    history.record({"loss": 0.5})
    fig = viz.plot_history(history)
    ticks = [t for t in fig.axes[0].get_xticks() if 0.5 <= t <= 1.5]
    assert ticks == [1.0]
