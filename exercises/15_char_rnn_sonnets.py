"""Exercises for lesson 15: a character model of Shakespeare's Sonnets.

Fill in each body, then run ``scratchnet check 15``. Reference solutions are in
``exercises/solutions/``. All three work on NumPy arrays.
"""

import numpy as np


def bits_per_char(logits: np.ndarray, targets: np.ndarray) -> float:
    """The mean cost, in bits, of the characters ``targets`` under the predictions ``logits``.

    Shapes: logits (T, V), one row of unnormalised scores over the V characters per position;
    targets (T,), integers in 0 .. V-1. With log-softmax along each row,

        log p[t, v] = logits[t, v] - log Σ_u exp(logits[t, u]),

    return the float  mean_t  -log p[t, targets[t]] / ln 2  (log base 2: bits, not nats).
    Logits as large as 1000 must work: exp(1000) overflows, so subtract each row's max
    first (log Σ exp(a) = m + log Σ exp(a - m) with m = max a).
    """
    raise NotImplementedError("exercise: bits_per_char")


def temperature_softmax(logits: np.ndarray, temperature: float) -> np.ndarray:
    """The sampling distribution softmax(logits / T) along the last axis.

    Shapes: logits (..., V) -> probabilities (..., V), each row summing to 1:

        p[v] = exp(logits[v] / T) / Σ_u exp(logits[u] / T).

    T = 1 is the model's own distribution, T < 1 sharpens it (towards the most likely
    character), T > 1 flattens it (towards uniform). Logits near ±1000 must give finite
    probabilities: subtract each row's max from logits / T before exp.
    """
    raise NotImplementedError("exercise: temperature_softmax")


def bigram_counts_probabilities(ids: np.ndarray, V: int, k: float) -> np.ndarray:
    """The add-k smoothed bigram model of the id sequence ``ids``, as a (V, V) table.

    ``ids``: 1-D integers in 0 .. V-1. Count c(a, b), the number of positions t with
    ids[t] = a and ids[t+1] = b, and c(a) = Σ_b c(a, b), how often a is followed by an id.
    Then

        P[a, b] = (c(a, b) + k) / (c(a) + k V),

    the probability that b comes next after a. Every row sums to 1, even for an id never
    seen (its row is uniform, 1 / V).
    """
    raise NotImplementedError("exercise: bigram_counts_probabilities")
