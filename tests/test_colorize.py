"""datasets.colorize: grey digits tinted with one random hue each."""

import numpy as np
import pytest

import scratchnet as sn
from scratchnet.datasets import colorize, hue_to_rgb, load_mnist


@pytest.fixture(scope="module")
def digits():
    images, _ = load_mnist("train", source="bundled")
    return images[:200]


def test_colorize_shape_dtype_and_range(digits):
    out = colorize(digits.astype(np.float64), rng=0)
    assert out.shape == (200, 3, 28, 28) and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1
    # The brightest channel of a full-saturation, full-value colour is 1: it is the grey image.
    np.testing.assert_allclose(out.max(axis=1, keepdims=True), digits, atol=1e-6)


def test_colorize_is_reproducible_with_a_seed_and_varies_without(digits):
    np.testing.assert_array_equal(colorize(digits, rng=5), colorize(digits, rng=5))
    assert not np.array_equal(colorize(digits, rng=5), colorize(digits, rng=6))


def test_each_image_has_one_colour_where_the_stroke_is(digits):
    out, hues = colorize(digits, rng=1, return_hues=True)
    assert hues.shape == (200,) and hues.dtype == np.float32
    stroke = digits[:, 0] > 0
    background = ~stroke
    assert (out.transpose(1, 0, 2, 3)[:, background] == 0).all()
    for i in range(len(digits)):
        # Dividing out the grey level leaves the same RGB colour at every stroke pixel.
        ratios = out[i][:, stroke[i]] / digits[i, 0][stroke[i]]
        colour = ratios[:, 0]
        np.testing.assert_allclose(ratios, colour[:, None] * np.ones_like(ratios), atol=1e-5)
        np.testing.assert_allclose(colour, hue_to_rgb(hues[i:i + 1])[0], atol=1e-6)


def test_hues_cover_the_colour_circle():
    images = np.ones((4000, 1, 2, 2), dtype=np.float32)
    _, hues = colorize(images, rng=2, return_hues=True)
    assert hues.min() >= 0 and hues.max() < 1
    counts, _ = np.histogram(hues, bins=12, range=(0, 1))
    assert counts.min() > 4000 / 12 * 0.7   # uniform: each twelfth holds ~333
    # Red, green and blue each dominate about a third of the images.
    dominant = np.bincount(colorize(images, rng=2)[:, :, 0, 0].argmax(axis=1), minlength=3)
    assert (np.abs(dominant / 4000 - 1 / 3) < 0.05).all()


def test_hue_to_rgb_primary_and_secondary_colours():
    hues = np.array([0, 1 / 6, 1 / 3, 1 / 2, 2 / 3, 5 / 6], dtype=np.float64)
    expected = [[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 1, 1], [0, 0, 1], [1, 0, 1]]
    np.testing.assert_allclose(hue_to_rgb(hues), expected, atol=1e-12)
    # Periodic: hue 1 is red again, and the colour is continuous across the wrap.
    np.testing.assert_allclose(hue_to_rgb(np.array([1.0, 0.9999])), [[1, 0, 0], [1, 0, 0]],
                               atol=1e-3)


def test_colorize_takes_a_tensor():
    x = sn.Tensor(np.full((2, 1, 3, 3), 0.5, dtype=np.float32))
    out = colorize(x, rng=0)
    assert isinstance(out, np.ndarray) and out.shape == (2, 3, 3, 3)


@pytest.mark.parametrize(("images", "error", "match"), [
    (np.zeros((2, 28, 28), dtype=np.float32), ValueError, r"\(N, 1, H, W\).*\(2, 28, 28\)"),
    (np.zeros((2, 3, 4, 4), dtype=np.float32), ValueError, r"\(N, 1, H, W\).*\(2, 3, 4, 4\)"),
    (np.zeros((2, 1, 4, 4), dtype=np.uint8), TypeError, "floats"),
    (np.full((2, 1, 4, 4), 1.5, dtype=np.float32), ValueError, r"\[0, 1\]"),
    (np.full((2, 1, 4, 4), -0.5, dtype=np.float32), ValueError, r"\[0, 1\]"),
])
def test_colorize_rejects_bad_images(images, error, match):
    with pytest.raises(error, match="colorize: .*" + match):
        colorize(images, rng=0)
