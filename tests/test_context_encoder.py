"""models.ContextEncoder (Pathak et al., 2016): masks, hiding, the hole-only loss, inpainting."""

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import nn
from scratchnet.datasets import DataLoader, load_mnist
from scratchnet.models.context_encoder import ContextEncoder


def flat_pair(c: int = 1, h: int = 6, w: int = 6, seed: int = 0) -> tuple[nn.Module, nn.Module]:
    """A tiny dense encoder and decoder for (N, c, h, w) images."""
    size = c * h * w
    encoder = nn.Sequential(nn.Flatten(), nn.Dense(size, 8, activation="relu", rng=seed))
    decoder = nn.Sequential(nn.Dense(8, size, activation="sigmoid", rng=seed + 1),
                            nn.Reshape((c, h, w)))
    return encoder, decoder


def conv_pair(seed: int = 0) -> tuple[nn.Module, nn.Module]:
    """The issue's conv encoder and mirrored decoder, narrower to keep the test fast:
    8 and 16 channels and 64 features instead of 32, 64 and 128."""
    encoder = nn.Sequential(
        nn.Conv2D(1, 8, 3, stride=2, padding=1, activation="relu", rng=seed),
        nn.Conv2D(8, 16, 3, stride=2, padding=1, activation="relu", rng=seed + 1),
        nn.Flatten(), nn.Dense(16 * 7 * 7, 64, activation="relu", rng=seed + 2))
    decoder = nn.Sequential(
        nn.Dense(64, 16 * 7 * 7, activation="relu", rng=seed + 3), nn.Reshape((16, 7, 7)),
        nn.ConvTranspose2D(16, 8, 4, stride=2, padding=1, activation="relu", rng=seed + 4),
        nn.ConvTranspose2D(8, 1, 4, stride=2, padding=1, activation="sigmoid", rng=seed + 5))
    return encoder, decoder


def images(n: int = 4, c: int = 1, h: int = 6, w: int = 6, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, c, h, w)).astype(np.float32)


def hole_mse(x: np.ndarray, completed: np.ndarray, masks: np.ndarray) -> float:
    return float(((completed - x) ** 2 * masks).sum() / (masks.sum() * x.shape[1]))


@pytest.mark.parametrize("size, side, first", [(28, 14, 7), (7, 3, 2), (6, 3, 1), (5, 2, 1),
                                               (6, 2, 2)])
def test_the_center_mask_hides_the_central_square(size, side, first):
    model = ContextEncoder(*flat_pair(h=size, w=size), mask_size=side)
    masks = model.masks(images(3, 1, size, size))
    assert masks.shape == (3, 1, size, size) and masks.dtype == np.float32
    expected = np.zeros((size, size), dtype=np.float32)
    expected[first:first + side, first:first + side] = 1
    for mask in masks:
        np.testing.assert_array_equal(mask[0], expected)
    # Centred: as many rows above the square as below it, or one fewer when size − side is odd.
    below = size - (first + side)
    assert below - first == (size - side) % 2


def test_the_default_mask_is_half_the_shorter_side():
    model = ContextEncoder(*flat_pair(h=10, w=8))
    masks = model.masks(images(2, 1, 10, 8))
    rows, cols = np.nonzero(masks[0, 0])
    assert masks[0, 0].sum() == 16
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (3, 6, 2, 5)


def test_random_masks_are_squares_of_the_right_size_inside_the_frame_and_seeded():
    model = ContextEncoder(*flat_pair(h=9, w=7), mask="random", mask_size=3, rng=0)
    x = images(200, 1, 9, 7)
    masks = model.masks(x, rng=5)
    tops, lefts = [], []
    for mask in masks[:, 0]:
        rows, cols = np.nonzero(mask)
        assert mask.sum() == 9
        assert rows.max() - rows.min() == 2 and cols.max() - cols.min() == 2
        tops.append(rows.min())
        lefts.append(cols.min())
    # Every one of the 7 × 5 places can be drawn, and none outside the frame.
    assert set(tops) == set(range(7)) and set(lefts) == set(range(5))
    np.testing.assert_array_equal(masks, model.masks(x, rng=5))
    assert not np.array_equal(masks, model.masks(x, rng=6))
    # Without rng the model's own generator moves on: two draws differ.
    assert not np.array_equal(model.masks(x), model.masks(x))


def test_hide_fills_the_hole_with_the_known_pixels_mean_and_keeps_the_rest():
    model = ContextEncoder(*flat_pair(c=2))
    x = images(3, 2)
    masks = model.masks(x)
    hidden = model.hide(x, masks).data
    known = masks == 0
    for i in range(3):
        for c in range(2):
            np.testing.assert_array_equal(hidden[i, c][known[i, 0]], x[i, c][known[i, 0]])
            fill = x[i, c][known[i, 0]].mean()
            np.testing.assert_allclose(hidden[i, c][~known[i, 0]], fill, rtol=1e-6)


