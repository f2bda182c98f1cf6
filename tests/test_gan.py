"""The GAN, measured: its losses and their gradients against NumPy on tiny linear nets, the
saturation of the minimax generator loss, the WGAN-GP gradient penalty (closed form for a
linear critic, NumPy and finite differences for a nonlinear one, double backprop included),
PacGAN packing, conditioning, the data range read off the generator, the training step and
training through ``sn.train.fit``, and a short run on the 8-mode ring that must cover most
modes."""

from __future__ import annotations

import time

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import nn, optim
from scratchnet.datasets.loader import DataLoader, StreamLoader
from scratchnet.datasets.synthetic import make_ring
from scratchnet.metrics import ring_coverage
from scratchnet.models.gan import (
    GAN,
    _constants,
    dcgan_discriminator,
    dcgan_generator,
    mlp_discriminator,
    mlp_generator,
)
from scratchnet.train import Callback, SampleGrid, fit

LATENT = 3


@pytest.fixture
def float64():
    sn.set_default_dtype(np.float64)  # conftest restores float32 afterwards


def np_softplus(f):
    return np.logaddexp(0.0, f)


def np_sigmoid(f):
    return 0.5 * (1.0 + np.tanh(0.5 * f))


# -- tiny nets with set weights -------------------------------------------------------------
G_WEIGHT = np.array([[0.7, -0.4], [0.2, 0.9], [-0.5, 0.3]])  # (latent 3, out 2)
G_BIAS = np.array([0.1, -0.2])
D_WEIGHT = np.array([0.8, -1.3])
D_BIAS = 0.25


def linear_gan(loss="non_saturating", d_weight=D_WEIGHT, d_bias=D_BIAS, pack=1, **kwargs):
    """G(z) = z Wg + bg, D(x) = x·w + b, both float64 Dense layers with the weights above."""
    generator = nn.Dense(LATENT, 2, rng=0)
    generator.weight.data[...] = G_WEIGHT
    generator.bias.data[...] = G_BIAS
    d_weight = np.asarray(d_weight, dtype=np.float64)
    discriminator = nn.Dense(len(d_weight), 1, rng=1)
    discriminator.weight.data[...] = d_weight[:, None]
    discriminator.bias.data[...] = d_bias
    return GAN(generator, discriminator, LATENT, loss=loss, pack=pack, **kwargs)


def real_batch(n=6, seed=11):
    return np.random.default_rng(seed).normal(size=(n, 2)) + np.array([1.0, -0.5])


def np_fakes(seed, n):
    """The fakes the GAN draws with ``rng = default_rng(seed)``: z first, then G(z)."""
    z = np.random.default_rng(seed).standard_normal((n, LATENT))
    return z, z @ G_WEIGHT + G_BIAS


def d_grads(gan):
    d = gan.discriminator
    return d.weight.grad.numpy()[:, 0], float(d.bias.grad.numpy()[0])


# -- losses against NumPy -------------------------------------------------------------------
@pytest.mark.parametrize("loss", ["non_saturating", "minimax"])
def test_discriminator_loss_and_its_gradient_match_numpy(float64, loss):
    gan, real = linear_gan(loss), real_batch()
    gan.rng = np.random.default_rng(5)
    value, logs = gan.discriminator_loss(real)
    value.backward()

    _, fake = np_fakes(5, len(real))
    l_real, l_fake = real @ D_WEIGHT + D_BIAS, fake @ D_WEIGHT + D_BIAS
    expected = np_softplus(-l_real).mean() + np_softplus(l_fake).mean()
    assert float(value.data) == pytest.approx(expected, rel=1e-12)
    assert logs["d_loss"] == pytest.approx(expected, rel=1e-12)
    assert logs["d_real"] == pytest.approx(np_sigmoid(l_real).mean(), rel=1e-12)
    assert logs["d_fake"] == pytest.approx(np_sigmoid(l_fake).mean(), rel=1e-12)

    # d/dw softplus(-(w·x + b)) = -σ(-ℓ) x and d/dw softplus(w·x + b) = σ(ℓ) x.
    s_real, s_fake = -np_sigmoid(-l_real), np_sigmoid(l_fake)
    grad_w = (s_real[:, None] * real).mean(axis=0) + (s_fake[:, None] * fake).mean(axis=0)
    grad_b = s_real.mean() + s_fake.mean()
    got_w, got_b = d_grads(gan)
    np.testing.assert_allclose(got_w, grad_w, rtol=1e-10)
    assert got_b == pytest.approx(grad_b, rel=1e-10)
    # The fakes are drawn without a graph: D's loss does not reach G.
    assert all(p.grad is None for p in gan.generator.parameters())


@pytest.mark.parametrize("loss", ["non_saturating", "minimax"])
def test_generator_losses_and_their_gradients_match_numpy(float64, loss):
    gan, n = linear_gan(loss), 7
    gan.rng = np.random.default_rng(8)
    value = gan.generator_loss(n)
    value.backward()

    z, fake = np_fakes(8, n)
    l_fake = fake @ D_WEIGHT + D_BIAS
    if loss == "minimax":
        expected = -np_softplus(l_fake).mean()          # E[log(1 − D(G(z)))]
        dl = -np_sigmoid(l_fake)                        # d/dℓ of −softplus(ℓ)
    else:
        expected = np_softplus(-l_fake).mean()          # −E[log D(G(z))]
        dl = -np_sigmoid(-l_fake)                       # d/dℓ of softplus(−ℓ)
    assert float(value.data) == pytest.approx(expected, rel=1e-12)
    # ℓ_i = (z_i Wg + bg)·w + b, so ∂ℓ_i/∂Wg = z_i wᵀ and ∂ℓ_i/∂bg = w.
    grad_wg = np.einsum("i,ia,c->ac", dl, z, D_WEIGHT) / n
    grad_bg = dl.mean() * D_WEIGHT
    np.testing.assert_allclose(gan.generator.weight.grad.numpy(), grad_wg, rtol=1e-10)
    np.testing.assert_allclose(gan.generator.bias.grad.numpy(), grad_bg, rtol=1e-10)


