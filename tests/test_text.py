"""The bundled text corpora, CharVocab, split_blocks and TextLoader."""

from __future__ import annotations

import gzip
import hashlib

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import nn, optim
from scratchnet.datasets import CharVocab, TextLoader, load_text, split_blocks
from scratchnet.datasets import text as text_module
from scratchnet.functional import cross_entropy
from scratchnet.train import fit


@pytest.fixture(scope="module")
def sonnets() -> str:
    return load_text("sonnets")


# ---- load_text ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name, length, md5", [
    ("sonnets", 97_044, "d001d77db5afeea56e2190d413f13335"),
    ("tinyshakespeare", 1_115_394, "6fb458f1232090904fb40fe944165e91"),
])
def test_bundled_files_hold_the_recorded_bytes(name, length, md5):
    raw = gzip.decompress((text_module.DATA_DIR / f"{name}.txt.gz").read_bytes())
    assert len(raw) == length and hashlib.md5(raw).hexdigest() == md5
    # load_text returns those bytes, decoded, with "\r\n" line endings made "\n".
    assert load_text(name) == raw.decode("utf-8").replace("\r\n", "\n")


def test_load_text_normalises_line_endings(sonnets):
    assert "\r" not in sonnets
    assert sonnets.startswith("\nFrom fairest creatures we desire increase,\n")
    assert len(sonnets) == 97_044 - 2_310  # one "\r" dropped per line of the file


def test_load_text_refuses_unknown_names():
    with pytest.raises(ValueError, match=r"load_text: unknown text 'hamlet'.*'sonnets'.*"
                                         r"'tinyshakespeare'"):
        load_text("hamlet")


def test_load_text_refuses_a_damaged_file(tmp_path, monkeypatch):
    good = gzip.decompress((text_module.DATA_DIR / "sonnets.txt.gz").read_bytes())
    (tmp_path / "sonnets.txt.gz").write_bytes(gzip.compress(good.replace(b"rose", b"r0se")))
    monkeypatch.setattr(text_module, "DATA_DIR", tmp_path)
    with pytest.raises(ValueError, match=r"load_text: .*MD5 is [0-9a-f]{32}, expected "
                                         "d001d77db5afeea56e2190d413f13335"):
        load_text("sonnets")


# ---- CharVocab ---------------------------------------------------------------------------------
def test_vocab_is_the_sorted_characters_and_round_trips():
    vocab = CharVocab("hello, world")
    assert vocab.chars == " ,dehlorw" and len(vocab) == 9
    ids = vocab.encode("hello")
    assert ids.dtype == np.int64 and ids.tolist() == [4, 3, 5, 5, 6]
    assert vocab.decode(ids) == "hello"
    assert vocab.decode([4, 3]) == "he" and vocab.decode(sn.Tensor(np.array([8]))) == "w"
    assert vocab.encode("").shape == (0,) and vocab.decode([]) == ""
    assert repr(vocab) == "CharVocab(9 characters: ' ,dehlorw')"


def test_vocab_of_the_sonnets_round_trips_the_whole_text(sonnets):
    vocab = CharVocab(sonnets)
    assert vocab.decode(vocab.encode(sonnets)) == sonnets
    assert vocab.chars == "".join(sorted(set(sonnets)))


def test_vocab_handles_characters_beyond_ascii():
    vocab = CharVocab("café ☃ 𝄞")
    assert vocab.decode(vocab.encode("☃é𝄞")) == "☃é𝄞"
    assert CharVocab.from_array(vocab.to_array()) == vocab


def test_vocab_errors():
    vocab = CharVocab("abc")
    with pytest.raises(ValueError, match=r"CharVocab.encode: character 'z' at position 2"):
        vocab.encode("abzc")
    with pytest.raises(TypeError, match=r"CharVocab.encode: expected a str, got list"):
        vocab.encode(["a"])
    with pytest.raises(ValueError, match=r"CharVocab.decode: id 3 is out of range.*0 to 2"):
        vocab.decode([0, 3])
    with pytest.raises(ValueError, match=r"CharVocab.decode: id -1 is out of range"):
        vocab.decode(np.array([-1]))
    with pytest.raises(TypeError, match=r"CharVocab.decode: ids must be integers, got dtype "
                                        "float64"):
        vocab.decode(np.array([1.0]))
    with pytest.raises(ValueError, match=r"CharVocab.decode: expected a 1-D.*\(1, 1\)"):
        vocab.decode([[1]])
    with pytest.raises(ValueError, match="CharVocab: text is empty"):
        CharVocab("")
    with pytest.raises(TypeError, match="CharVocab: text must be a str, got bytes"):
        CharVocab(b"abc")


