"""Exercises for lesson 00: automatic differentiation.

Fill in each body, then run ``scratchnet check 00`` (or ``scratchnet check 00 --file
this_file.py`` for a copy of it). Reference solutions are in ``exercises/solutions/``:
look only after the checker has had its say.
"""

import numpy as np

import scratchnet as sn
import scratchnet.functional as F  # noqa: F401  (your backward will want F.abs)


class Softsign(sn.Function):
    """softsign(x) = x / (1 + |x|), elementwise, with its backward.

    Shapes: x (any shape) -> y (same shape), in x's dtype.

    * ``forward(self, x)`` gets a NumPy array. Save what the backward needs with
      ``self.save_for_backward(x)``, and return the array y.
    * ``backward(self, gy)`` gets the upstream gradient gy (a Tensor, y's shape) and returns
      gx = gy * dy/dx, with dy/dx = 1 / (1 + |x|)². Read x back with
      ``(x,) = self.saved_tensors``: it is a Tensor, so write the backward with tensor
      operations (``F.abs``, ``+``, ``*``, ``/``). Then it can be differentiated again,
      and ``sn.gradgradcheck`` checks the second derivative too.

    Use it as ``Softsign()(x)`` for a Tensor x.
    """

    def forward(self, x):
        raise NotImplementedError("exercise: Softsign.forward")

    def backward(self, gy):
        raise NotImplementedError("exercise: Softsign.backward")


def central_difference(f, x: np.ndarray, eps: float = 1e-3) -> np.ndarray:
    """The gradient of a scalar function by central differences.

    ``f`` takes an array shaped like ``x`` (D,) and returns a float. Return g (D,) with

        g_j = (f(x + eps e_j) - f(x - eps e_j)) / (2 eps),

    where e_j is the j-th unit vector. The error is O(eps²). Do not change ``x`` itself.
    """
    raise NotImplementedError("exercise: central_difference")


def newton_step(f, x: float) -> float:
    """One step of Newton's method for minimising f: x - f'(x) / f''(x).

    ``f`` maps a scalar Tensor to a scalar Tensor. Get f'(x) with
    ``sn.grad(f(t), t, create_graph=True)`` for ``t = sn.Tensor(x, requires_grad=True)``,
    differentiate f'(x) again with ``sn.grad`` for f''(x), and return the new x as a float.
    """
    raise NotImplementedError("exercise: newton_step")
