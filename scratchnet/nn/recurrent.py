"""Recurrent layers: RNN, LSTM and GRU cells, the stacks that run them over a sequence,
and the Embedding lookup that feeds them characters or words.

A recurrent network is one cell applied at every step of a sequence with the same
weights (the course's dynamical system h⁽ᵗ⁾ = f(h⁽ᵗ⁻¹⁾, x⁽ᵗ⁾; θ)). Running it for T steps
builds the *unrolled* graph: T copies of the cell, each feeding the next. Backpropagation
through time (BPTT) is then nothing new: ``loss.backward()`` on that graph. No layer here
has a hand-written backward, so second derivatives come for free as well.

Shapes are batch-first: a sequence is (N, T, F), a state (N, H) for a cell and
(num_layers, N, H) for a stack. Weights are stored like :class:`~scratchnet.nn.Dense`'s,
(in, out), and hold the G gates side by side in PyTorch's order, so a student can load
PyTorch's weights (transposed) and compare:

* RNN  (G = 1): h' = tanh(x W_ih + b_ih + h W_hh + b_hh)
* LSTM (G = 4): i, f, g, o = split(x W_ih + b_ih + h W_hh + b_hh);
  c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g);  h' = σ(o) ⊙ tanh(c')
* GRU  (G = 3): r, z, n blocks; r = σ(x W_ir + b_ir + h W_hr + b_hr), z likewise;
  n = tanh(x W_in + b_in + r ⊙ (h W_hn + b_hn));  h' = (1 - z) ⊙ n + z ⊙ h

References: Elman (1990); Hochreiter & Schmidhuber (1997), with the forget gate of Gers et
al. (2000); Cho et al. (2014); Goodfellow, Bengio & Courville, *Deep Learning*, ch. 10.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from scratchnet import functional as F
from scratchnet.autograd import Tensor, as_tensor, get_default_dtype
from scratchnet.backend import get_array_module
from scratchnet.checks import check_int
from scratchnet.nn.module import Module, Parameter, Sequential
from scratchnet.random import get_generator

__all__ = ["GRU", "LSTM", "RNN", "Embedding", "GRUCell", "LSTMCell", "RNNCell", "detach_state"]

# h for an RNN or a GRU, (h, c) for an LSTM.
State = Tensor | tuple[Tensor, Tensor]


def detach_state(state: Any) -> Any:
    """``state`` cut from its graph: ``h.detach()``, or both of an LSTM's ``(h, c)``.

    Truncated BPTT carries the final state of one chunk of text into the next as its
    initial state, detached, so that the next ``backward`` stops at the chunk boundary
    instead of running back to the start of the text.
    """
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


# --------------------------------------------------------------------------------------
# Cells: one step of the recurrence
# --------------------------------------------------------------------------------------
class _Cell(Module):
    """What the three cells share: the weights, the input projection, the checks.

    A cell's step is split in two so that a stack can do the input half for all T steps
    at once: ``project(x) = x W_ih + b_ih + b_hh`` is one matrix product for the whole
    sequence (N, T, F) -> (N, T, G*H), and ``step(projected_t, state)`` adds the recurrent
    half; each cell class defines its own ``step``. (Both biases go in the projection
    because they only ever appear as a sum; the GRU, whose b_hh sits inside the reset
    gate's product, keeps it in its step.) Calling the cell does both for one step.

    ``fused`` (default True) makes the LSTM and GRU run each step as one graph node
    (:mod:`scratchnet.functional.recurrent`), with the same values and gradients as the
    composed equations, which ``fused = False`` runs instead.
    """

    gates = 1
    states = 1
    fused = True

    def __init__(self, input_size: int, hidden_size: int,
                 rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        name = type(self).__name__
        self.input_size = check_int(name, "input_size", input_size)
        self.hidden_size = check_int(name, "hidden_size", hidden_size)
        # PyTorch's initialisation, U(-1/sqrt(H), 1/sqrt(H)) for every weight and bias.
        bound = 1.0 / math.sqrt(hidden_size)
        generator = get_generator(rng)
        width = self.gates * hidden_size

        def uniform(*shape: int) -> Parameter:
            return Parameter(generator.uniform(-bound, bound, size=shape),
                             dtype=get_default_dtype())

        self.weight_ih = uniform(input_size, width)
        self.weight_hh = uniform(hidden_size, width)
        self.bias_ih = uniform(width)
        self.bias_hh = uniform(width)

    def project(self, x: Tensor) -> Tensor:
        """The input's share of every gate, ``x W_ih + b_ih + b_hh``: (..., F) -> (..., G*H)."""
        return x @ self.weight_ih + (self.bias_ih + self.bias_hh)

    def forward(self, x: Tensor, state: State | None = None) -> State:
        """One step: ``x`` (N, input_size) and the state (None means zeros) -> the new state."""
        x = as_tensor(x)
        name = type(self).__name__
        if x.ndim != 2 or x.shape[1] != self.input_size:
            raise ValueError(f"{name}: expected an input of shape (N, {self.input_size}), got "
                             f"{tuple(x.shape)}; for a whole sequence (N, T, F) use "
                             f"{name[:-4]}")
        state = self.initial_state(x.shape[0], x, state)
        return self.step(self.project(x), state)

    def initial_state(self, n: int, like: Tensor, state: State | None) -> State:
        """``state`` checked to be (N, H) each, or zeros of that shape when it is None."""
        name = type(self).__name__
        expected = (n, self.hidden_size)
        if state is None:
            zeros = Tensor(get_array_module(like.data).zeros(expected, dtype=like.dtype))
            return (zeros, zeros) if self.states == 2 else zeros
        parts = state if isinstance(state, tuple) else (state,)
        if len(parts) != self.states:
            wanted = "a tuple (h, c)" if self.states == 2 else "one tensor h"
            raise ValueError(f"{name}: the state must be {wanted}, got "
                             f"{_describe_state(state)}")
        parts = tuple(as_tensor(s) for s in parts)
        if any(tuple(s.shape) != expected for s in parts):
            raise ValueError(f"{name}: expected a state of shape (N, hidden_size) = "
                             f"{expected}, got {_describe_state(state)}")
        return parts if self.states == 2 else parts[0]

    def extra_repr(self) -> str:
        return f"{self.input_size} -> {self.hidden_size}"


class RNNCell(_Cell):
    """Elman's recurrence: ``h' = act(x W_ih + b_ih + h W_hh + b_hh)``, act tanh or relu.

    Shapes: x (N, input_size), h (N, hidden_size). Weights: ``weight_ih``
    (input_size, H), ``weight_hh`` (H, H), biases (H,).
    """

    def __init__(self, input_size: int, hidden_size: int, nonlinearity: str = "tanh",
                 rng: np.random.Generator | int | None = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got "
                             f"{nonlinearity!r}")
        super().__init__(input_size, hidden_size, rng)
        self.nonlinearity = nonlinearity

    def step(self, projected: Tensor, h: Tensor) -> Tensor:
        z = projected + h @ self.weight_hh  # projected holds both biases
        return F.tanh(z) if self.nonlinearity == "tanh" else F.relu(z)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, {self.nonlinearity}"


class LSTMCell(_Cell):
    """Long short-term memory: a cell state ``c`` that gates add to and forget from.

    ``i, f, g, o = split(x W_ih + b_ih + h W_hh + b_hh)`` (input, forget, candidate and
    output blocks of H columns each), then::

        c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g)
        h' = σ(o) ⊙ tanh(c')

    The path from c to c' is a product with σ(f) and nothing else, so while the forget
    gate stays open the gradient flows back through many steps undiminished.
    The state is the pair (h, c), each (N, hidden_size); weights (input_size, 4H), (H, 4H).
    """

    gates = 4
    states = 2

    def step(self, projected: Tensor, state: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        h, c = state
        cell = F.lstm_cell_fused if self.fused else F.lstm_cell  # the equations: F.lstm_cell
        return cell(projected, h, c, self.weight_hh)


class GRUCell(_Cell):
    """Gated recurrent unit: a reset gate r and an update gate z, and no separate memory.

    With the three blocks of H columns (r, z, n) of ``x W_ih + b_ih`` and of
    ``h W_hh + b_hh``::

        r = σ(x_r + h_r),  z = σ(x_z + h_z)
        n = tanh(x_n + r ⊙ h_n)        (the reset gate scales h's share, bias included)
        h' = (1 - z) ⊙ n + z ⊙ h

    Weights (input_size, 3H) and (H, 3H); the state h is (N, hidden_size).
    """

    gates = 3

    def project(self, x: Tensor) -> Tensor:
        """The input's share of every gate, ``x W_ih + b_ih``: (..., F) -> (..., 3H)."""
        return x @ self.weight_ih + self.bias_ih

    def step(self, projected: Tensor, h: Tensor) -> Tensor:
        cell = F.gru_cell_fused if self.fused else F.gru_cell  # the equations: F.gru_cell
        return cell(projected, h, self.weight_hh, self.bias_hh)


# --------------------------------------------------------------------------------------
# Stacks: the cells run over a whole sequence, layer on layer
# --------------------------------------------------------------------------------------
class _Recurrent(Module):
    """``num_layers`` cells, each reading the sequence of hidden states below it.

    ``layer(x, state=None) -> (outputs, final_state)``: x (N, T, input_size); outputs
    (N, T, hidden_size), the top layer's h at every step; the final state is h
    (num_layers, N, H), or (h, c) each (num_layers, N, H) for an LSTM. An initial state
    has the final state's shapes; None means zeros. Parameters are named
    ``cells.{l}.weight_ih`` etc., with layer l's input size F for l = 0 and H above.
    """

    cell_type: type[_Cell] = RNNCell

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 rng: np.random.Generator | int | None = None, **cell_options: Any) -> None:
        super().__init__()
        name = type(self).__name__
        self.input_size = check_int(name, "input_size", input_size)
        self.hidden_size = check_int(name, "hidden_size", hidden_size)
        self.num_layers = check_int(name, "num_layers", num_layers)
        generator = get_generator(rng)
        self.cells = Sequential(*[
            self.cell_type(input_size if layer == 0 else hidden_size, hidden_size,
                           rng=generator, **cell_options)
            for layer in range(num_layers)])

    def forward(self, x: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        x = as_tensor(x)
        self._check_sequence(x)
        layer_states = self._layer_states(x, state)
        finals = []
        for cell, layer_state in zip(self.cells, layer_states):
            state_t = cell.initial_state(x.shape[0], x, layer_state)
            # The input's share of every step in one matrix product, then the recurrence.
            hidden = []
            for projected_t in F.unstack(cell.project(x), axis=1):
                state_t = cell.step(projected_t, state_t)
                hidden.append(state_t[0] if cell.states == 2 else state_t)
            x = F.stack(hidden, axis=1)
            finals.append(state_t)
        return x, self._stack_states(finals)

    def _check_sequence(self, x: Tensor) -> None:
        name = type(self).__name__
        if x.ndim != 3:
            raise ValueError(f"{name}: expected a batch-first sequence of shape (N, T, "
                             f"{self.input_size}), got a tensor of rank {x.ndim} and shape "
                             f"{tuple(x.shape)}; one step (N, F) goes to {name}Cell")
        if x.shape[2] != self.input_size:
            raise ValueError(f"{name}: expected {self.input_size} features per step "
                             f"(input_size), got {x.shape[2]} (input shape {tuple(x.shape)})")
        if x.shape[1] == 0:
            raise ValueError(f"{name}: the sequence is empty (T = 0, shape {tuple(x.shape)})")

    def _layer_states(self, x: Tensor, state: State | None) -> list[Any]:
        """The initial state, cut into one (N, H) state (or (h, c) pair) per layer."""
        if state is None:
            return [None] * self.num_layers
        name = type(self).__name__
        states = self.cell_type.states
        expected = (self.num_layers, x.shape[0], self.hidden_size)
        parts = state if isinstance(state, tuple) else (state,)
        if len(parts) != states:
            wanted = "a tuple (h, c)" if states == 2 else "one tensor h"
            raise ValueError(f"{name}: the initial state must be {wanted}, each of shape "
                             f"(num_layers, N, hidden_size) = {expected}, got "
                             f"{_describe_state(state)}")
        parts = tuple(as_tensor(s) for s in parts)
        if any(tuple(s.shape) != expected for s in parts):
            raise ValueError(f"{name}: expected an initial state of shape (num_layers, N, "
                             f"hidden_size) = {expected}, got {_describe_state(state)}")
        per_layer = [F.unstack(s, axis=0) for s in parts]
        if states == 2:
            return list(zip(*per_layer))
        return per_layer[0]

    def _stack_states(self, finals: list[Any]) -> State:
        if self.cell_type.states == 2:
            return (F.stack([h for h, _ in finals], axis=0),
                    F.stack([c for _, c in finals], axis=0))
        return F.stack(finals, axis=0)

    def extra_repr(self) -> str:
        return f"{self.input_size} -> {self.hidden_size}, num_layers={self.num_layers}"


class RNN(_Recurrent):
    """A stack of :class:`RNNCell` run over a sequence; ``nonlinearity`` "tanh" or "relu".

    ``rnn(x (N, T, F), h0=None) -> (outputs (N, T, H), h_T (num_layers, N, H))``.
    """

    cell_type = RNNCell

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", rng: np.random.Generator | int | None = None
                 ) -> None:
        super().__init__(input_size, hidden_size, num_layers, rng, nonlinearity=nonlinearity)


class LSTM(_Recurrent):
    """A stack of :class:`LSTMCell` run over a sequence.

    ``lstm(x (N, T, F), (h0, c0)=None) -> (outputs (N, T, H), (h_T, c_T))``, each state
    (num_layers, N, H).
    """

    cell_type = LSTMCell


class GRU(_Recurrent):
    """A stack of :class:`GRUCell` run over a sequence.

    ``gru(x (N, T, F), h0=None) -> (outputs (N, T, H), h_T (num_layers, N, H))``.
    """

    cell_type = GRUCell


def _describe_state(state: Any) -> str:
    if isinstance(state, (tuple, list)):
        return (f"a {type(state).__name__} of "
                + ", ".join(_describe_state(s) for s in state))
    shape = getattr(state, "shape", None)
    return f"shape {tuple(shape)}" if shape is not None else type(state).__name__


# --------------------------------------------------------------------------------------
# Embedding
# --------------------------------------------------------------------------------------
class Embedding(Module):
    """A table of learned vectors, one per symbol: ``ids`` (any shape) -> (*ids.shape, D).

    The lookup is indexing, ``weight[ids]``, so its gradient is the existing scatter-add:
    each row of ``weight`` receives the sum of the gradients of every position that used
    it. It equals a one-hot vector times ``weight`` without building the one-hot matrix.
    ``weight`` is (num_embeddings, embedding_dim), initialised N(0, 1) as in PyTorch.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int,
                 rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        self.num_embeddings = check_int("Embedding", "num_embeddings", num_embeddings)
        self.embedding_dim = check_int("Embedding", "embedding_dim", embedding_dim)
        self.weight = Parameter(get_generator(rng).normal(size=(num_embeddings, embedding_dim)),
                                dtype=get_default_dtype())

    def forward(self, ids: Any) -> Tensor:
        data = ids.data if isinstance(ids, Tensor) else ids
        data = get_array_module(self.weight.data).asarray(data)
        if data.dtype.kind not in "iu":
            raise TypeError(f"Embedding: expected integer ids, got an array of dtype "
                            f"{data.dtype} and shape {tuple(data.shape)}")
        if data.size and (int(data.min()) < 0 or int(data.max()) >= self.num_embeddings):
            bad = int(data.min()) if int(data.min()) < 0 else int(data.max())
            raise IndexError(f"Embedding: id {bad} is out of range for {self.num_embeddings} "
                             f"embeddings (expected 0 <= id < {self.num_embeddings})")
        return F.getitem(self.weight, data)

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"
