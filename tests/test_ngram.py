"""NGramModel: hand-computed add-k, Kneser-Ney against a direct implementation, normalisation,
bits per character, ordering of the orders on the Sonnets, sampling, errors."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

import scratchnet as sn
from scratchnet.datasets import CharVocab, load_text, split_blocks
from scratchnet.models import NGramModel


@pytest.fixture(scope="module")
def sonnet_splits() -> tuple[CharVocab, np.ndarray, np.ndarray, np.ndarray]:
    text = load_text("sonnets")
    vocab = CharVocab(text)
    return (vocab, *(vocab.encode(part) for part in split_blocks(text)))


# ---- add-k by hand -----------------------------------------------------------------------------
def test_add_k_probabilities_by_hand():
    # "ababab" with a third id, "c" = 2, that never occurs: V = 3.
    model = NGramModel(2, smoothing="add-k", k=1.0, vocab_size=3).fit([0, 1, 0, 1, 0, 1])
    # Bigram counts: (a, b) 3 times, (b, a) twice. c(a) = 3, c(b) = 2, c(c) = 0.
    np.testing.assert_allclose(np.exp(model.log_prob_next([0])), [1 / 6, 4 / 6, 1 / 6],
                               rtol=1e-14)
    np.testing.assert_allclose(np.exp(model.log_prob_next([1])), [3 / 5, 1 / 5, 1 / 5],
                               rtol=1e-14)
    np.testing.assert_allclose(np.exp(model.log_prob_next([2])), [1 / 3] * 3, rtol=1e-14)
    # Only the last n-1 = 1 id of a longer context counts.
    np.testing.assert_array_equal(model.log_prob_next([1, 1, 0]), model.log_prob_next([0]))
    # The first id has no context: the unigram counts a 3, b 3, c 0 out of 6, plus k each.
    np.testing.assert_allclose(np.exp(model.log_prob_next([])), [4 / 9, 4 / 9, 1 / 9],
                               rtol=1e-14)
    expected = -(math.log2(4 / 9) + math.log2(4 / 6) + math.log2(3 / 5) + math.log2(1 / 6)) / 4
    assert model.bits_per_char([0, 1, 0, 0]) == pytest.approx(expected, rel=1e-14)
    assert model.bits_per_char(np.array([2], dtype=np.uint8)) == pytest.approx(math.log2(9))


def test_unigram_bits_per_char_is_the_entropy_formula():
    ids = np.random.default_rng(0).choice(5, size=2_000, p=[0.5, 0.2, 0.15, 0.1, 0.05])
    counts = np.bincount(ids, minlength=5)
    for k in (1.0, 0.3):
        model = NGramModel(1, smoothing="add-k", k=k).fit(ids)
        q = (counts + k) / (len(ids) + 5 * k)
        assert model.bits_per_char(ids) == pytest.approx(-np.sum(counts / len(ids) * np.log2(q)),
                                                         rel=1e-12)
    # As k -> 0 the score on the training text is the empirical entropy.
    p = counts / len(ids)
    tiny = NGramModel(1, smoothing="add-k", k=1e-12).fit(ids)
    assert tiny.bits_per_char(ids) == pytest.approx(-np.sum(p * np.log2(p)), rel=1e-9)


# ---- Kneser-Ney against a direct, loop-by-loop implementation --------------------------------
def kneser_ney_reference(train: list[int], v: int, n: int):
    """p(x | h) by the docstring's formulas, with tuples and dictionaries, no vectorising."""
    grams = [set(tuple(train[i:i + m]) for i in range(len(train) - m + 1))
             for m in range(1, n + 1)]
    counts: list[Counter] = [Counter() for _ in range(n)]
    counts[n - 1] = Counter(tuple(train[i:i + n]) for i in range(len(train) - n + 1))
    for m in range(1, n):  # continuation counts: distinct ids seen before the m-gram
        counts[m - 1] = Counter(g[1:] for g in grams[m])
    discounts = []
    for c in counts:
        n1 = sum(1 for value in c.values() if value == 1)
        n2 = sum(1 for value in c.values() if value == 2)
        discounts.append(n1 / (n1 + 2 * n2) if n1 else 0.5)

    def p(x: int, h: tuple[int, ...]) -> float:
        m = len(h) + 1  # the order: h holds m - 1 ids
        lower = 1.0 / v if m == 1 else p(x, h[1:])
        c = counts[m - 1]
        total = sum(c.get((*h, y), 0) for y in range(v))
        if total == 0:
            return lower
        types = sum(1 for y in range(v) if c.get((*h, y), 0) > 0)
        d = discounts[m - 1]
        return (max(c.get((*h, x), 0) - d, 0.0) + d * types * lower) / total

    return p


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_kneser_ney_matches_the_formula(n):
    rng = np.random.default_rng(n)
    train = rng.choice(6, size=400, p=[0.3, 0.25, 0.2, 0.15, 0.1, 0.0]).tolist()
    train = [t if i % 7 else 1 for i, t in enumerate(train)]  # some structure to count
    held_out = rng.integers(0, 7, size=60)  # id 6 never seen, id 5 never in train either
    model = NGramModel(n, vocab_size=7).fit(train)
    reference = kneser_ney_reference(train, 7, n)
    expected = [reference(int(x), tuple(int(a) for a in held_out[max(0, t - n + 1):t]))
                for t, x in enumerate(held_out)]
    np.testing.assert_allclose(2.0 ** model.log_probs(held_out), expected, rtol=1e-12)
    for context in ([], [0], [5, 6], [1, 2, 3, 4]):
        want = [reference(x, tuple(context[max(0, len(context) - n + 1):])) for x in range(7)]
        np.testing.assert_allclose(np.exp(model.log_prob_next(context)), want, rtol=1e-12)


