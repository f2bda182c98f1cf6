"""A sequence autoencoder: one recurrent network reads a sequence into a code, another
writes the sequence back from the code alone (Dai & Le, "Semi-supervised sequence
learning", NeurIPS 2015).

It is the course's autoencoder with recurrent halves, the "many to many with delay"
mapping of the RNN lecture: nothing comes out until the whole input has been read::

    x (N, T, F) -> encoder RNN -> final state (h, and c for an LSTM) -> Dense -> code (N, K)
    code -> Dense, tanh -> decoder's initial h;  the code is also its input at every step
         -> decoder RNN -> Dense per step -> x̂ (N, T, F)

The decoder never sees x, so everything it reconstructs has passed through the K numbers
of the code: the same bottleneck as PCA with k = K components, which makes PCA the
yardstick (MSE per value on held-out data).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from scratchnet import functional as F
from scratchnet.autograd import Tensor, as_tensor
from scratchnet.backend import get_array_module
from scratchnet.checks import check_int, check_number
from scratchnet.models.char_rnn import CELLS
from scratchnet.nn.layers import Dense
from scratchnet.nn.module import Module
from scratchnet.random import get_generator

__all__ = ["SequenceAutoencoder"]


class SequenceAutoencoder(Module):
    """Encoder RNN -> code -> decoder RNN, trained to reproduce its input (MSE).

    Args:
        input_size: F, the features per step (28 for MNIST read row by row).
        hidden_size: H, both recurrent networks' state width.
        code_size: K, the code's width.
        cell: "lstm", "gru" or "rnn".
        num_layers: recurrent layers in the encoder and in the decoder.
        output_activation: "sigmoid" for data in [0, 1] (pixels), or None for any values.
        forget_bias: added to the LSTM encoder's forget-gate biases at initialisation.
            The encoder must carry what it read early (the top of a digit) through
            everything after it (the blank rows at the bottom). At PyTorch's initialisation
            its forget gates are half shut and that memory fades geometrically (lesson 14
            measures it); open gates, σ(3) ≈ 0.95, let the code depend on the whole input
            from the first step of training. (Gers et al., 2000; Jozefowicz et al., 2015.)
        rng: seed or Generator for the initial weights.

    For an LSTM the code is read from the encoder's final h and c together: c is where the
    LSTM keeps its memory.
    """

    def __init__(self, input_size: int, hidden_size: int, code_size: int, cell: str = "lstm",
                 num_layers: int = 1, output_activation: str | None = "sigmoid",
                 forget_bias: float = 3.0,
                 rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        self.input_size = check_int("SequenceAutoencoder", "input_size", input_size)
        self.code_size = check_int("SequenceAutoencoder", "code_size", code_size)
        if cell not in CELLS:
            raise ValueError(f"SequenceAutoencoder: cell must be one of {sorted(CELLS)}, got "
                             f"{cell!r}")
        if output_activation not in ("sigmoid", None):
            raise ValueError(f"SequenceAutoencoder: output_activation must be 'sigmoid' or "
                             f"None, got {output_activation!r}")
        self.cell = cell
        generator = get_generator(rng)
        stack = CELLS[cell]
        self.encoder = stack(input_size, hidden_size, num_layers=num_layers, rng=generator)
        if cell == "lstm":
            forget_bias = check_number("SequenceAutoencoder", "forget_bias", forget_bias)
            for layer in self.encoder.cells:  # the f block of the (i, f, g, o) gates
                layer.bias_ih.data[hidden_size:2 * hidden_size] += forget_bias
        state_width = 2 * hidden_size if cell == "lstm" else hidden_size
        self.to_code = Dense(state_width, code_size, rng=generator)
        self.from_code = Dense(code_size, hidden_size, activation="tanh", rng=generator)
        self.decoder = stack(code_size, hidden_size, num_layers=num_layers, rng=generator)
        self.readout = Dense(hidden_size, input_size, activation=output_activation,
                             rng=generator)

    def encode(self, x: Any) -> Tensor:
        """x (N, T, F) -> code (N, K): the top layer's final state (h, or [h, c]), projected."""
        _, final = self.encoder(as_tensor(x))
        if isinstance(final, tuple):  # an LSTM: its memory c as well as its output h
            return self.to_code(F.concatenate([final[0][-1], final[1][-1]], axis=-1))
        return self.to_code(final[-1])

    def decode(self, code: Any, steps: int) -> Tensor:
        """code (N, K) -> the reconstructed sequence (N, steps, F)."""
        code = as_tensor(code)
        if code.ndim != 2 or code.shape[1] != self.code_size:
            raise ValueError(f"SequenceAutoencoder.decode: expected codes of shape (N, "
                             f"{self.code_size}), got {tuple(code.shape)}")
        steps = check_int("SequenceAutoencoder.decode", "steps", steps)
        layers = self.decoder.num_layers
        h0 = F.stack([self.from_code(code)] * layers, axis=0)  # (layers, N, H)
        zeros = Tensor(get_array_module(h0.data).zeros(h0.shape, dtype=h0.dtype))
        state = (h0, zeros) if self.cell == "lstm" else h0  # an LSTM's memory starts empty
        inputs = F.stack([code] * steps, axis=1)  # the code, read at every step
        outputs, _ = self.decoder(inputs, state)
        return self.readout(outputs)

    def forward(self, x: Any) -> Tensor:
        x = as_tensor(x)
        if x.ndim != 3 or x.shape[2] != self.input_size:
            raise ValueError(f"SequenceAutoencoder: expected sequences of shape (N, T, "
                             f"{self.input_size}), got {tuple(x.shape)}")
        return self.decode(self.encode(x), x.shape[1])

    def loss(self, x: Any) -> Tensor:
        """Mean squared error per value between x (N, T, F) and its reconstruction."""
        x = as_tensor(x)
        return F.mse_loss(self(x), x)

    def extra_repr(self) -> str:
        return f"cell={self.cell!r}, code_size={self.code_size}"
