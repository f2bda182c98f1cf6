"""Exercises for lesson 16: self-supervised learning with pretext tasks.

Fill in each body, then run ``scratchnet check 16``. Reference solutions are in
``exercises/solutions/``. All three work on NumPy arrays.
"""

import itertools  # noqa: F401  (max_hamming_set will want it)

import numpy as np


def rotation_targets(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rotation pretext task's batch: every image in all four orientations, and labels.

    Shapes: images (N, C, H, W) with H == W -> (rotated (4N, C, H, W), labels (4N,) ints).
    The batch comes in four blocks of N: rows k·N .. (k+1)·N - 1 hold the N images turned
    by k quarter turns anticlockwise (as displayed, rows top to bottom), and their label
    is k, for k = 0, 1, 2, 3:

        rotated[k·N + i] = rot90(images[i], k)          labels[k·N + i] = k

    ``np.rot90(a, k, axes=(2, 3))`` turns the (H, W) plane of a whole (N, C, H, W) batch
    anticlockwise k times. This is the block order of ``models.RotationPrediction``.
    """
    raise NotImplementedError("exercise: rotation_targets")


def max_hamming_set(first: np.ndarray, n_permutations: int) -> np.ndarray:
    """A set of permutations of n tiles that are far apart, chosen greedily.

    The jigsaw pretext task shuffles an image's n tiles by one permutation of a fixed set
    and asks the network which one. Permutations that differ in few places are easy to
    confuse, so the set is chosen so that every two members differ in many positions. The
    Hamming distance of two permutations p and q is the number of positions where they
    differ, d(p, q) = Σ_i [p_i ≠ q_i].

    Shapes: first (n,), a permutation of 0 .. n-1 -> (n_permutations, n) int array.
    Row 0 is ``first``. Then, with all n! permutations of 0 .. n-1 as the candidates, in
    the order of ``itertools.permutations(range(n))`` (lexicographic), each next row is the
    candidate whose *minimum* distance to the rows chosen so far is largest:

        row_k = argmax_q  min_{j<k} d(q, row_j)

    On a tie, take the candidate that comes first in that order. (A permutation already
    chosen has distance 0 to itself, so it is never chosen twice.) Noroozi & Favaro (2016)
    add the candidate with the largest *total* distance to the chosen rows instead; the
    minimum used here is what guarantees that no two members of the set lie closer than
    the last distance chosen. ``models.jigsaw.permutation_set`` builds the jigsaw task's
    set the same way, but breaks ties at random.
    """
    raise NotImplementedError("exercise: max_hamming_set")


def nt_xent(z1: np.ndarray, z2: np.ndarray, temperature: float) -> float:
    """SimCLR's NT-Xent loss of two views of a batch, as a float.

    Shapes: z1 and z2 (N, D): row i of each is a projection of a different augmentation
    of image i. Stack the 2N rows, z = [z1; z2], scale each row to unit length, and take
    the cosine similarities s_ij = z_i · z_j. The positive of row i is the other view of
    the same image, p(i) = i + N for i < N and i - N otherwise. With temperature τ,

        loss = 1/(2N) Σ_i  -log [ exp(s_i,p(i) / τ) / Σ_{j ≠ i} exp(s_ij / τ) ]

    Each row is a (2N - 1)-way classification: the sum runs over every row but i itself
    (its similarity with itself is always 1, and would tell it nothing). Subtract each
    row's largest term before exp, so that a small τ does not overflow.
    """
    raise NotImplementedError("exercise: nt_xent")
