"""Reference solutions for lesson 19's exercises (see ``exercises/19_image_to_image.py``)."""

import numpy as np

import scratchnet as sn
import scratchnet.functional as F

SOBEL_X = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])


def sobel_magnitude(image: np.ndarray) -> np.ndarray:
    """Zero-pad by one, add up the nine shifted copies weighted by each kernel, take the norm."""
    h, w = image.shape
    padded = np.pad(image, 1)
    gx, gy = np.zeros((h, w)), np.zeros((h, w))
    for a in range(3):
        for b in range(3):
            window = padded[a:a + h, b:b + w]
            gx += SOBEL_X[a, b] * window
            gy += SOBEL_X.T[a, b] * window
    return np.sqrt(gx ** 2 + gy ** 2)


def cycle_consistency_loss(x: sn.Tensor, x_back: sn.Tensor) -> sn.Tensor:
    """The mean of |x_back − x| over every entry."""
    return F.mean(F.abs(x_back - x))


def patch_receptive_field(kernel_sizes: list[int], strides: list[int]) -> int:
    """Add each layer's k − 1 steps, measured in input pixels (the product of earlier strides)."""
    field, step = 1, 1
    for k, s in zip(kernel_sizes, strides):
        field += (k - 1) * step
        step *= s
    return field
