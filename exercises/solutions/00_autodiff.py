"""Reference solutions for lesson 00's exercises (see ``exercises/00_autodiff.py``)."""

import numpy as np

import scratchnet as sn
import scratchnet.functional as F


class Softsign(sn.Function):
    """softsign(x) = x / (1 + |x|);  d/dx = 1 / (1 + |x|)²."""

    def forward(self, x):
        self.save_for_backward(x)
        return x / (1.0 + abs(x))

    def backward(self, gy):
        (x,) = self.saved_tensors
        denominator = 1.0 + F.abs(x)
        return gy / (denominator * denominator)


def central_difference(f, x: np.ndarray, eps: float = 1e-3) -> np.ndarray:
    """g_j = (f(x + eps e_j) - f(x - eps e_j)) / (2 eps)."""
    g = np.empty(x.shape)
    for j in range(x.size):
        step = np.zeros(x.shape)
        step[j] = eps
        g[j] = (f(x + step) - f(x - step)) / (2 * eps)
    return g


def newton_step(f, x: float) -> float:
    """x - f'(x) / f''(x), both derivatives by autodiff."""
    t = sn.Tensor(x, requires_grad=True)
    (d1,) = sn.grad(f(t), t, create_graph=True)  # keep f'(x)'s graph to differentiate it
    (d2,) = sn.grad(d1, t)
    return x - d1.item() / d2.item()
