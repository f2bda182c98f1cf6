"""PCA against an SVD and an eigendecomposition computed here, independently of the library."""

from __future__ import annotations

import numpy as np
import pytest

import scratchnet as sn
from scratchnet.models import PCA


def anisotropic(n=200, d=8, seed=0):
    """Gaussian data with well-separated variances (9, 7, 5, ... down the axes), rotated."""
    rng = np.random.default_rng(seed)
    scales = np.linspace(3.0, 0.3, d)
    rotation, _ = np.linalg.qr(rng.normal(size=(d, d)))
    return rng.normal(size=(n, d)) * scales @ rotation.T + rng.normal(size=d)


def sign_fixed(rows):
    """The documented rule: each row's largest-magnitude entry is positive."""
    largest = np.argmax(np.abs(rows), axis=1)
    return rows * np.sign(rows[np.arange(len(rows)), largest])[:, None]


def eigenvalues(X):
    """The covariance's eigenvalues, descending, from numpy's eigh (not the library's route)."""
    centred = X - X.mean(axis=0)
    return np.linalg.eigvalsh(centred.T @ centred / (len(X) - 1))[::-1]


@pytest.mark.parametrize("k", [1, 3, 8])
def test_components_equal_an_independent_svd_up_to_the_sign_rule(k):
    X = anisotropic()
    pca = PCA(k).fit(X)
    _, s, vt = np.linalg.svd(X - X.mean(axis=0), full_matrices=False)
    np.testing.assert_allclose(pca.components_, sign_fixed(vt[:k]), atol=1e-10)
    np.testing.assert_allclose(pca.mean_, X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(pca.explained_variance_, s[:k] ** 2 / (len(X) - 1), rtol=1e-10)
    np.testing.assert_allclose(pca.components_ @ pca.components_.T, np.eye(k), atol=1e-12)
    rows = pca.components_
    assert (rows[np.arange(k), np.argmax(np.abs(rows), axis=1)] > 0).all()


def test_the_sign_is_deterministic_whatever_the_data_sign():
    X = anisotropic()
    np.testing.assert_allclose(PCA(4).fit(X).components_, PCA(4).fit(-X).components_,
                               atol=1e-10)


def test_eig_method_agrees_with_svd():
    X = anisotropic()
    svd, eig = PCA(5).fit(X), PCA(5, method="eig").fit(X)
    np.testing.assert_allclose(eig.components_, svd.components_, atol=1e-8)
    np.testing.assert_allclose(eig.explained_variance_, svd.explained_variance_, rtol=1e-10)
    np.testing.assert_allclose(eig.spectrum_, svd.spectrum_, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(eig.transform(X), svd.transform(X), atol=1e-8)


@pytest.mark.parametrize("method", ["svd", "eig"])
@pytest.mark.parametrize("k", [1, 2, 5, 7])
def test_reconstruction_error_is_the_eckart_young_value(method, k):
    X = anisotropic()
    n, d = X.shape
    lam = eigenvalues(X)
    expected = (n - 1) / (n * d) * lam[k:].sum()
    got = PCA(k, method=method).fit(X).reconstruction_error(X)
    assert got == pytest.approx(expected, rel=1e-8)


def test_reconstruction_error_is_zero_with_every_component():
    X = anisotropic(d=6)
    assert PCA(6).fit(X).reconstruction_error(X) < 1e-25


def test_no_other_rank_k_projection_does_better():
    X = anisotropic()
    best = PCA(3).fit(X).reconstruction_error(X)
    rng = np.random.default_rng(1)
    centred = X - X.mean(axis=0)
    for _ in range(5):
        q, _ = np.linalg.qr(rng.normal(size=(X.shape[1], 3)))
        assert ((centred - centred @ q @ q.T) ** 2).mean() > best


def test_inverse_transform_of_transform_is_the_orthogonal_projection():
    X = anisotropic()
    pca = PCA(3).fit(X)
    X_hat = pca.inverse_transform(pca.transform(X))
    V = pca.components_.T  # (D, k), orthonormal columns
    np.testing.assert_allclose(X_hat - pca.mean_, (X - pca.mean_) @ V @ V.T, atol=1e-10)
    # Idempotent: projecting a projection changes nothing.
    np.testing.assert_allclose(pca.inverse_transform(pca.transform(X_hat)), X_hat, atol=1e-10)
    # The residual is orthogonal to every component.
    np.testing.assert_allclose((X - X_hat) @ V, 0.0, atol=1e-10)
    # New points (not in the training set) obey the same.
    Y = anisotropic(n=30, seed=5)
    Y_hat = pca.reconstruct(Y)
    np.testing.assert_allclose((Y - Y_hat) @ V, 0.0, atol=1e-10)
    np.testing.assert_allclose(pca.reconstruct(Y_hat), Y_hat, atol=1e-10)


def test_transform_gives_uncorrelated_coordinates_with_the_explained_variances():
    X = anisotropic()
    pca = PCA(4).fit(X)
    Z = pca.transform(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-10)
    np.testing.assert_allclose(np.cov(Z, rowvar=False), np.diag(pca.explained_variance_),
                               atol=1e-10)


@pytest.mark.parametrize("shape", [(200, 8), (5, 12)])
def test_explained_variance_ratio_sums_to_at_most_one_and_to_one_at_full_rank(shape):
    rng = np.random.default_rng(2)
    X = rng.normal(size=shape) * np.linspace(2, 0.5, shape[1])
    full = min(shape)
    for k in range(1, full + 1):
        ratio = PCA(k).fit(X).explained_variance_ratio_
        assert ratio.shape == (k,)
        assert (np.diff(ratio) <= 1e-15).all()
        assert ratio.sum() <= 1 + 1e-12
    assert PCA(full).fit(X).explained_variance_ratio_.sum() == pytest.approx(1.0, rel=1e-12)
    lam = eigenvalues(X)
    np.testing.assert_allclose(PCA(2).fit(X).explained_variance_ratio_,
                               lam[:2] / lam.sum(), rtol=1e-8)


def with_constant_features(X, columns, values):
    """X with the given columns replaced by a constant each (like MNIST's blank border)."""
    X = X.copy()
    X[:, columns] = values
    return X


@pytest.mark.parametrize("shape", [(200, 8), (6, 12)])
def test_constant_features_give_the_svd_of_all_the_features(shape):
    # The fit leaves constant features out of its SVD; the result must be that of the
    # plain SVD of the whole centred matrix, with weight exactly 0 on those features.
    n, d = shape
    X = with_constant_features(np.random.default_rng(4).normal(size=shape)
                               * np.linspace(3.0, 0.3, d), [0, 3, 5], [0.0, 0.3, -7.0])
    _, s, vt = np.linalg.svd(X - X.mean(axis=0), full_matrices=False)
    k = int((s > 1e-10 * s[0]).sum())  # the directions the data determines
    assert k == min(n - 1, d - 3)
    pca = PCA(k).fit(X)
    np.testing.assert_allclose(pca.components_, sign_fixed(vt[:k]), atol=1e-10)
    np.testing.assert_allclose(pca.spectrum_[:k], s[:k] ** 2 / (n - 1), rtol=1e-10)
    assert pca.components_.shape == (k, d)
    assert (pca.components_[:, [0, 3, 5]] == 0).all()


def test_every_direction_is_found_when_features_are_constant():
    # min(N, D) orthonormal directions, whatever the rank: those of zero variance come last.
    X = with_constant_features(anisotropic(), [2, 6], [0.0, 1.5])
    pca = PCA(8).fit(X)
    np.testing.assert_allclose(pca.components_ @ pca.components_.T, np.eye(8), atol=1e-12)
    assert pca.spectrum_.shape == (8,)
    assert (pca.spectrum_[:6] > 0.05).all() and (pca.spectrum_[6:] == 0).all()
    np.testing.assert_allclose(pca.spectrum_, np.clip(eigenvalues(X), 0, None),
                               rtol=1e-10, atol=1e-12)
    assert pca.reconstruction_error(X) < 1e-25
    wide = with_constant_features(np.random.default_rng(5).normal(size=(5, 12)),
                                  list(range(9)), 2.0)  # 3 varying features, 5 samples
    pca = PCA(5).fit(wide)
    np.testing.assert_allclose(pca.components_ @ pca.components_.T, np.eye(5), atol=1e-12)
    assert (pca.spectrum_[:3] > 0).all() and (pca.spectrum_[3:] == 0).all()
    assert pca.reconstruction_error(wide) < 1e-25


def test_wide_data_has_at_most_n_components():
    X = np.random.default_rng(3).normal(size=(5, 12))
    pca = PCA(5).fit(X)
    assert pca.components_.shape == (5, 12)
    assert pca.spectrum_.shape == (5,)
    # Five centred points span only four directions: the last variance is zero.
    assert pca.spectrum_[-1] < 1e-12 * pca.spectrum_[0]
    assert pca.reconstruction_error(X) < 1e-25


def test_works_on_tensors_and_float32():
    X = anisotropic()
    expected = PCA(3).fit(X)
    from_tensor = PCA(3).fit(sn.Tensor(X, dtype=np.float64))
    np.testing.assert_allclose(from_tensor.components_, expected.components_, atol=1e-12)
    np.testing.assert_allclose(from_tensor.transform(sn.Tensor(X, dtype=np.float64)),
                               expected.transform(X), atol=1e-10)
    assert from_tensor.reconstruction_error(sn.Tensor(X, dtype=np.float64)) == pytest.approx(
        expected.reconstruction_error(X), rel=1e-10)
    single = PCA(3).fit(X.astype(np.float32))
    np.testing.assert_allclose(single.components_, expected.components_, atol=1e-4)


def test_repr_and_spectrum():
    X = anisotropic()
    pca = PCA(2, method="eig").fit(X)
    assert repr(pca) == "PCA(n_components=2, method='eig')"
    np.testing.assert_allclose(pca.spectrum_, eigenvalues(X), rtol=1e-10)


# ---- errors ------------------------------------------------------------------------------------

def test_too_many_components_is_refused():
    with pytest.raises(ValueError, match=r"n_components=6 exceeds .*min\(5, 12\)"):
        PCA(6).fit(np.random.default_rng(0).normal(size=(5, 12)))
    with pytest.raises(ValueError, match="n_components=9 exceeds"):
        PCA(9).fit(anisotropic())


def test_nan_and_inf_input_are_refused():
    X = anisotropic()
    X[3, 2] = np.nan
    with pytest.raises(ValueError, match=r"PCA\.fit: .*NaN"):
        PCA(2).fit(X)
    X[3, 2] = np.inf
    with pytest.raises(ValueError, match=r"PCA\.fit: .*infinite"):
        PCA(2).fit(X)
    pca = PCA(2).fit(anisotropic())
    with pytest.raises(ValueError, match=r"PCA\.transform: .*NaN"):
        pca.transform(X)


@pytest.mark.parametrize("shape", [(10,), (4, 5, 6)])
def test_input_that_is_not_a_matrix_is_refused(shape):
    with pytest.raises(ValueError, match=r"PCA.fit: expected a 2-D array.*reshape"):
        PCA(1).fit(np.ones(shape))


def test_transform_before_fit_is_refused():
    with pytest.raises(RuntimeError, match=r"PCA.transform: call fit\(X\) first"):
        PCA(2).transform(anisotropic())
    with pytest.raises(RuntimeError, match=r"PCA\.inverse_transform: call fit"):
        PCA(2).inverse_transform(np.zeros((3, 2)))
    with pytest.raises(RuntimeError, match="call fit"):
        PCA(2).reconstruction_error(anisotropic())


def test_wrong_feature_count_is_refused():
    pca = PCA(2).fit(anisotropic(d=8))
    with pytest.raises(ValueError, match=r"PCA\.transform: fitted on 8 features, got 5"):
        pca.transform(np.zeros((3, 5)))


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="PCA: n_components must be a positive integer"):
        PCA(0)
    with pytest.raises(TypeError, match="PCA: n_components must be an integer"):
        PCA(2.0)
    with pytest.raises(ValueError, match="PCA: method must be 'svd' or 'eig'"):
        PCA(2, method="qr")
    with pytest.raises(ValueError, match="at least 2 samples"):
        PCA(1).fit(np.ones((1, 3)))
