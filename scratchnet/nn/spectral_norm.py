"""Spectral normalisation: divide a layer's weight by its largest singular value.

Miyato et al. (2018) keep a GAN's discriminator 1-Lipschitz, layer by layer, by using
W / σ(W) in place of W, where σ(W) is W's spectral norm (its largest singular value).
Computing σ exactly needs an SVD at every step; instead one step of the power method per
forward pass, continued from the previous step's vector u, tracks it closely because W
changes little between steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from scratchnet.autograd import Tensor, no_grad
from scratchnet.backend import get_array_module
from scratchnet.checks import check_int
from scratchnet.nn.module import Module, Parameter
from scratchnet.random import get_generator

__all__ = ["SpectralNorm"]


def _normalize(vector: Any, eps: float) -> Any:
    xp = get_array_module(vector)
    return vector / (xp.linalg.norm(vector) + eps)


class SpectralNorm(Module):
    """Wrap a layer so that it uses ``W / σ(W)``; σ from power iteration with a persistent u.

    The weight is viewed as a matrix of shape (W.shape[0], rest): (in, out) for Dense,
    (C_out, C_in·kh·kw) for Conv2D. In training mode each call runs ``n_power_iterations``
    steps of

        v ← Wᵀu / ‖Wᵀu‖,   u ← W v / ‖W v‖,

    on the raw arrays, keeps u (a buffer, saved with the model), and computes
    σ = uᵀ W v as a differentiable function of W with u and v held constant (as Miyato et
    al. do). In evaluation mode u is not updated. The wrapped layer keeps its own
    Parameter; only its forward pass sees the normalised weight.
    """

    def __init__(self, layer: Module, n_power_iterations: int = 1, eps: float = 1e-12,
                 rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        weight = getattr(layer, "weight", None)
        if not isinstance(weight, Parameter) or weight.ndim < 2:
            raise TypeError(f"SpectralNorm: the layer needs a weight Parameter with at least "
                            f"2 dimensions; {type(layer).__name__} has {weight!r}")
        self.layer = layer
        self.n_power_iterations = check_int("SpectralNorm", "n_power_iterations",
                                            n_power_iterations)
        self.eps = eps
        xp = get_array_module(weight.data)
        u = get_generator(rng).standard_normal(weight.shape[0])
        self.register_buffer("u", _normalize(xp.asarray(u, dtype=weight.dtype), eps))

    def _matrix(self) -> Any:
        weight = self.layer.weight
        return weight.data.reshape(weight.shape[0], -1)

    def _power_iteration(self) -> Any:
        """Update u (in training mode) and return v, both as raw arrays."""
        matrix, u = self._matrix(), self.u
        steps = self.n_power_iterations if self.training else 0
        for _ in range(steps):
            v = _normalize(matrix.T @ u, self.eps)
            u = _normalize(matrix @ v, self.eps)
        self.u = u
        return _normalize(matrix.T @ u, self.eps)

    def sigma(self) -> Tensor:
        """The current estimate σ = uᵀ W v, a scalar differentiable with respect to W."""
        v = self._power_iteration()
        weight = self.layer.weight
        return (weight.reshape(weight.shape[0], -1) @ Tensor(v)) @ Tensor(self.u)

    def forward(self, *args: Any) -> Any:
        weight = self.layer.weight
        normalized = weight / self.sigma()
        # The layer reads self.weight in its forward; lend it the normalised weight for
        # this call only, so that parameters() still finds the Parameter.
        object.__setattr__(self.layer, "weight", normalized)
        try:
            return self.layer(*args)
        finally:
            object.__setattr__(self.layer, "weight", weight)

    def spectral_norm(self) -> float:
        """σ(W) of the raw weight by SVD, for checking (not used in training)."""
        with no_grad():
            xp = get_array_module(self.layer.weight.data)
            return float(xp.linalg.svd(self._matrix(), compute_uv=False)[0])

    def extra_repr(self) -> str:
        return f"n_power_iterations={self.n_power_iterations}"
