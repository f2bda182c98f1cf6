"""Numbers that say how well a model did: subspace angles, PSNR.

These work on plain arrays (NumPy or CuPy) and record no graph.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from scratchnet.backend import as_numpy

__all__ = ["psnr", "subspace_angles"]


def _orthonormal_basis(A: np.ndarray, name: str) -> np.ndarray:
    if A.ndim != 2 or A.shape[1] == 0:
        raise ValueError(f"subspace_angles: {name} must be a 2-D array whose columns span the "
                         f"subspace, got shape {A.shape}")
    if not np.isfinite(A).all():
        raise ValueError(f"subspace_angles: {name} contains NaN or infinite values")
    q, r = np.linalg.qr(A)
    rank = int((np.abs(np.diag(r)) > 1e-12 * max(np.abs(np.diag(r)).max(), 1e-300)).sum())
    if rank < A.shape[1]:
        raise ValueError(f"subspace_angles: the columns of {name} are linearly dependent "
                         f"(rank {rank} < {A.shape[1]})")
    return q


def subspace_angles(A: Any, B: Any) -> np.ndarray:
    """Principal angles (radians, largest first) between the column spans of A and B.

    Shapes: A (D, p), B (D, q) -> (min(p, q),). With orthonormal bases Q_A and Q_B, the
    cosines of the angles are the singular values of Q_Aᵀ Q_B (Björck & Golub, 1973). For
    angles near 0 the cosine is ≈ 1 and loses precision, so those angles are taken from
    the sines instead: the singular values of Q_B - Q_A Q_Aᵀ Q_B. Two subspaces are equal
    when the largest angle is 0; the largest angle is the one that matters.
    """
    a = _orthonormal_basis(np.asarray(as_numpy(A), dtype=np.float64), "A")
    b = _orthonormal_basis(np.asarray(as_numpy(B), dtype=np.float64), "B")
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"subspace_angles: A and B live in different spaces: {a.shape[0]} "
                         f"and {b.shape[0]} rows")
    if a.shape[1] < b.shape[1]:
        a, b = b, a
    cosines = np.clip(np.linalg.svd(a.T @ b, compute_uv=False), -1.0, 1.0)
    sines = np.clip(np.linalg.svd(b - a @ (a.T @ b), compute_uv=False), -1.0, 1.0)
    # Both lists are in descending order: the largest cosine pairs with the smallest sine.
    angles = np.where(cosines ** 2 > 0.5, np.arcsin(sines[::-1]), np.arccos(cosines))
    return np.sort(angles)[::-1]


def psnr(reference: Any, estimate: Any, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio in decibels: 10 log10(data_range² / MSE).

    Higher is better; each halving of the error adds about 3 dB. Images in [0, 1] use
    ``data_range=1``. Identical inputs give ``inf``.
    """
    if not data_range > 0:
        raise ValueError(f"psnr: data_range must be > 0, got {data_range}")
    ref = np.asarray(as_numpy(reference), dtype=np.float64)
    est = np.asarray(as_numpy(estimate), dtype=np.float64)
    if ref.shape != est.shape:
        raise ValueError(f"psnr: shapes differ: {ref.shape} and {est.shape}")
    mse = float(((ref - est) ** 2).mean())
    return float("inf") if mse == 0 else float(10 * np.log10(data_range ** 2 / mse))
