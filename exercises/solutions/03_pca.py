"""Reference solutions for lesson 03's exercises (see ``exercises/03_pca.py``)."""

import numpy as np


def pca_fit(X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The mean, and the first k right singular vectors of the centred data."""
    mean = X.mean(axis=0)
    _, _, vt = np.linalg.svd(X - mean, full_matrices=False)
    return mean, vt[:k]


def pca_reconstruct(X: np.ndarray, mean: np.ndarray, components: np.ndarray) -> np.ndarray:
    """Project the centred rows onto the components' span, then add the mean back."""
    z = (X - mean) @ components.T
    return z @ components + mean


def explained_variance_ratio(X: np.ndarray) -> np.ndarray:
    """σ_i² / Σ σ_j² for the singular values of the centred data."""
    s = np.linalg.svd(X - X.mean(axis=0), compute_uv=False)
    return s ** 2 / np.sum(s ** 2)
