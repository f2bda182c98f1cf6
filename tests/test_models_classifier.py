"""The cached MNIST classifier, its "not a digit" class, and the images it trains on."""

import numpy as np
import pytest

import scratchnet as sn
from scratchnet.checkpoint import CheckpointError
from scratchnet.datasets import random_shift
from scratchnet.metrics import classifier_score
from scratchnet.models import classifier
from scratchnet.models.classifier import (
    NOT_A_DIGIT,
    accuracy,
    default_classifier_path,
    mnist_classifier,
    mnist_cnn,
    not_digit_images,
)


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
    assert NOT_A_DIGIT == 10
    assert model.num_parameters() == 160 + 4640 + 1568 * 11 + 11 == 22_059
    assert model(sn.Tensor(np.zeros((2, 1, 28, 28), np.float32))).shape == (2, NOT_A_DIGIT + 1)


def test_the_cache_path_is_versioned_so_an_old_ten_class_file_is_never_read():
    path = default_classifier_path()
    assert path.name == "mnist_cnn_reject_v2.npz"
    assert path.parent == sn.datasets.data_home() / "models"


def test_a_cache_of_the_wrong_shape_is_refused_with_a_clear_error(tmp_path):
    old = sn.nn.Sequential(
        sn.nn.Conv2D(1, 16, 3, padding="same", activation="relu", rng=0), sn.nn.MaxPool2D(2),
        sn.nn.Conv2D(16, 32, 3, padding="same", activation="relu", rng=0), sn.nn.MaxPool2D(2),
        sn.nn.Flatten(), sn.nn.Dense(32 * 7 * 7, 10, rng=0))      # the ten-class network
    path = tmp_path / "mnist_cnn.npz"
    sn.save(old, path)
    with pytest.raises(CheckpointError, match=r"mnist_classifier: the weights cached at .*"
                       r"mnist_cnn\.npz do not fit the 11-output classifier"):
        mnist_classifier(path)


@pytest.fixture(scope="module")
def test_digits():
    return sn.datasets.load_mnist("test", source="bundled")


def test_not_digit_images_are_seeded_in_range_and_of_every_kind(test_digits):
    digits = test_digits[0][:20]
    images = not_digit_images(700, digits, rng=0)
    assert images.shape == (700, 1, 28, 28) and images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() <= 1.0
    np.testing.assert_array_equal(images, not_digit_images(700, digits, rng=0))
    assert not np.array_equal(images, not_digit_images(700, digits, rng=1))
    flat = images.reshape(700, -1)
    spread = flat.max(axis=1) - flat.min(axis=1)
    constant = flat[spread == 0, 0]
    assert (constant == 0).sum() > 50 and (constant == 1).sum() > 50     # blank and white
    assert ((constant > 0) & (constant < 1)).sum() > 50                    # grey levels
    # A shuffled-tile image holds exactly the pixels of one of the digits, rearranged.
    digit_pixels = {tuple(np.sort(d.ravel())) for d in digits}
    tiled = [im for im in flat if tuple(np.sort(im)) in digit_pixels]
    assert len(tiled) > 50
    assert not any(np.array_equal(im, d.ravel()) for im in tiled for d in digits)
    # Noise and blobs: everything else varies across the image.
    assert (spread > 0).sum() - len(tiled) > 200
    assert not_digit_images(0, digits).shape == (0, 1, 28, 28)


def test_not_digit_images_errors(test_digits):
    with pytest.raises(ValueError, match="not_digit_images: n must be >= 0, got -1"):
        not_digit_images(-1, test_digits[0][:5])
    with pytest.raises(ValueError, match=r"not_digit_images: digits must have shape "
                                         r"\(M, 1, 28, 28\) with M >= 1, got \(5, 28, 28\)"):
        not_digit_images(3, test_digits[0][:5, 0])
    with pytest.raises(ValueError, match="M >= 1"):
        not_digit_images(3, test_digits[0][:0])


QUICK = {"epochs": 1, "train_size": 256, "source": "bundled"}


def test_mnist_classifier_trains_once_then_loads_the_cache(tmp_path, monkeypatch):
    path = tmp_path / "cnn.npz"
    first = mnist_classifier(path, progress=False, **QUICK)
    assert path.is_file() and not first.training
    meta = sn.checkpoint.read_checkpoint(path)[1]
    assert meta["epochs"] == 1 and 0.0 <= meta["test_accuracy"] <= 1.0
    assert meta["version"] == 2
    assert meta["recipe"] == {"epochs": 1, "batch_size": 64, "lr": 2e-3, "max_shift": 2,
                              "source": "bundled", "train_size": 256, "rng": 0,
                              "rejects_per_batch": 16}

    def no_training(*args, **kwargs):
        raise AssertionError("the cached weights should have been loaded")

    monkeypatch.setattr(classifier, "train_mnist_cnn", no_training)
    second = mnist_classifier(path, **QUICK)
    for (name, a), (_, b) in zip(first.state_dict().items(), second.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=name)
    with pytest.raises(AssertionError, match="cached weights"):
        mnist_classifier(path, retrain=True, **QUICK)


