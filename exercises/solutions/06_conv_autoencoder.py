"""Reference solutions for lesson 06's exercises (see ``exercises/06_conv_autoencoder.py``)."""


def conv_params(c_in: int, c_out: int, kernel: int) -> int:
    """c_out kernels of kernel² · c_in weights, and one bias each."""
    return c_out * (kernel * kernel * c_in + 1)


def conv_transpose_output_size(n: int, kernel: int, stride: int = 1, padding: int = 0,
                               output_padding: int = 0) -> int:
    """(n - 1) · stride - 2 · padding + kernel + output_padding."""
    return (n - 1) * stride - 2 * padding + kernel + output_padding
