"""models.Colorization (Zhang et al., 2016) on datasets.colorize digits, and colour.rgb_to_hue."""

import math

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import nn
from scratchnet.datasets import DataLoader, colorize, hue_to_rgb, load_mnist
from scratchnet.datasets.colour import rgb_to_hue
from scratchnet.models.colorization import Colorization


def conv_pair(n_bins: int = 12, seed: int = 0) -> tuple[nn.Module, nn.Module]:
    """A small fully convolutional encoder, and a 1×1 convolution to the hue logits."""
    encoder = nn.Sequential(nn.Conv2D(1, 8, 3, padding=1, activation="relu", rng=seed),
                            nn.Conv2D(8, 8, 3, padding=1, activation="relu", rng=seed + 1))
    return encoder, nn.Conv2D(8, n_bins, 1, rng=seed + 2)


class Oracle(nn.Module):
    """A decoder that ignores its input and scores fixed bins (N, H, W) far above the rest."""

    def __init__(self, bins: np.ndarray, n_bins: int) -> None:
        super().__init__()
        self.logits = (bins[:, None] == np.arange(n_bins)[None, :, None, None]) * 30.0

    def forward(self, h: sn.Tensor) -> sn.Tensor:
        return sn.Tensor(self.logits.astype(np.float32))


def digits(n: int = 6, start: int = 0) -> np.ndarray:
    images, _ = load_mnist("train", source="bundled")
    return images[start:start + n]


