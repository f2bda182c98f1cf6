"""Optimizers and learning-rate schedules: hand-computed updates, in-place discipline,
convergence on least squares, schedules, and state-dict round trips."""

import math

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import optim

GRADS = ([0.5, 1.0], [-1.0, 2.0], [0.25, -0.5])


def _param(values, dtype=np.float64):
    return sn.Tensor(np.array(values, dtype=dtype), requires_grad=True)


def _grad(values, dtype=np.float64):
    return sn.Tensor(np.array(values, dtype=dtype))


# --------------------------------------------------------------------------------------
# SGD against updates worked out by hand (lr = 0.1, p₀ = [1, -2], the gradients in GRADS)
# --------------------------------------------------------------------------------------
SGD_CASES = {
    # p ← p − 0.1·g
    "plain": ({}, [[0.95, -2.1], [1.05, -2.3], [1.025, -2.25]]),
    # v₁ = [0.5, 1], v₂ = 0.9·v₁ + g₂ = [-0.55, 2.9], v₃ = [-0.245, 2.11]; p ← p − 0.1·v
    "momentum": ({"momentum": 0.9}, [[0.95, -2.1], [1.005, -2.39], [1.0295, -2.601]]),
    # same v; u = g + 0.9·v: u₁ = [0.95, 1.9], u₂ = [-1.495, 4.61], u₃ = [0.0295, 1.399]
    "nesterov": ({"momentum": 0.9, "nesterov": True},
                 [[0.905, -2.19], [1.0545, -2.651], [1.05155, -2.7909]]),
    # g ← g + 0.1·p: g₁ = [0.6, 0.8], g₂ = [-0.906, 1.792], g₃ = [0.35306, -0.72592]
    "weight_decay": ({"weight_decay": 0.1},
                     [[0.94, -2.08], [1.0306, -2.2592], [0.995294, -2.186608]]),
    # decay first, then momentum: v₂ = [-0.366, 2.512], v₃ = [0.01826, 1.52768]
    "momentum_and_decay": ({"momentum": 0.9, "weight_decay": 0.1},
                           [[0.94, -2.08], [0.9766, -2.3312], [0.974774, -2.483968]]),
}


@pytest.mark.parametrize("case", SGD_CASES)
def test_sgd_matches_hand_computed_updates(case):
    kwargs, expected = SGD_CASES[case]
    p = _param([1.0, -2.0])
    opt = optim.SGD([p], lr=0.1, **kwargs)
    for g, want in zip(GRADS, expected):
        p.grad = _grad(g)
        opt.step()
        np.testing.assert_allclose(p.numpy(), want, rtol=0, atol=1e-12)


def test_sgd_without_momentum_keeps_no_state():
    p = _param([1.0, -2.0])
    opt = optim.SGD([p], lr=0.1)
    p.grad = _grad(GRADS[0])
    opt.step()
    assert opt.state == [{}]


# --------------------------------------------------------------------------------------
# Adam against Kingma & Ba's Algorithm 1, written out element by element
# --------------------------------------------------------------------------------------
def _adam_reference(theta, grads, lr, beta1, beta2, eps, weight_decay=0.0):
    """Algorithm 1 of Kingma & Ba (2015), scalar by scalar, with L2 decay in the gradient."""
    theta = [float(x) for x in theta]
    m = [0.0] * len(theta)
    v = [0.0] * len(theta)
    history = []
    for t, grad in enumerate(grads, start=1):
        for j in range(len(theta)):
            g = grad[j] + weight_decay * theta[j]
            m[j] = beta1 * m[j] + (1 - beta1) * g
            v[j] = beta2 * v[j] + (1 - beta2) * g * g
            m_hat = m[j] / (1 - beta1**t)
            v_hat = v[j] / (1 - beta2**t)
            theta[j] = theta[j] - lr * m_hat / (math.sqrt(v_hat) + eps)
        history.append(list(theta))
    return history


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_adam_matches_algorithm_1(weight_decay):
    p = _param([1.0, -2.0])
    opt = optim.Adam([p], lr=0.1, betas=(0.8, 0.9), eps=1e-3, weight_decay=weight_decay)
    expected = _adam_reference([1.0, -2.0], GRADS, 0.1, 0.8, 0.9, 1e-3, weight_decay)
    for g, want in zip(GRADS, expected):
        p.grad = _grad(g)
        opt.step()
        np.testing.assert_allclose(p.numpy(), want, rtol=0, atol=1e-12)
    assert opt.state[0]["step"] == 3


