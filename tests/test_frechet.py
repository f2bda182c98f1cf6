"""metrics.frechet_distance and gaussian_frechet_distance: the FID formula, checked."""

from __future__ import annotations

import numpy as np
import pytest

from scratchnet import metrics
from scratchnet.datasets import load_mnist
from scratchnet.models import mnist_classifier


def random_gaussian(rng, d):
    mean = rng.normal(size=d)
    factor = rng.normal(size=(d, d))
    return mean, factor @ factor.T / d + 0.1 * np.eye(d)


def reference(mean_a, cov_a, mean_b, cov_b):
    """The formula as FID code writes it: tr √(Σ_a Σ_b) from the product's eigenvalues."""
    eigenvalues = np.linalg.eigvals(cov_a @ cov_b)
    assert np.abs(eigenvalues.imag).max() < 1e-8 * np.abs(eigenvalues).max()
    cross = np.sqrt(np.clip(eigenvalues.real, 0, None)).sum()
    return ((mean_a - mean_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * cross


@pytest.mark.parametrize("d", [1, 3, 20])
def test_gaussian_formula_matches_a_reference_computation(d):
    rng = np.random.default_rng(d)
    a, b = random_gaussian(rng, d), random_gaussian(rng, d)
    got = metrics.gaussian_frechet_distance(*a, *b)
    np.testing.assert_allclose(got, reference(*a, *b), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(metrics.gaussian_frechet_distance(*b, *a), got, rtol=1e-9)
    assert metrics.gaussian_frechet_distance(*a, *a) < 1e-9


def test_closed_forms_in_one_dimension_and_for_diagonal_covariances():
    # 1-D: (μ_a − μ_b)² + (σ_a − σ_b)².
    got = metrics.gaussian_frechet_distance([1.0], [[4.0]], [-2.0], [[9.0]])
    assert got == pytest.approx(9.0 + 1.0)
    # Commuting covariances: Σ_i (√a_i − √b_i)².
    a, b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    got = metrics.gaussian_frechet_distance(np.zeros(3), np.diag(a), np.zeros(3), np.diag(b))
    assert got == pytest.approx(((np.sqrt(a) - np.sqrt(b)) ** 2).sum())


def test_samples_fit_their_gaussians_and_a_set_is_at_zero_from_itself():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 4)) @ rng.normal(size=(4, 4)) + 2.0
    y = rng.normal(size=(300, 4))
    identity = lambda s: s  # noqa: E731
    got = metrics.frechet_distance(x, y, features=identity, batch_size=64)
    want = metrics.gaussian_frechet_distance(x.mean(0), np.cov(x, rowvar=False),
                                             y.mean(0), np.cov(y, rowvar=False))
    assert got == pytest.approx(want, rel=1e-12)
    assert metrics.frechet_distance(y, x, features=identity) == pytest.approx(got, rel=1e-9)
    assert metrics.frechet_distance(x, x, features=identity) < 1e-9
    # Shifting one set by t moves the distance by ‖t‖² exactly.
    shifted = metrics.frechet_distance(x, x + np.array([3.0, 0, 0, 4.0]), features=identity)
    assert shifted == pytest.approx(25.0, rel=1e-9)


def test_the_default_features_tell_digits_from_noise():
    images, _ = load_mnist("train", source="bundled")
    classifier = mnist_classifier(progress=False)
    real_a, real_b = images[:400], images[400:800]
    noise = np.random.default_rng(0).random(real_b.shape).astype(np.float32)
    floor = metrics.frechet_distance(real_a, real_b)
    far = metrics.frechet_distance(real_a, noise)
    # Measured with the 11-output classifier (reject class): 171.9 and 2667 (the ten-class
    # one gave 167.5 and 2321); its penultimate features are still the 1,568 flattened maps.
    assert 0 < floor < 0.1 * far
    assert classifier.training is False          # left as it was found: evaluation mode


def test_bad_input_is_named():
    identity = lambda s: s  # noqa: E731
    x = np.zeros((5, 3))
    with pytest.raises(ValueError, match="frechet_distance: b needs at least 2 samples"):
        metrics.frechet_distance(x, x[:1], features=identity)
    with pytest.raises(ValueError, match="a's features have 3 dimensions but b's 2"):
        metrics.frechet_distance(x, x[:, :2], features=identity)
    with pytest.raises(ValueError, match="features of a contain NaN"):
        metrics.frechet_distance(x * np.nan, x, features=identity)
    with pytest.raises(TypeError, match="features must be None or a callable, got str"):
        metrics.frechet_distance(x, x, features="pixels")
    with pytest.raises(ValueError, match=r"default features read MNIST images \(N, 1, 28, 28\)"):
        metrics.frechet_distance(x, x)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        metrics.frechet_distance(x, x, features=identity, batch_size=0)
    with pytest.raises(ValueError, match=r"gaussian_frechet_distance: expected means \(D,\)"):
        metrics.gaussian_frechet_distance(np.zeros(2), np.eye(3), np.zeros(2), np.eye(2))


def test_a_features_callable_receives_array_slices_of_a_numpy_input():
    # A NumPy array's own .data is a memoryview: the features must see arrays, which have
    # .max, .reshape and the rest, and the same numbers for an array and a Tensor input.
    seen = []

    def features(x):
        seen.append(type(x))
        return np.stack([x.max(axis=(1, 2, 3)), x.mean(axis=(1, 2, 3))], axis=1)

    rng = np.random.default_rng(0)
    a, b = rng.random((40, 1, 4, 4)), rng.random((30, 1, 4, 4)) ** 2
    from_arrays = metrics.frechet_distance(a, b, features=features, batch_size=16)
    assert all(kind is np.ndarray for kind in seen)
    from scratchnet import Tensor
    assert from_arrays == pytest.approx(
        metrics.frechet_distance(Tensor(a), Tensor(b), features=features, batch_size=16))
    assert from_arrays > 0


@pytest.mark.parametrize("sizes", [(6, 9, 40), (30, 25, 100), (60, 80, 7)])
def test_fewer_samples_than_dimensions_take_the_svd_route_to_the_same_value(sizes):
    # Both routes run: 6·9 and 30·25 are below D² (the SVD), 60·80 is not. Each must equal the
    # closed form on the fitted Gaussians, to rounding: a rank-deficient covariance leaves
    # eigenvalues of order 1e-12 whose square roots (1e-6 each) the closed form sums.
    n_a, n_b, d = sizes
    rng = np.random.default_rng(d)
    a = rng.standard_normal((n_a, d)) @ rng.standard_normal((d, d))
    b = 0.5 * rng.standard_normal((n_b, d)) + 1.0
    expected = metrics.gaussian_frechet_distance(a.mean(axis=0), np.cov(a, rowvar=False),
                                                 b.mean(axis=0), np.cov(b, rowvar=False))
    got = metrics.frechet_distance(a, b, features=lambda x: x)
    assert got == pytest.approx(expected, rel=1e-7)
    assert metrics.frechet_distance(b, a, features=lambda x: x) == pytest.approx(got, rel=1e-9)


def test_the_public_classifier_features_are_the_default_features():
    digits = load_mnist("test", source="bundled")[0][:60]
    features = metrics.classifier_features(mnist_classifier(progress=False))
    assert features(digits[:5]).shape == (5, 1568)
    assert metrics.frechet_distance(digits[:30], digits[30:], features=features) == (
        pytest.approx(metrics.frechet_distance(digits[:30], digits[30:])))
