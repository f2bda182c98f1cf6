"""Exercises for lesson 03: principal component analysis.

Fill in each body, then run ``scratchnet check 03``. Reference solutions are in
``exercises/solutions/``.
"""

import numpy as np


def pca_fit(X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The mean and the top-k principal directions of the rows of X.

    Shapes: X (N, D) -> (mean (D,), components (k, D)). Centre the data, X_c = X - mean,
    take its singular value decomposition X_c = S Σ Vᵀ (``np.linalg.svd(X_c,
    full_matrices=False)``), and return the first k rows of Vᵀ: orthonormal directions, in
    order of decreasing variance. (The sign of each direction is arbitrary.)
    """
    raise NotImplementedError("exercise: pca_fit")


def pca_reconstruct(X: np.ndarray, mean: np.ndarray, components: np.ndarray) -> np.ndarray:
    """Encode X with PCA, then decode: the best rank-k approximation of X around its mean.

    Shapes: X (N, D), mean (D,), components (k, D) with orthonormal rows -> X̂ (N, D):

        z = (X - mean) Cᵀ  (N, k),      X̂ = z C + mean.
    """
    raise NotImplementedError("exercise: pca_reconstruct")


def explained_variance_ratio(X: np.ndarray) -> np.ndarray:
    """The fraction of X's variance along each principal direction, largest first.

    Shapes: X (N, D) -> r (min(N, D),). With σ_i the singular values of the centred X, the
    variance along direction i is proportional to σ_i², so r_i = σ_i² / Σ_j σ_j², and the
    entries sum to 1.
    """
    raise NotImplementedError("exercise: explained_variance_ratio")
