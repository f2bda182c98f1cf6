"""models.image_to_image: pix2pix's U-Net generator and PatchGAN discriminator."""

import numpy as np
import pytest

import scratchnet as sn
import scratchnet.functional as F
from scratchnet import optim
from scratchnet.datasets import load_mnist
from scratchnet.models.image_to_image import UNet, encoder_decoder, patchgan_discriminator


def images(n: int = 2, c: int = 1, h: int = 28, w: int = 28, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, c, h, w)).astype(np.float32)


def conv_size(k: int, c_in: int, c_out: int, bias: bool = True) -> int:
    return k * k * c_in * c_out + (c_out if bias else 0)


# -- the U-Net -------------------------------------------------------------------------------
@pytest.mark.parametrize(("depth", "c_in", "c_out", "width", "h", "w"), [
    (1, 1, 1, 4, 28, 28), (2, 1, 3, 8, 28, 28), (2, 3, 2, 4, 28, 28), (1, 2, 5, 6, 28, 28),
    (2, 1, 1, 4, 28, 12), (3, 2, 1, 4, 16, 8)])
def test_unet_keeps_the_image_size_and_sets_the_channels(depth, c_in, c_out, width, h, w):
    net = UNet(c_in, c_out, width=width, depth=depth, rng=0)
    assert net(images(3, c_in, h, w)).shape == (3, c_out, h, w)


def test_each_decoder_step_reads_its_own_output_beside_the_skip():
    # depth 2, width 8, 3 input channels: e1 has 8 channels, the bottleneck e2 16.
    net = UNet(3, 2, width=8, depth=2, rng=0)
    bottom, top = net.decoder[0][0], net.decoder[1][0]
    assert (bottom.in_channels, bottom.out_channels) == (16, 8)   # from the bottleneck alone
    assert (top.in_channels, top.out_channels) == (8 + 8, 8)      # u2 beside e1
    assert (net.head.in_channels, net.head.out_channels) == (8 + 3, 2)  # u1 beside the input


def test_with_the_bottleneck_zeroed_the_output_still_follows_the_input():
    net = UNet(1, 1, width=8, depth=2, output=None, rng=0)
    seen = []
    net.encoder[-1].register_forward_hook(lambda m, i, out: out * 0.0)
    net.decoder[0].register_forward_hook(lambda m, i, out: seen.append(out.numpy()))
    x1, x2 = images(seed=1), images(seed=2)
    y1, y2 = net(x1).numpy(), net(x2).numpy()
    # Nothing came up from the bottleneck: the deepest decoder step's output is all zeros.
    assert all(np.all(u == 0) for u in seen)
    # ... yet different inputs give different outputs, through the skip connections.
    assert np.abs(y1 - y2).mean() > 1e-2
    x = sn.Tensor(x1, requires_grad=True)
    net(x).sum().backward()
    assert np.abs(x.grad.numpy()).sum() > 0


@pytest.mark.parametrize(("output", "low", "high"), [("sigmoid", 0.0, 1.0), ("tanh", -1.0, 1.0)])
def test_a_bounded_output_stays_in_its_range(output, low, high):
    net = UNet(1, 2, width=4, depth=1, output=output, rng=0)
    y = net(50.0 * (images() - 0.5)).numpy()
    assert y.min() >= low and y.max() <= high
    assert y.max() - y.min() > 0.5 * (high - low)   # spread over the range, not stuck


def test_no_output_activation_is_unbounded():
    y = UNet(1, 1, width=4, depth=1, output=None, rng=0)(50.0 * images()).numpy()
    assert np.abs(y).max() > 1.0


def test_unet_parameter_count():
    # width 8, depth 2, 1 -> 1 channels.
    expected = (conv_size(4, 1, 8)                            # e1 (bias, no BatchNorm)
                + conv_size(4, 8, 16, bias=False) + 2 * 16    # e2 + BatchNorm's γ, β
                + conv_size(4, 16, 8, bias=False) + 2 * 8     # u2
                + conv_size(4, 16, 8, bias=False) + 2 * 8     # u1 from [u2, e1]
                + conv_size(3, 8 + 1, 1))                     # the head on [u1, x]
    assert UNet(1, 1, width=8, depth=2).num_parameters() == expected == 6426


