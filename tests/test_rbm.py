"""The restricted Boltzmann machine and the deep belief network (scratchnet.models.rbm).

Likelihoods are checked against brute-force sums over every state of tiny models, the CD
gradient against autodiff of the free-energy gap (plain and stacked forms), AIS against the
exact partition function, and training through ``sn.train.fit`` (the negative phase's
chains, the SGD update, the History) by watching it work.
"""

import itertools
import math

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import optim
from scratchnet.datasets import load_mnist, make_bars_and_stripes
from scratchnet.models import DBN, RBM
from scratchnet.train import History, SampleGrid


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
    rbm = RBM(9, 8, k=1, rng=0)
    before = rbm.log_likelihood(X)
    error_before = rbm.reconstruction_error(X)
    # Small random weights, zero biases: nearly uniform over the 512 images.
    assert before == pytest.approx(-9 * math.log(2), abs=0.05)
    history = rbm.fit(np.repeat(X, 10, axis=0), epochs=200, batch_size=14, lr=0.1,
                      momentum=0.5, progress=False)
    after = rbm.log_likelihood(X)
    # Measured: −6.24 → −3.46, −3.41, −3.33, −3.23 for seeds 0-3. The optimum, uniform over
    # the 14 patterns, is −log 14 = −2.64: no model can exceed it.
    assert after > -4.5, (before, after)
    assert after <= -math.log(14) + 1e-9
    # The exact likelihood agrees with a brute-force sum over every joint state.
    assert after == pytest.approx(brute_log_p(rbm, X).mean(), abs=1e-4)
    # The per-epoch history: measured 0.25 → under 0.001, and PLL −6.2 → −0.4 (seeds 0-3).
    assert isinstance(history, History)
    assert set(history) == {"free_energy_gap", "train_reconstruction_error",
                            "train_pseudo_log_likelihood", "lr"}
    assert all(len(values) == 200 for values in history.values())
    errors, pll = history["train_reconstruction_error"], history["train_pseudo_log_likelihood"]
    assert errors[-1] == pytest.approx(rbm.reconstruction_error(X))
    assert error_before > 0.2 and errors[-1] < 0.05, (error_before, errors[-1])
    assert pll[-1] > pll[0] + 3, (pll[0], pll[-1])


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
    rbm = RBM(784, 15, k=1, rng=0)
    rbm.fit(X, epochs=10, batch_size=20, lr=0.05, progress=False)
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
def random_phases(rng, n_visible, n_data=9, n_model=4):
    """Binary data and chain samples with different row counts."""
    v_data = (rng.random((n_data, n_visible)) < 0.5).astype(np.float64)
    v_model = (rng.random((n_model, n_visible)) < 0.5).astype(np.float64)
    return v_data, v_model


def test_cd_gradient_is_minus_the_autodiff_gradient_of_the_free_energy_gap(float64):
    rng = np.random.default_rng(3)
    rbm = RBM(7, 5, rng=0)
    randomize(rbm, rng, scale=0.8)
    v_data, v_model = random_phases(rng, 7)  # not the same count
    grads = rbm.cd_gradient(v_data, v_model)
    plain = rbm.free_energy(v_data).mean() - rbm.free_energy(v_model).mean()
    for gap in (plain, rbm.free_energy_gap(v_data, v_model)):
        rbm.zero_grad()
        gap.backward()
        for parameter, cd in zip((rbm.W, rbm.b, rbm.a), grads):
            assert cd.shape == parameter.data.shape
            np.testing.assert_allclose(cd, -parameter.grad.data, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("n_data", "n_model"), [(9, 4), (4, 9), (6, 6)])
