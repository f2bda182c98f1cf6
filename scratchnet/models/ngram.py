"""A character n-gram language model: the count-based baseline a recurrent network must beat.

An n-gram model predicts the next id from the ``n - 1`` ids before it, by counting how
often each continuation followed that context in the training text::

    model = NGramModel(5).fit(vocab.encode(train))
    model.bits_per_char(vocab.encode(val))       # lower is better; log2(V) = guessing
    vocab.decode(model.sample(200, rng=0))

Counting is vectorised: every m-gram of ids ``(a_1, ..., a_m)`` becomes one integer
``a_1 V^(m-1) + ... + a_m`` (base-V digits, so V^n must fit in int64), the distinct codes
and their counts come from ``np.unique``, and a lookup is ``np.searchsorted``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from scratchnet.autograd import Tensor
from scratchnet.backend import as_numpy
from scratchnet.checks import check_int, check_number
from scratchnet.random import get_generator

__all__ = ["NGramModel"]

SMOOTHINGS = ("interpolated", "add-k")
_MAX_CODE = 2 ** 62  # the largest m-gram code must fit an int64 with room to spare


class _Table:
    """The counts of one order m: m-grams ``(h, x)`` with h the m-1 ids before x.

    ``grams`` (sorted codes) and ``counts``; ``contexts`` (sorted codes of h), their
    ``totals`` (the sum of the counts over x) and ``types`` (the number of distinct x seen
    after h).
    """

    def __init__(self, grams: np.ndarray, counts: np.ndarray, vocab_size: int) -> None:
        self.grams, self.counts = grams, counts.astype(np.float64)
        # grams is sorted, so the contexts (grams // V) come in sorted runs.
        self.contexts, starts, self.types = np.unique(grams // vocab_size, return_index=True,
                                                      return_counts=True)
        self.totals = np.add.reduceat(self.counts, starts)

    @staticmethod
    def _look_up(keys: np.ndarray, values: np.ndarray, query: np.ndarray) -> np.ndarray:
        """``values`` at the positions of ``query`` in the sorted ``keys``; 0 where absent."""
        at = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
        return np.where(keys[at] == query, values[at], 0)

    def count(self, grams: np.ndarray) -> np.ndarray:
        return self._look_up(self.grams, self.counts, grams)

    def context(self, contexts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(totals, types) of each context code; 0 for a context never seen."""
        return (self._look_up(self.contexts, self.totals, contexts),
                self._look_up(self.contexts, self.types, contexts))