def test_vocab_equality_and_array_form():
    a, b = CharVocab("abc"), CharVocab("cabbage")
    assert a != b and CharVocab("cba") == a and hash(CharVocab("cba")) == hash(a)
    arr = a.to_array()
    assert arr.dtype == np.int32 and arr.tolist() == [97, 98, 99]
    assert CharVocab.from_array(arr) == a
    for bad in (np.array([98, 97]), np.array([97, 97]), np.array([], dtype=np.int32),
                np.array([97.0]), np.array([0xD800])):
        with pytest.raises(ValueError, match=r"CharVocab\.from_array"):
            CharVocab.from_array(bad)


class _VocabHolder(nn.Module):
    """A model that keeps its vocabulary as a non-trainable buffer, as CharVocab documents."""

    def __init__(self, vocab: CharVocab, seed: int) -> None:
        super().__init__()
        self.out = nn.Dense(len(vocab), len(vocab), rng=seed)
        self.register_buffer("vocab", vocab.to_array())


def test_vocab_travels_in_the_checkpoint(tmp_path):
    saved = _VocabHolder(CharVocab("the quick brown fox"), seed=0)
    path = sn.save(saved, tmp_path / "model.npz")
    # A model built with another vocabulary of the same size gets the saved one back.
    other = CharVocab("THE QUICK BROWN FOX")
    assert len(other) == len(CharVocab("the quick brown fox")) and other != CharVocab(
        "the quick brown fox")
    loaded = _VocabHolder(other, seed=1)
    sn.load(loaded, path)
    assert CharVocab.from_array(loaded.vocab) == CharVocab("the quick brown fox")
    np.testing.assert_array_equal(loaded.out.weight.data, saved.out.weight.data)
    # A vocabulary of another size is a shape mismatch, reported by sn.load.
    with pytest.raises(sn.checkpoint.CheckpointError, match="shape of vocab"):
        sn.load(_VocabHolder(CharVocab("abc"), seed=0), path)


# ---- split_blocks ------------------------------------------------------------------------------
def test_split_keeps_whole_sonnets(sonnets):
    blocks = [b.strip("\n") for b in text_module._BLANK_LINES.split(sonnets) if b.strip()]
    assert len(blocks) == 154
    assert all(len(b.splitlines()) in (12, 14, 15) for b in blocks)  # 99 and 126 are odd ones
    train, val, test = split_blocks(sonnets)
    parts = [p.split("\n\n") for p in (train, val, test)]
    assert [len(p) for p in parts] == [123, 15, 16]
    # Every sonnet lands in exactly one part, none cut.
    assert sorted(b for part in parts for b in part) == sorted(blocks)
    # Within a part the sonnets keep their order in the book.
    for part in parts:
        positions = [blocks.index(b) for b in part]
        assert positions == sorted(positions)


def test_split_is_seeded(sonnets):
    assert split_blocks(sonnets, seed=3) == split_blocks(sonnets, seed=3)
    assert split_blocks(sonnets, seed=3) != split_blocks(sonnets, seed=4)


def test_split_blocks_on_a_small_text():
    text = "a\nb\n\nc\n  \n\nd\ne\n\n\nf\n"
    train, val, test = split_blocks(text, fractions=(0.5, 0.25, 0.25))
    assert sorted([*train.split("\n\n"), val, test]) == ["a\nb", "c", "d\ne", "f"]


def test_split_errors(sonnets):
    for fractions in ((0.8, 0.2), (0.8, 0.3, -0.1), (0.5, 0.5, 0.5), (0.9, 0.1, 0.0)):
        with pytest.raises(ValueError, match="split_blocks: "):
            split_blocks(sonnets, fractions=fractions)
    with pytest.raises(ValueError, match="split_blocks: the text has 2 blocks"):
        split_blocks("a\n\nb")


