"""How functional/conv.py lays its arrays out in memory: batch-last im2col and col2im, in bands.

Private. What the ops compute is in :mod:`scratchnet.functional.conv_reference` (plain loops,
read first); how they are built from im2col and one matrix product is in
:mod:`scratchnet.functional.conv`. This module holds the two tricks that make them fast, and
nothing else changes the numbers.

**Batch last.** A convolution copies every kh×kw window of its input into one matrix
(im2col) and adds window-shaped values back into an image (col2im). Both are strided
copies, and NumPy pays a fixed cost for every contiguous run it moves. In the (N, C, H, W)
order a run is one row of a window, W_out numbers: 7 in the DCGAN's 7×7 feature maps. Here
the image is copied once to (C, H, W, N), padding included, and the matrices are
(C, kh, kw, H_out, W_out, N): every run is the whole batch, 64 or 128 numbers. On the
DCGAN's and the conv autoencoder's layers the im2col copy ran 2.4 to 6 times faster. The
results go back as (N, C, H, W) *views* of batch-last arrays, so the next convolution's copy
to batch-last reads memory in order.

**Bands of output rows.** The im2col matrix holds kh·kw copies of the image: 19 MB for a
batch of 128 16×16 maps with 16 channels under a 3×3 kernel, the largest array of a training
step. Built whole, it is written to memory and read back by the matrix product, and it is
allocated and freed at every call. Built a band of output rows at a time, about
``BAND_BYTES`` each, it is read back from the cache (that layer's forward pass took 3.5 ms
instead of 4.9), and the training step's peak memory no longer holds it. The matrix product
is the same; its columns are computed a slice at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

from scratchnet.backend import get_array_module

Pair = tuple[int, int]
Pads = tuple[Pair, Pair]  # ((top, bottom), (left, right))

# The size of one band of im2col columns: small enough to stay in the cache between the copy
# that builds it and the matrix product that reads it, large enough for an efficient GEMM.
BAND_BYTES = 512 * 1024


class Geometry(NamedTuple):
    """Window layout: kernel (kh, kw), stride (sh, sw), pads ((top, bottom), (left, right))."""

    kernel: Pair
    stride: Pair
    pads: Pads


def padded_size(size: Pair, pads: Pads) -> Pair:
    return size[0] + sum(pads[0]), size[1] + sum(pads[1])


# --------------------------------------------------------------------------------------
# Batch-last copies and (N, C, H, W) views
# --------------------------------------------------------------------------------------
def batch_last(x: Any, pads: Pads = ((0, 0), (0, 0))) -> Any:
    """(N, C, H, W) -> contiguous (C, H + top + bottom, W + left + right, N), zero-padded.

    No copy when ``x`` already is an unpadded view of such an array.
    """
    xp = get_array_module(x)
    if pads == ((0, 0), (0, 0)) and x.transpose(1, 2, 3, 0).flags.c_contiguous:
        return x.transpose(1, 2, 3, 0)
    (top, bottom), (left, right) = pads
    n, c, h, w = x.shape
    fill = xp.zeros if pads != ((0, 0), (0, 0)) else xp.empty  # only a border needs zeros
    out = fill((c, h + top + bottom, w + left + right, n), dtype=x.dtype)
    inside = out[:, top:top + h, left:left + w]
    if is_batch_last(x):
        inside[...] = x.transpose(1, 2, 3, 0)
    else:
        # From (N, C, H, W) order a plain copy writes one number at a time, N apart. Eight
        # images at a time, it writes runs of eight and reads runs of C·H·W: 0.37 ms instead
        # of 1.5 for a batch of 128 maps of 16×16×16.
        for start in range(0, n, 8):
            inside[..., start:start + 8] = x[start:start + 8].transpose(1, 2, 3, 0)
    return out


def nchw(x: Any, pads: Pads = ((0, 0), (0, 0))) -> Any:
    """Batch-last (C, Hp, Wp, N) -> the (N, C, H, W) view of it without the padding."""
    (top, bottom), (left, right) = pads
    return x[:, top:x.shape[1] - bottom, left:x.shape[2] - right].transpose(3, 0, 1, 2)


def is_batch_last(x: Any) -> bool:
    """Whether the batch axis of an (N, C, H, W) array is the innermost one in memory (the
    convolutions' outputs, and the ops computed from them elementwise)."""
    return x.ndim == 4 and x.strides[0] == x.itemsize and x.shape[0] > 1


def full_like_layout(like: Any, shape: tuple[int, ...], value: float) -> Any:
    """An (N, C, H, W) array of ``value``, laid out batch-last in memory when ``like`` is.

    The convolutions return batch-last views; elementwise work between two arrays whose
    memory orders differ reads one of them out of order (3-4× slower max pooling).
    """
    xp = get_array_module(like)
    if is_batch_last(like):
        return xp.full((*shape[1:], shape[0]), value, dtype=like.dtype).transpose(3, 0, 1, 2)
    return xp.full(shape, value, dtype=like.dtype)


def pad(x: Any, pads: Pads, value: float = 0.0) -> Any:
    """(N, C, H, W) -> (N, C, H + top + bottom, W + left + right), filled with ``value``,
    in the memory order of ``x``. A filled array and one slice assignment: about 3× faster
    than ``xp.pad``."""
    if pads == ((0, 0), (0, 0)):
        return x
    (top, bottom), (left, right) = pads
    n, c, h, w = x.shape
    padded = full_like_layout(x, (n, c, h + top + bottom, w + left + right), value)
    padded[:, :, top:top + h, left:left + w] = x
    return padded


def crop(x: Any, pads: Pads) -> Any:
    """(N, C, Hp, Wp) -> the view without ``pads`` rows and columns at the edges."""
    (top, bottom), (left, right) = pads
    return x[:, :, top:x.shape[2] - bottom, left:x.shape[3] - right]


def offset_slices(geometry: Geometry, out: Pair) -> list[tuple[slice, ...]]:
    """For each kernel offset (u, v), row-major, the slice of a padded (N, C, Hp, Wp) image
    that it sees: the pixels at (i·sh + u, j·sw + v) for every output pixel (i, j)."""
    (kh, kw), (sh, sw) = geometry.kernel, geometry.stride
    return [(slice(None), slice(None), slice(u, u + sh * out[0], sh),
             slice(v, v + sw * out[1], sw)) for u in range(kh) for v in range(kw)]


# --------------------------------------------------------------------------------------
# im2col and col2im, a band of rows at a time
# --------------------------------------------------------------------------------------
def band_rows(rows: int, bytes_per_row: int) -> int:
    """How many rows make a band of about BAND_BYTES (at least one, at most ``rows``)."""
    return min(rows, max(1, BAND_BYTES // max(bytes_per_row, 1)))


def bands(rows: int, step: int) -> Iterator[slice]:
    """``range(rows)`` as consecutive slices of ``step`` rows, the last one shorter."""
    for start in range(0, rows, step):
        yield slice(start, min(start + step, rows))


def windows(x_padded: Any, geometry: Geometry, out: Pair, axes: Pair = (2, 3)) -> Any:
    """A view of every window of a padded array: the two image ``axes`` become (H_out, W_out)
    and two window axes (kh, kw) are appended; (N, C, Hp, Wp) -> (N, C, Ho, Wo, kh, kw)."""
    xp = get_array_module(x_padded)
    (kh, kw), (sh, sw) = geometry.kernel, geometry.stride
    view = xp.lib.stride_tricks.sliding_window_view(x_padded, (kh, kw), axis=axes)
    step = [slice(None)] * x_padded.ndim
    step[axes[0]] = slice(None, (out[0] - 1) * sh + 1, sh)
    step[axes[1]] = slice(None, (out[1] - 1) * sw + 1, sw)
    return view[tuple(step)]


def im2col_bands(x_padded: Any, geometry: Geometry, out: Pair) -> Iterator[tuple[slice, Any]]:
    """The im2col matrix of a padded batch-last (C, Hp, Wp, N) array, a band of output rows
    at a time: ``(rows, cols)`` with cols the (C·kh·kw, n_rows·W_out·N) matrix of those rows.
    Row (c, u, v) of it holds the pixels that kernel entry w[:, c, u, v] multiplies, column
    (i, j, n) the window of output pixel (i, j) of image n.

    Every band is written into the same buffer (use it before asking for the next): a fresh
    array per band made glibc hand its memory back and forth to the system, and the page
    faults doubled the time.
    """
    xp = get_array_module(x_padded)
    kh, kw = geometry.kernel
    c, n = x_padded.shape[0], x_padded.shape[3]
    seen = windows(x_padded, geometry, out, axes=(1, 2))        # C, H_out, W_out, N, kh, kw
    per_row = c * kh * kw * out[1] * n
    step = band_rows(out[0], per_row * x_padded.itemsize)
    buffer = xp.empty(per_row * step, dtype=x_padded.dtype)
    for rows in bands(out[0], step):
        n_rows = rows.stop - rows.start
        cols = buffer[:per_row * n_rows].reshape(c, kh, kw, n_rows, out[1], n)
        cols[...] = seen[:, rows].transpose(0, 4, 5, 1, 2, 3)
        yield rows, cols.reshape(c * kh * kw, -1)


def col2im_add(image: Any, cols: Any, geometry: Geometry, rows: slice) -> None:
    """Add window values (C, kh, kw, n_rows, W_out, N) of output rows ``rows`` into the padded
    batch-last image (C, Hp, Wp, N) they came from: one strided slice per kernel offset,
    and windows that overlap (stride < kernel) add up."""
    (kh, kw), (sh, sw) = geometry.kernel, geometry.stride
    first, n_rows, w_out = rows.start, cols.shape[3], cols.shape[4]
    for u in range(kh):
        top = first * sh + u
        for v in range(kw):
            image[:, top:top + sh * n_rows:sh, v:v + sw * w_out:sw] += cols[:, u, v]


# --------------------------------------------------------------------------------------
# The three products of a convolution
# --------------------------------------------------------------------------------------
def matmul_im2col(w_matrix: Any, x: Any, geometry: Geometry, out: Pair) -> Any:
    """``w_matrix @ im2col(x)``: w_matrix (C_out, C_in·kh·kw), x (N, C_in, H, W) -> the
    batch-last (C_out, H_out, W_out, N) array, computed a band of output rows at a time."""
    xp = get_array_module(w_matrix, x)
    c_out = w_matrix.shape[0]
    y = xp.empty((c_out, *out, x.shape[0]), dtype=xp.result_type(w_matrix, x))
    for rows, cols in im2col_bands(batch_last(x, geometry.pads), geometry, out):
        xp.matmul(w_matrix, cols, out=y[:, rows].reshape(c_out, -1))  # (rows, Wo, N): a view
    return y


def matmul_im2col_t(g: Any, x: Any, geometry: Geometry) -> Any:
    """``g_matrix @ im2col(x).T``: g (N, C_out, H_out, W_out), x (N, C_in, H, W) ->
    (C_out, C_in·kh·kw), summed over the bands of output rows."""
    xp = get_array_module(g, x)
    g_rows = batch_last(g)                                              # C_out, H_out, W_out, N
    c_out, h_out, w_out, _ = g_rows.shape
    n_cols = x.shape[1] * geometry.kernel[0] * geometry.kernel[1]       # C_in·kh·kw
    # These products are long and thin (a few thousand columns summed into a C_out × C_in·kh·kw
    # result), and BLAS computes them faster with the taller factor on the left: for 8
    # output channels and 144 rows of im2col, cols @ gᵀ took 2.4 ms where g @ colsᵀ took 3.6.
    cols_left = n_cols > c_out
    gw = xp.zeros((n_cols, c_out) if cols_left else (c_out, n_cols), dtype=xp.result_type(g, x))
    for rows, cols in im2col_bands(batch_last(x, geometry.pads), geometry, (h_out, w_out)):
        g_matrix = g_rows[:, rows].reshape(c_out, -1)                 # C_out, rows·W_out·N
        gw += cols @ g_matrix.T if cols_left else g_matrix @ cols.T
    return gw.T if cols_left else gw


def col2im_matmul(w_matrix_t: Any, y: Any, geometry: Geometry, size: Pair) -> Any:
    """``col2im(w_matrix_t @ y_matrix)``: w_matrix_t (C_z·kh·kw, C_y), y (N, C_y, H_y, W_y)
    -> an (N, C_z, H, W) view of a batch-last array, ``size`` = (H, W), the padding cropped.
    Computed a band of y's rows at a time, into one buffer (see :func:`im2col_bands`)."""
    xp = get_array_module(w_matrix_t, y)
    (kh, kw), pads = geometry.kernel, geometry.pads
    c_z, c_y = w_matrix_t.shape[0] // (kh * kw), w_matrix_t.shape[1]
    if _flip_is_cheaper(geometry, c_y, c_z):
        return _correlate_flipped(w_matrix_t, y, geometry, size)
    y_rows = batch_last(y)                                              # C_y, H_y, W_y, N
    _, h_y, w_y, n = y_rows.shape
    dtype = xp.result_type(w_matrix_t, y)
    image = xp.zeros((c_z, *padded_size(size, pads), n), dtype=dtype)
    per_row = w_matrix_t.shape[0] * w_y * n
    step = band_rows(h_y, per_row * dtype.itemsize)
    buffer = xp.empty(per_row * step, dtype=dtype)
    for rows in bands(h_y, step):
        n_rows = rows.stop - rows.start
        cols = buffer[:per_row * n_rows].reshape(w_matrix_t.shape[0], -1)
        xp.matmul(w_matrix_t, y_rows[:, rows].reshape(c_y, -1), out=cols)  # stamps, as columns
        col2im_add(image, cols.reshape(c_z, kh, kw, n_rows, w_y, n), geometry, rows)
    return nchw(image, pads)


def _flip_is_cheaper(geometry: Geometry, c_y: int, c_z: int) -> bool:
    """Whether :func:`_correlate_flipped` applies (stride 1, pads smaller than the kernel) and
    costs less than col2im: its im2col matrix has C_y·kh·kw rows, col2im's C_z·kh·kw."""
    (kh, kw), ((top, bottom), (left, right)) = geometry.kernel, geometry.pads
    return (geometry.stride == (1, 1) and max(top, bottom) < kh and max(left, right) < kw
            and c_y <= c_z)


def _correlate_flipped(w_matrix_t: Any, y: Any, geometry: Geometry, size: Pair) -> Any:
    """col2im_matmul at stride 1, as a convolution: stamping the kernel at every pixel of y
    is correlating y, zero-padded by kh - 1 - top rows above (and so on), with the kernel
    rotated by 180°. It skips col2im's kh·kw strided additions."""
    (kh, kw), ((top, bottom), (left, right)) = geometry.kernel, geometry.pads
    c_z, c_y = w_matrix_t.shape[0] // (kh * kw), w_matrix_t.shape[1]
    kernels = w_matrix_t.reshape(c_z, kh, kw, c_y)[:, ::-1, ::-1].transpose(0, 3, 1, 2)
    full = Geometry(geometry.kernel, (1, 1), ((kh - 1 - top, kh - 1 - bottom),
                                              (kw - 1 - left, kw - 1 - right)))
    return nchw(matmul_im2col(kernels.reshape(c_z, -1), y, full, size))
