"""What the VAE and the GAN share: a code z ~ N(0, I) that a network turns into data.

Both models generate the same way: draw z of size ``latent_dim`` from the standard normal
prior and pass it through a network, the VAE's decoder or the GAN's generator. This base
class holds that part once: the check of ``latent_dim``, the model's own random generator,
and the draw of z in the dtype and on the backend of the network's weights.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from scratchnet import nn
from scratchnet.autograd import Tensor
from scratchnet.backend import get_array_module
from scratchnet.checks import check_int
from scratchnet.random import get_generator, own_generator

__all__ = ["LatentVariableModel"]


class LatentVariableModel(nn.Module):
    """Base class of models that generate data as ``network(z)`` with z ~ N(0, I).

    A subclass names the attribute that holds its network in ``network_attribute``
    ("decoder", "generator") and calls ``super().__init__`` before assigning it.

    Args:
        name: the model's name, for error messages ("VAE", "GAN").
        network: the module that maps z to data; its first parameter fixes the dtype and
            backend of z.
        latent_dim: the size of z.
        rng: generator or seed for z and the model's other random draws (default: the
            library's generator at each draw).
    """

    network_attribute = ""

    def __init__(self, name: str, network: nn.Module, latent_dim: int,
                 rng: np.random.Generator | int | None) -> None:
        super().__init__()
        if not isinstance(network, nn.Module):
            raise TypeError(f"{name}: expected an nn.Module that maps z to data, got "
                            f"{type(network).__name__}")
        if not network.parameters():
            raise ValueError(f"{name}: the network that maps z to data has no parameters")
        self.latent_dim = check_int(name, "latent_dim", latent_dim)
        self.rng = own_generator(rng)

    def _like(self) -> Any:
        """An array with the dtype and backend that z must have."""
        return getattr(self, self.network_attribute).parameters()[0].data

    def sample_latent(self, n: int, rng: np.random.Generator | int | None = None) -> Tensor:
        """n draws of z ~ N(0, I), shape (n, latent_dim), in the network's dtype.

        ``rng`` overrides the model's generator for this draw: the same seed gives the same
        z every time (a fixed set of codes, to watch one model change while it trains).
        """
        like = self._like()
        z = get_generator(self.rng if rng is None else rng).standard_normal(
            (n, self.latent_dim))
        return Tensor(get_array_module(like).asarray(z, dtype=like.dtype))
