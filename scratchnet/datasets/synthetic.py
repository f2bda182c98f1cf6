"""Synthetic data sets, generated in code from a seed.

Each generator answers one lesson's question with data whose true structure is known:

* :func:`make_ring` and :func:`make_grid` — 2-D Gaussian mixtures with well-separated modes.
  A GAN that mode-collapses covers only a few of them, and ``metrics.ring_coverage`` counts
  how many.
* :func:`make_bars_and_stripes` — MacKay's bars-and-stripes patterns, the classic toy set for
  RBMs: small enough that the partition function can be computed exactly.
* :func:`make_shapes` — a dSprites-like set of binary images (Matthey et al., 2017) rendered
  from five known factors (shape, scale, orientation, x and y position), for β-VAE lessons and
  disentanglement metrics such as MIG.
* :func:`make_swiss_roll` and :func:`make_circle` — curved manifolds that PCA, being linear,
  cannot unroll.

Randomness comes from ``rng=`` (``None``: the library generator seeded by
``sn.manual_seed``; an ``int`` seed; or a ``numpy.random.Generator``), so the same seed gives
the same data. Outputs are float32 unless a docstring says otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scratchnet.checks import check_int, check_number
from scratchnet.random import get_generator

__all__ = [
    "SHAPE_NAMES",
    "ShapeFactors",
    "make_bars_and_stripes",
    "make_circle",
    "make_grid",
    "make_ring",
    "make_shapes",
    "make_swiss_roll",
]

RngLike = np.random.Generator | int | None


# ---------------------------------------------------------------------------------------
# Gaussian mixtures for GANs
# ---------------------------------------------------------------------------------------
def _mixture(n: int, centers: np.ndarray, std: float, rng: RngLike) -> np.ndarray:
    """n points from the equal-weight mixture of N(center, std² I) over ``centers``."""
    gen = get_generator(rng)
    mode = gen.integers(0, len(centers), size=n)
    noise = gen.standard_normal((n, centers.shape[1]))
    return (centers[mode].astype(np.float64) + std * noise).astype(np.float32)


def make_ring(n: int, modes: int = 8, radius: float = 1.0, std: float = 0.01,
              rng: RngLike = None) -> tuple[np.ndarray, np.ndarray]:
    """A ring of Gaussians: the standard mode-collapse test for GANs.

    An equal-weight mixture of ``modes`` isotropic Gaussians whose centres are evenly spaced on
    a circle of ``radius`` around the origin, the first at angle 0 (on the +x axis), then
    counter-clockwise every ``2π / modes``. Each point picks its mode uniformly at random, so
    every mode gets about ``n / modes`` points.

    Returns:
        points: (n, 2) float32 samples.
        centers: (modes, 2) float32 mode centres, ``radius · (cos 2πk/modes, sin 2πk/modes)``.
    """
    n = check_int("make_ring", "n", n)
    modes = check_int("make_ring", "modes", modes)
    radius = check_number("make_ring", "radius", radius, low=0.0, low_open=True)
    std = check_number("make_ring", "std", std, low=0.0)
    angles = 2 * np.pi * np.arange(modes) / modes
    centers = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return _mixture(n, centers, std, rng), centers.astype(np.float32)


def make_grid(n: int, side: int = 5, spacing: float = 2.0, std: float = 0.05,
              rng: RngLike = None) -> tuple[np.ndarray, np.ndarray]:
    """A square grid of Gaussians (25 modes by default), a harder mode-collapse test.

    An equal-weight mixture of ``side * side`` isotropic Gaussians centred on a square grid
    with ``spacing`` between neighbours, centred on the origin (side 5, spacing 2: centres at
    -4, -2, 0, 2, 4 on each axis). Centre ``k = i * side + j`` is ``(x_j, y_i)``: x varies
    fastest.

    Returns:
        points: (n, 2) float32 samples.
        centers: (side * side, 2) float32 mode centres.
    """
    n = check_int("make_grid", "n", n)
    side = check_int("make_grid", "side", side)
    spacing = check_number("make_grid", "spacing", spacing, low=0.0, low_open=True)
    std = check_number("make_grid", "std", std, low=0.0)
    axis = (np.arange(side) - (side - 1) / 2) * spacing
    ys, xs = np.meshgrid(axis, axis, indexing="ij")
    centers = np.stack([xs.ravel(), ys.ravel()], axis=1)
    return _mixture(n, centers, std, rng), centers.astype(np.float32)


# ---------------------------------------------------------------------------------------
# Bars and stripes for RBMs
# ---------------------------------------------------------------------------------------
def make_bars_and_stripes(side: int = 4) -> np.ndarray:
    """Every distinct bars-and-stripes pattern on a ``side × side`` grid (MacKay, 2003).

    A *stripes* pattern switches whole rows on or off; a *bars* pattern switches whole columns.
    There are ``2**side`` of each, and the all-off and all-on patterns are both, so there are
    ``2**(side + 1) - 2`` distinct patterns: 30 for the default 4 × 4, few enough for an RBM's
    partition function to be summed exactly.

    Order (deterministic): first the ``2**side`` stripes patterns, pattern ``c`` having row
    ``r`` on when bit ``r`` of ``c`` is set (``c = 0`` is all off, ``c = 2**side - 1`` all on);
    then the bars patterns in the same way over columns, without the all-off and all-on ones.

    Returns:
        (2**(side + 1) - 2, side * side) float32 array of 0/1; each row is a pattern flattened
        row-major (reshape to (side, side) to view it).
    """
    side = check_int("make_bars_and_stripes", "side", side, minimum=1, maximum=16)
    codes = np.arange(2**side)
    bits = (codes[:, None] >> np.arange(side)[None, :]) & 1            # (2**side, side)
    stripes = np.repeat(bits[:, :, None], side, axis=2)                 # rows on/off
    bars = np.repeat(bits[1:-1, None, :], side, axis=1)                 # columns on/off
    patterns = np.concatenate([stripes, bars])
    return patterns.reshape(len(patterns), side * side).astype(np.float32)


# ---------------------------------------------------------------------------------------
# dSprites-like shapes for disentanglement
# ---------------------------------------------------------------------------------------
SHAPE_NAMES: tuple[str, ...] = ("square", "ellipse", "heart")
FACTOR_NAMES: tuple[str, ...] = ("shape", "scale", "orientation", "pos_x", "pos_y")

# At scale 1 every shape fits in a disc of this radius around its position, in frame units
# (the image spans [-1, 1] on each axis). Positions are kept far enough from the edge that
# the largest shape leaves a one-pixel empty border.
_SHAPE_RADIUS = 0.4
# The heart curve (x² + y² - 1)³ = x² y³ spans x ∈ [-1.14, 1.14], y ∈ [-1, 1.24]; the smallest
# disc holding it is centred on (0, 0.25) with radius 1.25 (computed numerically).
_HEART_CENTER_Y = 0.25
_HEART_RADIUS = 1.25


@dataclass(frozen=True, eq=False)
class ShapeFactors:
    """The generating factors of :func:`make_shapes` images.

    Attributes:
        indices: (N, 5) int64, the index of each factor's level, columns in the order of
            ``names``. This is the discrete form that disentanglement metrics such as MIG
            take.
        values: (N, 5) float32, the factor values themselves (shape: 0, 1, 2; scale: relative
            size; orientation: radians; pos_x, pos_y: frame units in [-1, 1]).
        levels: dict name -> 1-D array of that factor's possible values, so
            ``values[:, k] == levels[names[k]][indices[:, k]]``.
        names: ("shape", "scale", "orientation", "pos_x", "pos_y").
        shape_names: ("square", "ellipse", "heart"), indexed by the shape factor.

    ``factors["scale"]`` is the (N,) value column of one factor (int64 for ``"shape"``);
    ``len(factors)`` is N.
    """

    indices: np.ndarray
    values: np.ndarray
    levels: dict[str, np.ndarray]
    names: tuple[str, ...] = FACTOR_NAMES
    shape_names: tuple[str, ...] = SHAPE_NAMES
    sizes: tuple[int, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sizes", tuple(len(self.levels[k]) for k in self.names))

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self.names:
            raise KeyError(f"ShapeFactors: unknown factor {name!r}; expected one of {self.names}")
        column = self.values[:, self.names.index(name)]
        return self.indices[:, 0].copy() if name == "shape" else column

    def __len__(self) -> int:
        return len(self.indices)

    def __repr__(self) -> str:
        levels = ", ".join(f"{k}={s}" for k, s in zip(self.names, self.sizes))
        return f"ShapeFactors(N={len(self)}, levels: {levels})"


def _shape_levels(scales: int, orientations: int, positions: int,
                  size: int) -> dict[str, np.ndarray]:
    limit = 1.0 - _SHAPE_RADIUS - 2.0 / size   # largest shape ends a pixel inside the frame
    pos = np.linspace(-limit, limit, positions) if positions > 1 else np.zeros(1)
    scale = np.linspace(0.5, 1.0, scales) if scales > 1 else np.ones(1)
    return {
        "shape": np.arange(len(SHAPE_NAMES), dtype=np.float64),
        "scale": scale,
        "orientation": 2 * np.pi * np.arange(orientations) / orientations,
        "pos_x": pos,
        "pos_y": pos.copy(),
    }


def _inside(shape: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Whether the points (u, v), in a shape's own unit coordinates, lie inside it.

    Each shape fits inside the unit disc around the origin; v points down, like image rows.
    """
    if shape == 0:   # square, corners on the unit circle
        half = 1 / np.sqrt(2)
        return (np.abs(u) <= half) & (np.abs(v) <= half)
    if shape == 1:   # ellipse, 2:1, long axis along u
        return u**2 + (v / 0.5) ** 2 <= 1
    # heart: the implicit curve (x² + y² - 1)³ - x² y³ <= 0, y up, tip at the bottom
    x = _HEART_RADIUS * u
    y = _HEART_CENTER_Y - _HEART_RADIUS * v
    return (x**2 + y**2 - 1) ** 3 - x**2 * y**3 <= 0