def test_adam_first_step_is_lr_whatever_the_gradient_scale():
    # m̂₁ = g and v̂₁ = g², so the first update is lr·g/(|g| + ε) ≈ lr·sign(g).
    g = np.array([1e-3, -0.5, 20.0, -3e3])
    p = _param(np.zeros(4))
    opt = optim.Adam([p], lr=0.01)
    p.grad = _grad(g)
    opt.step()
    np.testing.assert_allclose(p.numpy(), -0.01 * np.sign(g), rtol=1e-4)


def test_adam_weight_decay_pulls_towards_zero_without_a_loss_gradient():
    # g = 0 + λ·p, so the first step moves every coordinate by lr towards 0.
    p = _param([3.0, -5.0])
    opt = optim.Adam([p], lr=0.1, weight_decay=0.01)
    p.grad = _grad([0.0, 0.0])
    opt.step()
    np.testing.assert_allclose(p.numpy(), [2.9, -4.9], atol=1e-6)


# --------------------------------------------------------------------------------------
# In place, gradients untouched, dtype kept
# --------------------------------------------------------------------------------------
OPTIMIZERS = {
    "sgd": lambda ps: optim.SGD(ps, lr=0.1),
    "sgd_nesterov_decay": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True,
                                               weight_decay=0.01),
    "adam": lambda ps: optim.Adam(ps, lr=0.1),
    "adam_decay": lambda ps: optim.Adam(ps, lr=np.float64(0.1), weight_decay=0.01),
}


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_step_is_in_place_reads_grads_only_and_keeps_float32(name):
    rng = np.random.default_rng(0)
    p = _param(rng.normal(size=(3, 4)), dtype=np.float32)
    opt = OPTIMIZERS[name]([p])
    array, array_id = p.data, id(p.data)
    for _ in range(3):
        g = rng.normal(size=(3, 4)).astype(np.float32)
        g.flags.writeable = False  # any write into the gradient would raise
        p.grad = sn.Tensor._wrap(g)
        before = p.numpy().copy()
        opt.step()
        assert p.data is array and id(p.data) == array_id
        assert p.grad.data is g
        assert not np.array_equal(p.numpy(), before)
    assert p.dtype == np.float32
    for value in opt.state[0].values():
        if isinstance(value, np.ndarray):
            assert value.dtype == np.float32 and value.shape == (3, 4)


def test_float64_parameters_stay_float64():
    p = _param([1.0, 2.0])
    opt = optim.Adam([p], lr=0.1)
    p.grad = _grad([1.0, 1.0])
    opt.step()
    assert p.dtype == np.float64 and opt.state[0]["exp_avg"].dtype == np.float64


# --------------------------------------------------------------------------------------
# Skipping, zero_grad, errors
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_parameters_without_grad_are_skipped(name):
    a, b = _param([1.0, 2.0]), _param([3.0, 4.0])
    opt = OPTIMIZERS[name]([a, b])
    a.grad = _grad([1.0, 1.0])
    opt.step()
    assert not np.array_equal(a.numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(b.numpy(), [3.0, 4.0])
    assert opt.state[1] == {}


def test_adam_counts_steps_per_parameter():
    a, b = _param([0.0]), _param([0.0])
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = _grad([1.0])
    opt.step()
    opt.step()
    b.grad = _grad([1.0])
    opt.step()
    assert (opt.state[0]["step"], opt.state[1]["step"]) == (3, 1)
    # b's first update has its own full bias correction: a step of lr.
    np.testing.assert_allclose(b.numpy(), [-0.1], rtol=1e-6)


def test_zero_grad_sets_grads_to_none():
    a, b = _param([1.0]), _param([2.0])
    opt = optim.SGD([a, b], lr=0.1)
    (a * b).sum().backward()
    assert a.grad is not None and b.grad is not None
    opt.zero_grad()
    assert a.grad is None and b.grad is None


@pytest.mark.parametrize("make, match", [
    (lambda: optim.SGD([], lr=0.1), "SGD: got an empty parameter list"),
    (lambda: optim.Adam(iter([])), "Adam: got an empty parameter list"),
    (lambda: optim.SGD([sn.Tensor([1.0])], lr=0.1), "SGD: parameter 0 .* does not require grad"),
    (lambda: optim.Adam([_param([1.0]), sn.Tensor([1.0])]), "Adam: parameter 1"),
    (lambda: optim.SGD([_param([1.0]) * 2.0], lr=0.1), "not a leaf"),
])
def test_bad_parameter_lists_raise_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_duplicate_single_tensor_and_non_tensor_params_raise():
    p = _param([1.0])
    with pytest.raises(ValueError, match=r"SGD: parameter 1 .* appears twice"):
        optim.SGD([p, p], lr=0.1)
    with pytest.raises(TypeError, match=r"single Tensor; wrap it in a list"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="Adam: parameter 0 is a ndarray"):
        optim.Adam([np.zeros(2)])
    with pytest.raises(TypeError, match="Adam: params must be an iterable"):
        optim.Adam(3)


@pytest.mark.parametrize("make, match", [
    (lambda p: optim.SGD(p, lr=0.0), r"SGD: lr must be a finite number > 0, got 0.0"),
    (lambda p: optim.SGD(p, lr=-1.0), "SGD: lr"),
    (lambda p: optim.SGD(p, lr=float("nan")), "SGD: lr"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=-0.5), "SGD: momentum must be .* >= 0"),
    (lambda p: optim.SGD(p, lr=0.1, weight_decay=-1e-4), "SGD: weight_decay"),
    (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "SGD: nesterov=True needs momentum > 0"),
    (lambda p: optim.Adam(p, lr=0.0), "Adam: lr"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.999)),
     r"Adam: betas\[0\] must be a finite number in \[0, 1\)"),
    (lambda p: optim.Adam(p, betas=(0.9, -0.1)), r"Adam: betas\[1\]"),
    (lambda p: optim.Adam(p, eps=0.0), "Adam: eps must be a finite number > 0"),
    (lambda p: optim.Adam(p, weight_decay=-0.1), "Adam: weight_decay"),
])
def test_bad_hyper_parameters_raise_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make([_param([1.0])])