def test_a_seed_fixes_the_initial_weights():
    a, b = UNet(1, 1, width=4, rng=3).state_dict(), UNet(1, 1, width=4, rng=3).state_dict()
    assert all(np.array_equal(a[k], b[k]) for k in a)
    c = UNet(1, 1, width=4, rng=4).state_dict()
    assert not np.array_equal(a["head.weight"], c["head.weight"])


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"depth": 0}, ValueError, "UNet: depth must be a positive integer, got 0"),
    ({"depth": 1.5}, TypeError, "UNet: depth must be an integer"),
    ({"width": 0}, ValueError, "UNet: width"),
    ({"output": "relu"}, ValueError, r"UNet: output must be one of .*got 'relu'"),
])
def test_unet_rejects_bad_settings(kwargs, error, match):
    with pytest.raises(error, match=match):
        UNet(1, 1, **kwargs)


def test_unet_rejects_sizes_its_depth_cannot_halve():
    with pytest.raises(ValueError, match=r"UNet: depth=3 .* divisible by 8; got 28×28"):
        UNet(1, 1, width=4, depth=3)(images())
    with pytest.raises(ValueError, match=r"UNet: depth=2 .* divisible by 4; got 28×10"):
        UNet(1, 1, width=4, depth=2)(images(w=10))


def test_unet_rejects_the_wrong_channels_or_rank():
    with pytest.raises(ValueError, match=r"UNet: expected input of shape \(N, 3, H, W\), "
                                         r"got \(2, 1, 28, 28\)"):
        UNet(3, 1, width=4)(images())
    with pytest.raises(ValueError, match=r"UNet: expected .* got \(28, 28\)"):
        UNet(1, 1, width=4)(images()[0, 0])


def test_every_parameter_gets_a_gradient():
    net = UNet(2, 1, width=4, depth=2, rng=0)
    weights = np.random.default_rng(1).standard_normal((2, 1, 28, 28)).astype(np.float32)
    (net(images(c=2)) * sn.Tensor(weights)).sum().backward()
    for name, parameter in net.named_parameters():
        assert parameter.grad is not None and np.any(parameter.grad.numpy() != 0), name


def test_unet_learns_to_invert_digits():
    x = load_mnist("train", source="bundled")[0][:8]
    target = 1.0 - x
    net = UNet(1, 1, width=8, depth=2, rng=0)
    adam = optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(100):
        loss = F.abs(net(x) - target).mean()
        losses.append(sn.train.minimize(loss, adam))
    # The start is about 0.5 (a sigmoid near one half against pixels near 0 or 1).
    assert losses[0] > 0.3
    assert np.mean(losses[-5:]) < 0.2 * losses[0]


# -- the PatchGAN discriminator --------------------------------------------------------------
@pytest.mark.parametrize(("c_in", "c_out", "width"), [(1, 1, 4), (1, 3, 8), (3, 3, 6)])
def test_patchgan_judges_the_pair_with_a_7x7_map_of_logits(c_in, c_out, width):
    x, y = images(3, c_in, seed=1), images(3, c_out, seed=2)
    pair = F.concatenate([sn.Tensor(x), sn.Tensor(y)], axis=1)
    assert patchgan_discriminator(c_in + c_out, width=width, rng=0)(pair).shape == (3, 1, 7, 7)


def test_patchgan_on_a_unet_output():
    generator = UNet(1, 1, width=4, rng=0)
    critic = patchgan_discriminator(2, width=4, rng=1)
    x = images()
    logits = critic(F.concatenate([sn.Tensor(x), generator(x)], axis=1))
    assert logits.shape == (2, 1, 7, 7)
    logits.sum().backward()
    assert all(np.any(p.grad.numpy() != 0) for p in generator.parameters())


def test_each_logit_sees_an_18_pixel_square_4_pixels_from_its_neighbours():
    # Evaluation mode: BatchNorm uses its running statistics, so a logit depends only on
    # its patch (in training mode the batch statistics couple every position).
    critic = patchgan_discriminator(2, width=4, rng=0).eval()
    x = sn.Tensor(images(1, 2).astype(np.float32), requires_grad=True)
    logits = critic(x)
    for i in range(7):
        for j in range(7):
            (g,) = sn.grad(logits[0, 0, i, j], x)
            seen = np.abs(g.numpy()).sum(axis=(0, 1)) > 0
            rows, cols = np.flatnonzero(seen.any(axis=1)), np.flatnonzero(seen.any(axis=0))
            # rows 4i − 7 … 4i + 10, clipped to the image.
            assert list(rows) == list(range(max(0, 4 * i - 7), min(28, 4 * i + 11))), (i, j)
            assert list(cols) == list(range(max(0, 4 * j - 7), min(28, 4 * j + 11))), (i, j)
            assert seen[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].all()
    assert len(range(4 * 3 - 7, 4 * 3 + 11)) == 18   # an interior logit's full field


