"""models.cyclegan: two generators, two least-squares discriminators and the cycle loss."""

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import nn
from scratchnet.datasets import DataLoader, load_mnist
from scratchnet.datasets.edges import dilate
from scratchnet.models.cyclegan import CycleGAN
from scratchnet.models.gan import _constants
from scratchnet.models.image_to_image import encoder_decoder, patchgan_discriminator


def images(n=4, c=1, h=6, w=6, seed=0):
    return np.random.default_rng(seed).random((n, c, h, w)).astype(np.float32)


def tiny(cycle_weight=10.0, identity_weight=0.0):
    """Four 1×1 convolutions: G and F scale and shift each pixel (then a sigmoid); D_A and
    D_B score each pixel, so every pixel is a patch."""
    return CycleGAN(nn.Conv2D(1, 1, 1, activation="sigmoid", rng=0),
                    nn.Conv2D(1, 1, 1, activation="sigmoid", rng=1),
                    nn.Conv2D(1, 1, 1, rng=2), nn.Conv2D(1, 1, 1, rng=3),
                    cycle_weight=cycle_weight, identity_weight=identity_weight)


def affine(conv, x, sigmoid=False):
    """A 1×1 one-channel convolution in NumPy."""
    y = conv.weight.numpy().reshape(()) * x + conv.bias.numpy().reshape(())
    return 1 / (1 + np.exp(-y)) if sigmoid else y


def test_the_losses_equal_a_hand_computation():
    model = tiny(cycle_weight=3.0, identity_weight=0.5)
    a, b = images(seed=1), images(3, seed=2)      # batches of different sizes
    g, f = (lambda x: affine(model.g_ab, x, True)), (lambda x: affine(model.g_ba, x, True))
    s_a, s_b = (lambda x: affine(model.d_a, x)), (lambda x: affine(model.d_b, x))
    adv = ((s_b(g(a)) - 1) ** 2).mean() + ((s_a(f(b)) - 1) ** 2).mean()
    cycle = np.abs(f(g(a)) - a).mean() + np.abs(g(f(b)) - b).mean()
    identity = np.abs(g(b) - b).mean() + np.abs(f(a) - a).mean()
    total, parts, fake_b, _ = model.generator_loss(a, b)
    assert float(total.data) == pytest.approx(adv + 3.0 * cycle + 0.5 * identity, rel=1e-5)
    assert parts["cycle_loss"] == pytest.approx(cycle, rel=1e-5)
    assert parts["identity_loss"] == pytest.approx(identity, rel=1e-5)
    assert parts["adv_ab"] + parts["adv_ba"] == pytest.approx(adv, rel=1e-5)
    np.testing.assert_allclose(fake_b.numpy(), g(a), rtol=1e-5)
    d_b = model.discriminator_loss(model.d_b, b, fake_b)
    expected = 0.5 * (((s_b(b) - 1) ** 2).mean() + (s_b(g(a)) ** 2).mean())
    assert float(d_b.data) == pytest.approx(expected, rel=1e-5)


def test_without_the_cycle_weight_the_term_is_gone():
    model = tiny(cycle_weight=0.0)
    total, parts, _, _ = model.generator_loss(images(), images(seed=1))
    assert set(parts) == {"adv_ab", "adv_ba"}
    assert float(total.data) == pytest.approx(parts["adv_ab"] + parts["adv_ba"], rel=1e-6)


def test_the_discriminator_loss_reaches_only_the_discriminator():
    model = tiny()
    _, _, fake_b, _ = model.generator_loss(images(), images(seed=1))
    model.discriminator_loss(model.d_b, images(seed=1), fake_b).backward()
    for generator in (model.g_ab, model.g_ba):
        assert all(p.grad is None for p in generator.parameters())
    assert all(np.abs(p.grad.numpy()).sum() > 0 for p in model.d_b.parameters())
    assert all(p.grad is None for p in model.d_a.parameters())


def test_the_generator_loss_reaches_both_generators_and_no_discriminator():
    model = tiny()
    with _constants(model.d_a), _constants(model.d_b):
        total, _, _, _ = model.generator_loss(images(), images(seed=1))
    total.backward()
    for generator in (model.g_ab, model.g_ba):
        assert all(np.abs(p.grad.numpy()).sum() > 0 for p in generator.parameters())
    for discriminator in (model.d_a, model.d_b):
        assert all(p.grad is None for p in discriminator.parameters())


class Still:
    """An optimizer that clears and never steps: its player keeps its weights."""

    def __init__(self, params):
        self.params = list(params)

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        pass


def test_each_update_changes_only_its_own_player():
    batch = (images(seed=3), images(seed=4))
    for still, player in (("generator", ("g_ab", "g_ba")), ("discriminator", ("d_a", "d_b"))):
        model = tiny()
        optimizers = model.configure_optimizers(lr=0.1)
        optimizers[still] = Still(optimizers[still].params)
        before = {name: {k: v.copy() for k, v in getattr(model, name).state_dict().items()}
                  for name in ("g_ab", "g_ba", "d_a", "d_b")}
        logs = model.training_step(batch, optimizers)
        for name, weights in before.items():
            after = getattr(model, name).state_dict()
            unchanged = all(np.array_equal(after[k], v) for k, v in weights.items())
            assert unchanged == (name in player), name
        assert {"g_loss", "adv_ab", "adv_ba", "cycle_loss", "d_a_loss", "d_b_loss"} == set(logs)
        for d in (model.d_a, model.d_b):    # constants only during the generators' step
            assert all(p.requires_grad for p in d.parameters())