def test_minimax_generator_gradient_vanishes_when_d_rejects_the_fakes(float64):
    # A discriminator so sure that every fake is fake: ℓ_fake ≈ −12, D(G(z)) ≈ 6e-6.
    norms = {}
    for loss in ("minimax", "non_saturating"):
        gan = linear_gan(loss, d_weight=[0.05, -0.05], d_bias=-12.0)
        gan.rng = np.random.default_rng(3)
        gan.generator_loss(16).backward()
        norms[loss] = np.linalg.norm(gan.generator.weight.grad.numpy())
    # Saturated: ∝ σ(ℓ) ≈ e^ℓ, against ∝ σ(−ℓ) ≈ 1 for the non-saturating loss.
    assert norms["non_saturating"] > 1e-2
    assert norms["minimax"] < 1e-4 * norms["non_saturating"]


def test_wgan_critic_and_generator_losses_match_numpy(float64):
    gan, real = linear_gan("wgan_gp", gp_weight=3.0), real_batch()
    gan.rng = np.random.default_rng(4)
    value, logs = gan.discriminator_loss(real)
    value.backward()

    _, fake = np_fakes(4, len(real))
    distance = (real @ D_WEIGHT).mean() - (fake @ D_WEIGHT).mean()
    norm = np.linalg.norm(D_WEIGHT)
    penalty = (norm - 1.0) ** 2      # ∇ₓ(w·x + b) = w everywhere
    assert logs["wasserstein"] == pytest.approx(distance, rel=1e-12)
    assert logs["gradient_penalty"] == pytest.approx(penalty, rel=1e-9)
    assert float(value.data) == pytest.approx(-distance + 3.0 * penalty, rel=1e-9)
    # d/dw: −(mean x_real − mean x_fake) + λ·2(‖w‖ − 1)·w/‖w‖ (through the double backprop).
    grad_w = -(real.mean(axis=0) - fake.mean(axis=0)) + 3.0 * 2 * (norm - 1) * D_WEIGHT / norm
    got_w, got_b = d_grads(gan)
    np.testing.assert_allclose(got_w, grad_w, rtol=1e-9)
    assert got_b == pytest.approx(0.0, abs=1e-12)

    gan.rng = np.random.default_rng(9)
    g_value = gan.generator_loss(5)
    g_value.backward()
    z, fake = np_fakes(9, 5)
    assert float(g_value.data) == pytest.approx(-(fake @ D_WEIGHT + D_BIAS).mean(), rel=1e-12)
    np.testing.assert_allclose(gan.generator.weight.grad.numpy(),
                               -np.outer(z.mean(axis=0), D_WEIGHT), rtol=1e-10)


def test_the_loss_name_is_checked():
    with pytest.raises(ValueError, match="loss must be one of"):
        GAN(nn.Dense(2, 2), nn.Dense(2, 1), 2, loss="hinge")


# -- the gradient penalty -------------------------------------------------------------------
@pytest.mark.parametrize("weight", [[0.8, -1.3], [0.3, 0.4], [0.6, 0.8]])
def test_penalty_of_a_linear_critic_is_the_squared_distance_of_its_norm_from_one(float64,
                                                                                  weight):
    gan = linear_gan("wgan_gp", d_weight=weight, rng=0)
    real, fake = real_batch(8), real_batch(8, seed=12)
    penalty = float(gan.gradient_penalty(sn.Tensor(real), sn.Tensor(fake)).data)
    assert penalty == pytest.approx((np.linalg.norm(weight) - 1.0) ** 2, abs=1e-10)


def test_penalty_with_packing_takes_the_norm_over_each_packed_group(float64):
    # D sees pairs: one 4-vector per pair, so ∇ = w over all 4 entries, not per sample.
    weight = np.array([0.3, 0.4, 1.2, -0.5])
    gan = linear_gan("wgan_gp", d_weight=weight, pack=2, rng=0)
    real, fake = real_batch(8), real_batch(8, seed=12)
    penalty = float(gan.gradient_penalty(sn.Tensor(real), sn.Tensor(fake)).data)
    assert penalty == pytest.approx((np.linalg.norm(weight) - 1.0) ** 2, abs=1e-10)


def tanh_critic():
    return nn.Sequential(nn.Dense(2, 3, activation="tanh", rng=2), nn.Dense(3, 1, rng=3))


def test_penalty_of_a_nonlinear_critic_matches_numpy(float64):
    critic = tanh_critic()
    gan = GAN(nn.Dense(LATENT, 2, rng=0), critic, LATENT, loss="wgan_gp")
    real, fake = real_batch(8), real_batch(8, seed=12)
    gan.rng = np.random.default_rng(21)
    penalty = float(gan.gradient_penalty(sn.Tensor(real), sn.Tensor(fake)).data)

    eps = np.random.default_rng(21).random((8, 1))
    mixed = eps * real + (1 - eps) * fake
    W1, b1 = critic[0].weight.numpy(), critic[0].bias.numpy()
    W2 = critic[1].weight.numpy()
    h = np.tanh(mixed @ W1 + b1)
    slopes = ((1 - h ** 2) * W2[:, 0]) @ W1.T         # ∇ₓ [tanh(x W1 + b1) W2 + b2]
    expected = np.mean((np.linalg.norm(slopes, axis=1) - 1.0) ** 2)
    assert penalty == pytest.approx(expected, rel=1e-9)


def penalty_of_weights(seed=21):
    """The penalty as a function of the critic's weight tensors, with ε fixed by a seed."""
    critic = tanh_critic()
    gan = GAN(nn.Dense(LATENT, 2, rng=0), critic, LATENT, loss="wgan_gp")
    real, fake = sn.Tensor(real_batch(5)), sn.Tensor(real_batch(5, seed=12))

    def fn(W1, b1, W2, b2):
        # gradcheck evaluates fn under no_grad(); the penalty differentiates D inside.
        with sn.enable_grad():
            return penalty(W1, b1, W2, b2)

    def penalty(W1, b1, W2, b2):
        for layer, weight, bias in ((critic[0], W1, b1), (critic[1], W2, b2)):
            object.__setattr__(layer, "weight", weight)
            object.__setattr__(layer, "bias", bias)
        gan.rng = np.random.default_rng(seed)
        return gan.gradient_penalty(real, fake)

    weights = [critic[0].weight.numpy().copy(), critic[0].bias.numpy().copy(),
               critic[1].weight.numpy().copy(), critic[1].bias.numpy().copy()]
    return fn, weights


