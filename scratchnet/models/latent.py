"""What the VAE and the GAN share: a code z ~ N(0, I) that a network turns into data.

Both models generate the same way: draw z of size ``latent_dim`` from the standard normal
prior and pass it through a network, the VAE's decoder or the GAN's generator. This base
class holds that part once: the check of ``latent_dim``, the model's own random generator,
and the draw of z in the dtype and on the backend of the network's weights. Walks between
two codes, linear or spherical, are :func:`interpolate`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from scratchnet import nn
from scratchnet.autograd import Tensor
from scratchnet.backend import get_array_module
from scratchnet.checks import check_int
from scratchnet.random import get_generator, own_generator

__all__ = ["LatentVariableModel", "interpolate"]


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


def interpolate(z0: Any, z1: Any, steps: int, method: str = "spherical") -> Any:
    """Codes on a path from z0 to z1, both ends included: (D,), (D,) -> (steps, D).

    * ``"linear"``: z(t) = (1 − t)·z0 + t·z1.
    * ``"spherical"`` (slerp, White, "Sampling generative networks", 2016): with θ the angle
      between z0 and z1,

          z(t) = sin((1 − t)θ)/sin θ · z0 + sin(tθ)/sin θ · z1.

    Why the second: a draw from N(0, I) in D dimensions almost always has a norm close to
    √D, so the prior's mass sits on a thin shell. The linear midpoint of two such codes has
    a norm near √(D/2), well inside the shell, where the generator was never trained;
    slerp between two codes of equal norm keeps that norm all the way. Where z0 and z1 are
    (nearly) parallel, sin θ ≈ 0 and slerp is the linear path, which it then equals.

    Takes arrays or Tensors (their data), NumPy or CuPy; returns an array of z0's dtype.
    """
    z0, z1 = (getattr(z, "data", z) for z in (z0, z1))
    xp = get_array_module(z0)
    z0, z1 = xp.asarray(z0), xp.asarray(z1)
    steps = check_int("interpolate", "steps", steps, minimum=2)
    if z0.ndim != 1 or z1.shape != z0.shape:
        raise ValueError(f"interpolate: expected two codes of one shape (D,), got "
                         f"{tuple(z0.shape)} and {tuple(z1.shape)}")
    if method not in ("linear", "spherical"):
        raise ValueError(f"interpolate: method must be 'linear' or 'spherical', got {method!r}")
    t = xp.linspace(0.0, 1.0, steps)[:, None]
    linear = (1 - t) * z0 + t * z1
    if method == "linear":
        return linear.astype(z0.dtype)
    norms = float(xp.linalg.norm(z0)) * float(xp.linalg.norm(z1))
    cosine = float((z0 * z1).sum()) / norms if norms > 0 else 1.0
    theta = math.acos(min(1.0, max(-1.0, cosine)))   # a Python float: the angle
    if math.sin(theta) < 1e-6:
        return linear.astype(z0.dtype)
    path = (xp.sin((1 - t) * theta) * z0 + xp.sin(t * theta) * z1) / math.sin(theta)
    return path.astype(z0.dtype)