class NGramModel:
    """P(x_t | x_{t-n+1} ... x_{t-1}) from counts, with one of two smoothings.

    Args:
        n: the order; the context is the ``n - 1`` previous ids (n = 1: no context).
        smoothing: how probability is given to continuations never seen after a context.

            * ``"add-k"``: ``p(x | h) = (c(h, x) + k) / (c(h) + k V)``, with c(h, x) the
              count of the n-gram and ``c(h) = sum_x c(h, x)``.
            * ``"interpolated"``: interpolated Kneser-Ney (Kneser & Ney 1995; the form of
              Chen & Goodman 1999, "An empirical study of smoothing techniques for language
              modeling", eq. 15), recursively down to the uniform distribution::

                  p_m(x | h) = max(c_m(h, x) - D_m, 0) / c_m(h)
                               + D_m N_m(h) / c_m(h) * p_{m-1}(x | h')
                  p_0(x) = 1 / V

              where h' is h without its first id, ``c_m(h) = sum_x c_m(h, x)`` and N_m(h)
              is the number of distinct x with ``c_m(h, x) > 0``. At the top order c_n is
              the raw count; below it, c_m(h, x) is the *continuation count*, the number of
              distinct ids seen just before the m-gram (h, x), which rewards ids that follow
              many contexts over ids that are frequent only in one. A context never seen
              (c_m(h) = 0) passes p_{m-1} through unchanged. The discount is fixed by the
              formula of Ney, Essen & Kneser (1994), ``D_m = n1 / (n1 + 2 n2)`` with n1, n2
              the numbers of m-grams whose count is 1 and 2; when that is 0 or undefined
              (no m-gram seen once, as in a tiny repeating text) D_m = 0.5. No weight is
              tuned, so a validation text stays untouched.
        k: the pseudo-count of add-k (> 0; k = 1 is Laplace's rule). Only with "add-k".
        vocab_size: V, the number of ids. If None, ``fit`` takes the largest id + 1; give it
            (e.g. ``len(vocab)``) so that ids absent from the training text, but present in
            a validation text, still get probability.

    Every distribution over the V ids sums to 1, for any context, seen or not.
    """

    def __init__(self, n: int, smoothing: str = "interpolated", k: float = 1.0,
                 vocab_size: int | None = None) -> None:
        self.n = check_int("NGramModel", "n", n)
        if smoothing not in SMOOTHINGS:
            raise ValueError(f"NGramModel: unknown smoothing {smoothing!r}; the choices are "
                             f"{', '.join(repr(s) for s in SMOOTHINGS)}")
        self.smoothing = smoothing
        self.k = check_number("NGramModel", "k", k, low=0.0, low_open=True)
        if smoothing != "add-k" and k != 1.0:
            raise ValueError(f"NGramModel: k={k} applies only to smoothing='add-k', not "
                             f"{smoothing!r}")
        self.vocab_size = (None if vocab_size is None
                           else check_int("NGramModel", "vocab_size", vocab_size))
        self._vocab_size_given = self.vocab_size is not None  # else each fit infers it
        self._tables: list[_Table] = []  # one per order 1..n, filled by fit
        self.discounts: list[float] = []  # D_1..D_n, interpolated only

    # ---- input checks -----------------------------------------------------------------------
    def _ids(self, method: str, ids: Any, check_range: bool = True) -> np.ndarray:
        array = as_numpy(ids.data) if isinstance(ids, Tensor) else np.asarray(ids)
        if array.shape == (0,):  # np.asarray([]) is float64; an empty context is fine
            array = array.astype(np.int64)
        if array.ndim != 1 or array.dtype.kind not in "iu":
            raise ValueError(f"NGramModel.{method}: ids must be a 1-D integer array, got dtype "
                             f"{array.dtype} with shape {array.shape}")
        if array.size and array.min() < 0:
            raise ValueError(f"NGramModel.{method}: ids must be >= 0, got {int(array.min())}")
        if check_range and array.size and array.max() >= self.vocab_size:
            hint = ("" if self._vocab_size_given else "; fit inferred vocab_size from the "
                    "training ids: pass NGramModel(..., vocab_size=len(vocab)) to cover ids "
                    "that training never saw")
            raise ValueError(f"NGramModel.{method}: id {int(array.max())} is out of range for "
                             f"vocab_size {self.vocab_size} (ids 0 to {self.vocab_size - 1})"
                             + hint)
        return array.astype(np.int64)

    def _require_fit(self, method: str) -> None:
        if not self._tables:
            raise RuntimeError(f"NGramModel.{method}: the model is not fitted; call "
                               "fit(ids) first")

    # ---- counting ----------------------------------------------------------------------------
    def fit(self, ids: Any) -> NGramModel:
        """Count the m-grams of orders 1..n in the 1-D integer array ``ids``; returns self."""
        array = self._ids("fit", ids, check_range=False)
        if array.size == 0:
            raise ValueError("NGramModel.fit: ids is empty; there is nothing to count")
        if not self._vocab_size_given:
            self.vocab_size = int(array.max()) + 1
        elif array.max() >= self.vocab_size:
            raise ValueError(f"NGramModel.fit: id {int(array.max())} is out of range for "
                             f"vocab_size {self.vocab_size} (ids 0 to {self.vocab_size - 1})")
        v = self.vocab_size
        if v ** self.n >= _MAX_CODE:
            raise ValueError(f"NGramModel.fit: vocab_size {v} to the power n={self.n} does not "
                             "fit the int64 codes of the n-grams; use a smaller n")
        # codes[m-1]: the code of every m-gram of the text, in text order.
        codes = [array]
        for m in range(2, self.n + 1):
            codes.append(codes[-1][:-1] * v + array[m - 1:])
        tables: list[_Table] = [None] * self.n  # type: ignore[list-item]
        top_grams, top_counts = np.unique(codes[-1], return_counts=True)
        tables[-1] = _Table(top_grams, top_counts, v)
        for m in range(self.n - 1, 0, -1):
            if self.smoothing == "interpolated":
                # Continuation count of an m-gram: the distinct (m+1)-grams ending in it,
                # i.e. the distinct (m+1)-gram codes once their first digit is dropped.
                grams, counts = np.unique(tables[m].grams % v ** m, return_counts=True)
            else:
                grams, counts = np.unique(codes[m - 1], return_counts=True)
            tables[m - 1] = _Table(grams, counts, v)
        self._tables = tables
        if self.smoothing == "interpolated":
            self.discounts = [self._discount(t.counts) for t in tables]
        return self

    @staticmethod
    def _discount(counts: np.ndarray) -> float:
        """Ney, Essen & Kneser's D = n1 / (n1 + 2 n2), or 0.5 where that is 0 or undefined."""
        n1, n2 = np.sum(counts == 1), np.sum(counts == 2)
        return float(n1 / (n1 + 2 * n2)) if n1 > 0 else 0.5

    # ---- probabilities -----------------------------------------------------------------------
    def _probabilities(self, contexts: list[np.ndarray], x: np.ndarray) -> np.ndarray:
        """p(x_i | context_i) for each pair i, as float64 of x's shape.

        ``contexts[m-1]`` holds, per pair, the code of the m-1 ids before x_i (0 for m = 1),
        or -1 where there are fewer than m-1 ids before it: that pair keeps the value of the
        highest order it has.
        """
        v = self.vocab_size
        p = np.full(x.shape, 1.0 / v)
        for m, (table, context) in enumerate(zip(self._tables, contexts), start=1):
            count = table.count(context * v + x)  # a -1 context gives no match: count 0
            total, types = table.context(context)
            seen = total > 0
            if self.smoothing == "add-k":
                order_m = (count + self.k) / (total + self.k * v)
            else:
                d = self.discounts[m - 1]
                mixed = (np.maximum(count - d, 0.0) + d * types * p) / np.where(seen, total, 1.0)
                order_m = np.where(seen, mixed, p)
            p = np.where(context >= 0, order_m, p)
        return p

    def log_prob_next(self, context_ids: Any) -> np.ndarray:
        """log p(x | context) for every id x, in nats, shape ``(V,)``.

        Only the last ``n - 1`` ids of ``context_ids`` count; a shorter context (even an
        empty one) uses the model's lower orders, as at the start of a text.
        """
        self._require_fit("log_prob_next")
        context = self._ids("log_prob_next", context_ids)
        context = context[len(context) - min(len(context), self.n - 1):]
        v = self.vocab_size
        codes = []
        for m in range(1, self.n + 1):
            if m - 1 > len(context):
                code = -1  # too short a context for order m
            else:
                code = 0
                for a in context[len(context) - (m - 1):]:
                    code = code * v + int(a)
            codes.append(np.full(v, code, dtype=np.int64))
        return np.log(self._probabilities(codes, np.arange(v, dtype=np.int64)))

    def log_probs(self, ids: Any) -> np.ndarray:
        """log2 p(x_t | the up to n-1 ids before it) for every position t, shape ``(T,)``.

        Position t < n - 1 has only t ids before it and is scored with that shorter context
        (the first id with none), so every id of ``ids`` is scored.
        """
        self._require_fit("log_probs")
        array = self._ids("log_probs", ids)
        v, length = self.vocab_size, len(array)
        contexts = []
        window = np.zeros(length + 1, dtype=np.int64)  # codes of the (m-1)-id windows
        for m in range(1, self.n + 1):
            if m > 1:
                window = window[:-1] * v + array[m - 2:]
            # Positions t >= m-1 have an (m-1)-id context, the window starting at t-m+1;
            # the positions before them get -1 and keep the lower order.
            context = np.full(length, -1, dtype=np.int64)
            if m <= length:
                context[m - 1:] = window[:length - m + 1]
            contexts.append(context)
        return np.log2(self._probabilities(contexts, array))

    def bits_per_char(self, ids: Any) -> float:
        """The mean of -log2 p(x_t | previous ids) over every position of ``ids`` (bits).

        The first n-1 ids are scored with the shorter context they have (see
        :meth:`log_probs`). A uniform guess scores log2(V); lower is better.
        """
        self._require_fit("bits_per_char")
        array = self._ids("bits_per_char", ids)
        if array.size == 0:
            raise ValueError("NGramModel.bits_per_char: ids is empty; there is nothing to score")
        return float(-np.mean(self.log_probs(array)))

    def sample(self, n_chars: int, prime: Any = None,
               rng: np.random.Generator | int | None = None) -> np.ndarray:
        """Draw ``n_chars`` ids one at a time, each from p(x | the ids before it).

        ``prime`` (ids) is the text the sample continues; it is not part of the result.
        ``rng``: a seed or Generator (the same seed gives the same sample), or None for the
        library generator. Returns int64, shape ``(n_chars,)``.
        """
        self._require_fit("sample")
        n_chars = check_int("NGramModel.sample", "n_chars", n_chars)
        history = [] if prime is None else list(self._ids("sample", prime))
        generator = get_generator(rng)
        out = np.empty(n_chars, dtype=np.int64)
        for i in range(n_chars):
            context = np.array(history[max(0, len(history) - (self.n - 1)):], dtype=np.int64)
            cumulative = np.cumsum(np.exp(self.log_prob_next(context)))
            draw = generator.random() * cumulative[-1]
            out[i] = min(int(np.searchsorted(cumulative, draw, side="right")),
                         self.vocab_size - 1)
            history.append(out[i])
        return out

    def __repr__(self) -> str:
        k = f", k={self.k:g}" if self.smoothing == "add-k" else ""
        fitted = "" if self._tables else ", not fitted"
        return (f"NGramModel(n={self.n}, smoothing={self.smoothing!r}{k}, "
                f"vocab_size={self.vocab_size}{fitted})")
