"""How much a representation knows about the labels: the linear probe and cosine k-NN.

A representation learned without labels is judged by what a very simple classifier can
read off it. Two such readers are here, both working on plain feature arrays:

* :func:`linear_probe` fits multinomial logistic regression on the frozen features, with
  few labels, and reports test accuracy over several seeded draws of those labels (the
  "linear evaluation" of Zhang et al., 2016, and Kolesnikov et al., 2019);
* :func:`knn_accuracy` classifies each test example by a majority vote of its nearest
  training examples by cosine similarity, with nothing fitted at all (Wu et al., 2018).

Both are re-exported from :mod:`scratchnet.metrics`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from scratchnet.autograd import Tensor
from scratchnet.backend import as_numpy

__all__ = ["knn_accuracy", "labelled_examples", "linear_probe"]

#: The L2 strengths the probe chooses from, spaced by factors of ten.
L2_GRID = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)


def _as_host(x: Any) -> np.ndarray:
    return np.asarray(as_numpy(getattr(x, "data", x)))


def _check_pair(fn: str, features: Any, labels: Any, which: str) -> tuple[np.ndarray,
                                                                           np.ndarray]:
    """Features (N, D) as float64 and labels (N,) as int64, or an error naming ``fn``."""
    x = _as_host(features)
    y = _as_host(labels)
    if x.ndim != 2:
        raise ValueError(f"{fn}: {which}_features must have shape (N, D), got shape {x.shape}")
    if y.ndim != 1:
        raise ValueError(f"{fn}: {which}_labels must have shape (N,), got shape {y.shape}")
    if y.dtype.kind not in "iu":
        raise TypeError(f"{fn}: {which}_labels must be integers, got dtype {y.dtype}")
    if len(x) != len(y):
        raise ValueError(f"{fn}: {len(x)} {which} feature rows but {len(y)} {which} labels")
    if len(x) == 0:
        raise ValueError(f"{fn}: {which}_features is empty")
    if x.dtype.kind not in "biuf":
        raise TypeError(f"{fn}: {which}_features must be numbers, got dtype {x.dtype}")
    x = x.astype(np.float64)
    if not np.isfinite(x).all():
        raise ValueError(f"{fn}: {which}_features contains NaN or infinite values")
    return x, y.astype(np.int64)


def _check_inputs(fn: str, train_features: Any, train_labels: Any, test_features: Any,
                  test_labels: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    x_train, y_train = _check_pair(fn, train_features, train_labels, "train")
    x_test, y_test = _check_pair(fn, test_features, test_labels, "test")
    if x_train.shape[1] != x_test.shape[1]:
        raise ValueError(f"{fn}: train features have {x_train.shape[1]} columns but test "
                         f"features have {x_test.shape[1]}")
    return x_train, y_train, x_test, y_test


def _check_count(fn: str, name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{fn}: {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _draw(rng: np.random.Generator, by_class: list[np.ndarray], per_class: int | None,
          validation_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the fitting and the validation examples of one labelled draw.

    From each class, ``per_class`` examples (all of them for None) are drawn, and
    ``round(validation_fraction * n_c)`` of those, clipped to [1, n_c - 1], are held out
    for validation, so every class is seen both when fitting and when choosing the L2
    strength.
    """
    fit, validation = [], []
    for members in by_class:
        n_c = len(members) if per_class is None else per_class
        chosen = rng.choice(members, size=n_c, replace=False)
        # At least one to validate on and at least one left to fit.
        n_val = min(n_c - 1, max(1, round(validation_fraction * n_c)))
        validation.append(chosen[:n_val])
        fit.append(chosen[n_val:])
    return np.concatenate(fit), np.concatenate(validation)


def _standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (S, 1, D) and std (S, 1, D) of each draw's rows; a constant column gets std 1."""
    mean = x.mean(axis=1, keepdims=True)
    std = x.std(axis=1, keepdims=True)
    return mean, np.where(std > 0, std, 1.0)


