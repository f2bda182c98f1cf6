"""The IDX reader and writer: round trips, the exact on-disk layout, strict validation."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scratchnet.datasets.idx import IDXError, read_idx, write_idx

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


def _sample(dtype, shape, seed=0):
    rng = np.random.default_rng(seed)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype)
    return (rng.standard_normal(shape) * 1e3).astype(dtype)


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape", [(7,), (3, 5), (4, 28, 28), (2, 1, 3, 2)], ids=str)
def test_round_trip(tmp_path, dtype, shape, suffix):
    array = _sample(dtype, shape)
    path = write_idx(tmp_path / f"a.idx{suffix}", array)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype)
    assert back.dtype.isnative
    assert back.shape == shape
    np.testing.assert_array_equal(back, array)
    assert back.flags.writeable
    assert not list(tmp_path.glob("*.part"))


@given(shape=st.lists(st.integers(0, 4), min_size=1, max_size=4).map(tuple),
       dtype=st.sampled_from(DTYPES), gz=st.booleans())
def test_round_trip_any_shape(tmp_path_factory, shape, dtype, gz):
    array = _sample(dtype, shape)
    path = write_idx(tmp_path_factory.mktemp("idx") / ("x.gz" if gz else "x"), array)
    back = read_idx(path)
    assert back.shape == shape and back.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(back, array)


def test_layout_is_big_endian_as_specified(tmp_path):
    # Written by hand from the format: 00 00, dtype 0x0B (int16), 1 dimension of size 2,
    # then the values 0x0102 = 258 and 0xFFFE = -2, big-endian.
    raw = bytes([0, 0, 0x0B, 1, 0, 0, 0, 2, 0x01, 0x02, 0xFF, 0xFE])
    (tmp_path / "h.idx").write_bytes(raw)
    np.testing.assert_array_equal(read_idx(tmp_path / "h.idx"), np.array([258, -2], np.int16))
    assert write_idx(tmp_path / "w.idx", np.array([258, -2], np.int16)).read_bytes() == raw


def test_gzip_is_recognised_by_content_not_name(tmp_path):
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    write_idx(tmp_path / "a.gz", array)
    (tmp_path / "compressed_without_suffix").write_bytes((tmp_path / "a.gz").read_bytes())
    write_idx(tmp_path / "b", array)
    (tmp_path / "raw_with_suffix.gz").write_bytes((tmp_path / "b").read_bytes())
    for name in ("compressed_without_suffix", "raw_with_suffix.gz"):
        np.testing.assert_array_equal(read_idx(tmp_path / name), array)


def test_gzip_output_is_deterministic(tmp_path):
    array = np.arange(100, dtype=np.uint8)
    a = write_idx(tmp_path / "a.gz", array).read_bytes()
    b = write_idx(tmp_path / "b.gz", array).read_bytes()
    assert a == b


def _valid_bytes():
    return bytes([0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3]) + bytes(range(6))


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gz"])
@pytest.mark.parametrize(("mangle", "message"), [
    (lambda b: b[:-1], "truncated data"),
    (lambda b: b[:9], "truncated header"),
    (lambda b: b[:2], "too short"),
    (lambda b: b + b"\x00", "trailing bytes"),
    (lambda b: b"\x01" + b[1:], "bad magic number"),
    (lambda b: b[:1] + b"\x08" + b[2:], "bad magic number"),
    (lambda b: b[:2] + b"\x0a" + b[3:], "unknown dtype code 0x0A"),
    (lambda b: b[:2] + b"\x07" + b[3:], "unknown dtype code 0x07"),
    (lambda b: b[:3] + b"\x00" + b[4:], "0 dimensions"),
    (lambda b: b[:3] + b"\x03" + b[4:], "truncated"),  # 3 dims: header eats the data
    (lambda b: b[:11] + b"\x04" + b[12:], "truncated data"),  # shape says 2 x 4
], ids=["truncated", "cut-header", "tiny", "trailing", "magic0", "magic1", "dtype0A",
        "dtype07", "ndim0", "ndim3", "shape"])
def test_malformed_files_raise_naming_the_file(tmp_path, mangle, message, compress):
    path = tmp_path / ("broken-file.idx.gz" if compress else "broken-file.idx")
    data = mangle(_valid_bytes())
    path.write_bytes(gzip.compress(data) if compress else data)
    with pytest.raises(IDXError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)
    assert "read_idx" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_the_valid_reference_bytes_read_fine(tmp_path):
    (tmp_path / "ok.idx").write_bytes(_valid_bytes())
    np.testing.assert_array_equal(read_idx(tmp_path / "ok.idx"),
                                  np.arange(6, dtype=np.uint8).reshape(2, 3))


@pytest.mark.parametrize("cut", [0.5, 0.95])
def test_truncated_gzip_stream_raises_naming_the_file(tmp_path, cut):
    path = write_idx(tmp_path / "big.idx.gz", _sample(np.float32, (50, 20)))
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * cut)])
    with pytest.raises(IDXError, match="gzip") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_corrupt_gzip_stream_raises(tmp_path):
    path = write_idx(tmp_path / "c.idx.gz", _sample(np.int32, (40, 10)))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(IDXError, match=r"c\.idx\.gz"):
        read_idx(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing-here"):
        read_idx(tmp_path / "nothing-here.idx")


@pytest.mark.parametrize("array", [np.zeros(3, np.int64), np.zeros(3, bool),
                                   np.zeros(3, np.complex64), np.zeros(3, np.uint16)],
                         ids=["int64", "bool", "complex64", "uint16"])
def test_write_rejects_dtypes_without_an_idx_code(tmp_path, array):
    with pytest.raises(ValueError, match=r"write_idx: dtype .* has no IDX code"):
        write_idx(tmp_path / "x.idx", array)
    assert not list(tmp_path.iterdir())


def test_write_rejects_a_scalar(tmp_path):
    with pytest.raises(ValueError, match="1 to 255 dimensions"):
        write_idx(tmp_path / "x.idx", np.uint8(3))


def test_write_replaces_an_existing_file_atomically(tmp_path):
    path = write_idx(tmp_path / "x.idx", np.zeros(3, np.uint8))
    write_idx(path, np.ones((2, 2), np.float64))
    np.testing.assert_array_equal(read_idx(path), np.ones((2, 2)))
    assert [p.name for p in tmp_path.iterdir()] == ["x.idx"]
