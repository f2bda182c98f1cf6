"""Tests for scratchnet.datasets.synthetic: each generator has the structure it promises.

Ring and grid: the right centres, points near them, modes equally weighted, seeded.
Bars and stripes: the exact count, all distinct, each a valid pattern. Shapes: the full
factor grid, binary non-empty images inside the frame, the factors visibly at work (rotation,
scale, position), seeded sampling. Swiss roll and circle: shapes and exact geometry.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import scratchnet as sn
from scratchnet.datasets.synthetic import (
    SHAPE_NAMES,
    make_bars_and_stripes,
    make_circle,
    make_grid,
    make_ring,
    make_shapes,
    make_swiss_roll,
)

HEART = SHAPE_NAMES.index("heart")


def _nearest(points: np.ndarray, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = np.linalg.norm(points[:, None, :] - centers[None, :, :], axis=2)
    return d.argmin(axis=1), d.min(axis=1)


# ---------------------------------------------------------------------------------------
# Ring and grid
# ---------------------------------------------------------------------------------------
def test_ring_has_8_distinct_equally_spaced_centres_at_radius_1():
    points, centers = make_ring(4000, rng=0)
    assert points.shape == (4000, 2) and centers.shape == (8, 2)
    assert points.dtype == np.float32 and centers.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(centers, axis=1), 1.0, rtol=1e-6)
    angles = np.sort(np.mod(np.arctan2(centers[:, 1], centers[:, 0]), 2 * np.pi))
    np.testing.assert_allclose(np.diff(angles), 2 * np.pi / 8, atol=1e-6)
    gaps = np.linalg.norm(centers[:, None] - centers[None], axis=2) + np.eye(8) * 9
    np.testing.assert_allclose(gaps.min(), 2 * math.sin(math.pi / 8), rtol=1e-6)


def test_ring_points_cluster_near_centres_with_equal_weights():
    n, std = 8000, 0.01
    points, centers = make_ring(n, std=std, rng=1)
    mode, dist = _nearest(points, centers)
    # The distance to the own centre is std·χ₂: its 99.99th percentile is 4.3 std.
    assert dist.max() < 6 * std
    assert 0.5 * std < np.median(dist) < 1.5 * std       # median of std·χ₂ is 1.18 std
    counts = np.bincount(mode, minlength=8)
    # Multinomial(n, 1/8): sd ≈ 30, so ±5 sd is ±150.
    assert np.all(np.abs(counts - n / 8) < 150), counts


def test_ring_parameters_are_honoured():
    points, centers = make_ring(3000, modes=5, radius=3.0, std=0.1, rng=2)
    assert centers.shape == (5, 2)
    np.testing.assert_allclose(np.linalg.norm(centers, axis=1), 3.0, rtol=1e-6)
    _, dist = _nearest(points, centers)
    assert 0.05 < np.median(dist) < 0.15


def test_ring_is_reproducible_for_a_seed_and_uses_the_library_generator():
    a, _ = make_ring(100, rng=7)
    b, _ = make_ring(100, rng=np.random.default_rng(7))
    c, _ = make_ring(100, rng=8)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    sn.manual_seed(3)
    d, _ = make_ring(100)
    sn.manual_seed(3)
    e, _ = make_ring(100)
    np.testing.assert_array_equal(d, e)


def test_grid_has_25_centres_spacing_2_centred_on_origin():
    points, centers = make_grid(5000, rng=0)
    assert points.shape == (5000, 2) and centers.shape == (25, 2)
    assert points.dtype == np.float32 and centers.dtype == np.float32
    for axis in range(2):
        np.testing.assert_allclose(np.unique(centers[:, axis]), [-4, -2, 0, 2, 4])
    assert len({tuple(c) for c in centers.tolist()}) == 25
    np.testing.assert_allclose(centers.mean(axis=0), 0, atol=1e-6)
    gaps = np.linalg.norm(centers[:, None] - centers[None], axis=2) + np.eye(25) * 99
    np.testing.assert_allclose(gaps.min(axis=1), 2.0, rtol=1e-6)
    mode, dist = _nearest(points, centers)
    assert dist.max() < 6 * 0.05
    counts = np.bincount(mode, minlength=25)
    assert np.all(np.abs(counts - 200) < 75), counts       # sd ≈ 14


def test_grid_is_reproducible():
    np.testing.assert_array_equal(make_grid(50, rng=4)[0], make_grid(50, rng=4)[0])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: make_ring(0), "make_ring: n must be a positive integer"),
        (lambda: make_ring(10, modes=0), "make_ring: modes"),
        (lambda: make_ring(10, radius=-1.0), "make_ring: radius"),
        (lambda: make_ring(10, std=float("nan")), "make_ring: std"),
        (lambda: make_grid(10, side=0), "make_grid: side"),
        (lambda: make_grid(10, spacing=0), "make_grid: spacing"),
        (lambda: make_bars_and_stripes(0), "make_bars_and_stripes: side"),
        (lambda: make_shapes(size=8), "make_shapes: size must be an integer >= 16"),
        (lambda: make_shapes(5, positions=0), "make_shapes: positions"),
        (lambda: make_shapes(0), "make_shapes: n"),
        (lambda: make_swiss_roll(10, noise=-0.1), "make_swiss_roll: noise"),
        (lambda: make_circle(-3), "make_circle: n"),
    ],
)
def test_bad_values_raise_value_error_naming_the_function(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: make_ring(10.5), "make_ring: n must be an integer"),
        (lambda: make_ring(True), "make_ring: n must be an integer"),
        (lambda: make_grid(10, std="big"), "make_grid: std must be a number"),
        (lambda: make_shapes(4, dtype="not-a-dtype"), "make_shapes: dtype"),
        (lambda: make_ring(10, rng="seed"), "rng must be"),
    ],
)
def test_bad_types_raise_type_error(call, message):
    with pytest.raises(TypeError, match=message):
        call()


# ---------------------------------------------------------------------------------------
# Bars and stripes
# ---------------------------------------------------------------------------------------
def _is_bars_or_stripes(pattern: np.ndarray) -> bool:
    rows_constant = np.all(pattern == pattern[:, :1])      # every row all-on or all-off
    cols_constant = np.all(pattern == pattern[:1, :])
    return bool(rows_constant or cols_constant)


@pytest.mark.parametrize("side", [2, 3, 4])
def test_bars_and_stripes_count_distinct_and_valid(side):
    data = make_bars_and_stripes(side)
    assert data.shape == (2 ** (side + 1) - 2, side * side)
    assert data.dtype == np.float32
    assert set(np.unique(data).tolist()) == {0.0, 1.0}
    assert len({row.tobytes() for row in data}) == len(data)
    assert all(_is_bars_or_stripes(row.reshape(side, side)) for row in data)


def test_bars_and_stripes_is_complete_for_side_3():
    # Brute force: every 0/1 pattern on 3x3 that is a bar or a stripe pattern is in the set.
    grids = (np.arange(2**9)[:, None] >> np.arange(9)) & 1
    valid = {g.astype(np.float32).tobytes() for g in grids
             if _is_bars_or_stripes(g.reshape(3, 3))}
    assert {row.tobytes() for row in make_bars_and_stripes(3)} == valid


def test_bars_and_stripes_order_is_deterministic_and_default_side_is_4():
    np.testing.assert_array_equal(make_bars_and_stripes(), make_bars_and_stripes(4))
    data = make_bars_and_stripes(4)
    assert not data[0].any() and data[15].all()          # stripes first: all off ... all on


# ---------------------------------------------------------------------------------------
# Shapes
# ---------------------------------------------------------------------------------------
SMALL = {"size": 16, "scales": 3, "orientations": 8, "positions": 3}


def test_shapes_full_grid_count_and_factor_coverage():
    images, factors = make_shapes(**SMALL)
    n = 3 * 3 * 8 * 3 * 3
    assert images.shape == (n, 1, 16, 16) and images.dtype == np.float32
    assert len(factors) == n and factors.indices.shape == (n, 5)
    assert factors.indices.dtype == np.int64 and factors.values.dtype == np.float32
    assert factors.names == ("shape", "scale", "orientation", "pos_x", "pos_y")
    assert factors.sizes == (3, 3, 8, 3, 3)
    # Every combination of levels exactly once, in row-major order, pos_y fastest.
    np.testing.assert_array_equal(
        factors.indices, np.stack(np.unravel_index(np.arange(n), factors.sizes), axis=1))
    # values are the levels looked up by the indices
    for k, name in enumerate(factors.names):
        np.testing.assert_array_equal(factors.values[:, k],
                                      factors.levels[name][factors.indices[:, k]])
    np.testing.assert_array_equal(factors["shape"], factors.indices[:, 0])
    np.testing.assert_allclose(factors.levels["scale"], [0.5, 0.75, 1.0])
    np.testing.assert_allclose(factors.levels["orientation"], np.arange(8) * np.pi / 4,
                               rtol=1e-6)
    assert factors.levels["orientation"].max() < 2 * np.pi
    with pytest.raises(KeyError, match="unknown factor"):
        factors["colour"]


def test_default_full_grid_count_is_documented_46080():
    # Counted from the levels alone (rendering it takes a second); dSprites-like defaults.
    _, factors = make_shapes(1, rng=0)
    assert factors.sizes == (3, 6, 40, 8, 8)
    assert math.prod(factors.sizes) == 46_080


@pytest.mark.parametrize("size", [16, 21, 32])
def test_every_image_is_binary_non_empty_and_inside_the_frame(size):
    images, factors = make_shapes(size=size, orientations=10, positions=4)
    assert set(np.unique(images).tolist()) == {0.0, 1.0}
    assert images.reshape(len(images), -1).sum(axis=1).min() >= 1
    # The largest shapes at the extreme positions leave the outermost pixels empty.
    border = np.concatenate([images[:, 0, [0, -1], :].ravel(), images[:, 0, :, [0, -1]].ravel()])
    assert not border.any()
    assert factors.values[:, 3].max() > 0.4          # positions do reach towards the edges


def test_rotation_changes_the_heart_but_a_quarter_turn_leaves_the_square():
    images, factors = make_shapes(size=32, scales=1, orientations=4, positions=1)
    shape, rot = factors.indices[:, 0], factors.indices[:, 2]
    hearts = images[shape == HEART]                 # orientations 0, π/2, π, 3π/2
    for i in range(4):
        for j in range(i + 1, 4):
            assert np.abs(hearts[i] - hearts[j]).sum() > 10
    squares = images[shape == SHAPE_NAMES.index("square")]
    assert np.abs(squares[0] - squares[1]).sum() <= 4   # same up to boundary rounding
    assert rot.tolist() == [0, 1, 2, 3] * 3


def test_heart_points_down():
    images, factors = make_shapes(size=64, scales=1, orientations=1, positions=1)
    heart = images[factors.indices[:, 0] == HEART][0, 0]
    rows = np.nonzero(heart.any(axis=1))[0]
    width = heart.sum(axis=1)
    top, bottom = rows[: len(rows) // 3], rows[-len(rows) // 3:]
    assert width[top].max() > 2 * width[bottom].mean()   # wide lobes above, tip below


def test_pixel_count_increases_with_scale():
    images, factors = make_shapes(size=32, scales=6, orientations=5, positions=2)
    counts = images.reshape(len(images), -1).sum(axis=1)
    # Group by everything but scale. Each shape is star-shaped about its position, so a
    # larger scale covers every pixel of a smaller one: counts never fall. An axis-aligned
    # square can land on the same pixel block at neighbouring scales (25, 25, 49, 49, ...),
    # so the rise is strict only on average and from the smallest to the largest scale.
    by_scale = counts.reshape(factors.sizes).transpose(0, 2, 3, 4, 1).reshape(-1, 6)
    assert np.all(np.diff(by_scale, axis=1) >= 0)
    assert np.all(np.diff(by_scale.mean(axis=0)) > 0)
    assert np.all(by_scale[:, -1] >= 2.5 * by_scale[:, 0])     # area ratio is 4
    s = factors.indices[:, 1]
    small, large = images[s == 0], images[s == 5]
    assert not np.any((small == 1) & (large == 0))             # nested: small ⊂ large


def test_position_factors_move_the_centre_of_mass():
    images, factors = make_shapes(size=32, scales=1, orientations=1, positions=5)
    grid = ((2 * np.arange(32) + 1) / 32 - 1)
    mass = images[:, 0].sum(axis=(1, 2))
    cx = (images[:, 0].sum(axis=1) * grid).sum(axis=1) / mass     # columns -> pos_x
    cy = (images[:, 0].sum(axis=2) * grid).sum(axis=1) / mass     # rows    -> pos_y
    for shape in range(3):
        sel = factors.indices[:, 0] == shape
        off_x = cx[sel] - factors["pos_x"][sel]
        off_y = cy[sel] - factors["pos_y"][sel]
        # The same shape, moved: the offset of its centre of mass does not change.
        assert np.ptp(off_x) < 0.05 and np.ptp(off_y) < 0.05


def test_random_shapes_are_reproducible_and_cover_the_factors():
    a, fa = make_shapes(400, size=16, rng=5)
    b, fb = make_shapes(400, size=16, rng=np.random.default_rng(5))
    c, fc = make_shapes(400, size=16, rng=6)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(fa.indices, fb.indices)
    assert not np.array_equal(fa.indices, fc.indices) and not np.array_equal(a, c)
    assert a.shape == (400, 1, 16, 16)
    for k, levels in enumerate(fa.sizes):
        assert set(np.unique(fa.indices[:, k]).tolist()) == set(range(levels))
    # A sampled image equals the full-grid image with the same factors.
    grid, gf = make_shapes(size=16)
    flat = np.ravel_multi_index(fa.indices.T, gf.sizes)
    np.testing.assert_array_equal(a, grid[flat])


def test_shapes_dtype_option():
    u8, _ = make_shapes(10, size=16, rng=0, dtype=np.uint8)
    f32, _ = make_shapes(10, size=16, rng=0)
    assert u8.dtype == np.uint8
    np.testing.assert_array_equal(u8.astype(np.float32), f32)


# ---------------------------------------------------------------------------------------
# Swiss roll and circle
# ---------------------------------------------------------------------------------------
def test_swiss_roll_shape_and_geometry():
    points, t = make_swiss_roll(500, rng=0)
    assert points.shape == (500, 3) and t.shape == (500,)
    assert points.dtype == np.float32 and t.dtype == np.float32
    assert t.min() >= 1.5 * np.pi - 1e-5 and t.max() <= 4.5 * np.pi + 1e-5
    # Without noise the distance from the axis in the x-z plane is t itself.
    np.testing.assert_allclose(np.hypot(points[:, 0], points[:, 2]), t, rtol=1e-5)
    assert points[:, 1].min() >= 0 and points[:, 1].max() <= 21
    noisy, t2 = make_swiss_roll(500, noise=0.5, rng=0)
    np.testing.assert_array_equal(t, t2)
    assert 0.3 < np.std(noisy - points) < 0.7


@given(n=st.integers(1, 200), seed=st.integers(0, 2**32 - 1))
def test_circle_points_lie_on_the_unit_circle(n, seed):
    points, angle = make_circle(n, rng=seed)
    assert points.shape == (n, 2) and angle.shape == (n,)
    assert points.dtype == np.float32 and angle.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(points, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(points[:, 0], np.cos(angle), atol=1e-6)
    assert angle.min() >= 0 and angle.max() <= np.float32(2 * np.pi)


def test_noisy_circle_and_reproducibility():
    clean, _ = make_circle(2000, rng=3)
    noisy, _ = make_circle(2000, noise=0.1, rng=3)
    radius = np.linalg.norm(noisy, axis=1)
    assert 0.05 < np.std(radius) < 0.15
    np.testing.assert_array_equal(clean, make_circle(2000, rng=3)[0])
