"""Exercises for lesson 14: recurrent networks and backpropagation through time.

Fill in each body, then run ``scratchnet check 14``. Reference solutions are in
``exercises/solutions/``. Write the first two with scratchnet's tensor operations
(``@``, ``+``, ``F.tanh``, ``F.sigmoid``, ``F.split``, ``F.stack`` ...): the checker
differentiates your answers, so backpropagation through time runs through your own loop.
"""

import numpy as np

import scratchnet as sn
import scratchnet.functional as F  # noqa: F401  (your answers will want it)


def rnn_forward(x: sn.Tensor, h0: sn.Tensor, W_ih: sn.Tensor, W_hh: sn.Tensor,
                b: sn.Tensor) -> tuple[sn.Tensor, sn.Tensor]:
    """A tanh RNN unrolled over the T steps of a batch-first sequence.

    Shapes: x (N, T, F), the initial state h0 (N, H), W_ih (F, H), W_hh (H, H), b (H,).
    The weights are (in, out), like a Dense layer's, and b stands for nn.RNN's two biases
    added together (b_ih + b_hh). For t = 1 .. T:

        h_t = tanh(x_t W_ih + h_{t-1} W_hh + b),     x_t = x[:, t - 1] (N, F)

    starting from h_0 = h0. Return ``(outputs, h_T)``: outputs (N, T, H) holds h_1 .. h_T
    along axis 1 (``F.stack(..., axis=1)``), and h_T (N, H) is the last state.
    """
    raise NotImplementedError("exercise: rnn_forward")


def lstm_cell(x: sn.Tensor, h: sn.Tensor, c: sn.Tensor, W_ih: sn.Tensor, W_hh: sn.Tensor,
              b: sn.Tensor) -> tuple[sn.Tensor, sn.Tensor]:
    """One step of an LSTM: the new state ``(h', c')``.

    Shapes: x (N, F), h and c (N, H), W_ih (F, 4H), W_hh (H, 4H), b (4H,) (nn.LSTMCell's
    b_ih + b_hh). The pre-activation ``z = x W_ih + h W_hh + b`` (N, 4H) holds four blocks of
    H columns, in the order i, f, g, o (input gate, forget gate, candidate, output gate;
    ``F.split(z, 4)`` cuts them). Then, with σ the sigmoid:

        c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g)
        h' = σ(o) ⊙ tanh(c')

    Return ``(h', c')``, each (N, H).
    """
    raise NotImplementedError("exercise: lstm_cell")


def clip_by_global_norm(grads: list[np.ndarray],
                        max_norm: float) -> tuple[list[np.ndarray], float]:
    """Rescale a list of gradients so that their joint L2 norm is at most ``max_norm``.

    ``grads``: NumPy arrays of any shapes (one per parameter). Their global norm is

        total = sqrt( Σ_p Σ_elements grads[p]² )      (one number for the whole list)

    If total > max_norm, every array is multiplied by the same factor max_norm / total;
    otherwise they are returned unchanged. This keeps the direction of the step and caps
    its length. Return ``(clipped, total)``: a list of new arrays (leave the ones passed in
    unchanged) and the norm *before* clipping, a float.
    """
    raise NotImplementedError("exercise: clip_by_global_norm")
