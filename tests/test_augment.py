"""Data augmentation helpers: dynamic binarisation, rotations, noise."""

import numpy as np
import pytest

import scratchnet as sn
from scratchnet.datasets import random_binarize
from scratchnet.datasets.augment import (
    gaussian_noise,
    random_rotation,
    random_shift,
    rotate,
    rotate90,
)


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


def _images(shape=(5, 2, 7, 7), dtype=np.float32):
    return np.random.default_rng(0).random(shape).astype(dtype)


def test_random_shift_by_zero_is_the_identity_and_is_a_padded_crop():
    x = _images()
    np.testing.assert_array_equal(random_shift(x, 0, rng=0), x)
    out = random_shift(x, 2, rng=0)
    assert out.shape == x.shape and out.dtype == x.dtype
    # Each output is a 7×7 window of the image padded by 2: its own pixels, moved.
    padded = np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)))
    for i in range(len(x)):
        assert any(np.array_equal(out[i], padded[i, :, dy:dy + 7, dx:dx + 7])
                   for dy in range(5) for dx in range(5))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rotate_by_zero_degrees_is_the_identity(dtype):
    x = _images(dtype=dtype)
    out = rotate(x, 0)
    assert out.dtype == dtype and out.shape == x.shape
    np.testing.assert_allclose(out, x, atol=1e-6)
    np.testing.assert_allclose(random_rotation(x, max_degrees=0, rng=0), x, atol=1e-6)


@pytest.mark.parametrize(("degrees", "k"), [(90, 1), (180, 2), (-90, 3), (270, 3), (360, 0)])
def test_rotate_by_quarter_turns_matches_rotate90(degrees, k):
    x = _images()
    np.testing.assert_allclose(rotate(x, degrees), rotate90(x, k), atol=1e-6)


def test_rotate_45_degrees_by_hand():
    # The top-right pixel of a 3×3 image (u = v = 1 about the centre) turns 45° towards the
    # top: output (row 0, column 1) at (u, v) = (0, 1) reads the input at (√½, √½), whose
    # bilinear weight on the pixel at (1, 1) is √½ · √½ = ½.
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 0, 2] = 1.0
    expected = np.zeros((3, 3))
    expected[0, 1] = 0.5
    np.testing.assert_allclose(rotate(x, 45)[0, 0], expected, atol=1e-12)


def test_rotate_takes_one_angle_per_image_and_fills_corners_with_zeros():
    x = np.ones((2, 1, 9, 9), dtype=np.float32)
    out = rotate(x, np.array([0.0, 45.0]))
    np.testing.assert_allclose(out[0], x[0], atol=1e-6)
    assert out[1, 0, 0, 0] == 0 and out[1, 0, 4, 4] == pytest.approx(1.0)


def test_random_rotation_is_seeded_and_bounded():
    x = _images()
    a = random_rotation(x, max_degrees=30, rng=5)
    np.testing.assert_array_equal(a, random_rotation(x, max_degrees=30, rng=5))
    assert not np.array_equal(a, random_rotation(x, max_degrees=30, rng=6))
    assert a.shape == x.shape and a.dtype == x.dtype
    angles = np.random.default_rng(5).uniform(-30, 30, len(x))
    np.testing.assert_allclose(a, rotate(x, angles), atol=1e-6)


def test_rotate90_matches_np_rot90_counterclockwise():
    x = _images()
    out = rotate90(x, 1)
    assert out.shape == x.shape and out.dtype == x.dtype
    for i in range(len(x)):
        np.testing.assert_array_equal(out[i], np.rot90(x[i], 1, axes=(1, 2)))
    # Counterclockwise as displayed: the top-right corner goes to the top-left.
    np.testing.assert_array_equal(out[:, :, 0, 0], x[:, :, 0, -1])


@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_rotate90_by_k_then_by_4_minus_k_gives_the_image_back_exactly(k):
    x = _images()
    np.testing.assert_array_equal(rotate90(rotate90(x, k), 4 - k), x)


def test_rotate90_takes_one_k_per_image():
    x = _images()
    k = np.array([0, 1, 2, 3, -1])
    out = rotate90(x, k)
    for i in range(len(x)):
        np.testing.assert_array_equal(out[i], np.rot90(x[i], k[i], axes=(1, 2)))
    np.testing.assert_array_equal(rotate90(out, 4 - k), x)


def test_rotate90_half_turns_of_non_square_images():
    x = _images((2, 1, 3, 5))
    np.testing.assert_array_equal(rotate90(x, 2), x[:, :, ::-1, ::-1])
    with pytest.raises(ValueError, match=r"rotate90: .*non-square"):
        rotate90(x, 1)


def test_gaussian_noise_has_the_requested_std_and_is_seeded():
    x = np.full((64, 1, 16, 16), 0.5, dtype=np.float32)
    out = gaussian_noise(x, std=0.2, rng=1, clip=None)
    assert out.dtype == np.float32 and out.shape == x.shape
    # 16,384 draws: the sample std is within 3% of 0.2 and the mean within 0.01 of 0.5.
    assert abs((out - x).std() - 0.2) < 0.006 and abs(out.mean() - 0.5) < 0.01
    np.testing.assert_array_equal(out, gaussian_noise(x, std=0.2, rng=1, clip=None))
    clipped = gaussian_noise(x, std=0.5, rng=1)
    assert clipped.min() == 0 and clipped.max() == 1
    np.testing.assert_array_equal(gaussian_noise(x, std=0.0, rng=1), x)


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda x: rotate(x, [1.0, 2.0]), ValueError, r"rotate: degrees .*\(5,\)"),
    (lambda x: rotate(x, np.inf), ValueError, "rotate: degrees must be finite"),
    (lambda x: rotate(x[0], 10), ValueError, r"rotate: .*\(N, C, H, W\)"),
    (lambda x: rotate((x * 255).astype(np.uint8), 10), TypeError, "rotate: .*float"),
    (lambda x: random_rotation(x, max_degrees=-1), ValueError, "random_rotation: max_degrees"),
    (lambda x: random_rotation(x, max_degrees=200), ValueError, "random_rotation: max_degrees"),
    (lambda x: rotate90(x, 1.0), TypeError, "rotate90: k must be an int"),
    (lambda x: rotate90(x, np.array([1, 2])), ValueError, r"rotate90: k has shape \(2,\)"),
    (lambda x: rotate90(x.tolist(), 1), TypeError, "rotate90: images must be an array"),
    (lambda x: gaussian_noise(x, std=-0.1), ValueError, "gaussian_noise: std"),
    (lambda x: gaussian_noise(x, clip=(1, 0)), ValueError, "gaussian_noise: clip .*low < high"),
    (lambda x: gaussian_noise(x, clip=(0,)), ValueError, "gaussian_noise: clip must be"),
])
def test_augment_functions_reject_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call(_images())
