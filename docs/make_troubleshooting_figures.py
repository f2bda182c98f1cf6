"""Make the figures of docs/troubleshooting.md: the training monitor, healthy and failing.

    python docs/make_troubleshooting_figures.py [OUTPUT_FOLDER] [--quick]

OUTPUT_FOLDER defaults to docs/figures. ``--quick`` trains for a few steps only (the
figures are then meaningless; tests/test_monitor.py uses it to check that the script runs).

Two small runs of each kind, on the CPU, each well under a minute:

* a 2-D GAN on the ring of 8 Gaussians (lesson 10's data, smaller networks, 500 steps),
  once with lesson 10's settings (healthy) and once with the discriminator given a
  learning rate 10x too high, five steps per generator step and the minimax generator
  loss (the discriminator wins);
* a small ReLU network fitting a 1-D curve, once with a sensible learning rate and once
  with one so high that most hidden units die in the first steps.

Each run prints its time. The figures are generated, never committed (docs/figures/ is
in .gitignore).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import scratchnet as sn
from scratchnet import models, nn, optim, viz
from scratchnet.datasets import DataLoader, StreamLoader, make_ring
from scratchnet.metrics import ring_coverage
from scratchnet.monitor import TrainingMonitor, plot_monitor

GAN_EPOCHS, GAN_BATCHES = 20, 25   # 500 steps of 128 fresh ring samples
RELU_EPOCHS = 15


def train_gan(failing: bool, monitor: bool = True, epochs: int = GAN_EPOCHS,
              batches: int = GAN_BATCHES) -> tuple[sn.train.History, np.ndarray, float]:
    """A 2-D GAN on the ring, ``epochs`` x ``batches`` steps: (History, 2,500 samples, seconds)."""
    gan = models.GAN(models.mlp_generator(2, 2, hidden=(64, 64), rng=1),
                     models.mlp_discriminator(2, hidden=(64, 64), rng=2), latent_dim=2,
                     loss="minimax" if failing else "non_saturating",
                     d_steps=5 if failing else 1, rng=0)
    optimizers = gan.configure_optimizers(lr=1e-3, d_lr=1e-2 if failing else 1e-3)
    loader = StreamLoader(lambda n, rng: make_ring(n, rng=rng)[0], batch_size=128,
                          batches=batches, rng=0)
    start = time.perf_counter()
    history = sn.train.fit(gan, optimizer=optimizers, loader=loader, epochs=epochs,
                           callbacks=[TrainingMonitor()] if monitor else [], progress=False)
    seconds = time.perf_counter() - start
    return history, gan.sample(2500, rng=1).numpy(), seconds


def train_relu_net(lr: float, epochs: int = RELU_EPOCHS) -> sn.train.History:
    """A 1-64-64-1 ReLU network fitting sin(3x) on [-2, 2] with SGD at rate ``lr``."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, size=(512, 1))
    y = np.sin(3 * x)
    sn.random.manual_seed(0)  # the layers' initial weights come from the library generator
    model = nn.Sequential(nn.Dense(1, 64, activation="relu"),
                          nn.Dense(64, 64, activation="relu"), nn.Dense(64, 1))
    return sn.train.fit(model, lambda m, a, b: ((m(a) - b) ** 2).mean(),
                        optim.SGD(model.parameters(), lr=lr),
                        DataLoader(x, y, batch_size=32, rng=0), epochs=epochs,
                        callbacks=[TrainingMonitor()], progress=False)


def samples_figure(runs: dict[str, np.ndarray]) -> plt.Figure:
    """The GANs' samples over the ring's 8 centres, one panel per run."""
    _, centers = make_ring(8, rng=0)
    fig, axes = plt.subplots(1, len(runs), figsize=(4.6 * len(runs), 4.4), squeeze=False)
    for ax, (title, points) in zip(axes[0], runs.items(), strict=True):
        modes, quality = ring_coverage(points, centers, std=0.01)
        ax.scatter(points[:, 0], points[:, 1], s=2, alpha=0.4, color="tab:blue",
                   label="generated")
        ax.scatter(centers[:, 0], centers[:, 1], s=40, marker="x", color="k",
                   label="the 8 real modes")
        ax.set(xlabel="x₁ (data units)", ylabel="x₂ (data units)", aspect="equal",
               xlim=(-1.6, 1.6), ylim=(-1.6, 1.6),
               title=f"{title}\n{modes} of 8 modes covered, {quality:.1%} high quality")
        ax.title.set_fontsize(9)
        ax.legend(fontsize=7, loc="lower right")
    fig.suptitle("2,500 samples after training: does the generator put its samples on the "
                 "8 real modes (x)?", fontsize=10)
    fig.tight_layout()
    return fig


def main(folder: Path, quick: bool = False) -> list[Path]:
    """Train the four runs and save their figures into ``folder``; returns the paths."""
    gan_steps = {"epochs": 2, "batches": 2} if quick else {}
    relu_epochs = 2 if quick else RELU_EPOCHS
    saved = []
    healthy, healthy_samples, seconds = train_gan(failing=False, **gan_steps)
    print(f"healthy GAN: {seconds:.1f} s")
    failing, failing_samples, seconds = train_gan(failing=True, **gan_steps)
    print(f"failing GAN: {seconds:.1f} s")
    saved.append(viz.save_figure(plot_monitor(
        healthy, title="healthy 2-D GAN (lesson 10's settings): D(x) ≈ D(G(z)) ≈ 0.5, "
                       "gradients steady"), folder / "gan_healthy_monitor.png"))
    saved.append(viz.save_figure(plot_monitor(
        failing, title="failing 2-D GAN (D's learning rate 10x, 5 D steps, minimax loss): "
                       "D(x) → 1, D(G(z)) → 0"), folder / "gan_d_wins_monitor.png"))
    saved.append(viz.save_figure(samples_figure(
        {"healthy": healthy_samples, "D wins": failing_samples}), folder / "gan_samples.png"))
    for name, lr in (("relu_healthy", 0.05), ("relu_dead", 0.6)):
        start = time.perf_counter()
        history = train_relu_net(lr, relu_epochs)
        print(f"ReLU network, SGD lr {lr}: {time.perf_counter() - start:.1f} s, dead "
              f"fractions at the end: " + ", ".join(
                  f"{k.split('/')[1]}: {v[-1]:.2f}" for k, v in history.items()
                  if k.endswith("dead_fraction")))
        saved.append(viz.save_figure(plot_monitor(
            history, title=f"ReLU network fitting sin(3x), SGD learning rate {lr}"),
            folder / f"{name}_monitor.png"))
    return saved


if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if a != "--quick"]
    target = Path(arguments[0]) if arguments else Path(__file__).parent / "figures"
    for path in main(target, quick="--quick" in sys.argv[1:]):
        print("saved", path)
