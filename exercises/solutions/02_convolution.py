"""Reference solutions for lesson 02's exercises (see ``exercises/02_convolution.py``)."""

import numpy as np


def conv_output_size(n: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """floor((n + 2 padding - kernel) / stride) + 1."""
    return (n + 2 * padding - kernel) // stride + 1


def cross_correlate2d(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """out[i, j] = Σ_ab image[i + a, j + b] kernel[a, b], one kernel offset at a time."""
    kh, kw = kernel.shape
    h_out, w_out = image.shape[0] - kh + 1, image.shape[1] - kw + 1
    out = np.zeros((h_out, w_out))
    for a in range(kh):
        for b in range(kw):
            out += kernel[a, b] * image[a:a + h_out, b:b + w_out]
    return out


def max_pool2d(x: np.ndarray, k: int) -> np.ndarray:
    """The max over each k × k block, by a reshape that puts each block on two axes."""
    h, w = x.shape
    return x.reshape(h // k, k, w // k, k).max(axis=(1, 3))
