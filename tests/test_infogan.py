"""InfoGAN: the latent layout, the generator's loss, the optimizers, errors, and what the
information term makes a generator learn (its codes pick the modes of the data)."""

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import datasets, models, nn
from scratchnet.checkpoint import load, save
from scratchnet.models.gan import (
    GAN,
    dcgan_discriminator,
    dcgan_generator,
    mlp_discriminator,
    mlp_generator,
)
from scratchnet.models.infogan import InfoGAN

CORNERS = np.array([[2, 2], [-2, 2], [-2, -2], [2, -2]], dtype=np.float32)


def small_infogan(info_weight=1.0, seed=0, noise_dim=2, n_codes=4):
    return InfoGAN(mlp_generator(noise_dim + n_codes, 2, (32, 32), rng=seed),
                   mlp_discriminator(2, (32, 32), rng=seed + 1), noise_dim, n_codes=n_codes,
                   info_weight=info_weight, rng=seed)


def test_infogan_is_exported_and_its_latent_is_noise_then_a_one_hot_code():
    assert models.InfoGAN is InfoGAN
    gan = small_infogan(noise_dim=3, n_codes=5)
    assert gan.latent_dim == 8
    z = gan.sample_latent(4000, rng=0).data
    assert z.shape == (4000, 8)
    noise, code_part = z[:, :3], z[:, 3:]
    assert abs(noise.mean()) < 0.05 and abs(noise.std() - 1) < 0.05
    assert set(np.unique(code_part)) == {0.0, 1.0} and np.all(code_part.sum(axis=1) == 1)
    counts = np.bincount(gan.codes_of(z), minlength=5)
    assert counts.min() > 700                       # uniform: 800 each, give or take
    again = gan.latent(noise, gan.codes_of(z)).data
    np.testing.assert_array_equal(again, z)
    np.testing.assert_array_equal(gan.sample_latent(10, rng=3).data,
                                  gan.sample_latent(10, rng=3).data)


def test_the_generator_loss_is_the_adversarial_loss_plus_lambda_times_qs_cross_entropy():
    gan = small_infogan(info_weight=0.7)
    gan.rng = np.random.default_rng(5)
    loss = gan.generator_loss(16)
    gan.rng = np.random.default_rng(5)
    z = gan.sample_latent(16)
    features = gan.features(gan.generate(z))
    score = gan.discriminator[-1](features).data.reshape(-1)
    logits = gan.q_head(features).data
    adversarial = np.log1p(np.exp(-score)).mean()               # −log σ(ℓ)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_q = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    info = -log_q[np.arange(16), gan.codes_of(z)].mean()
    np.testing.assert_allclose(float(loss.data), adversarial + 0.7 * info, rtol=1e-5)
    # the features are what D's last layer reads: D's score is that layer of them
    images = gan.generate(z)
    np.testing.assert_allclose(gan.score(images).data,
                               gan.discriminator[-1](gan.features(images)).data.reshape(-1),
                               rtol=1e-6)
    np.testing.assert_allclose(gan.predict_codes(gan.generate(z)).data, logits, rtol=1e-5)


def test_q_learns_with_the_generator_and_d_from_the_game_only():
    gan = small_infogan()
    optimizers = gan.configure_optimizers(lr=1e-2)
    g_ids = {id(p) for p in optimizers["generator"].params}
    assert {id(p) for p in gan.q_head.parameters()} <= g_ids
    assert {id(p) for p in gan.generator.parameters()} <= g_ids
    assert not g_ids & {id(p) for p in gan.discriminator.parameters()}
    assert {id(p) for p in optimizers["discriminator"].params} == {
        id(p) for p in gan.discriminator.parameters()}
    q_before = [p.data.copy() for p in gan.q_head.parameters()]
    logs = gan.training_step(CORNERS[np.arange(8) % 4], optimizers)
    assert all(np.any(p.data != q) for p, q in zip(gan.q_head.parameters(), q_before,
                                                    strict=True))
    assert np.isfinite(logs["info_loss"]) and logs["info_loss"] > 0
    np.testing.assert_allclose(logs["info_bound"], np.log(4) - logs["info_loss"])


