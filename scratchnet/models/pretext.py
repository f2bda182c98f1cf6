"""Pretext tasks: self-supervised training of an encoder on targets made from the images.

A pretext task hides something about an image that can be recovered only by knowing how
images of this kind are made, and trains a network to recover it. No label is needed, and
the encoder's features can then serve a task with few labels (read them with
``.features(x)`` and score them with :func:`scratchnet.metrics.linear_probe`).

* :class:`RotationPrediction` (Gidaris, Singh & Komodakis, "Unsupervised representation
  learning by predicting image rotations", ICLR 2018): turn each image by 0, 90, 180 or 270
  degrees and classify the angle. Saying which way is up for a digit requires knowing what
  the digit looks like upright.
* :class:`SimCLR` (Chen, Kornblith, Norouzi & Hinton, "A Simple Framework for Contrastive
  Learning of Visual Representations", ICML 2020): make two random augmentations of each
  image and train the network to tell which of the batch's views are of the same image.
  The features must then keep what survives a shift, a tilt and noise (the digit's shape)
  and drop what does not.
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
from scratchnet.checks import check_int, check_number
from scratchnet.datasets.augment import gaussian_noise, random_rotation, random_shift, rotate90
from scratchnet.random import get_generator, own_generator

__all__ = ["N_ROTATIONS", "RotationPrediction", "SimCLR"]

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
        _check_modules("RotationPrediction", encoder=encoder)
        self.n_features = check_int("RotationPrediction", "n_features", n_features)
        self.encoder = encoder
        self.head = nn.Dense(self.n_features, N_ROTATIONS, rng=rng)

    def _check_images(self, x: Any) -> Tensor:
        x = _check_rank("RotationPrediction", x)
        if x.shape[2] != x.shape[3]:
            raise ValueError(f"RotationPrediction: images must be square so that a quarter "
                             f"turn keeps their shape, got H × W = {x.shape[2]} × {x.shape[3]}")
        return x

    def encode(self, x: Any) -> Tensor:
        """The encoder's features of ``x``, (N, C, H, W) -> (N, n_features), with a graph."""
        return _encode("RotationPrediction", self.encoder, self._check_images(x),
                       self.n_features)

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


