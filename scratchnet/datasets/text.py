"""Text for character-level language models: the bundled corpora, a vocabulary, splits, batches.

Two public-domain Shakespeare corpora ship with the package, gzip-compressed (provenance in
``data/README.md``)::

    text = load_text("sonnets")              # all 154 sonnets, one string
    vocab = CharVocab(text)                  # the characters, sorted; id = rank
    train, val, test = split_blocks(text)   # whole sonnets, seeded
    loader = TextLoader(vocab.encode(train), batch_size=32, seq_len=64)
    for x, y in loader:                      # int64 (32, 64) each; y is x one step ahead
        ...
"""

from __future__ import annotations

import gzip
import hashlib
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from scratchnet.autograd import Tensor
from scratchnet.backend import as_numpy
from scratchnet.checks import check_int, check_number
from scratchnet.random import get_generator, own_generator

__all__ = ["CharVocab", "TextLoader", "load_text", "split_blocks"]

DATA_DIR = Path(__file__).resolve().parent / "data"

# name -> (file beside this module, md5 of the decompressed bytes, as data/README.md lists).
TEXTS: dict[str, tuple[str, str]] = {
    "sonnets": ("sonnets.txt.gz", "d001d77db5afeea56e2190d413f13335"),
    "tinyshakespeare": ("tinyshakespeare.txt.gz", "6fb458f1232090904fb40fe944165e91"),
}

# A blank line: a line break, then one or more lines holding nothing but spaces or tabs.
_BLANK_LINES = re.compile(r"\n(?:[ \t]*\n)+")
_BLOCK_SEPARATOR = "\n\n"


def load_text(name: str) -> str:
    """The bundled corpus ``name`` ("sonnets" or "tinyshakespeare") as one string.

    The file is decompressed and its bytes are checked against the MD5 recorded in
    ``data/README.md`` before anything else happens, so a damaged or edited copy fails
    loudly instead of silently training on different text. The bytes are UTF-8; line endings
    are then made ``"\\n"``, as Python's ``open()`` in text mode does: the Sonnets file uses
    Windows ``"\\r\\n"`` endings, and a character model would otherwise spend part of its
    capacity (and its bits-per-character score) on a ``"\\r"`` that always precedes ``"\\n"``.
    Everything else is returned exactly as stored.
    """
    if not isinstance(name, str) or name not in TEXTS:
        raise ValueError(f"load_text: unknown text {name!r}; the choices are "
                         f"{', '.join(repr(n) for n in TEXTS)}")
    filename, expected = TEXTS[name]
    path = DATA_DIR / filename
    raw = gzip.decompress(path.read_bytes())
    found = hashlib.md5(raw).hexdigest()
    if found != expected:
        raise ValueError(f"load_text: {path} does not hold the expected {name!r} text: its "
                         f"decompressed MD5 is {found}, expected {expected}; reinstall "
                         "scratchnet to restore the file")
    return raw.decode("utf-8").replace("\r\n", "\n")


def _code_points(text: str) -> np.ndarray:
    """The Unicode code point of every character of ``text``, as a uint32 array (no loop)."""
    return np.frombuffer(text.encode("utf-32-le"), dtype="<u4")


