"""Data augmentation helpers: dynamic binarisation."""

import numpy as np
import pytest

import scratchnet as sn
from scratchnet.datasets import random_binarize


def test_random_binarize_is_binary_unbiased_and_keeps_shape_and_dtype():
    grey = np.random.default_rng(0).random((4, 1, 6, 6)).astype(np.float32)
    draws = np.stack([random_binarize(grey, rng=seed) for seed in range(2000)])
    assert draws.dtype == np.float32 and draws.shape[1:] == grey.shape
    assert set(np.unique(draws)) <= {0.0, 1.0}
    # Each pixel is Bernoulli(grey): its mean over draws is grey within 5 standard errors.
    stderr = np.sqrt(grey * (1 - grey) / len(draws)) + 1e-3
    assert (np.abs(draws.mean(axis=0) - grey) < 5 * stderr).all()


def test_random_binarize_keeps_0_and_1_and_is_reproducible_with_a_seed():
    x = np.array([[0.0, 1.0, 0.5, 0.5]], dtype=np.float64)
    out = random_binarize(x, rng=3)
    assert out.dtype == np.float64 and out[0, 0] == 0 and out[0, 1] == 1
    np.testing.assert_array_equal(out, random_binarize(x, rng=3))


def test_random_binarize_takes_a_tensor_and_returns_an_array():
    x = sn.Tensor(np.full((2, 3), 0.5, dtype=np.float32))
    out = random_binarize(x, rng=0)
    assert isinstance(out, np.ndarray) and out.shape == (2, 3)


@pytest.mark.parametrize(("images", "error", "match"), [
    (np.array([0.2, 1.5]), ValueError, r"\[0, 1\]"),
    (np.array([-0.1, 0.5]), ValueError, r"\[0, 1\]"),
    (np.array([0, 1], dtype=np.uint8), TypeError, "floats"),
])
def test_random_binarize_rejects_values_outside_the_unit_interval(images, error, match):
    with pytest.raises(error, match=match):
        random_binarize(images, rng=0)