@pytest.fixture
def trainings(monkeypatch):
    """Replaces train_mnist_cnn by a stand-in that records the options of each call."""
    calls = []

    def fake(model, progress=True, **options):
        calls.append(options)
        history = sn.train.History()
        history.record({"val_accuracy": 0.5})
        return history

    monkeypatch.setattr(classifier, "train_mnist_cnn", fake)
    return calls


def test_a_file_trained_with_other_settings_is_trained_again(tmp_path, trainings):
    path = tmp_path / "cnn.npz"
    mnist_classifier(path, progress=False, epochs=1)
    mnist_classifier(path, progress=False, epochs=1)                   # the same: loaded
    assert trainings == [{"epochs": 1}]
    mnist_classifier(path, progress=False, epochs=2)                   # other settings
    mnist_classifier(path, progress=False)                             # the defaults
    assert trainings == [{"epochs": 1}, {"epochs": 2}, {}]
    assert sn.checkpoint.read_checkpoint(path)[1]["recipe"]["epochs"] == 15


def test_other_settings_get_their_own_file_and_never_touch_the_default_one(
        tmp_path, monkeypatch, trainings):
    monkeypatch.setenv("SCRATCHNET_DATA", str(tmp_path))
    default = default_classifier_path()
    assert default == tmp_path / "models" / "mnist_cnn_reject_v2.npz"
    mnist_classifier(progress=False, epochs=1, train_size=256)
    mnist_classifier(progress=False, epochs=2, train_size=256)
    written = sorted(p.name for p in (tmp_path / "models").iterdir())
    assert len(written) == 2 and default.name not in written
    assert all(name.startswith("mnist_cnn_reject_v2_") for name in written)
    mnist_classifier(progress=False, train_size=256, epochs=1)         # found again: loaded
    assert len(trainings) == 2
    mnist_classifier(progress=False)
    assert default.is_file() and len(trainings) == 3


def test_a_cache_without_recorded_settings_is_loaded_for_the_defaults_only(
        tmp_path, monkeypatch, trainings):
    # As lesson 2 writes it, and as every cache was written before settings were stored.
    monkeypatch.setenv("SCRATCHNET_DATA", str(tmp_path))
    saved = mnist_cnn(rng=5)
    sn.save(saved, default_classifier_path(), test_accuracy=0.9, epochs=3)
    loaded = mnist_classifier(progress=False)
    assert trainings == []
    for (name, a), (_, b) in zip(saved.state_dict().items(), loaded.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=name)
    mnist_classifier(default_classifier_path(), progress=False, epochs=1)
    assert trainings == [{"epochs": 1}]


def test_unknown_training_options_are_named():
    with pytest.raises(TypeError, match=r"mnist_classifier: unknown settings \['epoch'\]"):
        mnist_classifier(epoch=3)


def test_a_short_run_beats_chance_and_learns_to_reject_noise_only_from_the_rejects(test_digits):
    images, labels = test_digits
    noise = np.random.default_rng(0).random((100, 1, 28, 28)).astype(np.float32)
    rejected = {}
    for rejects in (16, 0):
        model = mnist_cnn(rng=0)
        history = classifier.train_mnist_cnn(model, epochs=3, train_size=600, progress=False,
                                             source="bundled", rejects_per_batch=rejects)
        model.eval()
        rejected[rejects] = classifier_score(noise, classifier=model)["rejected"]
        if rejects:
            assert history["val_accuracy"][-1] > 0.7          # measured: 0.764
            assert accuracy(model, images, labels) == pytest.approx(history["val_accuracy"][-1])
    assert rejected[16] > 0.9 and rejected[0] < 0.1           # measured: 1.0 and 0.0
    with pytest.raises(ValueError, match="train_mnist_cnn: rejects_per_batch must be >= 0"):
        classifier.train_mnist_cnn(mnist_cnn(rng=0), rejects_per_batch=-1)


def test_the_default_classifier_reads_test_digits_and_never_calls_them_rejects(test_digits):
    images, labels = test_digits
    model = mnist_classifier(progress=False)
    # Labels are digits 0-9; measured on the 1,000 bundled test digits: 0.977.
    assert accuracy(model, images, labels) > 0.95
    with sn.no_grad():
        predicted = model(sn.Tensor(images)).numpy().argmax(axis=1)
    assert (predicted == NOT_A_DIGIT).mean() < 0.01                       # measured: 0.0
