#!/usr/bin/env python
"""Whole-model benchmark: training steps of the course's models, scratchnet against PyTorch CPU,
and PCA against scikit-learn.

Each workload is one training step of a whole model, float32, run side by side in one
process: the same initial weights (scratchnet's, copied into PyTorch), the same batch, the
same noise (drawn by the same NumPy code for both). One "step" is: gradients reset, forward,
loss, backward, Adam update.

1. ``vae.step``: the reference VAE ``scratchnet.models.mlp_vae`` (784-400-20, ReLU),
   batch 128 of Bernoulli-binarised MNIST digits, loss −mean ELBO (Bernoulli likelihood on
   the decoder's logits, BCE with logits; one reparameterised z per image), Adam lr 1e-3.
   PyTorch runs ``bench_vae.torch_model``, the same network written with ``nn.Linear``.
2. ``conv_ae.step``: the course's convolutional autoencoder
   (``scratchnet.models.conv_autoencoder``, lesson 06): 28×28 digits padded to 32×32, three
   Conv2D 3×3 "same" + ReLU + MaxPool 2 (16, 8, 8 channels), three ConvTranspose2D 3×3
   stride 2 "same" (8, 16, 1 channels; ReLU, ReLU, sigmoid), cropped back to 28×28; batch
   128 of grey digits, MSE loss, Adam lr 1e-3. PyTorch: ``nn.Conv2d``, ``nn.MaxPool2d``,
   ``nn.ConvTranspose2d(..., stride=2, padding=1, output_padding=1)``. As ``bench_conv.py``
   explains, that transposed convolution crops its odd row and column at the top/left,
   where scratchnet's (Keras') "same" crops them at the bottom/right: the outputs are
   shifted by a pixel, but the work is the same, and that is what is timed. The checks
   compare scratchnet with PyTorch's ``padding=0`` output cropped at the bottom/right, and
   the timed PyTorch model with scratchnet's ``padding=((1, 0), (1, 0))``.
3. ``dcgan.step``: one ``models.GAN(G, D, 64).training_step(real, optimizers)`` with
   ``G = models.dcgan_generator(64, 64)`` and ``D = models.dcgan_discriminator(64)``:
   non-saturating loss, one D step on 64 real and 64 fresh fake 28×28 images, then one G
   step on 64 fresh fakes through a D whose weights are held constant; two Adam optimizers,
   lr 2e-4, betas (0.5, 0.999), each step guarded by ``sn.train.minimize``'s check that the
   loss and the gradients are finite. PyTorch: the same algorithm written with
   ``binary_cross_entropy_with_logits`` and ``D.requires_grad_(False)`` for the G step.
4. ``pca.fit``: ``scratchnet.models.PCA(128).fit(X)`` (128 components, as lesson 03) on the
   bundled MNIST training split, 4,000 × 784 float32, against
   ``sklearn.decomposition.PCA(128, svd_solver="full").fit(X)``. Both compute an exact
   SVD of the centred data and keep the first rows, with the same sign convention:
   ``svd_solver="full"`` runs ``scipy.linalg.svd`` (LAPACK gesdd) on it, scratchnet's
   PCA runs ``numpy.linalg.svd`` on the factor R of the QR decomposition of the centred
   columns that vary, which has the same singular values and right singular vectors
   (the bundled split has 125 blank pixels, so R is 659×659; see ``models/pca.py``).
   scikit-learn's default, ``"auto"``, would pick its randomized solver for this shape:
   faster, but an approximation, so not the same computation.
   Without scikit-learn (or with ``--no-sklearn``) the row shows scratchnet only.

Before timing, each model takes one step in both libraries from the same weights and data
(models made for the check, so the timed ones start fresh): the losses must agree to 1e-4
of their value and every gradient to 1e-4 of its array's largest (for the GAN: both
losses, and D's and G's gradients after the step, G's taken through the updated D). For
PCA, which has no state, the last timed fits are compared: the explained variances must
agree to 1e-4 and the two 128-dimensional subspaces must coincide (largest principal angle
below 1e-3 rad). The checks are printed and stored in the JSON.

Usage (from the repository root)::

    python benchmarks/bench_models.py --threads 1    # ~1.5 min on 2 cores, at most ~2 min
    python benchmarks/bench_models.py --quick        # a few seconds: a smoke test
    python benchmarks/bench_models.py --threads 1 --json benchmarks/results/models.json
    python benchmarks/bench_models.py --no-torch --no-sklearn   # scratchnet only

The options, the timing method (after warm-up, one run of each library in turn, stopping
early once a time budget is used; each ratio the median of the per-pair ratios; medians and
interquartile ranges), the load measurement (a busy machine marks the run NOISY) and the
machine description are those of ``bench_autograd.py``, from the same ``harness.py``;
``--no-sklearn`` is this script's own. The JSON layout (schema 2) is theirs too, with one
field added to each row, ``"reference"``: the library scratchnet is compared with,
``"pytorch"`` or ``"sklearn"``; the reference's median, spread and number of runs are under
that key::

    {"name": "pca.fit", "unit": "ms/fit", "reference": "sklearn",
     "scratchnet": float, "sklearn": float | null, "ratio": float | null,
     "ratio_spread": {"q1", "q3", "min", "max"} | null,
     "target": 1.0, "meets_target": bool | null, "headline": true,
     "spread": {"scratchnet": {"q1", "q3", "min", "max"}, "sklearn": {...} | null},
     "repeats": {"scratchnet": int, "sklearn": int | null}}

so ``row[row["reference"]]`` is the reference's median, and the three PyTorch rows read
exactly like ``bench_autograd.py``'s. ``ratio`` = the median over the pairs of scratchnet /
reference.

Targets: ``vae.step`` at most 1.3× PyTorch's time and ``pca.fit`` 1.0× scikit-learn's, at
any thread count; ``conv_ae.step`` and ``dcgan.step`` at most 1.1× PyTorch's at one thread
(``--threads 1``). With more threads those two are reported without a target (``target``
null, ``headline`` true): how well each library spreads a small network over the cores is
worth seeing, but it is not what the targets are about. Missing a target is reported, not
an error: the exit status is 0.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Callable
from typing import Any

from bench_vae import torch_model as torch_vae_model
from harness import (  # benchmarks/harness.py: this folder is first on sys.path
    LoadMonitor,
    Plan,
    configure_threads,
    import_scratchnet,
    import_torch,
    machine_info,
    markdown_table,
    parse_args,
    pin_allocator,
    print_checks_and_json,
    print_header,
    run_interleaved,
    workload_row,
)

BATCH = 128  # VAE and conv AE
VAE_LATENT, VAE_HIDDEN, VAE_LR = 20, 400, 1e-3
AE_LR = 1e-3
GAN_BATCH, GAN_LATENT, GAN_WIDTH = 64, 64, 64
GAN_LR, GAN_BETAS = 2e-4, (0.5, 0.999)
PCA_COMPONENTS = 128  # lesson 03's
PCA_SVD_SOLVER = "full"  # scikit-learn's solver that does what scratchnet's PCA does
SEED = 0  # weights, binarisation and noise

TARGETS = {"vae.step": 1.3, "conv_ae.step": 1.1, "dcgan.step": 1.1, "pca.fit": 1.0}
ONE_THREAD_ONLY = ("conv_ae.step", "dcgan.step")  # informative at more threads
REFERENCE_TITLES = {"pytorch": "PyTorch", "sklearn": "scikit-learn"}
CHECK_TOL = 1e-4  # largest difference, relative to the largest value (float32)
ANGLE_TOL = 1e-3  # radians: the largest principal angle between the two PCA subspaces

# The checks run the models once before the timing, which warms up their code paths, so the
# quick runs need no warm-up runs of their own.
FULL = {"vae": Plan(warmup=3, repeats=100, budget_s=10.0),
        "conv_ae": Plan(warmup=2, repeats=60, budget_s=12.0),
        "dcgan": Plan(warmup=1, repeats=30, budget_s=16.0),
        "pca": Plan(warmup=1, repeats=10, budget_s=12.0)}
QUICK = {"vae": Plan(warmup=0, repeats=2, budget_s=0.2),
         "conv_ae": Plan(warmup=0, repeats=2, budget_s=0.2),
         "dcgan": Plan(warmup=0, repeats=1, budget_s=0.0),
         "pca": Plan(warmup=0, repeats=1, budget_s=0.0)}


# The three training steps, as the JSON's settings describe them (bench_memory.py too).
MODEL_SETTINGS = {
    "vae": {"model": "models.mlp_vae", "sizes": [784, VAE_HIDDEN, VAE_LATENT],
            "batch": BATCH, "input": "Bernoulli-binarised once", "lr": VAE_LR,
            "loss": "-mean ELBO, Bernoulli likelihood (BCE with logits)"},
    "conv_ae": {"model": "models.conv_autoencoder(loss='mse')", "batch": BATCH,
                "input": "grey 28x28, padded to 32x32 inside the model",
                "lr": AE_LR, "loss": "mse",
                "pytorch_upsampling": "ConvTranspose2d(stride=2, padding=1, output_padding=1)"},
    "dcgan": {"model": f"models.GAN(dcgan_generator({GAN_LATENT}, {GAN_WIDTH}), "
                       f"dcgan_discriminator({GAN_WIDTH}))", "batch": GAN_BATCH,
              "loss": "non_saturating", "lr": GAN_LR, "betas": list(GAN_BETAS), "d_steps": 1},
}


def targets_for(threads: int) -> dict[str, float | None]:
    """Each row's target at this thread count (see the module's docstring)."""
    return {name: None if threads > 1 and name in ONE_THREAD_ONLY else target
            for name, target in TARGETS.items()}


def _models_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-sklearn", action="store_true",
                        help="skip scikit-learn (the pca.fit row) even when it is installed")


def import_sklearn_pca(skip: bool) -> Any:
    """scikit-learn's PCA class, or None (skipped, or not installed)."""
    if skip:
        return None
    try:
        from sklearn.decomposition import PCA
    except ImportError:
        return None
    return PCA


