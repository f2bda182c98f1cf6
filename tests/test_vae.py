"""The variational autoencoder, measured: the KL's closed form against NumPy and Monte
Carlo, the reparameterisation trick's gradient, the ELBO and IWAE bounds recomputed
independently, training on bundled MNIST, numerical robustness, the builders and errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import scratchnet as sn
import scratchnet.functional as F
from scratchnet import nn, optim
from scratchnet.datasets.augment import random_binarize
from scratchnet.datasets.loader import DataLoader
from scratchnet.models import VAE, conv_vae, mlp_vae, reparameterize

LOG_2PI = math.log(2.0 * math.pi)


@pytest.fixture
def float64():
    sn.set_default_dtype(np.float64)  # conftest restores float32 afterwards


def np_softplus(f):
    return np.logaddexp(0.0, f)


def np_bernoulli_ll(x, f):
    """Σ [x log σ(f) + (1−x) log(1−σ(f))] per sample, from logits, stably."""
    terms = x * -np_softplus(-f) + (1.0 - x) * -np_softplus(f)
    return terms.reshape(len(x), -1).sum(axis=1)


def np_kl(mu, logvar):
    return 0.5 * np.sum(mu ** 2 + np.exp(logvar) - 1.0 - logvar, axis=1)


def encoder_outputs(vae, x):
    """(μ, log σ²) as float64 arrays, straight from the encoder network (no VAE code)."""
    with sn.no_grad():
        out = vae.encoder(sn.Tensor(x)).numpy().astype(np.float64)
    return out[:, :vae.latent_dim], out[:, vae.latent_dim:]


def decoder_logits(vae, z):
    with sn.no_grad():
        return vae.decoder(sn.Tensor(z)).numpy().astype(np.float64)


def binary_data(n, shape=(1, 4, 4), seed=0):
    return (np.random.default_rng(seed).random((n, *shape)) < 0.4).astype(np.float64)


def finite_grads(parameters):
    grads = [p.grad for p in parameters]
    assert all(g is not None for g in grads)
    return all(np.all(np.isfinite(g.numpy())) for g in grads)


@pytest.fixture(scope="module")
def mnist():
    """A few hundred bundled digits: 1000 grey training images, 200 binarized test images."""
    x_train, _ = sn.datasets.load_mnist("train", source="bundled")
    x_test, _ = sn.datasets.load_mnist("test", source="bundled")
    x_test = random_binarize(x_test[:200], rng=np.random.default_rng(123))
    return x_train[:1000], x_test


def mean_elbo(vae, x, seeds=range(5)):
    values = []
    for seed in seeds:
        vae.rng = np.random.default_rng(seed)
        with sn.no_grad():
            values.append(vae.elbo(x).numpy())
    return float(np.mean(values))


@pytest.fixture(scope="module")
def trained(mnist):
    """A small MLP VAE trained briefly with fit + Adam on dynamically binarized digits."""
    x_train, x_test = mnist
    vae = mlp_vae(latent_dim=4, hidden=64, rng=0)
    before = mean_elbo(vae, x_test)
    binarize_rng = np.random.default_rng(1)
    vae.rng = np.random.default_rng(2)
    loader = DataLoader(x_train, batch_size=50, rng=3)
    history = sn.train.fit(vae, lambda m, x: m.loss(random_binarize(x.data, rng=binarize_rng)),
                           optim.Adam(vae.parameters(), lr=3e-3), loader, epochs=4,
                           progress=False)
    vae.eval()
    return vae, before, mean_elbo(vae, x_test), history


# ---- 1. the KL term --------------------------------------------------------------------------

def test_gaussian_kl_matches_closed_form(float64):
    rng = np.random.default_rng(0)
    mu, logvar = rng.normal(size=(6, 5)), rng.normal(scale=2.0, size=(6, 5))
    kl = F.gaussian_kl(sn.Tensor(mu), sn.Tensor(logvar))
    assert kl.shape == (6,)
    expected = 0.5 * (mu ** 2 + np.exp(logvar) - 1.0 - logvar).sum(axis=1)
    np.testing.assert_allclose(kl.numpy(), expected, rtol=1e-12, atol=1e-12)
    assert np.all(kl.numpy() >= 0)
    # zero exactly at the prior
    zero = F.gaussian_kl(sn.Tensor(np.zeros((2, 3))), sn.Tensor(np.zeros((2, 3))))
    np.testing.assert_array_equal(zero.numpy(), 0.0)


def test_gaussian_kl_matches_monte_carlo(float64):
    mu, logvar = np.array([0.7, -1.2, 0.1]), np.array([-0.5, 0.8, -1.5])
    kl = float(F.gaussian_kl(sn.Tensor(mu[None]), sn.Tensor(logvar[None])).numpy()[0])
    n = 200_000
    eps = np.random.default_rng(1).standard_normal((n, 3))
    z = mu + np.exp(0.5 * logvar) * eps
    log_q = np.sum(-0.5 * (logvar + LOG_2PI) - 0.5 * eps ** 2, axis=1)
    log_p = np.sum(-0.5 * (LOG_2PI + z ** 2), axis=1)
    samples = log_q - log_p
    se = samples.std() / math.sqrt(n)
    assert abs(samples.mean() - kl) < 4 * se


# ---- 2. the reparameterisation trick -------------------------------------------------------

def test_reparameterize_gradcheck():
    rng = np.random.default_rng(0)
    mu, logvar = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    assert sn.gradcheck(lambda m, lv: reparameterize(m, lv, rng=7), [mu, logvar])
    assert sn.gradgradcheck(lambda m, lv: reparameterize(m, lv, rng=7), [mu, logvar])
    # and the values are μ + σ ε for the ε the seed gives
    eps = np.random.default_rng(7).standard_normal((3, 2))
    with sn.no_grad():
        z = reparameterize(sn.Tensor(mu), sn.Tensor(logvar), rng=7).numpy()
    np.testing.assert_allclose(z, mu + np.exp(0.5 * logvar) * eps, rtol=1e-6, atol=1e-6)


def test_reparameterize_wrong_gradient_would_fail():
    """gradcheck is not vacuous here: a z whose σ is cut from the graph is caught."""
    eps = np.random.default_rng(7).standard_normal((2, 2))

    def broken(m, lv):
        return m + F.exp(sn.Tensor(lv.data) * 0.5) * eps  # no gradient to log σ²

    with pytest.raises(sn.GradcheckError):
        sn.gradcheck(broken, [np.ones((2, 2)), np.zeros((2, 2))])


def test_reparameterize_sample_moments(float64):
    mu, logvar = np.array([0.5, -1.0, 2.0]), np.array([0.0, 1.0, -2.0])
    n = 100_000
    z = reparameterize(sn.Tensor(np.broadcast_to(mu, (n, 3)).copy()),
                       sn.Tensor(np.broadcast_to(logvar, (n, 3)).copy()), rng=3).numpy()
    var = np.exp(logvar)
    assert np.all(np.abs(z.mean(axis=0) - mu) < 5 * np.sqrt(var / n))
    assert np.all(np.abs(z.var(axis=0) - var) < 5 * var * np.sqrt(2.0 / n))


def test_reparameterize_reproducible():
    mu, logvar = sn.Tensor(np.zeros((4, 3))), sn.Tensor(np.zeros((4, 3)))
    a = reparameterize(mu, logvar, rng=11).numpy()
    b = reparameterize(mu, logvar, rng=11).numpy()
    c = reparameterize(mu, logvar, rng=12).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    gen = np.random.default_rng(5)
    first, second = (reparameterize(mu, logvar, rng=gen).numpy() for _ in range(2))
    assert not np.allclose(first, second)  # a Generator advances


# ---- 3. the ELBO and its parts ---------------------------------------------------------------

def test_elbo_is_recon_minus_kl_and_matches_numpy(float64):
    vae = mlp_vae(latent_dim=3, hidden=16, image_shape=(1, 4, 4), rng=0)
    x = binary_data(5)
    vae.rng = np.random.default_rng(9)
    elbo = vae.elbo(x).numpy()
    vae.rng = np.random.default_rng(9)
    recon, kl = (t.numpy() for t in vae.elbo_terms(x))
    assert elbo.shape == recon.shape == kl.shape == (5,)
    np.testing.assert_allclose(elbo, recon - kl, rtol=1e-12, atol=1e-12)
    # independently: encoder -> NumPy z -> decoder logits -> NumPy log-likelihood and KL
    mu, logvar = encoder_outputs(vae, x)
    z = mu + np.exp(0.5 * logvar) * np.random.default_rng(9).standard_normal(mu.shape)
    expected_recon = np_bernoulli_ll(x, decoder_logits(vae, z))
    np.testing.assert_allclose(recon, expected_recon, rtol=1e-10)
    np.testing.assert_allclose(kl, np_kl(mu, logvar), rtol=1e-10)
    assert np.all(kl > 0)


def test_bernoulli_log_likelihood_matches_numpy(float64):
    vae = mlp_vae(latent_dim=2, hidden=16, image_shape=(1, 3, 5), rng=1)
    x = binary_data(4, shape=(1, 3, 5), seed=2)
    x[0] = np.random.default_rng(3).random((1, 3, 5))  # grey targets are allowed too
    z = np.random.default_rng(4).normal(size=(4, 2))
    ll = vae.log_likelihood(x, sn.Tensor(z)).numpy()
    f = decoder_logits(vae, z)
    p = 1.0 / (1.0 + np.exp(-f))
    direct = (x * np.log(p) + (1 - x) * np.log(1 - p)).reshape(4, -1).sum(axis=1)
    np.testing.assert_allclose(ll, direct, rtol=1e-10)


def test_gaussian_log_likelihood_fixed_variance(float64):
    vae = mlp_vae(latent_dim=2, hidden=16, image_shape=(1, 3, 3), likelihood="gaussian",
                  output_logvar=0.7, rng=2)
    x = np.random.default_rng(5).normal(size=(4, 1, 3, 3))
    z = np.random.default_rng(6).normal(size=(4, 2))
    ll = vae.log_likelihood(x, sn.Tensor(z)).numpy()
    f = decoder_logits(vae, z)
    expected = -0.5 * ((x - f) ** 2 / math.exp(0.7) + 0.7 + LOG_2PI).reshape(4, -1).sum(axis=1)
    np.testing.assert_allclose(ll, expected, rtol=1e-12)
    # and decode returns the means themselves (no sigmoid)
    with sn.no_grad():
        np.testing.assert_allclose(vae.decode(sn.Tensor(z)).numpy(), f, rtol=1e-12)


def test_gaussian_learned_output_logvar(float64):
    vae = mlp_vae(latent_dim=2, hidden=16, image_shape=(1, 3, 3), likelihood="gaussian",
                  output_logvar="learned", rng=3)
    assert isinstance(vae.output_logvar, nn.Parameter)
    assert any(p is vae.output_logvar for p in vae.parameters())
    vae.output_logvar.data[...] = -0.4
    x = np.random.default_rng(7).normal(size=(5, 1, 3, 3))
    z = np.random.default_rng(8).normal(size=(5, 2))
    ll = vae.log_likelihood(x, sn.Tensor(z))
    f = decoder_logits(vae, z)
    sq = ((x - f) ** 2).reshape(5, -1)
    expected = -0.5 * (sq / math.exp(-0.4) - 0.4 + LOG_2PI).sum(axis=1)
    np.testing.assert_allclose(ll.numpy(), expected, rtol=1e-12)
    ll.sum().backward()
    # d/d(log σ²) Σ_n ll_n = ½ Σ [(x − f)² e^{−log σ²} − 1]
    grad = 0.5 * np.sum(sq * math.exp(0.4) - 1.0)
    np.testing.assert_allclose(float(vae.output_logvar.grad.numpy()), grad, rtol=1e-10)
    # and an optimizer moves it: the data's squared error is far from e^{-0.4}
    vae.rng = np.random.default_rng(0)
    opt = optim.Adam(vae.parameters(), lr=0.05)
    for _ in range(20):
        opt.zero_grad()
        vae.loss(x).backward()
        opt.step()
    assert abs(float(vae.output_logvar.numpy()) + 0.4) > 0.1


# ---- 4. the β loss ---------------------------------------------------------------------------

@pytest.mark.parametrize("beta", [0.0, 1.0, 4.0])
def test_loss_with_beta(float64, beta):
    base = mlp_vae(latent_dim=3, hidden=16, image_shape=(1, 4, 4), rng=0)
    vae = VAE(base.encoder, base.decoder, 3, beta=beta)
    x = binary_data(6, seed=1)
    vae.rng = np.random.default_rng(4)
    loss = float(vae.loss(x).numpy())
    vae.rng = np.random.default_rng(4)
    recon, kl = (t.numpy() for t in vae.elbo_terms(x))
    np.testing.assert_allclose(loss, -np.mean(recon - beta * kl), rtol=1e-12)
    if beta == 0.0:
        np.testing.assert_allclose(loss, -np.mean(recon), rtol=1e-12)
    assert np.all(kl > 1e-3)  # so β really changes the loss


# ---- 5. the importance-weighted bound -------------------------------------------------------

def test_iw_bound_one_sample_has_the_elbo_expectation(float64):
    """With the same ε, L_1 − ELBO = log p(z) − log q(z|x) + KL: zero in expectation."""
    vae = mlp_vae(latent_dim=3, hidden=16, image_shape=(1, 4, 4), rng=0)
    x = binary_data(8, seed=3)
    diffs = []
    for seed in range(300):
        vae.rng = np.random.default_rng(seed)
        with sn.no_grad():
            iw1 = vae.iw_bound(x, 1).numpy()
        vae.rng = np.random.default_rng(seed)
        with sn.no_grad():
            elbo = vae.elbo(x).numpy()
        diffs.append(iw1 - elbo)
    diffs = np.concatenate(diffs)
    assert np.std(diffs) > 0.1  # not trivially equal: the KL is sampled in L_1
    assert abs(diffs.mean()) < 4 * diffs.std() / math.sqrt(diffs.size)


def test_iw_bound_matches_numpy(float64):
    vae = mlp_vae(latent_dim=2, hidden=16, image_shape=(1, 3, 3), rng=5)
    x = binary_data(3, shape=(1, 3, 3), seed=4)
    k = 6
    vae.rng = np.random.default_rng(21)
    bound = vae.iw_bound(x, k).numpy()
    mu, logvar = encoder_outputs(vae, x)
    eps = np.random.default_rng(21).standard_normal((k, 3, 2))
    z = mu + np.exp(0.5 * logvar) * eps
    log_q = np.sum(-0.5 * (logvar + LOG_2PI) - 0.5 * eps ** 2, axis=2)
    log_p = np.sum(-0.5 * (LOG_2PI + z ** 2), axis=2)
    log_px = np.stack([np_bernoulli_ll(x, decoder_logits(vae, z[i])) for i in range(k)])
    log_w = log_px + log_p - log_q
    m = log_w.max(axis=0)
    expected = m + np.log(np.mean(np.exp(log_w - m), axis=0))
    np.testing.assert_allclose(bound, expected, rtol=1e-10)


def test_iw_bound_tightens_with_k(trained, mnist):
    vae, _, _, _ = trained
    x = mnist[1][:100]
    means = {}
    for k in (1, 5, 50):
        values = []
        for seed in range(4):
            vae.rng = np.random.default_rng(100 + seed)
            with sn.no_grad():
                values.append(vae.iw_bound(x, k).numpy())
        means[k] = float(np.mean(values))
    elbo = mean_elbo(vae, x, seeds=range(100, 104))
    assert abs(means[1] - elbo) < 2.0
    assert means[5] > elbo + 0.5
    assert means[1] < means[5] < means[50]
    assert means[50] > means[5] + 0.5


def test_importance_log_likelihood_chunking(trained, mnist):
    vae, _, _, _ = trained
    x = mnist[1][:20]
    k = 30
    vae.rng = np.random.default_rng(7)
    with sn.no_grad():
        bound = vae.iw_bound(x, k).numpy()
    vae.rng = np.random.default_rng(7)
    whole = vae.importance_log_likelihood(x, k, chunk=k).numpy()
    vae.rng = np.random.default_rng(7)
    over = vae.importance_log_likelihood(x, k, chunk=1000).numpy()
    assert whole.shape == (20,)
    np.testing.assert_allclose(whole, bound, rtol=1e-5)
    np.testing.assert_allclose(over, bound, rtol=1e-5)
    # Chunked draws consume the same normal stream in the same (sample-major) order, so a
    # chunked estimate may equal the whole one; whatever it draws, it only differs by
    # Monte-Carlo noise: compare the means over seeds.
    chunked, unchunked = [], []
    for seed in range(6):
        vae.rng = np.random.default_rng(200 + seed)
        chunked.append(vae.importance_log_likelihood(x, k, chunk=7).numpy())
        vae.rng = np.random.default_rng(300 + seed)
        unchunked.append(vae.importance_log_likelihood(x, k, chunk=k).numpy())
    chunked, unchunked = np.array(chunked), np.array(unchunked)
    noise = np.sqrt(chunked.var(axis=0) / 6 + unchunked.var(axis=0) / 6) + 1e-3
    assert np.all(np.abs(chunked.mean(axis=0) - unchunked.mean(axis=0)) < 5 * noise + 0.05)
    # and importance_log_likelihood builds no graph
    assert not vae.importance_log_likelihood(x[:2], 3).requires_grad


def test_iw_samples_loss_and_gradient(float64):
    base = mlp_vae(latent_dim=2, hidden=16, image_shape=(1, 4, 4), rng=6)
    vae = VAE(base.encoder, base.decoder, 2, iw_samples=5)
    x = binary_data(4, seed=5)
    vae.rng = np.random.default_rng(3)
    loss = vae.loss(x)
    vae.rng = np.random.default_rng(3)
    with sn.no_grad():
        bound = vae.iw_bound(x, 5).numpy()
    np.testing.assert_allclose(float(loss.numpy()), -bound.mean(), rtol=1e-12)
    loss.backward()
    for p in vae.parameters():
        assert p.grad is not None and np.all(np.isfinite(p.grad.numpy()))
    encoder_grad = vae.encoder.parameters()[0].grad.numpy()
    assert np.abs(encoder_grad).sum() > 0


def test_iw_bound_gradcheck(float64):
    """The k-sample bound is differentiable w.r.t. the encoder's μ and log σ² (fixed ε)."""
    vae = mlp_vae(latent_dim=2, hidden=6, image_shape=(1, 2, 2), rng=8)
    x = sn.Tensor(binary_data(2, shape=(1, 2, 2), seed=6))

    def bound(mu, logvar):
        vae.rng = np.random.default_rng(13)
        return F.logsumexp(vae._iw_log_weights(x, mu, logvar, 3), axis=0)

    rng = np.random.default_rng(1)
    assert sn.gradcheck(bound, [rng.normal(size=(2, 2)), rng.normal(size=(2, 2)) * 0.3])


