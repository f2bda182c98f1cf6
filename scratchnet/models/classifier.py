"""A small CNN that reads MNIST digits, trained once and then cached on disk.

Later lessons score generated digits with it: which class a GAN's sample looks like, and
how sure the classifier is. ``mnist_classifier()`` trains it on first use (a few minutes
on a laptop) and saves the weights in the data home, so later calls load them. No
weights are shipped with the package.

Besides the ten digits it has an eleventh answer, :data:`NOT_A_DIGIT` (class 10): it is
trained on images that are clearly no digit at all (noise, blank and constant images,
smooth blobs, digits cut into shuffled tiles; see :func:`not_digit_images`). A classifier
trained on digits alone must call everything some digit, and was sure that uniform noise
is an 8; this one can say "none of these".

Architecture (Veličković's "Conv-Pool-Conv-Pool-Dense"), (N, 1, 28, 28) -> (N, 11) logits:
Conv 3×3 1→16 + ReLU, MaxPool 2, Conv 3×3 16→32 + ReLU, MaxPool 2, Flatten, Dense 1568→11.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Any

import numpy as np

import scratchnet.functional as F
from scratchnet import nn, optim
from scratchnet.autograd import Tensor, as_tensor, no_grad
from scratchnet.backend import as_numpy
from scratchnet.checkpoint import CheckpointError, load, read_checkpoint, save
from scratchnet.datasets import DataLoader, load_mnist
from scratchnet.datasets.augment import random_shift
from scratchnet.models._cache import as_json, load_if_same, settings, settings_path
from scratchnet.random import get_generator
from scratchnet.train import History, fit

__all__ = ["NOT_A_DIGIT", "accuracy", "default_classifier_path", "mnist_classifier",
           "mnist_cnn", "not_digit_images", "train_mnist_cnn"]

#: The class index of the classifier's "not a digit" answer; classes 0-9 are the digits.
NOT_A_DIGIT = 10


def mnist_cnn(rng: np.random.Generator | int | None = None) -> nn.Sequential:
    """The untrained classifier: 22,059 parameters, 11 logits (digits 0-9, then NOT_A_DIGIT)."""
    return nn.Sequential(
        nn.Conv2D(1, 16, 3, padding="same", activation="relu", rng=rng),
        nn.MaxPool2D(2),
        nn.Conv2D(16, 32, 3, padding="same", activation="relu", rng=rng),
        nn.MaxPool2D(2),
        nn.Flatten(),
        nn.Dense(32 * 7 * 7, NOT_A_DIGIT + 1, rng=rng),
    )


def accuracy(model: nn.Module, images: Any, labels: Any) -> float:
    """The fraction of ``images`` whose largest logit is the true label.

    Labels are digits 0-9; a digit that the model calls :data:`NOT_A_DIGIT` counts as wrong.
    """
    with no_grad():
        logits = model(as_tensor(images)).numpy()
    labels = as_numpy(labels.data if isinstance(labels, Tensor) else labels)
    return float((logits.argmax(axis=1) == labels).mean())


def not_digit_images(n: int, digits: Any,  # host: drawn from a seed
                     rng: np.random.Generator | int | None = None) -> np.ndarray:
    """``n`` images that are clearly no digit, for the classifier's NOT_A_DIGIT class.

    Shapes: digits (M, 1, 28, 28) in [0, 1], M >= 1 -> (n, 1, 28, 28) float32 in [0, 1].
    Seven kinds, drawn with equal chance per image: uniform noise and clipped Gaussian
    noise (each at a random brightness), blank (all 0), white (all 1), a constant grey at a
    random level, smooth blobs (uniform noise on a k×k grid, blown up bilinearly; k is
    drawn from 4 to 7 once per call, so all the blobs of one call share it),
    and a digit from ``digits`` cut into 7×7 tiles of 4×4 pixels put back in a random
    order (the ink of a digit without its shape). Nothing here is a passable digit, so a
    generator's imperfect but digit-like sample is never taught to be "not a digit".
    """
    if n < 0:
        raise ValueError(f"not_digit_images: n must be >= 0, got {n}")
    digits = np.asarray(as_numpy(digits.data if isinstance(digits, Tensor) else digits),
                        dtype=np.float32)
    if digits.ndim != 4 or digits.shape[1:] != (1, 28, 28) or len(digits) == 0:
        raise ValueError(f"not_digit_images: digits must have shape (M, 1, 28, 28) with "
                         f"M >= 1, got {digits.shape}")
    g = get_generator(rng)
    kind = g.integers(0, 7, n)
    level = g.random((n, 1, 1, 1)).astype(np.float32)
    out = np.empty((n, 1, 28, 28), np.float32)
    out[:] = level                  # kind 4, constant grey, keeps this fill; others overwrite it
    out[kind == 0] = (level * g.random((n, 1, 28, 28), np.float32))[kind == 0]
    gauss = np.clip(level + 0.5 * level * g.standard_normal((n, 1, 28, 28), np.float32), 0, 1)
    out[kind == 1] = gauss[kind == 1]
    out[kind == 2] = 0.0
    out[kind == 3] = 1.0
    blobs = kind == 5
    if blobs.any():
        # A coarse grid of size k, upsampled by interpolating between its points.
        k = int(g.integers(4, 8))
        coarse = g.random((int(blobs.sum()), k, k)).astype(np.float32)
        t = np.linspace(0, k - 1, 28)
        i0 = np.minimum(t.astype(int), k - 2)
        w = (t - i0).astype(np.float32)
        rows = coarse[:, i0] * (1 - w)[:, None] + coarse[:, i0 + 1] * w[:, None]
        out[blobs, 0] = rows[:, :, i0] * (1 - w) + rows[:, :, i0 + 1] * w
    tiles = kind == 6
    if tiles.any():
        m = int(tiles.sum())
        picked = digits[g.integers(0, len(digits), m), 0]
        blocks = picked.reshape(m, 7, 4, 7, 4).transpose(0, 1, 3, 2, 4).reshape(m, 49, 4, 4)
        order = np.argsort(g.random((m, 49)), axis=1)
        blocks = np.take_along_axis(blocks, order[:, :, None, None], axis=1)
        out[tiles, 0] = blocks.reshape(m, 7, 7, 4, 4).transpose(0, 1, 3, 2, 4).reshape(m, 28, 28)
    return out


def train_mnist_cnn(model: nn.Module, epochs: int = 15, batch_size: int = 64, lr: float = 2e-3,
                    max_shift: int = 2, source: str = "auto", train_size: int | None = None,
                    progress: bool = True, rng: int = 0, rejects_per_batch: int = 16) -> History:
    """Train with Adam and a cosine learning-rate decay on randomly shifted digits.

    Each training batch of ``batch_size`` digits gets ``rejects_per_batch`` more images
    from :func:`not_digit_images`, labelled :data:`NOT_A_DIGIT`. ``train_size`` keeps only
    the first images (the bundled split is class-balanced in every prefix), for quick runs.
    Returns the history, with ``val_accuracy`` measured on the test digits after each epoch.
    """
    if rejects_per_batch < 0:
        raise ValueError(f"train_mnist_cnn: rejects_per_batch must be >= 0, got "
                         f"{rejects_per_batch}")
    images, labels = load_mnist("train", source=source)
    test_images, test_labels = load_mnist("test", source=source)
    if train_size is not None:
        images, labels = images[:train_size], labels[:train_size]
    generator = np.random.default_rng(rng)

    def loss_fn(m: nn.Module, x: Tensor, y: Tensor) -> Tensor:
        if not m.training:                     # validation: the test digits as they are
            return F.cross_entropy(m(x), y)
        shifted = random_shift(x.data, max_shift, generator)
        rejects = not_digit_images(rejects_per_batch, x.data, generator)
        labels = np.concatenate([as_numpy(y.data),  # host: labels of one batch
                                 np.full(rejects_per_batch, NOT_A_DIGIT, as_numpy(y.data).dtype)])
        batch = np.concatenate([shifted, rejects])  # host: shifts and rejects are host arrays
        return F.cross_entropy(m(Tensor(batch)), Tensor(labels))

    optimizer = optim.Adam(model.parameters(), lr=lr)
    return fit(model, loss_fn, optimizer, DataLoader(images, labels, batch_size=batch_size,
                                                     rng=generator),
               epochs, val_loader=DataLoader(test_images, test_labels, batch_size=500,
                                             shuffle=False),
               metrics={"accuracy": accuracy}, progress=progress,
               scheduler=optim.CosineLR(optimizer, epochs))


# The version of the classifier's training code, also part of the default file's name.
_VERSION = 2


# train_mnist_cnn's defaults, read from its signature once so that they cannot drift
# apart: the settings that the default cache file is trained with.
_DEFAULTS: dict[str, Any] = {
    name: p.default for name, p in inspect.signature(train_mnist_cnn).parameters.items()
    if name not in ("model", "progress")}


def default_classifier_path() -> Path:
    """Where the trained classifier is cached: ``<data home>/models/mnist_cnn_reject_v2.npz``.

    The name changed when the NOT_A_DIGIT class was added, so that an older ten-class
    ``mnist_cnn.npz`` in a data home is never loaded into this network. This file holds
    the classifier trained with :func:`train_mnist_cnn`'s default settings; other settings
    get files of their own (see :func:`mnist_classifier`).
    """
    return settings_path(f"mnist_cnn_reject_v{_VERSION}", _DEFAULTS, _DEFAULTS)


def mnist_classifier(path: str | os.PathLike[str] | None = None, retrain: bool = False,
                     progress: bool = True, **train_options: Any) -> nn.Sequential:
    """The trained MNIST classifier, in evaluation mode.

    ``train_options`` go to :func:`train_mnist_cnn` (``epochs``, ``train_size``, ``source``,
    ...); unknown ones are a TypeError. The weights are cached at ``path``: by default
    :func:`default_classifier_path` for the default settings, and for any other settings a
    file of their own next to it (``mnist_cnn_reject_v2_<hash>.npz``, a short hash of the
    settings), so a quick, weak run never replaces the classifier that the metrics load.

    The file records the settings it was trained with. It is loaded when they are the
    ones asked for, and trained again (and overwritten) when they differ, when the file is
    missing, or when ``retrain`` is set. A file without recorded settings (one cached
    before they were stored, or saved by lesson 2 with ``sn.save``) is loaded as it is
    when the default settings are asked for, as long as its weights fit the network, so
    an existing cache is not retrained; asked for other settings, it is trained again.
    """
    recipe = settings("mnist_classifier", _DEFAULTS, train_options)
    path = settings_path(f"mnist_cnn_reject_v{_VERSION}", recipe, _DEFAULTS) if path is None \
        else Path(path)
    model = mnist_cnn(rng=0)
    if path.is_file() and not retrain:
        if "recipe" not in read_checkpoint(path)[1]:
            if recipe == _DEFAULTS:
                _load_unrecorded(model, path)
                return model.eval()
        elif load_if_same(model, path, recipe, _VERSION):
            return model.eval()
    history = train_mnist_cnn(model, progress=progress, **train_options)
    save(model, path, recipe=as_json(recipe), version=_VERSION,
         test_accuracy=history["val_accuracy"][-1], epochs=history.epochs)
    return model.eval()


def _load_unrecorded(model: nn.Module, path: Path) -> None:
    """Load a cache without recorded settings, or say why its weights do not fit."""
    try:
        load(model, path)
    except CheckpointError as exc:
        raise CheckpointError(
            f"mnist_classifier: the weights cached at {path} do not fit the "
            f"{NOT_A_DIGIT + 1}-output classifier (an older ten-class cache?); delete the "
            f"file or pass retrain=True. The checkpoint said: {exc}") from exc