def circular_gap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The distance between hues a and b around the wheel, in [0, ½]."""
    return np.abs((a - b + 0.5) % 1.0 - 0.5)


def test_rgb_to_hue_inverts_hue_to_rgb_and_ignores_brightness():
    hues = np.random.default_rng(0).random(1000)
    np.testing.assert_allclose(circular_gap(rgb_to_hue(hue_to_rgb(hues)), hues), 0, atol=1e-12)
    np.testing.assert_allclose(circular_gap(rgb_to_hue(0.3 * hue_to_rgb(hues)), hues), 0,
                               atol=1e-12)
    np.testing.assert_array_equal(rgb_to_hue(np.array([[0.0, 0, 0], [0.4, 0.4, 0.4]])), [0, 0])
    assert rgb_to_hue(np.array([1.0, 0.0, 1e-17])) == 0.0   # just below 1 wraps to 0, not 1
    with pytest.raises(ValueError, match=r"rgb_to_hue: expected colours of shape \(\.\.\., 3\)"):
        rgb_to_hue(np.zeros((4, 2)))


def test_the_targets_are_the_digit_and_the_bin_of_its_hue_on_every_ink_pixel():
    model = Colorization(*conv_pair(n_bins=12))
    grey_in = digits(40)
    colour, hues = colorize(grey_in, rng=3, return_hues=True)
    grey, bins = model.targets(colour)
    np.testing.assert_array_equal(grey, grey_in)
    assert bins.shape == (40, 28, 28) and bins.dtype == np.int64
    expected = np.floor(hues.astype(np.float64) * 12).astype(np.int64)
    ink = grey[:, 0] > 0
    for i in range(40):
        assert np.all(bins[i][ink[i]] == expected[i])
    assert np.all(bins[~ink] == 0)


def test_the_loss_is_the_ink_weighted_cross_entropy_and_ignores_the_background():
    model = Colorization(*conv_pair(n_bins=6), n_bins=6)
    colour = colorize(digits(3), rng=1)
    grey, bins = model.targets(colour)
    logits = model(grey).data.astype(np.float64)
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    nll = -np.take_along_axis(log_p, bins[:, None], axis=1)[:, 0]
    weights = grey[:, 0]
    assert model.loss(colour).item() == pytest.approx((weights * nll).sum() / weights.sum(),
                                                      rel=1e-5)
    # The network's outputs on black pixels get no gradient: they do not count.
    background = weights == 0
    assert background.any()
    encoder, decoder = conv_pair(n_bins=6)
    store = {}

    class Spy(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = decoder

        def forward(self, h: sn.Tensor) -> sn.Tensor:
            out = self.inner(h)
            probe = sn.Tensor(out.data, requires_grad=True)
            store["probe"] = probe
            return probe

    Colorization(encoder, Spy(), n_bins=6).loss(colour).backward()
    grad = store["probe"].grad.data
    assert np.all(grad.transpose(0, 2, 3, 1)[background] == 0)
    assert np.all(np.abs(grad).sum(axis=1)[~background] > 0)


def test_paint_with_the_true_bins_gives_back_the_colour_image_up_to_the_bin_width():
    grey_in = digits(5)
    colour, hues = colorize(grey_in, rng=7, return_hues=True)
    n_bins = 8
    bins = np.floor(hues.astype(np.float64) * n_bins).astype(np.int64)
    pixel_bins = np.broadcast_to(bins[:, None, None], (5, 28, 28))
    model = Colorization(nn.Identity(), Oracle(pixel_bins, n_bins), n_bins=n_bins)
    assert model.accuracy(colour) == 1.0
    half_bin = 0.5 / n_bins
    ink = grey_in[:, 0] > 0
    for temperature in (0.0, 0.38):
        painted = model.paint(grey_in, temperature=temperature).data
        assert painted.shape == (5, 3, 28, 28) and painted.dtype == np.float32
        np.testing.assert_array_equal(painted.max(axis=1, keepdims=True), grey_in)
        painted_hues = rgb_to_hue(np.moveaxis(painted, 1, -1))
        gaps = circular_gap(painted_hues, hues[:, None, None])[ink]
        assert gaps.max() <= half_bin + 1e-6
        # hue_to_rgb changes by at most 6 per unit of hue, so each channel is within
        # 6 · half a bin of the truth, scaled by the grey level.
        assert np.all(np.abs(painted - colour) <= 6 * half_bin * grey_in + 1e-6)


def test_annealed_mean_goes_around_the_circle():
    n_bins = 10
    logits = np.full((1, n_bins, 1, 1), -30.0, dtype=np.float32)
    logits[0, [0, n_bins - 1]] = 0.0       # hues 0.05 and 0.95, equally likely
    oracle = Oracle(np.zeros((1, 1, 1), np.int64), n_bins)
    oracle.logits = logits
    model = Colorization(nn.Identity(), oracle, n_bins=n_bins)
    painted = model.paint(np.ones((1, 1, 1, 1), np.float32), temperature=0.38).data
    # Their mean on the circle is red, hue 0, not the cyan of the plain mean 0.5.
    np.testing.assert_allclose(painted[0, :, 0, 0], [1.0, 0.0, 0.0], atol=1e-5)


def encoder_gradient_norm(model: Colorization, colour: np.ndarray) -> float:
    model.zero_grad()
    model.loss(colour).backward()
    return math.sqrt(sum(float((p.grad.data ** 2).sum()) for p in model.encoder.parameters()))


def test_training_cannot_beat_chance_and_the_prediction_becomes_uniform():
    sn.manual_seed(0)
    train, held_out = digits(500), digits(200, start=3000)
    held_colour = colorize(held_out, rng=99)
    n_bins = 6
    model = Colorization(*conv_pair(n_bins=n_bins, seed=3), n_bins=n_bins)
    optimizer = sn.optim.Adam(model.parameters(), lr=3e-3)
    entropy_before = model.entropy(held_out)
    fresh = colorize(train, rng=1000)
    gradient_before = encoder_gradient_norm(model, fresh)
    for epoch in range(3):
        # Fresh hues every epoch, as from an endless supply of tinted digits.
        loader = DataLoader(colorize(train, rng=epoch), batch_size=50, shuffle=True, rng=epoch)
        sn.train.fit(model, lambda m, x: m.loss(x), optimizer, loader, epochs=1,
                     progress=False)
    accuracy, entropy = model.accuracy(held_colour), model.entropy(held_out)
    # Near chance (1/6 ≈ 0.17) and near the uniform distribution's log 6 ≈ 1.79 nats.
    # Measured over three seeds: accuracy 0.15 to 0.16, entropy 1.775 to 1.791 nats.
    assert abs(accuracy - 1 / n_bins) < 0.1, accuracy
    assert entropy > 0.97 * math.log(n_bins), (entropy, entropy_before)
    assert entropy > entropy_before
    assert model.loss(held_colour).item() > 0.97 * math.log(n_bins)
    # With the uniform prediction learnt, little gradient is left for the encoder.
    # Measured over three seeds: the full-batch norm fell by a factor of 5 to 200.
    assert encoder_gradient_norm(model, fresh) < 0.5 * gradient_before


def test_features_take_plain_grey_digits_and_colour_images_alike():
    encoder, decoder = conv_pair()
    model = Colorization(encoder, decoder)
    grey = digits(3)
    features = model.features(grey)
    assert features.shape == (3, 8 * 28 * 28)
    np.testing.assert_array_equal(model.features(colorize(grey, rng=0)).data, features.data)
    with sn.no_grad():
        np.testing.assert_array_equal(features.data,
                                      encoder(sn.Tensor(grey)).data.reshape(3, -1))


def test_bad_input_gets_errors_naming_colorization():
    encoder, decoder = conv_pair(n_bins=12)
    with pytest.raises(ValueError, match="Colorization: n_bins must be an integer >= 2, got 1"):
        Colorization(encoder, decoder, n_bins=1)
    with pytest.raises(TypeError, match=r"Colorization: decoder must be an nn\.Module"):
        Colorization(encoder, "decoder")
    model = Colorization(encoder, decoder, n_bins=12)
    with pytest.raises(ValueError, match=r"Colorization: expected colour images \(N, 3, H, W\)"):
        model.loss(digits(2))
    with pytest.raises(ValueError, match=r"Colorization: expected images of shape"):
        model.loss(np.zeros((3, 28, 28), np.float32))
    with pytest.raises(ValueError, match=r"expected grey \(N, 1, H, W\) or colour"):
        model.features(np.zeros((2, 2, 28, 28), np.float32))
    with pytest.raises(ValueError, match="the images have no ink"):
        model.loss(np.zeros((2, 3, 28, 28), np.float32))
    with pytest.raises(ValueError, match=r"the decoder must output logits \(N, n_bins, H, W\) "
                                         r"= \(2, 6, 28, 28\), got \(2, 12, 28, 28\)"):
        Colorization(encoder, decoder, n_bins=6).loss(colorize(digits(2), rng=0))
    with pytest.raises(ValueError, match=r"Colorization\.paint: temperature"):
        model.paint(digits(2), temperature=-1.0)
    with pytest.raises(ValueError, match=r"Colorization: the network reads grey images "
                                         r"\(N, 1, H, W\), got shape \(2, 3, 28, 28\)"):
        model(colorize(digits(2), rng=0))
    assert "n_bins=12" in repr(model)
