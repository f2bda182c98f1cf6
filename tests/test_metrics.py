"""subspace_angles on subspaces built with known angles, and psnr on known errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import scratchnet as sn
from scratchnet.metrics import psnr, subspace_angles


def e(i, d=5):
    v = np.zeros(d)
    v[i] = 1.0
    return v


@pytest.mark.parametrize("theta", [0.0, 1e-7, 1e-4, 0.3, math.pi / 4, 1.2, math.pi / 2 - 1e-6,
                                   math.pi / 2])
def test_one_dimensional_subspaces_at_a_known_angle(theta):
    A = e(0)[:, None]
    B = (math.cos(theta) * e(0) + math.sin(theta) * e(1))[:, None]
    angles = subspace_angles(A, B)
    assert angles.shape == (1,)
    # Relative accuracy also for tiny angles, where arccos(cos θ) would give 0 or ~1e-8.
    assert angles[0] == pytest.approx(theta, rel=1e-9, abs=1e-15)
    # The span does not depend on the length or sign of the vector.
    assert subspace_angles(-3 * A, 0.5 * B)[0] == pytest.approx(theta, rel=1e-9, abs=1e-15)


@pytest.mark.parametrize(("alpha", "beta"), [(0.2, 1.1), (1e-7, 0.5), (0.7, math.pi / 2),
                                             (0.0, 0.0)])
def test_two_dimensional_subspaces_with_two_known_angles(alpha, beta):
    d = 6
    A = np.stack([e(0, d), e(1, d)], axis=1)
    B = np.stack([math.cos(alpha) * e(0, d) + math.sin(alpha) * e(2, d),
                  math.cos(beta) * e(1, d) + math.sin(beta) * e(3, d)], axis=1)
    # The same pair, hidden by a random rotation of the whole space.
    rotation, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(d, d)))
    for P, Q in [(A, B), (rotation @ A, rotation @ B)]:
        angles = subspace_angles(P, Q)
        np.testing.assert_allclose(angles, sorted([alpha, beta], reverse=True), rtol=1e-8,
                                   atol=1e-14)


def test_angles_are_sorted_largest_first_and_symmetric():
    rng = np.random.default_rng(1)
    A, B = rng.normal(size=(10, 3)), rng.normal(size=(10, 3))
    ab, ba = subspace_angles(A, B), subspace_angles(B, A)
    assert (np.diff(ab) <= 0).all()
    np.testing.assert_allclose(ab, ba, atol=1e-12)
    assert ((ab >= 0) & (ab <= math.pi / 2)).all()


def test_angles_agree_with_the_textbook_formula_from_orthonormal_bases():
    rng = np.random.default_rng(2)
    A, B = rng.normal(size=(12, 4)), rng.normal(size=(12, 4))
    qa, _ = np.linalg.qr(A)
    qb, _ = np.linalg.qr(B)
    cosines = np.linalg.svd(qa.T @ qb, compute_uv=False)
    np.testing.assert_allclose(subspace_angles(A, B), np.sort(np.arccos(cosines))[::-1],
                               atol=1e-10)


def test_invariant_to_the_choice_of_basis():
    rng = np.random.default_rng(3)
    A, B = rng.normal(size=(15, 3)), rng.normal(size=(15, 3))
    reference = subspace_angles(A, B)
    for _ in range(5):
        mix_a, mix_b = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
        assert abs(np.linalg.det(mix_a)) > 1e-3 and abs(np.linalg.det(mix_b)) > 1e-3
        np.testing.assert_allclose(subspace_angles(A @ mix_a, B @ mix_b), reference, atol=1e-10)


def test_identical_subspaces_give_zero():
    rng = np.random.default_rng(4)
    A = rng.normal(size=(20, 5))
    assert subspace_angles(A, A).max() < 1e-12
    assert subspace_angles(A, A @ rng.normal(size=(5, 5))).max() < 1e-12


def test_subspaces_of_different_dimensions():
    d = 5
    plane = np.stack([e(0, d), e(1, d)], axis=1)
    inside = (e(0, d) + 2 * e(1, d))[:, None]
    assert subspace_angles(plane, inside).shape == (1,)
    assert subspace_angles(plane, inside)[0] < 1e-12
    assert subspace_angles(inside, plane)[0] < 1e-12
    theta = 0.4
    tilted = (math.cos(theta) * e(1, d) + math.sin(theta) * e(4, d))[:, None]
    assert subspace_angles(plane, tilted)[0] == pytest.approx(theta, rel=1e-10)
    assert subspace_angles(plane, e(3, d)[:, None])[0] == pytest.approx(math.pi / 2)


def test_accepts_tensors_and_float32():
    rng = np.random.default_rng(5)
    A, B = rng.normal(size=(8, 2)), rng.normal(size=(8, 2))
    np.testing.assert_allclose(subspace_angles(sn.Tensor(A, dtype=np.float64), sn.Tensor(B)),
                               subspace_angles(A, B), atol=1e-6)
    assert subspace_angles(A.astype(np.float32), B).dtype == np.float64


def test_rank_deficient_input_is_refused():
    A = np.stack([e(0), 2 * e(0)], axis=1)
    with pytest.raises(ValueError, match=r"subspace_angles: the columns of A are linearly "
                                         r"dependent \(rank 1 < 2\)"):
        subspace_angles(A, np.eye(5)[:, :2])
    with pytest.raises(ValueError, match="columns of B are linearly dependent"):
        subspace_angles(np.eye(5)[:, :2], np.zeros((5, 1)))


def test_mismatched_dimensions_and_ranks_are_refused():
    with pytest.raises(ValueError, match="different spaces: 5 and 4 rows"):
        subspace_angles(np.eye(5)[:, :2], np.eye(4)[:, :2])
    with pytest.raises(ValueError, match=r"A must be a 2-D array .* got shape \(5,\)"):
        subspace_angles(np.ones(5), np.eye(5)[:, :1])


# ---- psnr -------------------------------------------------------------------------------------

def test_psnr_known_values():
    ref = np.zeros((4, 5))
    assert psnr(ref, ref + 0.1) == pytest.approx(20.0)  # MSE 0.01, range 1
    assert psnr(ref, ref + 0.01) == pytest.approx(40.0)
    assert psnr(ref, ref + 1.0) == pytest.approx(0.0, abs=1e-12)
    assert psnr(ref, ref + 25.5, data_range=255) == pytest.approx(20.0)
    rng = np.random.default_rng(6)
    a, b = rng.random((3, 1, 8, 8)), rng.random((3, 1, 8, 8))
    expected = 10 * math.log10(1 / np.mean((a - b) ** 2))
    assert psnr(a, b) == pytest.approx(expected, rel=1e-12)
    assert psnr(b, a) == pytest.approx(expected, rel=1e-12)
    # Halving the error adds 10 log10(4) ≈ 6.02 dB.
    assert psnr(ref, ref + 0.05) - psnr(ref, ref + 0.1) == pytest.approx(10 * math.log10(4))


def test_psnr_of_identical_images_is_infinite():
    x = np.random.default_rng(7).random((2, 3))
    assert psnr(x, x.copy()) == math.inf


def test_psnr_accepts_tensors():
    x = np.full((2, 2), 0.5)
    assert psnr(sn.Tensor(x), sn.Tensor(x + 0.1)) == pytest.approx(20.0, rel=1e-5)
    assert isinstance(psnr(sn.Tensor(x), x + 0.1), float)


def test_psnr_shape_mismatch_is_refused():
    with pytest.raises(ValueError, match=r"psnr: shapes differ: \(2, 3\) and \(3, 2\)"):
        psnr(np.zeros((2, 3)), np.zeros((3, 2)))