def test_the_hidden_pixels_carry_no_information_to_the_model():
    model = ContextEncoder(*flat_pair(), mask="random", mask_size=2, rng=0)
    x = images(5)
    masks = model.masks(x)
    changed = x.copy()
    changed[masks.astype(bool)] = np.random.default_rng(9).random(20)
    assert not np.array_equal(changed, x)
    np.testing.assert_array_equal(model(model.hide(x, masks)).data,
                                  model(model.hide(changed, masks)).data)


def test_the_loss_is_the_squared_error_over_the_hole_only():
    model = ContextEncoder(*flat_pair(c=2), mask_size=2)
    x = images(3, 2)
    masks = model.masks(x)
    prediction = sn.Tensor(images(3, 2, seed=1), requires_grad=True)
    loss = model.reconstruction_loss(x, prediction, masks)
    hole = np.broadcast_to(masks.astype(bool), x.shape)
    np.testing.assert_allclose(loss.item(), ((prediction.data - x)[hole] ** 2).mean(),
                               rtol=1e-6)
    # Whatever the decoder paints outside the hole changes nothing, and gets no gradient.
    other = prediction.data.copy()
    other[~hole] = 123.0
    assert model.reconstruction_loss(x, sn.Tensor(other), masks).item() == pytest.approx(
        loss.item(), rel=1e-6)
    loss.backward()
    assert np.all(prediction.grad.data[~hole] == 0) and np.all(prediction.grad.data[hole] != 0)


def test_inpaint_keeps_the_known_pixels_bit_for_bit_and_features_see_whole_images():
    encoder, decoder = flat_pair()
    model = ContextEncoder(encoder, decoder, mask="random", mask_size=3, rng=2)
    x = images(4)
    masks = model.masks(x, rng=1)
    completed = model.inpaint(x, masks).data
    known = np.broadcast_to(masks == 0, x.shape)
    np.testing.assert_array_equal(completed[known], x[known])
    prediction = model(model.hide(x, masks)).data
    np.testing.assert_array_equal(completed[~known], prediction[~known])
    with sn.no_grad():
        np.testing.assert_array_equal(model.features(x).data, encoder(sn.Tensor(x)).data)
    assert model.features(x).creator is None


def test_features_flatten_a_convolutional_encoder_output():
    encoder = nn.Conv2D(1, 2, 3, padding=1, rng=0)
    decoder = nn.Conv2D(2, 1, 3, padding=1, rng=1)
    model = ContextEncoder(encoder, decoder)
    assert model.features(images(3)).shape == (3, 72)
    assert model.loss(images(3)).shape == ()


def test_training_on_mnist_fills_holes_better_than_the_mean_image():
    sn.manual_seed(0)
    data, _ = load_mnist("train", source="bundled")
    train, held_out = data[:1000], data[3000:3300]
    model = ContextEncoder(*conv_pair(), rng=0)
    masks = model.masks(held_out)
    mean_image = np.broadcast_to(train.mean(axis=0), held_out.shape)
    baseline = hole_mse(held_out, mean_image, masks)
    fill = hole_mse(held_out, model.hide(held_out, masks).data, masks)
    before = hole_mse(held_out, model.inpaint(held_out).data, masks)
    sn.train.fit(model, lambda m, x: m.loss(x), sn.optim.Adam(model.parameters(), lr=3e-3),
                 DataLoader(train, batch_size=50, shuffle=True, rng=0), epochs=6,
                 progress=False)
    after = hole_mse(held_out, model.inpaint(held_out).data, masks)
    # The per-pixel mean image is the best guess that ignores the context; the known
    # pixels' mean (what hide puts in the hole) is worse still.
    # Measured over five seeds: after / baseline from 0.65 to 0.70 (hole MSE 0.111 to 0.120
    # against 0.172 for the mean image and 0.259 for the fill); 6 epochs in 3 to 5 s of CPU.
    assert baseline < fill
    assert after < 0.8 * baseline, (after, baseline, before)


def test_the_adversarial_path_trains_both_players_and_logs_their_losses():
    sn.manual_seed(1)
    x = images(8, 1, 8, 8)
    model = ContextEncoder(*flat_pair(h=8, w=8), adversarial=0.3, image_shape=(1, 8, 8),
                           rng=0)
    assert isinstance(model.discriminator, nn.Module)
    d_before = [p.data.copy() for p in model.discriminator.parameters()]
    g_before = [p.data.copy() for p in model.decoder.parameters()]
    history = sn.train.fit(model, loader=DataLoader(x, batch_size=4), epochs=2,
                           progress=False)
    for key in ("d_loss", "d_real", "d_fake", "rec_loss", "adv_loss", "loss"):
        assert len(history[key]) == 2 and np.all(np.isfinite(history[key]))
    assert all(0 < v < 1 for v in history["d_real"] + history["d_fake"])
    assert any(not np.array_equal(a, p.data) for a, p in
               zip(d_before, model.discriminator.parameters()))
    assert any(not np.array_equal(a, p.data) for a, p in
               zip(g_before, model.decoder.parameters()))
    # The combined loss is (1 − λ)·L_rec + λ·L_adv, on the same masks.
    masks = model.masks(x)
    rec, completed = model._reconstruct(sn.Tensor(x), masks)
    adv = sn.functional.softplus(-model._score(completed)).mean()
    assert model.loss(x, masks).item() == pytest.approx(0.7 * rec.item() + 0.3 * adv.item(),
                                                        rel=1e-5)


