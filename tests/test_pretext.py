"""models.RotationPrediction (Gidaris et al., 2018), built on datasets.augment.rotate90."""

import math
import time

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import models, nn
from scratchnet.datasets import DataLoader, load_mnist
from scratchnet.datasets.augment import rotate90


def small_encoder(n_features: int = 32, seed: int = 0) -> nn.Module:
    return nn.Sequential(
        nn.Conv2D(1, 8, 3, padding=1, activation="relu", rng=seed), nn.MaxPool2D(2),
        nn.Conv2D(8, 16, 3, padding=1, activation="relu", rng=seed + 1), nn.MaxPool2D(2),
        nn.Flatten(), nn.Dense(16 * 7 * 7, n_features, activation="relu", rng=seed + 2))


def test_rotating_by_k_then_back_gives_the_image_exactly():
    images = np.random.default_rng(0).random((3, 2, 5, 5)).astype(np.float32)
    for k in range(-4, 8):
        turned = rotate90(images, k)
        np.testing.assert_array_equal(rotate90(turned, 4 - k), images)
    # One quarter turn anticlockwise: the top row becomes the left column, read upwards.
    square = np.arange(9.0).reshape(1, 1, 3, 3)
    np.testing.assert_array_equal(rotate90(square, 1)[0, 0], [[2, 5, 8], [1, 4, 7], [0, 3, 6]])


def test_the_rotated_batch_holds_all_four_rotations_with_their_labels():
    model = models.RotationPrediction(nn.Sequential(nn.Flatten(), nn.Dense(16, 6, rng=0)), 6)
    x = np.random.default_rng(1).random((5, 1, 4, 4)).astype(np.float32)
    images, labels = model.rotated_batch(x)
    assert images.shape == (20, 1, 4, 4) and labels.shape == (20,)
    assert labels.dtype.kind == "i"
    np.testing.assert_array_equal(np.bincount(labels), [5, 5, 5, 5])
    for i in range(20):
        # Undoing the labelled rotation gives back the image the row came from.
        np.testing.assert_array_equal(
            rotate90(images.data[i:i + 1], -int(labels[i])), x[i % 5:i % 5 + 1])


def test_loss_is_cross_entropy_over_the_rotations_and_features_have_no_graph():
    model = models.RotationPrediction(nn.Sequential(nn.Flatten(), nn.Dense(16, 6, rng=0)), 6,
                                      rng=1)
    x = np.random.default_rng(2).random((3, 1, 4, 4)).astype(np.float32)
    images, labels = model.rotated_batch(x)
    logits = model(images).data.astype(np.float64)
    log_softmax = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    expected = -log_softmax[np.arange(12), labels].mean()
    np.testing.assert_allclose(model.loss(x).item(), expected, rtol=1e-5)
    features = model.features(x)
    assert isinstance(features, sn.Tensor) and features.shape == (3, 6)
    assert features.creator is None and not features.requires_grad
    assert model.training and all(m.training for m in model.modules())


def test_features_use_evaluation_mode_and_restore_the_flags():
    encoder = nn.Sequential(nn.Flatten(), nn.Dropout(0.5), nn.Dense(16, 4, rng=0))
    model = models.RotationPrediction(encoder, 4)
    x = np.ones((2, 1, 4, 4), dtype=np.float32)
    # Dropout off: the features are the same every time.
    np.testing.assert_array_equal(model.features(x).data, model.features(x).data)
    assert encoder[1].training
    model.eval()
    model.features(x)
    assert not encoder[1].training


