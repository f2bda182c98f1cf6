"""The restricted Boltzmann machine and the deep belief network (scratchnet.models.rbm).

Likelihoods are checked against brute-force sums over every state of tiny models, the CD
gradient against autodiff of the free energy, AIS against the exact partition function, and
the training loop's bookkeeping (PCD chains, the parameter update) by watching it work.
"""

import itertools
import math

import numpy as np
import pytest

import scratchnet as sn
from scratchnet.datasets import load_mnist, make_bars_and_stripes
from scratchnet.models import DBN, RBM


# --------------------------------------------------------------------------------------
# Independent reference computations (float64, no library code)
# --------------------------------------------------------------------------------------
def all_states(n):
    """Every binary vector of length n, (2**n, n)."""
    return np.array(list(itertools.product((0.0, 1.0), repeat=n)))


def softplus64(x):
    return np.logaddexp(0.0, np.asarray(x, dtype=np.float64))


def logsumexp64(x, axis=None):
    x = np.asarray(x, dtype=np.float64)
    top = np.max(x, axis=axis, keepdims=True)
    out = top + np.log(np.exp(x - top).sum(axis=axis, keepdims=True))
    return out.squeeze() if axis is None else out.squeeze(axis)


def params64(rbm):
    return (np.asarray(rbm.W.data, dtype=np.float64), np.asarray(rbm.b.data, dtype=np.float64),
            np.asarray(rbm.a.data, dtype=np.float64))


def joint_log_weights(rbm):
    """−E(v, h) for every joint state: (2**n_visible, 2**n_hidden), rows v, columns h."""
    W, b, a = params64(rbm)
    V, H = all_states(rbm.n_visible), all_states(rbm.n_hidden)
    return (V @ a)[:, None] + (H @ b)[None, :] + V @ W.T @ H.T


def brute_log_p(rbm, X):
    """log p(x) for each row of binary X, by summing over every (v, h)."""
    log_weights = joint_log_weights(rbm)
    log_z = logsumexp64(log_weights)
    log_marginal = logsumexp64(log_weights, axis=1) - log_z   # log p(v) for every v
    codes = (np.asarray(X) @ (2.0 ** np.arange(rbm.n_visible)[::-1])).astype(int)
    return log_marginal[codes]


def randomize(rbm, rng, scale=1.0):
    """Give every parameter N(0, scale²) values, in the model's dtype."""
    for p in (rbm.W, rbm.b, rbm.a):
        p.data[...] = rng.normal(0.0, scale, p.data.shape)


@pytest.fixture
def float64():
    sn.set_default_dtype(np.float64)  # conftest restores the default afterwards


# --------------------------------------------------------------------------------------
# Exact likelihoods
# --------------------------------------------------------------------------------------
def test_cd1_raises_the_exact_log_likelihood_of_bars_and_stripes():
    X = make_bars_and_stripes(3)                  # 14 patterns of 9 pixels
    rbm = RBM(9, 8, k=1, lr=0.1, momentum=0.5, batch_size=14, rng=0)
    before = rbm.log_likelihood(X)
    error_before = rbm.reconstruction_error(X)
    # Small random weights, zero biases: nearly uniform over the 512 images.
    assert before == pytest.approx(-9 * math.log(2), abs=0.05)
    rbm.fit(np.repeat(X, 10, axis=0), epochs=200, progress=False)
    after = rbm.log_likelihood(X)
    # Measured: −6.24 → −3.46, −3.41, −3.33, −3.23 for seeds 0-3. The optimum, uniform over
    # the 14 patterns, is −log 14 = −2.64: no model can exceed it.
    assert after > -4.5, (before, after)
    assert after <= -math.log(14) + 1e-9
    # The exact likelihood agrees with a brute-force sum over every joint state.
    assert after == pytest.approx(brute_log_p(rbm, X).mean(), abs=1e-4)
    # The per-epoch history: measured 0.25 → under 0.001, and PLL −6.2 → −0.4 (seeds 0-3).
    history = rbm.history
    assert set(history) == {"reconstruction_error", "pseudo_log_likelihood"}
    assert len(history["reconstruction_error"]) == len(history["pseudo_log_likelihood"]) == 200
    assert history["reconstruction_error"][-1] == pytest.approx(rbm.reconstruction_error(X))
    assert error_before > 0.2 and history["reconstruction_error"][-1] < 0.05
    assert history["pseudo_log_likelihood"][-1] > history["pseudo_log_likelihood"][0] + 3


