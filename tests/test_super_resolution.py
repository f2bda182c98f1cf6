"""Super-resolution: the resampling helpers, the sub-pixel upsampler, the two training modes,
and a quick run in which the learned upsampler beats bilinear enlargement."""

from __future__ import annotations

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import metrics, nn, optim
from scratchnet.datasets import DataLoader, load_mnist
from scratchnet.models.super_resolution import (
    PixelShuffle,
    SuperResolution,
    downsample,
    sr_upsampler,
    upsample,
)


def test_downsample_averages_blocks():
    x = np.arange(2 * 1 * 4 * 4, dtype=np.float64).reshape(2, 1, 4, 4)
    low = downsample(x, 2)
    assert low.shape == (2, 1, 2, 2)
    assert low[0, 0, 0, 0] == np.mean([0, 1, 4, 5])
    assert low[1, 0, 1, 1] == np.mean([26, 27, 30, 31])
    with pytest.raises(ValueError, match=r"downsample: H and W must be multiples of factor 3"):
        downsample(x, 3)


def test_nearest_repeats_and_bilinear_matches_a_hand_computation():
    x = np.array([[[[0.0, 1.0], [2.0, 4.0]]]])
    np.testing.assert_array_equal(upsample(x, 2, "nearest")[0, 0],
                                  [[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 4, 4], [2, 2, 4, 4]])
    # One row [0, 1] enlarged ×2: sources −¼ (clamped to 0), ¼, ¾, 1¼ (clamped to 1).
    row = upsample(np.array([[[[0.0, 1.0]]]]), 2)[0, 0]
    np.testing.assert_allclose(row, [[0, 0.25, 0.75, 1]] * 2)
    out = upsample(x, 2)[0, 0]
    # Output (1, 1) sits at source (¼, ¼): the four pixels weighted ¾·¾, ¾·¼, ¼·¾, ¼·¼.
    assert out[1, 1] == pytest.approx(0 * 9 / 16 + 1 * 3 / 16 + 2 * 3 / 16 + 4 / 16)
    # Enlarging keeps a constant image constant, and then block-averaging gives it back.
    flat = np.full((1, 2, 3, 3), 0.3)
    np.testing.assert_allclose(downsample(upsample(flat, 4), 4), flat)
    with pytest.raises(ValueError, match="upsample: method must be one of"):
        upsample(x, 2, "bicubic")


@pytest.mark.parametrize("method", ["nearest", "bilinear"])
def test_integer_images_are_refused_not_truncated(method):
    # Bilinear of [0, 1] gives 0.25 and 0.75, which an int dtype would round down to 0.
    ints = np.array([[[[0, 1], [2, 4]]]], dtype=np.uint8)
    with pytest.raises(TypeError, match=r"upsample: images must have a floating-point dtype, "
                                        r"got uint8"):
        upsample(ints, 2, method)
    with pytest.raises(TypeError, match=r"downsample: images must have a floating-point dtype"):
        downsample(ints.astype(np.int64), 2)
    assert upsample(ints.astype(np.float32), 2, method).dtype == np.float32


def test_bilinear_matches_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).random((2, 3, 7, 5))
    expected = torch.nn.functional.interpolate(torch.from_numpy(x), scale_factor=4,
                                               mode="bilinear", align_corners=False).numpy()
    np.testing.assert_allclose(upsample(x, 4), expected, atol=1e-12)


