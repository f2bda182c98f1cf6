"""The GAN metrics: ring_coverage on constructed samples (and against a plain-Python
recount), and classifier_score on real digits, noise, blank and grey images, held-out
non-digits (salt-and-pepper, checkerboards), overlaid digits, shuffled labels."""

from __future__ import annotations

import numpy as np
import pytest

import scratchnet as sn
import scratchnet.functional as F
from scratchnet.datasets.synthetic import make_grid, make_ring
from scratchnet.metrics import classifier_score, ring_coverage
from scratchnet.models import mnist_classifier
from scratchnet.models.classifier import NOT_A_DIGIT

STD = 0.01


@pytest.fixture(scope="module")
def centers():
    return make_ring(8, rng=0)[1].astype(np.float64)


# -- ring_coverage --------------------------------------------------------------------------
def test_samples_at_every_center_cover_every_mode(centers):
    assert ring_coverage(np.repeat(centers, 3, axis=0), centers, STD) == (8, 1.0)


def test_samples_all_at_one_center_cover_one_mode(centers):
    assert ring_coverage(np.tile(centers[3], (50, 1)), centers, STD) == (1, 1.0)


def test_samples_off_every_mode_cover_nothing(centers):
    inner = 0.5 * centers                       # radius 0.5, half-way to the origin
    assert ring_coverage(inner, centers, STD) == (0, 0.0)
    assert ring_coverage(np.zeros((4, 2)), centers, STD) == (0, 0.0)


def test_a_mix_with_known_counts(centers):
    rng = np.random.default_rng(0)
    offsets = rng.normal(size=(30, 2))
    offsets *= 0.02 / np.linalg.norm(offsets, axis=1, keepdims=True)   # 2 std from centre
    samples = np.concatenate([
        centers[0] + offsets[:12],              # 12 good at mode 0
        centers[5] + offsets[12:18],            # 6 good at mode 5
        centers[6] + 5 * offsets[18:20],        # 2 at 10 std from mode 6: bad
        0.5 * centers[:4],                      # 4 off the ring: bad
    ])
    rng.shuffle(samples)
    modes, quality = ring_coverage(samples, centers, STD)
    assert modes == 2
    assert quality == pytest.approx(18 / 24)


def test_the_three_std_boundary(centers):
    direction = centers[2] / np.linalg.norm(centers[2])
    inside = centers[2] + (3 * STD - 1e-6) * direction
    outside = centers[2] + (3 * STD + 1e-6) * direction
    assert ring_coverage(inside[None], centers, STD) == (1, 1.0)
    assert ring_coverage(outside[None], centers, STD) == (0, 0.0)
    # The same point is good for a wider mode.
    assert ring_coverage(outside[None], centers, 2 * STD) == (1, 1.0)


def test_a_sample_counts_only_for_its_nearest_center():
    # Within 3 std of both centres, nearer to the first: one mode covered, not two.
    centers = np.array([[0.0, 0.0], [1.0, 0.0]])
    assert ring_coverage(np.array([[0.45, 0.0]]), centers, 0.2) == (1, 1.0)
    assert ring_coverage(np.array([[0.45, 0.0], [0.55, 0.0]]), centers, 0.2) == (2, 1.0)


def test_agrees_with_a_plain_python_recount_on_a_grid():
    samples, grid = make_grid(400, std=0.05, rng=1)
    samples = samples + np.random.default_rng(2).normal(0, 0.3, samples.shape)
    samples[:150] = samples[0]                  # pile a third of them onto one point
    covered, good = set(), 0
    for x in samples.astype(np.float64):
        d = [float(np.hypot(*(x - c))) for c in grid.astype(np.float64)]
        k = int(np.argmin(d))
        if d[k] <= 3 * 0.05:
            covered.add(k)
            good += 1
    modes, quality = ring_coverage(sn.Tensor(samples.astype(np.float32)), sn.Tensor(grid), 0.05)
    assert 0 < len(covered) < 25 and 0 < good < 400
    assert modes == len(covered)
    assert quality == pytest.approx(good / 400)


