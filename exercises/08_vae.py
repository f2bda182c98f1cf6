"""Exercises for lesson 08: the variational autoencoder.

Fill in each body, then run ``scratchnet check 08``. Reference solutions are in
``exercises/solutions/``. Write each with scratchnet's tensor operations (``F.exp``,
``F.sum``, ``*``, ``+`` ...): the checker differentiates your answers.
"""

import numpy as np

import scratchnet as sn
import scratchnet.functional as F  # noqa: F401  (your answers will want it)


def reparameterise(mu: sn.Tensor, logvar: sn.Tensor, eps: np.ndarray) -> sn.Tensor:
    """The reparameterised sample z = μ + σ ⊙ ε, with σ = exp(½ log σ²).

    Shapes: mu, logvar, eps (N, L) -> z (N, L). The noise ε ~ N(0, I) is given, so that z is
    an ordinary differentiable function of μ and log σ².
    """
    raise NotImplementedError("exercise: reparameterise")


def kl_to_standard_normal(mu: sn.Tensor, logvar: sn.Tensor) -> sn.Tensor:
    """KL( N(μ, diag σ²) ‖ N(0, I) ) for each row: the VAE's KL term.

    Shapes: mu, logvar (N, L) -> (N,), in nats:

        KL = ½ Σ_j ( σ_j² + μ_j² - 1 - log σ_j² ),   σ_j² = exp(logvar_j).
    """
    raise NotImplementedError("exercise: kl_to_standard_normal")


def kl_diag_gaussians(mu_q: sn.Tensor, logvar_q: sn.Tensor, mu_p: sn.Tensor,
                      logvar_p: sn.Tensor) -> sn.Tensor:
    """KL( q ‖ p ) for two diagonal Gaussians q = N(μ_q, diag σ_q²), p = N(μ_p, diag σ_p²).

    Shapes: all four (N, L) -> (N,), in nats:

        KL = ½ Σ_j [ log σ_p,j² - log σ_q,j² + (σ_q,j² + (μ_q,j - μ_p,j)²) / σ_p,j² - 1 ].

    With p = N(0, I) it is ``kl_to_standard_normal``. It is 0 when q = p, positive
    otherwise, and not symmetric: KL(q ‖ p) ≠ KL(p ‖ q).
    """
    raise NotImplementedError("exercise: kl_diag_gaussians")
