"""models.pix2pix: the conditional GAN of paired image-to-image translation."""

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import nn, optim
from scratchnet.datasets import DataLoader, load_mnist
from scratchnet.datasets.edges import sobel_edges
from scratchnet.models.gan import _constants
from scratchnet.models.image_to_image import UNet, patchgan_discriminator
from scratchnet.models.pix2pix import Pix2Pix


def images(n=4, c=1, h=8, w=8, seed=0):
    return np.random.default_rng(seed).random((n, c, h, w)).astype(np.float32)


def tiny(adversarial=1.0, l1_weight=100.0):
    """G: a 1×1 convolution with a sigmoid; D: a 1×1 convolution on the pair, a logit per
    pixel (so every pixel is a patch)."""
    g = nn.Conv2D(1, 1, 1, activation="sigmoid", rng=0)
    d = nn.Conv2D(2, 1, 1, rng=1) if adversarial > 0 else None
    return Pix2Pix(g, d, l1_weight=l1_weight, adversarial=adversarial)


def softplus(t):
    return np.logaddexp(0.0, t)


def by_hand(model, x, y):
    """G(x), and D's logits on the real and fake pairs, from the weights in NumPy."""
    g, d = model.generator, model.discriminator
    fake = 1 / (1 + np.exp(-(g.weight.numpy().reshape(()) * x + g.bias.numpy().reshape(()))))
    wd, bd = d.weight.numpy().reshape(2), d.bias.numpy().reshape(())
    return fake, wd[0] * x + wd[1] * y + bd, wd[0] * x + wd[1] * fake + bd


def test_the_losses_equal_a_hand_computation():
    model = tiny(adversarial=0.5, l1_weight=3.0)
    x, y = images(seed=1), images(seed=2)
    fake, real_logits, fake_logits = by_hand(model, x, y)
    d_loss, logs = model.discriminator_loss(x, y)
    expected_d = 0.5 * (softplus(-real_logits).mean() + softplus(fake_logits).mean())
    assert float(d_loss.data) == pytest.approx(expected_d, rel=1e-5)
    assert logs["d_real"] == pytest.approx((1 / (1 + np.exp(-real_logits))).mean(), rel=1e-5)
    g_loss, parts = model.generator_loss(x, y)
    l1 = np.abs(fake - y).mean()
    adv = softplus(-fake_logits).mean()
    assert parts["l1_loss"] == pytest.approx(l1, rel=1e-5)
    assert parts["adv_loss"] == pytest.approx(adv, rel=1e-5)
    assert float(g_loss.data) == pytest.approx(0.5 * adv + 3.0 * l1, rel=1e-5)


def test_the_l1_baseline_has_no_adversarial_term():
    model = tiny(adversarial=0.0, l1_weight=2.0)
    x, y = images(seed=3), images(seed=4)
    g_loss, parts = model.generator_loss(x, y)
    assert set(parts) == {"l1_loss"}
    assert float(g_loss.data) == pytest.approx(2.0 * parts["l1_loss"], rel=1e-6)
    logs = model.training_step((x, y), model.configure_optimizers())
    assert set(logs) == {"l1_loss", "g_loss"}
    assert set(model.configure_optimizers()) == {"generator"}
    # The generator's optimizer alone is accepted too.
    model.training_step((x, y), optim.SGD(model.generator.parameters(), lr=0.1))
    with pytest.raises(KeyError, match=r"Pix2Pix: the optimizers dict has no 'generator'"):
        model.training_step((x, y), {"discriminator": None})


