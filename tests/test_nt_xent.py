"""F.nt_xent: SimCLR's contrastive loss against a loop reference, its gradients, its errors."""

import itertools
import math

import numpy as np
import pytest

import scratchnet as sn
import scratchnet.functional as F


def reference_nt_xent(z1: np.ndarray, z2: np.ndarray, temperature: float) -> float:
    """Chen et al. (2020), equation (1), one row and one term at a time."""
    z = np.concatenate([z1, z2])
    z = z / np.linalg.norm(z, axis=1, keepdims=True)
    two_n = len(z)
    total = 0.0
    for i in range(two_n):
        positive = (i + two_n // 2) % two_n
        denominator = sum(math.exp(z[i] @ z[k] / temperature) for k in range(two_n) if k != i)
        total += -math.log(math.exp(z[i] @ z[positive] / temperature) / denominator)
    return total / two_n


@pytest.mark.parametrize(("n", "d", "temperature"), [(2, 3, 0.5), (5, 4, 0.1), (8, 16, 1.0)])
def test_nt_xent_matches_the_loop_reference(n, d, temperature):
    rng = np.random.default_rng(n)
    z1, z2 = rng.standard_normal((2, n, d))
    loss = F.nt_xent(sn.Tensor(z1), sn.Tensor(z2), temperature=temperature)
    assert loss.shape == () and loss.dtype == np.float64
    assert abs(loss.item() - reference_nt_xent(z1, z2, temperature)) < 1e-10


def test_nt_xent_keeps_float32():
    z = np.random.default_rng(0).standard_normal((2, 4, 3)).astype(np.float32)
    loss = F.nt_xent(sn.Tensor(z[0]), sn.Tensor(z[1]))
    assert loss.dtype == np.float32
    assert abs(loss.item() - reference_nt_xent(z[0], z[1], 0.5)) < 1e-5


def test_nt_xent_gradients_first_and_second_order():
    rng = np.random.default_rng(1)
    z1, z2 = rng.standard_normal((2, 4, 3))
    # The loss is not invariant to these inputs, so a scalar output is a fair check.
    assert sn.gradcheck(lambda a, b: F.nt_xent(a, b, 0.5), [z1, z2])
    assert sn.gradgradcheck(lambda a, b: F.nt_xent(a, b, 0.5), [z1, z2])


def test_nt_xent_gradient_through_a_linear_map():
    rng = np.random.default_rng(2)
    x1, x2 = rng.standard_normal((2, 5, 4))
    weight = rng.standard_normal((4, 3))

    def loss(w, a, b):
        return F.nt_xent(a @ w, b @ w, temperature=0.3)

    assert sn.gradcheck(loss, [weight, x1, x2])
    assert sn.gradgradcheck(loss, [weight, x1, x2])


def test_nt_xent_is_lower_for_aligned_views_than_for_random_pairs():
    rng = np.random.default_rng(3)
    z1 = rng.standard_normal((16, 8))
    aligned = F.nt_xent(sn.Tensor(z1), sn.Tensor(z1 + 0.05 * rng.standard_normal((16, 8))))
    unrelated = F.nt_xent(sn.Tensor(z1), sn.Tensor(rng.standard_normal((16, 8))))
    assert aligned.item() < unrelated.item() - 1.0


def test_nt_xent_ignores_the_length_of_each_row():
    rng = np.random.default_rng(4)
    z1, z2 = rng.standard_normal((2, 6, 5))
    scale = rng.uniform(0.1, 10.0, (6, 1))
    plain = F.nt_xent(sn.Tensor(z1), sn.Tensor(z2)).item()
    rescaled = F.nt_xent(sn.Tensor(z1 * scale), sn.Tensor(z2 / scale)).item()
    assert abs(plain - rescaled) < 1e-12


@pytest.mark.parametrize("temperature", [0.1, 0.5, 1.0, 2.0])
def test_nt_xent_on_two_orthogonal_images_by_hand(temperature):
    # Views e1, e2, e1, e2: each row's positive has similarity 1 and its two negatives 0,
    # so every row's loss is -log(e^{1/τ} / (e^{1/τ} + 2)) = log(1 + 2 e^{-1/τ}).
    eye = np.eye(2)
    loss = F.nt_xent(sn.Tensor(eye), sn.Tensor(eye), temperature=temperature).item()
    assert abs(loss - math.log(1 + 2 * math.exp(-1 / temperature))) < 1e-12


def test_nt_xent_lower_temperature_sharpens_aligned_pairs():
    eye = np.eye(2)
    losses = [F.nt_xent(sn.Tensor(eye), sn.Tensor(eye), t).item() for t in (2.0, 1.0, 0.5, 0.1)]
    assert all(a > b for a, b in itertools.pairwise(losses))


@pytest.mark.parametrize(("z1", "z2", "temperature", "error", "match"), [
    (np.ones((3, 2)), np.ones((3, 4)), 0.5, ValueError, "z1 has shape"),
    (np.ones((3, 2)), np.ones((2, 2)), 0.5, ValueError, "z1 has shape"),
    (np.ones(3), np.ones(3), 0.5, ValueError, r"\(N, D\)"),
    (np.ones((1, 2)), np.ones((1, 2)), 0.5, ValueError, "N >= 2"),
    (np.ones((2, 2)), np.ones((2, 2)), 0.0, ValueError, "temperature"),
    (np.ones((2, 2)), np.ones((2, 2)), -1.0, ValueError, "temperature"),
    (np.ones((2, 2)), np.ones((2, 2)), float("nan"), ValueError, "temperature"),
    (np.ones((2, 2)), np.ones((2, 2)), "0.5", TypeError, "temperature"),
])
def test_nt_xent_rejects_bad_input(z1, z2, temperature, error, match):
    with pytest.raises(error, match=f"nt_xent: .*{match}"):
        F.nt_xent(sn.Tensor(z1), sn.Tensor(z2), temperature=temperature)