def test_iw_samples_with_beta_raises():
    base = mlp_vae(latent_dim=2, hidden=8, image_shape=(1, 2, 2), rng=0)
    with pytest.raises(ValueError, match="beta"):
        VAE(base.encoder, base.decoder, 2, beta=2.0, iw_samples=3)
    VAE(base.encoder, base.decoder, 2, beta=2.0, iw_samples=1)  # fine without IW


# ---- 6. training -----------------------------------------------------------------------------

def test_training_raises_heldout_elbo(trained, mnist):
    vae, before, after, history = trained
    assert history is not None
    assert after > before + 20.0
    assert np.all(np.isfinite([before, after]))
    vae.rng = np.random.default_rng(0)
    with sn.no_grad():
        _, kl = vae.elbo_terms(mnist[1])
    assert np.all(kl.numpy() > 0)
    assert float(kl.numpy().mean()) > 1.0  # the code carries information
    assert vae.active_units(mnist[1]) >= 1


# ---- 7. robustness ---------------------------------------------------------------------------

@pytest.mark.parametrize("logvar", [1e4, -1e4])
@pytest.mark.parametrize("iw_samples", [1, 4])
def test_extreme_encoder_logvar_is_finite(logvar, iw_samples):
    base = mlp_vae(latent_dim=3, hidden=16, image_shape=(1, 4, 4), rng=0)
    base.encoder[2].bias.data[3:] = logvar
    vae = VAE(base.encoder, base.decoder, 3, iw_samples=iw_samples, rng=1)
    x = binary_data(5, seed=7).astype(np.float32)
    _, lv = vae.encode(x)
    assert np.all(np.isfinite(lv.numpy()))
    loss = vae.loss(x)
    assert np.isfinite(float(loss.numpy()))
    loss.backward()
    assert finite_grads(vae.parameters())
    assert np.all(np.isfinite(vae.elbo(x).numpy()))