@pytest.mark.parametrize(("n_visible", "n_hidden"), [(4, 3), (3, 5)])
def test_exact_log_partition_equals_the_brute_force_sum(float64, n_visible, n_hidden):
    # (3, 5) has more hidden than visible units: the library sums over the visible layer.
    rbm = RBM(n_visible, n_hidden, rng=0)
    randomize(rbm, np.random.default_rng(n_visible * 10 + n_hidden), scale=1.5)
    expected = float(logsumexp64(joint_log_weights(rbm)))
    assert rbm.log_partition() == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert rbm.log_partition(method="exact", chunk=3) == pytest.approx(expected, rel=1e-12)
    X = all_states(n_visible)
    for row, log_p in zip(X, brute_log_p(rbm, X)):
        assert rbm.log_likelihood(row[None]) == pytest.approx(log_p, abs=1e-10)
    # The probabilities of all 2^n_visible images sum to one.
    total = sum(math.exp(rbm.log_likelihood(row[None])) for row in X)
    assert total == pytest.approx(1.0, abs=1e-10)


@pytest.mark.parametrize(("n_visible", "n_hidden"), [(30, 26), (26, 40)])
def test_exact_log_partition_refuses_more_than_25_units(n_visible, n_hidden):
    rbm = RBM(n_visible, n_hidden, rng=0)
    with pytest.raises(ValueError, match=r"2\^26 terms.*at most 25 units.*method='ais'"):
        rbm.log_partition()
    with pytest.raises(ValueError, match="at most 25 units"):
        rbm.log_likelihood(np.zeros((1, n_visible)))


def test_ais_is_within_half_a_nat_of_the_exact_log_partition_for_an_mnist_rbm():
    images, _ = load_mnist("train", binarize=True, source="bundled")
    X = images[:300].reshape(300, 784)
    rbm = RBM(784, 15, k=1, lr=0.05, batch_size=20, epochs=10, rng=0)
    rbm.fit(X, progress=False)
    assert np.abs(rbm.W.data).max() > 0.3  # trained: far from the N(0, 0.01²) start
    exact = rbm.log_partition()            # a sum over the 2^15 hidden states
    rbm.rng = np.random.default_rng(1)
    estimate, (low, high) = rbm.log_partition("ais", X=X, n_runs=50, betas="fast")
    # Measured on seeds 0-2: within 0.03 nats.
    assert abs(estimate - exact) < 0.5, (estimate, exact)
    assert math.isfinite(low) and low <= estimate <= high
    assert high - low < 5.0
    # The AIS log-likelihood is the exact one shifted by the log Z error.
    assert rbm.log_likelihood(X, log_z=estimate) == pytest.approx(
        rbm.log_likelihood(X) - (estimate - exact), abs=1e-3)


def test_ais_and_log_partition_argument_errors():
    rbm = RBM(6, 3, rng=0)
    X = np.ones((4, 6))
    with pytest.raises(ValueError, match="needs the training data X"):
        rbm.log_partition("ais")
    with pytest.raises(ValueError, match="method must be 'exact' or 'ais'"):
        rbm.log_partition("sum")
    with pytest.raises(ValueError, match="betas must increase from 0 to 1"):
        rbm.log_partition("ais", X=X, betas=[0.0, 0.6, 0.4, 1.0])
    with pytest.raises(ValueError, match="betas must increase from 0 to 1"):
        rbm.log_partition("ais", X=X, betas=[0.1, 1.0])
    with pytest.raises(ValueError, match="kind must be 'default' or 'fast'"):
        rbm.log_partition("ais", X=X, betas="slow")


