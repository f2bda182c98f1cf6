"""Exercises for lesson 02: convolution, pooling and the transposed convolution.

Fill in each body, then run ``scratchnet check 02``. Reference solutions are in
``exercises/solutions/``.
"""

import numpy as np


def conv_output_size(n: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """The output length of a convolution along one axis.

    An input of length n, padded with ``padding`` zeros at each end, scanned by a window of
    length ``kernel`` that moves ``stride`` steps at a time, fits

        n_out = floor((n + 2 padding - kernel) / stride) + 1

    windows. Return it as an int.
    """
    raise NotImplementedError("exercise: conv_output_size")


def cross_correlate2d(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """A "valid" 2-D cross-correlation of one image with one kernel, with loops or slices.

    Shapes: image (H, W), kernel (kh, kw) -> out (H - kh + 1, W - kw + 1), where

        out[i, j] = Σ_{a, b} image[i + a, j + b] · kernel[a, b].

    This is what deep-learning libraries call "convolution" (``F.conv2d``): the kernel is
    not flipped.
    """
    raise NotImplementedError("exercise: cross_correlate2d")


def max_pool2d(x: np.ndarray, k: int) -> np.ndarray:
    """Non-overlapping k × k max pooling of one image.

    Shapes: x (H, W) with H and W multiples of k -> out (H / k, W / k), where out[i, j] is
    the largest value in the block x[k i : k i + k, k j : k j + k]. Hint: reshape to
    (H / k, k, W / k, k) and take the max over two axes.
    """
    raise NotImplementedError("exercise: max_pool2d")