# --------------------------------------------------------------------------------------
# Shared plumbing: matching layers, copying weights, comparing gradients
# --------------------------------------------------------------------------------------
def weighted_layers(sn: Any, torch: Any, sn_model: Any, t_model: Any) -> list[tuple[Any, Any]]:
    """The layers that hold weights, paired in order: (scratchnet layer, PyTorch layer)."""
    ours = [m for m in sn_model.modules() if isinstance(m, (
        sn.nn.Dense, sn.nn.Conv2D, sn.nn.ConvTranspose2D, sn.nn.BatchNorm1D, sn.nn.BatchNorm2D))]
    nn = torch.nn
    theirs = [m for m in t_model.modules() if isinstance(m, (
        nn.Linear, nn.Conv2d, nn.ConvTranspose2d, nn.BatchNorm1d, nn.BatchNorm2d))]
    return list(zip(ours, theirs, strict=True))


def _as_torch_layout(sn: Any, layer: Any, array: Any) -> Any:
    """Dense weights are (in, out) in scratchnet and (out, in) in nn.Linear; the rest agree."""
    is_dense_weight = isinstance(layer, sn.nn.Dense) and array.ndim == 2
    return array.T if is_dense_weight else array


def copy_weights(np: Any, sn: Any, torch: Any, sn_model: Any, t_model: Any) -> None:
    """Give the PyTorch model scratchnet's weights and biases."""
    with torch.no_grad():
        for mine, theirs in weighted_layers(sn, torch, sn_model, t_model):
            for name in ("weight", "bias"):
                array = _as_torch_layout(sn, mine, getattr(mine, name).data)
                getattr(theirs, name).copy_(torch.from_numpy(np.ascontiguousarray(array)))