def test_penalty_passes_gradcheck_with_respect_to_the_critic_weights(float64):
    fn, weights = penalty_of_weights()
    assert sn.gradcheck(fn, weights)


def test_penalty_passes_gradgradcheck_with_respect_to_the_critic_weights(float64):
    fn, weights = penalty_of_weights()
    assert sn.gradgradcheck(fn, weights)


# -- packing --------------------------------------------------------------------------------
class Recorder(nn.Module):
    """A network that remembers its last input."""

    def __init__(self, net):
        super().__init__()
        self.net = net
        self.seen = None

    def forward(self, x):
        self.seen = x.numpy().copy()
        return self.net(x)


def test_pack_joins_consecutive_samples_along_the_feature_axis():
    d = Recorder(mlp_discriminator(2, (4,), pack=2, rng=0))
    gan = GAN(mlp_generator(2, 2, (4,), rng=0), d, 2, pack=2)
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    scores = gan.score(x)
    assert scores.shape == (3,)
    np.testing.assert_array_equal(d.seen, [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]])


def test_pack_joins_images_along_the_channel_axis():
    d = Recorder(nn.Sequential(nn.Flatten(), nn.Dense(3 * 2 * 4 * 4, 1, rng=0)))
    gan = GAN(nn.Dense(2, 3 * 16, rng=0), d, 2, pack=2)
    x = np.random.default_rng(0).random((4, 3, 4, 4)).astype(np.float32)
    assert gan.score(x).shape == (2,)
    assert d.seen.shape == (2, 6, 4, 4)
    np.testing.assert_array_equal(d.seen[1, :3], x[2])
    np.testing.assert_array_equal(d.seen[1, 3:], x[3])


def test_a_batch_that_does_not_split_into_packs_raises():
    gan = GAN(mlp_generator(2, 2, (4,), rng=0), mlp_discriminator(2, (4,), pack=2, rng=0), 2,
              pack=2, rng=0)
    x = np.zeros((5, 2), np.float32)
    with pytest.raises(ValueError, match="cannot be split into packs of 2"):
        gan.score(x)
    before = params(gan.generator) + params(gan.discriminator)
    with pytest.raises(ValueError, match="cannot be split into packs of 2"):
        gan.training_step(x, gan.configure_optimizers())
    # Refused before any update: no weight moved.
    for b, a in zip(before, params(gan.generator) + params(gan.discriminator)):
        np.testing.assert_array_equal(b, a)
    with pytest.raises(ValueError, match=r"packs of 2.*drop_last=True"):
        fit(gan, loader=DataLoader(np.zeros((12, 2), np.float32), batch_size=3, rng=0),
            epochs=1, progress=False)


# -- conditioning ---------------------------------------------------------------------------
def conditional_mlp_gan(k=3, pack=1):
    g = Recorder(mlp_generator(2, 2, (4,), n_classes=k, rng=0))
    d = Recorder(mlp_discriminator(2, (4,), pack=pack, n_classes=k, rng=1))
    return GAN(g, d, 2, n_classes=k, pack=pack, rng=0), g, d


def test_conditional_gan_appends_one_hot_labels_as_features():
    gan, g, d = conditional_mlp_gan()
    labels = np.array([2, 0, 1, 2])
    x = np.random.default_rng(0).normal(size=(4, 2)).astype(np.float32)
    gan.discriminator_loss(x, labels)
    np.testing.assert_array_equal(g.seen[:, 2:], np.eye(3)[labels])
    np.testing.assert_array_equal(d.seen[:, :2], g.net(sn.Tensor(g.seen)).numpy())  # fakes
    np.testing.assert_array_equal(d.seen[:, 2:], np.eye(3)[labels])

    gan.score(x, np.eye(3, dtype=np.float32)[labels])
    np.testing.assert_array_equal(d.seen, np.concatenate([x, np.eye(3)[labels]], axis=1))

    samples = gan.sample(4, labels)
    assert samples.shape == (4, 2)
    np.testing.assert_array_equal(g.seen[:, 2:], np.eye(3)[labels])


def test_conditional_pack_appends_labels_before_packing():
    gan, _, d = conditional_mlp_gan(k=2, pack=2)
    x = np.arange(8, dtype=np.float32).reshape(4, 2)
    codes = np.eye(2, dtype=np.float32)[[1, 0, 0, 1]]
    gan.score(x, codes)
    np.testing.assert_array_equal(d.seen, [[0, 1, 0, 1, 2, 3, 1, 0], [4, 5, 1, 0, 6, 7, 0, 1]])


def test_conditional_images_get_one_constant_plane_per_class():
    d = Recorder(dcgan_discriminator(width=2, n_classes=3, rng=0))
    gan = GAN(dcgan_generator(latent_dim=2, width=2, n_classes=3, rng=0), d, 2, n_classes=3,
              rng=0)
    labels = np.array([1, 2])
    images = np.random.default_rng(0).random((2, 1, 28, 28)).astype(np.float32)
    codes = np.eye(3, dtype=np.float32)[labels]
    gan.score(images, codes)
    assert d.seen.shape == (2, 4, 28, 28)
    np.testing.assert_array_equal(d.seen[:, 0], images[:, 0])
    np.testing.assert_array_equal(d.seen[:, 1:], np.broadcast_to(codes[:, :, None, None],
                                                                 (2, 3, 28, 28)))
    assert gan.sample(2, labels).shape == (2, 1, 28, 28)


