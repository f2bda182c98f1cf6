"""Exercises for lesson 04: PCA versus a linear autoencoder.

Fill in each body, then run ``scratchnet check 04``. Reference solutions are in
``exercises/solutions/``.
"""

import numpy as np


def largest_principal_angle(A: np.ndarray, B: np.ndarray) -> float:
    """The largest principal angle, in degrees, between the column spans of A and B.

    Shapes: A (D, k), B (D, k), both of full column rank but not necessarily orthonormal.
    Take orthonormal bases Q_A and Q_B (``np.linalg.qr``); the singular values of
    Q_Aᵀ Q_B are the cosines of the principal angles. The subspaces are equal when the
    largest angle is 0°; it is 90° when some direction of one is orthogonal to all of the
    other. Return a float in degrees.
    """
    raise NotImplementedError("exercise: largest_principal_angle")


def directions_from_decoder(W_d: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The principal directions and their variances from a linear decoder (Plaut, 2018).

    Shapes: W_d (k, D) the decoder weights (its rows span the code's subspace), X (N, D)
    the training data -> (directions (D, k), variances (k,)), largest variance first.

    1. Q (D, k): an orthonormal basis of the decoder's subspace, the left singular vectors
       of W_dᵀ;
    2. Z = X_c Q (N, k), with X_c the centred data;
    3. the k × k covariance Zᵀ Z / (N - 1) = P Λ Pᵀ (``np.linalg.eigh``, which returns the
       eigenvalues in *ascending* order);
    4. the columns of Q P, ordered by decreasing eigenvalue, and those eigenvalues.
    """
    raise NotImplementedError("exercise: directions_from_decoder")
