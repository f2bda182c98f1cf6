"""A small CNN that reads MNIST digits, trained once and then cached on disk.

Later lessons score generated digits with it: which class a GAN's sample looks like, and
how sure the classifier is. ``mnist_classifier()`` trains it on first use (a couple of
minutes on a laptop) and saves the weights in the data home, so later calls load them.
No weights are shipped with the package.

Architecture (Veličković's "Conv-Pool-Conv-Pool-Dense"), (N, 1, 28, 28) -> (N, 10) logits:
Conv 3×3 1→16 + ReLU, MaxPool 2, Conv 3×3 16→32 + ReLU, MaxPool 2, Flatten, Dense 1568→10.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

import scratchnet.functional as F
from scratchnet import nn, optim
from scratchnet.autograd import Tensor, as_tensor, no_grad
from scratchnet.backend import as_numpy
from scratchnet.checkpoint import load, save
from scratchnet.datasets import DataLoader, data_home, load_mnist
from scratchnet.datasets.augment import random_shift
from scratchnet.train import History, fit

__all__ = ["accuracy", "default_classifier_path", "mnist_classifier", "mnist_cnn",
           "train_mnist_cnn"]


def mnist_cnn(rng: np.random.Generator | int | None = None) -> nn.Sequential:
    """The untrained classifier: 20,490 parameters."""
    return nn.Sequential(
        nn.Conv2D(1, 16, 3, padding="same", activation="relu", rng=rng),
        nn.MaxPool2D(2),
        nn.Conv2D(16, 32, 3, padding="same", activation="relu", rng=rng),
        nn.MaxPool2D(2),
        nn.Flatten(),
        nn.Dense(32 * 7 * 7, 10, rng=rng),
    )


def accuracy(model: nn.Module, images: Any, labels: Any) -> float:
    """The fraction of ``images`` whose largest logit is the true label."""
    with no_grad():
        logits = model(as_tensor(images)).numpy()
    labels = as_numpy(labels.data if isinstance(labels, Tensor) else labels)
    return float((logits.argmax(axis=1) == labels).mean())


def train_mnist_cnn(model: nn.Module, epochs: int = 15, batch_size: int = 64, lr: float = 2e-3,
                    max_shift: int = 2, source: str = "auto", train_size: int | None = None,
                    progress: bool = True, rng: int = 0) -> History:
    """Train with Adam and a cosine learning-rate decay on randomly shifted digits.

    ``train_size`` keeps only the first images (the bundled split is class-balanced in
    every prefix), for quick runs. Returns the history, with ``val_accuracy`` measured on
    the test split after each epoch.
    """
    images, labels = load_mnist("train", source=source)
    test_images, test_labels = load_mnist("test", source=source)
    if train_size is not None:
        images, labels = images[:train_size], labels[:train_size]
    generator = np.random.default_rng(rng)

    def loss_fn(m: nn.Module, x: Tensor, y: Tensor) -> Tensor:
        return F.cross_entropy(m(Tensor(random_shift(x.data, max_shift, generator))), y)

    optimizer = optim.Adam(model.parameters(), lr=lr)
    return fit(model, loss_fn, optimizer, DataLoader(images, labels, batch_size=batch_size,
                                                     rng=generator),
               epochs, val_loader=DataLoader(test_images, test_labels, batch_size=500,
                                             shuffle=False),
               metrics={"accuracy": accuracy}, progress=progress,
               scheduler=optim.CosineLR(optimizer, epochs))


def default_classifier_path() -> Path:
    """Where the trained classifier is cached: ``<data home>/models/mnist_cnn.npz``."""
    return data_home() / "models" / "mnist_cnn.npz"


def mnist_classifier(path: str | os.PathLike[str] | None = None, retrain: bool = False,
                     progress: bool = True, **train_options: Any) -> nn.Sequential:
    """The trained MNIST classifier, in evaluation mode.

    Loads the weights cached at ``path`` (default :func:`default_classifier_path`);
    trains with :func:`train_mnist_cnn` and caches them when the file is missing or
    ``retrain`` is set. ``train_options`` go to :func:`train_mnist_cnn`.
    """
    path = default_classifier_path() if path is None else Path(path)
    model = mnist_cnn(rng=0)
    if path.is_file() and not retrain:
        load(model, path)
        return model.eval()
    history = train_mnist_cnn(model, progress=progress, **train_options)
    save(model, path, test_accuracy=history["val_accuracy"][-1], epochs=history.epochs)
    return model.eval()