def test_the_generators_step_moves_the_discriminators_batchnorm_statistics_not_weights():
    # As documented (and as the paper's code does): D's weights are constants in G's step,
    # but a BatchNorm layer in training mode still updates its running mean and variance.
    model = CycleGAN(nn.Conv2D(1, 1, 1, activation="sigmoid", rng=0),
                     nn.Conv2D(1, 1, 1, activation="sigmoid", rng=1),
                     patchgan_discriminator(1, width=4, rng=2),
                     patchgan_discriminator(1, width=4, rng=3))
    optimizers = model.configure_optimizers(lr=0.1)
    before = {name: {k: v.copy() for k, v in getattr(model, name).state_dict().items()}
              for name in ("d_a", "d_b")}
    at_g_step = {}
    g_step = optimizers["generator"].step

    def recording_step():
        at_g_step.update({name: {k: v.copy() for k, v in getattr(model, name).state_dict()
                                 .items()} for name in ("d_a", "d_b")})
        g_step()

    optimizers["generator"].step = recording_step
    model.training_step((images(h=8, w=8, seed=3), images(h=8, w=8, seed=4)), optimizers)
    for name, state in before.items():
        statistics = [k for k in state if "running" in k]
        assert statistics, name
        for key, value in state.items():
            moved = not np.array_equal(at_g_step[name][key], value)
            assert moved == (key in statistics), (name, key)


def test_shapes_and_translations():
    model = CycleGAN(encoder_decoder(1, 3, width=4, rng=0), encoder_decoder(3, 1, width=4, rng=1),
                     patchgan_discriminator(1, width=4, rng=2),
                     patchgan_discriminator(3, width=4, rng=3))
    a, b = images(3, 1, 28, 28), images(2, 3, 28, 28, seed=1)
    ab = model.translate_ab(a, batch_size=2)
    assert ab.shape == (3, 3, 28, 28) and ab.creator is None
    np.testing.assert_allclose(ab.numpy(), model.translate_ab(a).numpy(), atol=1e-6)
    assert model.translate_ba(b).shape == (2, 1, 28, 28)
    logs = model.training_step((a, b), model.configure_optimizers())
    assert all(np.isfinite(v) for v in logs.values())
    assert model.g_ab.training                 # translate restored the training mode


def test_the_identity_term_needs_domains_of_one_shape():
    model = CycleGAN(nn.Conv2D(1, 3, 1), nn.Conv2D(3, 1, 1), nn.Conv2D(1, 1, 1),
                     nn.Conv2D(3, 1, 1), identity_weight=1.0)
    with pytest.raises(ValueError, match=r"CycleGAN: identity_weight > 0 .* one image shape; "
                       r"got a \(1, 6, 6\) and b \(3"):
        model.generator_loss(images(c=1), images(c=3))


def test_bad_arguments_are_refused():
    conv = [nn.Conv2D(1, 1, 1) for _ in range(4)]
    with pytest.raises(TypeError, match=r"CycleGAN: d_b must be an nn\.Module"):
        CycleGAN(*conv[:3], None)
    with pytest.raises(ValueError, match="CycleGAN: g_ab, g_ba, d_a and d_b must be four"):
        CycleGAN(conv[0], conv[0], conv[2], conv[3])
    with pytest.raises(ValueError, match="CycleGAN: cycle_weight"):
        CycleGAN(*conv, cycle_weight=-1.0)
    with pytest.raises(ValueError, match="CycleGAN: identity_weight"):
        CycleGAN(*conv, identity_weight=float("inf"))
    model = CycleGAN(*conv)
    optimizers = model.configure_optimizers()
    with pytest.raises(TypeError, match="CycleGAN: a batch is the pair"):
        model.training_step(images(), optimizers)
    with pytest.raises(ValueError, match=r"CycleGAN: b must be images .* \(4, 36\)"):
        model.training_step((images(), np.zeros((4, 36), np.float32)), optimizers)
    with pytest.raises(TypeError, match="CycleGAN: optimizers must be"):
        model.training_step((images(), images()), optimizers["generator"])


def test_fit_trains_it_through_its_own_step():
    model = tiny()
    history = sn.train.fit(model, loader=DataLoader(images(8), images(8, seed=1),
                                                    batch_size=4, rng=0),
                           epochs=1, progress=False)
    assert {"g_loss", "cycle_loss", "d_a_loss", "d_b_loss"} <= set(history.keys())


def test_thin_to_thick_moves_toward_the_thick_domain_on_a_short_run():
    # Domain A: digits; B: other digits, dilated. The weakest baseline translates nothing
    # (G(a) = a): its ink is A's, far below B's. After 40 steps G's output must be nearer
    # B's ink than that, and the round trip must rebuild a better than at the start.
    x, _ = load_mnist("train", source="bundled")
    xt, _ = load_mnist("test", source="bundled")
    a, b, a_test = x[:200], dilate(x[200:400], footprint="diamond"), xt[:100]
    sn.manual_seed(0)
    model = CycleGAN(encoder_decoder(1, 1, width=8, rng=0), encoder_decoder(1, 1, width=8, rng=1),
                     patchgan_discriminator(1, width=8, rng=2),
                     patchgan_discriminator(1, width=8, rng=3))

    def round_trip_error():
        return np.abs(model.translate_ba(model.translate_ab(a_test)).numpy() - a_test).mean()

    start = round_trip_error()
    optimizers = model.configure_optimizers(lr=1e-3)
    rng = np.random.default_rng(0)
    for _ in range(40):
        model.training_step((a[rng.integers(0, 200, 16)], b[rng.integers(0, 200, 16)]),
                            optimizers)
    ink_a, ink_b = a.mean(), b.mean()
    ink = model.translate_ab(a_test).numpy().mean()
    assert abs(ink - ink_b) < abs(ink_a - ink_b)
    assert round_trip_error() < 0.7 * start