def test_bad_hyper_parameter_types_raise_type_error():
    with pytest.raises(TypeError, match="SGD: lr must be a number"):
        optim.SGD([_param([1.0])], lr="0.1x")
    with pytest.raises(TypeError, match="Adam: betas must be a pair"):
        optim.Adam([_param([1.0])], betas=0.9)


def test_gradient_of_the_wrong_shape_raises():
    p = _param([1.0, 2.0])
    opt = optim.SGD([p], lr=0.1)
    p.grad = _grad([1.0])
    with pytest.raises(ValueError, match=r"SGD.step: parameter 0 has shape \(2,\)"):
        opt.step()


# --------------------------------------------------------------------------------------
# Convergence on least squares: min_x mean((A x − b)²), built from scratchnet ops
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("make, steps", [
    (lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9), 300),
    (lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True), 300),
    (lambda ps: optim.Adam(ps, lr=0.05), 1000),
])
def test_optimizers_solve_least_squares(make, steps):
    rng = np.random.default_rng(42)
    a = rng.normal(size=(40, 3))
    b = rng.normal(size=(40, 1))
    solution = np.linalg.lstsq(a, b, rcond=None)[0]
    x = sn.Tensor(np.zeros((3, 1)), requires_grad=True)
    opt = make([x])
    a_t, b_t = sn.Tensor(a), sn.Tensor(b)
    for _ in range(steps):
        opt.zero_grad()
        loss = ((a_t @ x - b_t) ** 2).mean()
        loss.backward()
        opt.step()
    np.testing.assert_allclose(x.numpy(), solution, atol=1e-4)


# --------------------------------------------------------------------------------------
# Learning-rate schedules
# --------------------------------------------------------------------------------------
def _lrs(scheduler, epochs):
    out = [scheduler.optimizer.lr]
    for _ in range(epochs):
        scheduler.step()
        assert scheduler.lr == scheduler.get_lr() == scheduler.optimizer.lr
        out.append(scheduler.optimizer.lr)
    return out


def test_step_lr_sequence():
    opt = optim.SGD([_param([0.0])], lr=0.1)
    sched = optim.StepLR(opt, step_size=2, gamma=0.5)
    np.testing.assert_allclose(_lrs(sched, 6),
                               [0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125], rtol=1e-15)
    assert sched.base_lr == 0.1


def test_cosine_lr_sequence_and_endpoints():
    opt = optim.Adam([_param([0.0])], lr=0.1)
    sched = optim.CosineLR(opt, t_max=4, min_lr=0.01)
    lrs = _lrs(sched, 6)
    # 0.01 + 0.09·(1 + cos(π e/4))/2 for e = 0..4, then min_lr.
    half_root2 = math.sqrt(2) / 2  # cos(π/4)
    np.testing.assert_allclose(
        lrs, [0.1, 0.01 + 0.09 * (1 + half_root2) / 2, 0.055,
              0.01 + 0.09 * (1 - half_root2) / 2, 0.01, 0.01, 0.01], rtol=1e-12)
    np.testing.assert_allclose(lrs[1], 0.0868198052, rtol=1e-9)
    assert lrs[0] == 0.1 and lrs[4] == 0.01
    assert lrs[2] == pytest.approx((0.1 + 0.01) / 2, rel=1e-15)