def test_the_stacked_free_energy_gap_equals_the_plain_form_in_value_and_gradients(
        float64, n_data, n_model):
    rng = np.random.default_rng(n_data * 10 + n_model)
    rbm = RBM(7, 5, rng=0)
    randomize(rbm, rng, scale=0.8)
    v_data, v_model = random_phases(rng, 7, n_data, n_model)
    upstream = rng.normal()  # a random upstream gradient for the scalar

    def value_and_grads(gap):
        rbm.zero_grad()
        gap.backward(np.array(upstream))
        return float(gap.data), [p.grad.data.copy() for p in (rbm.W, rbm.b, rbm.a)]

    stacked = rbm.free_energy_gap(v_data, v_model)
    assert isinstance(stacked, sn.Tensor) and stacked.shape == ()
    value, grads = value_and_grads(stacked)
    expected_value, expected_grads = value_and_grads(
        rbm.free_energy(v_data).mean() - rbm.free_energy(v_model).mean())
    assert value == pytest.approx(expected_value, rel=1e-12, abs=1e-12)
    for got, expected in zip(grads, expected_grads):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    # ... and both agree with the free energies written out in NumPy.
    W, b, a = params64(rbm)

    def free_energy(v):
        return -(v @ a) - softplus64(v @ W.T + b).sum(axis=1)

    assert value == pytest.approx(free_energy(v_data).mean() - free_energy(v_model).mean(),
                                  rel=1e-12, abs=1e-12)

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
# Training: the negative phase, the update, fit
# --------------------------------------------------------------------------------------
def _record_chains(monkeypatch, rbm):
    """Make the RBM log, for each update: the batch its negative phase got, and the Gibbs
    run it made (a copy of its start, its number of steps, its output)."""
    calls = []
    gibbs, negative_phase = rbm._gibbs, rbm.negative_phase

    def recording_gibbs(v, steps, rng=None):
        start = v.copy()
        out = gibbs(v, steps, rng)
        calls[-1].update(start=start, steps=steps, v=out)
        return out

    def recording_negative_phase(v_data):
        calls.append({"batch": v_data.copy()})
        return negative_phase(v_data)

    monkeypatch.setattr(rbm, "_gibbs", recording_gibbs)
    monkeypatch.setattr(rbm, "negative_phase", recording_negative_phase)
    return calls


def test_pcd_chains_persist_across_batches_and_fits(monkeypatch):
    X = make_bars_and_stripes(3)  # 14 rows; batches of 4: 4, 4, 4 and a last one of 2
    rbm = RBM(9, 6, k=2, persistent=True, rng=0)
    assert rbm.chains is None
    calls = _record_chains(monkeypatch, rbm)
    rbm.fit(X, epochs=1, batch_size=4, lr=0.05, progress=False)
    assert [len(call["batch"]) for call in calls] == [4, 4, 4, 2]
    assert rbm.chains is not None and rbm.chains.shape == (4, 9)
    # Started once, from the first batch of (binary) data...
    np.testing.assert_array_equal(calls[0]["start"], calls[0]["batch"])
    # ... then each update continues from where the previous one left the chains, also
    # when the last batch has only 2 rows (no re-initialisation, still 4 chains).
    for previous, call in itertools.pairwise(calls):
        assert call["steps"] == 2
        assert call["start"].shape == (4, 9)
        np.testing.assert_array_equal(call["start"], previous["v"])
    assert rbm.chains is calls[-1]["v"]
    end_of_first_fit = calls[-1]["v"].copy()
    # A second fit carries on from the same chains.
    rbm.fit(X, epochs=2, batch_size=4, lr=0.05, progress=False)
    assert len(calls) == 12
    np.testing.assert_array_equal(calls[4]["start"], end_of_first_fit)
    for previous, call in itertools.pairwise(calls[4:]):
        np.testing.assert_array_equal(call["start"], previous["v"])
    assert set(np.unique(rbm.chains)) <= {0.0, 1.0}


def test_cd_starts_every_chain_at_the_data_and_keeps_none(monkeypatch):
    X = make_bars_and_stripes(3)
    rbm = RBM(9, 6, k=3, persistent=False, rng=0)
    calls = _record_chains(monkeypatch, rbm)
    rbm.fit(X, epochs=2, batch_size=4, progress=False)
    assert rbm.chains is None
    assert [len(call["start"]) for call in calls] == [4, 4, 4, 2] * 2
    for call in calls:
        assert call["steps"] == 3
        np.testing.assert_array_equal(call["start"], call["batch"])  # binary: the data itself


