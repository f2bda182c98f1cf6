"""datasets.edges: Sobel edge magnitudes and grey dilation."""

import itertools

import numpy as np
import pytest

import scratchnet as sn
from scratchnet.datasets.edges import SOBEL_MAX, dilate, sobel_edges


def test_sobel_max_is_the_largest_magnitude_of_any_binary_patch():
    kx = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    best = max(np.hypot((p * kx).sum(), (p * kx.T).sum())
               for p in (np.array(bits).reshape(3, 3)
                         for bits in itertools.product([0, 1], repeat=9)))
    assert SOBEL_MAX == pytest.approx(best) == pytest.approx(np.sqrt(20))


def test_a_hand_computed_vertical_step():
    # A 4×4 image whose right half is 1: columns 0 1 | 1 1 ... (0-padded at the border).
    x = np.zeros((1, 1, 4, 4), np.float32)
    x[..., 2:] = 1.0
    e = sobel_edges(x)[0, 0] * SOBEL_MAX
    # Pixel (1, 1): right column (1, 1, 1) weighted (1, 2, 1), left column 0 -> G_x = 4,
    # G_y = 0 (rows above and below agree).
    assert e[1, 1] == pytest.approx(4.0)
    # Pixel (0, 1): the row above is padding. G_x = 2·1 + 1·1 = 3 (right column 0, 1, 1);
    # G_y = bottom row (0, 0, 1)·(1, 2, 1) − top row (padding) 0 = 1.
    assert e[0, 1] == pytest.approx(np.hypot(3.0, 1.0))
    # Pixel (1, 2): left 0, right 1, so G_x = 4; pixel (1, 3): right is padding 0, left 1,
    # so G_x = −4, magnitude 4.
    assert e[1, 2] == pytest.approx(4.0) and e[1, 3] == pytest.approx(4.0)
    # Pixel (1, 0): the left padding and column 1 are both 0.
    assert e[1, 0] == pytest.approx(0.0)


def test_matches_scipy_ndimage_sobel_with_zero_padding():
    ndimage = pytest.importorskip("scipy.ndimage")
    x = np.random.default_rng(0).random((3, 1, 9, 7)).astype(np.float32)
    ours = sobel_edges(x)
    for n in range(3):
        image = x[n, 0].astype(np.float64)
        # scipy smooths along every other axis, so it is called on one 2-D image at a time.
        gx = ndimage.sobel(image, axis=1, mode="constant", cval=0.0)
        gy = ndimage.sobel(image, axis=0, mode="constant", cval=0.0)
        np.testing.assert_allclose(ours[n, 0], np.hypot(gx, gy) / SOBEL_MAX, atol=1e-6)


def test_edges_stay_in_the_unit_interval_and_keep_the_dtype():
    rng = np.random.default_rng(1)
    x = (rng.random((20, 1, 6, 6)) > 0.5).astype(np.float32)
    e = sobel_edges(x)
    assert e.dtype == np.float32 and e.shape == x.shape
    assert e.min() >= 0.0 and e.max() <= 1.0
    assert np.all(sobel_edges(np.zeros((1, 1, 5, 5), np.float32)) == 0)


def test_a_constant_image_has_edges_only_at_its_border():
    e = sobel_edges(np.full((1, 1, 6, 6), 0.5, np.float32))[0, 0]
    assert np.all(e[1:-1, 1:-1] == 0) and np.all(e[0] > 0)


def test_sobel_reads_a_tensor_and_sees_each_image_alone():
    x = np.random.default_rng(2).random((4, 1, 8, 8)).astype(np.float32)
    both = sobel_edges(sn.Tensor(x))
    np.testing.assert_array_equal(both[2:3], sobel_edges(x[2:3]))


def test_dilation_by_hand():
    x = np.zeros((1, 1, 5, 5), np.float32)
    x[0, 0, 2, 2] = 0.7
    x[0, 0, 0, 4] = 0.3
    out = dilate(x)[0, 0]
    expected = np.zeros((5, 5), np.float32)
    expected[0:2, 3:5] = 0.3            # the corner pixel spreads into the image only
    expected[1:4, 1:4] = 0.7            # the brighter centre wins where they meet
    np.testing.assert_array_equal(out, expected)
    big = dilate(x, size=5)[0, 0]
    assert big[0, 0] == pytest.approx(0.7) and big[4, 4] == pytest.approx(0.7)


def test_the_diamond_reaches_the_four_neighbours_only():
    x = np.zeros((1, 1, 5, 5), np.float32)
    x[0, 0, 2, 2] = 1.0
    plus = dilate(x, footprint="diamond")[0, 0]
    expected = np.zeros((5, 5), np.float32)
    expected[2, 1:4] = expected[1:4, 2] = 1.0
    np.testing.assert_array_equal(plus, expected)
    # Size 5: the offsets with |u| + |v| <= 2, 13 pixels, a diamond.
    diamond = dilate(x, size=5, footprint="diamond")[0, 0]
    assert diamond.sum() == 13 and diamond[0, 2] == 1 and diamond[1, 1] == 1
    assert diamond[0, 1] == 0


def test_dilation_only_grows_strokes():
    x = np.random.default_rng(3).random((5, 1, 10, 10)).astype(np.float32) ** 4
    out = dilate(x)
    assert np.all(out >= x) and out.max() == x.max()
    assert np.all(out >= dilate(x, footprint="diamond"))   # the square holds the diamond
    np.testing.assert_array_equal(dilate(x, size=1), x)


@pytest.mark.parametrize("fn", [sobel_edges, dilate])
@pytest.mark.parametrize(("images", "error", "words"), [
    (np.zeros((2, 3, 4, 4), np.float32), ValueError, "shape"),
    (np.zeros((4, 4), np.float32), ValueError, "shape"),
    (np.zeros((1, 1, 4, 4), np.int64), TypeError, "dtype"),
    (np.full((1, 1, 4, 4), 2.0, np.float32), ValueError, r"\[0, 1\]"),
])
def test_bad_images_are_refused(fn, images, error, words):
    with pytest.raises(error, match=f"{fn.__name__}.*{words}"):
        fn(images)


@pytest.mark.parametrize("size", [0, 2, 1.0, True])
def test_dilation_needs_an_odd_size(size):
    with pytest.raises(ValueError, match="dilate: size must be an odd integer"):
        dilate(np.zeros((1, 1, 4, 4), np.float32), size=size)


def test_dilation_needs_a_known_footprint():
    with pytest.raises(ValueError, match=r"dilate: footprint must be one of .*'disk'"):
        dilate(np.zeros((1, 1, 4, 4), np.float32), footprint="disk")