def _relative_error(np: Any, ours: Any, theirs: Any) -> float:
    if ours.shape != theirs.shape:
        return float("inf")
    return float(np.abs(ours - theirs).max()) / (float(np.abs(theirs).max()) + 1e-30)


def gradient_error(np: Any, sn: Any, torch: Any, sn_model: Any, t_model: Any) -> float:
    """The worst gradient difference over all weights and biases, each relative to the
    largest gradient of its array (but at least to 1/1000 of the model's largest gradient).

    The floor is for the biases of the layers just before a BatchNorm: normalising removes
    any constant shift, so their gradient is exactly zero, and what each library computes
    for it is round-off (~1e-10 here), which no relative comparison can match.
    """
    pairs = []
    for mine, theirs in weighted_layers(sn, torch, sn_model, t_model):
        for name in ("weight", "bias"):
            ours, other = getattr(mine, name).grad, getattr(theirs, name).grad
            if ours is None or other is None:
                return float("inf")  # one library left a gradient out
            pairs.append((_as_torch_layout(sn, mine, ours.data), other.numpy()))
    floor = 1e-3 * max(float(np.abs(other).max()) for _, other in pairs)
    return max(float(np.abs(ours - other).max()) / max(float(np.abs(other).max()), floor)
               if ours.shape == other.shape else float("inf") for ours, other in pairs)


def loss_checks(name: str, losses: dict[str, tuple[float, float]], grad_error: float,
                what: str) -> list[dict[str, Any]]:
    """Checks that each loss (scratchnet, PyTorch) and the gradients agree."""
    loss_error = max(abs(a - b) / (abs(b) + 1e-30) for a, b in losses.values())
    shown = ", ".join(f"{key} {a:.6f} / {b:.6f}" for key, (a, b) in losses.items())
    return [{"name": f"{name}.loss_matches_pytorch", "ok": loss_error <= CHECK_TOL,
             "detail": f"{what}: scratchnet / pytorch {shown}"},
            {"name": f"{name}.grads_match_pytorch", "ok": grad_error <= CHECK_TOL,
             "detail": f"{what}: largest gradient difference {grad_error:.2e} of the "
                       "largest gradient of its array (every weight and bias)"}]