def test_cd_starts_grey_data_from_a_binary_sample_of_it(monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.random((40, 9))
    X[:, 0], X[:, 1] = 0.0, 1.0            # certain pixels stay what they are
    rbm = RBM(9, 6, k=1, rng=0)
    calls = _record_chains(monkeypatch, rbm)
    v_model = rbm.negative_phase(X)
    start = calls[0]["start"]
    assert set(np.unique(start)) == {0.0, 1.0}
    assert (start[:, 0] == 0).all() and (start[:, 1] == 1).all()
    # P(1) is the grey value: over 280 free pixels, the mean difference is ~0.02 (1 std).
    assert abs((start[:, 2:] - X[:, 2:]).mean()) < 0.1
    assert v_model.shape == (40, 9) and set(np.unique(v_model)) <= {0.0, 1.0}
    assert rbm.chains is None


def test_one_fit_epoch_applies_sgd_with_momentum_and_weight_decay_to_minus_the_cd_gradient(
        float64, monkeypatch):
    rng = np.random.default_rng(6)
    X = (rng.random((8, 5)) < 0.5).astype(np.float64)
    X[0], X[1] = 0.0, 1.0                  # every column's mean strictly inside (0, 1)
    v_model = (rng.random((4, 5)) < 0.5).astype(np.float64)
    rbm = RBM(5, 3, rng=0)
    randomize(rbm, rng, scale=0.5)
    rbm.a.data[...] = 0.0                  # a fresh model's visible biases: fit sets them
    batches = []

    def fixed_negative_phase(v_data):
        batches.append(v_data.copy())
        return v_model

    monkeypatch.setattr(rbm, "negative_phase", fixed_negative_phase)
    W0, b0 = rbm.W.data.copy(), rbm.b.data.copy()
    mean = X.mean(axis=0)
    a0 = np.log(mean / (1 - mean))         # fit sets a to the data's log-odds first
    history = rbm.fit(X, epochs=1, batch_size=4, lr=0.2, momentum=0.5, weight_decay=0.01,
                      progress=False)
    # Two shuffled batches that hold every row of X once.
    assert [len(batch) for batch in batches] == [4, 4]
    assert sorted(map(tuple, np.concatenate(batches))) == sorted(map(tuple, X))
    # optim.SGD, written out: g = −CD gradient + λ·θ (every parameter, biases too),
    # v ← μ·v + g, θ ← θ − lr·v.
    reference = RBM(5, 3, rng=0)
    velocity = [np.zeros_like(W0), np.zeros_like(b0), np.zeros_like(a0)]
    params = [W0.copy(), b0.copy(), a0.copy()]
    gaps = []
    for batch in batches:
        for p, ref in zip(params, (reference.W, reference.b, reference.a)):
            ref.data[...] = p
        gaps.append(float(reference.free_energy_gap(batch, v_model).data))
        for i, grad in enumerate(reference.cd_gradient(batch, v_model)):
            velocity[i] = 0.5 * velocity[i] + (-grad + 0.01 * params[i])
            params[i] = params[i] - 0.2 * velocity[i]
    for p, expected in zip((rbm.W, rbm.b, rbm.a), params):
        np.testing.assert_allclose(p.data, expected, rtol=1e-12, atol=1e-14)
    assert set(history) == {"free_energy_gap", "train_reconstruction_error",
                            "train_pseudo_log_likelihood", "lr"}
    assert history.epochs == 1 and history["lr"] == [0.2]
    # The logged gap is the mean over the epoch's steps of the gap each step descended.
    assert history["free_energy_gap"][0] == pytest.approx(np.mean(gaps), rel=1e-12)
    assert history["train_reconstruction_error"][0] == pytest.approx(
        rbm.reconstruction_error(X), rel=1e-12)


def test_training_step_takes_one_optimizer_step_on_the_free_energy_gap(float64, monkeypatch):
    rng = np.random.default_rng(12)
    rbm = RBM(6, 4, rng=0)
    randomize(rbm, rng, scale=0.5)
    v_data, v_model = random_phases(rng, 6, 5, 3)
    monkeypatch.setattr(rbm, "negative_phase", lambda v: v_model)
    before = [p.data.copy() for p in (rbm.W, rbm.b, rbm.a)]
    gap = float(rbm.free_energy_gap(v_data, v_model).data)
    cd = rbm.cd_gradient(v_data, v_model)
    logs = rbm.training_step(v_data, optim.SGD(rbm.parameters(), lr=0.3))
    assert logs == {"free_energy_gap": pytest.approx(gap, rel=1e-12)}
    for p, old, grad in zip((rbm.W, rbm.b, rbm.a), before, cd):
        np.testing.assert_allclose(p.data, old + 0.3 * grad, rtol=1e-12, atol=1e-14)


def test_sn_train_fit_trains_an_rbm_through_its_training_step_with_default_sgd():
    X = np.repeat(make_bars_and_stripes(3), 4, axis=0)
    rbm = RBM(9, 8, rng=0)
    rbm.init_visible_bias(X)
    error_before = rbm.reconstruction_error(X)
    history = sn.train.fit(rbm, loader=sn.datasets.DataLoader(X, batch_size=14, rng=0),
                           epochs=200, progress=False)
    assert set(history) == {"free_energy_gap", "lr"} and history["lr"] == [0.1] * 200
    assert all(np.isfinite(history["free_energy_gap"]))
    # Measured for seeds 0-5 (model and loader): 0.250 -> 0.052 to 0.096, about 0.2 s.
    after = rbm.reconstruction_error(X)
    assert error_before > 0.2 and after < 0.15, (error_before, after)


def test_configure_optimizers_is_sgd_over_the_rbms_parameters_with_hintons_defaults():
    rbm = RBM(9, 4, rng=0)
    optimizer = rbm.configure_optimizers()
    assert isinstance(optimizer, optim.SGD)
    assert {id(p) for p in optimizer.params} == {id(rbm.W), id(rbm.b), id(rbm.a)}
    assert len(optimizer.params) == 3
    assert (optimizer.lr, optimizer.momentum, optimizer.weight_decay) == (0.1, 0.5, 0.0)
    custom = rbm.configure_optimizers(lr=0.05, momentum=0.9, weight_decay=2e-4)
    assert (custom.lr, custom.momentum, custom.weight_decay) == (0.05, 0.9, 2e-4)


def test_init_visible_bias_sets_the_log_odds_of_each_units_mean():
    X = np.zeros((10, 4))
    X[:3, 0] = 1.0          # mean 0.3
    X[:, 1] = 1.0           # mean 1: clipped to 0.999
    X[:5, 3] = 0.5          # grey values count as probabilities: mean 0.25
    rbm = RBM(4, 2, rng=0)
    rbm.init_visible_bias(X)
    means = np.array([0.3, 0.999, 0.001, 0.25])
    np.testing.assert_allclose(rbm.a.data, np.log(means / (1 - means)), rtol=1e-5)


def test_fit_initialises_the_visible_biases_only_when_they_are_all_zero():
    X = make_bars_and_stripes(3)
    rbm = RBM(9, 4, rng=0)
    initialised = []
    original = rbm.init_visible_bias

    def spy(data):
        initialised.append(True)
        original(data)

    rbm.init_visible_bias = spy
    rbm.fit(X, epochs=1, batch_size=7, progress=False)
    assert initialised == [True]
    rbm.fit(X, epochs=1, batch_size=7, progress=False)  # trained biases are kept
    assert initialised == [True]


def test_fit_with_x_val_records_the_monitors_on_it():
    X = make_bars_and_stripes(3)
    X_val = X[::2]
    rbm = RBM(9, 6, rng=0)
    history = rbm.fit(X, epochs=3, batch_size=7, X_val=X_val, progress=False)
    assert set(history) == {"free_energy_gap", "train_reconstruction_error",
                            "train_pseudo_log_likelihood", "val_reconstruction_error",
                            "val_pseudo_log_likelihood", "lr"}
    assert history.epochs == 3
    assert history["val_reconstruction_error"][-1] == pytest.approx(
        rbm.reconstruction_error(X_val), rel=1e-6)
    assert all(value <= 0 for value in history["val_pseudo_log_likelihood"])


def test_monitors_measure_the_pseudo_likelihood_only_for_binary_data():
    rbm = RBM(9, 4, rng=0)
    assert set(rbm.monitors()) == {"reconstruction_error", "pseudo_log_likelihood"}
    assert set(rbm.monitors(binary=False)) == {"reconstruction_error"}
    X = make_bars_and_stripes(3)
    assert rbm.monitors()["reconstruction_error"](rbm, sn.Tensor(X)) == pytest.approx(
        rbm.reconstruction_error(X))


def test_fit_learning_rate_and_momentum_are_checked_by_the_optimizer():
    X = make_bars_and_stripes(3)
    with pytest.raises(ValueError, match="SGD: lr must be"):
        RBM(9, 4, rng=0).fit(X, lr=0.0, progress=False)
    with pytest.raises(ValueError, match="SGD: momentum must be"):
        RBM(9, 4, rng=0).fit(X, momentum=-0.5, progress=False)


def test_a_sample_grid_shows_the_rbms_samples_during_fit(tmp_path):
    X = make_bars_and_stripes(4)  # 16 pixels: 4×4 images
    rbm = RBM(16, 8, rng=0)
    grid = SampleGrid(tmp_path, n=4, every=2, steps=3)
    rbm.fit(X, epochs=4, batch_size=10, callbacks=[grid], progress=False)
    assert grid.saved == [tmp_path / "epoch_002.png", tmp_path / "epoch_004.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch_002.png", "epoch_004.png"]


# --------------------------------------------------------------------------------------
# DBN
# --------------------------------------------------------------------------------------
def test_dbn_to_mlp_reproduces_the_hidden_activations(float64):
    X = np.repeat(make_bars_and_stripes(4), 3, axis=0)  # (90, 16)
    dbn = DBN([16, 12, 8], rng=0)
    histories = dbn.pretrain(X, epochs=3, batch_size=10, lr=0.1, progress=False)
    assert len(histories) == 2 and all(h.epochs == 3 for h in histories)
    # The lower layer saw binary data, the upper one hidden probabilities: no PLL there.
    assert "train_pseudo_log_likelihood" in histories[0]
    assert "train_pseudo_log_likelihood" not in histories[1]
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


def test_sample_with_a_seed_repeats_its_chains_and_leaves_the_models_generator_alone():
    rbm = RBM(9, 5, rng=3)
    randomize(rbm, np.random.default_rng(10))
    state = rbm.rng.bit_generator.state
    first, second = rbm.sample(6, steps=4, rng=0), rbm.sample(6, steps=4, rng=0)
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, rbm.sample(6, steps=4, rng=1))
    assert rbm.rng.bit_generator.state == state


