"""Semantic inpainting with a trained GAN (Yeh et al., CVPR 2017): search the code, not the pixels.

A generator trained on digits can draw only digits. To fill a hole in a digit y, Yeh et al.
look for the code z whose drawing G(z) agrees with y where y is known, and then take the
hole from G(z). Two losses guide the search, on z alone (the networks stay fixed):

* the **contextual** loss ‖M ⊙ (G(z) − y)‖₁: M is 1 on the *known* pixels, so only they
  count, and the L1 norm lets a few of them disagree without dragging the rest;
* the **prior** loss λ · (−log D(G(z))): the discriminator's verdict keeps G(z) looking
  real. Yeh et al. wrote it as λ·log(1 − D(G(z))); we use the non-saturating form, as the
  GAN's own generator loss does, whose gradient does not vanish where D is sure G(z) is fake.

Each image's loss depends only on its own z, so one gradient step moves every image's code
at once. The engine differentiates with respect to an input here: z is the only tensor that
requires a gradient, and the networks' weights are held constant.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import scratchnet.functional as F
from scratchnet import optim
from scratchnet.autograd import Tensor, as_tensor, no_grad
from scratchnet.backend import get_array_module
from scratchnet.checks import check_int, check_number
from scratchnet.models.gan import GAN, _constants
from scratchnet.models.pretext import _evaluation

__all__ = ["inpainting_loss", "semantic_inpainting"]


def _check(fn: str, gan: Any, corrupted: Any, known: Any) -> tuple[Tensor, Tensor]:
    if not isinstance(gan, GAN):
        raise TypeError(f"{fn}: gan must be a models.GAN, got {type(gan).__name__}")
    if gan.pack != 1 or gan.n_classes:
        raise ValueError(f"{fn}: needs an unconditional GAN with pack=1, got pack={gan.pack}, "
                         f"n_classes={gan.n_classes}")
    y, m = as_tensor(corrupted), as_tensor(known)
    if y.ndim < 2 or m.shape != y.shape:
        raise ValueError(f"{fn}: corrupted and known must have one shape (N, ...), got "
                         f"{y.shape} and {m.shape}")
    values = m.data
    if not bool(((values == 0) | (values == 1)).all()):
        raise ValueError(f"{fn}: known must hold only 1 (known pixel) and 0 (hole)")
    return y, m


def inpainting_loss(gan: GAN, z: Any, corrupted: Any, known: Any,
                    prior_weight: float = 0.003) -> Tensor:
    """Yeh et al.'s objective for each image, differentiable in z: shape (N,).

        L(z) = Σ_pixels |M ⊙ (G(z) − y)| + λ · softplus(−D_logit(G(z)))

    Shapes: z (N, latent_dim); corrupted y and known M of G's output shape (N, ...), with M
    1 on known pixels and 0 on the hole (y's values in the hole are never read).
    softplus(−logit) = −log σ(logit) = −log D(G(z)). λ = ``prior_weight``; Yeh et al. used
    0.003.
    """
    fn = "inpainting_loss"
    y, m = _check(fn, gan, corrupted, known)
    prior_weight = check_number(fn, "prior_weight", prior_weight, low=0.0)
    generated = gan.generate(z)
    if generated.shape != y.shape:
        raise ValueError(f"{fn}: the generator draws {generated.shape}, corrupted is {y.shape}")
    context = F.abs((generated - y) * m).reshape(y.shape[0], -1).sum(axis=1)
    if prior_weight == 0:
        return context
    return context + F.softplus(-gan.score(generated)) * prior_weight


def semantic_inpainting(gan: GAN, corrupted: Any, known: Any, steps: int = 300,
                        lr: float = 0.05, prior_weight: float = 0.003,
                        rng: np.random.Generator | int | None = None) -> dict[str, Any]:
    """Fill the holes of ``corrupted`` by searching each image's code z (Yeh et al., 2017).

    Starts from z ~ N(0, I) (from ``rng``, else the GAN's generator), takes ``steps`` Adam
    steps on :func:`inpainting_loss` with respect to z only, in evaluation mode (batch norm
    with its running statistics) and with the networks' weights held constant, then blends:

        completed = M ⊙ y + (1 − M) ⊙ G(z*)

    so the known pixels stay exactly as given. Returns ``{"completed", "generated", "z",
    "loss"}``: the blended images and G(z*) (arrays of y's shape), the codes (N,
    latent_dim), and the mean loss after each step (a list, to plot the search). Each
    module's training flag is restored afterwards.
    """
    fn = "semantic_inpainting"
    y, m = _check(fn, gan, corrupted, known)
    steps = check_int(fn, "steps", steps)
    lr = check_number(fn, "lr", lr, low=0.0, low_open=True)
    z = gan.sample_latent(y.shape[0], rng=rng).detach()
    z.requires_grad_(True)
    optimizer = optim.Adam([z], lr=lr)
    history = []
    with _evaluation(gan), _constants(gan.generator), _constants(gan.discriminator):
        for _ in range(steps):
            loss = inpainting_loss(gan, z, y, m, prior_weight).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            history.append(float(loss.data))
        with no_grad():
            generated = gan.generate(z).data
    xp = get_array_module(generated)
    completed = xp.where(m.data > 0, y.data, generated)
    return {"completed": completed, "generated": generated, "z": z.detach().data,
            "loss": history}