# --------------------------------------------------------------------------------------
# Data: the bundled MNIST training split, the same arrays for every library
# --------------------------------------------------------------------------------------
def load_data(np: Any, sn: Any) -> dict[str, Any]:
    images, _ = sn.datasets.load_mnist("train", source="bundled")  # (4000, 1, 28, 28) in [0, 1]
    return {
        "vae": sn.datasets.random_binarize(images[:BATCH], np.random.default_rng(SEED)),
        "conv_ae": np.ascontiguousarray(images[:BATCH]),
        "dcgan": np.ascontiguousarray(images[:GAN_BATCH]),
        "pca": np.ascontiguousarray(images.reshape(len(images), -1)),
    }


# --------------------------------------------------------------------------------------
# Workload 1: the MLP VAE
# --------------------------------------------------------------------------------------
def scratchnet_vae(sn: Any, np: Any, x: Any) -> tuple[Any, Callable[[], float]]:
    model = sn.models.mlp_vae(latent_dim=VAE_LATENT, hidden=VAE_HIDDEN, rng=SEED)
    model.rng = np.random.default_rng([SEED, 1])  # the noise ε, as the PyTorch side draws it
    optimizer = sn.optim.Adam(model.parameters(), lr=VAE_LR)
    x = sn.Tensor(x)

    def step() -> float:
        optimizer.zero_grad()
        loss = model.loss(x)  # −mean ELBO
        loss.backward()
        optimizer.step()
        return loss.item()

    return model, step


def torch_vae(sn: Any, np: Any, torch: Any, sn_model: Any, x: Any
              ) -> tuple[Any, Callable[[], float]]:
    model = torch_vae_model(sn, torch, sn_model)  # bench_vae's TorchVAE, scratchnet's weights
    optimizer = torch.optim.Adam(model.parameters(), lr=VAE_LR)
    rng = np.random.default_rng([SEED, 1])
    x = torch.from_numpy(x.copy())

    def step() -> float:
        optimizer.zero_grad()
        # TorchVAE.elbo with ε drawn by the same NumPy code as scratchnet's (same ε, same cost).
        mu, logvar = model.encode(x)
        eps = torch.from_numpy(rng.standard_normal(mu.shape).astype(np.float32))
        z = mu + torch.exp(0.5 * logvar) * eps
        kl = 0.5 * (torch.exp(logvar) + mu * mu - 1.0 - logvar).sum(dim=1)
        loss = -(model.log_likelihood(x, z) - kl).mean()
        loss.backward()
        optimizer.step()
        return loss.item()

    return model, step


# --------------------------------------------------------------------------------------
# Workload 2: the convolutional autoencoder
# --------------------------------------------------------------------------------------
def scratchnet_conv_ae(sn: Any, x: Any) -> tuple[Any, Callable[[], float]]:
    model = sn.models.conv_autoencoder(rng=SEED, loss="mse")
    optimizer = sn.optim.Adam(model.parameters(), lr=AE_LR)
    x = sn.Tensor(x)

    def step() -> float:
        optimizer.zero_grad()
        loss = model.loss(x)  # mean squared error of the reconstruction
        loss.backward()
        optimizer.step()
        return loss.item()

    return model, step


def torch_conv_ae_model(torch: Any, keras_same: bool = False) -> Any:
    """The conv autoencoder in PyTorch. ``keras_same=True`` upsamples exactly as
    scratchnet's "same" (for the checks); the default is the usual PyTorch call (timed)."""
    nn, TF = torch.nn, torch.nn.functional

    class TorchConvAE(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.convs = nn.ModuleList([nn.Conv2d(1, 16, 3, padding=1),
                                        nn.Conv2d(16, 8, 3, padding=1),
                                        nn.Conv2d(8, 8, 3, padding=1)])
            self.pool = nn.MaxPool2d(2)
            self.deconvs = nn.ModuleList([
                nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1)
                for c_in, c_out in ((8, 8), (8, 16), (16, 1))])

        def upsample(self, layer: Any, h: Any) -> Any:
            if keras_same:  # out = 2·in + 1, minus the last row and column
                return TF.conv_transpose2d(h, layer.weight, layer.bias, stride=2)[:, :, :-1, :-1]
            return layer(h)  # padding=1, output_padding=1: out = 2·in, cropped at the top/left

        def forward(self, x: Any) -> Any:
            h = TF.pad(x, (2, 2, 2, 2))  # 28×28 -> 32×32
            for conv in self.convs:
                h = self.pool(TF.relu(conv(h)))
            for i, deconv in enumerate(self.deconvs):
                h = self.upsample(deconv, h)
                h = torch.sigmoid(h) if i == len(self.deconvs) - 1 else TF.relu(h)
            return h[:, :, 2:-2, 2:-2]  # back to 28×28

    return TorchConvAE()


