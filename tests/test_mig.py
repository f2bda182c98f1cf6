"""metrics.mig on codes whose relation to the factors is known, and on a hand-worked example."""

from __future__ import annotations

from math import log

import numpy as np
import pytest

import scratchnet as sn
from scratchnet.datasets import make_shapes
from scratchnet.metrics import mig

N = 5000


@pytest.fixture(scope="module")
def factors():
    return make_shapes(n=N, rng=0)[1]


def noise(columns, seed=1, n=N):
    return np.random.default_rng(seed).normal(size=(n, columns))


def permuted_code(factors, seed=0):
    """Each factor in its own code dimension, the dimensions shuffled, plus tiny noise."""
    idx = factors.indices.astype(np.float64)
    order = np.random.default_rng(seed).permutation(idx.shape[1])
    return idx[:, order] + 1e-3 * noise(idx.shape[1], seed=seed + 10, n=len(idx))


def test_permuted_factors_score_near_one(factors):
    score = mig(permuted_code(factors), factors.indices)
    # Orientation has 40 levels in 20 bins, so it keeps log 20 of its log 40 nats; the
    # other four factors score 1. The mean is ≈ (4 + log 20 / log 40) / 5 ≈ 0.96.
    assert score > 0.9
    assert score == pytest.approx((4 + log(20) / log(40)) / 5, abs=0.01)
    # With a bin for every level, orientation is captured whole too; what is left of the
    # gap to 1 is the upward bias of the runner-up MI estimates (other factors' dimensions).
    fine = mig(permuted_code(factors), factors.indices, n_bins=40)
    assert score + 0.02 < fine <= 1.0
    assert fine > 0.98


def test_extra_noise_dimensions_do_not_hurt(factors):
    code = np.hstack([permuted_code(factors), noise(5, seed=3)])
    assert mig(code, factors.indices) > 0.9


def test_constant_code_scores_exactly_zero(factors):
    assert mig(np.full((N, 4), 2.5), factors.indices) == 0.0
    assert mig(np.zeros((N, 1)), factors.indices) == 0.0


def test_independent_noise_scores_near_zero(factors):
    score = mig(noise(10, seed=4), factors.indices)
    assert 0.0 <= score < 0.1


def test_one_dimension_mixing_two_factors_scores_lower(factors):
    idx = factors.indices.astype(np.float64)
    good = mig(permuted_code(factors), idx)
    # shape (3 levels) and scale (6 levels) in a single dimension; noise elsewhere.
    combined = (idx[:, 0] * 6 + idx[:, 1])[:, None]
    mixed = np.hstack([combined, noise(4, seed=5)])
    assert mig(mixed, idx) < good - 0.3
    # The combined dimension next to dimensions for every factor: shape and scale now each
    # have two equally informative dimensions, so their gaps vanish.
    redundant = np.hstack([combined, permuted_code(factors)])
    assert mig(redundant, idx) < good - 0.3
    assert mig(redundant, idx[:, [0]]) == pytest.approx(0.0, abs=1e-9)


def test_hand_worked_example():
    # Eight samples, two bins per code dimension (split at the midpoint of its range).
    z1 = [0.0, 0.2, 0.49, 1.0, 0.51, 0.7, 0.9, 1.0]       # bins 0 0 0 1 1 1 1 1
    z2 = [0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0]         # bins 0 1 0 1 0 1 0 1
    z3 = [-1.0, -1.0, -1.0, -1.0, -1.0, -1.0, 3.0, 3.0]   # bins 0 0 0 0 0 0 1 1
    codes = np.array([z1, z2, z3]).T
    va = [0, 0, 0, 0, 1, 1, 1, 1]
    vb = [5, 5, 5, 5, 5, 5, 5, 5]                          # one level: left out
    vc = [0, 0, 1, 1, 2, 2, 2, 2]
    factors = np.array([va, vb, vc]).T

    # Factor a: p(a) = (1/2, 1/2), H = log 2.
    # z1: cells (0,0)=3, (1,0)=1, (1,1)=4 of 8; p(z1) = (3/8, 5/8).
    i1a = 3 / 8 * log((3 / 8) / (3 / 8 * 1 / 2)) + 1 / 8 * log((1 / 8) / (5 / 8 * 1 / 2)) \
        + 4 / 8 * log((4 / 8) / (5 / 8 * 1 / 2))
    # z2: every cell 2/8 = 1/2 · 1/2, independent, MI 0.
    # z3: cells (0,0)=4, (0,1)=2, (1,1)=2 of 8; p(z3) = (3/4, 1/4).
    i3a = 4 / 8 * log((4 / 8) / (3 / 4 * 1 / 2)) + 2 / 8 * log((2 / 8) / (3 / 4 * 1 / 2)) \
        + 2 / 8 * log((2 / 8) / (1 / 4 * 1 / 2))
    h_a = log(2)
    # Factor c: p(c) = (1/4, 1/4, 1/2), H = 2 · 1/4 log 4 + 1/2 log 2.
    # z1: cells (0,0)=2, (0,1)=1, (1,1)=1, (1,2)=4.
    i1c = 2 / 8 * log((2 / 8) / (3 / 8 * 1 / 4)) + 1 / 8 * log((1 / 8) / (3 / 8 * 1 / 4)) \
        + 1 / 8 * log((1 / 8) / (5 / 8 * 1 / 4)) + 4 / 8 * log((4 / 8) / (5 / 8 * 1 / 2))
    # z2: cells 1, 1 | 1, 1 | 2, 2 — independent again.
    # z3: cells (0,0)=2, (0,1)=2, (0,2)=2, (1,2)=2.
    i3c = 2 * (2 / 8 * log((2 / 8) / (3 / 4 * 1 / 4))) \
        + 2 / 8 * log((2 / 8) / (3 / 4 * 1 / 2)) + 2 / 8 * log((2 / 8) / (1 / 4 * 1 / 2))
    h_c = 2 * (1 / 4 * log(4)) + 1 / 2 * log(2)

    assert i1a > i3a > 0 and i1c > i3c > 0  # z1 is the best code for both, z3 second
    expected = ((i1a - i3a) / h_a + (i1c - i3c) / h_c) / 2
    assert mig(codes, factors, n_bins=2) == pytest.approx(expected, rel=1e-12)
    # Only one code dimension: the runner-up MI is 0.
    expected_z1 = (i1a / h_a + i1c / h_c) / 2
    assert mig(codes[:, :1], factors, n_bins=2) == pytest.approx(expected_z1, rel=1e-12)
    # Factors as whole-number floats, or relabelled levels, are the same categories.
    assert mig(codes, factors.astype(float) * 3 - 7, n_bins=2) == pytest.approx(expected,
                                                                               rel=1e-12)


