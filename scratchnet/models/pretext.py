"""Pretext tasks: self-supervised training of an encoder on targets made from the images.

A pretext task hides something about an image that can be recovered only by knowing how
images of this kind are made, and trains a network to recover it. No label is needed, and
the encoder's features can then serve a task with few labels (read them with
``.features(x)`` and score them with :func:`scratchnet.metrics.linear_probe`).

* :class:`RotationPrediction` (Gidaris, Singh & Komodakis, "Unsupervised representation
  learning by predicting image rotations", ICLR 2018): turn each image by 0, 90, 180 or 270
  degrees and classify the angle. Saying which way is up for a digit requires knowing what
  the digit looks like upright.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

import scratchnet.functional as F
from scratchnet import nn
from scratchnet.autograd import Tensor, as_tensor, no_grad
from scratchnet.backend import get_array_module
from scratchnet.checks import check_int
from scratchnet.datasets.augment import rotate90

__all__ = ["N_ROTATIONS", "RotationPrediction"]

N_ROTATIONS = 4   # 0, 90, 180 and 270 degrees


class RotationPrediction(nn.Module):
    """Learn features by predicting by how many quarter turns an image was rotated.

    The model is ``head(encoder(x))``: the encoder maps images (N, C, H, W) to features
    (N, n_features), and a linear head ``Dense(n_features, 4)`` scores the four rotations.
    :meth:`loss` shows the network all four rotations of every image in the batch, as
    Gidaris et al. (2018) found best: the batch becomes 4N images, with rotation labels
    0, 1, 2, 3 (k quarter turns anticlockwise), and the loss is their mean cross-entropy.
    Chance is log 4 ≈ 1.39 nats and an accuracy of 1/4.

    Train with ``sn.train.fit(model, lambda m, x: m.loss(x), optimizer, loader, epochs)``
    on a loader that yields images only. Images must be square, so that a quarter turn
    keeps their shape.

    Args:
        encoder: any module, images (N, C, H, W) -> features (N, n_features).
        n_features: the width of the encoder's output.
        rng: generator or seed for the head's initial weights.
    """

    def __init__(self, encoder: nn.Module, n_features: int,
                 rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        if not isinstance(encoder, nn.Module):
            raise TypeError(f"RotationPrediction: encoder must be an nn.Module, got "
                            f"{type(encoder).__name__}")
        self.n_features = check_int("RotationPrediction", "n_features", n_features)
        self.encoder = encoder
        self.head = nn.Dense(self.n_features, N_ROTATIONS, rng=rng)

    def _check_images(self, x: Any) -> Tensor:
        x = as_tensor(x)
        if x.ndim != 4:
            raise ValueError(f"RotationPrediction: expected images of shape (N, C, H, W), "
                             f"got shape {x.shape}")
        if x.shape[2] != x.shape[3]:
            raise ValueError(f"RotationPrediction: images must be square so that a quarter "
                             f"turn keeps their shape, got H × W = {x.shape[2]} × {x.shape[3]}")
        return x

    def encode(self, x: Any) -> Tensor:
        """The encoder's features of ``x``, (N, C, H, W) -> (N, n_features), with a graph."""
        x = self._check_images(x)
        h = self.encoder(x)
        if h.shape != (x.shape[0], self.n_features):
            raise ValueError(f"RotationPrediction: the encoder must output (N, n_features) = "
                             f"({x.shape[0]}, {self.n_features}), got {h.shape}")
        return h

    def forward(self, x: Any) -> Tensor:
        """The rotation logits of the images as they are: (N, C, H, W) -> (N, 4)."""
        return self.head(self.encode(x))

    def rotated_batch(self, x: Any) -> tuple[Tensor, Any]:
        """All four rotations of every image, and their labels.

        Shapes: (N, C, H, W) -> images (4N, C, H, W), labels (4N,) int64. The rotations come
        in blocks: images k·N to (k+1)·N − 1 are the batch turned by k quarter turns and
        have label k. The images carry no graph: rotation is part of making the data.
        """
        x = self._check_images(x)
        xp = get_array_module(x.data)
        n = x.shape[0]
        images = xp.concatenate([rotate90(x.data, k) for k in range(N_ROTATIONS)])
        labels = xp.repeat(xp.arange(N_ROTATIONS, dtype=xp.int64), n)
        return as_tensor(images), labels

    def loss(self, x: Any) -> Tensor:
        """Mean cross-entropy of the rotation classifier over the 4N rotated images."""
        images, labels = self.rotated_batch(x)
        return F.cross_entropy(self(images), labels)

    def features(self, x: Any) -> Tensor:
        """The encoder's features for evaluation: (N, C, H, W) -> Tensor (N, n_features).

        Computed in evaluation mode (dropout off, batch norm with its running statistics)
        and without a graph; each module's training flag is restored afterwards.
        """
        with _evaluation(self), no_grad():
            return self.encode(x)

    def predict(self, x: Any) -> Any:
        """The predicted rotation of each image as it is, in quarter turns: (N,) int array."""
        with _evaluation(self), no_grad():
            return self(x).data.argmax(axis=1)

    def accuracy(self, x: Any) -> float:
        """Pretext accuracy: the fraction of the 4N rotations of ``x`` classified right."""
        images, labels = self.rotated_batch(x)
        return float((self.predict(images) == labels).mean())


@contextlib.contextmanager
def _evaluation(module: nn.Module) -> Iterator[None]:
    """``module`` in evaluation mode; each sub-module's own flag is restored afterwards."""
    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        yield
    finally:
        for m, mode in modes:
            m.training = mode