def test_the_information_term_makes_each_code_pick_one_mode():
    """Four well-separated Gaussians: with λ = 1 every code's samples land in one mode;
    with λ = 0 (a plain GAN that also reads a code) the code means little."""
    draws = np.random.default_rng(0)
    data = (CORNERS[draws.integers(0, 4, 2000)]
            + 0.1 * draws.standard_normal((2000, 2))).astype(np.float32)

    def purity(info_weight):
        sn.manual_seed(0)
        gan = small_infogan(info_weight)
        history = sn.train.fit(gan, optimizer=gan.configure_optimizers(lr=2e-3), epochs=8,
                               loader=datasets.DataLoader(data, batch_size=64,
                                                          drop_last=True, rng=0),
                               progress=False)
        z = gan.sample_latent(800, rng=1)
        codes = gan.codes_of(z)
        mode = np.argmin(((gan.sample(800, z=z).data[:, None] - CORNERS) ** 2).sum(-1), 1)
        shares = [np.bincount(mode[codes == k], minlength=4).max() / (codes == k).sum()
                  for k in range(4)]
        return float(np.mean(shares)), history["info_bound"][-1]

    with_info, bound = purity(1.0)
    without, bound_without = purity(0.0)
    # measured: 1.0 and 0.41 (five seeds: 1.0 every time against 0.33-0.58)
    assert with_info > 0.95 and without < 0.75
    assert bound > 0.8 * np.log(4) and bound_without < 0.5 * np.log(4)


def test_infogan_trains_a_dcgan_pair_on_images():
    gan = InfoGAN(dcgan_generator(latent_dim=4, width=2, n_classes=3, rng=0),
                  dcgan_discriminator(width=2, batch_norm=True, rng=1), 4, n_codes=3, rng=0)
    images = np.random.default_rng(0).random((8, 1, 28, 28)).astype(np.float32)
    logs = gan.training_step(images, gan.configure_optimizers())
    assert {"d_loss", "g_loss", "info_loss", "info_bound"} <= set(logs)
    assert gan.sample(5, rng=0).shape == (5, 1, 28, 28)
    assert gan.predict_codes(images).shape == (8, 3)
    assert "n_codes=3" in repr(gan)


def test_bad_arguments_are_refused_with_the_models_name():
    g = mlp_generator(6, 2, (8,), rng=0)
    with pytest.raises(TypeError, match=r"InfoGAN: the discriminator must be an nn\.Sequential"):
        InfoGAN(g, nn.Dense(2, 1), 2, n_codes=4)
    with pytest.raises(TypeError, match="it ends in Dense 2 outputs"):
        InfoGAN(g, nn.Sequential(nn.Dense(2, 4), nn.Dense(4, 2)), 2, n_codes=4)
    with pytest.raises(TypeError, match="it ends in LeakyReLU"):
        InfoGAN(g, nn.Sequential(nn.Dense(2, 1), nn.LeakyReLU(0.2)), 2, n_codes=4)
    with pytest.raises(ValueError, match="InfoGAN: n_codes"):
        InfoGAN(g, mlp_discriminator(2, (8,)), 5, n_codes=1)
    gan = small_infogan()
    with pytest.raises(ValueError, match="InfoGAN: labels given"):
        gan.generator_loss(4, labels=np.zeros(4, dtype=int))
    with pytest.raises(ValueError, match=r"InfoGAN.latent: needs noise \(N, 2\)"):
        gan.latent(np.zeros((3, 5)), np.zeros(3, dtype=int))
    with pytest.raises(ValueError, match=r"InfoGAN.latent: codes must lie in 0..3"):
        gan.latent(np.zeros((2, 2)), np.array([0, 4]))
    with pytest.raises(TypeError, match=r"InfoGAN\.latent: codes must be integers; got "
                                        r"dtype float64"):
        gan.latent(np.zeros((2, 2)), np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match=r"InfoGAN.codes_of: needs latent vectors \(N, 6\); "
                                         r"got shape \(3, 2\)"):
        gan.codes_of(np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"InfoGAN.codes_of: .* got shape \(6,\)"):
        gan.codes_of(np.zeros(6))


def test_q_is_saved_and_loaded_with_the_rest_of_the_model(tmp_path):
    gan = small_infogan(seed=0)
    gan.training_step(CORNERS[np.arange(8) % 4], gan.configure_optimizers(lr=1e-2))
    path = save(gan, tmp_path / "infogan.npz")
    fresh = small_infogan(seed=5)
    load(fresh, path)
    images = CORNERS[:4]
    np.testing.assert_array_equal(fresh.predict_codes(images).data,
                                  gan.predict_codes(images).data)
    assert "q_head.weight" in gan.state_dict()


@pytest.mark.parametrize("loss, expected", [
    ("non_saturating", lambda s: np.log1p(np.exp(-s)).mean()),    # −log σ(ℓ)
    ("minimax", lambda s: -np.log1p(np.exp(s)).mean()),           # log(1 − σ(ℓ))
    ("wgan_gp", lambda s: -s.mean())])
def test_adversarial_loss_is_each_losss_generator_term(loss, expected):
    gan = GAN(mlp_generator(2, 2, (4,), rng=0), mlp_discriminator(2, (4,), rng=1), 2,
              loss=loss)
    scores = np.random.default_rng(0).normal(0, 2, size=7)
    np.testing.assert_allclose(float(gan.adversarial_loss(sn.Tensor(scores)).data),
                               expected(scores), rtol=1e-6)
