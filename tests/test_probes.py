"""The linear probe and cosine k-NN: they read what features know about the labels."""

import numpy as np
import pytest

from scratchnet import datasets, metrics, models, probes
from scratchnet.autograd import Tensor


def blobs(n_train=600, n_test=300, dim=16, n_classes=4, spread=8.0, noise=1.0, seed=0):
    """Gaussian blobs around far-apart centres: linearly separable in practice."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_classes, dim)) * spread
    y_train = np.arange(n_train) % n_classes
    y_test = np.arange(n_test) % n_classes
    x_train = centres[y_train] + noise * rng.normal(size=(n_train, dim))
    x_test = centres[y_test] + noise * rng.normal(size=(n_test, dim))
    return x_train, y_train, x_test, y_test


def test_probe_separates_blobs_and_returns_its_summary():
    x_train, y_train, x_test, y_test = blobs()
    result = metrics.linear_probe(x_train, y_train, x_test, y_test, labels_per_class=10,
                                  seeds=3)
    assert result["median"] > 0.97
    assert len(result["all"]) == 3 and len(result["l2"]) == 3
    assert result["spread"] == (min(result["all"]), max(result["all"]))
    assert result["median"] == float(np.median(result["all"]))
    assert all(v in probes.L2_GRID for v in result["l2"])


def test_probe_is_at_chance_on_random_labels():
    rng = np.random.default_rng(1)
    x_train, x_test = rng.normal(size=(800, 16)), rng.normal(size=(2000, 16))
    y_train, y_test = rng.integers(0, 5, 800), rng.integers(0, 5, 2000)
    result = metrics.linear_probe(x_train, y_train, x_test, y_test, labels_per_class=40,
                                  seeds=3)
    assert abs(result["median"] - 1 / 5) < 0.05


def test_more_labels_do_not_hurt_on_a_clear_case():
    # Overlapping blobs, so that a handful of labels is not already enough.
    x_train, y_train, x_test, y_test = blobs(n_train=1000, n_test=1000, spread=0.6, seed=2)
    few = metrics.linear_probe(x_train, y_train, x_test, y_test, labels_per_class=5, seeds=3)
    many = metrics.linear_probe(x_train, y_train, x_test, y_test, labels_per_class=100,
                                seeds=3)
    every = metrics.linear_probe(x_train, y_train, x_test, y_test, labels_per_class="all",
                                 seeds=3)
    assert many["median"] > few["median"]
    assert every["median"] >= many["median"] - 0.02


def test_probe_reads_digits_from_pca_features():
    x, y = datasets.load_mnist(source="bundled")
    x_test, y_test = datasets.load_mnist("test", source="bundled")
    pca = models.PCA(32).fit(x.reshape(len(x), -1))
    z, z_test = pca.transform(x.reshape(len(x), -1)), pca.transform(x_test.reshape(len(x_test),
                                                                                  -1))
    result = metrics.linear_probe(z, y, z_test, y_test, labels_per_class=100, seeds=2)
    assert result["median"] > 0.7
    assert metrics.knn_accuracy(z, y, z_test, y_test) > 0.8


def test_probe_is_deterministic_and_seeds_matter():
    x_train, y_train, x_test, y_test = blobs(spread=0.5, seed=3)
    first = metrics.linear_probe(x_train, y_train, x_test, y_test, seeds=3)
    again = metrics.linear_probe(Tensor(x_train), Tensor(y_train), x_test, y_test, seeds=3)
    assert first == again
    assert len(set(first["all"])) > 1  # different label draws give different probes


def test_probe_handles_labels_that_are_not_0_to_c():
    x_train, y_train, x_test, y_test = blobs(n_classes=3)
    shifted = metrics.linear_probe(x_train, y_train * 7 + 2, x_test, y_test * 7 + 2, seeds=2)
    plain = metrics.linear_probe(x_train, y_train, x_test, y_test, seeds=2)
    assert shifted["all"] == plain["all"]


def brute_force_knn(x_train, y_train, x_test, k):
    predictions = []
    for row in x_test:
        sims = [row @ t / (np.linalg.norm(row) * np.linalg.norm(t)) for t in x_train]
        order = sorted(range(len(x_train)), key=lambda i: -sims[i])[:k]
        votes, sums = {}, {}
        for i in order:
            votes[y_train[i]] = votes.get(y_train[i], 0) + 1
            sums[y_train[i]] = sums.get(y_train[i], 0.0) + sims[i]
        top = max(votes.values())
        tied = [c for c in votes if votes[c] == top]
        predictions.append(sorted(tied, key=lambda c: (-sums[c], c))[0])
    return np.array(predictions)


@pytest.mark.parametrize("k", [1, 2, 3, 4, 7])
def test_knn_matches_a_loop(k):
    rng = np.random.default_rng(k)
    x_train, y_train = rng.normal(size=(30, 5)), rng.integers(0, 3, 30)
    x_test, y_test = rng.normal(size=(25, 5)), rng.integers(0, 3, 25)
    expected = (brute_force_knn(x_train, y_train, x_test, k) == y_test).mean()
    for chunk_size in (1, 4, 1024):
        assert metrics.knn_accuracy(x_train, y_train, x_test, y_test, k=k,
                                    chunk_size=chunk_size) == pytest.approx(expected)


def test_knn_uses_direction_not_length():
    x_train = np.array([[1.0, 0.0], [0.0, 1.0]])
    y_train = np.array([0, 1])
    # Near the second point in distance, but pointing along the first.
    x_test = np.array([[0.2, 0.01], [5.0, 0.1]])
    assert metrics.knn_accuracy(x_train, y_train, x_test, np.array([0, 0]), k=1) == 1.0


def test_knn_separates_blobs():
    x_train, y_train, x_test, y_test = blobs()
    assert metrics.knn_accuracy(x_train, y_train, x_test, y_test) > 0.97


def test_knn_vote_tie_goes_to_larger_similarity_then_smaller_label():
    x_train = np.array([[1.0, 0.1], [1.0, -0.5], [1.0, 0.3], [1.0, -0.3]])
    y_train = np.array([3, 1, 3, 1])
    x_test = np.array([[1.0, 0.0]])
    # Two votes each; the label-3 neighbours are the more similar ones.
    assert metrics.knn_accuracy(x_train, y_train, x_test, np.array([3]), k=4) == 1.0
    symmetric = np.array([[1.0, 0.2], [1.0, -0.2]])
    assert metrics.knn_accuracy(symmetric, np.array([5, 2]), x_test, np.array([2]), k=2) == 1.0


GOOD = blobs(n_train=40, n_test=10, dim=3, n_classes=2)


@pytest.mark.parametrize("fn", [metrics.linear_probe, metrics.knn_accuracy])
@pytest.mark.parametrize("change, error, message", [
    (lambda a: (a[0][:-1], a[1], a[2], a[3]), ValueError, "39 train feature rows but 40"),
    (lambda a: (a[0], a[1], a[2], a[3][:-1]), ValueError, "10 test feature rows but 9"),
    (lambda a: (a[0][:, :, None], a[1], a[2], a[3]), ValueError, "train_features must have"),
    (lambda a: (a[0], a[1][:, None], a[2], a[3]), ValueError, "train_labels must have"),
    (lambda a: (a[0], a[1] + 0.0, a[2], a[3]), TypeError, "train_labels must be integers"),
    (lambda a: (a[0], a[1], a[2], a[3] + 0.5), TypeError, "test_labels must be integers"),
    (lambda a: (a[0], a[1], a[2][:, :2], a[3]), ValueError, "3 columns but test features"),
    (lambda a: (np.where(a[0] > 1, np.nan, a[0]), a[1], a[2], a[3]), ValueError,
     "train_features contains NaN"),
    (lambda a: (a[0], a[1], a[2] * np.inf, a[3]), ValueError, "test_features contains NaN"),
    (lambda a: (a[0][:0], a[1][:0], a[2], a[3]), ValueError, "train_features is empty"),
    (lambda a: (a[0].astype(str), a[1], a[2], a[3]), TypeError,
     "train_features must be numbers, got dtype <U"),
])
def test_bad_inputs_are_named(fn, change, error, message):
    with pytest.raises(error, match=fn.__name__ + ".*" + message):
        fn(*change(GOOD))


@pytest.mark.parametrize("kwargs, message", [
    ({"labels_per_class": 21}, "labels_per_class=21 is more than the smallest class has"),
    ({"labels_per_class": 1}, "labels_per_class must be an integer >= 2"),
    ({"labels_per_class": "some"}, "labels_per_class must be .* None or .all., got .some."),
    ({"seeds": 0}, "seeds must be an integer >= 1"),
    ({"seeds": 2.5}, "seeds must be an integer"),
    ({"l2_grid": ()}, "l2_grid must be a non-empty"),
    ({"l2_grid": (-1.0,)}, "l2_grid must be"),
    ({"validation_fraction": 1.0}, "validation_fraction must lie in"),
    ({"lr": 0.0}, "lr must be > 0"),
    ({"steps": 0}, "steps must be an integer >= 1"),
])
def test_probe_bad_settings_are_named(kwargs, message):
    with pytest.raises(ValueError, match="linear_probe: " + message):
        metrics.linear_probe(*GOOD, **kwargs)


def test_probe_needs_two_classes_with_two_examples():
    x_train, y_train, x_test, y_test = GOOD
    with pytest.raises(ValueError, match="linear_probe: the training labels hold 1 class"):
        metrics.linear_probe(x_train, np.zeros_like(y_train), x_test, y_test)
    lonely = y_train.copy()
    lonely[0], lonely[1:] = 2, lonely[1:] % 2
    with pytest.raises(ValueError, match="linear_probe: every class needs at least 2"):
        metrics.linear_probe(x_train, lonely, x_test, y_test, labels_per_class=None)


@pytest.mark.parametrize("k, message", [(0, "k must be an integer >= 1"),
                                        (41, "k=41 is more than the 40 training examples"),
                                        (2.0, "k must be an integer")])
def test_knn_bad_k_is_named(k, message):
    with pytest.raises(ValueError, match="knn_accuracy: " + message):
        metrics.knn_accuracy(*GOOD, k=k)


def test_batched_fit_reaches_each_models_optimum():
    # At the minimum of mean CE + λ/2 ‖W‖² the gradient vanishes:
    # Xᵀ(P - Y)/n + λW = 0 and the bias gradient Σ(P - Y)/n = 0.
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2, 120, 6))
    y = rng.integers(0, 3, (2, 120))
    l2 = np.array([[1e-2, 1e-1, 1.0], [1e-1, 1.0, 1e-2]])
    weight, bias = probes._fit_softmax(x, y, l2, 3, steps=400, lr=0.1)
    for s in range(2):
        for g in range(3):
            z = x[s] @ weight[s, g] + bias[s, g]
            p = np.exp(z - z.max(1, keepdims=True))
            p /= p.sum(1, keepdims=True)
            residual = (p - np.eye(3)[y[s]]) / len(y[s])
            assert np.abs(x[s].T @ residual + l2[s, g] * weight[s, g]).max() < 1e-3
            assert np.abs(residual.sum(0)).max() < 1e-3
