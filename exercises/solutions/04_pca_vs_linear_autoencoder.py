"""Reference solutions for lesson 04's exercises (``exercises/04_pca_vs_linear_autoencoder.py``)."""

import numpy as np


def largest_principal_angle(A: np.ndarray, B: np.ndarray) -> float:
    """arccos of the smallest singular value of Q_Aᵀ Q_B, in degrees."""
    qa, _ = np.linalg.qr(A)
    qb, _ = np.linalg.qr(B)
    cosines = np.linalg.svd(qa.T @ qb, compute_uv=False)
    return float(np.degrees(np.arccos(np.clip(cosines.min(), -1.0, 1.0))))


def directions_from_decoder(W_d: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """PCA restricted to the decoder's subspace: a k × k eigendecomposition."""
    q = np.linalg.svd(W_d.T, full_matrices=False)[0]
    z = (X - X.mean(axis=0)) @ q
    variances, p = np.linalg.eigh(z.T @ z / (len(X) - 1))
    order = np.argsort(variances)[::-1]  # eigh sorts ascending; the largest comes first
    return q @ p[:, order], variances[order]
