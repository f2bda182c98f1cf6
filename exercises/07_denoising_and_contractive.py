"""Exercises for lesson 07: denoising and contractive autoencoders.

Fill in each body, then run ``scratchnet check 07``. Reference solutions are in
``exercises/solutions/``.
"""

import numpy as np

import scratchnet as sn
import scratchnet.functional as F  # noqa: F401  (your answers will want it)


def gaussian_corrupt(x: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """The denoising autoencoder's corruption: x̃ = x + ε, ε ~ N(0, σ² I).

    Shapes: x (N, D) -> x̃ (N, D), in x's dtype. Draw ε from ``rng`` (so that a seed
    repeats it), and leave x itself unchanged.
    """
    raise NotImplementedError("exercise: gaussian_corrupt")


def denoising_loss(reconstruct, x: np.ndarray, sigma: float,
                   rng: np.random.Generator) -> sn.Tensor:
    """One denoising autoencoder loss: corrupt, reconstruct, compare with the clean input.

    ``reconstruct`` maps a Tensor (N, D) to a Tensor (N, D) (the autoencoder). Corrupt x
    with ``gaussian_corrupt(x, sigma, rng)``, pass x̃ through ``reconstruct`` *once*, and
    return the mean squared error (a scalar Tensor, ``F.mse_loss``) between the
    reconstruction and the target. Which target: x or x̃?
    """
    raise NotImplementedError("exercise: denoising_loss")


def contractive_penalty(x: sn.Tensor, W: sn.Tensor, b: sn.Tensor) -> sn.Tensor:
    """The contractive penalty of a sigmoid encoder, by its closed form, averaged over rows.

    Shapes: x (N, D), W (D, K), b (K,) -> a scalar Tensor. For h = σ(x W + b) the Jacobian
    of one row's code is ∂h_j/∂x_i = h_j (1 - h_j) W_ij, so

        ‖J‖²_F = Σ_j (h_j (1 - h_j))² Σ_i W_ij²,

    and the penalty is the mean of ‖J‖²_F over the N rows. Write it with tensor operations
    (``F.sigmoid``, ``F.sum``, ``F.mean``, ``*``) so that training can differentiate it.
    """
    raise NotImplementedError("exercise: contractive_penalty")