class CharVocab:
    """The characters of a text, sorted by code point; a character's id is its rank.

    ``encode`` maps a string to an int64 array of ids, ``decode`` maps ids back. To keep a
    vocabulary with a model's weights, store :meth:`to_array` (int32 code points) as a buffer
    of the module; ``sn.save`` writes it into the same ``.npz`` and ``sn.load`` fills it
    back in, so rebuild the vocabulary with :meth:`from_array` after loading::

        class Model(nn.Module):
            def __init__(self, vocab: CharVocab) -> None:
                super().__init__()
                self.register_buffer("vocab", vocab.to_array())
        sn.load(model, "model.npz")
        vocab = CharVocab.from_array(model.vocab)

    (``load`` copies into the existing buffer, so the model must be built with a vocabulary
    of the same size; a different size is reported as a shape mismatch.)
    """

    def __init__(self, text: str) -> None:
        if not isinstance(text, str):
            raise TypeError(f"CharVocab: text must be a str, got {type(text).__name__}")
        if not text:
            raise ValueError("CharVocab: text is empty; a vocabulary needs at least one "
                             "character")
        self._codes = np.unique(_code_points(text))  # sorted, so id = rank
        self.chars = self._codes.tobytes().decode("utf-32-le")

    def __len__(self) -> int:
        return len(self._codes)

    def encode(self, text: str) -> np.ndarray:
        """``text`` as an int64 array of ids, shape ``(len(text),)``."""
        if not isinstance(text, str):
            raise TypeError(f"CharVocab.encode: expected a str, got {type(text).__name__}")
        points = _code_points(text)
        ids = np.searchsorted(self._codes, points)
        known = self._codes[np.minimum(ids, len(self._codes) - 1)] == points
        if not known.all():
            position = int(np.argmin(known))
            raise ValueError(f"CharVocab.encode: character {text[position]!r} at position "
                             f"{position} is not in the vocabulary of {len(self)} characters")
        return ids.astype(np.int64)

    def decode(self, ids: Any) -> str:
        """The string whose ids are ``ids``: a list, a 1-D integer ndarray, or a Tensor."""
        array = as_numpy(ids.data) if isinstance(ids, Tensor) else np.asarray(ids)
        if array.ndim != 1:
            raise ValueError(f"CharVocab.decode: expected a 1-D sequence of ids, got shape "
                             f"{array.shape}")
        if array.size == 0:
            return ""
        if array.dtype.kind not in "iu":
            raise TypeError(f"CharVocab.decode: ids must be integers, got dtype {array.dtype}")
        if array.min() < 0 or array.max() >= len(self):
            bad = array[(array < 0) | (array >= len(self))][0]
            raise ValueError(f"CharVocab.decode: id {int(bad)} is out of range; this "
                             f"vocabulary has ids 0 to {len(self) - 1}")
        return self._codes[array].tobytes().decode("utf-32-le")

    def to_array(self) -> np.ndarray:
        """The code points in id order, int32, shape ``(len(self),)``: fits an ``.npz``."""
        return self._codes.astype(np.int32)

    @classmethod
    def from_array(cls, array: Any) -> CharVocab:
        """The vocabulary whose :meth:`to_array` is ``array`` (strictly increasing code points)."""
        points = np.asarray(array)
        if points.ndim != 1 or points.size == 0 or points.dtype.kind not in "iu":
            raise ValueError(f"CharVocab.from_array: expected a non-empty 1-D integer array of "
                             f"code points, got dtype {points.dtype} with shape {points.shape}")
        if points.min() < 0 or points.max() > 0x10FFFF or np.any(np.diff(points) <= 0):
            raise ValueError("CharVocab.from_array: the code points must be strictly increasing "
                             "and within 0 to 0x10FFFF, as CharVocab.to_array writes them")
        try:
            text = "".join(chr(int(p)) for p in points)
            return cls(text.encode("utf-32-le").decode("utf-32-le"))
        except UnicodeError as exc:  # a lone surrogate (0xD800-0xDFFF) is no character
            raise ValueError(f"CharVocab.from_array: not valid characters ({exc})") from exc

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CharVocab):
            return NotImplemented
        return self.chars == other.chars

    def __hash__(self) -> int:
        return hash(self.chars)

    def __repr__(self) -> str:
        shown = self.chars if len(self) <= 40 else self.chars[:40] + "..."
        return f"CharVocab({len(self)} characters: {shown!r})"


def split_blocks(text: str, fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
                  seed: int = 0) -> tuple[str, str, str]:
    """Split ``text`` into (train, validation, test) strings made of whole blocks.

    A block is a run of lines between blank lines (lines empty or holding only spaces and
    tabs); in the Sonnets a block is one sonnet, in tiny-shakespeare one speech. Keeping
    blocks whole means no sonnet is half in training and half in the test.

    The blocks are put in the order of ``np.random.default_rng(seed).permutation(B)``; the
    first ``round(f_train * B)`` of them go to train, the next ``round(f_val * B)`` to
    validation, the rest to test. Within a part the blocks keep their order in the text and
    are joined with one blank line (``"\\n\\n"``). Leading and trailing line breaks of the
    text are dropped; every block's own characters are kept.

    Args:
        text: the corpus; it must hold at least three blocks.
        fractions: three positive numbers summing to 1 (to within 1e-9).
        seed: the permutation's seed.
    """
    if not isinstance(text, str):
        raise TypeError(f"split_blocks: text must be a str, got {type(text).__name__}")
    if not isinstance(fractions, (tuple, list)) or len(fractions) != 3:
        raise ValueError(f"split_blocks: fractions must be three numbers (train, val, test), "
                         f"got {fractions!r}")
    fracs = [check_number("split_blocks", "each fraction", f, low=0.0, low_open=True)
             for f in fractions]
    if not math.isclose(sum(fracs), 1.0, abs_tol=1e-9):
        raise ValueError(f"split_blocks: fractions must sum to 1, got {fractions!r} "
                         f"(sum {sum(fracs)})")
    seed = check_int("split_blocks", "seed", seed, minimum=0)
    blocks = [b.strip("\n") for b in _BLANK_LINES.split(text) if b.strip()]
    n_blocks = len(blocks)
    n_train, n_val = round(fracs[0] * n_blocks), round(fracs[1] * n_blocks)
    if min(n_train, n_val, n_blocks - n_train - n_val) < 1:
        raise ValueError(f"split_blocks: the text has {n_blocks} blocks (separated by blank "
                         f"lines); fractions {fractions!r} leave a part with none")
    order = np.random.default_rng(seed).permutation(n_blocks)
    parts = (order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:])
    return tuple(_BLOCK_SEPARATOR.join(blocks[i] for i in np.sort(part))  # type: ignore[return-value]
                 for part in parts)