def _render(values: np.ndarray, size: int, dtype: np.dtype) -> np.ndarray:
    """Render (N, 5) factor values to (N, 1, size, size) binary images, vectorised.

    Each pixel centre p is mapped back into the shape's own frame,
    ``(u, v) = R(-θ)(p - position) / (radius · scale)``, and the shape's inequality is
    evaluated there for all pixels of a chunk of images at once.
    """
    n = len(values)
    images = np.zeros((n, 1, size, size), dtype=dtype)
    coords = ((2 * np.arange(size) + 1) / size - 1).astype(np.float32)  # pixel centres
    chunk = max(1, 2**20 // (size * size))                    # ~1M pixels per step
    for start in range(0, n, chunk):
        f = values[start:start + chunk].astype(np.float32)
        shape, scale, theta, px, py = (f[:, k, None, None] for k in range(5))
        dx = coords[None, None, :] - px                       # (B, 1, size): columns
        dy = coords[None, :, None] - py                       # (B, size, 1): rows
        cos, sin = np.cos(theta), np.sin(theta)
        r = _SHAPE_RADIUS * scale
        u = (cos * dx + sin * dy) / r                         # rotate by -θ, unscale
        v = (-sin * dx + cos * dy) / r
        out = images[start:start + chunk, 0]
        for k in range(len(SHAPE_NAMES)):
            sel = shape[:, 0, 0] == k
            if sel.any():
                out[sel] = _inside(k, u[sel], v[sel])
    return images


def make_shapes(n: int | None = None, size: int = 32, rng: RngLike = None, *,
                scales: int = 6, orientations: int = 40, positions: int = 8,
                dtype: Any = np.float32) -> tuple[np.ndarray, ShapeFactors]:
    """dSprites-like binary images of shapes with known generating factors.

    Five independent factors, after dSprites (Matthey et al., 2017):

    * ``shape``: 3 levels — 0 square, 1 ellipse (2:1), 2 heart.
    * ``scale``: ``scales`` levels (6), ``linspace(0.5, 1, scales)``, relative size.
    * ``orientation``: ``orientations`` levels (40), ``2πk / orientations`` radians, in [0, 2π).
    * ``pos_x``: ``positions`` levels (8), the centre's column in frame units (the image spans
      [-1, 1] on each axis), increasing to the right.
    * ``pos_y``: ``positions`` levels (8), the centre's row in frame units, increasing
      downwards (image convention).

    Each image is drawn by evaluating the shape's implicit inequality (square
    ``max(|u|, |v|) <= 1/√2``, ellipse ``u² + 4v² <= 1``, heart
    ``(x² + y² - 1)³ - x² y³ <= 0``) at every pixel centre after undoing the translation,
    rotation and scaling — vectorised over pixels and images. At scale 1 a shape fits in a
    disc of radius 0.4 (a fifth of the image width); positions are chosen so that even the
    largest shape leaves the outermost row and column of pixels empty, and every image has
    at least one pixel on (for ``size >= 16``). The square looks the same after a quarter
    turn and the ellipse after a half turn, as in dSprites; the heart has no rotational
    symmetry.

    Args:
        n: None for the full factor grid — every combination once, ``3 · scales ·
            orientations · positions²`` images (46,080 by default) in row-major order of
            (shape, scale, orientation, pos_x, pos_y), pos_y varying fastest, like dSprites.
            An int: ``n`` images with each factor level drawn independently and uniformly.
        size: image height and width in pixels (>= 16).
        rng: seed or generator for the random factors (unused when ``n`` is None).
        scales, orientations, positions: number of levels of those factors.
        dtype: dtype of the images. Memory is ``N · size² · itemsize``: the default full grid
            is 46,080 × 32 × 32 images, 189 MB as float32 or 47 MB as ``np.uint8``. Ask for
            uint8 (or fewer ``positions``, or a sample of ``n``) to save memory, and convert
            batches with ``.astype(np.float32)`` before feeding them to a model.

    Returns:
        images: (N, 1, size, size) array of 0/1 in ``dtype`` (float32 by default).
        factors: :class:`ShapeFactors`: ``factors.indices`` (N, 5) int64 level indices,
            ``factors.values`` (N, 5) float32 values, ``factors.levels`` each factor's
            possible values, ``factors["scale"]`` one factor's (N,) values.
    """
    func = "make_shapes"
    size = check_int(func, "size", size, minimum=16)
    scales = check_int(func, "scales", scales)
    orientations = check_int(func, "orientations", orientations)
    positions = check_int(func, "positions", positions)
    try:
        dtype = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"{func}: dtype must be a NumPy dtype, got {dtype!r}") from exc
    if dtype.kind not in "fiub":
        raise TypeError(f"{func}: dtype must be a float, integer or bool dtype, got {dtype}")

    levels = _shape_levels(scales, orientations, positions, size)
    sizes = tuple(len(levels[k]) for k in FACTOR_NAMES)
    if n is None:
        indices = np.stack(np.unravel_index(np.arange(math.prod(sizes)), sizes), axis=1)
    else:
        n = check_int(func, "n", n)
        indices = get_generator(rng).integers(0, np.array(sizes), size=(n, len(sizes)))
    indices = indices.astype(np.int64)
    values = np.stack([levels[k][indices[:, i]] for i, k in enumerate(FACTOR_NAMES)], axis=1)
    images = _render(values, size, dtype)
    levels = {k: (v.astype(np.int64) if k == "shape" else v.astype(np.float32))
              for k, v in levels.items()}
    return images, ShapeFactors(indices=indices, values=values.astype(np.float32),
                                levels=levels)


