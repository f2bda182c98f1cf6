"""Exercises for lesson 19: translating images with pix2pix and CycleGAN.

Fill in each body, then run ``scratchnet check 19``. Reference solutions are in
``exercises/solutions/``. ``sobel_magnitude`` works on a NumPy array (it draws the edge
maps that pix2pix learns to turn back into digits), ``cycle_consistency_loss`` on
scratchnet Tensors (CycleGAN trains through it), and ``patch_receptive_field`` on plain
integers.
"""

import numpy as np

import scratchnet as sn
import scratchnet.functional as F  # noqa: F401  (cycle_consistency_loss will want F.abs)


def sobel_magnitude(image: np.ndarray) -> np.ndarray:
    """The strength of the edges of a grey image: the Sobel gradient's length at each pixel.

    Shapes: image (H, W) -> (H, W), the same size. The two Sobel kernels are

        S_x = [[-1, 0, 1],          S_y = S_xᵀ = [[-1, -2, -1],
               [-2, 0, 2],                        [ 0,  0,  0],
               [-1, 0, 1]]                        [ 1,  2,  1]]

    Pad the image with one pixel of zeros on every side, then slide each kernel over it
    (cross-correlation, as F.conv2d does) to get G_x and G_y, both (H, W):

        G_x[h, w] = Σ_{a, b in 0..2} S_x[a, b] · padded[h + a, w + b]    (G_y with S_y)
        magnitude = √(G_x² + G_y²)

    No scaling (no 1/8). Flipping the kernels (a convolution instead of a
    cross-correlation) only flips the signs of G_x and G_y, which the magnitude ignores.
    """
    raise NotImplementedError("exercise: sobel_magnitude")


def cycle_consistency_loss(x: sn.Tensor, x_back: sn.Tensor) -> sn.Tensor:
    """CycleGAN's cycle loss: how far the round trip x -> G(x) -> F(G(x)) lands from x.

    Shapes: x and x_back = F(G(x)) both Tensors (N, C, H, W) -> a scalar Tensor, the mean
    absolute error over all N·C·H·W entries:

        loss = (1 / (N·C·H·W)) Σ |x_back − x|

    Zhu et al. use the L1 distance, as pix2pix does for its reconstruction: it blurs less
    than the squared error. Build it from tensor operations so that autodiff reaches both
    generators through ``x_back``.
    """
    raise NotImplementedError("exercise: cycle_consistency_loss")


def patch_receptive_field(kernel_sizes: list[int], strides: list[int]) -> int:
    """How many input pixels wide is the patch that one output unit of a conv stack sees.

    Arguments: the kernel size k_l and the stride s_l of each convolution l = 1 .. L of a
    stack, in order from the input (layer 1) to the output (layer L); padding does not
    change the answer. Returns an int, the side r of the square of input pixels that
    one output position depends on:

        r = 1 + Σ_{l=1..L} (k_l − 1) · Π_{i<l} s_i

    Each layer adds k_l − 1 of its own input's steps, and one step of layer l's input is
    Π_{i<l} s_i input pixels (the empty product, for l = 1, is 1). Going back from the
    output, the same r comes from r ← (r − 1)·s_l + k_l, starting at r = 1.
    """
    raise NotImplementedError("exercise: patch_receptive_field")