def test_the_upsampler_grows_7_by_7_to_28_by_28_with_two_pixel_shuffles():
    net = sr_upsampler(rng=0)
    assert sum(isinstance(m, PixelShuffle) for m in net.modules()) == 2
    # The docstring's count for r = 4, w = 32, C = 1: 320 + 2 · 36,992 + 289.
    assert sum(p.data.size for p in net.parameters()) == 74_593
    width, channels = 8, 3          # the formula, at another width, channel count and factor
    assert sum(p.data.size for p in sr_upsampler(factor=8, width=width, channels=channels,
                                                 rng=0).parameters()) == (
        (9 * channels + 1) * width + 3 * (36 * width ** 2 + 4 * width) + 9 * width * channels
        + channels)
    assert net(sn.Tensor(np.zeros((3, 1, 7, 7), np.float32))).shape == (3, 1, 28, 28)
    assert sr_upsampler(factor=2, width=8, rng=0)(sn.Tensor(np.zeros((1, 1, 5, 5)))).shape == (
        1, 1, 10, 10)
    with pytest.raises(ValueError, match="sr_upsampler: factor must be a power of 2"):
        sr_upsampler(factor=3)


def test_the_residual_model_starts_from_bilinear_and_the_losses_are_as_documented():
    net = sr_upsampler(width=8, rng=0)
    for p in net.parameters():          # a network that outputs 0: x̂ is bilinear exactly
        p.data[...] = 0
    model = SuperResolution(net)
    rng = np.random.default_rng(1)
    x = rng.random((4, 1, 28, 28)).astype(np.float32)
    bilinear = upsample(downsample(x))
    np.testing.assert_allclose(model.upsample(downsample(x)), bilinear, atol=1e-6)
    assert float(model.loss(x).data) == pytest.approx(((bilinear - x) ** 2).mean(), rel=1e-5)
    with pytest.raises(AttributeError, match="training_step exists only with adversarial"):
        _ = model.training_step
    with pytest.raises(ValueError, match="configure_optimizers is for adversarial > 0"):
        model.configure_optimizers()
    plain = SuperResolution(net, residual=False)
    np.testing.assert_allclose(plain.upsample(downsample(x)), 0.0)
    adversarial = SuperResolution(net, adversarial=0.5, rng=0)
    with sn.no_grad():
        logits = adversarial.discriminator(sn.Tensor(bilinear)).data.reshape(-1)
    softplus = np.log1p(np.exp(-logits.astype(np.float64)))
    assert float(adversarial.loss(x).data) == pytest.approx(
        ((bilinear - x) ** 2).mean() + 0.5 * softplus.mean(), rel=1e-5)


def test_the_adversarial_step_moves_both_players_and_logs():
    rng = np.random.default_rng(2)
    x = rng.random((8, 1, 28, 28)).astype(np.float32)
    model = SuperResolution(sr_upsampler(width=8, rng=0), adversarial=0.01, rng=1)
    before = {name: p.data.copy() for name, p in model.named_parameters()}
    logs = model.training_step(x, model.configure_optimizers())
    assert set(logs) == {"d_loss", "d_real", "d_fake", "mse", "adv_loss", "loss"}
    moved = {name for name, p in model.named_parameters()
             if not np.array_equal(before[name], p.data)}
    assert any(n.startswith("upsampler.") for n in moved)
    assert any(n.startswith("discriminator.") for n in moved)
    assert all(p.requires_grad for p in model.parameters())
    with pytest.raises(ValueError, match="SuperResolution: the upsampler must output"):
        SuperResolution(nn.Sequential(nn.Flatten())).loss(x)
    with pytest.raises(ValueError, match="a discriminator is used only with adversarial > 0"):
        SuperResolution(sr_upsampler(), discriminator=nn.Sequential(nn.Flatten()))


def test_a_quick_run_beats_bilinear_on_psnr():
    images, _ = load_mnist("train", source="bundled")
    train, test = images[:640], images[-200:]
    sn.manual_seed(0)
    model = SuperResolution(sr_upsampler(width=16, rng=0))
    sn.train.fit(model, lambda m, x: m.loss(x), optim.Adam(model.parameters(), lr=2e-3),
                 DataLoader(train, batch_size=32, rng=0), 2, progress=False)
    low = downsample(test)
    learned, bilinear = metrics.psnr(test, model.upsample(low)), metrics.psnr(test,
                                                                               upsample(low))
    assert learned > bilinear + 1.0, (learned, bilinear)
