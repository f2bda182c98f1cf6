"""Colorization as a pretext task: predict each pixel's colour from the grey image.

Zhang, Isola & Efros, "Colorful Image Colorization", ECCV 2016. A network sees only the
lightness of a photograph and predicts its colours. Zhang et al. quantise the colour plane
into bins and classify each pixel among them, rather than regress the colour: a regression
to several plausible colours (a red or a blue car) lands on their grey average, while a
classifier keeps every mode and can pick one. Knowing that grass is green and the sky blue
takes knowing what is in the picture, so the encoder's features carry content.

Here the images are :func:`scratchnet.datasets.colorize` digits: grey MNIST tinted with one
uniformly random hue per digit. The colour to predict is that hue, quantised into bins
around the colour wheel. Unlike a photograph's, this hue is drawn independently of the
digit: see :class:`Colorization` for what that means for the features.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import scratchnet.functional as F
from scratchnet import nn
from scratchnet.autograd import Tensor, as_tensor, no_grad
from scratchnet.backend import get_array_module
from scratchnet.checks import check_int, check_number
from scratchnet.datasets.colour import hue_to_rgb, rgb_to_hue
from scratchnet.models.pretext import _check_modules, _check_rank, _evaluation

__all__ = ["Colorization"]


class Colorization(nn.Module):
    """Learn features by classifying each pixel's hue from the grey image.

    **Targets.** From colour images x (N, 3, H, W) the model makes, itself:

    * the grey image g = max over the channels (N, 1, H, W); for ``colorize`` digits this is
      exactly the original digit, since every tint has its largest channel equal to 1;
    * each pixel's hue h = :func:`scratchnet.datasets.colour.rgb_to_hue`, and its bin
      k = ⌊h · K⌋ among K = ``n_bins`` equal arcs of the colour wheel (bin k covers hues
      [k/K, (k + 1)/K) and has centre (k + ½)/K).

    **Loss.** The network ``decoder(encoder(g))`` outputs logits (N, K, H, W); the loss is
    the per-pixel cross-entropy weighted by the ink, L = Σ g·(−log p_k) / Σ g over all
    pixels. The black background has no hue and weight 0, so it counts for nothing; a faint
    stroke edge counts less than its centre. (Zhang et al. weight pixels by the rarity of
    their colour instead, to stop the common greys and browns of photographs from winning;
    here the hues are uniform and the weight has another job.) Chance is log K nats and an
    accuracy of 1/K.

    **Painting.** :meth:`paint` colours each pixel with the hue of its most likely
    bin's centre (or, with a temperature, Zhang et al.'s annealed mean adapted to a circle)
    at the pixel's grey level: RGB = g · hue_to_rgb(ĥ).

    **What this task can teach here.** ``colorize`` draws each digit's hue independently of
    the digit, so the grey image carries no information about it: no network can beat an
    accuracy of 1/K on new digits, and the best prediction is the uniform distribution over
    the bins. Once the head predicts it, the *expected* gradient of the loss is zero for the
    encoder as for the head; what reaches the encoder is noise from the random hues, and
    the features learn nothing about digits from the pretext. Colorization is informative
    only when colour depends on content, as in natural images (Zhang et al.); the digits
    show the failure mode, a pretext task whose answer cannot be read from the input.

    Train with ``sn.train.fit(model, lambda m, x: m.loss(x), optimizer, loader, epochs)`` on
    a loader of colour images.

    Args:
        encoder: any module, grey images (N, 1, H, W) -> features (N, ...).
        decoder: any module, the encoder's output -> logits (N, n_bins, H, W).
        n_bins: K, the number of hue bins (12: one per 30° of the colour wheel).
    """

    def __init__(self, encoder: nn.Module, decoder: nn.Module, n_bins: int = 12) -> None:
        super().__init__()
        _check_modules("Colorization", encoder=encoder, decoder=decoder)
        self.n_bins = check_int("Colorization", "n_bins", n_bins, minimum=2)
        self.encoder, self.decoder = encoder, decoder

    # -- targets ----------------------------------------------------------------------------
    def _colour(self, x: Any) -> Tensor:
        x = _check_rank("Colorization", x)
        if x.shape[1] != 3:
            raise ValueError(f"Colorization: expected colour images (N, 3, H, W), got shape "
                             f"{x.shape}")
        return x

    def targets(self, x: Any) -> tuple[Any, Any]:
        """The grey images and each pixel's hue bin: (N, 3, H, W) -> (N, 1, H, W), (N, H, W).

        Grey is the largest channel (x's dtype); bins are int64 in [0, n_bins). Pixels with
        no hue (black) get bin 0; their weight, their grey level, is 0.
        """
        x = self._colour(x)
        xp = get_array_module(x.data)
        grey = x.data.max(axis=1, keepdims=True)
        hues = rgb_to_hue(xp.moveaxis(x.data, 1, -1))
        # The modulo keeps a hue that rounds up to the last bin's upper edge in range.
        bins = (xp.floor(hues * self.n_bins).astype(xp.int64)) % self.n_bins
        return grey, bins

    def bin_centres(self) -> np.ndarray:
        """The hue at the centre of each bin, (k + ½) / n_bins: shape (n_bins,) float64."""
        return (np.arange(self.n_bins) + 0.5) / self.n_bins  # host: a small constant table

    # -- the network ------------------------------------------------------------------------
    def _grey(self, images: Any) -> Tensor:
        """Grey images (N, 1, H, W) as they are, or colour images reduced to their grey."""
        images = _check_rank("Colorization", images)
        if images.shape[1] == 3:
            return as_tensor(images.data.max(axis=1, keepdims=True))
        if images.shape[1] != 1:
            raise ValueError(f"Colorization: expected grey (N, 1, H, W) or colour "
                             f"(N, 3, H, W) images, got shape {images.shape}")
        return images

    def forward(self, grey: Any) -> Tensor:
        """The hue logits of each pixel: grey (N, 1, H, W) -> (N, n_bins, H, W)."""
        grey = _check_rank("Colorization", grey)
        if grey.shape[1] != 1:
            raise ValueError(f"Colorization: the network reads grey images (N, 1, H, W), got "
                             f"shape {grey.shape}")
        out = self.decoder(self.encoder(grey))
        expected = (grey.shape[0], self.n_bins, grey.shape[2], grey.shape[3])
        if out.shape != expected:
            raise ValueError(f"Colorization: the decoder must output logits (N, n_bins, H, W) "
                             f"= {expected}, got {out.shape}")
        return out

    @staticmethod
    def _ink(grey: Any) -> Any:
        """Grey levels (N, 1, H, W) as weights (N, H, W), checked to hold some ink."""
        total = float(grey.sum())
        if not total > 0:
            raise ValueError("Colorization: the images have no ink (every pixel is black), so "
                             "no pixel has a hue to predict")
        return grey[:, 0]

    def loss(self, x: Any) -> Tensor:
        """Σ g·(−log p_k) / Σ g: the ink-weighted per-pixel cross-entropy of the hue bins."""
        grey, bins = self.targets(x)
        ink = self._ink(grey)
        xp = get_array_module(grey)
        log_p = F.log_softmax(self(grey), axis=1)                       # (N, K, H, W)
        chosen = bins[:, None] == xp.arange(self.n_bins)[None, :, None, None]
        nll = -(log_p * as_tensor(chosen.astype(grey.dtype))).sum(axis=1)   # (N, H, W)
        return (nll * as_tensor(ink)).sum() / float(ink.sum())

    # -- evaluation -------------------------------------------------------------------------
    def probabilities(self, grey: Any) -> Any:
        """The predicted hue distribution of each pixel: (N, 1, H, W) -> (N, n_bins, H, W).

        Colour images are reduced to their grey first. Evaluation mode, no graph; an array.
        """
        with _evaluation(self), no_grad():
            return F.softmax(self(self._grey(grey)), axis=1).data

    def accuracy(self, x: Any) -> float:
        """The ink-weighted fraction of pixels whose most likely bin is the true one.

        Σ g·[argmax_k p_k = k*] / Σ g on colour images x (N, 3, H, W); chance is 1/n_bins.
        """
        grey, bins = self.targets(x)
        ink = self._ink(grey)
        right = self.probabilities(grey).argmax(axis=1) == bins
        return float((ink * right).sum() / ink.sum())

    def entropy(self, x: Any) -> float:
        """The ink-weighted mean entropy of the predicted hue distributions, in nats.

        Σ g·H(p) / Σ g with H(p) = −Σ_k p_k log p_k; at most log n_bins, reached by the
        uniform distribution. Takes grey or colour images.
        """
        grey = self._grey(x)
        ink = self._ink(grey.data)
        p = self.probabilities(grey)
        xp = get_array_module(p)
        # p log p → 0 as p → 0; the where keeps log(0) out of the sum.
        plogp = xp.where(p > 0, p * xp.log(xp.where(p > 0, p, 1.0)), 0.0)
        return float((ink * -plogp.sum(axis=1)).sum() / ink.sum())

    def paint(self, grey: Any, temperature: float = 0.0) -> Tensor:
        """Colour images from grey ones: (N, 1, H, W) -> RGB (N, 3, H, W), no graph.

        Each pixel gets the hue ĥ of its predicted distribution p, at its grey level:
        RGB = g · hue_to_rgb(ĥ). With ``temperature`` T = 0, ĥ is the most likely bin's
        centre. With T > 0 it is Zhang et al.'s annealed mean on the circle: weights
        q_k ∝ p_k^(1/T), and ĥ is the direction of Σ_k q_k·(cos 2πc_k, sin 2πc_k) over the
        bin centres c_k (a plain mean of hues would put the average of red at 0.05 and red
        at 0.95 at cyan, 0.5). Zhang et al. use T = 0.38: T → 0 gives the mode, T = 1 the
        mean.
        """
        temperature = check_number("Colorization.paint", "temperature", temperature,
                                   low=0.0)
        grey = self._grey(grey)
        p = self.probabilities(grey)
        xp = get_array_module(p)
        centres = xp.asarray(self.bin_centres())
        if temperature == 0:
            hues = centres[p.argmax(axis=1)]
        else:
            # Annealing in log space: p^(1/T) of a small p underflows to 0 for every bin.
            logq = xp.log(xp.maximum(p.astype(xp.float64), 1e-300)) / temperature
            q = xp.exp(logq - logq.max(axis=1, keepdims=True))
            angle = 2 * math.pi * centres[None, :, None, None]
            hues = (xp.arctan2((q * xp.sin(angle)).sum(axis=1),
                               (q * xp.cos(angle)).sum(axis=1)) / (2 * math.pi)) % 1.0
        colours = xp.moveaxis(hue_to_rgb(hues), -1, 1)                  # (N, 3, H, W)
        return as_tensor((grey.data * colours).astype(grey.data.dtype))

    def features(self, images: Any) -> Tensor:
        """The encoder's features: grey (N, 1, H, W) or colour (N, 3, H, W) -> (N, F).

        The encoder reads grey images, so plain MNIST digits go in as they are, and colour
        images are reduced to their grey (the largest channel). An encoder output with more
        than two axes is flattened to (N, F). Evaluation mode, no graph.
        """
        grey = self._grey(images)
        with _evaluation(self), no_grad():
            h = self.encoder(grey)
        return h.reshape(h.shape[0], -1) if h.ndim > 2 else h

    def extra_repr(self) -> str:
        return f"n_bins={self.n_bins}"