@pytest.mark.parametrize(("samples", "centers", "std", "message"), [
    (np.zeros(4), np.zeros((8, 2)), STD, "must be 2-D with the same D"),
    (np.zeros((4, 3)), np.zeros((8, 2)), STD, "must be 2-D with the same D"),
    (np.zeros((0, 2)), np.zeros((8, 2)), STD, "at least one sample"),
    (np.zeros((4, 2)), np.zeros((0, 2)), STD, "at least one sample"),
    (np.array([[0.0, np.nan]]), np.zeros((8, 2)), STD, "NaN or infinite"),
    (np.array([[0.0, np.inf]]), np.zeros((8, 2)), STD, "NaN or infinite"),
    (np.zeros((4, 2)), np.zeros((8, 2)), 0.0, "std must be positive"),
    (np.zeros((4, 2)), np.zeros((8, 2)), -1.0, "std must be positive"),
])
def test_ring_coverage_errors(samples, centers, std, message):
    with pytest.raises(ValueError, match=message):
        ring_coverage(samples, centers, std)


# -- classifier_score -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def classifier():
    """The cached MNIST CNN (trained on first use, then loaded from the data home)."""
    return mnist_classifier(progress=False)


@pytest.fixture(scope="module")
def digits():
    images, labels = sn.datasets.load_mnist("test", source="bundled")
    return images[:300], labels[:300]


def test_real_digits_are_confident_varied_and_match_their_labels(classifier, digits):
    images, labels = digits
    score = classifier_score(images, labels, classifier=classifier)
    assert set(score) == {"confident", "rejected", "classes", "matches_label"}
    assert score["confident"] > 0.85          # measured: 0.907
    assert score["rejected"] < 0.01           # measured: 0.0
    assert score["classes"] == 10
    assert score["matches_label"] > 0.93      # measured: 0.967


def test_shuffled_labels_no_longer_match(classifier, digits):
    images, labels = digits
    right = classifier_score(images, labels, classifier=classifier)["matches_label"]
    shuffled = np.random.default_rng(0).permutation(labels)
    wrong = classifier_score(images, shuffled, classifier=classifier)["matches_label"]
    assert wrong < 0.3 < 0.9 < right


def test_the_score_is_recomputed_from_the_softmax(classifier, digits):
    images, labels = digits[0][:120], digits[1][:120]
    with sn.no_grad():
        probabilities = F.softmax(classifier(sn.Tensor(images)), axis=1).numpy()
    assert probabilities.shape == (120, NOT_A_DIGIT + 1)
    # Two of the images made into noise, which the classifier calls "not a digit".
    images = images.copy()
    images[:2] = np.random.default_rng(3).random((2, 1, 28, 28))
    with sn.no_grad():
        probabilities = F.softmax(classifier(sn.Tensor(images)), axis=1).numpy()
    is_digit = probabilities.argmax(axis=1) != NOT_A_DIGIT
    assert is_digit.sum() == 118
    for threshold in (0.5, 0.99):
        confident = (probabilities.max(axis=1) > threshold) & is_digit
        score = classifier_score(images, labels, classifier=classifier, threshold=threshold,
                                 batch_size=7)
        assert score["confident"] == pytest.approx(confident.mean())
        assert score["rejected"] == pytest.approx(2 / 120)
        assert score["classes"] == len(set(probabilities.argmax(axis=1)[confident]))
        assert score["matches_label"] == pytest.approx(
            (probabilities.argmax(axis=1) == labels).mean())
    loose = classifier_score(images, classifier=classifier, threshold=0.5)["confident"]
    strict = classifier_score(images, classifier=classifier, threshold=0.999)["confident"]
    assert strict < loose


def _not_digits() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    shape = (300, 1, 28, 28)
    cases = {
        "uniform noise": rng.random(shape),
        # As bright on average as a digit (MNIST's mean pixel is about 0.13).
        "faint uniform noise": 0.3 * rng.random(shape),
        "Gaussian noise": np.clip(0.5 + 0.25 * rng.standard_normal(shape), 0, 1),
        "unclipped standard Gaussian noise": rng.standard_normal(shape),
        "blank": np.zeros((4, 1, 28, 28)),
    }
    for level in (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0):
        cases[f"grey {level}"] = np.full((4, 1, 28, 28), level)
    return {name: x.astype(np.float32) for name, x in cases.items()}


