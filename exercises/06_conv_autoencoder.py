"""Exercises for lesson 06: a convolutional autoencoder.

Fill in each body, then run ``scratchnet check 06``. Reference solutions are in
``exercises/solutions/``.
"""


def conv_params(c_in: int, c_out: int, kernel: int) -> int:
    """The number of parameters of a 2-D convolution with square kernels and a bias.

    Each of the c_out kernels has kernel × kernel weights per input channel, plus one bias:

        c_out · (kernel² · c_in + 1),

    however large the image is. Return an int.
    """
    raise NotImplementedError("exercise: conv_params")


def conv_transpose_output_size(n: int, kernel: int, stride: int = 1, padding: int = 0,
                               output_padding: int = 0) -> int:
    """The output length of a transposed convolution along one axis.

    The transposed convolution undoes the shape change of a convolution with the same
    kernel, stride and padding: each of the n inputs is spread over a kernel-sized window,
    the windows ``stride`` apart, so

        n_out = (n - 1) · stride - 2 · padding + kernel + output_padding.

    (``output_padding`` < stride picks one of the input sizes that a strided convolution
    maps to the same n.) Return an int.
    """
    raise NotImplementedError("exercise: conv_transpose_output_size")