def test_schedule_changes_the_step_size():
    p = _param([0.0])
    opt = optim.SGD([p], lr=1.0)
    sched = optim.StepLR(opt, step_size=1, gamma=0.1)
    p.grad = _grad([1.0])
    opt.step()   # −1.0
    sched.step()
    opt.step()   # −0.1
    np.testing.assert_allclose(p.numpy(), [-1.1], atol=1e-12)


def test_bad_schedule_settings_raise():
    opt = optim.SGD([_param([0.0])], lr=0.1)
    with pytest.raises(ValueError, match="StepLR: step_size must be a positive integer"):
        optim.StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="StepLR: gamma"):
        optim.StepLR(opt, step_size=1, gamma=0.0)
    with pytest.raises(ValueError, match="CosineLR: t_max must be a positive integer"):
        optim.CosineLR(opt, t_max=0)
    with pytest.raises(ValueError, match=r"CosineLR: min_lr \(0.5\) must not exceed"):
        optim.CosineLR(opt, t_max=5, min_lr=0.5)
    with pytest.raises(TypeError, match="StepLR: expected an optimizer"):
        optim.StepLR(object(), step_size=1)


def test_schedule_state_dict_resumes():
    opt = optim.SGD([_param([0.0])], lr=0.1)
    sched = optim.CosineLR(opt, t_max=10)
    for _ in range(3):
        sched.step()
    opt2 = optim.SGD([_param([0.0])], lr=0.1)
    sched2 = optim.CosineLR(opt2, t_max=10)
    sched2.load_state_dict(sched.state_dict())
    assert sched2.epoch == 3 and opt2.lr == opt.lr
    sched.step()
    sched2.step()
    assert opt2.lr == opt.lr


# --------------------------------------------------------------------------------------
# state_dict round trips
# --------------------------------------------------------------------------------------
ROUND_TRIP = {
    "sgd": (lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
            lambda ps: optim.SGD(ps, lr=1.0)),
    "adam": (lambda ps: optim.Adam(ps, lr=0.01, betas=(0.8, 0.99), weight_decay=1e-3),
             lambda ps: optim.Adam(ps)),
}


@pytest.mark.parametrize("name", ROUND_TRIP)
@pytest.mark.parametrize("through_npz", [False, True])
def test_state_dict_round_trip_continues_bit_identically(name, through_npz, tmp_path):
    make, make_other = ROUND_TRIP[name]
    rng = np.random.default_rng(7)
    shapes = [(3, 2), (2,), (4,)]
    params = [_param(rng.normal(size=s), dtype=np.float32) for s in shapes]
    opt = make(params)
    for _ in range(3):
        for p in params[:2]:  # the third parameter never gets a gradient: no state
            p.grad = _grad(rng.normal(size=p.shape), dtype=np.float32)
        opt.step()

    state = opt.state_dict()
    if through_npz:
        np.savez(tmp_path / "opt.npz", **state)
        with np.load(tmp_path / "opt.npz", allow_pickle=False) as f:
            state = {k: f[k] for k in f.files}
    copies = [_param(p.numpy(), dtype=np.float32) for p in params]
    resumed = make_other(copies)  # different hyper-parameters: the state dict restores them
    resumed.load_state_dict(state)
    assert repr(resumed) == repr(opt)

    for _ in range(3):
        for p, q in zip(params, copies):
            g = rng.normal(size=p.shape).astype(np.float32)
            p.grad, q.grad = _grad(g, np.float32), _grad(g, np.float32)
        opt.step()
        resumed.step()
    for p, q in zip(params, copies):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
        assert q.dtype == np.float32


def test_state_dict_is_flat_documented_and_a_copy():
    p = _param([1.0, 2.0])
    opt = optim.Adam([p], lr=0.1)
    p.grad = _grad([1.0, -1.0])
    opt.step()
    state = opt.state_dict()
    assert set(state) == {"lr", "beta1", "beta2", "eps", "weight_decay", "num_params",
                          "state.0.step", "state.0.exp_avg", "state.0.exp_avg_sq"}
    assert state["state.0.step"] == 1 and state["num_params"] == 1
    saved = state["state.0.exp_avg"].copy()
    opt.step()
    np.testing.assert_array_equal(state["state.0.exp_avg"], saved)
    assert set(optim.SGD([p], lr=0.1, momentum=0.5).state_dict()) == {
        "lr", "momentum", "nesterov", "weight_decay", "num_params"}


