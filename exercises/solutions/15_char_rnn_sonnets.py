"""Reference solutions for lesson 15's exercises (see ``exercises/15_char_rnn_sonnets.py``)."""

import numpy as np


def bits_per_char(logits: np.ndarray, targets: np.ndarray) -> float:
    """Stable log-softmax per row, the target's entry, mean, and nats to bits."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return float(-np.mean(log_p[np.arange(len(targets)), targets]) / np.log(2.0))


def temperature_softmax(logits: np.ndarray, temperature: float) -> np.ndarray:
    """Divide by T, shift by the row max (no overflow), exponentiate, normalise."""
    scaled = logits / temperature
    e = np.exp(scaled - scaled.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def bigram_counts_probabilities(ids: np.ndarray, V: int, k: float) -> np.ndarray:
    """Pair counts with np.add.at (repeated pairs add up), smoothed, each row normalised."""
    counts = np.zeros((V, V))
    np.add.at(counts, (ids[:-1], ids[1:]), 1)
    return (counts + k) / (counts.sum(axis=1, keepdims=True) + k * V)