def test_a_perturbed_pixel_moves_only_the_logits_whose_patch_holds_it():
    critic = patchgan_discriminator(2, width=4, rng=0).eval()
    x = images(1, 2, seed=3)
    before = critic(x).numpy()[0, 0]
    for r, c in [(0, 0), (13, 20), (27, 27), (10, 3)]:
        moved = x.copy()
        moved[0, 1, r, c] += 5.0
        changed = np.abs(critic(moved).numpy()[0, 0] - before) > 1e-5
        near = [i for i in range(7) if 4 * i - 7 <= r <= 4 * i + 10]
        near_c = [j for j in range(7) if 4 * j - 7 <= c <= 4 * j + 10]
        expected = np.zeros((7, 7), dtype=bool)
        expected[np.ix_(near, near_c)] = True
        np.testing.assert_array_equal(changed, expected, err_msg=f"pixel ({r}, {c})")


def test_patchgan_parameter_count_and_gradients():
    critic = patchgan_discriminator(2, width=8, rng=0)
    expected = (conv_size(4, 2, 8) + conv_size(4, 8, 16, bias=False) + 2 * 16
                + conv_size(3, 16, 1))
    assert critic.num_parameters() == expected == 2489
    weights = np.random.default_rng(1).standard_normal((2, 1, 7, 7)).astype(np.float32)
    (critic(images(c=2)) * sn.Tensor(weights)).sum().backward()
    for name, parameter in critic.named_parameters():
        assert np.any(parameter.grad.numpy() != 0), name


def test_patchgan_rejects_bad_settings():
    with pytest.raises(ValueError, match="patchgan_discriminator: in_channels must be a "
                                         "positive integer, got 0"):
        patchgan_discriminator(0)
    with pytest.raises(TypeError, match="patchgan_discriminator: width must be an integer"):
        patchgan_discriminator(2, width=2.0)


# -- the encoder-decoder without skips -------------------------------------------------------
@pytest.mark.parametrize(("depth", "c_in", "c_out", "width", "h", "w"), [
    (1, 1, 1, 4, 28, 28), (2, 1, 3, 8, 28, 28), (2, 3, 1, 4, 28, 12), (3, 2, 2, 4, 16, 8)])
def test_encoder_decoder_keeps_the_image_size_and_sets_the_channels(depth, c_in, c_out,
                                                                     width, h, w):
    net = encoder_decoder(c_in, c_out, width=width, depth=depth, rng=0)
    assert net(images(3, c_in, h, w)).shape == (3, c_out, h, w)


def test_encoder_decoder_is_a_unet_without_its_skips():
    # Same layers as the U-Net, but each decoder step reads only the step below: with the
    # same widths it has fewer weights, exactly the skips' input channels fewer.
    expected = (conv_size(4, 1, 8)                            # e1
                + conv_size(4, 8, 16, bias=False) + 2 * 16    # e2 + BatchNorm
                + conv_size(4, 16, 8, bias=False) + 2 * 8     # up from the bottleneck
                + conv_size(4, 8, 8, bias=False) + 2 * 8      # up to 28×28 (no e1 beside)
                + conv_size(3, 8, 1))                         # the head (no input beside)
    assert encoder_decoder(1, 1, width=8, depth=2).num_parameters() == expected


def test_with_the_bottleneck_zeroed_the_encoder_decoder_forgets_its_input():
    # The contrast with the U-Net's test above: nothing passes around the bottleneck.
    net = encoder_decoder(1, 1, width=8, depth=2, output=None, rng=0)
    net[4].register_forward_hook(lambda m, i, out: out * 0.0)   # the LeakyReLU after e2
    np.testing.assert_allclose(net(images(seed=1)).numpy(), net(images(seed=2)).numpy(),
                               atol=1e-6)


@pytest.mark.parametrize(("output", "low", "high"), [("sigmoid", 0.0, 1.0), ("tanh", -1.0, 1.0)])
def test_encoder_decoder_output_range(output, low, high):
    y = encoder_decoder(1, 1, width=4, depth=1, output=output, rng=0)(
        50.0 * (images() - 0.5)).numpy()
    assert y.min() >= low and y.max() <= high


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"output": "relu"}, ValueError, "encoder_decoder: output must be one of"),
    ({"depth": 0}, ValueError, "encoder_decoder: depth"),
    ({"width": 2.5}, TypeError, "encoder_decoder: width must be an integer"),
])
def test_encoder_decoder_rejects_bad_settings(kwargs, error, match):
    with pytest.raises(error, match=match):
        encoder_decoder(1, 1, **kwargs)
