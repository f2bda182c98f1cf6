"""Context encoders: learn features by filling in a hidden part of each image.

Pathak, Krähenbühl, Donahue, Darrell & Efros, "Context Encoders: Feature Learning by
Inpainting", CVPR 2016. A square of each image is hidden; an encoder reads what is left and
a decoder paints the whole image back. Only the hidden square is scored, so the network
cannot win by copying its input: it must guess the missing stroke of a digit from the
strokes around it, which takes knowing what digits look like. The encoder's features then
serve other tasks (read them with :meth:`ContextEncoder.features`).

Squared error alone rewards the average of every plausible completion, which is blurry.
Pathak et al. add an adversarial loss: a discriminator judges the completed images against
real ones, and the encoder-decoder is also trained to fool it, which favours one sharp
completion over the blurred mean of many.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import scratchnet.functional as F
from scratchnet import nn, optim
from scratchnet.autograd import Tensor, as_tensor, no_grad
from scratchnet.backend import get_array_module
from scratchnet.checks import check_int, check_number
from scratchnet.models.gan import _constants, _players
from scratchnet.models.pretext import _check_modules, _check_rank, _evaluation
from scratchnet.random import get_generator, own_generator
from scratchnet.train import minimize

__all__ = ["MASKS", "ContextEncoder"]

MASKS = ("center", "random")


class ContextEncoder(nn.Module):
    """Inpainting as a pretext task: ``decoder(encoder(hidden image))`` paints the hole.

    **Masks** (:meth:`masks`) are squares of side s = ``mask_size`` (default
    ``min(H, W) // 2``, a quarter of a square image, as in Pathak et al.'s central region):

    * ``"center"``: the central square, rows ``(H − s) // 2`` to ``(H − s) // 2 + s − 1``
      (and the same for columns); when H − s is odd the square sits half a pixel up and to
      the left of the true centre.
    * ``"random"``: a square of the same size at a position drawn uniformly, per image, among
      all positions inside the frame. Pathak et al.'s random-block variant covers the hole
      with several overlapping blocks; one block is a simplification.

    **Hiding** (:meth:`hide`) replaces the hidden pixels by each image's mean over its
    *known* pixels, channel by channel. Pathak et al. fill with the mean pixel value; a
    per-image mean of the known pixels needs no pass over the data set, carries nothing from
    the hole, and on digits is a grey that differs from the black background, so the network
    can see where the hole is even when it moves.

    **Losses.** With prediction P = decoder(encoder(hidden x)) and mask M (1 on the hole),
    the reconstruction loss is the squared error averaged over the hidden values only:
    L_rec = Σ M·(P − x)² / (C · Σ M). What the decoder paints outside the hole costs nothing.
    With ``adversarial`` = λ > 0 the encoder-decoder minimises, as Pathak et al.,

        L = (1 − λ) · L_rec + λ · L_adv,   L_adv = −E[log D(x̂)] = E[softplus(−D_logit(x̂))]

    on the completed image x̂ = (1 − M)·x + M·P (the non-saturating generator loss, see
    :mod:`scratchnet.models.gan`). Weights that sum to one keep L_rec's scale for every λ
    and read as "the share of the adversarial term"; Pathak et al. used λ = 0.001. The
    discriminator D minimises E[softplus(−D(x))] + E[softplus(D(x̂))] (real against
    completed images).

    **Training.** With ``adversarial=0`` (the default) there is one loss and one optimizer::

        sn.train.fit(model, lambda m, x: m.loss(x), optim.Adam(model.parameters()), loader, 5)

    With λ > 0 each step updates two players, so the model has ``training_step(batch,
    optimizers)`` and ``configure_optimizers()`` like :class:`~scratchnet.models.GAN`, and
    trains with ``sn.train.fit(model, loader=..., epochs=...)``. ``fit`` chooses between the
    two by whether the model has a ``training_step`` attribute, so that attribute exists
    only when λ > 0 (reading it otherwise raises AttributeError): one class, and each
    setting trains the way ``fit`` expects.

    Args:
        encoder: any module, images (N, C, H, W) -> features (N, ...).
        decoder: any module, the encoder's output -> images (N, C, H, W) of the input's
            shape (for pixels in [0, 1], end it with a sigmoid).
        mask: ``"center"`` or ``"random"``.
        adversarial: λ in [0, 1], the weight of the adversarial loss.
        mask_size: the side s of the hidden square, 1 <= s < min(H, W) (checked on each
            batch); None for ``min(H, W) // 2``.
        discriminator: a module from images (N, C, H, W) to one logit each, (N, 1) or (N,);
            only with λ > 0. None builds a small one for ``image_shape``: two 4×4 stride-2
            convolutions with LeakyReLU(0.2) (widths 32 and 64) and a linear logit, like
            the DCGAN discriminator.
        image_shape: (C, H, W) of the images, for the default discriminator only.
        rng: generator or seed for the random masks and the default discriminator's
            weights; None draws from the library generator (``sn.manual_seed``).
    """

    def __init__(self, encoder: nn.Module, decoder: nn.Module, mask: str = "center",
                 adversarial: float = 0.0, mask_size: int | None = None,
                 discriminator: nn.Module | None = None,
                 image_shape: tuple[int, int, int] = (1, 28, 28),
                 rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        _check_modules("ContextEncoder", encoder=encoder, decoder=decoder)
        if mask not in MASKS:
            raise ValueError(f"ContextEncoder: mask must be one of {MASKS}, got {mask!r}")
        self.mask = mask
        self.adversarial = check_number("ContextEncoder", "adversarial", adversarial, low=0.0,
                                        high=1.0)
        self.mask_size = (None if mask_size is None
                          else check_int("ContextEncoder", "mask_size", mask_size))
        self.rng = own_generator(rng)
        self.encoder, self.decoder = encoder, decoder
        if self.adversarial == 0:
            if discriminator is not None:
                raise ValueError("ContextEncoder: a discriminator is used only with "
                                 "adversarial > 0, got adversarial=0")
            self.discriminator = None
            return
        if discriminator is None:
            discriminator = self._default_discriminator(image_shape)
        else:
            _check_modules("ContextEncoder", discriminator=discriminator)
        self.discriminator = discriminator

    def _default_discriminator(self, image_shape: Any) -> nn.Sequential:
        if len(image_shape) != 3:
            raise ValueError(f"ContextEncoder: image_shape must be (C, H, W), got "
                             f"{image_shape!r}")
        channels, height, width = (check_int("ContextEncoder", "image_shape", v)
                                   for v in image_shape)
        if height < 4 or width < 4:
            raise ValueError(f"ContextEncoder: the default discriminator halves the image "
                             f"twice and needs H, W >= 4, got image_shape {image_shape!r}")
        rng = self.rng
        return nn.Sequential(
            nn.Conv2D(channels, 32, 4, stride=2, padding=1, rng=rng), nn.LeakyReLU(0.2),
            nn.Conv2D(32, 64, 4, stride=2, padding=1, rng=rng), nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Dense(64 * (height // 4) * (width // 4), 1, rng=rng))

    # -- masks ------------------------------------------------------------------------------
    def _side(self, x: Tensor) -> int:
        """The hidden square's side for images of x's size, checked to leave pixels known."""
        height, width = x.shape[2], x.shape[3]
        side = min(height, width) // 2 if self.mask_size is None else self.mask_size
        if not 1 <= side < min(height, width):
            raise ValueError(f"ContextEncoder: the hidden square's side must be between 1 "
                             f"and min(H, W) - 1 = {min(height, width) - 1} so that some "
                             f"pixels stay known, got {side} for images of {height} × {width}")
        return side

    def masks(self, x: Any, rng: np.random.Generator | int | None = None) -> Any:
        """Where each image is hidden: (N, C, H, W) -> array (N, 1, H, W), 1 on the hole.

        The square's place follows ``mask`` (see the class docstring). Random places come
        from ``rng`` if given, else from the model's generator. The array has x's dtype.
        """
        x = _check_rank("ContextEncoder", x)
        xp = get_array_module(x.data)
        n, _, height, width = x.shape
        side = self._side(x)
        # The squares' places are drawn and laid out on the host (the generator is NumPy's);
        # only the finished masks move to the images' device.
        if self.mask == "center":
            tops = np.full(n, (height - side) // 2)  # host: see above
            lefts = np.full(n, (width - side) // 2)  # host: see above
        else:
            generator = get_generator(self.rng if rng is None else rng)
            tops = generator.integers(0, height - side + 1, size=n)
            lefts = generator.integers(0, width - side + 1, size=n)
        rows = np.arange(height)[None, :] - tops[:, None]  # host: (N, H)
        cols = np.arange(width)[None, :] - lefts[:, None]  # host: (N, W)
        inside_rows = (rows >= 0) & (rows < side)
        inside_cols = (cols >= 0) & (cols < side)
        masks = inside_rows[:, None, :, None] & inside_cols[:, None, None, :]
        return xp.asarray(masks.astype(x.data.dtype))

    def _check_masks(self, x: Tensor, masks: Any) -> Any:
        masks = masks.data if isinstance(masks, Tensor) else masks
        expected = (x.shape[0], 1, x.shape[2], x.shape[3])
        if tuple(masks.shape) != expected:
            raise ValueError(f"ContextEncoder: masks must have shape (N, 1, H, W) = "
                             f"{expected}, got {tuple(masks.shape)}")
        xp = get_array_module(x.data)
        masks = xp.asarray(masks).astype(x.data.dtype)
        odd = masks[(masks != 0) & (masks != 1)]
        if odd.size:
            raise ValueError(f"ContextEncoder: masks must hold only 0 (known) and 1 (hidden), "
                             f"got the value {float(odd[0])}")
        # The fill needs a known pixel in every image, the loss a hidden pixel somewhere.
        full = masks.reshape(len(masks), -1).min(axis=1) == 1
        if bool(full.any()):
            raise ValueError(f"ContextEncoder: masks must leave some pixels of every image "
                             f"known, got image {int(xp.flatnonzero(full)[0])} hidden entirely")
        if not masks.any():
            raise ValueError("ContextEncoder: masks must hide at least one pixel, got none "
                             "hidden in any image")
        return masks

    def hide(self, x: Any, masks: Any) -> Tensor:
        """The images with the masked pixels replaced: (N, C, H, W), no graph.

        Each hidden value becomes the image's mean over its known pixels in that channel
        (see the class docstring), so nothing of the hole reaches the encoder.
        """
        x = _check_rank("ContextEncoder", x)
        masks = self._check_masks(x, masks)
        xp = get_array_module(x.data)
        known = 1 - masks
        fill = (x.data * known).sum(axis=(2, 3), keepdims=True) / known.sum(
            axis=(2, 3), keepdims=True)
        return as_tensor(xp.where(masks > 0, fill, x.data).astype(x.data.dtype))

    # -- the network ------------------------------------------------------------------------
    def forward(self, hidden: Any) -> Tensor:
        """The decoder's image from the hidden images: (N, C, H, W) -> (N, C, H, W)."""
        hidden = _check_rank("ContextEncoder", hidden)
        out = self.decoder(self.encoder(hidden))
        if out.shape != hidden.shape:
            raise ValueError(f"ContextEncoder: the decoder must output images of the "
                             f"input's shape {hidden.shape}, got {out.shape}")
        return out

    def reconstruction_loss(self, x: Any, prediction: Tensor, masks: Any) -> Tensor:
        """Σ M·(P − x)² / (C · Σ M): the squared error averaged over the hidden values."""
        x = _check_rank("ContextEncoder", x)
        masks = as_tensor(self._check_masks(x, masks))
        squared = (prediction - x) ** 2 * masks
        return squared.sum() / (float(masks.data.sum()) * x.shape[1])

    def _reconstruct(self, x: Tensor, masks: Any = None) -> tuple[Tensor, Tensor]:
        """L_rec on a batch and the completed images x̂ = (1 − M)·x + M·P, both with a graph."""
        masks = self.masks(x) if masks is None else self._check_masks(x, masks)
        prediction = self(self.hide(x, masks))
        m = as_tensor(masks)
        return self.reconstruction_loss(x, prediction, masks), x * (1 - m) + prediction * m

    def _combined(self, rec: Tensor, completed: Tensor) -> tuple[Tensor, dict[str, float]]:
        """(1 − λ)·L_rec + λ·L_adv against the current discriminator, and its parts."""
        adv = F.softplus(-self._score(completed)).mean()
        total = rec * (1 - self.adversarial) + adv * self.adversarial
        return total, {"rec_loss": float(rec.data), "adv_loss": float(adv.data)}

    def loss(self, x: Any, masks: Any = None) -> Tensor:
        """The encoder-decoder's loss on a batch: L_rec, or (1 − λ)·L_rec + λ·L_adv.

        ``masks`` default to fresh :meth:`masks` of x.
        """
        rec, completed = self._reconstruct(_check_rank("ContextEncoder", x), masks)
        return rec if self.adversarial == 0 else self._combined(rec, completed)[0]

    def _score(self, images: Tensor) -> Tensor:
        out = self.discriminator(images)
        if out.shape not in ((images.shape[0], 1), (images.shape[0],)):
            raise ValueError(f"ContextEncoder: the discriminator must output one logit per "
                             f"image, (N, 1) or (N,) with N = {images.shape[0]}, got "
                             f"{out.shape}")
        return out.reshape(images.shape[0])

    # -- adversarial training ---------------------------------------------------------------
    @property
    def training_step(self) -> Any:
        """``training_step(batch, optimizers) -> dict`` (λ > 0 only): one update of D on
        real against completed images, then one of the encoder-decoder.

        ``optimizers``: ``{"generator": ..., "discriminator": ...}`` (the encoder-decoder
        plays the generator) or the pair in that order. Both updates use the same masks;
        the encoder-decoder's update sees D after D's update, with D's weights held
        constant. Returns the numbers ``fit`` logs: ``d_loss``, ``d_real`` and ``d_fake``
        (D's mean probability of "real"), ``rec_loss``, ``adv_loss`` and ``loss``.
        """
        if self.adversarial == 0:
            # fit treats a model with a training_step as one that brings its own step and
            # refuses a loss_fn; without a discriminator there is one loss, so no step.
            raise AttributeError("ContextEncoder: training_step exists only with "
                                 "adversarial > 0; train with sn.train.fit(model, lambda m, x: "
                                 "m.loss(x), optimizer, loader, epochs)")
        return self._adversarial_step

    def _adversarial_step(self, batch: Any, optimizers: Any) -> dict[str, float]:
        """The adversarial step that :attr:`training_step` returns."""
        x = _check_rank("ContextEncoder", batch[0] if isinstance(batch, (tuple, list))
                        else batch)
        g_optimizer, d_optimizer = _players("ContextEncoder", optimizers)
        rec, completed = self._reconstruct(x)
        real_score = self._score(x)
        fake_score = self._score(completed.detach())
        d_loss = F.softplus(-real_score).mean() + F.softplus(fake_score).mean()
        logs = {"d_real": float(F.sigmoid(real_score).data.mean()),
                "d_fake": float(F.sigmoid(fake_score).data.mean()),
                "d_loss": minimize(d_loss, d_optimizer)}
        with _constants(self.discriminator):
            # The adversarial term is scored by the discriminator just updated.
            total, parts = self._combined(rec, completed)
            logs.update(parts, loss=minimize(total, g_optimizer))
        return logs

    def configure_optimizers(self, lr: float = 2e-4, betas: tuple[float, float] = (0.5, 0.999)
                             ) -> dict[str, optim.Adam]:
        """Adam for each player, ``{"generator": ..., "discriminator": ...}`` (λ > 0 only).

        The defaults are DCGAN's (lr = 2·10⁻⁴, β = (0.5, 0.999)), which Pathak et al.
        trained with. ``fit`` calls this when it is given no optimizers.
        """
        if self.discriminator is None:
            raise ValueError("ContextEncoder: configure_optimizers is for adversarial > 0; "
                             "with adversarial=0 pass one optimizer, "
                             "optim.Adam(model.parameters())")
        players = list(self.encoder.parameters()) + list(self.decoder.parameters())
        return {"generator": optim.Adam(players, lr=lr, betas=betas),
                "discriminator": optim.Adam(self.discriminator.parameters(), lr=lr,
                                            betas=betas)}

    # -- evaluation -------------------------------------------------------------------------
    def inpaint(self, x: Any, masks: Any = None) -> Tensor:
        """Completed images: the known pixels of x exactly, the hole from the decoder.

        Shapes: (N, C, H, W) -> (N, C, H, W); ``masks`` (N, 1, H, W) default to
        :meth:`masks` of x. Evaluation mode, no graph.
        """
        x = _check_rank("ContextEncoder", x)
        masks = self.masks(x) if masks is None else self._check_masks(x, masks)
        with _evaluation(self), no_grad():
            prediction = self(self.hide(x, masks))
        xp = get_array_module(x.data)
        return as_tensor(xp.where(masks > 0, prediction.data, x.data))

    def features(self, x: Any) -> Tensor:
        """The encoder's features of the whole, unhidden images: (N, C, H, W) -> (N, F).

        An encoder output with more than two axes is flattened to (N, F). Evaluation mode,
        no graph; each module's training flag is restored afterwards.
        """
        x = _check_rank("ContextEncoder", x)
        with _evaluation(self), no_grad():
            h = self.encoder(x)
        return h.reshape(h.shape[0], -1) if h.ndim > 2 else h

    def extra_repr(self) -> str:
        return (f"mask={self.mask!r}, mask_size={self.mask_size}, "
                f"adversarial={self.adversarial}")