@pytest.mark.parametrize("name", list(_not_digits()))
def test_noise_blank_and_grey_images_are_rejected_not_confident(classifier, name):
    # The ten-class classifier called uniform noise an 8 with 100% "confidence".
    score = classifier_score(_not_digits()[name], classifier=classifier)
    assert score["confident"] < 0.05          # measured: 0.0 for every case
    assert score["rejected"] > 0.95           # measured: 1.0 for every case
    assert score["classes"] == 0


def test_a_ten_output_classifier_rejects_nothing(digits):
    # Without a reject output, class 10 never occurs: confident is the old definition.
    from scratchnet import nn

    ten = nn.Sequential(nn.Flatten(), nn.Dense(784, 10, rng=0))
    images = digits[0][:50]
    with sn.no_grad():
        top = F.softmax(ten(sn.Tensor(images)), axis=1).numpy().max(axis=1)
    score = classifier_score(images, classifier=ten, threshold=0.2)
    assert score["rejected"] == 0.0
    assert score["confident"] == pytest.approx((top > 0.2).mean())


def _held_out() -> dict[str, np.ndarray]:
    """Non-digits of kinds that not_digit_images never makes, so the classifier never saw."""
    rng = np.random.default_rng(1)
    cases = {f"salt-and-pepper {p}": (rng.random((300, 1, 28, 28)) < p)
             for p in (0.05, 0.2, 0.5)}
    rows, cols = np.mgrid[:28, :28]
    for side in (1, 2, 4, 7):
        board = (rows // side + cols // side) % 2
        cases[f"checkerboard {side}"] = np.broadcast_to(board, (4, 1, 28, 28))
    return {name: x.astype(np.float32) for name, x in cases.items()}


@pytest.mark.parametrize("name", list(_held_out()))
def test_held_out_non_digits_are_rejected_too(classifier, name):
    # The reject class generalises beyond its training kinds. Measured with the default
    # classifier: confident 0.0 and rejected 1.0 for every case (also for stripes).
    score = classifier_score(_held_out()[name], classifier=classifier)
    assert score["confident"] < 0.1
    assert score["rejected"] > 0.9


def test_overlaid_digits_are_scored_by_the_definition(classifier, digits):
    # Two digits drawn over each other are no digit, yet look like handwriting: the
    # docstring's caveat. Measured with the default classifier: confident 0.853, rejected
    # 0.0. That is a limit of this classifier, not a property to hold it to, so the test
    # only checks that the score counts what its definition says on such images.
    overlaid = np.maximum(digits[0][:150], digits[0][150:300])
    score = classifier_score(overlaid, classifier=classifier)
    with sn.no_grad():
        p = F.softmax(classifier(sn.Tensor(overlaid)), axis=1).numpy()
    top = p.argmax(axis=1)
    confident = (p.max(axis=1) > 0.9) & (top != NOT_A_DIGIT)
    assert score["confident"] == pytest.approx(confident.mean())
    assert score["rejected"] == pytest.approx((top == NOT_A_DIGIT).mean())
    assert score["classes"] == len(np.unique(top[confident]))
    assert score["confident"] + score["rejected"] <= 1.0


def test_the_default_classifier_is_the_cached_one_and_its_mode_is_restored(classifier, digits):
    images = digits[0][:50]
    assert classifier_score(images) == classifier_score(images, classifier=classifier)
    classifier.train()
    try:
        classifier_score(images, classifier=classifier)
        assert classifier.training
    finally:
        classifier.eval()


def test_classifier_score_errors(classifier, digits):
    images, labels = digits[0][:10], digits[1][:10]
    with pytest.raises(ValueError, match=r"must have shape \(N, 1, 28, 28\)"):
        classifier_score(images[:, 0], classifier=classifier)
    with pytest.raises(ValueError, match=r"must have shape \(N, 1, 28, 28\)"):
        classifier_score(np.zeros((2, 1, 14, 14), np.float32), classifier=classifier)
    for threshold in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match=r"threshold must lie in \(0, 1\)"):
            classifier_score(images, classifier=classifier, threshold=threshold)
    with pytest.raises(ValueError, match="9 labels for 10 images"):
        classifier_score(images, labels[:9], classifier=classifier)