def test_rotation_prediction_learns_mnist_well_above_chance():
    sn.manual_seed(0)
    images, _ = load_mnist("train", source="bundled")
    train, held_out = images[:512], images[3000:3256]
    model = models.RotationPrediction(small_encoder(), 32, rng=3)
    assert model.accuracy(held_out) < 0.45   # untrained: near chance, 1/4
    start = time.perf_counter()
    history = sn.train.fit(model, lambda m, x: m.loss(x), sn.optim.Adam(model.parameters(),
                           lr=3e-3), DataLoader(train, batch_size=64, shuffle=True, rng=0),
                           epochs=3, progress=False)
    seconds = time.perf_counter() - start
    accuracy = model.accuracy(held_out)
    # Measured 0.87 to 0.91 held-out over five seeds, 3 epochs in about 1 s on two cores;
    # chance is 0.25.
    assert accuracy > 0.7, accuracy
    assert history["loss"][-1] < 0.6 * math.log(4)
    assert seconds < 30
    predicted = model.predict(rotate90(held_out, 1))
    assert predicted.shape == (256,) and (predicted == 1).mean() > 0.6


def test_rotation_prediction_rejects_bad_input():
    model = models.RotationPrediction(nn.Sequential(nn.Flatten(), nn.Dense(16, 6, rng=0)), 6)
    with pytest.raises(ValueError, match=r"RotationPrediction: .*\(N, C, H, W\).*\(2, 16\)"):
        model.loss(np.zeros((2, 16), dtype=np.float32))
    with pytest.raises(ValueError, match=r"RotationPrediction: .*square.*4 × 5"):
        model.loss(np.zeros((2, 1, 4, 5), dtype=np.float32))
    wrong_width = models.RotationPrediction(nn.Sequential(nn.Flatten(), nn.Dense(16, 6)), 8)
    with pytest.raises(ValueError, match=r"RotationPrediction: .*\(2, 8\), got \(2, 6\)"):
        wrong_width.features(np.zeros((2, 1, 4, 4), dtype=np.float32))
    with pytest.raises(TypeError, match=r"RotationPrediction: encoder must be an nn\.Module"):
        models.RotationPrediction(lambda x: x, 6)
    with pytest.raises(ValueError, match="RotationPrediction: n_features"):
        models.RotationPrediction(nn.Flatten(), 0)


# SimCLR (Chen et al., 2020), built on datasets.augment and functional.nt_xent.

def tiny_simclr(**kwargs) -> models.SimCLR:
    return models.SimCLR(nn.Sequential(nn.Flatten(), nn.Dense(64, 6, rng=0)), 6, **kwargs)


def test_simclr_views_are_two_different_augmentations_reproducible_with_a_seed():
    x = load_mnist("train", source="bundled")[0][:8]
    model = models.SimCLR(small_encoder(), 32, rng=0)
    v1, v2 = model.views(x, rng=5)
    for view in (v1, v2):
        assert isinstance(view, sn.Tensor) and view.shape == x.shape and view.dtype == x.dtype
        assert view.creator is None and not view.requires_grad
        assert np.abs(view.data - x).mean() > 0.01
    # Each image gets its own draws in each view: the two views differ image by image.
    assert all(np.abs(v1.data[i] - v2.data[i]).mean() > 0.01 for i in range(8))
    again = model.views(x, rng=5)
    np.testing.assert_array_equal(again[0].data, v1.data)
    np.testing.assert_array_equal(again[1].data, v2.data)
    # Without a seed, the model's own generator moves on: the next views are new ones.
    assert not np.array_equal(model.views(x)[0].data, model.views(x)[0].data)


def test_simclr_loss_is_nt_xent_of_the_projected_views():
    x = np.random.default_rng(0).random((5, 1, 8, 8)).astype(np.float32)
    model = tiny_simclr(projection_dim=3, temperature=0.2, rng=7)
    # The head: Dense(6, 6) with relu, then Dense(6, projection_dim).
    assert [layer.weight.shape for layer in model.head] == [(6, 6), (6, 3)]
    v1, v2 = tiny_simclr(projection_dim=3, temperature=0.2, rng=7).views(x)
    expected = sn.functional.nt_xent(model.head(model.encoder(v1)),
                                     model.head(model.encoder(v2)), 0.2)
    loss = model.loss(x)   # the model's own generator, seeded the same: the same views
    np.testing.assert_allclose(loss.item(), expected.item(), rtol=1e-5)
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())
    assert model(x).shape == (5, 3)
    features = model.features(x)
    assert features.shape == (5, 6) and features.creator is None
    assert model.training and all(m.training for m in model.modules())