class TextLoader:
    """Batches for truncated backpropagation through time over one long id sequence.

    The ids (minus the last, which is only ever a target) are cut into ``batch_size``
    contiguous streams, one per row, of ``S`` ids each; the ragged tail is dropped. Batch
    ``k`` is columns ``k*T`` to ``(k+1)*T`` of every row, and ``y`` is ``x`` one step ahead::

        ids:      a b c d e f g h i j k l m n o p q r s t u v w x y
        streams (batch_size N = 2, S = 12):
          row 0:  a b c d e f | g h i j k l        batch 0 = (columns 0-5),
          row 1:  m n o p q r | s t u v w x        batch 1 = (columns 6-11)
        seq_len T = 6: x of batch 0 = [[a..f], [m..r]], y = [[b..g], [n..s]]

    Row ``r`` of batch ``k + 1`` continues row ``r`` of batch ``k``, so a recurrent model may
    carry its final state from one batch into the next (``.detach()``-ed, so gradients stop
    at the batch boundary) and in effect read each stream from start to end. Reset the
    state at the start of each epoch.

    Args:
        ids: 1-D integer array of token ids (e.g. ``CharVocab.encode(text)``).
        batch_size: N, the number of parallel streams (rows).
        seq_len: T, the time steps per batch.
        random_offset: if True, every epoch first skips a random number ``0..T-1`` of
            leading ids, so the batch boundaries fall at different characters each epoch;
            the streams stay contiguous (shuffling the batches would break the carried
            state). ``S`` is then computed for the longest skip, so ``len()`` never changes.
        rng: the offsets' source: a seed or Generator (drawn from for every epoch), or
            None for the library generator (``sn.manual_seed``).

    Yields ``(x, y)``, both int64 of shape ``(N, T)``. ``len(loader)`` is ``S // T``, the
    batches per epoch. Usable as the ``loader`` of ``sn.train.fit``.
    """

    def __init__(self, ids: Any, batch_size: int, seq_len: int, random_offset: bool = False,
                 rng: np.random.Generator | int | None = None) -> None:
        array = np.asarray(ids)
        if array.ndim != 1 or array.dtype.kind not in "iu":
            raise ValueError(f"TextLoader: ids must be a 1-D integer array, got dtype "
                             f"{array.dtype} with shape {array.shape}")
        self.batch_size = check_int("TextLoader", "batch_size", batch_size)
        self.seq_len = check_int("TextLoader", "seq_len", seq_len)
        if not isinstance(random_offset, (bool, np.bool_)):
            raise TypeError(f"TextLoader: random_offset must be True or False, got "
                            f"{random_offset!r}")
        self.random_offset = bool(random_offset)
        self.ids = array.astype(np.int64)
        skip = self.seq_len - 1 if self.random_offset else 0
        self.stream_length = (len(array) - 1 - skip) // self.batch_size
        if self.stream_length < self.seq_len:
            needed = self.batch_size * self.seq_len + 1 + skip
            raise ValueError(f"TextLoader: {len(array)} ids are too few for batch_size "
                             f"{self.batch_size} and seq_len {self.seq_len}"
                             f"{' with random_offset' if self.random_offset else ''}: one "
                             f"batch needs at least {needed} ids")
        self._rng = own_generator(rng)

    def __len__(self) -> int:
        return self.stream_length // self.seq_len

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        # The offset is drawn when the epoch starts, as DataLoader draws its order.
        offset = (int(get_generator(self._rng).integers(self.seq_len))
                  if self.random_offset else 0)
        return self._batches(offset)

    def _batches(self, offset: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        n, s, t = self.batch_size, self.stream_length, self.seq_len
        x_streams = self.ids[offset:offset + n * s].reshape(n, s)
        y_streams = self.ids[offset + 1:offset + 1 + n * s].reshape(n, s)
        for k in range(len(self)):
            # Copies, so a caller changing a batch in place leaves the text alone.
            yield x_streams[:, k * t:(k + 1) * t].copy(), y_streams[:, k * t:(k + 1) * t].copy()

    def __repr__(self) -> str:
        return (f"TextLoader({len(self.ids)} ids, batch_size={self.batch_size}, "
                f"seq_len={self.seq_len}, random_offset={self.random_offset}, "
                f"batches={len(self)})")
