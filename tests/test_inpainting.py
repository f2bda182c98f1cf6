"""Semantic inpainting (Yeh et al., 2017): the objective's gradient in z, the search through a
GAN or a VAE, the masks, the two copying baselines and the hole's PSNR."""

from __future__ import annotations

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import models, nn
from scratchnet.datasets import load_mnist
from scratchnet.models.inpainting import (
    context_weights,
    hole_psnr,
    inpainting_loss,
    inpainting_mask,
    mean_fill,
    nearest_neighbour_fill,
    semantic_inpainting,
)
from scratchnet.models.pretrained import mnist_dcgan


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


def test_a_weight_the_caller_froze_stays_frozen_after_the_search():
    gan = tiny_gan()
    frozen = next(iter(gan.discriminator.parameters()))
    frozen.requires_grad_(False)
    known = np.array([[1, 1, 1, 0, 0, 1]], dtype=np.float64)
    semantic_inpainting(gan, np.zeros((1, 6)), known, steps=3, rng=0)
    assert not frozen.requires_grad
    assert all(p.requires_grad for p in gan.generator.parameters())


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


# -- the same search through a VAE's decoder -------------------------------------------------
def tiny_vae(latent=2, pixels=6):
    encoder = nn.Sequential(nn.Dense(pixels, 2 * latent, rng=4))
    decoder = nn.Sequential(nn.Dense(latent, pixels, rng=5))           # linear decoder
    vae = models.VAE(encoder, decoder, latent, likelihood="gaussian", rng=6)
    for p in vae.parameters():
        p.data = p.data.astype(np.float64)
    return vae


def test_the_vae_objective_is_contextual_l1_plus_half_the_squared_code():
    vae = tiny_vae()
    rng = np.random.default_rng(1)
    y = rng.normal(size=(3, 6))
    known = (rng.random((3, 6)) < 0.6).astype(np.float64)
    z = sn.Tensor(rng.normal(size=(3, 2)), requires_grad=True)
    with sn.no_grad():
        drawn = vae.decode(z).data
    expected = np.abs((drawn - y) * known).sum(axis=1) + 0.7 * (z.data ** 2).sum(axis=1) / 2
    np.testing.assert_allclose(inpainting_loss(vae, z, y, known, 0.7).data, expected)
    upstream = rng.normal(size=3)
    assert sn.gradcheck(lambda z: (inpainting_loss(vae, z, y, known, 0.7)
                                   * sn.Tensor(upstream)).sum(), [z])


def test_the_vae_search_recovers_the_hole_and_the_prior_pulls_codes_in():
    vae = tiny_vae()
    truth_z = np.array([[0.7, -1.2], [-0.4, 0.9]])
    with sn.no_grad():
        truth = vae.decode(sn.Tensor(truth_z)).data
    known = np.array([[1, 1, 1, 0, 0, 1], [0, 1, 1, 1, 1, 0]], dtype=np.float64)
    corrupted = np.where(known > 0, truth, 0.0)
    result = semantic_inpainting(vae, corrupted, known, steps=600, lr=0.05, prior_weight=0.0,
                                 rng=0)
    np.testing.assert_allclose(result["completed"], truth, atol=2e-2)
    strong = semantic_inpainting(vae, corrupted, known, steps=600, lr=0.05, prior_weight=50.0,
                                 rng=0)
    assert np.linalg.norm(strong["z"]) < 0.5 * np.linalg.norm(result["z"])
    assert all(p.requires_grad for p in vae.parameters())


