"""Reference solutions for lesson 08's exercises (see ``exercises/08_vae.py``)."""

import numpy as np

import scratchnet as sn
import scratchnet.functional as F


def reparameterise(mu: sn.Tensor, logvar: sn.Tensor, eps: np.ndarray) -> sn.Tensor:
    """μ + exp(½ log σ²) ⊙ ε."""
    return mu + F.exp(0.5 * logvar) * eps


def kl_to_standard_normal(mu: sn.Tensor, logvar: sn.Tensor) -> sn.Tensor:
    """½ Σ_j (σ² + μ² - 1 - log σ²) per row."""
    return 0.5 * F.sum(F.exp(logvar) + mu * mu - 1.0 - logvar, axis=1)


def kl_diag_gaussians(mu_q: sn.Tensor, logvar_q: sn.Tensor, mu_p: sn.Tensor,
                      logvar_p: sn.Tensor) -> sn.Tensor:
    """½ Σ_j [log σ_p² - log σ_q² + (σ_q² + (μ_q - μ_p)²) / σ_p² - 1] per row."""
    diff = mu_q - mu_p
    ratio = (F.exp(logvar_q) + diff * diff) / F.exp(logvar_p)
    return 0.5 * F.sum(logvar_p - logvar_q + ratio - 1.0, axis=1)
