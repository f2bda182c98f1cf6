"""Differentiable operations on tensors, usually imported as ``scratchnet.functional as F``.

``F.conv_reference`` holds the plain loop definitions of the convolution and pooling ops:
read it before ``conv.py``.
"""

from scratchnet.functional import conv_reference
from scratchnet.functional.activations import (
    dropout,
    leaky_relu,
    log_sigmoid,
    log_softmax,
    relu,
    sigmoid,
    softmax,
    softplus,
    tanh,
)
from scratchnet.functional.conv import (
    avg_pool2d,
    conv2d,
    conv_transpose2d,
    crop2d,
    max_pool2d,
    pad2d,
    pixel_shuffle,
    pixel_unshuffle,
)
from scratchnet.functional.losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    gaussian_kl,
    mse_loss,
    nt_xent,
)
from scratchnet.functional.math import (
    abs,
    add,
    astype,
    broadcast_to,
    clip,
    concatenate,
    div,
    exp,
    expand_dims,
    getitem,
    log,
    logsumexp,
    masked,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mul,
    neg,
    pow,
    reshape,
    result_type,
    split,
    sqrt,
    squeeze,
    stack,
    sub,
    sum,
    sum_to,
    transpose,
    unstack,
    var,
    where,
)
from scratchnet.functional.recurrent import (
    gru_cell,
    gru_cell_fused,
    lstm_cell,
    lstm_cell_fused,
)

permute = transpose

__all__ = [
    "abs", "add", "astype", "avg_pool2d", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "broadcast_to", "clip", "concatenate", "conv2d",
    "conv_reference", "conv_transpose2d", "crop2d", "cross_entropy", "div", "dropout", "exp",
    "expand_dims", "gaussian_kl", "getitem", "gru_cell", "gru_cell_fused", "leaky_relu", "log",
    "log_sigmoid", "log_softmax", "logsumexp", "lstm_cell", "lstm_cell_fused", "masked",
    "matmul", "max", "max_pool2d", "maximum", "mean", "min", "minimum", "mse_loss", "mul",
    "neg", "nt_xent", "pad2d", "permute", "pixel_shuffle", "pixel_unshuffle", "pow", "relu",
    "reshape", "result_type", "sigmoid", "softmax", "softplus", "split", "sqrt", "squeeze",
    "stack", "sub", "sum", "sum_to", "tanh", "transpose", "unstack", "var", "where",
]