# -- masks, baselines and the measure --------------------------------------------------------
def test_masks_hide_the_centre_square_the_left_half_or_random_pixels():
    centre = inpainting_mask("center", 2)
    assert centre.shape == (2, 1, 28, 28) and centre.dtype == np.float32
    assert (centre[:, :, 7:21, 7:21] == 0).all() and centre.sum() == 2 * (784 - 196)
    # The same square ContextEncoder hides by default.
    encoder = models.ContextEncoder(nn.Sequential(nn.Flatten()), nn.Sequential(nn.Flatten()))
    np.testing.assert_array_equal(1 - centre, encoder.masks(np.zeros((2, 1, 28, 28),
                                                                     np.float32)))
    left = inpainting_mask("left", 1, (3, 4, 6))
    np.testing.assert_array_equal(left[0, 1], [[0, 0, 0, 1, 1, 1]] * 4)
    random = inpainting_mask("random", 3, rng=0)
    assert (random.reshape(3, -1).sum(axis=1) == 392).all()
    assert not np.array_equal(random[0], random[1])                   # one draw per image
    np.testing.assert_array_equal(random, inpainting_mask("random", 3, rng=0))
    assert inpainting_mask("center", 1, (1, 9, 9), size=3)[0, 0, 3:6, 3:6].sum() == 0
    with pytest.raises(ValueError, match="inpainting_mask: kind must be one of"):
        inpainting_mask("top", 1)
    with pytest.raises(ValueError, match="inpainting_mask: size must be < min"):
        inpainting_mask("center", 1, size=28)


def test_the_baselines_keep_the_known_pixels_and_fill_as_described():
    rng = np.random.default_rng(2)
    references = rng.random((5, 1, 4, 4)).astype(np.float32)
    known = inpainting_mask("left", 3, (1, 4, 4))
    truth = references[[3, 0, 3]] + np.where(known > 0, 0.0, 0.5).astype(np.float32)
    corrupted = np.where(known > 0, truth, 0.0)
    filled, chosen = nearest_neighbour_fill(corrupted, known, references, batch_size=2)
    np.testing.assert_array_equal(chosen, [3, 0, 3])                 # matched on the right half
    np.testing.assert_array_equal(filled, np.where(known > 0, truth, references[chosen]))
    brute = [int(np.argmin([((k * (r - c)) ** 2).sum() for r in references]))
             for c, k in zip(corrupted, known, strict=True)]
    assert brute == chosen.tolist()
    mean = references.mean(axis=0)
    np.testing.assert_array_equal(mean_fill(corrupted, known, mean),
                                  np.where(known > 0, truth, mean[None]))
    with pytest.raises(ValueError, match="mean_fill: mean_image must have one image's shape"):
        mean_fill(corrupted, known, references)
    with pytest.raises(ValueError, match="nearest_neighbour_fill: references must be"):
        nearest_neighbour_fill(corrupted, known, references[:, :, :2])


def test_hole_psnr_reads_only_the_hole():
    truth = np.zeros((2, 1, 4, 4))
    known = inpainting_mask("left", 2, (1, 4, 4))
    completed = np.where(known > 0, 0.9, 0.1)          # error 0.9 outside, 0.1 in the hole
    assert hole_psnr(truth, completed, known) == pytest.approx(20.0)
    assert hole_psnr(truth, truth, known) == float("inf")
    with pytest.raises(ValueError, match="hole_psnr: known has no hole"):
        hole_psnr(truth, truth, np.ones_like(truth))


def test_hole_psnr_per_image_measures_each_hole_alone():
    truth = np.zeros((3, 1, 4, 4))
    known = inpainting_mask("left", 3, (1, 4, 4))
    known[2, 0, :, 0] = 1                    # image 2: a 4 × 1 hole instead of 4 × 2
    completed = np.where(known > 0, 0.9, 0.0)
    completed[0][known[0] == 0] = 0.1        # MSE 0.01 on the hole: 20 dB
    completed[2][known[2] == 0] = 0.01       # MSE 1e-4: 40 dB; image 1 is perfect
    per_image = hole_psnr(truth, completed, known, per_image=True)
    assert per_image.shape == (3,)
    np.testing.assert_allclose(per_image, [20.0, np.inf, 40.0])
    # Pooled: (8 · 0.01 + 8 · 0 + 4 · 1e-4) / 20 hole pixels, a single number.
    pooled = hole_psnr(truth, completed, known)
    assert pooled == pytest.approx(10 * np.log10(20 / (8 * 0.01 + 4 * 1e-4)))
    known[1] = 1
    with pytest.raises(ValueError, match=r"hole_psnr: with per_image=True every image needs "
                                         r"a hole; image\(s\) \[1\] have none"):
        hole_psnr(truth, completed, known, per_image=True)
    with pytest.raises(TypeError, match="hole_psnr: per_image must be True or False"):
        hole_psnr(truth, completed, known, per_image="yes")