def test_fit_uses_a_loss_fn_without_adversary_and_the_models_step_with_one():
    plain = ContextEncoder(*flat_pair())
    assert not hasattr(plain, "training_step")
    with pytest.raises(ValueError, match="configure_optimizers is for adversarial > 0"):
        plain.configure_optimizers()
    adversarial = ContextEncoder(*flat_pair(), adversarial=0.5, image_shape=(1, 6, 6))
    assert callable(adversarial.training_step)
    with pytest.raises(ValueError, match="leave loss_fn out"):
        sn.train.fit(adversarial, lambda m, x: m.loss(x), None, DataLoader(images(4)), 1,
                     progress=False)
    with pytest.raises(KeyError, match="ContextEncoder: the optimizers dict has no"):
        adversarial.training_step(images(2), {"generator": None})


def test_bad_input_gets_errors_naming_the_context_encoder():
    encoder, decoder = flat_pair()
    with pytest.raises(ValueError, match=r"ContextEncoder: mask must be one of .*'middle'"):
        ContextEncoder(encoder, decoder, mask="middle")
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match="ContextEncoder: adversarial"):
            ContextEncoder(encoder, decoder, adversarial=bad)
    with pytest.raises(ValueError, match="ContextEncoder: mask_size must be a positive"):
        ContextEncoder(encoder, decoder, mask_size=0)
    with pytest.raises(TypeError, match=r"ContextEncoder: decoder must be an nn\.Module"):
        ContextEncoder(encoder, lambda h: h)
    with pytest.raises(ValueError, match="a discriminator is used only with adversarial > 0"):
        ContextEncoder(encoder, decoder, discriminator=nn.Flatten())
    with pytest.raises(ValueError, match=r"ContextEncoder: image_shape must be \(C, H, W\)"):
        ContextEncoder(encoder, decoder, adversarial=0.1, image_shape=(28, 28))
    with pytest.raises(ValueError, match=r"needs H, W >= 4, got image_shape \(1, 3, 3\)"):
        ContextEncoder(encoder, decoder, adversarial=0.1, image_shape=(1, 3, 3))
    with pytest.raises(TypeError, match=r"ContextEncoder: discriminator must be an nn\.Module, "
                                        r"got function"):
        ContextEncoder(encoder, decoder, adversarial=0.1, discriminator=lambda x: x)
    assert "mask='center', mask_size=None, adversarial=0.0" in repr(
        ContextEncoder(encoder, decoder))
    model = ContextEncoder(encoder, decoder, mask_size=6)
    with pytest.raises(ValueError, match=r"side must be between 1 and min\(H, W\) - 1 = 5.*"
                                         r"got 6"):
        model.masks(images())
    with pytest.raises(ValueError, match=r"ContextEncoder: expected images of shape "
                                         r"\(N, C, H, W\), got shape \(4, 36\)"):
        ContextEncoder(encoder, decoder).loss(images().reshape(4, 36))
    with pytest.raises(ValueError, match=r"masks must have shape \(N, 1, H, W\) = "
                                         r"\(4, 1, 6, 6\), got \(4, 1, 5, 5\)"):
        ContextEncoder(encoder, decoder).hide(images(), np.zeros((4, 1, 5, 5)))
    one_full = np.zeros((4, 1, 6, 6))
    one_full[2] = 1
    one_full[0, 0, 0, 0] = 1
    for bad, why in ((np.full((4, 1, 6, 6), 0.5),
                      r"only 0 \(known\) and 1 \(hidden\), got the value 0.5"),
                     (one_full, "leave some pixels of every image known, got image 2 hidden"),
                     (np.zeros((4, 1, 6, 6)), "hide at least one pixel, got none")):
        with pytest.raises(ValueError, match=why):
            ContextEncoder(encoder, decoder).loss(images(), bad)
    wrong = ContextEncoder(encoder, nn.Sequential(nn.Dense(8, 25, rng=0), nn.Reshape((1, 5, 5))))
    with pytest.raises(ValueError, match=r"the decoder must output images of the input's "
                                         r"shape \(4, 1, 6, 6\), got \(4, 1, 5, 5\)"):
        wrong.loss(images())
    bad_d = ContextEncoder(encoder, decoder, adversarial=0.5, discriminator=nn.Flatten())
    with pytest.raises(ValueError, match="discriminator must output one logit per image"):
        bad_d.loss(images())