def test_labels_are_required_exactly_when_conditional_and_must_be_in_range():
    gan, _, _ = conditional_mlp_gan(k=3)
    with pytest.raises(ValueError, match="needs labels"):
        gan.sample(4)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        gan.sample(2, np.array([0, 3]))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        gan.sample(2, np.array([-1, 0]))
    with pytest.raises(ValueError, match="3 labels for 2 samples"):
        gan.sample(2, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="1-D integer array"):
        gan.sample(2, np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="needs labels"):
        gan.training_step(np.zeros((4, 2), np.float32), gan.configure_optimizers())

    plain = GAN(mlp_generator(2, 2, (4,), rng=0), mlp_discriminator(2, (4,), rng=0), 2)
    with pytest.raises(ValueError, match="not conditional"):
        plain.sample(2, np.array([0, 1]))
    assert plain.sample(2).shape == (2, 2)


# -- the data range -------------------------------------------------------------------------
def image_gan(output="sigmoid", **options):
    return GAN(dcgan_generator(latent_dim=2, width=2, output=output, rng=0),
               dcgan_discriminator(width=2, rng=1), 2, rng=0, **options)


def images_in_0_255(n=4, seed=0):
    return (np.random.default_rng(seed).random((n, 1, 28, 28)) * 255).astype(np.float32)


def test_gan_with_a_sigmoid_generator_refuses_images_in_0_255_with_a_message_that_says_scale():
    gan = image_gan("sigmoid")
    assert gan.data_range == (0.0, 1.0)
    images = images_in_0_255()
    before = params(gan.generator) + params(gan.discriminator)
    with pytest.raises(ValueError, match=r"GAN: values must lie in \[0, 1\].*scale the data "
                                         r"to \[0, 1\].*divide by 255"):
        gan.training_step(images, gan.configure_optimizers())
    for b, a in zip(before, params(gan.generator) + params(gan.discriminator)):
        np.testing.assert_array_equal(b, a)  # refused before any update
    with pytest.raises(ValueError, match="scale the data"):
        fit(gan, loader=DataLoader(images, batch_size=4, drop_last=True, rng=0), epochs=1,
            progress=False)
    # The same images divided by 255 train.
    logs = gan.training_step(images / 255, gan.configure_optimizers())
    assert all(np.isfinite(v) for v in logs.values())


def test_gan_with_a_tanh_generator_needs_data_in_minus_one_to_one():
    gan = image_gan("tanh")
    assert gan.data_range == (-1.0, 1.0)
    images = images_in_0_255()
    with pytest.raises(ValueError, match=r"values must lie in \[-1, 1\].*scale the data"):
        gan.training_step(images, gan.configure_optimizers())
    logs = gan.training_step(images / 127.5 - 1.0, gan.configure_optimizers())
    assert all(np.isfinite(v) for v in logs.values())


def test_an_mlp_generator_with_a_linear_output_does_not_check_the_range_of_ring_data():
    gan = GAN(mlp_generator(2, 2, (8,), rng=0), mlp_discriminator(2, (8,), rng=1), 2, rng=0)
    assert gan.data_range is None
    ring = 3.0 * make_ring(16, rng=0)[0]  # radius 3: outside both [0, 1] and [-1, 1]
    assert ring.min() < -1 and ring.max() > 1
    logs = gan.training_step(ring, gan.configure_optimizers())
    assert all(np.isfinite(v) for v in logs.values())


def test_data_range_can_be_set_by_hand_or_switched_off():
    unchecked = image_gan("sigmoid", data_range=None)
    assert unchecked.data_range is None
    unchecked.discriminator_loss(images_in_0_255())  # no error: nothing is checked
    ring = make_ring(16, rng=0)[0]
    custom = GAN(mlp_generator(2, 2, (8,), rng=0), mlp_discriminator(2, (8,), rng=1), 2,
                 data_range=(-2, 2), rng=0)
    assert custom.data_range == (-2.0, 2.0)
    custom.discriminator_loss(ring)
    with pytest.raises(ValueError, match=r"values must lie in \[-2, 2\].*data_range"):
        custom.discriminator_loss(3.0 * ring)
    with pytest.raises(ValueError, match="low < high"):
        GAN(mlp_generator(2, 2, (8,), rng=0), mlp_discriminator(2, (8,), rng=1), 2,
            data_range=(1.0, 1.0))


# -- the optimizers, the training step and fit ----------------------------------------------
def params(module):
    return [p.numpy().copy() for p in module.parameters()]


def count_steps(optimizer):
    calls = []
    original = optimizer.step

    def step():
        calls.append(1)
        original()

    optimizer.step = step
    return calls


def ring_gan(**options):
    return GAN(mlp_generator(2, 2, (8,), rng=0), mlp_discriminator(2, (8,), rng=1), 2, rng=0,
               **options)


def test_configure_optimizers_gives_each_player_an_adam_over_its_own_weights():
    gan = ring_gan()
    optimizers = gan.configure_optimizers()
    assert set(optimizers) == {"generator", "discriminator"}
    for name, module in (("generator", gan.generator), ("discriminator", gan.discriminator)):
        optimizer = optimizers[name]
        assert isinstance(optimizer, optim.Adam)
        assert [id(p) for p in optimizer.params] == [id(p) for p in module.parameters()]
        assert optimizer.lr == 2e-4 and optimizer.betas == (0.5, 0.999)  # DCGAN's
    apart = gan.configure_optimizers(lr=1e-4, betas=(0.0, 0.9), d_lr=4e-4)
    assert apart["generator"].lr == 1e-4 and apart["discriminator"].lr == 4e-4
    assert apart["generator"].betas == apart["discriminator"].betas == (0.0, 0.9)


