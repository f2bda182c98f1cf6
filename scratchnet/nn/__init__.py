"""Layers and containers: ``from scratchnet import nn``.

``nn.Module`` holds parameters and sub-layers; ``nn.Sequential`` chains layers; the layers
follow the Keras names of the course material (Dense, BatchNorm1D, GaussianNoise, ...)
with PyTorch-style explicit sizes (``nn.Dense(784, 32, activation="relu")``).
"""

from scratchnet.nn import init
from scratchnet.nn.activations import (
    Identity,
    LeakyReLU,
    ReLU,
    Sigmoid,
    Softplus,
    Tanh,
    get_activation,
)
from scratchnet.nn.conv import (
    AvgPool2D,
    Conv2D,
    ConvTranspose2D,
    Cropping2D,
    MaxPool2D,
    ZeroPadding2D,
)
from scratchnet.nn.layers import (
    BatchNorm1D,
    BatchNorm2D,
    Dense,
    Dropout,
    Flatten,
    GaussianNoise,
    Reshape,
)
from scratchnet.nn.module import (
    Module,
    Parameter,
    RemovableHandle,
    Sequential,
    StateDictError,
)
from scratchnet.nn.recurrent import (
    GRU,
    LSTM,
    RNN,
    Embedding,
    GRUCell,
    LSTMCell,
    RNNCell,
    detach_state,
)
from scratchnet.nn.spectral_norm import SpectralNorm

__all__ = [
    "GRU",
    "LSTM",
    "RNN",
    "AvgPool2D",
    "BatchNorm1D",
    "BatchNorm2D",
    "Conv2D",
    "ConvTranspose2D",
    "Cropping2D",
    "Dense",
    "Dropout",
    "Embedding",
    "Flatten",
    "GRUCell",
    "GaussianNoise",
    "Identity",
    "LSTMCell",
    "LeakyReLU",
    "MaxPool2D",
    "Module",
    "Parameter",
    "RNNCell",
    "ReLU",
    "RemovableHandle",
    "Reshape",
    "Sequential",
    "Sigmoid",
    "Softplus",
    "SpectralNorm",
    "StateDictError",
    "Tanh",
    "ZeroPadding2D",
    "detach_state",
    "get_activation",
    "init",
]
