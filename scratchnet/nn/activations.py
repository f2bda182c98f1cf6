"""Activation functions as layers, and ``activation=`` names for Dense and Conv layers."""

from __future__ import annotations

from scratchnet import functional as F
from scratchnet.autograd import Tensor
from scratchnet.nn.module import Module

__all__ = ["ACTIVATIONS", "Identity", "LeakyReLU", "ReLU", "Sigmoid", "Softplus", "Tanh",
           "get_activation"]


class Identity(Module):
    """Returns its input unchanged (the "linear" activation)."""

    def forward(self, x: Tensor) -> Tensor:
        return x


class ReLU(Module):
    """max(x, 0)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x)


class LeakyReLU(Module):
    """x if x > 0 else slope · x."""

    def __init__(self, slope: float = 0.01) -> None:
        super().__init__()
        self.slope = slope

    def forward(self, x: Tensor) -> Tensor:
        return F.leaky_relu(x, self.slope)

    def extra_repr(self) -> str:
        return f"slope={self.slope}"


class Sigmoid(Module):
    """1 / (1 + e^{-x})."""

    def forward(self, x: Tensor) -> Tensor:
        return F.sigmoid(x)


class Tanh(Module):
    """tanh(x)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.tanh(x)


class Softplus(Module):
    """log(1 + e^x)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.softplus(x)


ACTIVATIONS: dict[str | None, type[Module]] = {
    None: Identity,
    "linear": Identity,
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "softplus": Softplus,
}


def get_activation(activation: str | Module | None) -> Module:
    """A fresh activation layer for a name in :data:`ACTIVATIONS`, or the module given."""
    if isinstance(activation, Module):
        return activation
    if activation not in ACTIVATIONS:
        names = sorted(str(k) for k in ACTIVATIONS)
        raise ValueError(f"unknown activation {activation!r}; expected one of {names} "
                         "or a Module")
    return ACTIVATIONS[activation]()
