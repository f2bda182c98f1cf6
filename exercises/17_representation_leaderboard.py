"""Exercises for lesson 17: scoring representations with a probe and a few labels.

Fill in each body, then run ``scratchnet check 17``. Reference solutions are in
``exercises/solutions/``. All three work on NumPy arrays: they are the pieces that
``metrics.knn_accuracy`` and ``metrics.linear_probe`` are built from.
"""

import numpy as np


def cosine_knn_predict(train_features: np.ndarray, train_labels: np.ndarray,
                       test_features: np.ndarray, k: int) -> np.ndarray:
    """Label each test row by a vote of its k most similar training rows (cosine k-NN).

    Shapes: train_features (N, D), train_labels (N,) integers (any values, e.g. 2, 5, 7),
    test_features (M, D), k an int with 1 <= k <= N -> predicted labels (M,).

    Scale every row to unit length, so that the similarity of a test row u and a training
    row v is their cosine, s(u, v) = u·v / (|u| |v|); a row of zeros stays zero. For each
    test row take the k training rows with the largest similarity, and predict the label
    that most of them hold. On a tie in the vote, the tied label whose neighbours'
    similarities add up to the most wins, and if that ties too, the smallest label. This is
    the rule of ``scratchnet.metrics.knn_accuracy``.
    """
    raise NotImplementedError("exercise: cosine_knn_predict")


def draw_labels_per_class(labels: np.ndarray, m: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of m randomly chosen examples of every class: the few labels a probe sees.

    Shapes: labels (N,) integers with C distinct values, each held by at least m examples
    -> indices (C·m,) ints into ``labels``, in any order. Every class contributes exactly m
    indices, drawn from ``rng`` without replacement (no example twice), so that every
    example of a class is equally likely to be drawn (``rng.choice(..., replace=False)``).
    The same seed must give the same draw, and different seeds different draws: that is
    how the lesson's five label draws are made and repeated.
    """
    raise NotImplementedError("exercise: draw_labels_per_class")


def standardise(train_features: np.ndarray,
                test_features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scale each feature to mean 0 and standard deviation 1, as the linear probe does.

    Shapes: train_features (N, D), test_features (M, D) -> (train_z (N, D), test_z (M, D)).
    With μ and σ (each (D,)) the mean and the standard deviation (np.std, ddof = 0) of each
    column of the *training* features only,

        train_z = (train_features - μ) / σ,        test_z = (test_features - μ) / σ.

    The test set is scaled with the training statistics: a probe must not learn anything
    from the test data. A column that is constant in the training set has σ = 0: divide it
    by 1 instead. Leave the arrays passed in unchanged.
    """
    raise NotImplementedError("exercise: standardise")