def _fit_softmax(x: np.ndarray, y: np.ndarray, l2: np.ndarray, n_classes: int, steps: int,
                 lr: float) -> tuple[np.ndarray, np.ndarray]:
    """Many independent L2-regularised softmax regressions, fitted in one batch.

    Shapes: ``x`` (S, n, D) standardised features of S draws, ``y`` (S, n) class indices,
    ``l2`` (S, G) a strength per model -> weights (S, G, D, C) and biases (S, G, 1, C).
    Model (s, g) minimises ``mean_i CE(x_si W_sg + b_sg, y_si) + l2_sg / 2 ‖W_sg‖²`` (the
    bias is not penalised). The objective summed over the S·G models has a gradient whose
    block for one model depends on that model alone, and Adam scales each coordinate on its
    own, so one batched run is the same as S·G separate ones, at the cost of one.
    The problem is convex, so starting at zero is as good as any start and keeps the fit
    deterministic. Float32 halves the cost of float64, and the probe needs only the argmax
    of the scores: after the default 200 steps at lr 0.1 the objective is within about
    1e-4 of the optimum even at the weakest strength, where convergence is slowest.
    """
    from scratchnet.functional import cross_entropy
    from scratchnet.optim import Adam

    n_draws, n, dim = x.shape
    n_models = l2.shape[1]
    # Stored as (S, D, G·C): the G models of a draw share its features, so their logits
    # come from one wide matrix product per draw rather than G narrow ones.
    weight = Tensor(np.zeros((n_draws, dim, n_models * n_classes)), requires_grad=True,
                    dtype=np.float32)
    bias = Tensor(np.zeros((n_draws, 1, n_models * n_classes)), requires_grad=True,
                  dtype=np.float32)
    inputs = Tensor(x, dtype=np.float32)                                 # (S, n, D)
    targets = np.broadcast_to(y[:, :, None], (n_draws, n, n_models)).reshape(-1)
    strength = Tensor(np.repeat(l2, n_classes, axis=1)[:, None, :] / 2, dtype=np.float32)
    optimizer = Adam([weight, bias], lr=lr)
    for _ in range(steps):
        logits = (inputs @ weight + bias).reshape(-1, n_classes)         # (S·n·G, C)
        data_term = cross_entropy(logits, targets, reduction="sum") / n
        loss = data_term + (strength * weight * weight).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    shape = (n_draws, dim, n_models, n_classes)
    return (np.asarray(as_numpy(weight.data)).reshape(shape).transpose(0, 2, 1, 3),
            np.asarray(as_numpy(bias.data)).reshape(n_draws, 1, n_models,
                                                   n_classes).transpose(0, 2, 1, 3))


def _logits(x: np.ndarray, mean: np.ndarray, std: np.ndarray, weight: np.ndarray,
            bias: np.ndarray) -> np.ndarray:
    """Scores (S, G, N, C) of raw features ``x`` (N, D) under each draw's standardisation."""
    scaled = weight / std[:, 0, None, :, None]                          # (S, G, D, C)
    shift = np.einsum("sd,sgdc->sgc", mean[:, 0], scaled)[:, :, None, :]
    return np.einsum("nd,sgdc->sgnc", x, scaled) - shift + bias