# ---- properties of both smoothings --------------------------------------------------------------
@pytest.mark.parametrize("smoothing", ["interpolated", "add-k"])
@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_every_distribution_sums_to_one(sonnet_splits, smoothing, n):
    vocab, train, val, _ = sonnet_splits
    model = NGramModel(n, smoothing=smoothing, vocab_size=len(vocab)).fit(train)
    unseen = vocab.encode("zzzz")  # no "zz" in the Sonnets
    never_in_train = np.setdiff1d(np.arange(len(vocab)), train)  # "V" with this split
    assert never_in_train.size > 0
    for context in ([], train[:1], train[100:104], val[:10], unseen, unseen[:2],
                    never_in_train[:1], np.repeat(never_in_train[:1], 4)):
        total = np.exp(model.log_prob_next(context)).sum()
        assert abs(total - 1.0) < 1e-12, (context, total)


@pytest.mark.parametrize("smoothing", ["interpolated", "add-k"])
def test_bits_per_char_scores_each_position_with_its_context(smoothing):
    ids = np.random.default_rng(1).integers(0, 4, size=300)
    model = NGramModel(3, smoothing=smoothing, vocab_size=5).fit(ids)
    text = np.array([4, 0, 1, 2, 3, 0, 0, 4, 4, 1], dtype=np.int64)  # 4: never seen
    one_by_one = [-model.log_prob_next(text[:t])[x] / math.log(2) for t, x in enumerate(text)]
    assert model.bits_per_char(text) == pytest.approx(np.mean(one_by_one), rel=1e-12)
    np.testing.assert_allclose(-model.log_probs(text), one_by_one, rtol=1e-12)
    assert np.isfinite(model.bits_per_char(text))


def test_higher_orders_score_the_sonnets_better(sonnet_splits):
    vocab, train, val, _ = sonnet_splits
    bits = {(s, n): NGramModel(n, smoothing=s, vocab_size=len(vocab)).fit(train)
            .bits_per_char(val) for s in ("interpolated", "add-k") for n in (1, 2, 3, 5)}
    for s in ("interpolated", "add-k"):
        assert bits[s, 1] > bits[s, 2] > bits[s, 3]
    # Add-one spreads too much mass over unseen 5-grams; Kneser-Ney keeps improving.
    assert bits["interpolated", 5] < bits["interpolated", 3] < bits["add-k", 3]
    assert bits["add-k", 5] > bits["add-k", 3]
    assert bits["interpolated", 1] < math.log2(len(vocab))  # better than guessing


def test_a_deterministic_text_is_learned():
    model = NGramModel(3, smoothing="add-k", k=1e-9).fit([0, 1, 2] * 50)
    assert model.bits_per_char([0, 1, 2, 0, 1, 2, 0, 1, 2]) < 0.5  # the first two cost most
    assert model.sample(9, prime=[0, 1], rng=0).tolist() == [2, 0, 1] * 3
    assert model.sample(3, prime=np.array([2, 0]), rng=0).tolist() == [1, 2, 0]