def test_bernoulli_draws_from_the_given_generator_with_probability_p():
    rbm = RBM(9, 5, rng=3)
    p = np.tile(np.array([0.0, 0.2, 0.5, 0.9, 1.0], dtype=np.float32), (4000, 1))
    state = rbm.rng.bit_generator.state
    draws = rbm._bernoulli(p, rng=np.random.default_rng(0))
    assert rbm.rng.bit_generator.state == state      # the model's generator was not used
    assert draws.dtype == np.float32 and set(np.unique(draws)) <= {0.0, 1.0}
    np.testing.assert_array_equal(draws, rbm._bernoulli(p, rng=np.random.default_rng(0)))
    # Each column's frequency of ones is p to within 4 standard errors (at most 0.008).
    np.testing.assert_allclose(draws.mean(axis=0), p[0], atol=0.032)
    assert draws[:, 0].max() == 0.0 and draws[:, 4].min() == 1.0
    # Without rng, the model's own generator draws (and moves on).
    rbm._bernoulli(p[:1])
    assert rbm.rng.bit_generator.state != state


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
    with pytest.raises(TypeError, match="expected numbers"):
        call(np.array([["0"] * 9]))


@pytest.mark.parametrize("method", ["fit", "transform", "reconstruction_error",
                                    "pseudo_log_likelihood", "log_likelihood", "gibbs",
                                    "free_energy"])
