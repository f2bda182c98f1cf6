"""Semantic inpainting (Yeh et al., 2017): the objective's gradient in z, and the search."""

from __future__ import annotations

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import models, nn
from scratchnet.models.inpainting import inpainting_loss, semantic_inpainting


def tiny_gan(dtype=np.float64, latent=2, pixels=6):
    generator = nn.Sequential(nn.Dense(latent, pixels, rng=0))           # linear G
    discriminator = nn.Sequential(nn.Dense(pixels, 4, activation="tanh", rng=1),
                                  nn.Dense(4, 1, rng=2))
    gan = models.GAN(generator, discriminator, latent, rng=3)
    for p in gan.parameters():
        p.data = p.data.astype(dtype)
    return gan


def test_the_objectives_gradient_in_z_passes_gradcheck():
    gan = tiny_gan()
    rng = np.random.default_rng(0)
    y = rng.normal(size=(3, 6))
    known = (rng.random((3, 6)) < 0.6).astype(np.float64)
    z = sn.Tensor(rng.normal(size=(3, 2)), requires_grad=True)
    upstream = rng.normal(size=3)
    # L1 has a kink where G(z) = y; random data keeps every term away from it.
    assert sn.gradcheck(lambda z: (inpainting_loss(gan, z, y, known, 0.5)
                                   * sn.Tensor(upstream)).sum(), [z])
    # Only the known pixels count: changing y in the hole changes nothing.
    moved = np.where(known > 0, y, y + 100.0)
    np.testing.assert_allclose(inpainting_loss(gan, z, moved, known).data,
                               inpainting_loss(gan, z, y, known).data)


def test_the_search_recovers_the_hole_when_the_known_pixels_determine_z():
    gan = tiny_gan()
    truth_z = np.array([[0.7, -1.2], [-0.4, 0.9]])
    with sn.no_grad():
        truth = gan.generate(sn.Tensor(truth_z)).data
    known = np.array([[1, 1, 1, 0, 0, 1], [0, 1, 1, 1, 1, 0]], dtype=np.float64)
    corrupted = np.where(known > 0, truth, 0.0)
    before = [p.data.copy() for p in gan.parameters()]
    result = semantic_inpainting(gan, corrupted, known, steps=600, lr=0.05, prior_weight=0.0,
                                 rng=0)
    np.testing.assert_allclose(result["completed"], truth, atol=2e-2)
    np.testing.assert_array_equal(result["completed"][known > 0], corrupted[known > 0])
    assert result["loss"][-1] < 0.01 * result["loss"][0]
    assert result["z"].shape == (2, 2)
    for b, p in zip(before, gan.parameters(), strict=True):     # the networks did not move
        np.testing.assert_array_equal(b, p.data)
        assert p.requires_grad


def test_bad_input_is_named():
    gan = tiny_gan()
    y = np.zeros((2, 6))
    with pytest.raises(TypeError, match=r"semantic_inpainting: gan must be a models\.GAN"):
        semantic_inpainting(gan.generator, y, np.ones_like(y))
    with pytest.raises(ValueError, match="inpainting_loss: corrupted and known must have one"):
        inpainting_loss(gan, np.zeros((2, 2)), y, np.ones((2, 5)))
    with pytest.raises(ValueError, match="known must hold only 1"):
        semantic_inpainting(gan, y, np.full_like(y, 0.5))
    with pytest.raises(ValueError, match=r"the generator draws \(2, 6\), corrupted is \(2, 3\)"):
        inpainting_loss(gan, np.zeros((2, 2)), np.zeros((2, 3)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="semantic_inpainting: steps"):
        semantic_inpainting(gan, y, np.ones_like(y), steps=0)
