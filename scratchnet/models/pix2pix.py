"""pix2pix (Isola et al., 2017): paired image-to-image translation with a conditional GAN.

From pairs (x, y) of an input image and its translation (edges and the digit they came
from, a grey digit and its colour version), a generator G learns y ≈ G(x). L1 alone
(minimise E‖y − G(x)‖₁) gives, for each pixel, the median of what the pixel could be
given x; where x leaves y uncertain (how thick is the stroke inside these edges? which
hue?) that median is a compromise no real image has, and the output is blurred or
washed out. pix2pix adds a conditional discriminator D that judges pairs: (x, y) should
score "real", (x, G(x)) "fake". To fool it, G must give outputs that look like *some*
real y for this x, sharp where the real ones are sharp. The objective is

    G* = arg min_G max_D  L_cGAN(G, D) + λ · L_L1(G),
    L_cGAN = E_{x,y}[log D(x, y)] + E_x[log(1 − D(x, G(x)))],
    L_L1 = E_{x,y}‖y − G(x)‖₁,

with λ = 100 in the paper. D is a PatchGAN (:func:`~scratchnet.models.image_to_image.
patchgan_discriminator`): it returns a map of logits, one per overlapping patch, and its
loss is the mean over the patches. G is a U-Net (:class:`~scratchnet.models.
image_to_image.UNet`). Like every GAN here, G minimises the non-saturating loss
−log D(x, G(x)) rather than log(1 − D(x, G(x))).

Reference: Isola, Zhu, Zhou & Efros (2017), "Image-to-Image Translation with Conditional
Adversarial Networks", CVPR.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import scratchnet.functional as F
from scratchnet import nn, optim
from scratchnet.autograd import Tensor, no_grad
from scratchnet.checks import check_number
from scratchnet.models.gan import _constants, _players
from scratchnet.models.pretext import _check_rank, _evaluation
from scratchnet.train import minimize

__all__ = ["Pix2Pix"]


def _generator_optimizer(optimizers: Any) -> Any:
    """The generator's optimizer when ``adversarial=0``, from any form ``training_step`` takes.

    A pair is accepted, so that code written for every two-player model (which passes
    ``(generator's, discriminator's)``) also runs the L1-only baseline; its second item is
    unused. Anything without ``step()`` and ``zero_grad()`` is a TypeError naming Pix2Pix.
    """
    optimizer = optimizers
    if isinstance(optimizers, Mapping):
        if "generator" not in optimizers:
            raise KeyError(f"Pix2Pix: the optimizers dict has no 'generator', got keys "
                           f"{sorted(optimizers)}")
        optimizer = optimizers["generator"]
    elif isinstance(optimizers, (tuple, list)) and len(optimizers) in (1, 2):
        optimizer = optimizers[0]
    if not all(callable(getattr(optimizer, method, None)) for method in ("step", "zero_grad")):
        got = type(optimizers).__name__
        if optimizer is not optimizers:
            got += f" whose generator's entry is {type(optimizer).__name__}"
        raise TypeError(f"Pix2Pix: with adversarial=0, optimizers must be the generator's "
                        f"optimizer (with step() and zero_grad()), {{'generator': ...}} or a "
                        f"pair (generator's, discriminator's or None); got {got}")
    return optimizer


class Pix2Pix(nn.Module):
    r"""A generator G and a conditional PatchGAN discriminator D trained on pairs (x, y).

    Shapes: sources x (N, C_in, H, W), targets y (N, C_out, H, W); G maps the one to the
    other, and D reads the pair concatenated along channels, (N, C_in + C_out, H, W), and
    returns logits (N, 1, P, Q), one per patch (or (N, 1) for a whole-image D).

    Losses on one batch, with ℓ(·) D's logits and the means taken over the batch and the
    P·Q patches (softplus(t) = log(1 + eᵗ), so softplus(−ℓ) = −log σ(ℓ)):

    * D minimises  ½ [mean softplus(−ℓ(x, y)) + mean softplus(ℓ(x, G(x)))], the binary
      cross-entropy of "real" pairs against "fake" ones, halved as in the paper so that D
      learns more slowly than G;
    * G minimises  a · mean softplus(−ℓ(x, G(x))) + λ · mean |G(x) − y|, where
      a = ``adversarial`` and λ = ``l1_weight`` (the L1 term is averaged over pixels).

    With ``adversarial=0`` the model is the L1 baseline: G minimises λ · L1 alone and there
    is no discriminator (pass ``discriminator=None``).

    Training: :meth:`training_step` makes one update of D (when a > 0) on real pairs
    against G's current outputs, then one of G, through the updated D with D's weights
    held constant (its BatchNorm running statistics still move; see :meth:`generator_loss`).
    ``sn.train.fit(model, loader=DataLoader(x, y, batch_size=64),
    epochs=...)`` calls it, with :meth:`configure_optimizers`' defaults.

    Args:
        generator: G, a module (N, C_in, H, W) -> (N, C_out, H, W).
        discriminator: D, a module (N, C_in + C_out, H, W) -> logits; None when
            ``adversarial=0``.
        l1_weight: λ ≥ 0, the weight of the L1 term (100 in the paper).
        adversarial: a ≥ 0, the weight of the adversarial term (1 in the paper; 0 for L1
            only). At least one of λ and a must be > 0.
    """

    def __init__(self, generator: nn.Module, discriminator: nn.Module | None,
                 l1_weight: float = 100.0, adversarial: float = 1.0) -> None:
        super().__init__()
        if not isinstance(generator, nn.Module):
            raise TypeError(f"Pix2Pix: generator must be an nn.Module, got "
                            f"{type(generator).__name__}")
        self.l1_weight = check_number("Pix2Pix", "l1_weight", l1_weight, low=0.0)
        self.adversarial = check_number("Pix2Pix", "adversarial", adversarial, low=0.0)
        if self.l1_weight == 0 and self.adversarial == 0:
            raise ValueError("Pix2Pix: l1_weight and adversarial are both 0, so the generator "
                             "would have no loss; set at least one > 0")
        if self.adversarial > 0 and not isinstance(discriminator, nn.Module):
            raise TypeError(f"Pix2Pix: adversarial={self.adversarial} needs a discriminator "
                            f"nn.Module, got {type(discriminator).__name__}")
        if self.adversarial == 0 and discriminator is not None:
            raise ValueError("Pix2Pix: adversarial=0 trains G on L1 alone, so a discriminator "
                             "would never learn; pass discriminator=None")
        self.generator = generator
        self.discriminator = discriminator

    def forward(self, x: Any) -> Tensor:
        """G(x): (N, C_in, H, W) -> (N, C_out, H, W), differentiable."""
        return self.generator(_check_rank("Pix2Pix", x, "the source"))

    def _pairs(self, source: Any, target: Any) -> tuple[Tensor, Tensor]:
        source = _check_rank("Pix2Pix", source, "the source")
        target = _check_rank("Pix2Pix", target, "the target")
        if source.shape[0] != target.shape[0] or source.shape[2:] != target.shape[2:]:
            raise ValueError(f"Pix2Pix: sources and targets must pair up, the same N, H and "
                             f"W; got {tuple(source.shape)} and {tuple(target.shape)}")
        return source, target

    def score(self, source: Tensor, image: Tensor) -> Tensor:
        """D's logits for the pairs (source, image), concatenated along channels."""
        if self.discriminator is None:
            raise ValueError("Pix2Pix: adversarial=0 has no discriminator to score with")
        return self.discriminator(F.concatenate([source, image], axis=1))

    def discriminator_loss(self, source: Any, target: Any, fake: Tensor | None = None
                           ) -> tuple[Tensor, dict[str, float]]:
        """½ [mean softplus(−ℓ(x, y)) + mean softplus(ℓ(x, G(x)))] and what to log.

        ``fake`` is G(x) when already computed; no gradient flows back into G from here.
        """
        source, target = self._pairs(source, target)
        if fake is None:
            with no_grad():
                fake = self.generator(source)
        real_logits = self.score(source, target)
        fake_logits = self.score(source, Tensor(fake.data))
        loss = (F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()) * 0.5
        return loss, {"d_loss": float(loss.data),
                      "d_real": float(F.sigmoid(real_logits).data.mean()),
                      "d_fake": float(F.sigmoid(fake_logits).data.mean())}

    def generator_loss(self, source: Any, target: Any, fake: Tensor | None = None
                       ) -> tuple[Tensor, dict[str, float]]:
        """a · mean softplus(−ℓ(x, G(x))) + λ · mean |G(x) − y|, and its parts.

        ``fake`` is G(x) when already computed (with its graph). Scoring G(x) runs D in
        whatever mode it is in: :meth:`training_step` holds D's *weights* constant here,
        but a D in training mode with BatchNorm (the PatchGAN) normalises by this fake-only
        batch and updates its running mean and variance from it, as the reference pix2pix
        code does. Those statistics are read only in evaluation mode, which no training step
        uses, so they do not change what D outputs during training.
        """
        source, target = self._pairs(source, target)
        fake = self.generator(source) if fake is None else fake
        if fake.shape != target.shape:
            raise ValueError(f"Pix2Pix: the generator must output the target's shape "
                             f"{tuple(target.shape)}, got {tuple(fake.shape)}")
        l1 = F.abs(fake - target).mean()
        parts = {"l1_loss": float(l1.data)}
        total = l1 * self.l1_weight
        if self.adversarial > 0:
            adv = F.softplus(-self.score(source, fake)).mean()
            parts["adv_loss"] = float(adv.data)
            total = total + adv * self.adversarial
        return total, parts

    def training_step(self, batch: Any, optimizers: Any) -> dict[str, float]:
        """One update of D (when a > 0), then one of G, on a batch ``(source, target)``.

        ``optimizers``: ``{"generator": ..., "discriminator": ...}`` or that pair; with
        ``adversarial=0``, ``{"generator": ...}``, the generator's optimizer alone, or a
        pair or one-item list whose first item is the generator's (the second, for a D
        that does not exist, is ignored). D
        judges G's outputs from before G's update; G's adversarial term is scored by the
        D just updated. Returns ``g_loss``, ``l1_loss`` and, with a > 0, ``adv_loss``,
        ``d_loss``, ``d_real`` and ``d_fake`` (D's mean probability of "real").
        """
        if not isinstance(batch, (tuple, list)) or len(batch) != 2:
            raise TypeError(f"Pix2Pix: a batch is the pair (source, target), got "
                            f"{type(batch).__name__}")
        source, target = self._pairs(*batch)
        logs: dict[str, float] = {}
        if self.adversarial == 0:
            g_optimizer = _generator_optimizer(optimizers)
            total, parts = self.generator_loss(source, target)
        else:
            g_optimizer, d_optimizer = _players("Pix2Pix", optimizers)
            fake = self.generator(source)
            d_loss, logs = self.discriminator_loss(source, target, fake)
            minimize(d_loss, d_optimizer)
            with _constants(self.discriminator):
                total, parts = self.generator_loss(source, target, fake)
        logs.update(parts, g_loss=minimize(total, g_optimizer))
        return logs

    def configure_optimizers(self, lr: float = 2e-4, betas: tuple[float, float] = (0.5, 0.999)
                             ) -> dict[str, optim.Adam]:
        """Adam per player, ``{"generator": ..., "discriminator": ...}`` (the generator's
        alone when ``adversarial=0``). The defaults are the paper's: lr = 2·10⁻⁴,
        β = (0.5, 0.999)."""
        optimizers = {"generator": optim.Adam(self.generator.parameters(), lr=lr,
                                              betas=betas)}
        if self.discriminator is not None:
            optimizers["discriminator"] = optim.Adam(self.discriminator.parameters(), lr=lr,
                                                     betas=betas)
        return optimizers

    def translate(self, x: Any, batch_size: int = 500) -> Tensor:
        """G(x) in evaluation mode, without a graph: (N, C_in, H, W) -> (N, C_out, H, W).

        Runs ``batch_size`` images at a time; each module's training flag is restored.
        """
        x = _check_rank("Pix2Pix", x, "the source")
        with _evaluation(self.generator), no_grad():
            outs = [self.generator(x[i:i + batch_size]) for i in range(0, x.shape[0],
                                                                      batch_size)]
        return outs[0] if len(outs) == 1 else F.concatenate(outs, axis=0)

    def extra_repr(self) -> str:
        return f"l1_weight={self.l1_weight}, adversarial={self.adversarial}"