@pytest.mark.parametrize(("loss", "keys"), [
    ("non_saturating", {"d_loss", "d_real", "d_fake", "g_loss"}),
    ("minimax", {"d_loss", "d_real", "d_fake", "g_loss"}),
    ("wgan_gp", {"d_loss", "wasserstein", "gradient_penalty", "g_loss"}),
])
def test_training_step_updates_both_players_with_d_steps_discriminator_steps(loss, keys):
    gan = ring_gan(loss=loss, d_steps=3)
    g_before, d_before = params(gan.generator), params(gan.discriminator)
    optimizers = gan.configure_optimizers()
    d_calls = count_steps(optimizers["discriminator"])
    g_calls = count_steps(optimizers["generator"])
    logs = gan.training_step(make_ring(16, rng=0)[0], optimizers)
    assert set(logs) == keys
    assert all(np.isfinite(v) and isinstance(v, float) for v in logs.values())
    assert len(d_calls) == 3 and len(g_calls) == 1
    assert all(not np.array_equal(b, a) for b, a in zip(g_before, params(gan.generator)))
    d_after = params(gan.discriminator)
    if loss == "wgan_gp":
        # A critic's output bias cancels in E[D(real)] − E[D(fake)] and has no gradient.
        np.testing.assert_array_equal(d_after.pop(), d_before.pop())
    assert all(not np.array_equal(b, a) for b, a in zip(d_before, d_after))


def test_training_step_takes_the_optimizers_as_a_dict_or_a_pair():
    real = make_ring(16, rng=0)[0]
    start = params(ring_gan().generator) + params(ring_gan().discriminator)
    results = []
    for form in ("dict", "pair"):
        gan = ring_gan()
        optimizers = gan.configure_optimizers(lr=1e-2)
        given = (optimizers if form == "dict"
                 else (optimizers["generator"], optimizers["discriminator"]))
        logs = gan.training_step(real, given)
        results.append((logs, params(gan.generator) + params(gan.discriminator)))
    (dict_logs, dict_weights), (pair_logs, pair_weights) = results
    assert dict_logs == pair_logs
    for first, second, initial in zip(dict_weights, pair_weights, start):
        np.testing.assert_array_equal(first, second)
        assert not np.array_equal(first, initial)
    gan = ring_gan()
    optimizers = gan.configure_optimizers()
    with pytest.raises(KeyError, match=r"no \['discriminator'\]"):
        gan.training_step(real, {"generator": optimizers["generator"]})
    with pytest.raises(TypeError, match="optimizers must be"):
        gan.training_step(real, optimizers["generator"])


def test_training_step_descends_each_players_own_loss(float64):
    # Adam's first step moves every parameter by lr·g/(|g| + ε) ≈ lr·sign(g): D down its
    # loss on this batch, then G down its loss against the updated D, on the next draw of z.
    lr, n = 1e-3, 6
    gan, real = linear_gan(), real_batch(n)
    gan.rng = np.random.default_rng(7)
    d_loss, _ = gan.discriminator_loss(real)
    d_loss.backward()
    d_sign = [np.sign(p.grad.numpy()) for p in gan.discriminator.parameters()]
    gan.discriminator.zero_grad()

    gan.rng = np.random.default_rng(7)
    g_before, d_before = params(gan.generator), params(gan.discriminator)
    gan.training_step(real, gan.configure_optimizers(lr=lr))
    for before, after, sign in zip(d_before, params(gan.discriminator), d_sign):
        np.testing.assert_allclose(after - before, -lr * sign, rtol=1e-4)

    w_new = gan.discriminator.weight.numpy()[:, 0]
    b_new = float(gan.discriminator.bias.numpy()[0])
    draws = np.random.default_rng(7)
    draws.standard_normal((n, LATENT))                 # D's fakes
    z = draws.standard_normal((n, LATENT))             # G's fakes
    dl = -np_sigmoid(-((z @ G_WEIGHT + G_BIAS) @ w_new + b_new))
    grad_wg = np.einsum("i,ia,c->ac", dl, z, w_new) / n
    grad_bg = dl.mean() * w_new
    g_after = params(gan.generator)
    np.testing.assert_allclose(g_after[0] - g_before[0], -lr * np.sign(grad_wg), rtol=1e-4)
    np.testing.assert_allclose(g_after[1] - g_before[1], -lr * np.sign(grad_bg), rtol=1e-4)


def test_fit_trains_a_gan_through_its_training_step_and_records_each_epochs_mean_logs(
        monkeypatch):
    x = make_ring(40, rng=0)[0]
    gan = ring_gan()
    recorded, epochs_seen = [], []
    original = gan.training_step

    def training_step(batch, optimizers):
        recorded.append((len(batch), sorted(optimizers), original(batch, optimizers)))
        return recorded[-1][2]

    monkeypatch.setattr(gan, "training_step", training_step)

    class Watch(Callback):
        def on_epoch_end(self, epoch, history, model):
            epochs_seen.append((epoch, history.last()))

    history = fit(gan, loader=DataLoader(x, batch_size=16, drop_last=True, rng=0), epochs=3,
                  callbacks=[Watch()], progress=False)
    assert len(recorded) == 3 * 2                      # 40 // 16 steps per epoch (drop_last)
    assert all(n == 16 for n, _, _ in recorded)
    # No optimizers given: fit used configure_optimizers()'s pair of players.
    assert all(names == ["discriminator", "generator"] for _, names, _ in recorded)
    assert set(history) == {"d_loss", "d_real", "d_fake", "g_loss"}
    for key, values in history.items():
        expected = [np.mean([r[2][key] for r in recorded[2 * e:2 * e + 2]]) for e in range(3)]
        np.testing.assert_allclose(values, expected, rtol=1e-12)
    assert [e for e, _ in epochs_seen] == [1, 2, 3]
    assert epochs_seen[-1][1]["g_loss"] == history["g_loss"][-1]


def test_fit_refuses_a_loss_fn_for_a_gan():
    gan = ring_gan()
    with pytest.raises(ValueError, match="a GAN trains through its own training_step; leave "
                                         "loss_fn out"):
        fit(gan, lambda m, x: m.generator_loss(len(x)), loader=[make_ring(8, rng=0)[0]],
            epochs=1, progress=False)


def test_fit_with_labels_trains_a_conditional_gan():
    x, _ = make_ring(32, rng=0)
    labels = np.arange(32) % 4
    gan = GAN(mlp_generator(2, 2, (8,), n_classes=4, rng=0),
              mlp_discriminator(2, (8,), n_classes=4, rng=1), 2, n_classes=4, rng=0)
    before = params(gan.generator)
    history = fit(gan, loader=DataLoader(x, labels, batch_size=8, drop_last=True, rng=0),
                  epochs=2, progress=False)
    assert len(history["g_loss"]) == 2
    assert all(not np.array_equal(b, a) for b, a in zip(before, params(gan.generator)))


