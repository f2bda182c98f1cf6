"""Super-resolution: paint a sharp 28×28 digit from a 7×7 thumbnail (×4).

Many sharp images shrink to the same thumbnail, so the inverse is a guess. Two ways to
train the guesser, and they pull apart (Blau & Michaeli, CVPR 2018, "the perception-
distortion trade-off"):

* **MSE only.** Minimising E‖G(x_low) − x‖² gives the *mean* of every sharp image that fits
  the thumbnail: the best possible PSNR, and a blur, because the mean of several different
  strokes is a grey smear that no real digit looks like.
* **MSE + adversarial** (SRGAN, Ledig et al., CVPR 2017). A discriminator D learns to tell
  real digits from upsampled ones, and the upsampler also minimises
  −log D(G(x_low)): it is pushed to pick *one* sharp, plausible digit. That costs some PSNR
  (a sharp stroke in a slightly wrong place is penalised twice by squared error) and buys
  images whose statistics match real digits (a lower Fréchet distance).

The upsampler (:func:`sr_upsampler`) works at the low resolution and grows the image with
sub-pixel convolutions (Shi et al., CVPR 2016): a convolution to 4·C channels, then
``F.pixel_shuffle(·, 2)`` rearranges them into a C-channel image twice as wide. By default
:class:`SuperResolution` adds its output to the bilinear enlargement of the input, so the
network learns only the correction (the "global residual" of Kim et al.'s VDSR, CVPR 2016):
it starts at bilinear's quality, and its linear output cannot saturate the way a sigmoid can
when a bad start pushes every pixel to black. The low-resolution input is the block average
of the truth (:func:`downsample`, "area" downsampling), and :func:`upsample` gives the
nearest and bilinear baselines.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import scratchnet.functional as F
from scratchnet import nn, optim
from scratchnet.autograd import Tensor, as_tensor, no_grad
from scratchnet.backend import get_array_module
from scratchnet.checks import check_int, check_number
from scratchnet.models.gan import _constants, _players, dcgan_discriminator
from scratchnet.models.pretext import _check_modules, _check_rank, _evaluation
from scratchnet.random import own_generator
from scratchnet.train import minimize

__all__ = ["METHODS", "PixelShuffle", "SuperResolution", "downsample", "sr_upsampler",
           "upsample"]

METHODS = ("nearest", "bilinear")


def _images(fn: str, images: Any) -> np.ndarray:
    x = images.data if isinstance(images, Tensor) else images
    x = get_array_module(x).asarray(x)
    if x.ndim != 4:
        raise ValueError(f"{fn}: images must have shape (N, C, H, W), got {x.shape}")
    # Averages and interpolations are fractions; cast back to an integer dtype they would
    # be rounded down silently, so integer (and bool) images are refused, not truncated.
    if x.dtype.kind != "f":
        raise TypeError(f"{fn}: images must have a floating-point dtype, got {x.dtype}; "
                        f"convert them first, e.g. images.astype(np.float32) / 255")
    return x


def downsample(images: Any, factor: int = 4) -> np.ndarray:
    """Block averages: (N, C, H, W) -> (N, C, H / r, W / r), r = ``factor``.

    Each low-resolution pixel is the mean of an r×r block ("area" downsampling), so a
    thumbnail keeps every pixel's ink, spread out. H and W must be multiples of r, and the
    images floating point (the means are fractions); the output keeps their dtype.
    """
    x = _images("downsample", images)
    r = check_int("downsample", "factor", factor)
    n, c, h, w = x.shape
    if h % r or w % r:
        raise ValueError(f"downsample: H and W must be multiples of factor {r}, got {h} × {w}")
    return x.reshape(n, c, h // r, r, w // r, r).mean(axis=(3, 5)).astype(x.dtype)


def _bilinear_weights(size: int, r: int, xp: Any = np) -> tuple[Any, Any, Any]:
    """For each of the r·size output positions: the two source indices and the weight of
    the second, with pixel centres aligned (source = (o + ½)/r − ½, clamped at the edges)."""
    source = xp.clip((xp.arange(size * r) + 0.5) / r - 0.5, 0.0, size - 1)
    below = xp.floor(source).astype(np.int64)
    above = xp.minimum(below + 1, size - 1)
    return below, above, source - below


def upsample(images: Any, factor: int = 4, method: str = "bilinear") -> np.ndarray:
    """Enlarge images by ``factor``: (N, C, H, W) -> (N, C, H·r, W·r), on their own backend.

    Images must be floating point (an integer dtype is refused with a TypeError rather than
    rounded down); the output keeps their dtype.

    * ``"nearest"``: each pixel becomes an r×r block.
    * ``"bilinear"``: linear interpolation along rows, then columns, between pixel
      *centres*: output pixel o reads source position s = (o + ½)/r − ½, clamped to
      [0, size − 1], as ``value[⌊s⌋] · (1 − t) + value[⌊s⌋ + 1] · t`` with t = s − ⌊s⌋.
      This is ``torch.nn.functional.interpolate(mode="bilinear", align_corners=False)``.
    """
    fn = "upsample"
    x = _images(fn, images)
    r = check_int(fn, "factor", factor)
    if method not in METHODS:
        raise ValueError(f"{fn}: method must be one of {METHODS}, got {method!r}")
    if method == "nearest":
        return x.repeat(r, axis=2).repeat(r, axis=3)
    xp = get_array_module(x)
    below, above, t = _bilinear_weights(x.shape[2], r, xp)
    rows = x[:, :, below, :] * (1 - t)[:, None] + x[:, :, above, :] * t[:, None]
    below, above, t = _bilinear_weights(x.shape[3], r, xp)
    return (rows[..., below] * (1 - t) + rows[..., above] * t).astype(x.dtype)


class PixelShuffle(nn.Module):
    """``F.pixel_shuffle`` as a layer: (N, C·r², H, W) -> (N, C, H·r, W·r)."""

    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        self.upscale_factor = check_int("PixelShuffle", "upscale_factor", upscale_factor)

    def forward(self, x: Tensor) -> Tensor:
        return F.pixel_shuffle(x, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


def sr_upsampler(factor: int = 4, width: int = 32, channels: int = 1,
                 rng: np.random.Generator | int | None = None) -> nn.Sequential:
    """A small sub-pixel upsampler, (N, C, h, w) -> (N, C, h·r, w·r), r = ``factor``.

    Conv 3×3 C→w + ReLU at the input's size; then, once per doubling (r a power of 2),
    Conv 3×3 w→4w, PixelShuffle(2), ReLU; last a linear Conv 3×3 w→C (a correction to add
    to the bilinear enlargement, see :class:`SuperResolution`). For r = 4 and w = 32:
    7×7 → 14×14 → 28×28. Parameters, with k = log2 r doublings:
    (9C + 1)·w + k·(36w² + 4w) + 9w·C + C, which is 320 + 2 · 36,992 + 289 = 74,593
    (about 75,000) for r = 4, w = 32, C = 1.
    """
    fn = "sr_upsampler"
    factor, width = check_int(fn, "factor", factor), check_int(fn, "width", width)
    channels = check_int(fn, "channels", channels)
    if factor < 2 or factor & (factor - 1):
        raise ValueError(f"{fn}: factor must be a power of 2 (2, 4, 8, ...), got {factor}")
    rng = own_generator(rng)
    layers: list[nn.Module] = [nn.Conv2D(channels, width, 3, padding="same", activation="relu",
                                         rng=rng)]
    for _ in range(factor.bit_length() - 1):
        layers += [nn.Conv2D(width, 4 * width, 3, padding="same", rng=rng), PixelShuffle(2),
                   nn.ReLU()]
    layers.append(nn.Conv2D(width, channels, 3, padding="same", rng=rng))
    return nn.Sequential(*layers)


class SuperResolution(nn.Module):
    """An upsampler trained on (thumbnail, truth) pairs that it makes itself.

    Batches are the sharp images x (N, C, H, W); the input is x_low = :func:`downsample`
    (x, ``factor``), and the prediction is x̂ = upsampler(x_low) + bilinear(x_low) with
    ``residual`` (the default), else x̂ = upsampler(x_low); it must have x's shape.
    :meth:`upsample` clips x̂ to [0, 1], the range of the images.

    **Losses.** L_MSE = mean over every value of (x̂ − x)². With ``adversarial`` = λ > 0
    the upsampler minimises SRGAN's perceptual loss with the MSE content term,

        L = L_MSE + λ · L_adv,   L_adv = E[softplus(−D_logit(x̂))] = −E[log D(x̂)]

    (Ledig et al. weight their adversarial term by 10⁻³), and D minimises
    E[softplus(−D(x))] + E[softplus(D(x̂))], real digits against upsampled ones.

    **Training.** With λ = 0 there is one loss and one optimizer::

        sn.train.fit(model, lambda m, x: m.loss(x), optim.Adam(model.parameters()), loader, 5)

    With λ > 0 the model brings its own two-player step, like ``models.GAN``::

        sn.train.fit(model, loader=loader, epochs=5)   # training_step, configure_optimizers

    ``training_step`` exists only when λ > 0 (``fit`` looks for it to decide how to train).

    Args:
        upsampler: a module from (N, C, H / r, W / r) to (N, C, H, W), e.g. :func:`sr_upsampler`.
        adversarial: λ >= 0, the weight of the adversarial term.
        discriminator: images (N, C, H, W) -> one logit each, (N, 1) or (N,); only with
            λ > 0. None builds ``dcgan_discriminator(width=16)`` (for 1×28×28 images).
        factor: r, the downsampling factor of the inputs.
        residual: add the bilinear enlargement :func:`upsample` (x_low) to the upsampler's
            output, so that it learns the correction.
        rng: generator or seed for the default discriminator's weights.
    """

    def __init__(self, upsampler: nn.Module, adversarial: float = 0.0,
                 discriminator: nn.Module | None = None, factor: int = 4,
                 residual: bool = True, rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        _check_modules("SuperResolution", upsampler=upsampler)
        self.upsampler = upsampler
        self.adversarial = check_number("SuperResolution", "adversarial", adversarial,
                                        low=0.0)
        self.factor = check_int("SuperResolution", "factor", factor)
        self.residual = bool(residual)
        if self.adversarial == 0:
            if discriminator is not None:
                raise ValueError("SuperResolution: a discriminator is used only with "
                                 "adversarial > 0, got adversarial=0")
            self.discriminator = None
            return
        if discriminator is None:
            discriminator = dcgan_discriminator(16, rng=own_generator(rng))
        else:
            _check_modules("SuperResolution", discriminator=discriminator)
        self.discriminator = discriminator

    def forward(self, low: Any) -> Tensor:
        """x̂ = upsampler(low) [+ bilinear(low)]: (N, C, h, w) -> (N, C, h·r, w·r), differentiable
        (unclipped)."""
        low = _check_rank("SuperResolution", low)
        out = self.upsampler(low)
        if self.residual and out.ndim == 4 and out.shape[2:] == (low.shape[2] * self.factor,
                                                                 low.shape[3] * self.factor):
            out = out + Tensor(upsample(low.data, self.factor, "bilinear"))
        expected = (low.shape[0], low.shape[1], low.shape[2] * self.factor,
                    low.shape[3] * self.factor)
        if out.shape != expected:
            raise ValueError(f"SuperResolution: the upsampler must output {expected} for "
                             f"inputs {low.shape} (factor {self.factor}), got {out.shape}")
        return out

    def _predict(self, batch: Any) -> tuple[Tensor, Tensor]:
        """(truth x, prediction x̂ from its thumbnail), x̂ with a graph."""
        x = _check_rank("SuperResolution",
                        batch[0] if isinstance(batch, (tuple, list)) else batch)
        return x, self(Tensor(downsample(x.data, self.factor)))

    def _score(self, images: Tensor) -> Tensor:
        out = self.discriminator(images)
        if out.shape not in ((images.shape[0], 1), (images.shape[0],)):
            raise ValueError(f"SuperResolution: the discriminator must output one logit per "
                             f"image, (N, 1) or (N,) with N = {images.shape[0]}, got "
                             f"{out.shape}")
        return out.reshape(images.shape[0])

    def _combined(self, x: Tensor, prediction: Tensor) -> tuple[Tensor, dict[str, float]]:
        mse = F.mse_loss(prediction, x)
        if self.adversarial == 0:
            return mse, {"mse": float(mse.data)}
        adv = F.softplus(-self._score(prediction)).mean()
        return mse + adv * self.adversarial, {"mse": float(mse.data),
                                              "adv_loss": float(adv.data)}

    def loss(self, x: Any) -> Tensor:
        """The upsampler's loss on sharp images x: L_MSE, or L_MSE + λ · L_adv (a scalar)."""
        return self._combined(*self._predict(x))[0]

    @property
    def training_step(self) -> Any:
        """``training_step(batch, optimizers) -> dict`` (λ > 0 only): one update of D on
        real against upsampled digits, then one of the upsampler through D (held constant).

        ``optimizers``: ``{"generator": ..., "discriminator": ...}`` (the upsampler plays
        the generator) or that pair. Logs ``d_loss``, ``d_real``, ``d_fake``, ``mse``,
        ``adv_loss`` and ``loss``.
        """
        if self.adversarial == 0:
            raise AttributeError("SuperResolution: training_step exists only with "
                                 "adversarial > 0; train with sn.train.fit(model, lambda m, x: "
                                 "m.loss(x), optimizer, loader, epochs)")
        return self._adversarial_step

    def _adversarial_step(self, batch: Any, optimizers: Any) -> dict[str, float]:
        g_optimizer, d_optimizer = _players("SuperResolution", optimizers)
        x, prediction = self._predict(batch)
        real_score, fake_score = self._score(x), self._score(prediction.detach())
        d_loss = F.softplus(-real_score).mean() + F.softplus(fake_score).mean()
        logs = {"d_real": float(F.sigmoid(real_score).data.mean()),
                "d_fake": float(F.sigmoid(fake_score).data.mean()),
                "d_loss": minimize(d_loss, d_optimizer)}
        with _constants(self.discriminator):
            total, parts = self._combined(x, prediction)
            logs.update(parts, loss=minimize(total, g_optimizer))
        return logs

    def configure_optimizers(self, lr: float = 1e-3, betas: tuple[float, float] = (0.5, 0.999),
                             d_lr: float | None = None) -> dict[str, optim.Adam]:
        """Adam for each player, ``{"generator": ..., "discriminator": ...}`` (λ > 0 only).

        β₁ = 0.5 as in DCGAN; ``d_lr`` defaults to ``lr``. ``fit`` calls this when it is
        given no optimizers.
        """
        if self.discriminator is None:
            raise ValueError("SuperResolution: configure_optimizers is for adversarial > 0; "
                             "with adversarial=0 pass one optimizer, "
                             "optim.Adam(model.parameters())")
        return {"generator": optim.Adam(self.upsampler.parameters(), lr=lr, betas=betas),
                "discriminator": optim.Adam(self.discriminator.parameters(),
                                            lr=lr if d_lr is None else d_lr, betas=betas)}

    def upsample(self, low: Any, batch_size: int = 500) -> np.ndarray:
        """x̂ for thumbnails ``low`` (N, C, h, w), clipped to [0, 1]: an array, evaluation
        mode, no graph."""
        low = _check_rank("SuperResolution", low)
        with _evaluation(self), no_grad():
            xp = get_array_module(low.data)
            out = xp.concatenate([self(as_tensor(low.data[i:i + batch_size])).data
                                  for i in range(0, low.shape[0], batch_size)])
        return xp.clip(out, 0.0, 1.0)

    def extra_repr(self) -> str:
        return (f"factor={self.factor}, adversarial={self.adversarial}, "
                f"residual={self.residual}")
