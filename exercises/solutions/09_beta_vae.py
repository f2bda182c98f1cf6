"""Reference solutions for lesson 09's exercises (see ``exercises/09_beta_vae.py``)."""

import numpy as np

import scratchnet as sn
import scratchnet.functional as F


def beta_vae_loss(logits: sn.Tensor, x: sn.Tensor, mu: sn.Tensor, logvar: sn.Tensor,
                  beta: float) -> sn.Tensor:
    """mean over rows of (Σ_pixels BCE + β KL)."""
    nll = F.sum(F.softplus(logits) - x * logits, axis=1)  # -log p(x|z), summed over pixels
    kl = 0.5 * F.sum(F.exp(logvar) + mu * mu - 1.0 - logvar, axis=1)
    return F.mean(nll + beta * kl)


def kl_per_unit(mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    """The column means of ½ (μ² + σ² - 1 - log σ²)."""
    return np.mean(0.5 * (mu ** 2 + np.exp(logvar) - 1.0 - logvar), axis=0)


def active_units(mu: np.ndarray, threshold: float = 1e-2) -> int:
    """How many columns of mu vary across the rows by more than the threshold."""
    return int(np.sum(np.var(mu, axis=0) > threshold))