def test_a_sample_grid_callback_saves_the_generators_samples_every_epoch(tmp_path):
    images = np.random.default_rng(0).random((8, 1, 28, 28)).astype(np.float32)
    gan = GAN(dcgan_generator(latent_dim=4, width=4, rng=0), dcgan_discriminator(width=4, rng=1),
              4, rng=0)
    folder = tmp_path / "samples"
    grid = SampleGrid(folder, n=4)
    history = fit(gan, loader=DataLoader(images, batch_size=4, drop_last=True, rng=0), epochs=2,
                  callbacks=[grid], progress=False)
    assert len(history["d_loss"]) == 2
    assert sorted(p.name for p in folder.iterdir()) == ["epoch_001.png", "epoch_002.png"]
    assert grid.saved == [folder / "epoch_001.png", folder / "epoch_002.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in grid.saved)


class EvalRecorder(nn.Module):
    """A network that remembers every input it sees in evaluation mode (sampling)."""

    def __init__(self, net):
        super().__init__()
        self.net = net
        self.seen = []

    def forward(self, x):
        if not self.training:
            self.seen.append(x.numpy().copy())
        return self.net(x)


def test_a_sample_grid_decodes_the_same_codes_every_epoch(tmp_path):
    # 2×2 "images" (4 outputs), so that the grid can be drawn.
    generator = EvalRecorder(mlp_generator(2, 4, (8,), rng=0))
    gan = GAN(generator, mlp_discriminator(4, (8,), rng=1), 2, rng=0)
    data = np.random.default_rng(1).random((16, 4)).astype(np.float32)
    start = params(gan.generator)
    grid = SampleGrid(tmp_path, n=5, seed=7)
    fit(gan, optimizer=gan.configure_optimizers(lr=1e-2),
        loader=DataLoader(data, batch_size=8, drop_last=True, rng=0), epochs=3,
        callbacks=[grid], progress=False)
    assert len(generator.seen) == 3 and len(grid.saved) == 3
    codes = np.random.default_rng(7).standard_normal((5, 2)).astype(np.float32)
    for seen in generator.seen:
        np.testing.assert_array_equal(seen, codes)
    # ... while the model itself changed between the grids.
    assert any(not np.array_equal(b, a) for b, a in zip(start, params(gan.generator)))


def test_two_calls_to_sample_with_the_same_seed_give_equal_arrays():
    gan = ring_gan()
    state = gan.rng.bit_generator.state
    first, second = gan.sample(8, rng=0), gan.sample(8, rng=0)
    np.testing.assert_array_equal(first.numpy(), second.numpy())
    assert not np.array_equal(first.numpy(), gan.sample(8, rng=1).numpy())
    # A seeded draw leaves the model's own generator where it was...
    assert gan.rng.bit_generator.state == state
    # ... which, used without a seed, gives new codes at every call.
    assert not np.array_equal(gan.sample(8).numpy(), gan.sample(8).numpy())
    with pytest.raises(ValueError, match="z has 3 rows for n=4 samples"):
        gan.sample(4, z=gan.sample_latent(3))


def test_sample_latent_draws_standard_normal_codes_in_the_networks_dtype(float64):
    gan = GAN(nn.Dense(LATENT, 2, rng=0), nn.Dense(2, 1, rng=1), LATENT, rng=4)
    z = gan.sample_latent(5, rng=9)
    assert isinstance(z, sn.Tensor) and z.dtype == np.float64 and z.shape == (5, LATENT)
    np.testing.assert_array_equal(z.numpy(), np.random.default_rng(9).standard_normal((5, 3)))
    # The seed 4 became one generator that the model keeps: successive draws continue it.
    expected = np.random.default_rng(4)
    for _ in range(2):
        np.testing.assert_array_equal(gan.sample_latent(2).numpy(),
                                      expected.standard_normal((2, LATENT)))


def test_sample_latent_follows_a_float32_generator():
    gan = GAN(nn.Dense(LATENT, 2, rng=0), nn.Dense(2, 1, rng=1), LATENT, rng=4)
    assert gan.sample_latent(3).dtype == np.float32


@pytest.mark.parametrize("latent_dim", [0, -2])
def test_a_latent_dim_that_is_not_a_positive_integer_is_refused(latent_dim):
    with pytest.raises(ValueError, match="GAN: latent_dim must be a positive integer"):
        GAN(nn.Dense(2, 2), nn.Dense(2, 1), latent_dim)
    with pytest.raises(TypeError, match="GAN: latent_dim must be an integer"):
        GAN(nn.Dense(2, 2), nn.Dense(2, 1), 1.5)


def test_a_generator_that_is_not_a_module_or_has_no_weights_is_refused():
    with pytest.raises(TypeError, match=r"GAN: expected an nn\.Module that maps z to data"):
        GAN(lambda z: z, nn.Dense(2, 1), 2)
    with pytest.raises(ValueError, match="GAN: the network that maps z to data has no "
                                         "parameters"):
        GAN(nn.Identity(), nn.Dense(2, 1), 2)


def test_sample_uses_eval_mode_and_restores_training():
    gan = GAN(dcgan_generator(latent_dim=4, width=4, rng=0), dcgan_discriminator(width=4, rng=1),
              4, rng=0)
    z = gan.sample_latent(3)
    first, second = gan.sample(3, z=z), gan.sample(3, z=z)
    np.testing.assert_array_equal(first.numpy(), second.numpy())  # BatchNorm's running stats
    assert first.shape == (3, 1, 28, 28) and not first.requires_grad
    assert gan.generator.training
    alone = gan.sample(1, z=sn.Tensor(z.numpy()[:1]))             # no batch statistics
    np.testing.assert_allclose(alone.numpy()[0], first.numpy()[0], rtol=1e-5, atol=1e-6)


# -- the 8-mode ring ------------------------------------------------------------------------
def test_a_short_run_on_the_ring_covers_most_modes():
    """PacGAN's ring (8 modes, radius 1, std 0.01), fresh samples each step (a StreamLoader
    of 2,500 batches of 128, one epoch of ``sn.train.fit``); PacGAN counts a mode as covered
    when one of 2,500 samples lands within 3 std of its centre.

    Measured with these settings for 10 seeds (nets, z and data): 8 modes after 2,500 steps
    for all 10, high-quality fraction 0.20 to 0.67; 6 to 8 modes after 2,000 steps. About
    15 s on one core.
    """
    gan = GAN(mlp_generator(2, 2, (128, 128), rng=0), mlp_discriminator(2, (128, 128), rng=1),
              2, rng=2)
    stream = StreamLoader(lambda n, rng: make_ring(n, rng=rng)[0], batch_size=128,
                          batches=2500, rng=3)
    start = time.perf_counter()
    history = fit(gan, optimizer=gan.configure_optimizers(lr=1e-3), loader=stream, epochs=1,
                  progress=False)
    assert history.epochs == 1
    centers = make_ring(1, rng=0)[1]
    modes, quality = ring_coverage(gan.sample(2500), centers, std=0.01)
    assert modes >= 6 and quality > 0.05, (modes, quality, time.perf_counter() - start)


def test_generator_step_leaves_the_discriminator_weights_constant():
    gan = GAN(mlp_generator(2, 2, hidden=(8,), rng=0), mlp_discriminator(2, hidden=(8,), rng=1),
              2, rng=2)
    optimizers = gan.configure_optimizers()
    snapshot = {}
    d_step = optimizers["discriminator"].step

    def recording_step():
        snapshot.update({id(p): p.grad.data.copy()
                         for p in gan.discriminator.parameters()})
        d_step()

    optimizers["discriminator"].step = recording_step
    gan.training_step(np.random.default_rng(3).normal(size=(16, 2)).astype(np.float32),
                      optimizers)
    for p in gan.discriminator.parameters():
        assert p.requires_grad
        np.testing.assert_array_equal(p.grad.data, snapshot[id(p)])  # G added nothing
    assert all(p.grad is not None for p in gan.generator.parameters())


def test_constants_gives_each_parameter_back_its_own_flag():
    # A weight the caller froze must stay frozen after D is held constant for G's step.
    gan = GAN(mlp_generator(2, 2, hidden=(8,), rng=0), mlp_discriminator(2, hidden=(8,), rng=1),
              2, rng=2)
    frozen = gan.discriminator.parameters()[0]
    frozen.requires_grad_(False)
    flags = [p.requires_grad for p in gan.discriminator.parameters()]
    assert flags.count(False) == 1
    with _constants(gan.discriminator):
        assert not any(p.requires_grad for p in gan.discriminator.parameters())
    assert [p.requires_grad for p in gan.discriminator.parameters()] == flags
    with pytest.raises(RuntimeError, match="inside"), _constants(gan.discriminator):
        raise RuntimeError("inside")                   # restored on the way out of an error too
    assert [p.requires_grad for p in gan.discriminator.parameters()] == flags

    kept = frozen.data.copy()
    trainable = [p for p in gan.discriminator.parameters() if p.requires_grad]
    optimizers = (optim.Adam(gan.generator.parameters(), lr=1e-2), optim.Adam(trainable, lr=1e-2))
    gan.training_step(np.random.default_rng(3).normal(size=(16, 2)).astype(np.float32),
                      optimizers)
    assert [p.requires_grad for p in gan.discriminator.parameters()] == flags
    np.testing.assert_array_equal(frozen.data, kept)   # and no optimizer moved it


# -- the DCGAN builders' options: the paper's initialisation, no bias before BatchNorm ------
def _layers(module, kind):
    return [m for m in module.modules() if isinstance(m, kind)]


def test_dcgan_init_draws_weights_from_n_0_002_and_batchnorm_scales_from_n_1_002():
    g = dcgan_generator(latent_dim=64, width=16, init="dcgan", rng=0)
    d = dcgan_discriminator(width=16, init="dcgan", rng=1)
    for layer in _layers(g, (nn.Dense, nn.ConvTranspose2D)) + _layers(d, (nn.Dense, nn.Conv2D)):
        w = layer.weight.data
        # std 0.02 to within 5 standard errors of a sample std, and mean 0 likewise
        tolerance = 5 * 0.02 / np.sqrt(2 * w.size)
        assert abs(w.std() - 0.02) < max(tolerance, 0.004), type(layer).__name__
        assert abs(w.mean()) < 5 * 0.02 / np.sqrt(w.size)
        assert np.all(layer.bias.data == 0)
    for bn in _layers(g, (nn.BatchNorm1D, nn.BatchNorm2D)):
        gamma = bn.weight.data
        assert abs(gamma.mean() - 1) < 5 * 0.02 / np.sqrt(gamma.size)
        assert 0.01 < gamma.std() < 0.03 and np.all(bn.bias.data == 0)


def test_the_default_init_keeps_each_layers_own_initialiser():
    g = dcgan_generator(latent_dim=64, width=16, rng=0)
    dense = _layers(g, nn.Dense)[0].weight.data
    limit = np.sqrt(6 / (64 + 2 * 16 * 49))                  # Glorot uniform's bound
    assert np.abs(dense).max() <= limit and dense.std() > 0.5 * limit / np.sqrt(3)
    assert all(np.all(bn.weight.data == 1) for bn in _layers(g, (nn.BatchNorm1D,
                                                                  nn.BatchNorm2D)))
    # the options' defaults draw exactly what the builder drew before they existed
    same = dcgan_generator(latent_dim=64, width=16, init="default", bias=True, rng=0)
    for p, q in zip(g.parameters(), same.parameters(), strict=True):
        np.testing.assert_array_equal(p.data, q.data)


@pytest.mark.parametrize("latent, width, classes", [(64, 16, 0), (8, 4, 10)])
def test_dcgan_generator_parameter_counts_with_and_without_the_biases_before_batchnorm(
        latent, width, classes):
    w = width
    weights = (latent + classes) * 98 * w + 2 * w * w * 16 + w * 16 + 1   # + output bias
    batchnorm = 2 * (98 * w + w)
    with_bias = dcgan_generator(latent, width, n_classes=classes, rng=0)
    without = dcgan_generator(latent, width, n_classes=classes, bias=False, rng=0)
    assert with_bias.num_parameters() == weights + batchnorm + 98 * w + w
    assert without.num_parameters() == weights + batchnorm
    dense, conv = _layers(without, nn.Dense)[0], _layers(without, nn.ConvTranspose2D)
    assert dense.bias is None and conv[0].bias is None and conv[1].bias is not None


@pytest.mark.parametrize("bias, init", [(True, "default"), (False, "default"),
                                        (True, "dcgan")])
def test_dcgan_generator_extra_layer_adds_a_size_keeping_7x7_convolution_and_nothing_else(
        bias, init):
    w = 4
    plain = dcgan_generator(latent_dim=8, width=w, bias=bias, init=init, rng=0)
    deeper = dcgan_generator(latent_dim=8, width=w, bias=bias, init=init, extra_layer=True,
                             rng=0)
    extra = 2 * w * 2 * w * 9 + 2 * (2 * w) + (2 * w if bias else 0)
    assert deeper.num_parameters() == plain.num_parameters() + extra
    first = _layers(deeper, nn.ConvTranspose2D)[0]
    assert first.weight.shape[2:] == (3, 3) and (first.bias is not None) == bias
    # the other layers start from exactly the weights they have without the option
    for kind in (nn.Dense, nn.ConvTranspose2D):
        kept = _layers(deeper, kind)[1:] if kind is nn.ConvTranspose2D else _layers(deeper,
                                                                                   kind)
        for p, q in zip(_layers(plain, kind), kept, strict=True):
            np.testing.assert_array_equal(p.weight.data, q.weight.data)
    # and so do the BatchNorm scales, which init="dcgan" draws at random
    scales = [bn.weight.data for bn in _layers(deeper, (nn.BatchNorm1D, nn.BatchNorm2D))]
    for p, q in zip(_layers(plain, (nn.BatchNorm1D, nn.BatchNorm2D)),
                    scales[:1] + scales[2:], strict=True):
        np.testing.assert_array_equal(p.weight.data, q)
    z = sn.Tensor(np.random.default_rng(0).standard_normal((5, 8)))
    assert deeper(z).shape == (5, 1, 28, 28)
    layers = list(deeper)
    assert isinstance(layers[layers.index(first) + 1], nn.BatchNorm2D)


def test_a_bias_before_batchnorm_has_no_effect_on_the_generators_output():
    g = dcgan_generator(latent_dim=4, width=4, rng=0)
    z = sn.Tensor(np.random.default_rng(0).standard_normal((8, 4)))
    before = g(z).data.copy()                                   # training mode: batch stats
    for layer in (_layers(g, nn.Dense)[0], _layers(g, nn.ConvTranspose2D)[0]):
        layer.bias.data[...] = np.random.default_rng(1).normal(0, 3, layer.bias.shape)
    np.testing.assert_allclose(g(z).data, before, atol=1e-5)


def test_dcgan_discriminator_batch_norm_follows_the_second_convolution_which_drops_its_bias():
    plain = dcgan_discriminator(width=4, rng=1)
    normed = dcgan_discriminator(width=4, batch_norm=True, rng=1)
    first, second = _layers(normed, nn.Conv2D)
    assert first.bias is not None and second.bias is None
    (bn,) = _layers(normed, nn.BatchNorm2D)
    assert bn.weight.shape == (8,)
    layers = list(normed)
    assert layers.index(second) + 1 == layers.index(bn)
    assert not _layers(plain, nn.BatchNorm2D)
    # γ and β (2·2w) added, the second convolution's bias (2w) gone
    assert normed.num_parameters() == plain.num_parameters() + 2 * 8 - 8
    # the option adds a layer without changing the weights the builder draws
    for kind in (nn.Conv2D, nn.Dense):
        for p, q in zip(_layers(plain, kind), _layers(normed, kind), strict=True):
            np.testing.assert_array_equal(p.weight.data, q.weight.data)
    x = sn.Tensor(np.random.default_rng(0).random((6, 1, 28, 28)))
    assert normed(x).shape == (6, 1)


def test_batch_norm_makes_each_score_depend_on_the_rest_of_its_batch():
    """Why GAN calls D on the real and the generated batch apart, and why WGAN-GP refuses
    such a critic: in training mode, one image's logit changes with its batch-mates."""
    d = dcgan_discriminator(width=4, batch_norm=True, rng=1)
    x = np.random.default_rng(0).random((6, 1, 28, 28))
    alone = d(sn.Tensor(x[:3])).data[0]
    mixed = d(sn.Tensor(np.concatenate([x[:1], x[3:]]))).data[0]
    assert abs(alone - mixed) > 1e-3
    d.eval()                                          # running statistics: no coupling
    np.testing.assert_allclose(d(sn.Tensor(x[:3])).data[0],
                               d(sn.Tensor(np.concatenate([x[:1], x[3:]]))).data[0],
                               rtol=1e-5)


def test_wgan_gp_refuses_a_critic_with_batch_norm():
    with pytest.raises(ValueError, match="GAN: loss='wgan_gp' needs a critic without BatchNorm"):
        GAN(dcgan_generator(latent_dim=4, width=4, rng=0),
            dcgan_discriminator(width=4, batch_norm=True, rng=1), 4, loss="wgan_gp")
    GAN(dcgan_generator(latent_dim=4, width=4, rng=0),     # the other losses accept it
        dcgan_discriminator(width=4, batch_norm=True, rng=1), 4, loss="non_saturating")


@pytest.mark.parametrize("builder", [dcgan_generator, dcgan_discriminator])
def test_an_unknown_init_is_refused_with_the_builders_name(builder):
    with pytest.raises(ValueError, match=f"{builder.__name__}: init must be one of"):
        builder(init="xavier")