def test_context_weights_count_the_hole_around_each_known_pixel():
    known = inpainting_mask("random", 2, (1, 9, 8), rng=0)
    weights = context_weights(known, 3)
    hole = np.pad(1 - known, [(0, 0), (0, 0), (1, 1), (1, 1)])     # outside counts as known
    brute = np.array([[[[hole[n, 0, i:i + 3, j:j + 3].sum() / 9 for j in range(8)]
                        for i in range(9)]] for n in range(2)])
    np.testing.assert_allclose(weights, known * brute, atol=1e-6)
    centre = context_weights(inpainting_mask("center", 1), 7)[0, 0]
    assert centre[7:21, 7:21].sum() == 0                              # the hole weighs nothing
    assert centre[0].sum() == 0 and centre[6, 10] == pytest.approx(3 / 7)  # 3 hole rows of 7
    with pytest.raises(ValueError, match="context_weights: window must be odd"):
        context_weights(known, 4)
    # A bool mask gives the same weights as its 0/1 float version.
    from_bool = context_weights(known > 0, 3)
    assert from_bool.dtype == np.float32
    np.testing.assert_allclose(from_bool, weights)


def test_the_weighted_objective_and_the_best_start():
    flat = tiny_gan()
    gan = models.GAN(nn.Sequential(flat.generator, nn.Reshape((1, 2, 3))),   # images (N, 1, 2, 3)
                     nn.Sequential(nn.Flatten(), flat.discriminator), 2, rng=3)
    rng = np.random.default_rng(3)
    y = rng.normal(size=(3, 1, 2, 3))
    known = (rng.random((3, 1, 2, 3)) < 0.6).astype(np.float64)
    z = sn.Tensor(rng.normal(size=(3, 2)), requires_grad=True)
    with sn.no_grad():
        drawn = gan.generate(z).data
    weights = context_weights(known, 3)
    expected = np.abs((drawn - y) * weights).reshape(3, -1).sum(axis=1)
    np.testing.assert_allclose(inpainting_loss(gan, z, y, known, 0.0, window=3).data, expected)
    # The best of many starts has a lower objective than a single draw, before any step.
    one = semantic_inpainting(gan, y, known, steps=1, lr=1e-9, prior_weight=0.0, rng=0)
    many = semantic_inpainting(gan, y, known, steps=1, lr=1e-9, prior_weight=0.0,
                               candidates=50, rng=0)
    assert many["loss"][0] < one["loss"][0]


def test_a_quick_gan_search_beats_the_mean_fill_on_random_pixels(tmp_path):
    # A DCGAN trained for a few seconds already fills scattered holes better than the
    # average digit: the known pixels outline the digit and the search follows them.
    images, _ = load_mnist("train", source="bundled")
    train, test = images[:1280], images[-40:]
    gan = mnist_dcgan(tmp_path / "gan.npz", progress=False, epochs=4, train_size=1280)
    known = inpainting_mask("random", len(test), rng=0)
    searched = semantic_inpainting(gan, test * known, known, steps=100, window=7,
                                   candidates=8, rng=0)["completed"]
    averaged = mean_fill(test * known, known, train.mean(axis=0))
    assert hole_psnr(test, searched, known) > hole_psnr(test, averaged, known) + 0.3
