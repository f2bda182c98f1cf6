"""The cached MNIST classifier and the shift augmentation it trains with."""

import numpy as np
import pytest

import scratchnet as sn
from scratchnet.datasets import random_shift
from scratchnet.models import classifier
from scratchnet.models.classifier import accuracy, mnist_classifier, mnist_cnn


def test_random_shift_moves_each_image_within_the_limit_and_is_seeded():
    images = np.zeros((200, 1, 9, 9), np.float32)
    images[:, 0, 4, 4] = 1.0
    shifted = random_shift(images, max_shift=2, rng=0)
    positions = np.array([np.argwhere(im[0])[0] for im in shifted]) - 4
    assert shifted.shape == images.shape and shifted.sum() == 200  # nothing lost, nothing added
    assert np.abs(positions).max() == 2
    assert len({tuple(p) for p in positions}) == 25  # every offset in [-2, 2]² occurs
    np.testing.assert_array_equal(shifted, random_shift(images, 2, rng=0))
    assert random_shift(images, 0) is images


def test_random_shift_zeroes_the_vacated_border():
    images = np.ones((50, 1, 6, 6), np.float32)
    shifted = random_shift(images, 1, rng=1)
    moved = [im for im in shifted if im.sum() < 36]
    assert moved and all(set(np.unique(im)) == {0.0, 1.0} for im in moved)
    with pytest.raises(ValueError, match=r"random_shift: expected images of shape \(N, C, H, W\)"):
        random_shift(np.ones((4, 6, 6)), 1)


def test_the_cnn_has_the_documented_size_and_output():
    model = mnist_cnn(rng=0)
    assert model.num_parameters() == 20_490
    assert model(sn.Tensor(np.zeros((2, 1, 28, 28), np.float32))).shape == (2, 10)


def test_mnist_classifier_trains_once_then_loads_the_cache(tmp_path, monkeypatch):
    path = tmp_path / "cnn.npz"
    first = mnist_classifier(path, progress=False, epochs=1, train_size=256, source="bundled")
    assert path.is_file() and not first.training
    meta = sn.checkpoint.read_checkpoint(path)[1]
    assert meta["epochs"] == 1 and 0.0 <= meta["test_accuracy"] <= 1.0

    def no_training(*args, **kwargs):
        raise AssertionError("the cached weights should have been loaded")

    monkeypatch.setattr(classifier, "train_mnist_cnn", no_training)
    second = mnist_classifier(path)
    for (name, a), (_, b) in zip(first.state_dict().items(), second.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=name)
    with pytest.raises(AssertionError, match="cached weights"):
        mnist_classifier(path, retrain=True)


def test_a_short_training_run_beats_chance_by_far():
    model = mnist_cnn(rng=0)
    history = classifier.train_mnist_cnn(model, epochs=2, train_size=600, progress=False,
                                         source="bundled")
    assert history["val_accuracy"][-1] > 0.7
    images, labels = sn.datasets.load_mnist("test", source="bundled")
    assert accuracy(model.eval(), images, labels) == pytest.approx(history["val_accuracy"][-1])