def test_the_l1_baseline_takes_the_generators_optimizer_from_a_pair_and_refuses_the_rest():
    # The pair form every two-player model takes: the first item is G's; it alone steps.
    x, y = images(seed=3), images(seed=4)
    model = tiny(adversarial=0.0)
    before = [p.data.copy() for p in model.generator.parameters()]
    unused = Still(model.generator.parameters())
    for form in ((optim.SGD(model.generator.parameters(), lr=0.1), None),
                 [optim.SGD(model.generator.parameters(), lr=0.1)],
                 (optim.SGD(model.generator.parameters(), lr=0.1), unused)):
        logs = model.training_step((x, y), form)
        assert set(logs) == {"l1_loss", "g_loss"}
        after = [p.data.copy() for p in model.generator.parameters()]
        assert all(not np.array_equal(b, a) for b, a in zip(before, after))
        before = after
    with pytest.raises(TypeError, match=r"^Pix2Pix: with adversarial=0, optimizers must be "
                                        r"the generator's optimizer .*; got tuple whose "
                                        r"generator's entry is NoneType$"):
        model.training_step((x, y), (None, None))
    with pytest.raises(TypeError, match=r"Pix2Pix: .*\{'generator': \.\.\.\}.*; got str$"):
        model.training_step((x, y), "adam")
    with pytest.raises(TypeError, match=r"Pix2Pix: .*; got dict whose generator's entry is "
                                        r"int$"):
        model.training_step((x, y), {"generator": 3})


def test_shapes_with_the_unet_and_the_patchgan():
    model = Pix2Pix(UNet(1, 3, width=4, rng=0), patchgan_discriminator(4, width=4, rng=1))
    x, y = images(3, 1, 28, 28), images(3, 3, 28, 28, seed=1)
    assert model(x).shape == (3, 3, 28, 28)
    assert model.score(sn.Tensor(x), sn.Tensor(y)).shape == (3, 1, 7, 7)
    out = model.translate(x, batch_size=2)       # two batches, joined
    assert out.shape == (3, 3, 28, 28) and out.creator is None
    np.testing.assert_allclose(out.numpy(), model.translate(x).numpy(), atol=1e-6)
    logs = model.training_step((x, y), model.configure_optimizers())
    assert {"d_loss", "d_real", "d_fake", "l1_loss", "adv_loss", "g_loss"} <= set(logs)
    assert model.generator.training          # translate restored the training mode


def test_the_discriminator_loss_reaches_only_the_discriminator():
    model = tiny()
    d_loss, _ = model.discriminator_loss(images(), images(seed=1))
    d_loss.backward()
    assert all(p.grad is None for p in model.generator.parameters())
    assert all(np.abs(p.grad.numpy()).sum() > 0 for p in model.discriminator.parameters())


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
    x, y = images(seed=5), images(seed=6)
    for still in ("generator", "discriminator"):
        model = tiny()
        optimizers = model.configure_optimizers(lr=0.1)
        optimizers[still] = Still(getattr(model, still).parameters())
        before = {name: {k: v.copy() for k, v in getattr(model, name).state_dict().items()}
                  for name in ("generator", "discriminator")}
        model.training_step((x, y), optimizers)
        for name, weights in before.items():
            after = getattr(model, name).state_dict()
            unchanged = all(np.array_equal(after[k], v) for k, v in weights.items())
            assert unchanged == (name == still), name
        # D's weights were constants only during G's step.
        assert all(p.requires_grad for p in model.discriminator.parameters())


def test_the_generator_step_gives_the_discriminator_no_gradient():
    model = tiny()
    with _constants(model.discriminator):
        g_loss, _ = model.generator_loss(images(), images(seed=1))
    g_loss.backward()
    assert all(p.grad is None for p in model.discriminator.parameters())
    assert all(np.abs(p.grad.numpy()).sum() > 0 for p in model.generator.parameters())


def test_the_generators_step_moves_the_patchgans_batchnorm_statistics_not_its_weights():
    # As generator_loss documents: D's weights are constants in G's step, but its BatchNorm
    # layer, in training mode, updates its running statistics from the fake pairs.
    model = Pix2Pix(nn.Conv2D(1, 1, 1, activation="sigmoid", rng=0),
                    patchgan_discriminator(2, width=4, rng=1))
    optimizers = model.configure_optimizers(lr=0.1)
    after_d_step = {}
    d_step = optimizers["discriminator"].step

    def recording_step():
        d_step()
        after_d_step.update({k: v.copy() for k, v in model.discriminator.state_dict().items()})

    optimizers["discriminator"].step = recording_step
    model.training_step((images(seed=5), images(seed=6)), optimizers)
    after = model.discriminator.state_dict()
    statistics = [k for k in after if "running" in k]
    assert statistics
    for key, value in after.items():
        assert (not np.array_equal(value, after_d_step[key])) == (key in statistics), key


