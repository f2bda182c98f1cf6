"""Exercises for lesson 05: deep autoencoders, and how big the code should be.

Fill in each body, then run ``scratchnet check 05``. Reference solutions are in
``exercises/solutions/``. Write both with scratchnet's tensor operations (``F.log``,
``F.mean``, ``F.softplus``, ``+``, ``*`` ...), so that autodiff gives their gradients.
"""

import scratchnet as sn
import scratchnet.functional as F  # noqa: F401  (your answers will want it)


def sparsity_penalty(h: sn.Tensor, rho: float, beta: float) -> sn.Tensor:
    """The sparse autoencoder's penalty on a batch of sigmoid codes (a scalar Tensor).

    Shapes: h (m, k) with entries in (0, 1) -> a scalar. With ρ̂_j the mean of column j
    over the batch,

        ρ̂_j = (1/m) Σ_n h[n, j],
        Ω = β Σ_j [ ρ log(ρ / ρ̂_j) + (1 - ρ) log((1 - ρ) / (1 - ρ̂_j)) ],

    the KL divergence from a coin with heads-probability ρ (the target) to one with ρ̂_j.
    """
    raise NotImplementedError("exercise: sparsity_penalty")


def bce_with_logits(logits: sn.Tensor, x: sn.Tensor) -> sn.Tensor:
    """Binary cross-entropy between pixel targets x in [0, 1] and p = σ(logits), averaged.

    Shapes: logits (N, D), x (N, D) -> a scalar, the mean over all N·D entries of

        -[x log σ(l) + (1 - x) log(1 - σ(l))]  =  softplus(l) - x l.

    Use the right-hand form: log σ(l) for l = -100 is -100, but σ(-100) rounds to 0 in
    float32 and its log is -inf. (Its gradient is (σ(l) - x) / (N D).)
    """
    raise NotImplementedError("exercise: bce_with_logits")