class SimCLR(nn.Module):
    """Learn features by matching two random augmentations of the same image (SimCLR).

    Each image x of a batch of N becomes two views, ``t1(x)`` and ``t2(x)``, each from its
    own random draw of: a shift of up to ``SHIFT`` pixels (the padded random crop), a
    rotation by up to ``DEGREES`` degrees, and Gaussian pixel noise of standard deviation
    ``NOISE_STD``. Every view goes through the encoder, h = encoder(v) (N, n_features),
    and then a projection head, z = Dense(n_features, projection_dim)(relu(Dense(
    n_features, n_features)(h))). The loss is :func:`scratchnet.functional.nt_xent` of
    the two views' projections: each of the 2N views must pick out its partner among the
    other 2N − 1 by cosine similarity over temperature τ. Chance is log(2N − 1) nats.

    Chen et al. (2020) found that the loss is best applied to the projections z, while the
    features h before the head serve downstream tasks best; so the head is dropped for
    evaluation and :meth:`features` returns h.

    Train with ``sn.train.fit(model, lambda m, x: m.loss(x), optimizer, loader, epochs)``
    on a loader that yields images only.

    Args:
        encoder: any module, images (N, C, H, W) -> features (N, n_features).
        n_features: the width of the encoder's output.
        projection_dim: the width of the projections z that the loss compares.
        temperature: τ > 0 of the NT-Xent loss.
        rng: generator or seed for the head's initial weights and the augmentations; None
            draws both from the global generator (``sn.manual_seed``).
    """

    SHIFT = 3           # pixels: a 28 × 28 digit shifted this far stays in the frame
    DEGREES = 20.0      # a digit tilted this far still reads as itself
    NOISE_STD = 0.1     # pixel values lie in [0, 1]

    def __init__(self, encoder: nn.Module, n_features: int, projection_dim: int = 32,
                 temperature: float = 0.5,
                 rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        _check_modules("SimCLR", encoder=encoder)
        self.n_features = check_int("SimCLR", "n_features", n_features)
        self.projection_dim = check_int("SimCLR", "projection_dim", projection_dim)
        self.temperature = check_number("SimCLR", "temperature", temperature, low=0,
                                        low_open=True)
        self.rng = own_generator(rng)
        self.encoder = encoder
        self.head = nn.Sequential(
            nn.Dense(self.n_features, self.n_features, activation="relu", rng=self.rng),
            nn.Dense(self.n_features, self.projection_dim, rng=self.rng))

    def encode(self, x: Any) -> Tensor:
        """The encoder's features of ``x``, (N, C, H, W) -> (N, n_features), with a graph."""
        return _encode("SimCLR", self.encoder, _check_rank("SimCLR", x), self.n_features)

    def forward(self, x: Any) -> Tensor:
        """The projections z of the images as they are: (N, C, H, W) -> (N, projection_dim)."""
        return self.head(self.encode(x))

    def views(self, x: Any, rng: np.random.Generator | int | None = None) -> tuple[Tensor,
                                                                                   Tensor]:
        """Two independent random augmentations of every image: two (N, C, H, W) Tensors.

        Each view shifts, rotates and adds noise to each image with its own random draws
        (see the class docstring), from ``rng`` if given, else from the model's generator.
        The views carry no graph: augmentation is part of making the data.
        """
        x = _check_rank("SimCLR", x)
        generator = get_generator(self.rng if rng is None else rng)
        return tuple(as_tensor(self._augment(x.data, generator)) for _ in range(2))

    def _augment(self, images: Any, generator: np.random.Generator) -> Any:
        images = random_shift(images, self.SHIFT, rng=generator)
        images = random_rotation(images, self.DEGREES, rng=generator)
        return gaussian_noise(images, self.NOISE_STD, rng=generator)

    def loss(self, x: Any) -> Tensor:
        """NT-Xent (temperature τ) between the projections of two fresh views of ``x``."""
        v1, v2 = self.views(x)
        n = v1.shape[0]
        # One pass over both views: the encoder sees a batch of 2N, as in Chen et al.
        z = self(as_tensor(get_array_module(v1.data).concatenate([v1.data, v2.data])))
        return F.nt_xent(z[:n], z[n:], self.temperature)

    def features(self, x: Any) -> Tensor:
        """The encoder's features for evaluation, without the head: (N, C, H, W) -> (N, n_features).

        Computed in evaluation mode and without a graph; each module's training flag is
        restored afterwards.
        """
        with _evaluation(self), no_grad():
            return self.encode(x)


def _check_modules(owner: str, **modules: Any) -> None:
    """Each keyword argument must be an ``nn.Module``, else a TypeError naming ``owner``."""
    for name, module in modules.items():
        if not isinstance(module, nn.Module):
            raise TypeError(f"{owner}: {name} must be an nn.Module, got "
                            f"{type(module).__name__}")


def _check_rank(owner: str, x: Any, name: str | None = None) -> Tensor:
    """``x`` as a Tensor of images (N, C, H, W), else a ValueError naming ``owner``.

    ``name`` says which argument ``x`` is ("the source", "b") where an owner takes several.
    """
    x = as_tensor(x)
    if x.ndim != 4:
        what = "expected images" if name is None else f"{name} must be images"
        raise ValueError(f"{owner}: {what} of shape (N, C, H, W), got shape {tuple(x.shape)}")
    return x


def _encode(owner: str, encoder: nn.Module, x: Tensor, n_features: int) -> Tensor:
    """``encoder(x)``, checked to be (N, n_features); the error names ``owner``."""
    h = encoder(x)
    if h.shape != (x.shape[0], n_features):
        raise ValueError(f"{owner}: the encoder must output (N, n_features) = "
                         f"({x.shape[0]}, {n_features}), got {h.shape}")
    return h