def test_huge_decoder_logits_give_finite_bernoulli_likelihood():
    vae = mlp_vae(latent_dim=2, hidden=8, image_shape=(1, 4, 4), rng=0)
    signs = np.where(np.random.default_rng(1).random(16) < 0.5, -1.0, 1.0)
    vae.decoder[1].bias.data[:] = (signs * 1e4).astype(np.float32)
    x = binary_data(3, seed=8).astype(np.float32)
    z = np.random.default_rng(2).normal(size=(3, 2)).astype(np.float32)
    ll = vae.log_likelihood(x, sn.Tensor(z))
    assert np.all(np.isfinite(ll.numpy()))
    f = decoder_logits(vae, z)
    np.testing.assert_allclose(ll.numpy(), np_bernoulli_ll(x.astype(np.float64), f), rtol=1e-4)
    # mismatched pixels cost about |logit| each: a large, finite, negative number
    assert np.all(ll.numpy() < -1e3)
    (-ll.sum()).backward()
    assert finite_grads(vae.decoder.parameters())


# ---- 8. evaluation helpers -------------------------------------------------------------------

def test_active_units_and_latent_variances(mnist):
    vae = mlp_vae(latent_dim=4, hidden=32, rng=0)
    head = vae.encoder[2]
    head.weight.data[:, [1, 3]] = 0.0  # μ_1 and μ_3 no longer depend on x
    head.weight.data[:, [0, 2]] *= 5.0
    x = mnist[0][:200]
    variances = vae.latent_variances(x)
    mu, _ = encoder_outputs(vae, x)
    np.testing.assert_allclose(variances, np.var(mu, axis=0), rtol=1e-4, atol=1e-10)
    assert variances[1] == pytest.approx(0.0, abs=1e-10)
    assert variances[3] == pytest.approx(0.0, abs=1e-10)
    assert vae.active_units(x) == 2
    assert vae.active_units(x, threshold=float(variances.max()) * 2) == 0
    assert vae.active_units(x, threshold=float(min(variances[0], variances[2])) / 2) == 2