def test_ais_schedules():
    from scratchnet.models import ais_schedule

    for kind, intermediate in (("default", 14_500), ("fast", 1_450)):
        betas = ais_schedule(kind)
        assert betas[0] == 0 and betas[-1] == 1 and (np.diff(betas) > 0).all()
        assert len(betas) == intermediate + 1


# --------------------------------------------------------------------------------------
# Gradients and free energy
# --------------------------------------------------------------------------------------
def test_cd_gradient_is_minus_the_autodiff_gradient_of_the_free_energy_gap(float64):
    rng = np.random.default_rng(3)
    rbm = RBM(7, 5, rng=0)
    randomize(rbm, rng, scale=0.8)
    v_data = (rng.random((9, 7)) < 0.5).astype(np.float64)
    v_model = (rng.random((4, 7)) < 0.5).astype(np.float64)  # not the same count
    gap = rbm.free_energy(v_data).mean() - rbm.free_energy(v_model).mean()
    gap.backward()
    grads = rbm.cd_gradient(v_data, v_model)
    for parameter, cd in zip((rbm.W, rbm.b, rbm.a), grads):
        assert cd.shape == parameter.data.shape
        np.testing.assert_allclose(cd, -parameter.grad.data, rtol=1e-10, atol=1e-12)


def test_free_energy_matches_the_formula(float64):
    rng = np.random.default_rng(4)
    rbm = RBM(6, 4, rng=0)
    randomize(rbm, rng)
    v = (rng.random((5, 6)) < 0.5).astype(np.float64)
    W, b, a = params64(rbm)
    # F(v) = −log Σ_h exp(−E(v, h)), summed over the 16 hidden states.
    H = all_states(4)
    expected = -logsumexp64((v @ a)[:, None] + (H @ b)[None, :] + v @ W.T @ H.T, axis=1)
    F = rbm.free_energy(v)
    assert isinstance(F, sn.Tensor) and F.shape == (5,)
    np.testing.assert_allclose(F.data, expected, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_free_energy_is_stable_for_huge_weights(dtype):
    sn.set_default_dtype(dtype)
    rng = np.random.default_rng(5)
    rbm = RBM(6, 4, rng=0)
    rbm.W.data[...] = rng.choice([-1e4, 1e4], size=(4, 6))
    rbm.b.data[...] = rng.normal(0, 1, 4)
    rbm.a.data[...] = rng.normal(0, 1, 6)
    v = all_states(6)
    v[0, :] = v[1, :]   # keep one duplicate row, harmless
    W, b, a = params64(rbm)
    expected = -(v @ a) - softplus64(v @ W.T + b).sum(axis=1)
    F = rbm.free_energy(v)
    assert np.isfinite(F.data).all()
    assert np.abs(F.data).max() > 1e4        # huge, but finite
    np.testing.assert_allclose(F.data, expected, rtol=1e-6 if dtype == np.float32 else 1e-12)
    F.sum().backward()
    for p in (rbm.W, rbm.b, rbm.a):
        assert np.isfinite(p.grad.data).all()
    assert np.isfinite(rbm.pseudo_log_likelihood(v)).all()


# --------------------------------------------------------------------------------------
# Training: persistent chains and the parameter update
# --------------------------------------------------------------------------------------
def _record_chains(monkeypatch, rbm, X):
    """Make rbm._run_chain log, for each call: a copy of the hidden probabilities it starts
    from, P(h | v) of every row of X under the weights of that moment, its output
    (v, P(h | v)), and its number of steps."""
    calls = []
    original = rbm._run_chain

    def recorder(h_start, steps):
        of_data = rbm.hidden_probabilities(X)
        chains = None if rbm.chains is None else rbm.chains.copy()
        of_chains = None if chains is None else rbm.hidden_probabilities(chains)
        v, h = original(h_start, steps)
        calls.append({"start": h_start.copy(), "of_data": of_data, "chains": chains,
                      "of_chains": of_chains, "v": v, "h": h, "steps": steps})
        return v, h

    monkeypatch.setattr(rbm, "_run_chain", recorder)
    return calls


def _rows_are_among(rows, candidates):
    return all(np.isclose(candidates, row).all(axis=1).any() for row in rows)


def test_pcd_chains_persist_across_batches_and_fits(monkeypatch):
    X = make_bars_and_stripes(3)  # 14 rows; batches of 4: 4, 4, 4 and a last one of 2
    rbm = RBM(9, 6, k=2, persistent=True, batch_size=4, lr=0.05, rng=0)
    assert rbm.chains is None
    calls = _record_chains(monkeypatch, rbm, X)
    rbm.fit(X, epochs=1, progress=False)
    assert len(calls) == 4
    assert rbm.chains is not None and rbm.chains.shape == (4, 9)
    # Started once, from the first batch of data...
    assert _rows_are_among(calls[0]["start"], calls[0]["of_data"])
    # ... then each update continues from where the previous one left the chains, under
    # the current weights, also when the last batch has only 2 rows (no re-initialisation,
    # still 4 chains).
    for previous, call in itertools.pairwise(calls):
        assert call["steps"] == 2
        assert call["start"].shape == (4, 6)
        np.testing.assert_array_equal(call["chains"], previous["v"])
        np.testing.assert_array_equal(call["start"], call["of_chains"])
    assert rbm.chains is calls[-1]["v"]
    end_of_first_fit = calls[-1]["v"].copy()
    # A second fit carries on from the same chains.
    rbm.fit(X, epochs=2, progress=False)
    assert len(calls) == 12
    np.testing.assert_array_equal(calls[4]["chains"], end_of_first_fit)
    for previous, call in itertools.pairwise(calls[4:]):
        np.testing.assert_array_equal(call["chains"], previous["v"])
        np.testing.assert_array_equal(call["start"], call["of_chains"])
    assert set(np.unique(rbm.chains)) <= {0.0, 1.0}


def test_cd_starts_every_chain_at_the_data_and_keeps_none(monkeypatch):
    X = make_bars_and_stripes(3)
    rbm = RBM(9, 6, k=3, persistent=False, batch_size=4, rng=0)
    calls = _record_chains(monkeypatch, rbm, X)
    rbm.fit(X, epochs=2, progress=False)
    assert rbm.chains is None
    assert len(calls) == 8
    assert [len(call["start"]) for call in calls] == [4, 4, 4, 2] * 2
    for call in calls:
        assert call["steps"] == 3
        assert _rows_are_among(call["start"], call["of_data"])


def test_fit_applies_lr_times_the_cd_gradient_with_momentum_and_weight_decay(
        float64, monkeypatch):
    rng = np.random.default_rng(6)
    X = (rng.random((8, 5)) < 0.5).astype(np.float64)
    X[0], X[1] = 0.0, 1.0                  # every column's mean strictly inside (0, 1)
    v_model = (rng.random((4, 5)) < 0.5).astype(np.float64)
    rbm = RBM(5, 3, lr=0.2, momentum=0.5, weight_decay=0.01, batch_size=4, rng=0)
    randomize(rbm, rng, scale=0.5)
    monkeypatch.setattr(rbm, "_negative_phase",
                        lambda v, h, binary: (v_model, rbm.hidden_probabilities(v_model)))
    batches = [X[:4], X[4:]]
    monkeypatch.setattr(rbm, "_batches", lambda data: iter(batches))
    W0, b0 = rbm.W.data.copy(), rbm.b.data.copy()
    mean = X.mean(axis=0)
    a0 = np.log(mean / (1 - mean))         # fit sets a to the data's log-odds first
    reference = RBM(5, 3, rng=0)
    velocity = [np.zeros_like(W0), np.zeros_like(b0), np.zeros_like(a0)]
    params = [W0.copy(), b0.copy(), a0.copy()]
    for batch in batches:
        for p, ref in zip(params, (reference.W, reference.b, reference.a)):
            ref.data[...] = p
        grads = reference.cd_gradient(batch, v_model)
        for i, grad in enumerate(grads):
            decay = 0.01 * params[0] if i == 0 else 0.0
            velocity[i] = 0.5 * velocity[i] + 0.2 * (grad - decay)
            params[i] = params[i] + velocity[i]
    rbm.fit(X, epochs=1, progress=False)
    for p, expected in zip((rbm.W, rbm.b, rbm.a), params):
        np.testing.assert_allclose(p.data, expected, rtol=1e-12, atol=1e-14)
    assert set(rbm.history) == {"reconstruction_error", "pseudo_log_likelihood"}
    assert len(rbm.history["reconstruction_error"]) == 1


# --------------------------------------------------------------------------------------
# DBN
# --------------------------------------------------------------------------------------
def test_dbn_to_mlp_reproduces_the_hidden_activations(float64):
    X = np.repeat(make_bars_and_stripes(4), 3, axis=0)  # (90, 16)
    dbn = DBN([16, 12, 8], epochs=3, batch_size=10, lr=0.1, rng=0)
    dbn.pretrain(X, progress=False)
    assert all(rbm.history for rbm in dbn.rbms)
    features = dbn.transform(X)
    assert features.shape == (90, 8)
    mlp = dbn.to_mlp(3, rng=0)
    assert len(mlp) == 3
    h = sn.Tensor(X)
    for layer in list(mlp)[:-1]:
        h = layer(h)
    np.testing.assert_allclose(h.data, features, rtol=1e-12, atol=1e-15)
    assert mlp(sn.Tensor(X)).shape == (90, 3)
    # The upper RBM was trained on the lower one's hidden probabilities.
    np.testing.assert_allclose(dbn.rbms[1].transform(dbn.rbms[0].transform(X)), features)


def test_dbn_needs_two_layer_sizes():
    with pytest.raises(ValueError, match="at least two sizes"):
        DBN([16])


# --------------------------------------------------------------------------------------
# Pseudo-likelihood, reconstruction, sampling, features
# --------------------------------------------------------------------------------------
def test_pseudo_log_likelihood_matches_the_exact_conditional(float64):
    rng = np.random.default_rng(7)
    rbm = RBM(6, 4, rng=0)
    randomize(rbm, rng)
    X = (rng.random((20, 6)) < 0.5).astype(np.float64)
    rbm.rng = np.random.default_rng(11)
    pll = rbm.pseudo_log_likelihood(X)
    flip = np.random.default_rng(11).integers(0, 6, len(X))  # the same draw
    # n · log P(x_i | x_−i) = n · (log p(x) − log(p(x) + p(x with bit i flipped))),
    # from the brute-force marginal: no free energy involved.
    flipped = X.copy()
    flipped[np.arange(len(X)), flip] = 1 - flipped[np.arange(len(X)), flip]
    log_p, log_q = brute_log_p(rbm, X), brute_log_p(rbm, flipped)
    expected = 6 * (log_p - np.logaddexp(log_p, log_q))
    assert pll.shape == (20,)
    np.testing.assert_allclose(pll, expected, rtol=1e-10)
    assert (pll <= 0).all()
    # A different seed flips other bits, so the values differ.
    rbm.rng = np.random.default_rng(12)
    assert not np.allclose(rbm.pseudo_log_likelihood(X), pll)


def test_reconstruction_error_transform_and_reconstruct():
    rng = np.random.default_rng(8)
    rbm = RBM(9, 5, rng=0)
    randomize(rbm, rng)
    X = make_bars_and_stripes(3)
    W, b, a = params64(rbm)
    hidden = 1 / (1 + np.exp(-(X @ W.T + b)))
    visible = 1 / (1 + np.exp(-(hidden @ W + a)))
    features = rbm.transform(X)
    assert features.shape == (14, 5) and ((features > 0) & (features < 1)).all()
    np.testing.assert_allclose(features, hidden, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rbm.reconstruct(X), visible, rtol=1e-5, atol=1e-6)
    error = rbm.reconstruction_error(X)
    assert isinstance(error, float) and 0 < error < 1
    assert error == pytest.approx(((X - visible) ** 2).mean(), rel=1e-5)
    # Grey values are accepted as probabilities.
    assert 0 < rbm.reconstruction_error(np.full((3, 9), 0.3)) < 1


def test_gibbs_and_sample_shapes_and_values():
    X = make_bars_and_stripes(3)
    rbm = RBM(9, 5, rng=0)
    randomize(rbm, np.random.default_rng(9))
    v = rbm.gibbs(X, steps=3)
    assert v.shape == (14, 9) and set(np.unique(v)) <= {0.0, 1.0}
    assert v.dtype == rbm.W.dtype
    samples = rbm.sample(6, steps=5)
    assert samples.shape == (6, 9)
    assert ((samples >= 0) & (samples <= 1)).all()   # P(v = 1 | h): the chain's mean
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        rbm.gibbs(X, steps=0)
    with pytest.raises(ValueError, match="n must be a positive integer"):
        rbm.sample(0)


def test_sampling_is_reproducible_from_the_seed():
    def run(seed):
        rbm = RBM(9, 5, rng=seed)
        randomize(rbm, np.random.default_rng(10))
        return rbm.sample(4, steps=3)

    np.testing.assert_array_equal(run(3), run(3))
    assert not np.array_equal(run(3), run(4))


# --------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------
def test_likelihood_methods_need_binary_data():
    rbm = RBM(9, 4, rng=0)
    grey = np.full((2, 9), 0.5)
    for method in (rbm.log_likelihood, rbm.pseudo_log_likelihood):
        with pytest.raises(ValueError, match="needs binary data"):
            method(grey)


@pytest.mark.parametrize("method", ["fit", "transform", "reconstruction_error",
                                    "pseudo_log_likelihood", "log_likelihood", "gibbs",
                                    "free_energy"])
def test_data_errors_are_clear(method):
    rbm = RBM(9, 4, rng=0)
    call = getattr(rbm, method)
    images = np.full((2, 9), 255, dtype=np.uint8)
    with pytest.raises(ValueError, match=r"values must lie in \[0, 1\].*got \[255, 255\]"):
        call(images)
    with pytest.raises(ValueError, match=r"expected an \(N, 9\) array, got shape \(2, 8\)"):
        call(np.zeros((2, 8)))
    with pytest.raises(ValueError, match=r"expected an \(N, 9\) array, got shape \(9,\)"):
        call(np.zeros(9))
    nan = np.zeros((2, 9))
    nan[1, 3] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        call(nan)
    with pytest.raises(TypeError, match="expected numbers"):
        call(np.array([["0"] * 9]))


def test_constructor_errors():
    with pytest.raises(ValueError, match="k must be a positive integer, got 0"):
        RBM(9, 4, k=0)
    with pytest.raises(TypeError, match="k must be an integer"):
        RBM(9, 4, k=1.5)
    with pytest.raises(ValueError, match="n_hidden must be a positive integer"):
        RBM(9, 0)
    with pytest.raises(ValueError, match="lr"):
        RBM(9, 4, lr=0.0)
    with pytest.raises(ValueError, match="momentum"):
        RBM(9, 4, momentum=1.0)
    with pytest.raises(ValueError, match="lr"):
        RBM(9, 4, lr=float("nan"))


def test_repr_names_the_training_kind():
    assert "CD-1" in repr(RBM(9, 4))
    assert "PCD-3" in repr(RBM(9, 4, k=3, persistent=True))


def test_to_mlp_leaves_the_library_generator_alone():
    dbn = DBN([6, 4, 3], rng=0)
    before = sn.random.get_generator().bit_generator.state
    dbn.to_mlp(2, rng=1)
    assert sn.random.get_generator().bit_generator.state == before


def test_ais_warns_when_its_estimate_is_below_what_the_data_prove():
    # log Z >= max over x of -F(x), since p(x) <= 1. One jump from the base rates to the
    # model with two runs misses the model's modes and lands below that floor.
    X = make_bars_and_stripes(4)
    rbm = RBM(16, 12, lr=0.1, batch_size=5, epochs=300, rng=0).fit(X, progress=False)
    floor = float(-rbm._free_energy_array(X).min())
    rbm.rng = np.random.default_rng(1)
    with pytest.warns(RuntimeWarning, match="below max"):
        estimate, _ = rbm.log_partition("ais", X=X, n_runs=2, betas=[0.0, 1.0])
    assert estimate < floor <= rbm.log_partition()
