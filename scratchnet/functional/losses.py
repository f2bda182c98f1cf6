"""Loss functions: squared error, binary and categorical cross-entropy, Gaussian KL, NT-Xent.

Every loss takes ``reduction``: ``"mean"`` (over all elements), ``"sum"``, or ``"none"``
(elementwise, or per sample for ``cross_entropy`` and ``gaussian_kl``).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from scratchnet.autograd import Function, Tensor, as_tensor
from scratchnet.backend import get_array_module
from scratchnet.functional.activations import log_softmax, softplus
from scratchnet.functional.math import (
    clip,
    concatenate,
    exp,
    getitem,
    log,
    logsumexp,
    matmul,
    maximum,
    sqrt,
    sum,
    where,
)

__all__ = ["binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy",
           "gaussian_kl", "mse_loss", "nt_xent"]

REDUCTIONS = ("mean", "sum", "none")


def _reduce(loss: Tensor, reduction: str, name: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{name}: reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _as_target(target: Any, prediction: Tensor) -> Tensor:
    """``target`` as a Tensor that can meet ``prediction``.

    A target given as an array, list or number is data: it takes the prediction's dtype and
    backend. Otherwise a float64 NumPy target (what ``np.array`` and most files give) would
    silently turn a float32 loss and every gradient behind it into float64, and a host
    target could not meet a GPU prediction (``cross_entropy`` moves its labels the same
    way). A Tensor target is used as it is: it may be differentiated.
    """
    if isinstance(target, Tensor):
        return target
    xp = get_array_module(prediction.data)
    return Tensor._wrap(xp.asarray(target, dtype=prediction.dtype))


def _same_shape(prediction: Tensor, target: Tensor, name: str) -> None:
    # A silent broadcast of (N, 1) against (N,) gives an (N, N) loss: refuse it.
    if prediction.shape != target.shape:
        raise ValueError(f"{name}: prediction has shape {prediction.shape} but target has shape "
                         f"{target.shape}; they must match")


def mse_loss(prediction: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Squared error ``(prediction - target)²``."""
    prediction = as_tensor(prediction)
    target = _as_target(target, prediction)
    _same_shape(prediction, target, "mse_loss")
    diff = prediction - target
    return _reduce(diff * diff, reduction, "mse_loss")


# log(p) is clamped at -100 (as PyTorch does) so a saturated p = 0 or 1 gives a large,
# finite loss instead of inf; exp(-100) is the probability where the clamp starts.
_LOG_FLOOR = -100.0
_P_FLOOR = math.exp(_LOG_FLOOR)


class BinaryCrossEntropy(Function):
    """``-[t log p + (1 - t) log(1 - p)]`` elementwise, with the logs clamped at -100.

    d/dp = (p - t) / (p (1 - p)), with the denominator kept ≥ 1e-12;
    d/dt = log(1 - p) - log p.
    """

    def forward(self, p, t):
        self.save_for_backward(p, t)
        xp = get_array_module(p)
        log_p = xp.log(xp.maximum(p, _P_FLOOR))
        log_q = xp.log(xp.maximum(1 - p, _P_FLOOR))
        return -(t * log_p + (1 - t) * log_q)

    def backward(self, gy):
        p, t = self.saved_tensors
        gp = gt = None
        if self.needs_input_grad[0]:
            gp = gy * (p - t) / clip(p * (1.0 - p), 1e-12, None)
        if self.needs_input_grad[1]:
            gt = gy * (log(clip(1.0 - p, _P_FLOOR, None)) - log(clip(p, _P_FLOOR, None)))
        return gp, gt


