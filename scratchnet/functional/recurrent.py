"""One step of an LSTM or a GRU: the textbook composition, and the same step fused.

``lstm_cell`` and ``gru_cell`` are the equations of ``nn.LSTMCell`` and ``nn.GRUCell``
written with differentiable ops, line by line as in a textbook: read them first. Each
makes a dozen graph nodes per time step, and a character model runs thousands of steps
per batch, so the Python work per node (recording it, then running its backward) costs
more than the arithmetic.

``lstm_cell_fused`` and ``gru_cell_fused`` compute the same step as one node. Forward
does the arithmetic on arrays and keeps each gate's local derivative; backward is then
the chain rule: the incoming gradients times those derivatives, and the matrix products
that carry the gradient to ``h`` and to ``W_hh``, written with Tensor ops. When a graph
of the backward pass itself is being recorded (``create_graph=True``, for second
derivatives) the saved derivatives would be constants in it, so backward instead
differentiates the composed step on the same inputs, whose graph says how every gate
depends on them. Tests check both against each other and against PyTorch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from scratchnet.autograd import Function, Tensor, as_tensor, grad, is_grad_enabled
from scratchnet.backend import get_array_module
from scratchnet.functional.activations import sigmoid, sigmoid_array, tanh
from scratchnet.functional.math import Reshape, concatenate, constant, split

__all__ = ["gru_cell", "gru_cell_fused", "lstm_cell", "lstm_cell_fused"]


# --------------------------------------------------------------------------------------
# The textbook steps
# --------------------------------------------------------------------------------------
def lstm_cell(projected: Tensor, h: Tensor, c: Tensor, w_hh: Tensor) -> tuple[Tensor, Tensor]:
    """One LSTM step from the input's share ``projected = x W_ih + b_ih + b_hh`` (N, 4H).

    ``i, f, g, o = split(projected + h W_hh)``; ``c' = σ(f) c + σ(i) tanh(g)``;
    ``h' = σ(o) tanh(c')``. Shapes: h, c (N, H); w_hh (H, 4H). Returns (h', c').
    """
    i, f, g, o = split(projected + h @ w_hh, 4)
    c = sigmoid(f) * c + sigmoid(i) * tanh(g)
    h = sigmoid(o) * tanh(c)
    return h, c


def gru_cell(projected: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor) -> Tensor:
    """One GRU step from the input's share ``projected = x W_ih + b_ih`` (N, 3H).

    With the (r, z, n) blocks of ``projected`` and of ``h W_hh + b_hh``:
    ``r = σ(x_r + h_r)``, ``z = σ(x_z + h_z)``, ``n = tanh(x_n + r h_n)``,
    ``h' = (1 - z) n + z h``. Shapes: h (N, H); w_hh (H, 3H); b_hh (3H,).
    """
    x_r, x_z, x_n = split(projected, 3)
    h_r, h_z, h_n = split(h @ w_hh + b_hh, 3)
    r = sigmoid(x_r + h_r)
    z = sigmoid(x_z + h_z)
    n = tanh(x_n + r * h_n)
    return (1 - z) * n + z * h


# --------------------------------------------------------------------------------------
# The same steps, one node each
# --------------------------------------------------------------------------------------
def _composed_gradients(step: Callable[..., Any], inputs: Sequence[Tensor],
                        needed: Sequence[bool], grad_outputs: Sequence[Tensor]
                        ) -> tuple[Tensor | None, ...]:
    """The vector-Jacobian product of the composed ``step``, with its graph recorded.

    The step reads each input through a node of its own (a reshape to the same shape), and
    the gradients are taken there. Taken at the inputs themselves, :func:`grad` would also
    run every earlier node with a path to one of them: through ``W_hh``, which every step
    reads, that is every earlier step, whose backward would do the same again, so the
    work would double with each step of the sequence.
    """
    inputs = [Reshape(tuple(x.shape))(x) if x.requires_grad else x for x in inputs]
    wanted = [x for x, need in zip(inputs, needed) if need and x.requires_grad]
    outputs = step(*inputs)
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    grads = iter(grad(outputs, wanted, grad_outputs, create_graph=True, allow_unused=True))
    return tuple(next(grads) if need and x.requires_grad else None
                 for x, need in zip(inputs, needed))


def _times_transpose(g: Tensor, w: Tensor) -> Tensor:
    """``g @ w.T``, the gradient reaching ``h`` through ``h @ w``, computed as ``(w @ g.T).T``.

    The same product. With the few rows of a recurrent batch (g is (N, G*H), N of 16 or 32),
    OpenBLAS ran the second form about twice as fast as the first (0.25 against 0.49 ms for
    N = 16, H = 384, on one thread), and it runs once per time step.
    """
    return (w @ g.T).T


class LSTMCellFused(Function):
    """:func:`lstm_cell` as one node (inputs projected, h, c, w_hh; outputs h', c')."""

    def forward(self, projected, h, c, w_hh):
        xp = get_array_module(h)
        i, f, g, o = xp.split(projected + h @ w_hh, 4, axis=-1)
        i, f, o, g = sigmoid_array(i), sigmoid_array(f), sigmoid_array(o), xp.tanh(g)
        c_new = f * c + i * g
        tanh_c = xp.tanh(c_new)
        # Local derivatives: ∂c'/∂(z_i, z_f, z_g) and ∂h'/∂z_o side by side, ∂h'/∂c', ∂c'/∂c.
        self.slopes = xp.concatenate([g * i * (1 - i), c * f * (1 - f), i * (1 - g * g),
                                      tanh_c * o * (1 - o)], axis=-1)
        self.h_slope = o * (1 - tanh_c * tanh_c)
        self.forget = f
        self.save_for_backward(projected, h, c, w_hh)
        return o * tanh_c, c_new

    def backward(self, gh, gc):
        projected, h, c, w_hh = self.saved_tensors
        if is_grad_enabled():
            return _composed_gradients(lstm_cell, (projected, h, c, w_hh),
                                       self.needs_input_grad, (gh, gc))
        gc = gc + gh * constant(self.h_slope)                  # the whole gradient at c'
        gz = concatenate([gc, gc, gc, gh], axis=-1) * constant(self.slopes)  # at i, f, g, o
        _, needs_h, _, needs_w = self.needs_input_grad
        return (gz, _times_transpose(gz, w_hh) if needs_h else None,
                gc * constant(self.forget), h.T @ gz if needs_w else None)


def lstm_cell_fused(projected: Any, h: Any, c: Any, w_hh: Any) -> tuple[Tensor, Tensor]:
    """:func:`lstm_cell` in one graph node: the same values and gradients, less Python."""
    h, c = LSTMCellFused()(*(as_tensor(t) for t in (projected, h, c, w_hh)))
    return h, c


class GRUCellFused(Function):
    """:func:`gru_cell` as one node (inputs projected, h, w_hh, b_hh; output h')."""

    def forward(self, projected, h, w_hh, b_hh):
        xp = get_array_module(h)
        x_r, x_z, x_n = xp.split(projected, 3, axis=-1)
        h_r, h_z, h_n = xp.split(h @ w_hh + b_hh, 3, axis=-1)
        r, z = sigmoid_array(x_r + h_r), sigmoid_array(x_z + h_z)
        n = xp.tanh(x_n + r * h_n)
        # ∂h'/∂ of the pre-activations of r, z and n, side by side; r again for h_n.
        n_slope = (1 - z) * (1 - n * n)
        self.slopes = xp.concatenate([n_slope * h_n * r * (1 - r), (h - n) * z * (1 - z),
                                      n_slope], axis=-1)
        self.reset = xp.concatenate([xp.ones_like(r), xp.ones_like(r), r], axis=-1)
        self.update = z
        self.save_for_backward(projected, h, w_hh, b_hh)
        return (1 - z) * n + z * h

    def backward(self, gh):
        projected, h, w_hh, b_hh = self.saved_tensors
        if is_grad_enabled():
            return _composed_gradients(gru_cell, (projected, h, w_hh, b_hh),
                                       self.needs_input_grad, (gh,))
        g_pre = concatenate([gh, gh, gh], axis=-1) * constant(self.slopes)  # at x_r, x_z, x_n
        g_hh = g_pre * constant(self.reset)                                # at h W_hh + b_hh
        _, needs_h, needs_w, _ = self.needs_input_grad
        return (g_pre, _times_transpose(g_hh, w_hh) + gh * constant(self.update)
                if needs_h else None, h.T @ g_hh if needs_w else None, g_hh)


def gru_cell_fused(projected: Any, h: Any, w_hh: Any, b_hh: Any) -> Tensor:
    """:func:`gru_cell` in one graph node: the same values and gradients, less Python."""
    return GRUCellFused()(*(as_tensor(t) for t in (projected, h, w_hh, b_hh)))
