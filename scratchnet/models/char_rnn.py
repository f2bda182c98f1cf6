"""A character-level language model: the course's recurrent network trained on the Sonnets.

The model reads a text one character at a time and, after each, predicts the next::

    ids (N, T) -> Embedding -> [Dropout] -> LSTM / GRU / RNN -> [Dropout] -> Dense(H, V)
             -> logits (N, T, V)

and is trained to minimise the cross-entropy of the true next character (in nats, per
character). Its quality on held-out text is reported in bits per character,
``-mean log2 p(x_t | x_<t)``: 0 would be a perfect prophet, log2 V a uniform guess, and a
character n-gram (:class:`~scratchnet.models.NGramModel`) is the baseline to beat.

Reference: A. Karpathy, "The unreasonable effectiveness of recurrent neural networks"
(2015); A. Graves, "Generating sequences with recurrent neural networks" (2013).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from scratchnet import functional as F
from scratchnet.autograd import Tensor, no_grad
from scratchnet.checks import check_int, check_number
from scratchnet.datasets.text import CharVocab
from scratchnet.nn.layers import Dense, Dropout
from scratchnet.nn.module import Module
from scratchnet.nn.recurrent import GRU, LSTM, RNN, Embedding, detach_state
from scratchnet.random import get_generator

__all__ = ["CharRNN"]

CELLS = {"lstm": LSTM, "gru": GRU, "rnn": RNN}


class CharRNN(Module):
    """Next-character prediction with an embedding, a recurrent stack and a linear read-out.

    Args:
        vocab_size: V, the number of distinct characters (ids 0..V-1).
        hidden_size: H, the recurrent state's width.
        cell: "lstm", "gru" or "rnn" (a tanh RNN).
        num_layers: recurrent layers stacked.
        embedding_dim: the width of each character's learned vector.
        dropout: the probability with which :class:`~scratchnet.nn.Dropout` zeroes each
            value of the embeddings and of the recurrent outputs while training (0: none).
            A corpus as small as the Sonnets is memorised without it.
        vocab: the :class:`~scratchnet.datasets.CharVocab` (it must have V characters);
            with it, :meth:`sample` takes and returns text, and the vocabulary is saved
            with the weights (a buffer ``vocab``; rebuild it with ``model.vocabulary``).
        rng: seed or Generator for the initial weights.

    **Truncated BPTT.** In training mode :meth:`loss` starts each batch from the final
    state of the previous batch, detached, so the gradient flows back through one batch's
    T steps while the state carries context from further back. That is right for a
    :class:`~scratchnet.datasets.TextLoader`, whose batch k + 1 continues batch k row by
    row. The carried state is dropped by :meth:`reset_state`, whenever the model is
    switched to training or evaluation mode (``fit`` switches to training at the start of
    every epoch, when the loader starts its streams again) and when the batch size changes.
    """

    def __init__(self, vocab_size: int, hidden_size: int, cell: str = "lstm",
                 num_layers: int = 1, embedding_dim: int = 32, dropout: float = 0.0,
                 vocab: CharVocab | None = None,
                 rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        self.vocab_size = check_int("CharRNN", "vocab_size", vocab_size)
        if cell not in CELLS:
            raise ValueError(f"CharRNN: cell must be one of {sorted(CELLS)}, got {cell!r}")
        self.cell = cell
        generator = get_generator(rng)
        self.embedding = Embedding(vocab_size, embedding_dim, rng=generator)
        self.rnn = CELLS[cell](embedding_dim, hidden_size, num_layers=num_layers, rng=generator)
        self.head = Dense(hidden_size, vocab_size, rng=generator)
        self.dropout = Dropout(dropout, rng=generator)
        if vocab is not None:
            if not isinstance(vocab, CharVocab) or len(vocab) != vocab_size:
                got = (f"a CharVocab of {len(vocab)} characters"
                       if isinstance(vocab, CharVocab) else type(vocab).__name__)
                raise ValueError(f"CharRNN: vocab must be a CharVocab of vocab_size = "
                                 f"{vocab_size} characters, got {got}")
            self.register_buffer("vocab", vocab.to_array())
        self._carried: Any = None

    # ---- the network ---------------------------------------------------------------------
    def forward(self, ids: Any, state: Any = None) -> tuple[Tensor, Any]:
        """``ids`` (N, T) -> (logits (N, T, V), the recurrent stack's final state)."""
        ids = _id_array(ids)
        if ids.ndim != 2:
            raise ValueError(f"CharRNN: expected ids of shape (N, T), got shape {ids.shape}")
        outputs, state = self.rnn(self.dropout(self.embedding(ids)), state)
        return self.head(self.dropout(outputs)), state

    def loss(self, x: Any, y: Any) -> Tensor:
        """Mean cross-entropy (nats per character) of the targets ``y`` given ``x``, both (N, T).

        In training mode the state is carried over from the previous call (see the class
        docstring); in evaluation mode every call starts from zeros.
        """
        x, y = _id_array(x), _id_array(y)
        if x.shape != y.shape:
            raise ValueError(f"CharRNN.loss: x and y must have the same shape (N, T), got "
                             f"{x.shape} and {y.shape}")
        state = self._carried if self.training else None
        if state is not None and _batch_of(state) != x.shape[0]:
            state = None
        logits, final = self(x, state)
        self._carried = detach_state(final) if self.training else None
        return F.cross_entropy(logits.reshape(-1, self.vocab_size), y.reshape(-1))

    def reset_state(self) -> None:
        """Forget the state carried between training batches."""
        self._carried = None

    def train(self, mode: bool = True) -> CharRNN:
        self.reset_state()
        return super().train(mode)

    # ---- evaluation ------------------------------------------------------------------------
    def log_probs(self, ids: Any, chunk: int = 256) -> np.ndarray:  # host: scores as floats
        """log2 p(x_t | x_<t) for every position t of ``ids``, shape ``(L,)``.

        The text is read as one stream, ``chunk`` characters at a time with the state
        carried across, as if it were preceded by id 0 (the newline, in a
        :class:`~scratchnet.datasets.CharVocab` of ordinary text), so that the first
        character is scored too, as :meth:`NGramModel.log_probs` scores it.
        """
        ids = self._ids("log_probs", ids)
        chunk = check_int("CharRNN.log_probs", "chunk", chunk)
        inputs = np.concatenate([[0], ids[:-1]])
        scores = []
        was_training, state = self.training, None
        self.eval()
        try:
            with no_grad():
                for start in range(0, len(ids), chunk):
                    logits, state = self(inputs[None, start:start + chunk], state)
                    log_p = F.log_softmax(logits).numpy()[0]
                    scores.append(log_p[np.arange(len(log_p)), ids[start:start + chunk]])
        finally:
            self.train(was_training)
        return np.concatenate(scores) / math.log(2.0)

    def bits_per_char(self, ids: Any) -> float:
        """Mean -log2 p(x_t | x_<t) over ``ids`` (see :meth:`log_probs`); lower is better."""
        return float(-self.log_probs(ids).mean())

    def next_char_probabilities(self, ids: Any) -> np.ndarray:
        """p(next character | ids[:t+1]) for every prefix: shape (L, V), rows summing to 1.

        Row t is the model's forecast after reading ``ids[0..t]``, from the zero state.
        """
        ids = self._ids("next_char_probabilities", ids)
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                logits, _ = self(ids[None])
                return F.softmax(logits).numpy()[0]
        finally:
            self.train(was_training)

    # ---- generation ------------------------------------------------------------------------
    def sample(self, n: int, temperature: float = 1.0, prime: Any = "",
               rng: np.random.Generator | int | None = None) -> Any:  # host: draws
        """Generate ``n`` characters, each drawn from p(x | what came before) ** (1/temperature).

        ``prime`` (text, or ids) is read first and the sample continues it; it is not part
        of the result. An empty prime starts after id 0 (a newline, as for
        :meth:`log_probs`). ``temperature`` < 1 sharpens the distribution towards its most
        likely characters (safer, more repetitive text), > 1 flattens it (more surprising,
        more misspelt). ``rng``: seed or Generator (the same seed gives the same text), or
        None for the library generator. Returns a str when the model has a vocabulary, else
        an int64 array of ids.
        """
        n = check_int("CharRNN.sample", "n", n)
        temperature = check_number("CharRNN.sample", "temperature", temperature, low=0.0,
                                   low_open=True)
        generator = get_generator(rng)
        context = self._prime_ids(prime)
        out = np.empty(n, dtype=np.int64)
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                logits, state = self(context[None])
                for i in range(n):
                    if i:  # read the character drawn last
                        logits, state = self(out[None, i - 1:i], state)
                    scaled = logits.numpy()[0, -1].astype(np.float64) / temperature
                    p = np.exp(scaled - scaled.max())
                    out[i] = generator.choice(self.vocab_size, p=p / p.sum())
        finally:
            self.train(was_training)
        vocab = self.vocabulary
        return vocab.decode(out) if vocab is not None else out

    @property
    def vocabulary(self) -> CharVocab | None:
        """The :class:`~scratchnet.datasets.CharVocab` saved with the model, if it has one."""
        codes = getattr(self, "vocab", None)
        return None if codes is None else CharVocab.from_array(codes)

    def _prime_ids(self, prime: Any) -> np.ndarray:  # host: the ids to start from
        if isinstance(prime, str):
            if not prime:
                return np.zeros(1, dtype=np.int64)
            vocab = self.vocabulary
            if vocab is None:
                raise ValueError("CharRNN.sample: a text prime needs the model's vocabulary; "
                                 "build it with vocab=CharVocab(text), or prime with ids")
            return vocab.encode(prime)
        ids = self._ids("sample", prime)
        return ids if len(ids) else np.zeros(1, dtype=np.int64)

    def _ids(self, method: str, ids: Any) -> np.ndarray:  # host: ids to score or prime
        if isinstance(ids, str):
            raise TypeError(f"CharRNN.{method}: expected integer ids, got a str; encode the "
                            "text first: model.vocabulary.encode(text)")
        array = ids.data if isinstance(ids, Tensor) else np.asarray(ids)
        if array.shape == (0,):  # np.asarray([]) is float64; an empty prime is fine
            array = array.astype(np.int64)
        if array.ndim != 1 or array.dtype.kind not in "iu":
            raise ValueError(f"CharRNN.{method}: expected a 1-D array of integer ids, got "
                             f"dtype {array.dtype} with shape {array.shape}")
        if method != "sample" and array.size == 0:
            raise ValueError(f"CharRNN.{method}: ids is empty; there is nothing to score")
        if array.size and (array.min() < 0 or array.max() >= self.vocab_size):
            raise ValueError(f"CharRNN.{method}: ids must lie in 0..{self.vocab_size - 1}, "
                             f"got values from {int(array.min())} to {int(array.max())}")
        return array.astype(np.int64)

    def extra_repr(self) -> str:
        return f"vocab_size={self.vocab_size}, cell={self.cell!r}, dropout={self.dropout.p:g}"


def _id_array(ids: Any) -> Any:
    """A Tensor's array, an array as it is, a list of ids as a NumPy array."""
    if isinstance(ids, Tensor):
        return ids.data
    return ids if hasattr(ids, "ndim") else np.asarray(ids)  # host: a Python list


def _batch_of(state: Any) -> int:
    return (state[0] if isinstance(state, tuple) else state).shape[1]