# ---- sampling -----------------------------------------------------------------------------------
def test_sampling_is_reproducible_and_follows_the_model(sonnet_splits):
    vocab, train, _, _ = sonnet_splits
    model = NGramModel(4, vocab_size=len(vocab)).fit(train)
    a = model.sample(100, prime=vocab.encode("Shall I"), rng=3)
    assert a.dtype == np.int64 and a.shape == (100,)
    np.testing.assert_array_equal(a, model.sample(100, prime=vocab.encode("Shall I"),
                                                  rng=np.random.default_rng(3)))
    assert not np.array_equal(a, model.sample(100, prime=vocab.encode("Shall I"), rng=4))
    sn.manual_seed(5)
    b = model.sample(50)
    sn.manual_seed(5)
    np.testing.assert_array_equal(b, model.sample(50))
    # A unigram model's samples have its probabilities as frequencies.
    unigram = NGramModel(1, smoothing="add-k", vocab_size=3).fit([0, 0, 0, 1])
    draws = unigram.sample(10_000, rng=0)
    p = np.exp(unigram.log_prob_next([]))  # (4, 2, 1) / 7
    np.testing.assert_allclose(np.bincount(draws, minlength=3) / 10_000, p, atol=0.02)


# ---- errors -------------------------------------------------------------------------------------
def test_errors():
    with pytest.raises(ValueError, match=r"NGramModel: n must be a positive integer, got 0"):
        NGramModel(0)
    with pytest.raises(ValueError, match=r"NGramModel: unknown smoothing 'kneser'.*'add-k'"):
        NGramModel(2, smoothing="kneser")
    with pytest.raises(ValueError, match=r"NGramModel: k must be a finite number > 0, got 0"):
        NGramModel(2, smoothing="add-k", k=0)
    with pytest.raises(ValueError, match=r"k=0.5 applies only to smoothing='add-k'"):
        NGramModel(2, k=0.5)
    model = NGramModel(2)
    for method, call in (("bits_per_char", lambda: model.bits_per_char([0])),
                         ("log_prob_next", lambda: model.log_prob_next([0])),
                         ("sample", lambda: model.sample(3))):
        with pytest.raises(RuntimeError, match=f"NGramModel.{method}: the model is not fitted"):
            call()
    with pytest.raises(ValueError, match=r"NGramModel.fit: ids must be a 1-D integer array, "
                                         r"got dtype float64 with shape \(3,\)"):
        model.fit(np.array([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"NGramModel.fit: ids must be a 1-D integer array.*"
                                         r"\(2, 2\)"):
        model.fit(np.zeros((2, 2), dtype=int))
    with pytest.raises(ValueError, match=r"NGramModel.fit: ids must be >= 0, got -1"):
        model.fit([0, -1])
    with pytest.raises(ValueError, match=r"NGramModel.fit: ids is empty"):
        model.fit([])
    with pytest.raises(ValueError, match=r"NGramModel.fit: id 3 is out of range for "
                                         "vocab_size 3"):
        NGramModel(2, vocab_size=3).fit([0, 3])
    with pytest.raises(ValueError, match=r"NGramModel.fit: vocab_size 1000 to the power n=7"):
        NGramModel(7, vocab_size=1000).fit([0, 1])
    model.fit([0, 1, 2, 1])
    assert model.vocab_size == 3
    assert model.fit([0, 4]).vocab_size == 5  # an inferred size is inferred again
    model.fit([0, 1, 2, 1])
    with pytest.raises(ValueError, match=r"NGramModel.bits_per_char: id 3 is out of range for "
                                         r"vocab_size 3 \(ids 0 to 2\)"):
        model.bits_per_char([0, 3])
    with pytest.raises(ValueError, match=r"fit inferred vocab_size.*vocab_size=len\(vocab\)"):
        model.bits_per_char([3])
    with pytest.raises(ValueError, match=r"NGramModel.log_prob_next: id 5 is out of range"):
        model.log_prob_next([5])
    with pytest.raises(ValueError, match=r"NGramModel.bits_per_char: ids is empty"):
        model.bits_per_char([])
    with pytest.raises(ValueError, match=r"NGramModel.sample: n_chars must be a positive"):
        model.sample(0)
    assert repr(model) == "NGramModel(n=2, smoothing='interpolated', vocab_size=3)"
    assert repr(NGramModel(3, "add-k", k=0.5)) == ("NGramModel(n=3, smoothing='add-k', k=0.5, "
                                                   "vocab_size=None, not fitted)")