@pytest.mark.parametrize(("kwargs", "error", "words"), [
    ({"adversarial": 0.0, "l1_weight": 0.0}, ValueError, "both 0"),
    ({"adversarial": -1.0}, ValueError, "adversarial"),
    ({"l1_weight": float("nan")}, ValueError, "l1_weight"),
])
def test_bad_weights_are_refused(kwargs, error, words):
    with pytest.raises(error, match=f"Pix2Pix.*{words}"):
        Pix2Pix(nn.Conv2D(1, 1, 1), nn.Conv2D(2, 1, 1), **kwargs)


def test_the_players_must_match_the_mode():
    with pytest.raises(TypeError, match=r"Pix2Pix: adversarial=1\.0 needs a discriminator"):
        Pix2Pix(nn.Conv2D(1, 1, 1), None)
    with pytest.raises(ValueError, match=r"Pix2Pix: adversarial=0 .* discriminator=None"):
        Pix2Pix(nn.Conv2D(1, 1, 1), nn.Conv2D(2, 1, 1), adversarial=0.0)
    with pytest.raises(TypeError, match=r"Pix2Pix: generator must be an nn\.Module"):
        Pix2Pix(lambda x: x, None, adversarial=0.0)
    with pytest.raises(ValueError, match="no discriminator to score"):
        tiny(adversarial=0.0).score(sn.Tensor(images()), sn.Tensor(images()))


def test_bad_batches_are_refused():
    model = tiny()
    optimizers = model.configure_optimizers()
    with pytest.raises(TypeError, match="Pix2Pix: a batch is the pair"):
        model.training_step(images(), optimizers)
    with pytest.raises(ValueError, match="Pix2Pix: sources and targets must pair up"):
        model.training_step((images(4), images(3)), optimizers)
    with pytest.raises(ValueError, match=r"Pix2Pix: the source must be images .* \(4, 64\)"):
        model.translate(np.zeros((4, 64), np.float32))
    with pytest.raises(ValueError, match="Pix2Pix: the generator must output the target's"):
        model.generator_loss(images(c=1), images(c=2))
    with pytest.raises(KeyError, match="Pix2Pix: the optimizers dict has no"):
        model.training_step((images(), images()), {"generator": optimizers["generator"]})


def test_fit_trains_it_through_its_own_step():
    x, y = images(8, seed=7), images(8, seed=8)
    model = tiny()
    history = sn.train.fit(model, loader=DataLoader(x, y, batch_size=4, rng=0), epochs=1,
                           progress=False)
    assert {"g_loss", "d_loss", "l1_loss"} <= set(history.keys())


@pytest.mark.parametrize("adversarial", [0.0, 1.0])
def test_edges_to_digits_beats_the_average_digit_on_a_short_run(adversarial):
    # The weakest baseline draws the average training digit whatever the edges; a small
    # U-Net trained for 40 steps on 256 pairs must have a lower L1 error on test digits.
    x, _ = load_mnist("train", source="bundled")
    xt, _ = load_mnist("test", source="bundled")
    x, xt = x[:256], xt[:200]
    sn.manual_seed(0)
    model = Pix2Pix(UNet(1, 1, width=8, depth=2, rng=0),
                    patchgan_discriminator(2, width=8, rng=1) if adversarial else None,
                    adversarial=adversarial)
    optimizers = model.configure_optimizers(lr=2e-3)
    source, rng = sobel_edges(x), np.random.default_rng(0)
    for _ in range(40):
        i = rng.integers(0, len(x), 32)
        model.training_step((source[i], x[i]), optimizers)
    error = np.abs(model.translate(sobel_edges(xt)).numpy() - xt).mean()
    baseline = np.abs(x.mean(axis=0, keepdims=True) - xt).mean()
    assert error < 0.8 * baseline
