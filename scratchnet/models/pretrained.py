"""Generative models that later lessons reuse, trained once and then cached on disk.

Lesson 18 completes and sharpens digits with a DCGAN that lesson 11 already trains, and
compares it with a VAE. Training them again in every lesson would cost minutes, so, as
:func:`~scratchnet.models.mnist_classifier` does for the classifier, each is trained on first
use and its weights are saved in the data home; later calls load them.

**One place for the settings.** :data:`DCGAN_RECIPE` and :data:`VAE_RECIPE` hold every
setting of the two trainings. The cache file's name is versioned (``_v1``), and any call
whose settings differ from the recipe (a quick run with one epoch, say) gets its own file,
named with a short hash of those settings, so a half-trained model never lands where a full
run would later load it. Each file also records the settings it was trained with and
:data:`CACHE_VERSION`, and a file whose settings or version differ from the ones asked for
(a cache made before the defaults changed) is trained again rather than loaded. Bump
:data:`CACHE_VERSION` when the training code itself changes in a way the settings do not
show.

Training is seeded by the recipe's ``seed``, and the library's global generator is put back
as it was afterwards, so a caller's later ``sn`` draws do not depend on whether a cache
existed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from scratchnet import optim
from scratchnet.checkpoint import save
from scratchnet.datasets import DataLoader, load_mnist
from scratchnet.models._cache import as_json, load_if_same, settings, settings_path
from scratchnet.models.gan import GAN, dcgan_discriminator, dcgan_generator
from scratchnet.models.vae import VAE, conv_vae
from scratchnet.random import get_generator
from scratchnet.train import fit

__all__ = ["CACHE_VERSION", "DCGAN_RECIPE", "VAE_RECIPE", "mnist_dcgan", "mnist_vae",
           "pretrained_path"]

CACHE_VERSION = 1

# Lesson 11's starting DCGAN recipe (the mark its ablation and its targets refer to; its
# final recipe adds an InfoGAN code, whose categorical input lesson 18's search over z
# does not handle): width 16, z of size 64, batches of 32, Adam 8e-4 for both players
# with β = (0.5, 0.999), 30 epochs on the 4,000 bundled training digits (about a minute).
# ``bias`` is the generator's bias before each BatchNorm (dcgan_generator's option);
# ``d_lr`` None means the discriminator's rate is ``lr``. ``seed`` seeds the GAN's own
# generator (latent draws, batch order); the initial weights do not depend on it: the
# generator's are always drawn with seed 0 and the discriminator's with seed 1, so a sweep
# over ``seed`` shares its starting weights.
DCGAN_RECIPE: dict[str, Any] = {
    "latent_dim": 64, "width": 16, "bias": True, "batch_size": 32, "lr": 8e-4, "d_lr": None,
    "betas": (0.5, 0.999), "epochs": 30, "train_size": None, "seed": 1}

# A small convolutional VAE (Bernoulli likelihood) on the same digits. ``seed`` seeds its
# initial weights, its own generator and the batch order.
VAE_RECIPE: dict[str, Any] = {
    "latent_dim": 16, "channels": (16, 32), "batch_size": 64, "lr": 1e-3, "epochs": 30,
    "train_size": None, "seed": 0}


def pretrained_path(name: str, recipe: dict[str, Any], defaults: dict[str, Any]) -> Path:
    """``<data home>/models/<name>_v<CACHE_VERSION>[_<hash>].npz``.

    The hash (8 hex digits of the SHA-256 of the settings as JSON) is added only when
    ``recipe`` differs from ``defaults``, so every other recipe has a file of its own.
    """
    return settings_path(f"{name}_v{CACHE_VERSION}", recipe, defaults)


def _training_digits(train_size: int | None) -> np.ndarray:
    images, _ = load_mnist("train", source="bundled")
    return images if train_size is None else images[:train_size]


def _load_if_same(model: Any, path: Path, recipe: dict[str, Any]) -> bool:
    # Files written before the version was stored were all made by version 1.
    return load_if_same(model, path, recipe, CACHE_VERSION, unversioned=1)


@contextmanager
def _global_generator_seeded(seed: int) -> Iterator[None]:
    """Seed the library's generator for a training run, then restore its state.

    Whatever in training still draws from the global generator sees the same numbers as
    after ``manual_seed(seed)``; the caller's generator object and its position are left
    exactly as they were, which ``manual_seed`` (a new object) would not do.
    """
    bits = get_generator().bit_generator
    saved = bits.state
    bits.state = type(bits)(seed).state
    try:
        yield
    finally:
        bits.state = saved


def _build_dcgan(recipe: dict[str, Any]) -> GAN:
    generator = dcgan_generator(recipe["latent_dim"], recipe["width"], bias=recipe["bias"],
                                rng=0)
    discriminator = dcgan_discriminator(recipe["width"], rng=1)
    return GAN(generator, discriminator, recipe["latent_dim"], loss="non_saturating",
               rng=recipe["seed"])


def _build_vae(recipe: dict[str, Any]) -> VAE:
    return conv_vae(recipe["latent_dim"], tuple(recipe["channels"]), rng=recipe["seed"])


def _cached(path: str | os.PathLike[str] | None, name: str, defaults: dict[str, Any],
            recipe: dict[str, Any]) -> Path:
    return pretrained_path(name, recipe, defaults) if path is None else Path(path)


def mnist_dcgan(path: str | os.PathLike[str] | None = None, retrain: bool = False,
                progress: bool = True, **recipe: Any) -> GAN:
    """Lesson 11's DCGAN (generator and discriminator) trained on the bundled digits.

    Loads the weights cached at ``path`` (default :func:`pretrained_path` of the settings)
    or, when the file is missing, holds another recipe's model, or ``retrain`` is set,
    trains with the settings and saves them there. ``recipe`` overrides entries of
    :data:`DCGAN_RECIPE` (``epochs``, ``train_size``, ``width``, ...). Returned in
    evaluation mode; the generator maps z (N, latent_dim) to images (N, 1, 28, 28) in
    [0, 1].
    """
    recipe = settings("mnist_dcgan", DCGAN_RECIPE, recipe)
    path = _cached(path, "mnist_dcgan", DCGAN_RECIPE, recipe)
    gan = _build_dcgan(recipe)
    if not retrain and _load_if_same(gan, path, recipe):
        return gan.eval()
    with _global_generator_seeded(recipe["seed"]):
        history = fit(gan, optimizer=gan.configure_optimizers(lr=recipe["lr"],
                                                              betas=tuple(recipe["betas"]),
                                                              d_lr=recipe["d_lr"]),
                      loader=DataLoader(_training_digits(recipe["train_size"]),
                                        batch_size=recipe["batch_size"], drop_last=True,
                                        rng=gan.rng),
                      epochs=recipe["epochs"], progress=progress)
    save(gan, path, recipe=as_json(recipe), version=CACHE_VERSION, epochs=history.epochs,
         d_real=history["d_real"][-1], d_fake=history["d_fake"][-1])
    return gan.eval()


def mnist_vae(path: str | os.PathLike[str] | None = None, retrain: bool = False,
              progress: bool = True, **recipe: Any) -> VAE:
    """A convolutional VAE (``conv_vae``, Bernoulli likelihood) trained on the bundled digits.

    Cached like :func:`mnist_dcgan`; ``recipe`` overrides entries of :data:`VAE_RECIPE`.
    Trained by Adam on minus the ELBO; returned in evaluation mode, with ``decode`` mapping
    z (N, latent_dim) to images (N, 1, 28, 28) in [0, 1].
    """
    recipe = settings("mnist_vae", VAE_RECIPE, recipe)
    path = _cached(path, "mnist_vae", VAE_RECIPE, recipe)
    vae = _build_vae(recipe)
    if not retrain and _load_if_same(vae, path, recipe):
        return vae.eval()
    with _global_generator_seeded(recipe["seed"]):
        history = fit(vae, lambda m, x: m.loss(x),
                      optim.Adam(vae.parameters(), lr=recipe["lr"]),
                      DataLoader(_training_digits(recipe["train_size"]),
                                 batch_size=recipe["batch_size"], rng=recipe["seed"]),
                      recipe["epochs"], progress=progress)
    save(vae, path, recipe=as_json(recipe), version=CACHE_VERSION, epochs=history.epochs,
         loss=history["loss"][-1])
    return vae.eval()