def test_sample_shape_and_range():
    vae = mlp_vae(latent_dim=3, hidden=16, image_shape=(1, 5, 5), rng=0)
    samples = vae.sample(7)
    assert samples.shape == (7, 1, 5, 5)
    assert not samples.requires_grad
    values = samples.numpy()
    assert np.all((values > 0) & (values < 1))
    vae.rng = np.random.default_rng(4)
    a = vae.sample(3).numpy()
    vae.rng = np.random.default_rng(4)
    np.testing.assert_array_equal(a, vae.sample(3).numpy())
    # the values are sigmoid(decoder(z)) for z ~ N(0, I) from the model's generator
    z = np.random.default_rng(4).standard_normal((3, 3)).astype(np.float32)
    expected = 1.0 / (1.0 + np.exp(-decoder_logits(vae, z)))
    np.testing.assert_allclose(a, expected, rtol=1e-5, atol=1e-6)


def test_sample_with_a_seed_decodes_the_same_codes_and_leaves_the_models_generator_alone():
    vae = mlp_vae(latent_dim=3, hidden=16, image_shape=(1, 5, 5), rng=0)
    state = vae.rng.bit_generator.state
    first, second = vae.sample(4, rng=0).numpy(), vae.sample(4, rng=0).numpy()
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, vae.sample(4, rng=1).numpy())
    assert vae.rng.bit_generator.state == state
    z = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    expected = 1.0 / (1.0 + np.exp(-decoder_logits(vae, z)))
    np.testing.assert_allclose(first, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(vae.sample_latent(4, rng=0).numpy(), z)


def test_a_sample_grid_shows_the_vae_learning_through_fit(tmp_path):
    vae = mlp_vae(latent_dim=2, hidden=8, image_shape=(1, 4, 4), rng=0)
    x = binary_data(16, seed=3).astype(np.float32)
    grid = sn.train.SampleGrid(tmp_path, n=4, seed=1)
    history = sn.train.fit(vae, lambda m, batch: m.loss(batch),
                           optim.Adam(vae.parameters(), lr=1e-2),
                           DataLoader(x, batch_size=8, rng=0), epochs=2, callbacks=[grid],
                           progress=False)
    assert history.epochs == 2
    assert grid.saved == [tmp_path / "epoch_001.png", tmp_path / "epoch_002.png"]
    assert all(path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for path in grid.saved)


def test_reconstruct_and_forward():
    vae = mlp_vae(latent_dim=3, hidden=16, image_shape=(1, 4, 4), rng=0)
    x = binary_data(4, seed=9).astype(np.float32)
    rec = vae.reconstruct(x)
    assert not rec.requires_grad
    with sn.no_grad():
        expected = vae.decode(vae.encode(x)[0]).numpy()
    np.testing.assert_allclose(rec.numpy(), expected, rtol=1e-6)
    out = vae(sn.Tensor(x))
    assert out.requires_grad and out.shape == x.shape
    out.sum().backward()
    assert np.abs(vae.encoder[1].weight.grad.numpy()).sum() > 0


def test_forward_gradcheck(float64):
    vae = mlp_vae(latent_dim=2, hidden=5, image_shape=(1, 2, 2), rng=3)
    x = np.random.default_rng(0).random((2, 1, 2, 2))
    assert sn.gradcheck(lambda t: vae(t), [x])


# ---- 9. builders -----------------------------------------------------------------------------

@pytest.mark.parametrize("size", [28, 32])
def test_conv_vae_shapes(size):
    vae = conv_vae(latent_dim=3, channels=(4, 6), image_size=size, rng=0)
    x = (np.random.default_rng(size).random((2, 1, size, size)) < 0.3).astype(np.float32)
    assert vae(sn.Tensor(x)).shape == (2, 1, size, size)
    mu, logvar = vae.encode(x)
    assert mu.shape == logvar.shape == (2, 3)
    vae.rng = np.random.default_rng(0)
    elbo = vae.elbo(x)
    assert elbo.shape == (2,)
    assert np.all(np.isfinite(elbo.numpy()))
    assert vae.sample(2).shape == (2, 1, size, size)
    loss = vae.loss(x)
    loss.backward()
    assert finite_grads(vae.parameters())


@pytest.mark.parametrize("size", [30, 26, 6])
def test_conv_vae_rejects_size_not_multiple_of_4(size):
    with pytest.raises(ValueError, match="multiple of 4"):
        conv_vae(image_size=size)


def test_mlp_vae_parameter_count():
    vae = mlp_vae(latent_dim=20, hidden=400, rng=0)
    count = sum(p.size for p in vae.parameters())
    assert count == 784 * 400 + 400 + 400 * 40 + 40 + 20 * 400 + 400 + 400 * 784 + 784
    assert vae.latent_dim == 20


def test_checkpoint_round_trip_keeps_learned_output_logvar(tmp_path):
    vae = mlp_vae(latent_dim=2, hidden=8, image_shape=(1, 3, 3), likelihood="gaussian",
                  output_logvar="learned", rng=0)
    vae.output_logvar.data[...] = 0.3
    sn.save(vae, tmp_path / "vae.npz")
    fresh = mlp_vae(latent_dim=2, hidden=8, image_shape=(1, 3, 3), likelihood="gaussian",
                    output_logvar="learned", rng=1)
    sn.load(fresh, tmp_path / "vae.npz")
    assert float(fresh.output_logvar.numpy()) == pytest.approx(0.3)
    x = np.random.default_rng(0).random((3, 1, 3, 3)).astype(np.float32)
    vae.rng, fresh.rng = np.random.default_rng(5), np.random.default_rng(5)
    with sn.no_grad():
        np.testing.assert_array_equal(vae.elbo(x).numpy(), fresh.elbo(x).numpy())


# ---- 10. errors ------------------------------------------------------------------------------

def test_wrong_encoder_width_raises():
    vae = VAE(nn.Sequential(nn.Flatten(), nn.Dense(4, 5, rng=0)),
              nn.Sequential(nn.Dense(2, 4, rng=0), nn.Reshape((1, 2, 2))), latent_dim=2)
    x = np.zeros((3, 1, 2, 2), dtype=np.float32)
    with pytest.raises(ValueError, match="2·latent_dim"):
        vae.encode(x)
    with pytest.raises(ValueError, match="4"):
        vae.loss(x)


def test_unknown_likelihood_raises():
    base = mlp_vae(latent_dim=2, hidden=8, image_shape=(1, 2, 2), rng=0)
    with pytest.raises(ValueError, match="likelihood"):
        VAE(base.encoder, base.decoder, 2, likelihood="poisson")


@pytest.mark.parametrize("output_logvar", ["learned", -1.0])
def test_output_variance_with_a_bernoulli_likelihood_raises(output_logvar):
    base = mlp_vae(latent_dim=2, hidden=8, image_shape=(1, 2, 2), rng=0)
    with pytest.raises(ValueError, match="no effect with likelihood='bernoulli'"):
        VAE(base.encoder, base.decoder, 2, output_logvar=output_logvar)


def test_bad_sample_counts_raise():
    vae = mlp_vae(latent_dim=2, hidden=8, image_shape=(1, 2, 2), rng=0)
    x = np.zeros((2, 1, 2, 2), dtype=np.float32)
    with pytest.raises(ValueError, match="k"):
        vae.iw_bound(x, 0)
    with pytest.raises(ValueError, match="chunk"):
        vae.importance_log_likelihood(x, 5, chunk=0)
    with pytest.raises(ValueError, match="iw_samples"):
        VAE(vae.encoder, vae.decoder, 2, iw_samples=0)


@pytest.mark.parametrize("beta", [-0.5, float("nan")])
def test_bad_beta_raises(beta):
    base = mlp_vae(latent_dim=2, hidden=8, image_shape=(1, 2, 2), rng=0)
    with pytest.raises(ValueError, match="beta"):
        VAE(base.encoder, base.decoder, 2, beta=beta)


def test_decoder_shape_mismatch_raises():
    encoder = nn.Sequential(nn.Flatten(), nn.Dense(4, 4, rng=0))
    decoder = nn.Dense(2, 3, rng=0)  # (N, 3) for inputs (N, 4)
    vae = VAE(encoder, decoder, latent_dim=2, rng=0)
    x = np.zeros((2, 4), dtype=np.float32)
    with pytest.raises(ValueError, match="must match"):
        vae.elbo(x)
    with pytest.raises(ValueError, match="must match"):
        vae.log_likelihood(x, sn.Tensor(np.zeros((2, 2), dtype=np.float32)))


def test_vae_refuses_images_in_0_255_with_a_message_that_says_scale():
    vae = mlp_vae(latent_dim=2, hidden=8, image_shape=(1, 4, 4), rng=0)
    x = binary_data(3, seed=9).astype(np.float32) * 255
    message = (r"VAE: values must lie in \[0, 1\] \(a Bernoulli likelihood.*scale the data "
               r"to \[0, 1\] first \(images in 0-255: divide by 255\)")
    with pytest.raises(ValueError, match=message):
        vae.loss(x)
    with pytest.raises(ValueError, match=message):
        vae.elbo(x)
    z = sn.Tensor(np.zeros((3, 2), np.float32))
    with pytest.raises(ValueError, match=message):
        vae.log_likelihood(x, z)
    assert np.isfinite(float(vae.loss(x / 255).numpy()))


def test_a_gaussian_vae_does_not_check_the_range_of_its_data():
    vae = mlp_vae(latent_dim=2, hidden=8, image_shape=(1, 4, 4), likelihood="gaussian",
                  output_logvar=0.0, rng=0)
    x = binary_data(3, seed=9).astype(np.float32) * 255
    assert np.isfinite(float(vae.loss(x).numpy()))


@pytest.mark.parametrize("latent_dim", [0, -1])
def test_a_latent_dim_that_is_not_a_positive_integer_is_refused(latent_dim):
    base = mlp_vae(latent_dim=2, hidden=8, image_shape=(1, 2, 2), rng=0)
    with pytest.raises(ValueError, match="VAE: latent_dim must be a positive integer"):
        VAE(base.encoder, base.decoder, latent_dim)
    with pytest.raises(TypeError, match=r"VAE: expected an nn\.Module that maps z to data"):
        VAE(base.encoder, lambda z: z, 2)


# ---- 11. dtype discipline --------------------------------------------------------------------

@pytest.mark.parametrize("options", [
    {},
    {"beta": 3.0},
    {"iw_samples": 3},
    {"likelihood": "gaussian", "output_logvar": 0.5},
    {"likelihood": "gaussian", "output_logvar": "learned"},
    {"likelihood": "gaussian", "output_logvar": "learned", "iw_samples": 2},
])
def test_float32_throughout(options):
    vae = mlp_vae(latent_dim=2, hidden=8, image_shape=(1, 3, 3), rng=0, **options)
    x = binary_data(4, shape=(1, 3, 3), seed=10).astype(np.float32)
    assert vae.elbo(x).dtype == np.float32
    assert vae.iw_bound(x, 2).dtype == np.float32
    assert vae.sample(2).dtype == np.float32
    assert vae.reconstruct(x).dtype == np.float32
    loss = vae.loss(x)
    assert loss.dtype == np.float32
    loss.backward()
    for p in vae.parameters():
        assert p.dtype == np.float32
        assert p.grad is not None and p.grad.dtype == np.float32


def test_kl_per_unit_sums_to_the_closed_form_kl(float64):
    vae = mlp_vae(latent_dim=3, hidden=8, image_shape=(1, 2, 2), rng=0)
    x = np.random.default_rng(0).random((6, 1, 2, 2))
    per_unit = vae.kl_per_unit(x)
    mu, logvar = (t.data for t in vae.encode(x))
    expected = (0.5 * (mu ** 2 + np.exp(logvar) - 1 - logvar)).mean(axis=0)
    assert per_unit.shape == (3,)
    np.testing.assert_allclose(per_unit, expected, rtol=1e-12)
    np.testing.assert_allclose(per_unit.sum(), F.gaussian_kl(mu, logvar).data.mean(), rtol=1e-12)
