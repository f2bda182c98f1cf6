"""CharRNN: it learns text through fit with truncated BPTT, scores, samples and saves."""

from __future__ import annotations

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import datasets, models, optim

TEXT = "the cat sat on the mat. " * 40


def _trained(cell: str = "lstm", epochs: int = 30):
    vocab = datasets.CharVocab(TEXT)
    ids = vocab.encode(TEXT)
    model = models.CharRNN(len(vocab), 32, cell=cell, vocab=vocab, rng=0)
    history = sn.train.fit(model, lambda m, x, y: m.loss(x, y),
                           optim.Adam(model.parameters(), lr=1e-2),
                           datasets.TextLoader(ids, batch_size=4, seq_len=16), epochs=epochs,
                           progress=False, clip_grad_norm=5.0)
    return model, vocab, ids, history


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_it_learns_a_repetitive_text_far_below_the_unigram_baseline(cell):
    model, _, ids, history = _trained(cell)
    unigram = models.NGramModel(1).fit(ids).bits_per_char(ids)
    assert history["loss"][-1] < 0.1 * history["loss"][0]
    assert model.bits_per_char(ids) < 0.1 * unigram
    assert model.sample(48, temperature=0.5, prime="the ", rng=0).startswith("cat sat on")


def test_log_probs_score_every_character_like_the_ngram_does():
    model = models.CharRNN(5, 8, rng=0)
    ids = np.array([1, 4, 2, 2, 0, 3])
    scores = model.log_probs(ids, chunk=4)  # two chunks, the state carried between them
    assert scores.shape == (6,) and np.all(scores < 0)
    probabilities = model.next_char_probabilities(np.concatenate([[0], ids[:-1]]))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(scores, np.log2(probabilities[np.arange(6), ids]), rtol=1e-4,
                               atol=1e-5)
    assert model.bits_per_char(ids) == pytest.approx(-scores.mean())


def test_training_carries_a_detached_state_and_a_mode_switch_drops_it():
    model = models.CharRNN(6, 8, cell="gru", rng=0)
    x = np.random.default_rng(0).integers(0, 6, size=(3, 5))
    y = np.roll(x, -1, axis=1)
    first = model.loss(x, y).item()
    assert model._carried is not None and not model._carried.requires_grad
    carried = model.loss(x, y).item()  # the same batch, from the carried state
    assert carried != pytest.approx(first)
    model.train()
    assert model._carried is None
    assert model.loss(x, y).item() == pytest.approx(first)
    model.loss(x[:2], y[:2])  # another batch size starts from zeros
    model.eval()
    assert model.loss(x, y).item() == pytest.approx(first) and model._carried is None


def test_sampling_is_seeded_and_temperature_sharpens():
    model = _trained(epochs=3)[0]
    a = model.sample(200, rng=1)
    assert isinstance(a, str) and len(a) == 200
    assert a == model.sample(200, rng=1) and a != model.sample(200, rng=2)
    cold, hot = model.sample(200, temperature=0.2, rng=3), model.sample(200, temperature=3.0,
                                                                      rng=3)
    words = set(TEXT.split())

    def known(text):  # the share of the sample's words that the training text has
        return np.mean([w in words for w in text.split()])

    assert known(cold) > 0.9 and known(hot) < known(cold) - 0.3
    plain = models.CharRNN(7, 4, rng=0)
    assert plain.sample(5, prime=[1, 2], rng=0).dtype == np.int64


def test_the_vocabulary_travels_with_the_weights(tmp_path):
    model, vocab, ids, _ = _trained(epochs=2)
    sn.save(model, tmp_path / "char.npz")
    fresh = models.CharRNN(len(vocab), 32, vocab=datasets.CharVocab("abcdefghijk"), rng=5)
    sn.load(fresh, tmp_path / "char.npz")
    assert fresh.vocabulary == vocab
    assert fresh.bits_per_char(ids) == pytest.approx(model.bits_per_char(ids), rel=1e-6)


@pytest.mark.parametrize("call, error, message", [
    (lambda m: models.CharRNN(5, 4, cell="lstmx"), ValueError,
     r"CharRNN: cell must be one of \['gru', 'lstm', 'rnn'\], got 'lstmx'"),
    (lambda m: models.CharRNN(5, 4, vocab=datasets.CharVocab("abc")), ValueError,
     r"CharRNN: vocab must be a CharVocab of vocab_size = 5 characters, got a CharVocab of 3"),
    (lambda m: m(np.zeros(4, dtype=np.int64)), ValueError,
     r"CharRNN: expected ids of shape \(N, T\), got shape \(4,\)"),
    (lambda m: m.loss(np.zeros((2, 3), np.int64), np.zeros((2, 4), np.int64)), ValueError,
     r"CharRNN.loss: x and y must have the same shape"),
    (lambda m: m.bits_per_char(np.array([0, 5])), ValueError,
     r"CharRNN.log_probs: ids must lie in 0..4, got values from 0 to 5"),
    (lambda m: m.bits_per_char(np.array([0.5])), ValueError,
     r"CharRNN.log_probs: expected a 1-D array of integer ids"),
    (lambda m: m.sample(3, temperature=0), ValueError,
     r"CharRNN.sample: temperature must be"),
    (lambda m: m.sample(3, prime="ab"), ValueError,
     r"CharRNN.sample: a text prime needs the model's vocabulary"),
])
def test_bad_input_is_named(call, error, message):
    with pytest.raises(error, match=message):
        call(models.CharRNN(5, 4, rng=0))


def test_dropout_acts_in_training_only_and_is_seeded():
    x = np.random.default_rng(0).integers(0, 6, size=(2, 5))
    model = models.CharRNN(6, 8, dropout=0.5, rng=0)
    a, _ = model(x)
    b, _ = model(x)
    assert not np.allclose(a.numpy(), b.numpy())
    model.eval()
    c, _ = model(x)
    d, _ = model(x)
    np.testing.assert_array_equal(c.numpy(), d.numpy())
    assert "dropout=0.5" in repr(model)
    with pytest.raises(ValueError, match="Dropout: p must be"):
        models.CharRNN(6, 8, dropout=1.0)