# ---- TextLoader --------------------------------------------------------------------------------
def test_loader_layout_matches_the_docstring_diagram():
    ids = np.arange(25)  # "a" .. "y" of the diagram
    loader = TextLoader(ids, batch_size=2, seq_len=6)
    batches = list(loader)
    assert len(loader) == len(batches) == 2
    (x0, y0), (x1, y1) = batches
    assert x0.dtype == y0.dtype == np.int64 and x0.shape == (2, 6)
    np.testing.assert_array_equal(x0, [[0, 1, 2, 3, 4, 5], [12, 13, 14, 15, 16, 17]])
    np.testing.assert_array_equal(x1, [[6, 7, 8, 9, 10, 11], [18, 19, 20, 21, 22, 23]])
    np.testing.assert_array_equal(y0, x0 + 1)
    np.testing.assert_array_equal(y1, x1 + 1)


def test_loader_rows_continue_across_batches():
    ids = np.random.default_rng(0).integers(0, 50, size=1_003)
    loader = TextLoader(ids, batch_size=4, seq_len=7)
    xs, ys = zip(*loader)
    rows_x, rows_y = np.concatenate(xs, axis=1), np.concatenate(ys, axis=1)
    stream = (len(ids) - 1) // 4
    assert len(loader) == stream // 7
    for r in range(4):  # each row is one contiguous slice of the text, targets one ahead
        start = r * stream
        np.testing.assert_array_equal(rows_x[r], ids[start:start + rows_x.shape[1]])
        np.testing.assert_array_equal(rows_y[r], ids[start + 1:start + 1 + rows_x.shape[1]])


def test_loader_random_offset_moves_the_boundaries_reproducibly():
    ids = np.arange(200)
    loader = TextLoader(ids, batch_size=2, seq_len=10, random_offset=True, rng=0)
    firsts = [next(iter(loader))[0][0, 0] for _ in range(20)]
    assert len(set(firsts)) > 1 and all(0 <= f < 10 for f in firsts)
    again = TextLoader(ids, batch_size=2, seq_len=10, random_offset=True, rng=0)
    assert [next(iter(again))[0][0, 0] for _ in range(20)] == firsts
    for _ in range(5):  # the number of batches does not depend on the offset
        batches = list(loader)
        assert len(batches) == len(loader)
        for x, y in batches:
            np.testing.assert_array_equal(y, x + 1)


def test_loader_errors():
    with pytest.raises(ValueError, match="TextLoader: 20 ids are too few for batch_size 4 "
                                         "and seq_len 5: one batch needs at least 21 ids"):
        TextLoader(np.arange(20), batch_size=4, seq_len=5)
    assert len(TextLoader(np.arange(21), batch_size=4, seq_len=5)) == 1
    with pytest.raises(ValueError, match="with random_offset: one batch needs at least 25"):
        TextLoader(np.arange(21), batch_size=4, seq_len=5, random_offset=True)
    with pytest.raises(ValueError, match="TextLoader: ids must be a 1-D integer array"):
        TextLoader(np.zeros(100), batch_size=2, seq_len=3)
    with pytest.raises(ValueError, match="TextLoader: batch_size must be a positive integer"):
        TextLoader(np.arange(100), batch_size=0, seq_len=3)
    with pytest.raises(TypeError, match="TextLoader: random_offset must be True or False"):
        TextLoader(np.arange(100), batch_size=2, seq_len=3, random_offset="yes")


def test_loader_feeds_fit():
    """A bigram softmax model trained through fit on the loader learns a deterministic text."""
    vocab = CharVocab("abcd")
    ids = vocab.encode("abcd" * 100)
    loader = TextLoader(ids, batch_size=4, seq_len=8)
    model = nn.Dense(4, 4, rng=0)
    one_hot = np.eye(4, dtype=np.float32)

    def loss_fn(m, x, y):
        return cross_entropy(m(sn.Tensor(one_hot[x.reshape(-1)])), y.reshape(-1))

    history = fit(model, loss_fn, optim.Adam(model.parameters(), lr=0.1), loader, epochs=10,
                  progress=False)
    assert history["loss"][-1] < 0.1 * history["loss"][0]
