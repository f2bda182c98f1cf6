"""Reference solutions for lesson 05's exercises (see ``exercises/05_deep_autoencoders.py``)."""

import scratchnet as sn
import scratchnet.functional as F


def sparsity_penalty(h: sn.Tensor, rho: float, beta: float) -> sn.Tensor:
    """β Σ_j KL(ρ || ρ̂_j), with ρ̂ the batch mean of each code unit."""
    rho_hat = F.mean(h, axis=0)
    kl = rho * F.log(rho / rho_hat) + (1.0 - rho) * F.log((1.0 - rho) / (1.0 - rho_hat))
    return beta * F.sum(kl)


def bce_with_logits(logits: sn.Tensor, x: sn.Tensor) -> sn.Tensor:
    """mean(softplus(l) - x l): finite for any logit."""
    return F.mean(F.softplus(logits) - x * logits)