def torch_conv_ae(np: Any, sn: Any, torch: Any, sn_model: Any, x: Any, keras_same: bool = False
                  ) -> tuple[Any, Callable[[], float]]:
    model = torch_conv_ae_model(torch, keras_same)
    copy_weights(np, sn, torch, sn_model, model)
    optimizer = torch.optim.Adam(model.parameters(), lr=AE_LR)
    x = torch.from_numpy(x.copy())

    def step() -> float:
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), x)
        loss.backward()
        optimizer.step()
        return loss.item()

    return model, step


# --------------------------------------------------------------------------------------
# Workload 3: DCGAN, one discriminator step and one generator step
# --------------------------------------------------------------------------------------
def scratchnet_dcgan(sn: Any, np: Any, real: Any) -> tuple[Any, Callable[[], dict]]:
    generator = sn.models.dcgan_generator(GAN_LATENT, GAN_WIDTH, rng=SEED)
    discriminator = sn.models.dcgan_discriminator(GAN_WIDTH, rng=SEED + 1)
    gan = sn.models.GAN(generator, discriminator, GAN_LATENT, loss="non_saturating",
                        rng=np.random.default_rng([SEED, 2]))
    optimizers = gan.configure_optimizers(lr=GAN_LR, betas=GAN_BETAS)
    real = sn.Tensor(real)
    return gan, lambda: gan.training_step(real, optimizers)


