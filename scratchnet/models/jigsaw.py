"""The jigsaw puzzle pretext task (Noroozi & Favaro, ECCV 2016).

Noroozi & Favaro, "Unsupervised learning of visual representations by solving jigsaw
puzzles" (ECCV 2016): cut an image into a grid of tiles, shuffle them by one of a fixed
set of permutations, and train a network to say which permutation was used. Putting the
pieces of a digit back in order requires knowing which part of a digit each piece shows
(the top of a 7 is a bar, its bottom a stem), so the tile encoder must learn parts of
shapes. The encoder only ever sees one tile at a time; the tiles' features meet only in
the head, so the encoder cannot compare tiles at the pixel level.

:func:`permutation_set` chooses the permutations, :class:`JigsawPuzzle` is the model.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

import scratchnet.functional as F
from scratchnet import nn
from scratchnet.autograd import Tensor, as_tensor, no_grad
from scratchnet.backend import get_array_module
from scratchnet.checks import check_int
from scratchnet.datasets.augment import random_shift
from scratchnet.models.pretext import _check_modules, _check_rank, _encode, _evaluation
from scratchnet.random import get_generator, own_generator

__all__ = ["JigsawPuzzle", "min_hamming_distance", "permutation_set"]

# permutation_set scores every one of the n_tiles! orders at each step: 9! = 362,880 is
# fast (a 3 × 3 grid, as in the paper), 10! would already be ten times more.
MAX_TILES = 9


def permutation_set(n_tiles: int, n_permutations: int,  # host: integer search on the CPU
                    rng: np.random.Generator | int | None = None) -> np.ndarray:
    """A set of permutations of ``n_tiles`` tiles that are far apart from each other.

    Returns an int64 array (n_permutations, n_tiles); each row is a permutation of
    0 … n_tiles − 1, and no row repeats. The Hamming distance between two permutations is
    the number of positions at which they differ (0 for the same one, at most n_tiles).

    The greedy "maximal Hamming distance" selection of Noroozi & Favaro (2016): start
    from one permutation drawn at random, then repeatedly add the permutation whose
    *minimum* distance to those already chosen is largest, drawing at random among the
    permutations that tie. Two permutations at distance d place d tiles differently, so
    a network can tell them apart only by looking at those d tiles: a large minimum
    distance keeps every pair of classes distinct in several places at once. (The
    paper's Algorithm 1 ranks the candidates by the sum of their distances instead;
    ranking by the minimum makes the set's guarantee, :func:`min_hamming_distance`, as
    large as the greedy search can make it.)

    Greedy is not always optimal: for 4 tiles it reaches the largest possible minimum
    distance for up to 4 permutations (4: every tile moves) and for 13 or more (2), but
    between 5 and 12 some starting points end at 2 where 3 is possible.

    Vectorised: each step updates every candidate's minimum distance with its distance to
    the one permutation just added, one pass over the n_tiles! candidates; for 9 tiles,
    even the paper's 1000 permutations take well under a second.

    Args:
        n_tiles: how many tiles the permutations reorder, 2 to 9 (all n_tiles! orders
            are scored at each step).
        n_permutations: how many to choose, 2 to n_tiles!.
        rng: generator or seed for the first permutation and the ties.
    """
    n_tiles = check_int("permutation_set", "n_tiles", n_tiles, minimum=2, maximum=MAX_TILES)
    n_permutations = check_int("permutation_set", "n_permutations", n_permutations,
                               minimum=2, maximum=math.factorial(n_tiles))
    generator = get_generator(rng)
    # One column per tile position, each contiguous: a distance is n_tiles vector compares.
    candidates = np.array(list(itertools.permutations(range(n_tiles))), dtype=np.int8).T.copy()
    chosen = [int(generator.integers(candidates.shape[1]))]
    nearest = _distances_to(candidates, chosen[0])
    for _ in range(n_permutations - 1):
        # The chosen ones are at distance 0 from themselves, so they are never picked again.
        ties = np.flatnonzero(nearest == nearest.max())
        chosen.append(int(ties[generator.integers(len(ties))]))
        np.minimum(nearest, _distances_to(candidates, chosen[-1]), out=nearest)
    return candidates[:, chosen].T.astype(np.int64)


def _distances_to(candidates: np.ndarray, j: int) -> np.ndarray:  # host: helper of the above
    """Hamming distance of every candidate (a column of ``candidates``) to candidate j."""
    distance = np.zeros(candidates.shape[1], dtype=np.int8)
    for position in range(candidates.shape[0]):
        distance += candidates[position] != candidates[position, j]
    return distance


def min_hamming_distance(perms: Any) -> int:
    """The smallest Hamming distance between two rows of ``perms`` (P, n_tiles), P >= 2.

    The Hamming distance of two permutations is the number of positions where they
    differ; this is the guarantee of a permutation set: any two of its shuffles move at
    least this many tiles differently. Each row must be a permutation of 0 … n_tiles − 1.
    """
    perms = perms.data if isinstance(perms, Tensor) else perms
    xp = get_array_module(perms)
    perms = xp.asarray(perms)
    if np.ndim(perms) != 2 or perms.shape[0] < 2:
        raise ValueError(f"min_hamming_distance: expected at least two permutations as rows "
                         f"of a (P, n_tiles) array, got shape {np.shape(perms)}")
    n_tiles = perms.shape[1]
    valid = (xp.sort(perms, axis=1) == xp.arange(n_tiles)).all(axis=1)
    if not bool(valid.all()):
        row = int(xp.flatnonzero(~valid)[0])
        raise ValueError(f"min_hamming_distance: every row must be a permutation of "
                         f"0 … {n_tiles - 1}, got row {row} = {perms[row].tolist()}")
    distances = (perms[:, None, :] != perms[None, :, :]).sum(axis=2)
    # A row's distance to itself is 0 and does not count.
    distances[xp.arange(len(perms)), xp.arange(len(perms))] = n_tiles + 1
    return int(distances.min())


class JigsawPuzzle(nn.Module):
    """Learn features by telling which permutation shuffled the tiles of an image.

    Each image (N, C, H, W) is cut into ``grid × grid`` tiles of h × w = H/grid × W/grid
    pixels, numbered row-major (tile 0 top left, tile 1 to its right, …), giving tiles
    (N, T, C, h, w) with T = grid². The model holds a fixed set of ``n_permutations``
    permutations of the T tiles (:func:`permutation_set`, saved with the model as the
    buffer ``permutations``); label k stands for permutation ``perm = permutations[k]``.

    **Convention.** ``perm[i] = j`` means *position i of the shuffled puzzle holds tile j*:
    ``shuffled[:, i] = tiles[:, perm[i]]``. Undoing it puts shuffled tile i back at
    position perm[i]: ``tiles[:, perm[i]] = shuffled[:, i]``, i.e. ``tiles =
    shuffled[:, argsort(perm)]``.

    The network is ``head(concat_i encoder(shuffled[:, i]))``: the encoder (shared by all
    positions) maps each tile to n_features numbers; all N·T tiles go through it in one
    batch. The tile features, in the shuffled order, are concatenated into
    (N, T·n_features), and the head ``Dense(T·n_features, hidden) -> relu ->
    Dense(hidden, n_permutations)`` scores the permutations. :meth:`loss` is the mean
    cross-entropy of a freshly drawn permutation per image; chance is
    log(n_permutations) nats and an accuracy of 1/n_permutations.

    A digit's strokes run on across the cuts, so a network could solve the puzzle by
    matching the pixels at the tiles' edges without knowing what a digit looks like.
    Noroozi & Favaro left a random gap between the tiles against this shortcut;
    ``jitter`` > 0 does the same cheaply: during training each tile is shifted by its own
    random offset of up to ``jitter`` pixels per axis (zero fill), so the edges no longer
    line up exactly. :meth:`features` and :meth:`tiles` never jitter.

    Train with ``sn.train.fit(model, lambda m, x: m.loss(x), optimizer, loader, epochs)``
    on a loader that yields images only.

    Args:
        encoder: any module, tiles (M, C, h, w) -> features (M, n_features).
        n_features: the width of the encoder's output.
        grid: tiles per side, 2 or 3 (9 tiles is the paper's puzzle).
        n_permutations: the number of classes. ``None`` takes all 24 permutations of a
            2 × 2 grid, so that swapping any two tiles changes the class and the network
            must place every tile (a small set far apart, such as 4 that each move every
            tile, is solved perfectly on MNIST within an epoch and then teaches nothing),
            and 1000 for a 3 × 3 grid, the number Noroozi & Favaro chose: in their
            comparison the features transferred better with more permutations, and with
            permutations further apart on average, even though the puzzle got harder.
        hidden: the width of the head's hidden layer (it reads T·n_features numbers; the
            head's cost stays small beside the encoder's pass over N·T tiles).
        jitter: the largest random shift of a training tile, in pixels (0: none).
        rng: generator or seed for the permutation set, the head's initial weights, the
            permutations drawn in training and the jitter; None draws from the global
            generator (``sn.manual_seed``).
    """

    def __init__(self, encoder: nn.Module, n_features: int, grid: int = 2,
                 n_permutations: int | None = None, hidden: int = 256, jitter: int = 0,
                 rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        _check_modules("JigsawPuzzle", encoder=encoder)
        self.n_features = check_int("JigsawPuzzle", "n_features", n_features)
        self.grid = check_int("JigsawPuzzle", "grid", grid, minimum=2, maximum=3)
        self.n_tiles = self.grid ** 2
        if n_permutations is None:
            n_permutations = 24 if self.grid == 2 else 1000
        self.n_permutations = check_int("JigsawPuzzle", "n_permutations", n_permutations,
                                        minimum=2, maximum=math.factorial(self.n_tiles))
        self.hidden = check_int("JigsawPuzzle", "hidden", hidden)
        self.jitter = check_int("JigsawPuzzle", "jitter", jitter, minimum=0)
        self.rng = own_generator(rng)
        self.register_buffer("permutations", permutation_set(
            self.n_tiles, self.n_permutations, rng=get_generator(self.rng)))
        self.encoder = encoder
        self.head = nn.Sequential(
            nn.Dense(self.n_tiles * self.n_features, self.hidden, activation="relu",
                     rng=self.rng),
            nn.Dense(self.hidden, self.n_permutations, rng=self.rng))

    @property
    def min_hamming_distance(self) -> int:
        """The smallest number of positions at which two of the model's permutations differ."""
        return min_hamming_distance(self.permutations)

    # ---- making the puzzles (data, no graph) --------------------------------------------------
    def tiles(self, x: Any) -> Tensor:
        """Cut each image into its tiles in row-major order: (N, C, H, W) -> (N, T, C, h, w).

        Tile ``r·grid + c`` is rows r·h … (r+1)·h − 1 and columns c·w … (c+1)·w − 1; the
        result carries no graph. :meth:`assemble` puts tiles back into images.
        """
        x = _check_rank("JigsawPuzzle", x)
        n, c, height, width = x.shape
        g = self.grid
        if height % g or width % g:
            raise ValueError(f"JigsawPuzzle: image height and width must be divisible by "
                             f"grid = {g}, got H × W = {height} × {width}")
        h, w = height // g, width // g
        blocks = x.data.reshape(n, c, g, h, g, w).transpose(0, 2, 4, 1, 3, 5)
        return as_tensor(blocks.reshape(n, g * g, c, h, w))

    def assemble(self, tiles: Any) -> Tensor:
        """Lay tiles (N, T, C, h, w), in row-major order, out as images (N, C, grid·h, grid·w)."""
        tiles = self._check_tiles(tiles)
        n, _, c, h, w = tiles.shape
        g = self.grid
        blocks = tiles.data.reshape(n, g, g, c, h, w).transpose(0, 3, 1, 4, 2, 5)
        return as_tensor(blocks.reshape(n, c, g * h, g * w))

    def shuffle(self, tiles: Any, labels: Any) -> Tensor:
        """Shuffle each puzzle by its permutation.

        ``out[n, i] = tiles[n, permutations[labels[n], i]]``: position i gets tile
        permutations[labels[n], i] (the convention of the class docstring).
        Shapes: tiles (N, T, C, h, w), labels (N,) integers in [0, n_permutations) ->
        (N, T, C, h, w), without a graph.
        """
        return self._reorder(tiles, labels, inverse=False)

    def unshuffle(self, tiles: Any, labels: Any) -> Tensor:
        """Undo :meth:`shuffle`: put each tile back where ``permutations[labels[n]]`` took it from.

        ``out[n, permutations[labels[n], i]] = tiles[n, i]``, so
        ``unshuffle(shuffle(t, labels), labels)`` is ``t``. Shapes as for :meth:`shuffle`.
        """
        return self._reorder(tiles, labels, inverse=True)

    def _reorder(self, tiles: Any, labels: Any, inverse: bool) -> Tensor:
        tiles = self._check_tiles(tiles)
        xp = get_array_module(tiles.data)
        labels = xp.asarray(labels.data if isinstance(labels, Tensor) else labels)
        n = tiles.shape[0]
        if labels.shape != (n,) or labels.dtype.kind not in "iu":
            raise ValueError(f"JigsawPuzzle: expected ({n},) integer labels, one per puzzle, "
                             f"got shape {labels.shape} dtype {labels.dtype}")
        if n and (int(labels.min()) < 0 or int(labels.max()) >= self.n_permutations):
            raise ValueError(f"JigsawPuzzle: labels must lie in [0, {self.n_permutations}), "
                             f"got values from {int(labels.min())} to {int(labels.max())}")
        order = xp.asarray(self.permutations)[labels]            # (N, T)
        if inverse:
            order = xp.argsort(order, axis=1)
        return as_tensor(tiles.data[xp.arange(n)[:, None], order])

    def shuffled_batch(self, x: Any, rng: np.random.Generator | int | None = None
                       ) -> tuple[Tensor, Any]:
        """Shuffled tiles of every image and the label of the permutation used.

        Shapes: (N, C, H, W) -> tiles (N, T, C, h, w), labels (N,) int64, one permutation
        drawn uniformly per image from ``rng`` if given, else from the model's generator.
        With ``jitter`` > 0 each tile is then shifted at random (see the class docstring),
        from the same generator. No graph: making puzzles is part of making the data.
        """
        tiles = self.tiles(x)
        xp = get_array_module(tiles.data)
        generator = get_generator(self.rng if rng is None else rng)
        labels = xp.asarray(generator.integers(0, self.n_permutations, tiles.shape[0]))
        shuffled = self.shuffle(tiles, labels)
        if self.jitter:
            n, t, c, h, w = shuffled.shape
            moved = random_shift(shuffled.data.reshape(n * t, c, h, w), self.jitter,
                                 rng=generator)
            shuffled = as_tensor(moved.reshape(n, t, c, h, w))
        return shuffled, labels

    def _check_tiles(self, tiles: Any) -> Tensor:
        tiles = as_tensor(tiles)
        if tiles.ndim != 5 or tiles.shape[1] != self.n_tiles:
            raise ValueError(f"JigsawPuzzle: expected tiles of shape (N, {self.n_tiles}, C, h, "
                             f"w) for a {self.grid} × {self.grid} grid, got shape {tiles.shape}")
        return tiles

    # ---- the network -------------------------------------------------------------------------
    def encode(self, tiles: Any) -> Tensor:
        """Tile features side by side, in the order given: (N, T, C, h, w) -> (N, T·n_features).

        All N·T tiles go through the encoder in one call, with a graph; row n holds
        ``encoder(tiles[n, 0]), encoder(tiles[n, 1]), …`` side by side.
        """
        tiles = self._check_tiles(tiles)
        n, t, c, h, w = tiles.shape
        flat = tiles.reshape(n * t, c, h, w)
        return _encode("JigsawPuzzle", self.encoder, flat, self.n_features).reshape(
            n, t * self.n_features)

    def forward(self, tiles: Any) -> Tensor:
        """The permutation logits of shuffled tiles: (N, T, C, h, w) -> (N, n_permutations)."""
        return self.head(self.encode(tiles))

    def loss(self, x: Any) -> Tensor:
        """Mean cross-entropy of the permutation classifier over freshly shuffled images."""
        tiles, labels = self.shuffled_batch(x)
        return F.cross_entropy(self(tiles), labels)

    def predict(self, tiles: Any) -> Any:
        """The most likely permutation label of each puzzle: (N, T, C, h, w) -> (N,) int array."""
        with _evaluation(self), no_grad():
            return self(tiles).data.argmax(axis=1)

    def solve(self, tiles: Any) -> tuple[Tensor, Any]:
        """Put shuffled tiles back by the predicted permutation.

        Shapes: (N, T, C, h, w) -> the tiles in the order the model believes is right
        (N, T, C, h, w), and the predicted labels (N,). ``assemble`` of the first shows the
        model's solution of each puzzle.
        """
        labels = self.predict(tiles)
        return self.unshuffle(tiles, labels), labels

    def accuracy(self, x: Any, rng: np.random.Generator | int | None = 0) -> float:
        """Pretext accuracy: the fraction of shuffled images of ``x`` whose permutation is named.

        Each image gets one permutation (and, with ``jitter``, its shifts) drawn from
        ``rng``; the default seed 0 gives the same puzzles at every call, so accuracies of
        one model at different points of training compare. ``None`` draws from the
        model's generator instead.
        """
        tiles, labels = self.shuffled_batch(x, rng=rng)
        return float((self.predict(tiles) == labels).mean())

    def features(self, x: Any) -> Tensor:
        """The whole-image representation a probe reads: (N, C, H, W) -> (N, T·n_features).

        The encoder only ever sees tiles; an image's representation is its tiles'
        features, in their correct (row-major) order, side by side: the concatenation
        that the head would read for the identity permutation. Computed in evaluation
        mode (each module's flag is restored afterwards), without a graph and without
        jitter.
        """
        with _evaluation(self), no_grad():
            return self.encode(self.tiles(x))
