"""Reference solutions for lesson 16's exercises (see ``exercises/16_self_supervised.py``)."""

import itertools

import numpy as np


def rotation_targets(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Four rotated copies of the batch, one block per k, and the block's k as the label."""
    rotated = np.concatenate([np.rot90(images, k, axes=(2, 3)) for k in range(4)])
    labels = np.repeat(np.arange(4), len(images))
    return rotated, labels


def max_hamming_set(first: np.ndarray, n_permutations: int) -> np.ndarray:
    """Keep each candidate's distance to its nearest chosen row; add the farthest, repeat."""
    candidates = np.array(list(itertools.permutations(range(len(first)))))
    chosen = [np.asarray(first)]
    nearest = np.sum(candidates != chosen[0], axis=1)
    for _ in range(n_permutations - 1):
        best = int(np.argmax(nearest))          # argmax returns the first of any ties
        chosen.append(candidates[best])
        nearest = np.minimum(nearest, np.sum(candidates != candidates[best], axis=1))
    return np.stack(chosen)


def nt_xent(z1: np.ndarray, z2: np.ndarray, temperature: float) -> float:
    """Unit rows, similarities over τ, the diagonal masked out, a stable log-softmax."""
    z = np.concatenate([z1, z2])
    z = z / np.linalg.norm(z, axis=1, keepdims=True)
    logits = z @ z.T / temperature
    np.fill_diagonal(logits, -np.inf)
    n2 = len(z)
    positive = logits[np.arange(n2), (np.arange(n2) + n2 // 2) % n2]
    top = logits.max(axis=1)
    log_sum = top + np.log(np.sum(np.exp(logits - top[:, None]), axis=1))
    return float(np.mean(log_sum - positive))
