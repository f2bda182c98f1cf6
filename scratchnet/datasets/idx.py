"""The IDX file format of MNIST: a strict reader and an atomic writer.

An IDX file is a tiny header followed by the raw array, big-endian::

    bytes 0-1   0x00 0x00                    (every IDX file starts with two zero bytes)
    byte  2     dtype code                   0x08 uint8, 0x09 int8, 0x0B int16,
                                             0x0C int32, 0x0D float32, 0x0E float64
    byte  3     ndim                         number of dimensions, 1..255
    then        ndim × uint32, big-endian    the size of each dimension
    then        prod(sizes) × itemsize bytes the data in C order, big-endian

MNIST ships four of them, gzip-compressed: ``train-images-idx3-ubyte.gz`` holds a uint8 array
of shape (60000, 28, 28), ``train-labels-idx1-ubyte.gz`` the (60000,) uint8 labels, and the
``t10k-*`` files the 10,000 test images and labels.

:func:`read_idx` checks every part of that layout and raises :class:`IDXError` (a
``ValueError``) naming the file and what is wrong, so a truncated download never turns into
a silently wrong array.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

from scratchnet.files import atomic_write

__all__ = ["IDXError", "read_idx", "write_idx"]

#: IDX dtype code → big-endian NumPy dtype of the data on disk.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODE_OF = {(dt.kind, dt.itemsize): code for code, dt in IDX_DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


class IDXError(ValueError):
    """An IDX file is malformed: bad magic number, unknown dtype code, wrong size."""


def _read_bytes(path: Path) -> bytes:
    """The file's content, gunzipped when it is gzip data (recognised by its magic bytes)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"read_idx: no such file: {path}") from None
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise IDXError(f"read_idx: {path}: corrupt or truncated gzip data ({exc})") from exc


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (gzip-compressed or raw) into a native-endian NumPy array.

    Parameters
    ----------
    path : the file. Gzip data is recognised by its content, whatever the file is called.

    Returns
    -------
    ndarray of the shape stored in the header, e.g. (60000, 28, 28) uint8 for MNIST's
    training images or (60000,) uint8 for its labels. The dtype is uint8, int8, int16,
    int32, float32 or float64, converted to the machine's byte order.

    Raises
    ------
    IDXError : the magic number is wrong, the dtype code is unknown, the header is cut
        short, or the data is not exactly ``prod(shape) * itemsize`` bytes long (a truncated
        file or trailing garbage). The message names the file and the problem.
    FileNotFoundError : the file does not exist.
    """
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise IDXError(f"read_idx: {path}: file too short for an IDX header "
                       f"({len(data)} bytes; the magic number alone is 4 bytes)")
    zero0, zero1, code, ndim = data[0], data[1], data[2], data[3]
    if zero0 != 0 or zero1 != 0:
        raise IDXError(f"read_idx: {path}: bad magic number {data[:4].hex(' ')}; an IDX file "
                       f"starts with two zero bytes (00 00 <dtype code> <ndim>)")
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X} ({dt.name})" for c, dt in IDX_DTYPES.items())
        raise IDXError(f"read_idx: {path}: unknown dtype code 0x{code:02X} in the magic "
                       f"number; expected one of {known}")
    if ndim == 0:
        raise IDXError(f"read_idx: {path}: the magic number says 0 dimensions; "
                       f"expected at least 1")
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise IDXError(f"read_idx: {path}: truncated header: {ndim} dimensions need "
                       f"{header_size} header bytes, the file has {len(data)}")
    shape = tuple(int(n) for n in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_DTYPES[code]
    expected = math.prod(shape) * dtype.itemsize
    got = len(data) - header_size
    if got != expected:
        problem = "truncated data" if got < expected else "trailing bytes after the data"
        raise IDXError(f"read_idx: {path}: {problem}: shape {shape} of {dtype.name} needs "
                       f"{expected} data bytes, the file has {got}")
    array = np.frombuffer(data, dtype=dtype, offset=header_size).reshape(shape)
    return array.astype(dtype.newbyteorder("="))  # a native-endian, writable copy


def write_idx(path: str | os.PathLike[str], array: np.ndarray) -> Path:
    """Write ``array`` as an IDX file, gzip-compressed when ``path`` ends in ``.gz``.

    Parameters
    ----------
    path : the destination. Written to ``<path>.part`` first and moved into place, so an
        interrupted write never leaves a half file under the final name.
    array : any shape with 1 to 255 dimensions, each below 2**32; dtype uint8, int8,
        int16, int32, float32 or float64.

    Returns
    -------
    The path written, as a ``Path``. The gzip header carries no time stamp, so the same
    array always gives the same bytes (and the same MD5).
    """
    path = Path(path)
    array = np.asarray(array)
    code = _CODE_OF.get((array.dtype.kind, array.dtype.itemsize))
    if code is None:
        names = ", ".join(dt.name for dt in IDX_DTYPES.values())
        raise ValueError(f"write_idx: dtype {array.dtype} has no IDX code; expected one of "
                         f"{names}")
    if not 1 <= array.ndim <= 255:
        raise ValueError(f"write_idx: an IDX array needs 1 to 255 dimensions, got shape "
                         f"{array.shape}")
    if any(n >= 2**32 for n in array.shape):
        raise ValueError(f"write_idx: dimension sizes must be below 2**32, got {array.shape}")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = header + np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()
    with atomic_write(path) as f:
        if path.name.endswith(".gz"):
            with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0) as gz:
                gz.write(payload)
        else:
            f.write(payload)
    return path
