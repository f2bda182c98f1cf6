"""datasets.strokes.stroke_thickness: 2·(ink area) / (boundary length), in pixels."""

from __future__ import annotations

import numpy as np
import pytest

from scratchnet.datasets.strokes import stroke_thickness


def line(size: int, width: float, angle: float, length: float, supersample: int = 8
         ) -> np.ndarray:
    """A straight stroke through the centre of a size×size image, anti-aliased by averaging
    a supersample-times finer binary drawing: (size, size) in [0, 1]."""
    n = size * supersample
    yy, xx = (np.mgrid[0:n, 0:n] + 0.5) / supersample - size / 2
    t = np.deg2rad(angle)
    along = xx * np.cos(t) + yy * np.sin(t)
    across = -xx * np.sin(t) + yy * np.cos(t)
    fine = (np.abs(across) <= width / 2) & (np.abs(along) <= length / 2)
    return fine.reshape(size, supersample, size, supersample).mean(axis=(1, 3))


@pytest.mark.parametrize("width", [2.5, 3.0, 4.0, 5.0])
@pytest.mark.parametrize("angle", [0.0, 20.0, 45.0, 80.0])
def test_a_long_line_measures_its_width_at_any_angle(width, angle):
    # Length 150: the two ends shorten the estimate by L / (L + w), under 4% here.
    measured = stroke_thickness(line(200, width, angle, 150)[None])[0]
    assert measured == pytest.approx(width * 150 / (150 + width), rel=0.05)


def test_a_digit_sized_stroke_reads_low_by_its_ends_only():
    # 20 pixels long and 3 wide in a 28x28 frame: about 3 · 20 / 23.
    measured = stroke_thickness(line(28, 3.0, 75, 20)[None, None])[0]
    assert measured == pytest.approx(3.0 * 20 / 23, rel=0.08)


def test_thicker_lines_measure_thicker_and_the_batch_is_measured_image_by_image():
    images = np.stack([line(28, w, 60, 20) for w in (1.0, 2.0, 3.0, 4.0, 5.0)])[:, None]
    measured = stroke_thickness(images)
    assert measured.shape == (5,) and measured.dtype == np.float64
    assert np.all(np.diff(measured) > 0.5)
    for i in range(5):
        assert stroke_thickness(images[i:i + 1])[0] == pytest.approx(measured[i])


def test_a_binary_rectangle_gives_about_twice_its_area_over_its_outline():
    image = np.zeros((1, 30, 30))
    image[0, 5:9, 3:27] = 1.0                       # 4 x 24 pixels, outline 56
    # Each straight side of n pixels has n − 1 inner corners of slope 1; each of the four
    # corner blocks holds one ink pixel of four, slope (1/2, 1/2), length √½.
    outline = 2 * (24 - 1) + 2 * (4 - 1) + 4 * np.sqrt(0.5)
    assert stroke_thickness(image)[0] == pytest.approx(2 * 96 / outline, rel=1e-12)


def test_two_strokes_measure_like_one_and_a_blank_image_has_no_thickness():
    one = line(56, 3.0, 0, 40)
    two = one + np.roll(one, 15, axis=0)
    assert stroke_thickness(two[None])[0] == pytest.approx(stroke_thickness(one[None])[0],
                                                           rel=1e-6)
    assert np.isnan(stroke_thickness(np.zeros((1, 28, 28)))[0])


@pytest.mark.parametrize("images, error, words", [
    (np.zeros((28, 28)), ValueError, "(N, H, W)"),
    (np.zeros((2, 3, 28, 28)), ValueError, "(N, 1, H, W)"),
    (np.full((1, 28, 28), 2.0), ValueError, "[0, 1]"),
    (np.full((1, 28, 28), -0.5), ValueError, "[0, 1]"),
    (np.full((1, 4, 4), np.nan), ValueError, "[0, 1]"),
    (np.array([[["a"]]]), TypeError, "numeric"),
])
def test_bad_input_raises_an_error_naming_the_function(images, error, words):
    with pytest.raises(error, match="stroke_thickness") as info:
        stroke_thickness(images)
    assert words in str(info.value)