def test_invariant_to_column_order_and_positive_affine_rescaling(factors):
    code = np.hstack([permuted_code(factors), noise(3, seed=6)])
    # Perturb the perfect code so that the score is not at a ceiling.
    code[:, 0] += 0.8 * noise(1, seed=7)[:, 0]
    code[:, 2] = code[:, 2] + 0.5 * code[:, 5]
    base = mig(code, factors.indices)
    assert 0.3 < base < 0.95
    order = np.random.default_rng(8).permutation(code.shape[1])
    assert mig(code[:, order], factors.indices) == pytest.approx(base, abs=1e-12)
    rescaled = code.copy()
    rescaled[:, 0] = 3.7 * rescaled[:, 0] - 11.0
    rescaled[:, 2] = 0.01 * rescaled[:, 2] + 4.0
    assert mig(rescaled, factors.indices) == pytest.approx(base, abs=1e-12)


def test_accepts_shape_factors_tensors_and_float32(factors):
    code = permuted_code(factors)
    expected = mig(code, factors.indices)
    assert mig(code, factors) == pytest.approx(expected, abs=1e-12)
    assert mig(sn.Tensor(code), factors) == pytest.approx(expected, abs=1e-12)
    assert isinstance(mig(code, factors), float)


@pytest.mark.parametrize(("codes", "factors", "kwargs", "match"), [
    (np.zeros((10, 2)), np.zeros((9, 2), dtype=int), {}, "different numbers of samples"),
    (np.zeros(10), np.zeros((10, 2), dtype=int), {}, "codes must be a 2-D"),
    (np.zeros((10, 2, 1)), np.zeros((10, 2), dtype=int), {}, "codes must be a 2-D"),
    (np.zeros((10, 2)), np.zeros(10, dtype=int), {}, "factors must be a 2-D"),
    (np.zeros((1, 2)), np.zeros((1, 2), dtype=int), {}, "at least 2 samples"),
    (np.zeros((4, 2)), np.array([[0.0], [0.5], [1.0], [1.0]]), {}, "whole numbers"),
    (np.array([[0.0], [np.nan], [1.0]]), np.array([[0], [1], [1]]), {}, "NaN"),
    (np.zeros((4, 2)), np.array([[0], [1], [0], [1]]), {"n_bins": 1}, "n_bins"),
    (np.zeros((4, 2)), np.array([[0], [1], [0], [1]]), {"n_bins": 2.5}, "n_bins"),
    (np.zeros((4, 2)), np.full((4, 3), 7), {}, "zero entropy"),
])
def test_errors(codes, factors, kwargs, match):
    with pytest.raises(ValueError, match=match):
        mig(codes, factors, **kwargs)


def test_mutual_information_table_gives_mig_and_locates_each_factor():
    from scratchnet.metrics import mutual_information

    _, f = make_shapes(n=3000, rng=4)
    rng = np.random.default_rng(5)
    # Code 0 holds pos_x, code 1 holds scale, code 2 is noise.
    codes = np.stack([f.indices[:, 3], f.indices[:, 1], rng.normal(size=3000)], axis=1)
    mi, entropy = mutual_information(codes.astype(float), f)
    assert mi.shape == (3, 5) and entropy.shape == (5,)
    assert mi[:, 3].argmax() == 0 and mi[:, 1].argmax() == 1
    np.testing.assert_allclose(mi[0, 3], entropy[3], rtol=1e-9)  # a copy holds all of it
    informative = entropy > 0
    ranked = np.sort(mi[:, informative], axis=0)[::-1]
    expected = np.mean((ranked[0] - ranked[1]) / entropy[informative])
    assert mig(codes.astype(float), f) == pytest.approx(expected, abs=1e-12)


def test_mutual_information_errors_name_the_function():
    from scratchnet.metrics import mutual_information

    with pytest.raises(ValueError, match=r"^mutual_information: codes must be a 2-D"):
        mutual_information(np.zeros(5), np.zeros((5, 1), dtype=int))
