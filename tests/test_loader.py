"""Tests for scratchnet.datasets.loader.DataLoader.

Every sample exactly once per epoch, batch sizes and len() for drop_last on and off, arrays
kept aligned, seeded determinism across loaders, fresh orders across epochs, order kept with
shuffle=False, copies rather than views, and clear errors for bad arguments.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import scratchnet as sn
from scratchnet.datasets import make_ring
from scratchnet.datasets.loader import DataLoader, StreamLoader


def _epoch(loader):
    return [b.copy() for b in loader]


@given(n=st.integers(1, 300), batch_size=st.integers(1, 70), shuffle=st.booleans(),
       seed=st.integers(0, 2**32 - 1))
def test_every_sample_exactly_once_per_epoch(n, batch_size, shuffle, seed):
    x = np.arange(n)
    loader = DataLoader(x, batch_size=batch_size, shuffle=shuffle, rng=seed)
    assert len(loader) == math.ceil(n / batch_size)
    for _ in range(2):
        batches = list(loader)
        assert len(batches) == len(loader)
        assert all(len(b) == batch_size for b in batches[:-1])
        assert len(batches[-1]) == n - batch_size * (len(batches) - 1)
        seen = np.concatenate(batches)
        np.testing.assert_array_equal(np.sort(seen), x)
        if not shuffle:
            np.testing.assert_array_equal(seen, x)


@given(n=st.integers(1, 300), batch_size=st.integers(1, 70), seed=st.integers(0, 1000))
def test_drop_last_drops_only_the_short_batch(n, batch_size, seed):
    if n < batch_size:
        with pytest.raises(ValueError, match="would give no batches"):
            DataLoader(np.arange(n), batch_size=batch_size, drop_last=True, rng=seed)
        return
    loader = DataLoader(np.arange(n), batch_size=batch_size, drop_last=True, rng=seed)
    batches = list(loader)
    assert len(loader) == len(batches) == n // batch_size
    assert all(len(b) == batch_size for b in batches)
    seen = np.concatenate(batches)
    assert len(np.unique(seen)) == len(seen) == n - n % batch_size


def test_batch_sizes_and_len_for_a_concrete_case():
    x = np.zeros((10, 3), dtype=np.float32)
    assert [len(b) for b in DataLoader(x, batch_size=4, rng=0)] == [4, 4, 2]
    assert [len(b) for b in DataLoader(x, batch_size=4, drop_last=True, rng=0)] == [4, 4]
    assert len(DataLoader(x, batch_size=4)) == 3
    assert len(DataLoader(x, batch_size=4, drop_last=True)) == 2
    assert [len(b) for b in DataLoader(x, batch_size=64)] == [10]   # one short batch
    batch = next(iter(DataLoader(x, batch_size=4)))
    assert batch.shape == (4, 3) and batch.dtype == np.float32


def test_one_array_yields_arrays_several_yield_aligned_tuples():
    x = np.arange(50) * 10
    y = np.arange(50)
    images = np.arange(50 * 4).reshape(50, 2, 2)
    for batch in DataLoader(x, batch_size=8, rng=0):
        assert isinstance(batch, np.ndarray)
    for batch in DataLoader(x, y, images, batch_size=8, rng=0):
        assert isinstance(batch, tuple) and len(batch) == 3
        bx, by, bimg = batch
        np.testing.assert_array_equal(bx, by * 10)
        np.testing.assert_array_equal(bimg[:, 0, 0], by * 4)


def test_same_seed_same_batches_different_epochs_different_orders():
    x = np.arange(200)
    a = DataLoader(x, batch_size=16, rng=123)
    b = DataLoader(x, batch_size=16, rng=123)
    a_epochs = [np.concatenate(list(a)) for _ in range(3)]
    b_epochs = [np.concatenate(list(b)) for _ in range(3)]
    for ea, eb in zip(a_epochs, b_epochs):
        np.testing.assert_array_equal(ea, eb)
    assert not np.array_equal(a_epochs[0], a_epochs[1])
    assert not np.array_equal(a_epochs[1], a_epochs[2])
    assert not np.array_equal(a_epochs[0], x)                   # actually shuffled
    c = DataLoader(x, batch_size=16, rng=124)
    assert not np.array_equal(np.concatenate(list(c)), a_epochs[0])


def test_generator_rng_and_library_seed_are_reproducible():
    x = np.arange(100)
    first = _epoch(DataLoader(x, batch_size=10, rng=np.random.default_rng(5)))
    again = _epoch(DataLoader(x, batch_size=10, rng=np.random.default_rng(5)))
    np.testing.assert_array_equal(np.concatenate(first), np.concatenate(again))
    # rng=None: the library generator, looked up each epoch, so manual_seed takes effect
    # even after the loader was made.
    loader = DataLoader(x, batch_size=10)
    sn.manual_seed(9)
    one = np.concatenate(list(loader))
    sn.manual_seed(9)
    two = np.concatenate(list(loader))
    np.testing.assert_array_equal(one, two)


def test_order_is_drawn_when_the_epoch_starts():
    x = np.arange(30)
    loader = DataLoader(x, batch_size=7, rng=0)
    it1 = iter(loader)
    it2 = iter(loader)          # a second epoch started before the first is read
    e1, e2 = np.concatenate(list(it1)), np.concatenate(list(it2))
    ref = DataLoader(x, batch_size=7, rng=0)
    np.testing.assert_array_equal(e1, np.concatenate(list(ref)))
    np.testing.assert_array_equal(e2, np.concatenate(list(ref)))


def test_shuffle_false_preserves_order_and_batches_are_copies():
    x = np.arange(23, dtype=np.float64)
    batches = list(DataLoader(x, batch_size=5, shuffle=False))
    np.testing.assert_array_equal(np.concatenate(batches), x)
    for b in batches:
        b += 100                                                # in place, e.g. noise
    np.testing.assert_array_equal(x, np.arange(23))             # the data set is untouched


def test_lists_are_accepted_and_tensors_index_like_arrays():
    batches = list(DataLoader([1, 2, 3, 4, 5], batch_size=2, shuffle=False))
    assert [b.tolist() for b in batches] == [[1, 2], [3, 4], [5]]
    t = sn.Tensor(np.arange(12.0).reshape(6, 2))
    out = list(DataLoader(t, batch_size=4, rng=0))
    assert [b.shape for b in out] == [(4, 2), (2, 2)]
    assert sorted(np.concatenate([b.numpy() for b in out])[:, 0].tolist()) == [0, 2, 4, 6, 8, 10]


def test_mismatched_lengths_error_names_the_lengths():
    with pytest.raises(ValueError, match=r"same length.*\[10, 9\]"):
        DataLoader(np.zeros(10), np.zeros(9))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"batch_size": 0}, ValueError, "batch_size must be a positive integer, got 0"),
        ({"batch_size": -3}, ValueError, "batch_size must be a positive integer"),
        ({"batch_size": 2.5}, TypeError, "batch_size must be an integer"),
        ({"batch_size": True}, TypeError, "batch_size must be an integer"),
        ({"shuffle": "yes"}, TypeError, "shuffle must be True or False"),
        ({"drop_last": 1}, TypeError, "drop_last must be True or False"),
        ({"rng": "seed"}, TypeError, "rng must be"),
    ],
)
def test_bad_settings_raise(kwargs, error, message):
    with pytest.raises(error, match=message):
        DataLoader(np.zeros(10), **kwargs)


def test_empty_and_missing_data_raise():
    with pytest.raises(ValueError, match="DataLoader: the data set is empty"):
        DataLoader(np.zeros((0, 3)))
    with pytest.raises(TypeError, match="at least one array"):
        DataLoader()
    with pytest.raises(ValueError, match="0-dimensional"):
        DataLoader(np.float32(3.0))
    with pytest.raises(TypeError, match="must be an array"):
        DataLoader({"a": 1})


def test_repr_mentions_shapes_and_settings():
    text = repr(DataLoader(np.zeros((10, 3)), np.zeros(10), batch_size=4))
    assert "(10, 3)" in text and "batch_size=4" in text and "batches=3" in text


def test_device_arrays_are_indexed_with_indices_from_their_own_module(monkeypatch):
    # A stand-in "cupy": its arrays accept only its own index arrays, as device arrays would
    # want; the loader must convert the NumPy permutation with the array's module, once.
    import sys
    import types

    fake = types.ModuleType("cupy")
    conversions = []

    class ndarray:  # noqa: N801 - mirrors cupy.ndarray
        def __init__(self, data):
            self.data = np.asarray(data)
            self.shape = self.data.shape

        def __getitem__(self, index):
            if isinstance(index, slice):
                return ndarray(self.data[index])
            assert isinstance(index, ndarray), f"got {type(index).__name__} indices"
            return ndarray(self.data[index.data])

    def asarray(a):
        conversions.append(1)
        return a if isinstance(a, ndarray) else ndarray(a)

    fake.ndarray, fake.asarray = ndarray, asarray
    monkeypatch.setitem(sys.modules, "cupy", fake)
    x_dev = ndarray(np.arange(20) * 2)
    y_dev = ndarray(np.arange(20))
    batches = list(DataLoader(x_dev, y_dev, batch_size=6, rng=0))
    assert len(conversions) == 1                    # one permutation copy per module, per epoch
    for bx, by in batches:
        np.testing.assert_array_equal(bx.data, by.data * 2)
    seen = np.concatenate([by.data for _, by in batches])
    np.testing.assert_array_equal(np.sort(seen), np.arange(20))


def test_cupy_arrays_when_cupy_is_installed():
    cupy = pytest.importorskip("cupy")
    try:
        x = cupy.arange(10)
    except Exception as exc:                        # installed but no usable GPU
        pytest.skip(f"CuPy present but unusable: {exc}")
    batches = list(DataLoader(x, batch_size=4, rng=0))
    assert all(isinstance(b, cupy.ndarray) for b in batches)
    assert sorted(cupy.concatenate(batches).get().tolist()) == list(range(10))


# ---- StreamLoader -------------------------------------------------------------------------
def _ring_points(n, rng):
    return make_ring(n, rng=rng)[0]


def test_stream_loader_draws_fresh_batches_and_repeats_exactly_from_a_seed():
    loader = StreamLoader(_ring_points, batch_size=5, batches=3, rng=0)
    first, second = list(loader), list(loader)
    assert len(loader) == len(first) == 3
    assert all(b.shape == (5, 2) for b in first + second)
    flat = np.concatenate(first + second)
    assert len(np.unique(flat, axis=0)) == 30          # no sample is ever repeated
    # The same seed: the same stream, batch for batch, epoch for epoch.
    again = StreamLoader(_ring_points, batch_size=5, batches=3, rng=0)
    for a, b in zip(first + second, list(again) + list(again)):
        np.testing.assert_array_equal(a, b)


def test_stream_loader_draws_from_the_generator_it_is_given():
    generator = np.random.default_rng(7)
    batch = next(iter(StreamLoader(_ring_points, batch_size=4, rng=generator)))
    np.testing.assert_array_equal(batch, make_ring(4, rng=np.random.default_rng(7))[0])


@pytest.mark.parametrize("kwargs, error, message", [
    ({"sample": 3, "batch_size": 4}, TypeError, "StreamLoader: sample must be a function"),
    ({"sample": _ring_points, "batch_size": 0}, ValueError, "StreamLoader: batch_size"),
    ({"sample": _ring_points, "batch_size": 4, "batches": 0}, ValueError,
     "StreamLoader: batches"),
])
def test_stream_loader_refuses_bad_settings(kwargs, error, message):
    with pytest.raises(error, match=message):
        StreamLoader(**kwargs)