def test_simclr_features_beat_the_random_encoder_on_mnist():
    sn.manual_seed(0)
    images, labels = load_mnist("train", source="bundled")
    train = images[:512]
    probe_x, probe_y = images[1000:2000], labels[1000:2000]
    test_x, test_y = images[3000:3500], labels[3000:3500]
    model = models.SimCLR(small_encoder(), 32, rng=0)

    def scores() -> tuple[float, float]:
        train_h, test_h = model.features(probe_x), model.features(test_x)
        probe = sn.metrics.linear_probe(train_h, probe_y, test_h, test_y,
                                        labels_per_class=10, seeds=3)
        return probe["median"], sn.metrics.knn_accuracy(train_h, probe_y, test_h, test_y)

    probe_before, knn_before = scores()
    start = time.perf_counter()
    history = sn.train.fit(model, lambda m, x: m.loss(x), sn.optim.Adam(model.parameters(),
                           lr=3e-3), DataLoader(train, batch_size=128, shuffle=True, rng=0),
                           epochs=20, progress=False)
    seconds = time.perf_counter() - start
    probe_after, knn_after = scores()
    # Chance for NT-Xent is log(2N - 1) with N = 128. Measured over encoder seeds 0, 1, 2
    # (20 epochs, about 3.5 s on two cores): the loss fell from about 5.45 to 4.30-4.34;
    # the 10-labels-per-class probe rose by 0.11 to 0.20 and k-NN by 0.07 to 0.17.
    assert history["loss"][-1] < 0.85 * math.log(255), history["loss"]
    assert probe_after > probe_before + 0.05, (probe_before, probe_after)
    assert knn_after > knn_before + 0.03, (knn_before, knn_after)
    assert seconds < 60


def test_simclr_rejects_bad_input():
    model = tiny_simclr()
    with pytest.raises(ValueError, match=r"SimCLR: .*\(N, C, H, W\).*\(2, 64\)"):
        model.loss(np.zeros((2, 64), dtype=np.float32))
    with pytest.raises(ValueError, match=r"SimCLR: .*\(N, C, H, W\).*\(2, 64\)"):
        model.views(np.zeros((2, 64), dtype=np.float32))
    wrong_width = models.SimCLR(nn.Sequential(nn.Flatten(), nn.Dense(64, 6)), 8)
    with pytest.raises(ValueError, match=r"SimCLR: .*\(2, 8\), got \(2, 6\)"):
        wrong_width.features(np.zeros((2, 1, 8, 8), dtype=np.float32))
    with pytest.raises(TypeError, match=r"SimCLR: encoder must be an nn\.Module"):
        models.SimCLR(lambda x: x, 6)
    with pytest.raises(ValueError, match="SimCLR: n_features"):
        models.SimCLR(nn.Flatten(), 0)
    with pytest.raises(ValueError, match="SimCLR: projection_dim"):
        tiny_simclr(projection_dim=0)
    for bad in (0, -0.5):
        with pytest.raises(ValueError, match="SimCLR: temperature"):
            tiny_simclr(temperature=bad)


def test_check_rank_names_its_owner_and_the_argument_when_given_one():
    from scratchnet.models.pretext import _check_rank

    images = np.zeros((2, 1, 4, 4), dtype=np.float32)
    assert isinstance(_check_rank("Owner", images), sn.Tensor)
    np.testing.assert_array_equal(_check_rank("Owner", images, "the source").numpy(), images)
    with pytest.raises(ValueError, match=r"^Owner: expected images of shape \(N, C, H, W\), "
                                         r"got shape \(2, 16\)$"):
        _check_rank("Owner", np.zeros((2, 16)))
    with pytest.raises(ValueError, match=r"^Owner: the source must be images of shape "
                                         r"\(N, C, H, W\), got shape \(3,\)$"):
        _check_rank("Owner", np.zeros(3), "the source")
