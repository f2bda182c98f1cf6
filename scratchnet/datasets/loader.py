"""Minibatches: :class:`DataLoader` over arrays, :class:`StreamLoader` over a distribution.

A training loop visits the data in minibatches, in a fresh random order every epoch::

    loader = DataLoader(images, batch_size=64, rng=0)
    for epoch in range(10):
        for x in loader:                 # one array in  -> each batch is one array
            ...
    for x, y in DataLoader(images, labels, batch_size=64):   # several -> a tuple
        ...

When the data come from a distribution you can sample from (the synthetic sets), there is
no data set to go round: a :class:`StreamLoader` draws every batch afresh::

    loader = StreamLoader(lambda n, rng: make_ring(n, rng=rng)[0], batch_size=128,
                          batches=100, rng=0)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from scratchnet.backend import get_array_module
from scratchnet.checks import check_int
from scratchnet.random import get_generator, own_generator

__all__ = ["DataLoader", "StreamLoader"]


def _length(array: Any, position: int) -> int:
    shape = getattr(array, "shape", None)
    if shape is None:
        raise TypeError(f"DataLoader: argument {position} must be an array (anything with a "
                        f"shape that accepts an integer index array), got "
                        f"{type(array).__name__}")
    if len(shape) == 0:
        raise ValueError(f"DataLoader: argument {position} is 0-dimensional; every array needs "
                         "a first axis of samples")
    return int(shape[0])


class DataLoader:
    """Iterate over ``arrays`` together in minibatches along their first axis.

    Args:
        *arrays: one or more arrays with the same length N along axis 0 (samples): NumPy
            arrays, CuPy arrays, or anything with a ``shape`` that accepts an integer index
            array. Lists and tuples are converted with ``np.asarray``.
        batch_size: samples per batch (>= 1). The last batch is smaller when ``batch_size``
            does not divide N, unless ``drop_last``.
        shuffle: visit the samples in a new random order every epoch (default); ``False``
            keeps their order.
        drop_last: leave out the final, smaller batch.
        rng: where the order comes from. An int seed or a ``numpy.random.Generator``: one
            generator, made once here, draws every epoch's permutation, so successive epochs
            differ while two loaders given the same seed produce identical batches, epoch for
            epoch. ``None``: the library generator (``sn.manual_seed``) at the start of each
            epoch.

    Iterating yields, per batch, the same kind of thing that was passed in: a single array
    when one array was given (``for x in loader``), a tuple of arrays, in argument order,
    when several were (``for x, y in loader``). Batches are copies (integer-array indexing),
    never views, so changing a batch in place leaves the data set alone. Every sample appears
    exactly once per epoch (once at most with ``drop_last``). The permutation is a NumPy
    array; for a CuPy array it is moved to the GPU once per epoch.

    ``len(loader)`` is the number of batches per epoch; ``loader.num_samples`` is N.
    """

    def __init__(self, *arrays: Any, batch_size: int = 64, shuffle: bool = True,
                 drop_last: bool = False,
                 rng: np.random.Generator | int | None = None) -> None:
        if not arrays:
            raise TypeError("DataLoader: give at least one array, e.g. DataLoader(x, y)")
        arrays = tuple(np.asarray(a) if isinstance(a, (list, tuple)) else a for a in arrays)
        lengths = [_length(a, i) for i, a in enumerate(arrays)]
        if len(set(lengths)) > 1:
            raise ValueError(f"DataLoader: all arrays must have the same length along axis 0, "
                             f"got lengths {lengths}")
        if lengths[0] == 0:
            raise ValueError("DataLoader: the data set is empty (0 samples along axis 0)")
        batch_size = check_int("DataLoader", "batch_size", batch_size)
        for name, flag in (("shuffle", shuffle), ("drop_last", drop_last)):
            if not isinstance(flag, (bool, np.bool_)):
                raise TypeError(f"DataLoader: {name} must be True or False, got {flag!r}")
        if drop_last and lengths[0] < batch_size:
            raise ValueError(f"DataLoader: drop_last=True with {lengths[0]} samples and "
                             f"batch_size {batch_size} would give no batches at all; use a "
                             "smaller batch_size or drop_last=False")
        self.arrays = arrays
        self.num_samples = lengths[0]
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        # Validate rng now (a bad type fails here, not at the first epoch). None stays None:
        # the library generator is looked up each epoch, so a later sn.manual_seed counts.
        self._rng = own_generator(rng)

    def __len__(self) -> int:
        if self.drop_last:
            return self.num_samples // self.batch_size
        return math.ceil(self.num_samples / self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        # The order is drawn here, when the epoch starts, not at the first next().
        if self.shuffle:
            order = get_generator(self._rng).permutation(self.num_samples)
        else:
            order = np.arange(self.num_samples)
        # One copy of the order per array module (NumPy, CuPy), made once per epoch.
        orders: dict[Any, Any] = {}
        per_array = []
        for array in self.arrays:
            xp = get_array_module(array)
            if xp not in orders:
                orders[xp] = order if xp is np else xp.asarray(order)
            per_array.append(orders[xp])
        return self._batches(per_array)

    def _batches(self, orders: list[Any]) -> Iterator[Any]:
        single = len(self.arrays) == 1
        for b in range(len(self)):
            sl = slice(b * self.batch_size, (b + 1) * self.batch_size)
            batch = tuple(a[idx[sl]] for a, idx in zip(self.arrays, orders))
            yield batch[0] if single else batch

    def __repr__(self) -> str:
        shapes = ", ".join(str(tuple(a.shape)) for a in self.arrays)
        return (f"DataLoader({shapes}, batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last}, batches={len(self)})")


class StreamLoader:
    """Fresh batches from a distribution: ``batches`` new ones per epoch, none ever repeated.

    Args:
        sample: ``sample(n, rng) -> array`` (or a tuple of arrays), n new samples drawn
            with the numpy Generator ``rng``; e.g.
            ``lambda n, rng: make_ring(n, rng=rng)[0]``.
        batch_size: samples per batch (>= 1).
        batches: batches per epoch (>= 1), so ``fit``'s epochs have a length. With
            ``batches=1`` every epoch is one step, and ``fit``'s History and schedules
            count steps.
        rng: an int seed or a Generator, made into one generator here that every batch
            draws from, so a seeded stream repeats exactly; ``None``: the library generator.

    A model trained on it never sees the same sample twice, so it cannot overfit a
    training set; ``len(loader)`` is ``batches``.
    """

    def __init__(self, sample: Callable[[int, np.random.Generator], Any], batch_size: int,
                 batches: int = 1, rng: np.random.Generator | int | None = None) -> None:
        if not callable(sample):
            raise TypeError(f"StreamLoader: sample must be a function sample(n, rng) -> "
                            f"array, got {type(sample).__name__}")
        self.sample = sample
        self.batch_size = check_int("StreamLoader", "batch_size", batch_size)
        self.batches = check_int("StreamLoader", "batches", batches)
        self._rng = own_generator(rng)

    def __len__(self) -> int:
        return self.batches

    def __iter__(self) -> Iterator[Any]:
        for _ in range(self.batches):
            yield self.sample(self.batch_size, get_generator(self._rng))

    def __repr__(self) -> str:
        return f"StreamLoader(batch_size={self.batch_size}, batches={self.batches})"
