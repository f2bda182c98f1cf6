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
from scratchnet.nn.layers import (
    BatchNorm1D,
    BatchNorm2D,
    Dense,
    Dropout,
    Flatten,
    GaussianNoise,
    Reshape,
)
from scratchnet.nn.module import Module, Parameter, Sequential, StateDictError

__all__ = [
    "BatchNorm1D", "BatchNorm2D", "Dense", "Dropout", "Flatten", "GaussianNoise", "Identity",
    "LeakyReLU", "Module", "Parameter", "ReLU", "Reshape", "Sequential", "Sigmoid", "Softplus",
    "StateDictError", "Tanh", "get_activation", "init",
]