def torch_dcgan_models(torch: Any) -> tuple[Any, Any]:
    """DCGAN's generator and discriminator for 28×28 images, as scratchnet's builders."""
    nn = torch.nn
    w = GAN_WIDTH
    generator = nn.Sequential(
        nn.Linear(GAN_LATENT, 2 * w * 49), nn.BatchNorm1d(2 * w * 49), nn.ReLU(),
        nn.Unflatten(1, (2 * w, 7, 7)),
        nn.ConvTranspose2d(2 * w, w, 4, stride=2, padding=1), nn.BatchNorm2d(w), nn.ReLU(),
        nn.ConvTranspose2d(w, 1, 4, stride=2, padding=1), nn.Sigmoid())
    discriminator = nn.Sequential(
        nn.Conv2d(1, w, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
        nn.Conv2d(w, 2 * w, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(2 * w * 49, 1))
    return generator, discriminator


def torch_dcgan(np: Any, sn: Any, torch: Any, gan: Any, real: Any
                ) -> tuple[tuple[Any, Any], Callable[[], dict]]:
    """GAN.training_step written in PyTorch: the same losses, the same order, the same z."""
    generator, discriminator = torch_dcgan_models(torch)
    copy_weights(np, sn, torch, gan.generator, generator)
    copy_weights(np, sn, torch, gan.discriminator, discriminator)
    g_optimizer = torch.optim.Adam(generator.parameters(), lr=GAN_LR, betas=GAN_BETAS)
    d_optimizer = torch.optim.Adam(discriminator.parameters(), lr=GAN_LR, betas=GAN_BETAS)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    rng = np.random.default_rng([SEED, 2])
    real = torch.from_numpy(real.copy())
    n = len(real)
    ones, zeros = torch.ones(n), torch.zeros(n)

    def noise() -> Any:  # z ~ N(0, I) from NumPy, as GAN.sample_latent draws it
        return torch.from_numpy(rng.standard_normal((n, GAN_LATENT)).astype(np.float32))

    def step() -> dict[str, float]:
        generator.train()
        discriminator.train()
        # Discriminator: real images are labelled 1, fresh fakes 0.
        d_optimizer.zero_grad()
        with torch.no_grad():
            fake = generator(noise())
        real_score = discriminator(real).reshape(n)
        fake_score = discriminator(fake).reshape(n)
        d_loss = bce(real_score, ones) + bce(fake_score, zeros)
        d_loss.backward()
        d_optimizer.step()
        # Generator (non-saturating): fresh fakes labelled 1, through a constant D.
        g_optimizer.zero_grad()
        discriminator.requires_grad_(False)
        g_loss = bce(discriminator(generator(noise())).reshape(n), ones)
        g_loss.backward()
        discriminator.requires_grad_(True)
        g_optimizer.step()
        return {"d_loss": d_loss.item(), "d_real": torch.sigmoid(real_score).mean().item(),
                "d_fake": torch.sigmoid(fake_score).mean().item(), "g_loss": g_loss.item()}

    return (generator, discriminator), step


# --------------------------------------------------------------------------------------
# Workload 4: PCA
# --------------------------------------------------------------------------------------
def scratchnet_pca(sn: Any, X: Any) -> Callable[[], Any]:
    return lambda: sn.models.PCA(PCA_COMPONENTS).fit(X)


def sklearn_pca(sklearn_pca_class: Any, X: Any) -> Callable[[], Any]:
    return lambda: sklearn_pca_class(PCA_COMPONENTS, svd_solver=PCA_SVD_SOLVER).fit(X)


def check_pca(np: Any, sn: Any, ours: Any, theirs: Any | None) -> list[dict[str, Any]]:
    variance = ours.explained_variance_
    checks = [{"name": "pca.scratchnet_sane", "ok": bool(np.isfinite(variance).all())
               and bool((np.diff(variance) <= 0).all()) and ours.components_.shape
               == (PCA_COMPONENTS, 784),
               "detail": f"components {ours.components_.shape}, variances finite and "
                         f"descending, {ours.explained_variance_ratio_.sum():.1%} of the total"}]
    if theirs is None:
        return checks
    variance_error = _relative_error(np, variance, theirs.explained_variance_)
    angle = float(sn.metrics.subspace_angles(ours.components_.T, theirs.components_.T).max())
    gap = float(ours.spectrum_[PCA_COMPONENTS - 1] / ours.spectrum_[PCA_COMPONENTS])
    checks.append({"name": "pca.explained_variance_matches_sklearn",
                   "ok": variance_error <= CHECK_TOL,
                   "detail": f"largest difference {variance_error:.2e} of the largest variance"})
    checks.append({"name": "pca.subspace_matches_sklearn", "ok": angle <= ANGLE_TOL,
                   "detail": f"largest principal angle {angle:.2e} rad between the "
                             f"{PCA_COMPONENTS}-dimensional subspaces (eigengap "
                             f"λ{PCA_COMPONENTS}/λ{PCA_COMPONENTS + 1} = {gap:.3f})"})
    return checks


# --------------------------------------------------------------------------------------
# Checks for the three PyTorch workloads, on models made for the check
# --------------------------------------------------------------------------------------
def check_vae(np: Any, sn: Any, torch: Any, x: Any) -> list[dict[str, Any]]:
    sn_model, sn_step = scratchnet_vae(sn, np, x)
    if torch is None:
        loss = sn_step()
        return [{"name": "vae.scratchnet_finite", "ok": bool(np.isfinite(loss)),
                 "detail": f"−ELBO {loss:.4f} nats per image"}]
    t_model, t_step = torch_vae(sn, np, torch, sn_model, x)  # copies the initial weights
    losses = {"−elbo": (sn_step(), t_step())}
    grad_error = gradient_error(np, sn, torch, sn_model, t_model)
    return loss_checks("vae", losses, grad_error, "one step from the same weights and ε")


def check_conv_ae(np: Any, sn: Any, torch: Any, x: Any) -> list[dict[str, Any]]:
    sn_model, sn_step = scratchnet_conv_ae(sn, x)
    if torch is None:
        loss = sn_step()
        return [{"name": "conv_ae.scratchnet_finite", "ok": bool(np.isfinite(loss)),
                 "detail": f"mse {loss:.5f}"}]
    # scratchnet's "same" against PyTorch computing exactly that.
    t_model, t_step = torch_conv_ae(np, sn, torch, sn_model, x, keras_same=True)
    losses = {"mse": (sn_step(), t_step())}
    checks = loss_checks("conv_ae", losses, gradient_error(np, sn, torch, sn_model, t_model),
                         'padding="same" vs PyTorch padding=0 cropped at the bottom/right')
    # The timed PyTorch model against scratchnet cropping where it does (at the top/left).
    sn_model, sn_step = scratchnet_conv_ae(sn, x)
    for layer in sn_model.decoder.modules():
        if isinstance(layer, sn.nn.ConvTranspose2D):
            layer.padding = ((1, 0), (1, 0))
    t_model, t_step = torch_conv_ae(np, sn, torch, sn_model, x)
    losses = {"mse": (sn_step(), t_step())}
    return checks + loss_checks("conv_ae.timed_pytorch_model", losses,
                                gradient_error(np, sn, torch, sn_model, t_model),
                                "padding=((1, 0), (1, 0)) vs PyTorch padding=1, "
                                "output_padding=1")


def check_dcgan(np: Any, sn: Any, torch: Any, real: Any) -> list[dict[str, Any]]:
    gan, sn_step = scratchnet_dcgan(sn, np, real)
    if torch is None:
        ours = sn_step()
        finite = all(np.isfinite(v) for v in ours.values())
        return [{"name": "dcgan.scratchnet_finite", "ok": finite,
                 "detail": ", ".join(f"{k} {v:.4f}" for k, v in ours.items())}]
    (generator, discriminator), t_step = torch_dcgan(np, sn, torch, gan, real)
    ours, theirs = sn_step(), t_step()
    losses = {key: (ours[key], theirs[key]) for key in ("d_loss", "g_loss")}
    # After training_step, D's gradients are those of its step, G's those of the G step (taken
    # through the updated D, so they also depend on D's Adam update).
    grad_error = max(gradient_error(np, sn, torch, gan.discriminator, discriminator),
                     gradient_error(np, sn, torch, gan.generator, generator))
    return loss_checks("dcgan", losses, grad_error,
                       "one training_step from the same weights and z")


# --------------------------------------------------------------------------------------
# Reporting: the harness's rows and table, with the reference library named
# --------------------------------------------------------------------------------------
def model_row(name: str, unit: str, samples: dict[str, list[float]], reference: str,
              target: float | None) -> dict[str, Any]:
    """harness.workload_row (times in seconds -> milliseconds; every row a headline), plus
    the field "reference"; the reference's median, spread and repeats are under its own
    key."""
    as_pytorch = {"scratchnet": samples["scratchnet"]}
    if reference in samples:
        as_pytorch["pytorch"] = samples[reference]
    row = workload_row(name, unit, 1e3, as_pytorch, target, headline=True)

    def rename(part: dict[str, Any]) -> dict[str, Any]:
        return {"scratchnet": part["scratchnet"], reference: part["pytorch"]}

    return {"name": name, "unit": unit, "reference": reference,
            "scratchnet": row["scratchnet"], reference: row["pytorch"], "ratio": row["ratio"],
            "ratio_spread": row["ratio_spread"], "target": row["target"],
            "meets_target": row["meets_target"], "headline": row["headline"],
            "spread": rename(row["spread"]), "repeats": rename(row["repeats"])}


def models_table(rows: list[dict[str, Any]]) -> str:
    """harness.markdown_table, its second time column holding each row's reference."""
    shown = []
    for row in rows:
        reference = row["reference"]
        shown.append({**row, "name": f"{row['name']} vs {REFERENCE_TITLES[reference]}",
                      "pytorch": row[reference],
                      "spread": {"scratchnet": row["spread"]["scratchnet"],
                                 "pytorch": row["spread"][reference]}})
    return markdown_table(shown).replace("PyTorch median [IQR]", "reference median [IQR]", 1)


def timed(step: Callable[[], Any], results: dict[str, Any] | None = None, key: str = ""
          ) -> Callable[[], dict[str, float]]:
    """A runner for run_interleaved: one call of ``step``, in seconds. With ``results``, the
    step's return value is kept in ``results[key]`` (the last one wins)."""

    def run() -> dict[str, float]:
        start = time.perf_counter()
        value = step()
        seconds = time.perf_counter() - start
        if results is not None:
            results[key] = value
        return {"step": seconds}

    return run


# --------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv, "Time training steps of whole models (MLP VAE, conv autoencoder, "
                            "DCGAN) in scratchnet against PyTorch CPU, and PCA against "
                            "scikit-learn.",
                      quick_help="a few-second smoke run: one warm-up and two timed runs each",
                      add_arguments=_models_arguments)
    threads = configure_threads(args.threads)
    allocator = pin_allocator()

    import numpy as np  # after configure_threads, so the BLAS thread count applies

    sn = import_scratchnet()
    torch = import_torch(threads, args.no_torch)
    sklearn_pca_class = import_sklearn_pca(args.no_sklearn)
    sn.set_default_dtype(np.float32)
    plan = QUICK if args.quick else FULL
    gc.collect()
    gc.freeze()  # keeps run_interleaved's collections short (see bench_autograd.main)
    monitor = LoadMonitor("bench_models")
    began = time.perf_counter()

    data = load_data(np, sn)

    # Checks first, on models of their own; they also make PyTorch's first Adam (which
    # imports torch._dynamo, seconds) and warm the models' code paths before any timing.
    checks = (check_vae(np, sn, torch, data["vae"])
              + check_conv_ae(np, sn, torch, data["conv_ae"])
              + check_dcgan(np, sn, torch, data["dcgan"]))
    monitor.mark("checks")

    # The timed models start from the initial weights again.
    runners: dict[str, dict[str, Callable[[], dict[str, float]]]] = {}
    sn_model, step = scratchnet_vae(sn, np, data["vae"])
    runners["vae"] = {"scratchnet": timed(step)}
    if torch is not None:
        runners["vae"]["pytorch"] = timed(torch_vae(sn, np, torch, sn_model, data["vae"])[1])
    sn_model, step = scratchnet_conv_ae(sn, data["conv_ae"])
    runners["conv_ae"] = {"scratchnet": timed(step)}
    if torch is not None:
        runners["conv_ae"]["pytorch"] = timed(
            torch_conv_ae(np, sn, torch, sn_model, data["conv_ae"])[1])
    gan, step = scratchnet_dcgan(sn, np, data["dcgan"])
    runners["dcgan"] = {"scratchnet": timed(step)}
    if torch is not None:
        runners["dcgan"]["pytorch"] = timed(torch_dcgan(np, sn, torch, gan, data["dcgan"])[1])
    # A PCA fit starts from nothing, so its check can use the last timed fits (one fit less).
    pca_fits: dict[str, Any] = {}
    runners["pca"] = {"scratchnet": timed(scratchnet_pca(sn, data["pca"]), pca_fits,
                                          "scratchnet")}
    if sklearn_pca_class is not None:
        runners["pca"]["sklearn"] = timed(sklearn_pca(sklearn_pca_class, data["pca"]),
                                          pca_fits, "sklearn")

    times = {}
    for name, by_library in runners.items():
        times[name] = run_interleaved(by_library, plan[name], threads)
        monitor.mark(name)
    noise = monitor.finish()
    checks += check_pca(np, sn, pca_fits["scratchnet"], pca_fits.get("sklearn"))

    def samples(name: str) -> dict[str, list[float]]:
        return {library: phases["step"] for library, phases in times[name].items()}

    targets = targets_for(threads)
    rows = [model_row("vae.step", "ms/step", samples("vae"), "pytorch", targets["vae.step"]),
            model_row("conv_ae.step", "ms/step", samples("conv_ae"), "pytorch",
                      targets["conv_ae.step"]),
            model_row("dcgan.step", "ms/step", samples("dcgan"), "pytorch",
                      targets["dcgan.step"]),
            model_row("pca.fit", "ms/fit", samples("pca"), "sklearn", targets["pca.fit"])]

    sklearn_version = None
    if sklearn_pca_class is not None:
        import sklearn

        sklearn_version = sklearn.__version__
    result = {
        "schema": 2,
        "machine": {**machine_info(np, sn, torch), "allocator": allocator,
                    "sklearn": sklearn_version, **monitor.machine_fields(noise)},
        "threads": threads,
        "quick": args.quick,
        "noisy": noise["noisy"],
        "noise": noise,
        "settings": {
            "dtype": "float32",
            "data": "bundled MNIST training split (first images of it)",
            "step": "gradients reset, forward, loss, backward, Adam update",
            **MODEL_SETTINGS,
            "pca": {"n_components": PCA_COMPONENTS, "shape": list(data["pca"].shape),
                    "sklearn_svd_solver": PCA_SVD_SOLVER},
            "targets": targets,
            "plans": {name: p._asdict() for name, p in plan.items()},
        },
        "checks": checks,
        "workloads": rows,
        "elapsed_s": round(time.perf_counter() - began, 2),
    }

    print_header("whole-model benchmark", result["machine"], threads, args, noise)
    sklearn_note = sklearn_version or ("skipped (--no-sklearn)" if args.no_sklearn
                                       else "not installed")
    print(f"# scikit-learn {sklearn_note}")
    print()
    print(models_table(rows))
    print()
    print(f"One step: gradients reset, forward, loss, backward, Adam; float32. vae: mlp_vae "
          f"784-{VAE_HIDDEN}-{VAE_LATENT}, batch {BATCH}; conv_ae: conv_autoencoder, MSE, "
          f"batch {BATCH}; dcgan: one D and one G step, batch {GAN_BATCH}; pca: "
          f"PCA({PCA_COMPONENTS}).fit on {data['pca'].shape[0]:,}×{data['pca'].shape[1]} "
          f"(scikit-learn svd_solver={PCA_SVD_SOLVER!r}).")
    print("ratio = scratchnet / reference, the median over interleaved pairs of runs "
          "(lower is better); targets: "
          + ", ".join(f"{name} ≤ {target:g}×" for name, target in targets.items()
                      if target is not None)
          + ("" if threads == 1 else f" ({', '.join(ONE_THREAD_ONLY)}: targets at one "
             "thread only)") + ".")
    print_checks_and_json(checks, result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
