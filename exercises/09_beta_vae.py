"""Exercises for lesson 09: β-VAE and disentangled codes.

Fill in each body, then run ``scratchnet check 09``. Reference solutions are in
``exercises/solutions/``.
"""

import numpy as np

import scratchnet as sn
import scratchnet.functional as F  # noqa: F401  (your answers will want it)


def beta_vae_loss(logits: sn.Tensor, x: sn.Tensor, mu: sn.Tensor, logvar: sn.Tensor,
                  beta: float) -> sn.Tensor:
    """The β-VAE training loss for a Bernoulli decoder: -mean_n [ log p(x_n | z_n) - β KL_n ].

    Shapes: logits, x (N, D) (the decoder's logits for each pixel, the pixels in [0, 1]);
    mu, logvar (N, L) -> a scalar Tensor. Per row n:

        -log p(x_n | z_n) = Σ_d [ softplus(l_nd) - x_nd l_nd ]     (summed over pixels)
        KL_n = ½ Σ_j ( exp(logvar_nj) + mu_nj² - 1 - logvar_nj ),

    and the loss is the mean over rows of -log p(x_n | z_n) + β KL_n. Write it with tensor
    operations; β = 1 gives the negative ELBO.
    """
    raise NotImplementedError("exercise: beta_vae_loss")


def kl_per_unit(mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    """How many nats of KL each latent unit spends, averaged over the data.

    Shapes: mu, logvar (N, L) -> (L,): the mean over the N rows of
    ½ (mu² + exp(logvar) - 1 - logvar). Its entries add up to the mean KL per row.
    """
    raise NotImplementedError("exercise: kl_per_unit")


def active_units(mu: np.ndarray, threshold: float = 1e-2) -> int:
    """The number of latent units in use: those whose posterior mean moves with x.

    Shapes: mu (N, L), the posterior means of N inputs. Unit u is active when the variance
    over the N inputs of mu[:, u] (``np.var``) exceeds ``threshold``. Return an int.
    """
    raise NotImplementedError("exercise: active_units")