def binary_cross_entropy(probabilities: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Bernoulli negative log-likelihood of ``target`` ∈ [0, 1] under ``probabilities``.

    Prefer :func:`binary_cross_entropy_with_logits` when you have logits: it needs no clamp.
    """
    p = as_tensor(probabilities)
    t = _as_target(target, p)
    _same_shape(p, t, "binary_cross_entropy")
    return _reduce(BinaryCrossEntropy()(p, t), reduction, "binary_cross_entropy")


def binary_cross_entropy_with_logits(logits: Tensor, target: Any,
                                     reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of ``target`` under ``p = sigmoid(logits)``, without computing p.

    ``-[t log σ(z) + (1 - t) log(1 - σ(z))] = softplus(z) - t z``, exact for any z
    (its gradient is ``σ(z) - t``).
    """
    z = as_tensor(logits)
    t = _as_target(target, z)
    _same_shape(z, t, "binary_cross_entropy_with_logits")
    return _reduce(softplus(z) - t * z, reduction, "binary_cross_entropy_with_logits")


def cross_entropy(logits: Tensor, labels: Any, reduction: str = "mean") -> Tensor:
    """Categorical cross-entropy ``-log softmax(logits)[label]`` for each row.

    Shapes: ``logits`` (N, C) unnormalised scores; ``labels`` (N,) integers in [0, C).
    With ``reduction="none"`` the result has shape (N,).
    """
    logits = as_tensor(logits)
    labels = labels.data if isinstance(labels, Tensor) else labels
    xp = get_array_module(logits.data)
    labels = xp.asarray(labels)
    if logits.ndim != 2:
        raise ValueError(f"cross_entropy: logits must have shape (N, C), got {logits.shape}")
    if labels.dtype.kind not in "iu":
        raise TypeError(f"cross_entropy: labels must be integers, got dtype {labels.dtype}")
    if labels.shape != logits.shape[:1]:
        raise ValueError(f"cross_entropy: labels have shape {labels.shape}, expected "
                         f"({logits.shape[0]},) for logits of shape {logits.shape}")
    if labels.size and (int(labels.min()) < 0 or int(labels.max()) >= logits.shape[1]):
        raise ValueError(f"cross_entropy: labels must lie in [0, {logits.shape[1]}), got values "
                         f"from {int(labels.min())} to {int(labels.max())}")
    picked = getitem(log_softmax(logits, axis=1), (xp.arange(logits.shape[0]), labels))
    return _reduce(-picked, reduction, "cross_entropy")


def gaussian_kl(mu: Tensor, logvar: Tensor, reduction: str = "none") -> Tensor:
    """KL( N(mu, diag(exp(logvar))) || N(0, I) ) for each sample.

    ``KL = ½ Σ_j (exp(logvar_j) + mu_j² - 1 - logvar_j)``, summed over every axis but the
    first (Kingma & Welling, 2014, appendix B). Shapes: ``mu``, ``logvar`` (N, D) -> (N,).
    The default reduction is ``"none"`` (per sample), as the ELBO needs it.
    """
    mu = as_tensor(mu)
    logvar = as_tensor(logvar, like=mu)
    _same_shape(mu, logvar, "gaussian_kl")
    if mu.ndim < 1:
        raise ValueError("gaussian_kl: mu needs a batch axis, got a scalar")
    terms = exp(logvar) + mu * mu - 1.0 - logvar
    per_sample = sum(terms, axis=tuple(range(1, mu.ndim))) * 0.5
    return _reduce(per_sample, reduction, "gaussian_kl")


# A row's similarity with itself is replaced by this before the softmax: exp of it is 0 in
# float32 and float64 alike, and unlike -inf it keeps every gradient finite (it is zero).
_EXCLUDED = -1e9


def nt_xent(z1: Tensor, z2: Tensor, temperature: float = 0.5) -> Tensor:
    """SimCLR's normalised-temperature cross-entropy between two views of one batch.

    Shapes: ``z1`` and ``z2`` are (N, D), the projections of two augmented views of the
    same N images (row i of ``z1`` and row i of ``z2`` come from image i); the result is a
    scalar. With the 2N rows ``z = [z1; z2]`` scaled to unit length, the cosine similarity
    ``s_ij = z_i · z_j`` and the positive ``p(i) = i ± N`` (the other view of image i),

        loss = 1/(2N) Σ_i -log [ exp(s_i,p(i) / τ) / Σ_{j≠i} exp(s_ij / τ) ]

    so each row is a (2N-1)-way classification: find your other view among the other 2N-2
    images' views. A row's similarity with itself (always 1) is left out of the sum. A
    small temperature τ sharpens the softmax, weighting the hardest negatives most.

    Reference: T. Chen, S. Kornblith, M. Norouzi and G. Hinton, "A Simple Framework for
    Contrastive Learning of Visual Representations", ICML 2020, equation (1).
    """
    z1, z2 = as_tensor(z1), as_tensor(z2)
    # (scratchnet.checks imports the engine, which imports this package: checked here.)
    if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real):
        raise TypeError(f"nt_xent: temperature must be a number, got "
                        f"{type(temperature).__name__} {temperature!r}")
    if not (math.isfinite(temperature) and temperature > 0):
        raise ValueError(f"nt_xent: temperature must be a finite number > 0, got {temperature}")
    if z1.ndim != 2 or z2.ndim != 2:
        raise ValueError(f"nt_xent: z1 and z2 must have shape (N, D), got {z1.shape} and "
                         f"{z2.shape}")
    if z1.shape != z2.shape:
        raise ValueError(f"nt_xent: z1 has shape {z1.shape} but z2 has shape {z2.shape}; the "
                         f"two views must match row for row")
    n = z1.shape[0]
    if n < 2:
        raise ValueError(f"nt_xent: need N >= 2 images (each row needs a negative), got N = {n}")
    z = concatenate([z1, z2], axis=0)
    # The floor only keeps an all-zero row from dividing by zero; it has no direction.
    norm = maximum(sqrt(sum(z * z, axis=1, keepdims=True)), 1e-12)
    z = z / norm
    logits = matmul(z, z.T) / temperature
    xp = get_array_module(logits.data)
    rows = xp.arange(2 * n)
    others = rows[:, None] != rows[None, :]
    positive = getitem(logits, (rows, (rows + n) % (2 * n)))
    return (logsumexp(where(others, logits, _EXCLUDED), axis=1) - positive).mean()