def _labelled_draws(fn: str, y_train: np.ndarray, labels_per_class: int | str | None,
                    n_seeds: int, validation_fraction: float,
                    ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """The classes, each label's class index, and every seed's fitting and validation indices."""
    classes, y_index = np.unique(y_train, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(f"{fn}: the training labels hold {len(classes)} class; a classifier "
                         f"needs at least 2")
    by_class = [np.flatnonzero(y_index == c) for c in range(len(classes))]
    smallest = min(len(members) for members in by_class)
    if labels_per_class is None or labels_per_class == "all":
        per_class = None
        if smallest < 2:
            raise ValueError(f"{fn}: every class needs at least 2 training examples (one to "
                             f"fit, one to validate), the smallest has {smallest}")
    else:
        if isinstance(labels_per_class, str):
            raise ValueError(f"{fn}: labels_per_class must be an integer >= 2, None or "
                             f"'all', got {labels_per_class!r}")
        per_class = _check_count(fn, "labels_per_class", labels_per_class, 2)
        if per_class > smallest:
            raise ValueError(f"{fn}: labels_per_class={per_class} is more than the smallest "
                             f"class has ({smallest} training examples)")

    fits, validations = [], []
    for seed in range(n_seeds):
        fit, validation = _draw(np.random.default_rng(seed), by_class, per_class,
                                validation_fraction)
        fits.append(fit)
        validations.append(validation)
    return classes, y_index, fits, validations


def linear_probe(train_features: Any, train_labels: Any, test_features: Any, test_labels: Any,
                 labels_per_class: int | str | None = 10, seeds: int = 5,
                 l2_grid: tuple[float, ...] = L2_GRID, validation_fraction: float = 0.2,
                 steps: int = 200, lr: float = 0.1) -> dict[str, Any]:
    """Test accuracy of multinomial logistic regression on frozen features, with few labels.

    Shapes: ``train_features`` (N, D), ``train_labels`` (N,) integers, ``test_features``
    (M, D), ``test_labels`` (M,) integers. Features may be NumPy/CuPy arrays or Tensors.

    For each seed ``s`` in ``range(seeds)`` (a fresh ``np.random.default_rng(s)``):

    1. draw ``labels_per_class`` training examples of every class (``None`` or ``"all"``
       takes all of them); these are the only labels the probe ever sees;
    2. hold out ``validation_fraction`` of each class's draw (at least one example, and
       never all of them) as a validation split;
    3. standardise the features with the mean and standard deviation of the examples being
       fitted, fit ``softmax(x W + b)`` by minimising ``mean CE + λ/2 ‖W‖²`` for every λ in
       ``l2_grid`` (``steps`` full-batch Adam steps from zero, in float32, with
       scratchnet's autograd), and keep the λ with the best validation accuracy (ties:
       the lower validation cross-entropy, then the larger λ);
    4. refit on all the drawn examples with that λ and score accuracy on the whole test set.

    All draws and all strengths are fitted together as one batch of independent models, so
    a call costs two fits, not ``seeds × (len(l2_grid) + 1)``.

    Returns a dict with ``"median"`` (the median test accuracy over the seeds), ``"spread"``
    (``(min, max)`` over the seeds: with five draws, the full range is the honest summary;
    two probes whose ranges overlap are not told apart), ``"all"`` (the accuracy of each
    seed, in seed order) and ``"l2"`` (the strength chosen for each seed).

    References: Zhang, Isola & Efros, "Colorful image colorization", ECCV 2016 (linear
    classifiers on frozen layers); Kolesnikov, Zhai & Beyer, "Revisiting self-supervised
    visual representation learning", CVPR 2019 (logistic regression with its L2 strength
    chosen on a validation split).
    """
    fn = "linear_probe"
    x_train, y_train, x_test, y_test = _check_inputs(fn, train_features, train_labels,
                                                     test_features, test_labels)
    n_seeds = _check_count(fn, "seeds", seeds, 1)
    steps = _check_count(fn, "steps", steps, 1)
    if not 0 < validation_fraction < 1:
        raise ValueError(f"{fn}: validation_fraction must lie in (0, 1), got "
                         f"{validation_fraction!r}")
    if not lr > 0:
        raise ValueError(f"{fn}: lr must be > 0, got {lr!r}")
    grid = np.asarray(l2_grid, dtype=np.float64)
    if grid.ndim != 1 or grid.size == 0 or not (np.isfinite(grid).all() and (grid >= 0).all()):
        raise ValueError(f"{fn}: l2_grid must be a non-empty sequence of finite strengths >= 0, "
                         f"got {l2_grid!r}")
    classes, y_index, fits, validations = _labelled_draws(fn, y_train, labels_per_class,
                                                          n_seeds, validation_fraction)
    labelled = [np.concatenate(pair) for pair in zip(fits, validations, strict=True)]
    fit_idx, val_idx, all_idx = np.stack(fits), np.stack(validations), np.stack(labelled)
    n_classes = len(classes)

    # Choose λ: every (seed, λ) pair is one model of the batch.
    mean, std = _standardise(x_train[fit_idx])
    weight, bias = _fit_softmax((x_train[fit_idx] - mean) / std, y_index[fit_idx],
                                np.broadcast_to(grid, (n_seeds, grid.size)), n_classes,
                                steps, lr)
    scores = np.stack([_logits(x_train[val_idx[s]], mean[s:s + 1], std[s:s + 1],
                               weight[s:s + 1], bias[s:s + 1])[0] for s in range(n_seeds)])
    val_y = y_index[val_idx][:, None, :]                                 # (S, 1, n_val)
    accuracy = (scores.argmax(axis=-1) == val_y).mean(axis=-1)           # (S, G)
    log_p = scores - scores.max(axis=-1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(axis=-1, keepdims=True))
    val_ce = -np.take_along_axis(log_p, np.broadcast_to(val_y, log_p.shape[:3])[..., None],
                                 axis=-1)[..., 0].mean(axis=-1)          # (S, G)
    # np.lexsort sorts by its last key first: accuracy (descending), then cross-entropy
    # (ascending), then λ (descending); the first of each row is the choice.
    chosen = np.array([np.lexsort((-grid, val_ce[s], -accuracy[s]))[0] for s in range(n_seeds)])
    l2 = grid[chosen]

    # Refit on every labelled example with the chosen λ and score the test set.
    mean, std = _standardise(x_train[all_idx])
    weight, bias = _fit_softmax((x_train[all_idx] - mean) / std, y_index[all_idx],
                                l2[:, None], n_classes, steps, lr)
    test_scores = _logits(x_test, mean, std, weight, bias)[:, 0]         # (S, M, C)
    predicted = classes[test_scores.argmax(axis=-1)]
    accuracies = [float(a) for a in (predicted == y_test[None]).mean(axis=1)]
    return {"median": float(np.median(accuracies)),
            "spread": (min(accuracies), max(accuracies)),
            "all": accuracies,
            "l2": [float(v) for v in l2]}


def labelled_examples(train_labels: Any, labels_per_class: int | str | None = 10,
                      seeds: int = 5) -> list[np.ndarray]:
    """The indices of the labelled examples :func:`linear_probe` draws, one array per seed.

    With the same arguments, seed ``s``'s array holds exactly the training examples whose
    labels the probe's draw ``s`` uses (to fit and to choose λ), so that another learner,
    such as a classifier trained from scratch, can be given the very same labels. Each
    array has ``labels_per_class`` examples of every class (all of them for None or
    ``"all"``), as int64 indices into ``train_labels``.
    """
    fn = "labelled_examples"
    labels = _as_host(train_labels)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise ValueError(f"{fn}: train_labels must be integers of shape (N,), got dtype "
                         f"{labels.dtype} and shape {labels.shape}")
    n_seeds = _check_count(fn, "seeds", seeds, 1)
    # Which examples a draw labels does not depend on how it is split; 0.2 is
    # linear_probe's default fraction, so the order within each draw matches too.
    _, _, fits, validations = _labelled_draws(fn, labels.astype(np.int64), labels_per_class,
                                              n_seeds, 0.2)
    return [np.concatenate(pair) for pair in zip(fits, validations, strict=True)]


def knn_accuracy(train_features: Any, train_labels: Any, test_features: Any, test_labels: Any,
                 k: int = 10, chunk_size: int = 1024) -> float:
    """Accuracy of cosine k-nearest-neighbour classification, a probe with nothing fitted.

    Shapes: ``train_features`` (N, D), ``train_labels`` (N,) integers, ``test_features``
    (M, D), ``test_labels`` (M,) integers. Every row is scaled to unit length (an all-zero
    row stays zero, similar to nothing), each test row is compared with every training row
    by the dot product (the cosine similarity), and its prediction is the label held by
    most of its ``k`` most similar training rows. A tie in the vote goes to the tied label
    whose neighbours' similarities sum highest, and, failing that, to the smallest label.
    Test rows are handled ``chunk_size`` at a time, so memory stays at
    ``chunk_size × N`` similarities.

    The default ``k = 10`` is small beside the few hundred examples per class of the
    bundled MNIST, so the vote stays local, yet big enough that one atypical neighbour
    cannot decide it. Wu et al. ("Unsupervised feature learning via non-parametric
    instance discrimination", CVPR 2018) score representations this way, with a weighted
    vote among k = 200 neighbours of a million-image training set.
    """
    fn = "knn_accuracy"
    x_train, y_train, x_test, y_test = _check_inputs(fn, train_features, train_labels,
                                                     test_features, test_labels)
    k = _check_count(fn, "k", k, 1)
    if k > len(x_train):
        raise ValueError(f"{fn}: k={k} is more than the {len(x_train)} training examples")
    chunk_size = _check_count(fn, "chunk_size", chunk_size, 1)
    classes, y_index = np.unique(y_train, return_inverse=True)

    def unit(x: np.ndarray) -> np.ndarray:
        norm = np.linalg.norm(x, axis=1, keepdims=True)
        return x / np.where(norm > 0, norm, 1.0)

    x_train, x_test = unit(x_train), unit(x_test)
    correct = 0
    for start in range(0, len(x_test), chunk_size):
        similarity = x_test[start:start + chunk_size] @ x_train.T       # (m, N)
        rows = np.arange(len(similarity))[:, None]
        nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]    # (m, k), unordered
        votes = np.zeros((len(similarity), len(classes)))
        weight = np.zeros_like(votes)
        np.add.at(votes, (rows, y_index[nearest]), 1.0)
        np.add.at(weight, (rows, y_index[nearest]), similarity[rows, nearest])
        # Only the labels with the most votes compete; argmax takes the first (smallest) of
        # any that also tie in summed similarity.
        tied = votes == votes.max(axis=1, keepdims=True)
        predicted = classes[np.where(tied, weight, -np.inf).argmax(axis=1)]
        correct += int((predicted == y_test[start:start + chunk_size]).sum())
    return correct / len(x_test)