# ---------------------------------------------------------------------------------------
# Curved manifolds for PCA
# ---------------------------------------------------------------------------------------
def make_swiss_roll(n: int, noise: float = 0.0,
                    rng: RngLike = None) -> tuple[np.ndarray, np.ndarray]:
    """The Swiss roll: a 2-D sheet rolled up in 3-D, which linear PCA cannot unroll.

    With ``t ~ U(1.5π, 4.5π)`` the position along the roll and ``h ~ U(0, 21)`` the height,
    the point is ``(t cos t, h, t sin t)`` (the scikit-learn convention), plus
    ``N(0, noise²)`` on each coordinate.

    Returns:
        points: (n, 3) float32.
        t: (n,) float32 position along the roll — colour a scatter plot by it to see whether
            an embedding has unrolled the sheet.
    """
    n = check_int("make_swiss_roll", "n", n)
    noise = check_number("make_swiss_roll", "noise", noise, low=0.0)
    gen = get_generator(rng)
    t = 1.5 * np.pi * (1 + 2 * gen.random(n))
    height = 21.0 * gen.random(n)
    points = np.stack([t * np.cos(t), height, t * np.sin(t)], axis=1)
    points += noise * gen.standard_normal(points.shape)
    return points.astype(np.float32), t.astype(np.float32)


def make_circle(n: int, noise: float = 0.0,
                rng: RngLike = None) -> tuple[np.ndarray, np.ndarray]:
    """Points on the unit circle: a 1-D manifold that no single linear direction captures.

    ``angle ~ U(0, 2π)`` and the point is ``(cos angle, sin angle)`` plus ``N(0, noise²)`` on
    each coordinate; with ``noise=0`` every point is exactly on the unit circle.

    Returns:
        points: (n, 2) float32.
        angle: (n,) float32 in [0, 2π), the intrinsic coordinate.
    """
    n = check_int("make_circle", "n", n)
    noise = check_number("make_circle", "noise", noise, low=0.0)
    gen = get_generator(rng)
    angle = 2 * np.pi * gen.random(n)
    points = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    points += noise * gen.standard_normal(points.shape)
    return points.astype(np.float32), angle.astype(np.float32)
