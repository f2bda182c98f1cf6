"""Reference solutions for lesson 07's exercises (``exercises/07_denoising_and_contractive.py``)."""

import numpy as np

import scratchnet as sn
import scratchnet.functional as F


def gaussian_corrupt(x: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """x + σ ε with ε standard normal, in x's dtype."""
    return (x + sigma * rng.standard_normal(x.shape)).astype(x.dtype)


def denoising_loss(reconstruct, x: np.ndarray, sigma: float,
                   rng: np.random.Generator) -> sn.Tensor:
    """MSE between the reconstruction of the corrupted x and the clean x."""
    x_noisy = gaussian_corrupt(x, sigma, rng)
    return F.mse_loss(reconstruct(sn.Tensor(x_noisy)), x)


def contractive_penalty(x: sn.Tensor, W: sn.Tensor, b: sn.Tensor) -> sn.Tensor:
    """mean over rows of Σ_j (h_j (1 - h_j))² Σ_i W_ij²."""
    h = F.sigmoid(x @ W + b)
    slope = h * (1.0 - h)  # σ'(a) for each row and code unit, (N, K)
    column_norms = F.sum(W * W, axis=0)  # Σ_i W_ij², (K,)
    return F.mean(F.sum(slope * slope * column_norms, axis=1))
