"""Instruments for training: Module.register_full_backward_hook and monitor.TrainingMonitor."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import models, nn, optim, viz
from scratchnet.datasets import DataLoader
from scratchnet.monitor import TrainingMonitor, activation_stats, plot_monitor


def _leaf(values):
    return sn.Tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


# ---- Module.register_full_backward_hook --------------------------------------------------
def test_a_backward_hook_sees_the_gradients_of_a_dense_layer():
    rng = np.random.default_rng(0)
    layer = nn.Dense(3, 2).to("numpy")
    w, b = layer.weight.numpy(), layer.bias.numpy()
    x = _leaf(rng.normal(size=(4, 3)))
    seen = []
    layer.register_full_backward_hook(lambda m, gi, go: seen.append((m, gi, go)))
    y = layer(x)
    (y * y).sum().backward()  # dL/dy = 2y, dL/dx = 2y Wᵀ
    assert len(seen) == 1
    module, grad_input, grad_output = seen[0]
    assert module is layer and len(grad_input) == 1 and len(grad_output) == 1
    expected_gy = 2 * (x.numpy() @ w + b)
    np.testing.assert_allclose(grad_output[0].numpy(), expected_gy)
    np.testing.assert_allclose(grad_input[0].numpy(), expected_gy @ w.T)


def test_grad_input_counts_only_the_path_through_the_module():
    x = _leaf([[1.0, -2.0]])
    double = nn.Sequential(nn.Identity())
    seen = []
    double.register_full_backward_hook(lambda m, gi, go: seen.append(gi[0].numpy().copy()))
    y = double(x) * 3.0 + x * 5.0  # a residual path around the module
    y.sum().backward()
    np.testing.assert_allclose(seen[0], [[3.0, 3.0]])
    np.testing.assert_allclose(x.grad.numpy(), [[8.0, 8.0]])


def test_an_input_without_gradient_gives_none_and_the_hook_still_runs():
    layer = nn.Dense(2, 1)
    seen = []
    handle = layer.register_full_backward_hook(lambda m, gi, go: seen.append(gi))
    layer(np.ones((3, 2))).sum().backward()
    assert seen == [(None,)]
    handle.remove()
    layer(np.ones((3, 2))).sum().backward()
    assert len(seen) == 1
    with sn.no_grad():
        layer.register_full_backward_hook(lambda m, gi, go: seen.append(gi))
        layer(np.ones((3, 2)))  # no graph: nothing to watch, no error


def test_the_hook_runs_once_per_call_and_per_pass():
    layer = nn.Dense(2, 2)
    calls = []
    layer.register_full_backward_hook(lambda m, gi, go: calls.append(go[0].shape))
    x = _leaf(np.ones((5, 2)))
    loss = (layer(x).sum() + layer(layer(x)).sum())  # three calls
    loss.backward()
    assert len(calls) == 3
    sn.grad(loss, x)  # a second pass over the same graph runs them again
    assert len(calls) == 6


def test_register_full_backward_hook_refuses_what_cannot_work():
    layer = nn.Dense(2, 2)
    with pytest.raises(TypeError, match=r"Dense.register_full_backward_hook: expected a "
                                        r"callable hook\(module, grad_input, grad_output\), "
                                        r"got int"):
        layer.register_full_backward_hook(3)
    layer.register_full_backward_hook(lambda m, gi, go: go[0])
    with pytest.raises(TypeError, match="must return None"):
        layer(_leaf(np.ones((1, 2)))).sum().backward()


# ---- TrainingMonitor ------------------------------------------------------------------------
def _fit(model, x, y, epochs=1, batch_size=None, lr=0.1, **monitor_options):
    monitor = TrainingMonitor(**monitor_options)
    loader = DataLoader(x, y, batch_size=batch_size or len(x), shuffle=False)
    history = sn.train.fit(model, lambda m, a, b: ((m(a) - b) ** 2).mean(),
                           optim.SGD(model.parameters(), lr=lr), loader, epochs=epochs,
                           callbacks=[monitor], progress=False)
    return history, monitor


def test_a_relu_layer_pushed_below_zero_is_all_dead_and_gets_no_gradient():
    rng = np.random.default_rng(1)
    model = nn.Sequential(nn.Dense(4, 8, activation="relu"), nn.Dense(8, 1))
    model[0].bias.data[...] = -100.0  # every pre-activation far below 0
    x, y = rng.normal(size=(32, 4)), rng.normal(size=(32, 1))
    history, monitor = _fit(model, x, y, epochs=2)
    assert list(monitor.layers) == ["0", "1"]
    assert history["monitor/0/dead_fraction"] == [1.0, 1.0]
    assert history["monitor/0/grad_norm"] == [0.0, 0.0]
    assert history["monitor/0/update_ratio"] == [0.0, 0.0]
    assert history["monitor/1/grad_norm"][0] > 0  # its bias still learns
    assert "monitor/1/dead_fraction" not in history  # a linear output has no dead units


def test_grad_norm_and_update_ratio_match_a_hand_computation():
    rng = np.random.default_rng(2)
    layer = nn.Dense(3, 1)
    model = nn.Sequential(layer)
    x, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 1))
    w0, b0 = layer.weight.numpy().copy(), layer.bias.numpy().copy()
    history, _ = _fit(model, x, y, epochs=1, lr=0.1)  # one batch: one step
    residual = x @ w0 + b0 - y                       # L = mean(r²), ∂L/∂r = 2r / N
    g_w, g_b = x.T @ (2 * residual / 5), (2 * residual / 5).sum(axis=0)
    expected = np.sqrt((g_w ** 2).sum() + (g_b ** 2).sum())
    np.testing.assert_allclose(history["monitor/0/grad_norm"], [expected], rtol=1e-5)
    # SGD moves θ by 0.1·g: the ratio is 0.1·‖g‖ / ‖θ₀‖.
    size = np.sqrt((w0 ** 2).sum() + (b0 ** 2).sum())
    np.testing.assert_allclose(history["monitor/0/update_ratio"], [0.1 * expected / size],
                               rtol=1e-4)
    out = x @ w0 + b0  # the layer's output in the epoch's one step, before the update
    np.testing.assert_allclose(history["monitor/0/act_mean"], [out.mean()], rtol=1e-5)
    np.testing.assert_allclose(history["monitor/0/act_std"], [out.std()], rtol=1e-5)


def test_grad_norm_is_the_root_mean_square_over_the_epochs_steps():
    rng = np.random.default_rng(3)
    model = nn.Sequential(nn.Dense(2, 1))
    x, y = rng.normal(size=(8, 2)), rng.normal(size=(8, 1))
    norms = []
    for p in model.parameters():  # one norm per parameter and step, seen independently
        p.register_hook(lambda g, p=p: norms.append((id(p), float((g.numpy() ** 2).sum()))))
    history, _ = _fit(model, x, y, epochs=1, batch_size=4, lr=0.05)  # two steps
    assert len(norms) == 4
    np.testing.assert_allclose(history["monitor/0/grad_norm"],
                               [np.sqrt(sum(s for _, s in norms) / 2)], rtol=1e-6)


def test_saturated_tanh_and_sigmoid_outputs_are_counted():
    assert activation_stats(np.array([[0.999, 0.5], [-0.995, 0.0]]), "tanh") == {
        "act_mean": pytest.approx(0.126), "act_std": pytest.approx(
            np.std([0.999, 0.5, -0.995, 0.0])), "saturated_fraction": 0.5}
    stats = activation_stats(np.array([[0.001, 0.5, 0.999, 0.7]]), "sigmoid")
    assert stats["saturated_fraction"] == 0.5
    conv = np.zeros((2, 3, 4, 4))
    conv[1, 2, 3, 3] = 1.0  # one channel alive at one position of one example
    assert activation_stats(conv, "relu")["dead_fraction"] == pytest.approx(2 / 3)


def test_a_vae_gets_its_kl_per_unit_and_active_units():
    rng = np.random.default_rng(4)
    vae = models.mlp_vae(latent_dim=3, hidden=16, image_shape=(6,), rng=0)
    x = rng.random((40, 6))
    monitor = TrainingMonitor()
    history = sn.train.fit(vae, lambda m, a: m.loss(a), optim.Adam(vae.parameters()),
                           DataLoader(x, batch_size=20, shuffle=False), epochs=2,
                           callbacks=[monitor], progress=False)
    kl = [history[f"monitor/kl/{u}"][-1] for u in range(3)]
    np.testing.assert_allclose(kl, vae.kl_per_unit(x[20:]), rtol=1e-6)
    assert history["monitor/active_units"][-1] == sum(k > 0.01 for k in kl)
    assert any(k.startswith("monitor/encoder.") and k.endswith("/grad_norm") for k in history)
    fixed = TrainingMonitor(data=x[:10])  # a batch of one's own instead of the last one seen
    history = sn.train.fit(vae, lambda m, a: m.loss(a), optim.Adam(vae.parameters()),
                           DataLoader(x, batch_size=20, shuffle=False), epochs=1,
                           callbacks=[fixed], progress=False)
    np.testing.assert_allclose([history[f"monitor/kl/{u}"][-1] for u in range(3)],
                               vae.kl_per_unit(x[:10]), rtol=1e-6)


def test_a_gan_is_monitored_for_both_players_and_the_hooks_go_away():
    gan = models.GAN(models.mlp_generator(2, 2, hidden=(8,)),
                     models.mlp_discriminator(2, hidden=(8,)), latent_dim=2, rng=0)
    data = np.random.default_rng(5).normal(size=(64, 2))
    monitor = TrainingMonitor()
    history = sn.train.fit(gan, loader=DataLoader(data, batch_size=32), epochs=2,
                           callbacks=[monitor], progress=False)
    names = set(history)
    assert any(k.startswith("monitor/generator.") for k in names)
    assert any(k.startswith("monitor/discriminator.") for k in names)
    assert all(len(history[k]) == 2 for k in names)
    assert all(not layer._forward_hooks for layer in monitor.layers.values())


def test_plot_monitor_saves_a_figure_headless(tmp_path):
    rng = np.random.default_rng(6)
    model = nn.Sequential(nn.Dense(3, 4, activation="relu"), nn.Dense(4, 1, activation="tanh"))
    history, _ = _fit(model, rng.normal(size=(16, 3)), rng.normal(size=(16, 1)), epochs=3)
    fig = plot_monitor(history)
    titled = [ax for ax in fig.axes if ax.get_visible()]
    assert len(titled) == 5 and all(ax.get_xlabel() == "epoch" and ax.get_ylabel()
                                    for ax in titled)
    path = viz.save_figure(viz.plot_monitor(history), tmp_path / "monitor.png")
    assert path.stat().st_size > 10_000
    with pytest.raises(ValueError, match="plot_monitor: the history holds nothing"):
        plot_monitor({"loss": [1.0]})


def test_the_troubleshooting_figures_script_runs_in_quick_mode(tmp_path):
    script = Path(__file__).parents[1] / "docs" / "make_troubleshooting_figures.py"
    spec = importlib.util.spec_from_file_location("make_troubleshooting_figures", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    saved = module.main(tmp_path, quick=True)
    assert sorted(p.name for p in saved) == sorted(p.name for p in tmp_path.iterdir())
    assert {p.name for p in saved} >= {"gan_healthy_monitor.png", "gan_d_wins_monitor.png"}
    assert all(p.stat().st_size > 10_000 for p in saved)


def test_training_monitor_refuses_settings_out_of_range():
    with pytest.raises(ValueError, match="TrainingMonitor: saturation must be"):
        TrainingMonitor(saturation=0.7)
    with pytest.raises(ValueError, match="TrainingMonitor: active_threshold must be"):
        TrainingMonitor(active_threshold=-1.0)
    with pytest.raises(TypeError, match="plot_monitor: expected the History that fit "
                                        "returned, got list"):
        plot_monitor([1.0])


def test_a_frozen_layer_is_monitored_without_a_gradient():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((16, 3)), rng.standard_normal((16, 1))
    model = nn.Sequential(nn.Dense(3, 4, activation="relu", rng=0), nn.Dense(4, 1, rng=1))
    for p in model[0].parameters():
        p.requires_grad_(False)  # fine-tuning only the last layer
    history = sn.train.fit(model, lambda m, a, b: ((m(a) - b) ** 2).mean(),
                           optim.SGD(model[1].parameters(), lr=0.1),
                           DataLoader(x, y, batch_size=8), epochs=2, progress=False,
                           callbacks=[TrainingMonitor()])
    frozen = [k for k in history if k.startswith("monitor/0/") and k.endswith("grad_norm")]
    trained = [k for k in history if k.startswith("monitor/1/") and k.endswith("grad_norm")]
    assert frozen and trained
    assert all(np.isnan(v) for v in history[frozen[0]])
    assert all(v > 0 for v in history[trained[0]])


def test_a_backward_hook_reports_nothing_left_over_from_an_earlier_pass():
    class Product(nn.Module):
        def forward(self, a, b):
            return a * b

    module, calls = Product(), []
    module.register_full_backward_hook(
        lambda m, gi, go: calls.append([None if g is None else g.numpy().tolist() for g in gi]))
    a, b = _leaf([1.0, 1.0]), _leaf([2.0, 2.0])
    out = module(a, b)
    sn.grad(out.sum(), [a])  # b's gradient is never computed: the hook cannot run
    assert calls == []
    out.sum().backward()  # a full pass: both gradients, this pass's only
    assert calls == [[[2.0, 2.0], [1.0, 1.0]]]
