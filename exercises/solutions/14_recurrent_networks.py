"""Reference solutions for lesson 14's exercises (see ``exercises/14_recurrent_networks.py``)."""

import math

import numpy as np

import scratchnet as sn
import scratchnet.functional as F


def rnn_forward(x: sn.Tensor, h0: sn.Tensor, W_ih: sn.Tensor, W_hh: sn.Tensor,
                b: sn.Tensor) -> tuple[sn.Tensor, sn.Tensor]:
    """h_t = tanh(x_t W_ih + h_{t-1} W_hh + b), carrying h from each step to the next."""
    h = h0
    states = []
    for t in range(x.shape[1]):
        h = F.tanh(x[:, t] @ W_ih + h @ W_hh + b)
        states.append(h)
    return F.stack(states, axis=1), h


def lstm_cell(x: sn.Tensor, h: sn.Tensor, c: sn.Tensor, W_ih: sn.Tensor, W_hh: sn.Tensor,
              b: sn.Tensor) -> tuple[sn.Tensor, sn.Tensor]:
    """The four gates from one product, then the cell and hidden updates."""
    i, f, g, o = F.split(x @ W_ih + h @ W_hh + b, 4)
    c_new = F.sigmoid(f) * c + F.sigmoid(i) * F.tanh(g)
    return F.sigmoid(o) * F.tanh(c_new), c_new


def clip_by_global_norm(grads: list[np.ndarray],
                        max_norm: float) -> tuple[list[np.ndarray], float]:
    """One norm over every array; one common factor when it exceeds max_norm."""
    total = math.sqrt(sum(float(np.sum(g ** 2)) for g in grads))
    scale = max_norm / total if total > max_norm else 1.0
    return [g * scale for g in grads], total