def test_data_with_a_nan_is_refused_with_a_message_that_names_the_nan(method):
    # A NaN is not a scaling problem: the message must say NaN, not "divide by 255"
    # (before check_range, the RBM said "the data contain NaN or infinite values").
    rbm = RBM(9, 4, rng=0)
    nan = np.zeros((2, 9))
    nan[1, 3] = np.nan
    with pytest.raises(ValueError, match="NaN") as info:
        getattr(rbm, method)(nan)
    assert "divide by 255" not in str(info.value)


def test_constructor_errors():
    with pytest.raises(ValueError, match="k must be a positive integer, got 0"):
        RBM(9, 4, k=0)
    with pytest.raises(TypeError, match="k must be an integer"):
        RBM(9, 4, k=1.5)
    with pytest.raises(ValueError, match="n_hidden must be a positive integer"):
        RBM(9, 0)


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
    rbm = RBM(16, 12, rng=0)
    rbm.fit(X, epochs=300, batch_size=5, lr=0.1, progress=False)
    floor = float(-rbm._free_energy_array(X).min())
    rbm.rng = np.random.default_rng(1)
    with pytest.warns(RuntimeWarning, match="below max"):
        estimate, _ = rbm.log_partition("ais", X=X, n_runs=2, betas=[0.0, 1.0])
    assert estimate < floor <= rbm.log_partition()
