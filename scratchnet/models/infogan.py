"""InfoGAN (Chen et al., 2016): a GAN made to keep part of its input readable in its images.

A plain GAN may use its noise z however it likes; nothing asks any part of z to mean
anything. InfoGAN splits the generator's input into noise z and a **code** c, here one
categorical variable with K equally likely values, and rewards the generator when c can be
read back from the image. A head Q on the discriminator's features guesses c from G(z, c),
and both G and Q minimise the cross-entropy of that guess:

    L_info = E_{z, c} [ −log Q(c | G(z, c)) ].

With c uniform, H(c) = log K, and log K − L_info is a lower bound on the mutual information
I(c; G(z, c)) (Barber & Agakov, 2003), at most log K. The generator minimises

    adversarial loss + λ · L_info,

and the discriminator plays the usual game, unchanged. On MNIST with K = 10, Chen et al.
found that the code comes to stand for the digit class, although no label was ever seen:
the generator has to commit to one of K kinds of image per code, and the most readable
kinds are the digits. Lesson 11 measures how far that happens here, and what it does to the
samples.

Here Q is one Dense layer on the input of D's last layer (D's features), trained together
with G by the generator's optimizer; D's own layers learn from the real/fake game only.
(Chen et al. also let L_info train D's shared layers; this simpler form is enough here.)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import scratchnet.functional as F
from scratchnet import nn, optim
from scratchnet.autograd import Tensor, as_tensor
from scratchnet.backend import get_array_module
from scratchnet.checks import check_int, check_number
from scratchnet.models.gan import GAN, one_hot
from scratchnet.random import get_generator

__all__ = ["InfoGAN"]


class InfoGAN(GAN):
    """A GAN whose generator reads noise and a categorical code, and must keep the code
    readable: G minimises its adversarial loss + ``info_weight`` · CE(Q(G(z, c)), c).

    Args:
        generator: maps (N, noise_dim + n_codes) to samples; the last ``n_codes`` inputs
            are the one-hot code (``dcgan_generator(noise_dim, n_classes=n_codes)`` fits).
        discriminator: an ``nn.Sequential`` whose last layer is a Dense with one output;
            Q reads that layer's input. It does not see the code.
        noise_dim: the size of z. The model's ``latent_dim`` is noise_dim + n_codes.
        n_codes: K, the number of values of the code c ~ Uniform{0, ..., K − 1}.
        info_weight: λ (Chen et al. use 1 for a categorical code).

    A latent vector is [z, one-hot(c)]: :meth:`latent` builds one from given noise and
    codes, :meth:`codes_of` reads the codes back, and :meth:`sample_latent` draws both.
    ``loss``, ``d_steps``, ``gp_weight`` and ``data_range`` are :class:`GAN`'s.
    """

    def __init__(self, generator: nn.Module, discriminator: nn.Sequential, noise_dim: int,
                 n_codes: int = 10, info_weight: float = 1.0, loss: str = "non_saturating",
                 d_steps: int = 1, gp_weight: float = 10.0,
                 data_range: tuple[float, float] | str | None = "auto",
                 rng: np.random.Generator | int | None = None) -> None:
        fn = "InfoGAN"
        noise_dim = check_int(fn, "noise_dim", noise_dim)
        n_codes = check_int(fn, "n_codes", n_codes, minimum=2)
        if not isinstance(discriminator, nn.Sequential):
            raise TypeError(f"{fn}: the discriminator must be an nn.Sequential that ends in a "
                            f"Dense layer with one output (Q reads that layer's input); got "
                            f"{type(discriminator).__name__}")
        last = discriminator[-1]
        if not isinstance(last, nn.Dense) or last.weight.shape[1] != 1:
            outputs = f"{last.weight.shape[1]} outputs" if isinstance(last, nn.Dense) else ""
            raise TypeError(f"{fn}: the discriminator must end in a Dense layer with one "
                            f"output (Q reads that layer's input); it ends in "
                            f"{type(last).__name__} {outputs}".rstrip())
        super().__init__(generator, discriminator, noise_dim + n_codes, loss=loss,
                         d_steps=d_steps, gp_weight=gp_weight, data_range=data_range, rng=rng)
        self.noise_dim, self.n_codes = noise_dim, n_codes
        self.info_weight = check_number(fn, "info_weight", info_weight, low=0.0)
        self.q_head = nn.Dense(last.weight.shape[0], n_codes, rng=self.rng)
        self._info_loss = float("nan")

    # -- the latent vector [z, one-hot(c)] --------------------------------------------------
    def latent(self, noise: Any, codes: Any) -> Tensor:
        """[z, one-hot(c)] (N, noise_dim + K) for noise z (N, noise_dim) and integer codes c
        (N,)."""
        like = self._like()
        xp = get_array_module(like)
        noise = xp.asarray(noise.data if isinstance(noise, Tensor) else noise,
                           dtype=like.dtype)
        codes = xp.asarray(codes)
        if noise.ndim != 2 or noise.shape[1] != self.noise_dim or codes.shape != (len(noise),):
            raise ValueError(f"InfoGAN.latent: needs noise (N, {self.noise_dim}) and codes "
                             f"(N,); got {tuple(noise.shape)} and {tuple(codes.shape)}")
        if codes.dtype.kind not in "iu":
            raise TypeError(f"InfoGAN.latent: codes must be integers; got dtype {codes.dtype}")
        if codes.size and (codes.min() < 0 or codes.max() >= self.n_codes):
            raise ValueError(f"InfoGAN.latent: codes must lie in 0..{self.n_codes - 1}; got "
                             f"{int(codes.min())}..{int(codes.max())}")
        return Tensor(xp.concatenate([noise, one_hot(codes, self.n_codes, like.dtype, xp)],
                                     axis=1))

    def codes_of(self, z: Any) -> Any:
        """The integer code c (N,) of each latent vector [z, one-hot(c)] (N, latent_dim)."""
        z = z.data if isinstance(z, Tensor) else z
        if getattr(z, "ndim", None) != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"InfoGAN.codes_of: needs latent vectors (N, {self.latent_dim}); "
                             f"got shape {tuple(getattr(z, 'shape', ()))}")
        return z[:, self.noise_dim:].argmax(axis=1)

    def sample_latent(self, n: int, rng: np.random.Generator | int | None = None) -> Tensor:
        """n latent vectors (n, noise_dim + K): z ~ N(0, I) and c uniform on 0..K − 1, from
        ``rng`` (default: the model's generator)."""
        n = check_int("InfoGAN.sample_latent", "n", n)
        draws = get_generator(self.rng if rng is None else rng)
        noise = draws.standard_normal((n, self.noise_dim))
        return self.latent(noise, draws.integers(0, self.n_codes, n))

    # -- Q, and the generator's loss --------------------------------------------------------
    def features(self, x: Any) -> Tensor:
        """D's features of x (N, ...): the input of its last (Dense) layer, (N, F)."""
        x = as_tensor(x)
        for layer in list(self.discriminator)[:-1]:
            x = layer(x)
        return x

    def predict_codes(self, x: Any) -> Tensor:
        """Q's logits (N, K) for the code behind each image x."""
        return self.q_head(self.features(x))

    def generator_loss(self, n: int, labels: Any = None) -> Tensor:
        """Adversarial loss + λ · CE(Q(G(z, c)), c) for n fresh draws of (z, c)."""
        if labels is not None:
            raise ValueError("InfoGAN: labels given, but an InfoGAN draws its own codes "
                             "and sees no labels")
        z = self.sample_latent(n)
        features = self.features(self.generate(z))
        score = self.discriminator[-1](features)
        info = F.cross_entropy(self.q_head(features), self.codes_of(z))
        self._info_loss = float(info.data)
        return self.adversarial_loss(score.reshape(score.shape[0])) + info * self.info_weight

    def training_step(self, batch: Any, optimizers: Any) -> dict[str, float]:
        """:meth:`GAN.training_step`, also logging ``info_loss`` (L_info, in nats) and
        ``info_bound`` = log K − L_info, the lower bound on I(c; G(z, c))."""
        logs = super().training_step(batch, optimizers)
        logs["info_loss"] = self._info_loss
        logs["info_bound"] = math.log(self.n_codes) - self._info_loss
        return logs

    def configure_optimizers(self, lr: float = 2e-4, betas: tuple[float, float] = (0.5, 0.999),
                             d_lr: float | None = None) -> dict[str, optim.Adam]:
        """:meth:`GAN.configure_optimizers`, with Q's weights in the generator's optimizer."""
        optimizers = super().configure_optimizers(lr=lr, betas=betas, d_lr=d_lr)
        optimizers["generator"] = optim.Adam(
            list(self.generator.parameters()) + list(self.q_head.parameters()), lr=lr,
            betas=betas)
        return optimizers

    def extra_repr(self) -> str:
        steps = f", d_steps={self.d_steps}" if self.d_steps != 1 else ""
        return (f"noise_dim={self.noise_dim}, n_codes={self.n_codes}, latent_dim="
                f"{self.latent_dim}, info_weight={self.info_weight:g}, "
                f"loss={self.loss_name!r}{steps}")
