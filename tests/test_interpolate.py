"""models.interpolate: linear and spherical walks between two latent codes."""

from __future__ import annotations

import math

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import models


def test_both_paths_start_and_end_at_the_codes():
    rng = np.random.default_rng(0)
    z0, z1 = rng.normal(size=8), rng.normal(size=8)
    for method in ("linear", "spherical"):
        path = models.interpolate(z0, z1, 5, method=method)
        assert path.shape == (5, 8) and path.dtype == z0.dtype
        np.testing.assert_allclose(path[0], z0, atol=1e-12)
        np.testing.assert_allclose(path[-1], z1, atol=1e-12)
    np.testing.assert_allclose(models.interpolate(z0, z1, 3, "linear")[1], (z0 + z1) / 2)


def test_slerp_follows_the_great_circle():
    z0, z1 = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    path = models.interpolate(z0, z1, 7)
    angles = np.arctan2(path[:, 1], path[:, 0])
    np.testing.assert_allclose(angles, np.linspace(0, math.pi / 2, 7), atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), 1.0, atol=1e-12)


def test_slerp_stays_on_the_priors_shell_where_the_linear_midpoint_falls_inside():
    rng = np.random.default_rng(1)
    d = 256
    linear, spherical = [], []
    for _ in range(50):
        z0, z1 = rng.standard_normal(d), rng.standard_normal(d)
        linear.append(np.linalg.norm(models.interpolate(z0, z1, 3, "linear")[1]))
        spherical.append(np.linalg.norm(models.interpolate(z0, z1, 3)[1]))
    # Draws have norm ≈ √d; the linear midpoint ≈ √(d/2); slerp's midpoint ≈ √d.
    assert np.mean(linear) == pytest.approx(math.sqrt(d / 2), rel=0.05)
    assert np.mean(spherical) == pytest.approx(math.sqrt(d), rel=0.05)


def test_parallel_codes_and_tensors():
    z0 = np.array([1.0, 2.0, 3.0], np.float32)
    path = models.interpolate(sn.Tensor(z0), sn.Tensor(2 * z0), 4)
    assert path.dtype == np.float32
    np.testing.assert_allclose(path, models.interpolate(z0, 2 * z0, 4, "linear"))


def test_bad_input_is_named():
    z = np.zeros(3)
    with pytest.raises(ValueError, match="interpolate: steps must be an integer >= 2"):
        models.interpolate(z, z, 1)
    with pytest.raises(ValueError, match=r"interpolate: expected two codes of one shape \(D,\)"):
        models.interpolate(z, np.zeros(4), 3)
    with pytest.raises(ValueError, match="method must be 'linear' or 'spherical', got 'cubic'"):
        models.interpolate(z, z, 3, method="cubic")