def test_state_dict_after_cosine_annealing_to_zero_loads():
    opt = optim.SGD([_param([0.0])], lr=0.1, momentum=0.9)
    sched = optim.CosineLR(opt, t_max=2)
    sched.step()
    sched.step()
    assert opt.lr == 0.0
    other = optim.SGD([_param([0.0])], lr=0.1)
    other.load_state_dict(opt.state_dict())
    assert other.lr == 0.0 and other.momentum == 0.9


def test_bad_state_dicts_raise_and_change_nothing():
    p = _param([1.0, 2.0])
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = _grad([1.0, 1.0])
    opt.step()
    good = opt.state_dict()
    target = optim.SGD([_param([0.0, 0.0])], lr=0.5)

    with pytest.raises(ValueError, match=r"SGD.load_state_dict: the state dict is for 1 "
                                         r"parameters, this optimizer has 2"):
        optim.SGD([_param([0.0]), _param([0.0])], lr=0.1).load_state_dict(good)
    with pytest.raises(ValueError, match=r"missing keys \['momentum'\]"):
        target.load_state_dict({k: v for k, v in good.items() if k != "momentum"})
    with pytest.raises(ValueError, match=r"unexpected key 'state\.0\.exp_avg'"):
        target.load_state_dict({**good, "state.0.exp_avg": np.zeros(2)})
    with pytest.raises(ValueError, match=r"state\.0\.momentum_buffer has shape \(3,\)"):
        target.load_state_dict({**good, "state.0.momentum_buffer": np.zeros(3)})
    with pytest.raises(ValueError, match="SGD: momentum"):
        target.load_state_dict({**good, "momentum": -1.0})
    with pytest.raises(ValueError, match=r"Adam.load_state_dict: parameter 0 has state"):
        optim.Adam([_param([0.0])]).load_state_dict(
            {"lr": 0.1, "beta1": 0.9, "beta2": 0.99, "eps": 1e-8, "weight_decay": 0.0,
             "num_params": 1, "state.0.step": 1})
    assert (target.lr, target.momentum, target.state) == (0.5, 0.0, [{}])


def test_repr_names_the_settings():
    opt = optim.SGD([_param([0.0])], lr=0.1, momentum=0.9)
    assert repr(opt) == "SGD(lr=0.1, momentum=0.9, nesterov=False, weight_decay=0.0, params=1)"
    assert optim.Adam([_param([0.0])]).betas == (0.9, 0.999)


# --------------------------------------------------------------------------------------
# Gradient clipping
# --------------------------------------------------------------------------------------
def test_clip_grad_norm_rescales_to_the_cap_and_returns_the_norm_before():
    a, b, untouched = _param([1.0, 2.0]), _param([0.0]), _param([5.0])
    a.grad, b.grad = _grad([3.0, 0.0]), _grad([4.0])  # joint norm 5
    total = optim.clip_grad_norm_([a, b, untouched], max_norm=1.0)
    assert total == pytest.approx(5.0)
    np.testing.assert_allclose(a.grad.numpy(), [0.6, 0.0])
    np.testing.assert_allclose(b.grad.numpy(), [0.8])
    assert untouched.grad is None
    joint = math.sqrt(float((a.grad.numpy() ** 2).sum() + (b.grad.numpy() ** 2).sum()))
    assert joint == pytest.approx(1.0)


def test_clip_grad_norm_leaves_a_small_gradient_alone_and_keeps_float32():
    p = _param([1.0, 1.0], dtype=np.float32)
    p.grad = _grad([0.3, 0.4], dtype=np.float32)
    assert optim.clip_grad_norm_([p], 10.0) == pytest.approx(0.5)
    np.testing.assert_array_equal(p.grad.numpy(), np.float32([0.3, 0.4]))
    p.grad = _grad([30.0, 40.0], dtype=np.float32)
    optim.clip_grad_norm_([p], 5.0)
    assert p.grad.dtype == np.float32
    np.testing.assert_allclose(p.grad.numpy(), [3.0, 4.0], rtol=1e-6)
    assert optim.clip_grad_norm_([_param([1.0])], 1.0) == 0.0  # no gradient at all


@pytest.mark.parametrize("max_norm, error", [(0.0, ValueError), (-1.0, ValueError),
                                             (float("nan"), ValueError), ("1", TypeError)])
def test_clip_grad_norm_refuses_a_bad_cap(max_norm, error):
    with pytest.raises(error, match="clip_grad_norm_: max_norm must be"):
        optim.clip_grad_norm_([_param([1.0])], max_norm)
