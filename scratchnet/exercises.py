"""Grade the lessons' exercises: ``scratchnet check NN [--file PATH]``.

Each lesson ``NN`` has a file of exercises, ``exercises/NN_topic.py``: function stubs whose
docstrings state the task, and whose bodies raise ``NotImplementedError`` until the student
fills them in. :func:`grade` imports that file (or another one, ``--file PATH``) and checks
every exercise with tools that scratchnet already trusts: closed forms, the autodiff
gradient, :func:`scratchnet.gradcheck` and :func:`scratchnet.gradgradcheck`, shapes and
dtypes. Each exercise ends as

* ``PASS``;
* ``NOT DONE``: it still raises ``NotImplementedError``;
* ``FAIL``: with a message that says which element is wrong, what was expected against
  what came back, and a hint. Where the answer matches a known mistake (a missing factor, a
  flipped sign, swapped arguments) the hint names that mistake.

Example::

    $ scratchnet check 00                       # grades exercises/00_autodiff.py
    $ scratchnet check 08 --file my_vae.py      # grades your own copy
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import sys
import textwrap
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

import scratchnet as sn
import scratchnet.functional as F

__all__ = ["LESSONS", "Exercise", "ExerciseFailure", "Result", "exercise_file", "expect_close",
           "expect_dtype", "expect_gradcheck", "find_exercises_dir", "format_report", "grade",
           "main"]


class ExerciseFailure(Exception):
    """An answer is wrong; the message says where, by how much, and gives a hint."""


@dataclass(frozen=True)
class Exercise:
    """One exercise: the ``name`` defined in the student's file and the ``check`` run on it.

    ``check`` receives the student's object (a function or a class) and raises
    :class:`ExerciseFailure` with a teaching message when the answer is wrong.
    """

    name: str
    check: Callable[[Any], None]


@dataclass(frozen=True)
class Result:
    """The outcome of one exercise: ``status`` is ``"PASS"``, ``"FAIL"`` or ``"NOT DONE"``."""

    name: str
    status: str
    message: str = ""


# -- comparing an answer with the truth ----------------------------------------------------

def _as_array(what: str, value: Any) -> np.ndarray:
    """The student's answer as a NumPy array (a Tensor's data, a number, a list)."""
    if isinstance(value, sn.Tensor):
        value = value.numpy()
    if value is None:
        raise ExerciseFailure(f"{what}: got None. Did the function forget to `return` it?")
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ExerciseFailure(f"{what}: expected an array of numbers, got "
                              f"{type(value).__name__} ({err})") from None


def _close(a: np.ndarray, b: np.ndarray, atol: float, rtol: float) -> bool:
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= atol + rtol * np.abs(b)))


def expect_close(what: str, got: Any, expected: Any, hint: str, atol: float = 1e-6,
                 rtol: float = 1e-5,
                 mistakes: Sequence[tuple[Any, str]] = ()) -> None:
    """Raise :class:`ExerciseFailure` unless ``got`` equals ``expected`` within tolerance.

    The message names the shape mismatch, or the worst element with both values and how
    many elements are off. ``mistakes`` pairs the answer of a known mistake with the hint
    for it: when ``got`` matches one, that hint replaces the general ``hint``.
    """
    got_a, want = _as_array(what, got), np.asarray(expected, dtype=np.float64)
    if got_a.shape != want.shape:
        raise ExerciseFailure(f"{what}: expected shape {want.shape}, got shape {got_a.shape}. "
                              f"Hint: {hint}")
    if not np.all(np.isfinite(got_a)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(got_a))[0])
        where = f"element {bad}" if want.ndim else "the value"
        raise ExerciseFailure(f"{what}: {where} is {got_a[bad]} (expected "
                              f"{want[bad]:.6g}). Hint: {hint}")
    excess = np.abs(got_a - want) - (atol + rtol * np.abs(want))
    if np.all(excess <= 0):
        return
    for answer, mistake_hint in mistakes:
        if _close(got_a, np.asarray(answer, dtype=np.float64), atol, rtol):
            hint = mistake_hint
            break
    worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(excess)), want.shape))
    n_off = int(np.sum(excess > 0))
    where = f"element {worst}" if want.ndim else "the value"
    count = f" ({n_off} of {want.size} elements off)" if want.size > 1 else ""
    raise ExerciseFailure(f"{what}: {where} expected {want[worst]:.6g}, got "
                          f"{got_a[worst]:.6g}{count}. Hint: {hint}")


def expect_dtype(what: str, got: Any, expected: Any, hint: str) -> None:
    """Raise unless ``got`` (an array or Tensor) has dtype ``expected``."""
    dtype = getattr(got, "dtype", None)
    if dtype is None or np.dtype(dtype) != np.dtype(expected):
        raise ExerciseFailure(f"{what}: expected dtype {np.dtype(expected)}, got {dtype}. "
                              f"Hint: {hint}")


def expect_gradcheck(what: str, fn: Callable[..., Any], inputs: Sequence[Any], hint: str,
                     second_order: bool = False) -> None:
    """Run :func:`sn.gradcheck` (or :func:`sn.gradgradcheck`) and turn its error into a lesson."""
    check = sn.gradgradcheck if second_order else sn.gradcheck
    try:
        check(fn, inputs)
    except sn.GradcheckError as err:
        raise ExerciseFailure(f"{what}: {err}. Hint: {hint}") from None


# -- lesson 00: automatic differentiation ------------------------------------------------

def _check_softsign(Softsign: Any) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4)) * 3.0
    y = Softsign()(sn.Tensor(x))
    expect_close("Softsign forward", y, x / (1.0 + np.abs(x)),
                 "the forward is y = x / (1 + |x|), elementwise.")
    y32 = Softsign()(sn.Tensor(x.astype(np.float32)))
    expect_dtype("Softsign forward on float32", y32, np.float32,
                 "compute with the input array's own dtype: a Python float such as 1.0 "
                 "keeps float32, a float64 NumPy array does not.")
    # Away from 0, where |x| has a kink that finite differences would straddle.
    x_check = np.sign(x) * (np.abs(x) + 0.1)
    expect_gradcheck("Softsign backward", lambda t: Softsign()(t), [x_check],
                     "dy/dx = 1 / (1 + |x|)^2, so the backward returns gy / (1 + |x|)^2.")
    expect_gradcheck("Softsign second derivative", lambda t: Softsign()(t), [x_check],
                     "write the backward with tensor operations (F.abs, +, /, *) on the "
                     "saved tensor, not on .data arrays, so that it can be differentiated "
                     "again.", second_order=True)


def _cd_test_function(x: np.ndarray) -> float:
    return float(np.sum(np.sin(x) * x ** 2))


def _check_central_difference(central_difference: Any) -> None:
    x = np.array([0.3, -1.2, 2.0, 0.7])
    x_before = x.copy()
    eps = 1e-3
    got = central_difference(_cd_test_function, x, eps)
    if not np.array_equal(x, x_before):
        raise ExerciseFailure("central_difference: it changed its argument x. Hint: wiggle "
                              "a copy (x.copy()), or put x[j] back after each evaluation.")
    truth = np.cos(x) * x ** 2 + 2 * x * np.sin(x)
    forward = np.array([(_cd_test_function(x + eps * e) - _cd_test_function(x)) / eps
                        for e in np.eye(x.size)])
    expect_close("central_difference gradient", got, truth,
                 "(f(x + eps e_j) - f(x - eps e_j)) / (2 eps) for each j.", atol=1e-5,
                 rtol=1e-5,
                 mistakes=[(2 * truth, "the answer is twice the gradient: divide by 2 eps, "
                                       "the distance between x - eps e_j and x + eps e_j."),
                           (forward, "this is the one-sided difference (f(x + eps e_j) - "
                                     "f(x)) / eps, whose error shrinks like eps, not eps^2: "
                                     "step both ways.")])


def _check_newton_step(newton_step: Any) -> None:
    def f(x: sn.Tensor) -> sn.Tensor:
        return F.exp(x) - 2.0 * x

    def g(x: sn.Tensor) -> sn.Tensor:
        return x ** 4 + x

    for fn, x0, d1, d2, name in [(f, 2.0, np.exp(2.0) - 2, np.exp(2.0), "e^x - 2x at x = 2"),
                                 (g, 1.5, 4 * 1.5 ** 3 + 1, 12 * 1.5 ** 2, "x^4 + x at x = 1.5")]:
        got = newton_step(fn, x0)
        expect_close(f"newton_step on {name}", got, x0 - d1 / d2,
                     "x - f'(x) / f''(x): take f'(x) with sn.grad(..., create_graph=True), "
                     "then differentiate it again for f''(x).",
                     mistakes=[(x0 - d1, "this is a gradient step x - f'(x): divide f'(x) "
                                         "by the curvature f''(x)."),
                               (x0 - d2 / d1, "f' and f'' are swapped: the step is "
                                              "f'(x) / f''(x)."),
                               (x0 + d1 / d2, "wrong sign: Newton moves against the "
                                              "gradient, x - f'/f''.")])


# -- lesson 01: initialisation and the dense layer ------------------------------------------

def _check_initializer(init: Any, name: str, variance: Callable[[int, int], float],
                       kind: str, mistakes: Sequence[tuple[float, str]]) -> None:
    shape, fan_in, fan_out = (400, 300), 400, 300
    w = init(shape, fan_in, fan_out, np.random.default_rng(1))
    w = _as_array(name, w)
    if w.shape != shape:
        raise ExerciseFailure(f"{name}: expected shape {shape}, got shape {w.shape}. Hint: "
                              "pass `size=shape` to the generator.")
    again = _as_array(name, init(shape, fan_in, fan_out, np.random.default_rng(1)))
    other = _as_array(name, init(shape, fan_in, fan_out, np.random.default_rng(2)))
    if not np.array_equal(w, again) or np.array_equal(w, other):
        raise ExerciseFailure(f"{name}: the same seed should give the same weights and "
                              "another seed other weights. Hint: draw from the `rng` passed "
                              "in (rng.uniform / rng.normal), not from np.random.")
    want = variance(fan_in, fan_out)
    # 120 000 draws: the sample variance is within about 1% of the true one.
    got = float(np.var(w))
    hint = f"the variance should be {want:.4g} for fan_in = {fan_in}, fan_out = {fan_out}."
    for wrong, mistake_hint in mistakes:
        if abs(got - wrong) <= 0.05 * wrong:
            hint = mistake_hint
            break
    if abs(got - want) > 0.05 * want:
        raise ExerciseFailure(f"{name}: the weights' variance is {got:.4g}, expected "
                              f"{want:.4g}. Hint: {hint}")
    if abs(float(np.mean(w))) > 0.05 * np.sqrt(want):
        raise ExerciseFailure(f"{name}: the weights' mean is {np.mean(w):.4g}, expected 0. "
                              "Hint: centre the distribution on zero.")
    if kind == "uniform":
        limit = np.sqrt(3 * want)
        if np.max(np.abs(w)) > limit or np.max(np.abs(w)) < 0.99 * limit:
            raise ExerciseFailure(f"{name}: the largest |weight| is {np.max(np.abs(w)):.4g}, "
                                  f"expected just under a = {limit:.4g}. Hint: draw from "
                                  "U(-a, a), not from a normal distribution.")


def _check_glorot_uniform(glorot_uniform: Any) -> None:
    def variance(i: int, o: int) -> float:
        return 2.0 / (i + o)

    _check_initializer(glorot_uniform, "glorot_uniform", variance, "uniform", [
        (variance(400, 300) / 3, "the variance is a third of the target: a uniform on "
                                 "(-a, a) has variance a²/3, so a = sqrt(6 / (fan_in + "
                                 "fan_out)), not sqrt(2 / (fan_in + fan_out))."),
        (2.0 / 400, "this is He's variance 2 / fan_in: Glorot averages the two fans, "
                    "2 / (fan_in + fan_out)."),
    ])


def _check_he_normal(he_normal: Any) -> None:
    _check_initializer(he_normal, "he_normal", lambda i, o: 2.0 / i, "normal", [
        (1.0 / 400, "the variance is 1 / fan_in (LeCun's): a ReLU zeroes half of its "
                    "inputs, so He doubles it to 2 / fan_in."),
        (2.0 / 700, "this is Glorot's 2 / (fan_in + fan_out): He uses fan_in alone."),
        ((2.0 / 400) ** 2, "the variance is (2 / fan_in)²: rng.normal's scale is the "
                           "standard deviation, sqrt(2 / fan_in), not the variance."),
    ])


def _check_dense_backward(dense_backward: Any) -> None:
    rng = np.random.default_rng(3)
    x, W, b = rng.standard_normal((5, 4)), rng.standard_normal((4, 3)), rng.standard_normal(3)
    gy = rng.standard_normal((5, 3))
    tx, tW, tb = (sn.Tensor(a, requires_grad=True) for a in (x, W, b))
    truth = sn.grad(tx @ tW + tb, [tx, tW, tb], grad_outputs=gy)  # the autodiff gradient
    got = dense_backward(x, W, gy)
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        raise ExerciseFailure("dense_backward: expected a tuple (gx, gW, gb). Hint: return "
                              "all three gradients.")
    gx, gW, gb = got
    expect_close("dense_backward gx", gx, truth[0].numpy(),
                 "gx = gy @ W.T: each input feeds every output through one row of W.")
    expect_close("dense_backward gW", gW, truth[1].numpy(),
                 "gW = x.T @ gy, shaped like W (D_in, D_out).",
                 mistakes=[(truth[1].numpy() / 5, "gW is the mean over the batch: the loss "
                                                  "already carries any 1/N, so sum over "
                                                  "the rows (x.T @ gy).")])
    expect_close("dense_backward gb", gb, truth[2].numpy(),
                 "b is added to every row, so its gradient sums gy over the batch axis 0.",
                 mistakes=[(truth[2].numpy() / 5, "gb is the mean of gy's rows: b is added "
                                                  "to every row, so the gradients add up "
                                                  "(sum, not mean).")])


# -- lesson 02: convolution and pooling ---------------------------------------------------

def _check_conv_output_size(conv_output_size: Any) -> None:
    cases = [(28, 3, 1, 0), (28, 3, 1, 1), (28, 5, 2, 2), (7, 3, 2, 0), (8, 3, 2, 1),
             (10, 4, 3, 0)]
    for n, k, s, p in cases:
        # The truth is the shape F.conv2d actually produces.
        truth = F.conv2d(np.zeros((1, 1, n, n)), np.zeros((1, 1, k, k)), stride=s,
                         padding=p).shape[-1]
        got = conv_output_size(n, k, s, p)
        what = f"conv_output_size(n={n}, kernel={k}, stride={s}, padding={p})"
        if not isinstance(got, (int, np.integer)):
            _expect_int(what, got, truth, "a window either fits or it does not: use floor "
                                          "division //.")
        hint = "floor((n + 2 padding - kernel) / stride) + 1."
        if got == (n - k) // s + 1:
            hint = "the padding is missing: it adds `padding` zeros at *each* end, 2 padding."
        elif got == (n + p - k) // s + 1:
            hint = "padding goes on both ends: n + 2 padding."
        elif got == (n + 2 * p - k) // s:
            hint = "count the first window too: + 1."
        _expect_int(what, got, truth, hint)


def _check_cross_correlate2d(cross_correlate2d: Any) -> None:
    rng = np.random.default_rng(4)
    image, kernel = rng.standard_normal((7, 6)), rng.standard_normal((3, 2))
    truth = F.conv2d(image[None, None], kernel[None, None]).numpy()[0, 0]
    flipped = F.conv2d(image[None, None], kernel[None, None, ::-1, ::-1].copy()).numpy()[0, 0]
    expect_close("cross_correlate2d", cross_correlate2d(image, kernel), truth,
                 "out[i, j] = sum over a, b of image[i + a, j + b] * kernel[a, b]; the "
                 "output has H - kh + 1 rows and W - kw + 1 columns.",
                 mistakes=[(flipped, "the kernel is flipped: that is the convolution of "
                                     "signal processing. Deep learning's conv2d is a "
                                     "cross-correlation: kernel[a, b] multiplies "
                                     "image[i + a, j + b].")])


def _check_max_pool2d(max_pool2d: Any) -> None:
    rng = np.random.default_rng(5)
    x = rng.standard_normal((6, 8))
    truth = F.max_pool2d(x[None, None], 2).numpy()[0, 0]
    average = F.avg_pool2d(x[None, None], 2).numpy()[0, 0]
    strided = x[::2, ::2]
    expect_close("max_pool2d with k = 2", max_pool2d(x, 2), truth,
                 "out[i, j] = max of the block x[2i:2i+2, 2j:2j+2]; the output is (H/2, W/2).",
                 mistakes=[(average, "this is average pooling: take the max of each block."),
                           (strided, "this keeps the top-left value of each block: take "
                                     "the max over the whole block."),
                           (truth.T, "rows and columns are swapped: reshape to (H/k, k, "
                                     "W/k, k) and reduce axes 1 and 3.")])
    x3 = rng.standard_normal((6, 9))
    expect_close("max_pool2d with k = 3", max_pool2d(x3, 3),
                 F.max_pool2d(x3[None, None], 3).numpy()[0, 0],
                 "use k, not a fixed 2, for the block size.")


# -- lesson 03: PCA -----------------------------------------------------------------------

def _pca_data() -> np.ndarray:
    """60 points in 5-D with well separated variances (25, 9, 4, 1, 0.25) and a mean far from 0."""
    rng = np.random.default_rng(6)
    rotation, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    scores = rng.standard_normal((60, 5)) * np.array([5.0, 3.0, 2.0, 1.0, 0.5])
    return scores @ rotation.T + np.array([4.0, -3.0, 2.0, 5.0, 1.0])


def _check_pca_fit(pca_fit: Any) -> None:
    X, k = _pca_data(), 2
    mean = X.mean(axis=0)
    vt = np.linalg.svd(X - mean, full_matrices=False)[2]
    vt_uncentred = np.linalg.svd(X, full_matrices=False)[2]
    got = pca_fit(X, k)
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise ExerciseFailure("pca_fit: expected a tuple (mean, components). Hint: return both.")
    got_mean, got_c = _as_array("pca_fit mean", got[0]), _as_array("pca_fit components", got[1])
    expect_close("pca_fit mean", got_mean, mean, "the mean of the rows: X.mean(axis=0).")
    if got_c.shape == (5, k):
        raise ExerciseFailure(f"pca_fit components: expected shape ({k}, 5), got (5, {k}). "
                              "Hint: the directions are the rows of Vᵀ (vt[:k]), not its "
                              "columns.")
    if got_c.shape == (k, 5):
        got_c = _match_signs(got_c, vt[:k])
    expect_close("pca_fit components (signs matched)", got_c, vt[:k],
                 "the first k rows of Vᵀ from the SVD of the centred data, largest variance "
                 "first.",
                 mistakes=[(_match_signs(vt_uncentred[:k], got_c),
                            "these are the directions of the uncentred data: subtract the "
                            "mean before the SVD, or the first direction points at the mean.")])


def _match_signs(rows: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``rows`` with each row negated where it points away from ``reference``'s row."""
    if rows.shape != reference.shape:
        return rows
    return rows * np.where(np.sum(rows * reference, axis=1) < 0, -1.0, 1.0)[:, None]


def _check_pca_reconstruct(pca_reconstruct: Any) -> None:
    X = _pca_data()
    mean = X.mean(axis=0)
    c = np.linalg.svd(X - mean, full_matrices=False)[2][:2]
    truth = (X - mean) @ c.T @ c + mean
    expect_close("pca_reconstruct", pca_reconstruct(X, mean, c), truth,
                 "z = (X - mean) @ C.T, then X_hat = z @ C + mean.",
                 mistakes=[(truth - mean, "the mean is missing: add it back after decoding."),
                           (X @ c.T @ c + mean, "X was not centred before the projection: "
                                                "project X - mean, not X.")])


def _check_explained_variance_ratio(explained_variance_ratio: Any) -> None:
    X = _pca_data()
    s = np.linalg.svd(X - X.mean(axis=0), compute_uv=False)
    s_raw = np.linalg.svd(X, compute_uv=False)
    expect_close("explained_variance_ratio", explained_variance_ratio(X), s ** 2 / np.sum(s ** 2),
                 "σ_i² / Σ_j σ_j² for the singular values of the centred data, largest first.",
                 mistakes=[(s / np.sum(s), "the singular values are not squared: the "
                                           "variance along a direction is σ_i² / (N - 1)."),
                           (s_raw ** 2 / np.sum(s_raw ** 2),
                            "the data was not centred: subtract the mean first, or the "
                            "mean itself counts as variance."),
                           (np.cumsum(s ** 2) / np.sum(s ** 2),
                            "this is the cumulative sum: return each direction's own share.")])


# -- lesson 04: PCA versus a linear autoencoder ------------------------------------------

def _check_largest_principal_angle(largest_principal_angle: Any) -> None:
    rng = np.random.default_rng(7)
    q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    # span(A) and span(B) share q0 and meet at 30° and 60° in the other two directions,
    # and neither basis is orthonormal.
    theta = np.radians([0.0, 30.0, 60.0])
    basis_b = np.cos(theta) * q[:, :3] + np.sin(theta) * q[:, 3:]
    A = q[:, :3] @ rng.standard_normal((3, 3))
    B = basis_b @ rng.standard_normal((3, 3))
    got = largest_principal_angle(A, B)

    def angle_without_qr(a: np.ndarray, b: np.ndarray) -> float:
        cosine = np.linalg.svd(a.T @ b, compute_uv=False).min()
        return float(np.degrees(np.arccos(np.clip(cosine, -1, 1))))

    not_orthonormal = "the bases were not orthonormalised: the singular values of A.T @ B " \
                      "are cosines only when the columns are orthonormal. Use np.linalg.qr."
    expect_close("largest_principal_angle", got, 60.0,
                 "orthonormalise A and B (np.linalg.qr), take the singular values of "
                 "Q_A.T @ Q_B, and the arccos of the smallest one, in degrees.",
                 atol=1e-6, rtol=1e-6,
                 mistakes=[(np.radians(60.0), "this is in radians: the task asks for degrees."),
                           (0.0, "0° is the smallest angle (the shared direction), "
                                 "or cosines above 1 from bases that are not orthonormal, "
                                 "clipped to 0°: orthonormalise with np.linalg.qr, and "
                                 "take the arccos of the smallest cosine."),
                           (angle_without_qr(A, B), not_orthonormal),
                           (angle_without_qr(A / np.linalg.norm(A, axis=0),
                                             B / np.linalg.norm(B, axis=0)), not_orthonormal)])
    same = largest_principal_angle(A, A @ rng.standard_normal((3, 3)))
    expect_close("largest_principal_angle of a subspace with itself", same, 0.0,
                 "two bases of one subspace meet at 0°; clip the cosines to [-1, 1] "
                 "before arccos, since rounding can push them just above 1.", atol=1e-5)


def _check_directions_from_decoder(directions_from_decoder: Any) -> None:
    X = _pca_data()
    n, k = len(X), 2
    _, s, vt = np.linalg.svd(X - X.mean(axis=0), full_matrices=False)
    # A decoder that spans PCA's subspace in a mixed-up basis, as training leaves it.
    W_d = np.array([[2.0, 1.0], [0.5, -1.5]]) @ vt[:k]
    got = directions_from_decoder(W_d, X)
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise ExerciseFailure("directions_from_decoder: expected a tuple (directions, "
                              "variances). Hint: return both.")
    directions, variances = _as_array("directions", got[0]), _as_array("variances", got[1])
    true_var = s[:k] ** 2 / (n - 1)
    expect_close("directions_from_decoder variances", variances, true_var,
                 "the eigenvalues of Zᵀ Z / (N - 1), largest first.",
                 mistakes=[(true_var[::-1], "the variances are in ascending order, as "
                                            "np.linalg.eigh returns them: reverse them "
                                            "(and the eigenvectors with them)."),
                           (s[:k] ** 2 / n, "divide Zᵀ Z by N - 1, not N.")])
    if directions.shape == (X.shape[1], k):
        directions = _match_signs(directions.T, vt[:k]).T
    expect_close("directions_from_decoder directions (signs matched)", directions, vt[:k].T,
                 "the columns of Q @ P, in the order of decreasing eigenvalue; Q from the "
                 "SVD of W_d.T.",
                 mistakes=[(_match_signs(vt[k - 1::-1], directions.T).T,
                            "the directions are in ascending order of variance: reorder "
                            "P's columns with the eigenvalues.")])


# -- lesson 05: deep autoencoders ----------------------------------------------------------

def _value_and_grad(fn: Callable[..., Any], what: str, x: np.ndarray,
                    *rest: Any) -> tuple[float, np.ndarray]:
    """``fn(Tensor(x), *rest)`` as a float and its autodiff gradient with respect to x."""
    t = sn.Tensor(x, requires_grad=True)
    out = fn(t, *rest)
    if not isinstance(out, sn.Tensor):
        raise ExerciseFailure(f"{what}: expected a Tensor, got {type(out).__name__}. Hint: "
                              "compute with scratchnet's tensor operations (F.log, F.mean, "
                              "...), not NumPy, so that autodiff can differentiate it.")
    if out.size != 1:
        raise ExerciseFailure(f"{what}: expected a scalar, got shape {out.shape}. Hint: "
                              "reduce to one number as the formula says.")
    if not out.requires_grad:
        raise ExerciseFailure(f"{what}: the result is not connected to the input's graph. "
                              "Hint: do not go through .data or .numpy(); use tensor ops.")
    (g,) = sn.grad(out, t)
    return out.item(), g.numpy()


def _check_sparsity_penalty(sparsity_penalty: Any) -> None:
    rng = np.random.default_rng(8)
    h = 1.0 / (1.0 + np.exp(-rng.standard_normal((6, 4)) - 1.0))
    rho, beta, m = 0.05, 3.0, 6
    rho_hat = h.mean(axis=0)

    def kl(p: Any, q: Any) -> Any:
        return p * np.log(p / q) + (1 - p) * np.log((1 - p) / (1 - q))

    value, grad_h = _value_and_grad(sparsity_penalty, "sparsity_penalty", h, rho, beta)
    expect_close("sparsity_penalty value", value, beta * np.sum(kl(rho, rho_hat)),
                 "β Σ_j [ρ log(ρ/ρ̂_j) + (1-ρ) log((1-ρ)/(1-ρ̂_j))], ρ̂_j the mean of column j.",
                 mistakes=[(beta * np.sum(kl(rho_hat, rho)),
                            "the arguments of the KL are swapped: this is KL(ρ̂ || ρ). The "
                            "penalty is KL(ρ || ρ̂): the target ρ weighs the logs."),
                           (np.sum(kl(rho, rho_hat)), "β is missing: multiply the sum by β.")])
    # dΩ/dh[n, j] = (β/m) (-(ρ/ρ̂_j) + (1-ρ)/(1-ρ̂_j)), the same for every row n.
    truth = np.broadcast_to(beta / m * (-rho / rho_hat + (1 - rho) / (1 - rho_hat)), h.shape)
    expect_close("sparsity_penalty gradient", grad_h, truth,
                 "the value is right, so check that every step is a tensor operation.")


def _check_bce_with_logits(bce_with_logits: Any) -> None:
    rng = np.random.default_rng(9)
    logits = rng.standard_normal((3, 5)) * 3.0
    x = rng.uniform(0, 1, (3, 5))
    truth = np.mean(np.logaddexp(0, logits) - x * logits)
    value, grad_l = _value_and_grad(bce_with_logits, "bce_with_logits", logits, sn.Tensor(x))
    expect_close("bce_with_logits value", value, truth,
                 "the mean over all entries of softplus(l) - x l.",
                 mistakes=[(truth * logits.size, "this is the sum: average over all N·D "
                                                 "entries (F.mean)."),
                           (-truth, "the sign is flipped: the loss is -[x log p + (1-x) "
                                    "log(1-p)], which is >= 0.")])
    sigmoid = 1.0 / (1.0 + np.exp(-logits))
    expect_close("bce_with_logits gradient", grad_l, (sigmoid - x) / logits.size,
                 "the value is right, so check that every step is a tensor operation.")
    extreme = np.array([[-100.0, 100.0, 0.0]], dtype=np.float32)
    target = np.array([[1.0, 0.0, 0.5]], dtype=np.float32)
    out = bce_with_logits(sn.Tensor(extreme), sn.Tensor(target))
    expect_close("bce_with_logits at logits (-100, 100, 0) in float32", out,
                 np.mean([100.0, 100.0, np.log(2.0)]),
                 "log σ(-100) underflows to log 0 = -inf in float32: use the form "
                 "softplus(l) - x l (F.softplus is exact for any l).", rtol=1e-4)


# -- lesson 06: the convolutional autoencoder ---------------------------------------------

def _expect_int(what: str, got: Any, truth: int, hint: str) -> None:
    """Raise unless ``got`` is the integer ``truth``."""
    if not isinstance(got, (int, np.integer)) or isinstance(got, bool):
        raise ExerciseFailure(f"{what}: expected the int {truth}, got {got!r} "
                              f"({type(got).__name__}). Hint: {hint}")
    if got != truth:
        raise ExerciseFailure(f"{what}: expected {truth}, got {got}. Hint: {hint}")


def _check_conv_params(conv_params: Any) -> None:
    for c_in, c_out, k in [(1, 16, 3), (16, 8, 3), (3, 5, 4)]:
        # The truth is the parameter count of scratchnet's own layer.
        layer = sn.nn.Conv2D(c_in, c_out, k, rng=0)
        truth = sum(p.size for p in layer.parameters())
        got = conv_params(c_in, c_out, k)
        hint = "c_out · (kernel² · c_in + 1): weights for every input channel, and a bias."
        if got == c_out * k * k * c_in:
            hint = "the biases are missing: each of the c_out kernels has one."
        elif got == c_out * (k * c_in + 1):
            hint = "a kernel is kernel × kernel: square the kernel size."
        elif got == c_out * (k * k + 1):
            hint = "each kernel has kernel² weights for *each* input channel: times c_in."
        _expect_int(f"conv_params({c_in}, {c_out}, {k})", got, truth, hint)


def _check_conv_transpose_output_size(conv_transpose_output_size: Any) -> None:
    for n, k, s, p, op in [(4, 3, 2, 0, 0), (4, 3, 2, 1, 1), (7, 4, 2, 1, 0), (5, 3, 1, 1, 0),
                           (3, 5, 3, 2, 2)]:
        x = np.zeros((1, 1, n, n))
        truth = F.conv_transpose2d(x, np.zeros((1, 1, k, k)), stride=s, padding=p,
                                   output_padding=op).shape[-1]
        got = conv_transpose_output_size(n, k, s, p, op)
        hint = "(n - 1) · stride - 2 · padding + kernel + output_padding."
        if got == n * s:
            hint = ("n · stride is only the 'same'-padded case: the windows start at 0, "
                    "stride, ..., (n - 1) · stride and each is kernel long.")
        elif got == (n - 1) * s + k + op:
            hint = "padding *removes* rows here: subtract 2 · padding."
        elif got == (n - 1) * s - 2 * p + k:
            hint = "add output_padding."
        _expect_int(f"conv_transpose_output_size(n={n}, kernel={k}, stride={s}, padding={p}, "
                    f"output_padding={op})", got, truth, hint)


# -- lesson 07: denoising and contractive autoencoders ------------------------------------

def _check_gaussian_corrupt(gaussian_corrupt: Any) -> None:
    x = np.random.default_rng(10).uniform(0, 1, (200, 300)).astype(np.float32)
    x_before, sigma = x.copy(), 0.5
    noisy = gaussian_corrupt(x, sigma, np.random.default_rng(11))
    if not np.array_equal(x, x_before):
        raise ExerciseFailure("gaussian_corrupt: it changed its argument x. Hint: return "
                              "x + noise, a new array; `x += noise` overwrites the clean "
                              "input that the loss needs as its target.")
    expect_dtype("gaussian_corrupt", noisy, np.float32,
                 "keep x's dtype: standard_normal gives float64, so cast the sum back "
                 "with .astype(x.dtype).")
    noise = _as_array("gaussian_corrupt", noisy) - x
    if noise.shape != x.shape:
        raise ExerciseFailure(f"gaussian_corrupt: expected shape {x.shape}, got "
                              f"{noise.shape}. Hint: one noise value per entry of x.")
    std = float(noise.std())
    hint = "ε = σ · (standard normal noise), so its standard deviation is σ."
    if abs(std - sigma ** 2) < 0.02 * sigma ** 2:
        hint = "the noise's standard deviation is σ², not σ: σ² is its variance."
    elif abs(float(np.std(_as_array("gaussian_corrupt", noisy))) - sigma) < 0.02 * sigma:
        hint = "this returns the noise alone: add it to x."
    if abs(std - sigma) > 0.02 * sigma or abs(float(noise.mean())) > 0.02 * sigma:
        raise ExerciseFailure(f"gaussian_corrupt: x̃ - x has standard deviation {std:.4g} "
                              f"and mean {noise.mean():.3g}, expected {sigma} and 0. "
                              f"Hint: {hint}")
    again = gaussian_corrupt(x, sigma, np.random.default_rng(11))
    if not np.array_equal(_as_array("gaussian_corrupt", again), noise + x):
        raise ExerciseFailure("gaussian_corrupt: the same seed gave different noise. Hint: "
                              "draw from the `rng` passed in, not from np.random.")


def _check_denoising_loss(denoising_loss: Any) -> None:
    x = np.random.default_rng(12).uniform(0, 1, (4, 6))
    seen: list[np.ndarray] = []

    def reconstruct(t: sn.Tensor) -> sn.Tensor:
        seen.append(t.numpy().copy())  # what the autoencoder was given
        return 0.5 * t + 0.25

    # A copy: a corruption that works in place must not change the grader's clean x.
    loss = denoising_loss(reconstruct, x.copy(), 0.3, np.random.default_rng(13))
    if len(seen) != 1:
        raise ExerciseFailure(f"denoising_loss: `reconstruct` was called {len(seen)} times, "
                              "expected once. Hint: corrupt x, reconstruct x̃ once, compare.")
    x_in = seen[0].astype(np.float64)
    if np.allclose(x_in, x):
        raise ExerciseFailure("denoising_loss: the autoencoder was given the clean x. Hint: "
                              "corrupt it first with gaussian_corrupt(x, sigma, rng).")
    out = 0.5 * x_in + 0.25
    expect_close("denoising_loss", loss, np.mean((out - x) ** 2),
                 "the mean over all entries of (reconstruct(x̃) - x)².",
                 atol=1e-6, rtol=1e-4,
                 mistakes=[(np.mean((out - x_in) ** 2),
                            "the target is the corrupted x̃: a denoising autoencoder "
                            "compares its output with the *clean* x, so that it learns to "
                            "remove the noise instead of copying it."),
                           (np.sum((out - x) ** 2), "this is the sum: take the mean.")])


def _check_contractive_penalty(contractive_penalty: Any) -> None:
    rng = np.random.default_rng(14)
    x, W, b = rng.standard_normal((3, 5)), rng.standard_normal((5, 4)), rng.standard_normal(4)
    # The truth from autodiff, not from the formula: one backward pass per code unit gives
    # the column ∂h_j/∂x of every row (the rows do not interact).
    tx = sn.Tensor(x, requires_grad=True)
    h = F.sigmoid(tx @ sn.Tensor(W) + sn.Tensor(b))
    jac = np.stack([sn.grad(h[:, j], tx, grad_outputs=np.ones(3))[0].numpy()
                    for j in range(4)], axis=1)  # (N, K, D)
    truth = float(np.mean(np.sum(jac ** 2, axis=(1, 2))))
    hv = h.numpy()
    slope = hv * (1 - hv)
    got = contractive_penalty(sn.Tensor(x), sn.Tensor(W), sn.Tensor(b))
    expect_close("contractive_penalty", got, truth,
                 "mean over rows of Σ_j (h_j (1 - h_j))² Σ_i W_ij².",
                 mistakes=[(np.mean(np.sum(slope * np.sum(W ** 2, axis=0), axis=1)),
                            "h(1 - h) is not squared: ∂h_j/∂x_i = h_j(1 - h_j) W_ij, and "
                            "the whole derivative is squared."),
                           (3 * truth, "this is the sum over rows: take the mean.")])
    expect_gradcheck("contractive_penalty gradient with respect to W",
                     lambda w: contractive_penalty(sn.Tensor(x), w, sn.Tensor(b)), [W],
                     "training differentiates the penalty with respect to W: build it from "
                     "tensor operations on x, W and b, not from .data or NumPy arrays.")


# -- lesson 08: the VAE ---------------------------------------------------------------------

def _gaussian_params(seed: int, n: int = 3, latent: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, latent)), rng.uniform(-1.5, 1.0, (n, latent))


def _check_reparameterise(reparameterise: Any) -> None:
    mu, logvar = _gaussian_params(15)
    eps = np.random.default_rng(16).standard_normal(mu.shape)
    got = reparameterise(sn.Tensor(mu), sn.Tensor(logvar), eps)
    expect_close("reparameterise", got, mu + np.exp(0.5 * logvar) * eps,
                 "z = mu + exp(0.5 * logvar) * eps.",
                 mistakes=[(mu + np.exp(logvar) * eps,
                            "this scales ε by the variance σ² = exp(logvar); scale it by the "
                            "standard deviation σ = exp(½ logvar)."),
                           (mu + logvar * eps, "logvar is log σ², not σ: σ = exp(½ logvar)."),
                           (mu + np.sqrt(np.abs(logvar)) * eps,
                            "logvar is a logarithm: σ = exp(½ logvar), not sqrt(logvar).")])
    expect_gradcheck("reparameterise gradient with respect to mu and logvar",
                     lambda m, lv: reparameterise(m, lv, eps), [mu, logvar],
                     "z must stay a function of the Tensors mu and logvar: the gradient "
                     "with respect to mu is 1, with respect to logvar ½ σ ε.")


def _kl_standard(mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    return 0.5 * np.sum(np.exp(logvar) + mu ** 2 - 1 - logvar, axis=1)


def _kl_diag(mq: np.ndarray, lq: np.ndarray, mp: np.ndarray, lp: np.ndarray) -> np.ndarray:
    return 0.5 * np.sum(lp - lq + (np.exp(lq) + (mq - mp) ** 2) / np.exp(lp) - 1, axis=1)


def _check_kl_to_standard_normal(kl_to_standard_normal: Any) -> None:
    mu, logvar = _gaussian_params(17)
    truth = F.gaussian_kl(sn.Tensor(mu), sn.Tensor(logvar)).numpy()
    got = kl_to_standard_normal(sn.Tensor(mu), sn.Tensor(logvar))
    expect_close("kl_to_standard_normal", got, truth,
                 "½ Σ_j (exp(logvar_j) + mu_j² - 1 - logvar_j), one number per row (sum "
                 "over axis 1).",
                 mistakes=[(2 * truth, "the ½ is missing."),
                           (-truth, "the sign is flipped: a KL divergence is never "
                                    "negative."),
                           (truth.sum(), "this sums over the batch too: keep one KL per row "
                                         "(sum over axis 1 only)."),
                           (0.5 * np.sum(logvar + mu ** 2 - 1 - np.exp(logvar), axis=1),
                            "σ² and log σ² are swapped: the term is exp(logvar) - logvar."),
                           (0.5 * np.sum(np.exp(logvar) + mu - 1 - logvar, axis=1),
                            "μ is not squared: the mean contributes μ².")])
    expect_gradcheck("kl_to_standard_normal gradient", kl_to_standard_normal, [mu, logvar],
                     "the value is right, so keep every step a tensor operation: "
                     "∂KL/∂μ = μ and ∂KL/∂logvar = ½(σ² - 1).")


def _check_kl_diag_gaussians(kl_diag_gaussians: Any) -> None:
    mq, lq = _gaussian_params(18)
    mp, lp = _gaussian_params(19)
    args = [sn.Tensor(a) for a in (mq, lq, mp, lp)]
    truth = _kl_diag(mq, lq, mp, lp)
    got = kl_diag_gaussians(*args)
    expect_close("kl_diag_gaussians", got, truth,
                 "½ Σ_j [logvar_p - logvar_q + (exp(logvar_q) + (mu_q - mu_p)²) / "
                 "exp(logvar_p) - 1], one number per row.",
                 mistakes=[(_kl_diag(mp, lp, mq, lq),
                            "q and p are swapped: this is KL(p ‖ q), and the KL is not "
                            "symmetric. The expectation is under q, so σ_q² sits in the "
                            "numerator and σ_p² in the denominator."),
                           (2 * truth, "the ½ is missing."),
                           (-truth, "the sign is flipped: a KL divergence is never negative."),
                           (truth + mq.shape[1] / 2, "the -1 is missing: without it KL(q ‖ q) "
                                                     "would be ½ per unit instead of 0."),
                           (0.5 * np.sum(lp - lq + (np.exp(lq) + (mq - mp) ** 2) - 1, axis=1),
                            "divide σ_q² + (μ_q - μ_p)² by σ_p² = exp(logvar_p).")])
    zeros = np.zeros_like(mq)
    expect_close("kl_diag_gaussians with p = N(0, I)",
                 kl_diag_gaussians(args[0], args[1], sn.Tensor(zeros), sn.Tensor(zeros)),
                 _kl_standard(mq, lq), "against the standard normal it is the VAE's KL.")
    expect_close("kl_diag_gaussians of q with itself", kl_diag_gaussians(*args[:2], *args[:2]),
                 np.zeros(len(mq)), "KL(q ‖ q) = 0: check the -1 and the log terms.")
    expect_gradcheck("kl_diag_gaussians gradient", kl_diag_gaussians, [mq, lq, mp, lp],
                     "the value is right, so keep every step a tensor operation.")


# -- lesson 09: the β-VAE -------------------------------------------------------------------

def _check_beta_vae_loss(beta_vae_loss: Any) -> None:
    rng = np.random.default_rng(20)
    logits = rng.standard_normal((3, 6)) * 2.0
    x = rng.uniform(0, 1, (3, 6))
    mu, logvar = _gaussian_params(21)
    beta = 4.0
    nll = np.sum(np.logaddexp(0, logits) - x * logits, axis=1)
    kl = _kl_standard(mu, logvar)
    got = beta_vae_loss(*(sn.Tensor(a) for a in (logits, x, mu, logvar)), beta)
    expect_close("beta_vae_loss", got, np.mean(nll + beta * kl),
                 "mean over rows of [Σ_pixels (softplus(l) - x l) + β KL].",
                 mistakes=[(np.mean(beta * nll + kl), "β weighs the KL term, not the "
                                                      "reconstruction."),
                           (np.mean(nll + kl), "β is missing: multiply the KL by β."),
                           (np.mean(nll / logits.shape[1] + beta * kl),
                            "the reconstruction term is a mean over pixels: log p(x | z) "
                            "sums over the pixels. A per-pixel mean shrinks it D times, "
                            "which acts like a β D times larger."),
                           (np.mean(nll - beta * kl), "the KL is added to the loss: the loss "
                                                      "is -(log p(x|z) - β KL)."),
                           (np.sum(nll + beta * kl), "this sums over the batch: take the "
                                                     "mean over rows.")])
    expect_gradcheck("beta_vae_loss gradient", lambda lg, m, lv: beta_vae_loss(
        lg, sn.Tensor(x), m, lv, beta), [logits, mu, logvar],
        "the value is right, so keep every step a tensor operation.")


def _check_kl_per_unit(kl_per_unit: Any) -> None:
    mu, logvar = _gaussian_params(22, n=5, latent=3)
    per_element = 0.5 * (mu ** 2 + np.exp(logvar) - 1 - logvar)
    expect_close("kl_per_unit", kl_per_unit(mu, logvar), per_element.mean(axis=0),
                 "the mean over rows (axis 0) of ½ (mu² + exp(logvar) - 1 - logvar): one "
                 "number per latent unit.",
                 mistakes=[(per_element.sum(axis=0), "this sums over the rows: take the "
                                                     "mean, so that the number does not "
                                                     "grow with the batch."),
                           (2 * per_element.mean(axis=0), "the ½ is missing.")])


def _check_active_units(active_units: Any) -> None:
    rng = np.random.default_rng(23)
    # Units 0 and 2 carry information (variance about 1 and 0.25); units 1 and 3 sit near
    # the prior's mean with tiny wiggles (variance about 1e-6); unit 4 is constant at 3.
    mu = np.stack([rng.standard_normal(200), 1e-3 * rng.standard_normal(200),
                   0.5 * rng.standard_normal(200) + 2.0, 1e-3 * rng.standard_normal(200),
                   np.full(200, 3.0)], axis=1)
    got = active_units(mu)
    hint = "count the columns u with np.var(mu[:, u]) > threshold."
    counted = isinstance(got, (int, np.integer))  # else _expect_int says what is wrong
    if counted and got == int(np.sum(np.abs(mu.mean(axis=0)) > 1e-2)):
        hint = "this counts units with a large mean: a unit is active when its mean *moves* " \
               "with x, i.e. its variance over the rows is large."
    elif counted and got == int(np.sum(np.var(mu, axis=1) > 1e-2)):
        hint = "the variance is over the rows (axis 0), one number per unit."
    _expect_int("active_units", got, 2, hint)
    _expect_int("active_units with threshold 0.5", active_units(mu, 0.5), 1,
                "use the threshold argument, not a fixed 1e-2.")


# -- lesson 14: recurrent networks ----------------------------------------------------------

def _expect_pair(what: str, got: Any, names: str) -> tuple[Any, Any]:
    """The two items of a returned pair, or a failure saying what came back instead."""
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        kind = f"{type(got).__name__} of length {len(got)}" if isinstance(
            got, (tuple, list)) else type(got).__name__
        raise ExerciseFailure(f"{what}: expected a pair {names}, got a {kind}. Hint: "
                              f"return {names}.")
    return got[0], got[1]


def _rnn_data(seed: int) -> list[np.ndarray]:
    """x (N, T, F), h0 (N, H), W_ih (F, H), W_hh (H, H), b (H,): N=2, T=5, F=3, H=4."""
    rng = np.random.default_rng(seed)
    # Weights of size about 0.5 keep tanh out of saturation, so every step matters.
    return [rng.standard_normal((2, 5, 3)), rng.standard_normal((2, 4)),
            0.5 * rng.standard_normal((3, 4)), 0.5 * rng.standard_normal((4, 4)),
            0.5 * rng.standard_normal(4)]


def _set_cell(cell: Any, W_ih: np.ndarray, W_hh: np.ndarray, b: np.ndarray) -> None:
    """Load the weights into a scratchnet cell, with the whole bias in ``bias_ih``."""
    cell.weight_ih.data, cell.weight_hh.data = W_ih.copy(), W_hh.copy()
    cell.bias_ih.data, cell.bias_hh.data = b.copy(), np.zeros_like(b)


def _np_rnn(x: np.ndarray, h0: np.ndarray, W_ih: np.ndarray, W_hh: np.ndarray,
            b: np.ndarray, carry: bool = True, act: Callable[[np.ndarray], np.ndarray] = np.tanh,
            ) -> np.ndarray:
    """The states h_1..h_T (N, T, H) of a plain RNN, or of a known mistake in writing one."""
    h, states = h0, []
    for t in range(x.shape[1]):
        states.append(act(x[:, t] @ W_ih + (h if carry else h0) @ W_hh + b))
        h = states[-1]
    return np.stack(states, axis=1)


def _check_rnn_forward(rnn_forward: Any) -> None:
    x, h0, W_ih, W_hh, b = _rnn_data(30)
    rnn = sn.nn.RNN(3, 4, rng=0)  # seeded: leaves the library generator alone
    _set_cell(rnn.cells[0], W_ih, W_hh, b)
    out, h_last = rnn(sn.Tensor(x), sn.Tensor(h0[None]))
    truth, truth_last = out.numpy(), h_last.numpy()[0]
    got = rnn_forward(*(sn.Tensor(a) for a in (x, h0, W_ih, W_hh, b)))
    outputs, h_T = _expect_pair("rnn_forward", got, "(outputs, h_T)")
    shifted = np.concatenate([h0[:, None], truth[:, :-1]], axis=1)
    expect_close("rnn_forward outputs (compared with nn.RNN)", outputs, truth,
                 "each step computes h = tanh(x[:, t] @ W_ih + h @ W_hh + b) from the "
                 "previous h, starting from h0; outputs stacks the T new states on axis 1.",
                 mistakes=[(_np_rnn(x, h0, W_ih, W_hh, b, carry=False),
                            "every step used h0: the recurrence feeds each step the state "
                            "of the step before. Assign the new state back to h inside the "
                            "loop (h = F.tanh(...)) and use that h at the next step."),
                           (_np_rnn(x, np.zeros_like(h0), W_ih, W_hh, b, carry=False),
                            "the state never enters: each step must add h_{t-1} W_hh, with "
                            "h_0 = h0."),
                           (_np_rnn(x, np.zeros_like(h0), W_ih, W_hh, b),
                            "the state started from zeros: start from the h0 passed in."),
                           (_np_rnn(x, h0, W_ih, W_hh.T, b),
                            "W_hh is transposed: the weights are (in, out), so the state's "
                            "share is h @ W_hh."),
                           (_np_rnn(x, h0, W_ih, W_hh, b, act=lambda z: z),
                            "the tanh is missing: h_t = tanh(...)."),
                           (shifted, "outputs holds h_0 .. h_{T-1}: store each state after "
                                     "computing it, so outputs[:, t] is h_{t+1}.")])
    expect_close("rnn_forward h_T", h_T, truth_last,
                 "h_T is the state after the last step, outputs[:, -1].",
                 mistakes=[(h0, "this is h0: return the state after the last step."),
                           (truth[:, 0], "this is the state after the first step: return "
                                         "the last one, h_T.")])
    expect_gradcheck("rnn_forward gradient (backpropagation through time)", rnn_forward,
                     [x, h0, W_ih, W_hh, b],
                     "the values are right, so the gradient is lost on the way back: keep "
                     "every step a tensor operation (no .numpy(), np.tanh, .detach() or "
                     "new sn.Tensor(...) inside the loop), so that backward runs through all "
                     "T steps.")


_GATES = ("i", "f", "g", "o")


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-a))


def _np_lstm(z: np.ndarray, c: np.ndarray, order: Sequence[str] = _GATES,
             gate: Callable[[np.ndarray], np.ndarray] = _sigmoid,
             candidate: Callable[[np.ndarray], np.ndarray] = np.tanh,
             squash: Callable[[np.ndarray], np.ndarray] = np.tanh, forget: bool = True,
             new_c_in_h: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(h', c') of an LSTM step from the pre-activation z, or of a known mistake.

    ``order`` names the blocks of z as the answer read them; the other arguments swap the
    nonlinearities or drop a piece of the update.
    """
    blocks = dict(zip(order, np.split(z, 4, axis=1)))
    i, f, g, o = (blocks[name] for name in _GATES)
    c_new = (gate(f) * c if forget else c) + gate(i) * candidate(g)
    return gate(o) * squash(c_new if new_c_in_h else c), c_new


def _check_lstm_cell(lstm_cell: Any) -> None:
    rng = np.random.default_rng(31)
    n, f_in, hidden = 3, 4, 2
    x, h, c = (rng.standard_normal(s) for s in ((n, f_in), (n, hidden), (n, hidden)))
    W_ih = rng.standard_normal((f_in, 4 * hidden))
    W_hh = rng.standard_normal((hidden, 4 * hidden))
    b = rng.standard_normal(4 * hidden)
    cell = sn.nn.LSTMCell(f_in, hidden, rng=0)
    _set_cell(cell, W_ih, W_hh, b)
    h_true, c_true = (t.numpy() for t in cell(sn.Tensor(x), (sn.Tensor(h), sn.Tensor(c))))
    got = lstm_cell(*(sn.Tensor(a) for a in (x, h, c, W_ih, W_hh, b)))
    h_new, c_new = _expect_pair("lstm_cell", got, "(h', c')")

    z = x @ W_ih + h @ W_hh + b
    orders = [p for p in itertools.permutations(_GATES) if p != _GATES]
    order_mistakes = [(_np_lstm(z, c, p),
                       f"the blocks were read in the order {', '.join(p)}; the order is "
                       "i, f, g, o (PyTorch's too): i = z[:, :H], f = z[:, H:2H], "
                       "g = z[:, 2H:3H], o = z[:, 3H:].") for p in orders]
    swapped = (_np_lstm(z, c, gate=np.tanh, candidate=_sigmoid),
               "tanh and σ are swapped: the gates i, f, o are σ (between 0 and 1, how much "
               "passes), the candidate g is tanh (between -1 and 1, what is written).")
    candidate = (_np_lstm(z, c, candidate=_sigmoid),
                 "the candidate went through σ: it is tanh(g), between -1 and 1, so that "
                 "the cell can be pushed down as well as up.")
    c_mistakes = [(h_true, "this is h': return (h', c'), in that order."),
                  (_np_lstm(z, c, forget=False)[1],
                   "the forget gate is missing: the old cell is scaled by σ(f), "
                   "c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g)."),
                  *[(answer[1], hint) for answer, hint in [swapped, candidate, *order_mistakes]]]
    expect_close("lstm_cell c' (compared with nn.LSTMCell)", c_new, c_true,
                 "z = x W_ih + h W_hh + b; i, f, g, o = F.split(z, 4); "
                 "c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g).", mistakes=c_mistakes)
    h_mistakes = [(_np_lstm(z, c, new_c_in_h=False)[0],
                   "h' used the old cell c: h' = σ(o) ⊙ tanh(c'), with the new c'."),
                  (_np_lstm(z, c, squash=lambda a: a)[0],
                   "the tanh on the cell is missing: h' = σ(o) ⊙ tanh(c')."),
                  (_np_lstm(z, c, squash=_sigmoid)[0],
                   "the cell goes through tanh, not σ: h' = σ(o) ⊙ tanh(c')."),
                  *[(answer[0], hint) for answer, hint in [swapped, candidate, *order_mistakes]]]
    expect_close("lstm_cell h' (compared with nn.LSTMCell)", h_new, h_true,
                 "h' = σ(o) ⊙ tanh(c'), with o the last block of z.", mistakes=h_mistakes)
    expect_gradcheck("lstm_cell gradient", lstm_cell, [x, h, c, W_ih, W_hh, b],
                     "the values are right, so keep every step a tensor operation (F.split, "
                     "F.sigmoid, F.tanh, *, +) for the gradient to flow.")


def _check_clip_by_global_norm(clip_by_global_norm: Any) -> None:
    rng = np.random.default_rng(32)
    # Norms about 7, 0.3 and 1.5: a cap of 1 clips the first and third on their own but
    # not the second, so clipping each array alone gives another answer than the global
    # clip; a cap of 50 clips nothing.
    grads = [2.0 * rng.standard_normal((3, 4)), 0.15 * rng.standard_normal(4),
             0.5 * rng.standard_normal((2, 2, 2))]
    for max_norm in (1.0, 50.0):
        params = []
        for g in grads:
            p = sn.Tensor(np.zeros_like(g), requires_grad=True)
            p.grad = sn.Tensor(g.copy())
            params.append(p)
        total_true = sn.optim.clip_grad_norm_(params, max_norm)  # the truth, in place
        clipped_true = [p.grad.numpy() for p in params]
        inputs = [g.copy() for g in grads]
        got = clip_by_global_norm(inputs, max_norm)
        if not all(np.array_equal(a, g) for a, g in zip(inputs, grads)):
            raise ExerciseFailure("clip_by_global_norm: it changed the arrays passed in. "
                                  "Hint: build new arrays (g * scale), not g *= scale.")
        clipped, total = _expect_pair("clip_by_global_norm", got, "(clipped, total)")
        norms = np.array([np.sqrt(np.sum(g ** 2)) for g in grads])
        what = f"clip_by_global_norm(max_norm={max_norm:g})"
        expect_close(f"{what} total", total, total_true,
                     "total = sqrt(Σ over every array and element of g²), computed before "
                     "any clipping.",
                     mistakes=[(norms.sum(), "this adds the arrays' norms: the global norm "
                                             "is the root of all the squares together, "
                                             "sqrt(Σ_p ‖g_p‖²)."),
                               (total_true ** 2, "the square root is missing."),
                               (norms.max(), "this is the largest array's norm: the global "
                                             "norm takes every array together."),
                               (min(total_true, max_norm), "this is the norm after "
                                                           "clipping: return the one before.")])
        if not isinstance(clipped, (list, tuple)) or len(clipped) != len(grads):
            raise ExerciseFailure(f"{what}: expected a list of {len(grads)} arrays, one per "
                                  f"gradient, got {type(clipped).__name__}. Hint: return "
                                  "[g * scale for g in grads].")
        per_array = [g * min(1.0, max_norm / n) for g, n in zip(grads, norms)]
        stretched = [g * max_norm / total_true for g in grads]
        unit = [g / total_true for g in grads]
        for index, (answer, truth) in enumerate(zip(clipped, clipped_true)):
            expect_close(f"{what} array {index} (compared with optim.clip_grad_norm_)",
                         answer, truth,
                         "multiply every array by max_norm / total when total > max_norm, "
                         "and leave them as they are otherwise.",
                         mistakes=[(per_array[index],
                                    "each array was clipped by its own norm: that changes "
                                    "the direction of the step. Scale all of them by one "
                                    "factor, max_norm / total, from the global norm."),
                                   (stretched[index],
                                    "the gradient was scaled up to max_norm: clip only when "
                                    "total > max_norm, and leave a smaller one alone."),
                                   (unit[index], "the arrays were divided by total: multiply "
                                                 "by max_norm / total.")])


# -- lesson 15: a character model of the Sonnets --------------------------------------------

def _check_bits_per_char(bits_per_char: Any) -> None:
    rng = np.random.default_rng(33)
    logits = 2.0 * rng.standard_normal((8, 5))
    targets = rng.integers(0, 5, size=8)
    ln2 = np.log(2.0)
    truth = F.cross_entropy(sn.Tensor(logits), targets).item() / ln2
    picked = logits[np.arange(8), targets]
    column_softmax = logits - np.log(np.sum(np.exp(logits), axis=0, keepdims=True))
    expect_close("bits_per_char", bits_per_char(logits, targets), truth,
                 "the mean over t of -log2 softmax(logits[t])[targets[t]], with "
                 "log softmax = logits - log Σ exp(logits) along each row.",
                 mistakes=[(truth * ln2, "this is in nats (natural log): bits are "
                                         "log2 p = ln p / ln 2, so divide by ln 2."),
                           (-truth, "the sign is flipped: it is -log2 p, and p <= 1 makes "
                                    "it positive."),
                           (truth * len(targets), "this is the sum over the characters: "
                                                  "take the mean, bits *per* character."),
                           (-picked.mean() / ln2, "the logits were not normalised: subtract "
                                                  "log Σ_v exp(logits[t, v]) from each row "
                                                  "first, so they become log-probabilities."),
                           (-picked.mean(), "the logits were not normalised (and this is "
                                            "in nats): use log-softmax, then divide by "
                                            "ln 2."),
                           (-column_softmax[np.arange(8), targets].mean() / ln2,
                            "the softmax ran down the columns: normalise each row (axis=-1), "
                            "one distribution over the V characters per position.")])
    expect_close("bits_per_char of uniform logits", bits_per_char(np.zeros((4, 8)),
                                                                  np.arange(4)),
                 np.log2(8.0), "a uniform guess over V = 8 characters costs log2 8 bits.")
    expect_close("bits_per_char with logits near 1000", bits_per_char(logits + 1000.0, targets),
                 truth, "exp(1000) overflows to inf: subtract each row's max before exp "
                        "(log Σ exp(a) = m + log Σ exp(a - m)); it changes nothing else.")


def _check_temperature_softmax(temperature_softmax: Any) -> None:
    rng = np.random.default_rng(34)
    logits = 3.0 * rng.standard_normal((4, 6))

    def softmax(a: np.ndarray, axis: int = -1) -> np.ndarray:
        return F.softmax(sn.Tensor(a), axis=axis).numpy()

    for temperature in (0.5, 2.0):
        scaled = logits / temperature
        expect_close(f"temperature_softmax(temperature={temperature:g})",
                     temperature_softmax(logits, temperature), softmax(scaled),
                     "exp(logits / T) divided by its sum along the last axis.",
                     mistakes=[(softmax(logits * temperature),
                                "the logits were multiplied by T: divide them, so that T > 1 "
                                "flattens the distribution and T < 1 sharpens it."),
                               (softmax(logits), "the temperature was ignored."),
                               (softmax(scaled, axis=0), "the sum ran down the columns: "
                                                         "normalise each row (axis=-1)."),
                               (np.exp(scaled) / np.exp(scaled).sum(),
                                "the whole array was normalised at once: each row is its own "
                                "distribution (sum over axis=-1 with keepdims=True)."),
                               (np.exp(scaled), "the exponentials were not divided by their "
                                                "sum: the probabilities must sum to 1.")])
    expect_close("temperature_softmax of a 1-D vector", temperature_softmax(logits[0], 1.0),
                 softmax(logits[0]), "work along the last axis, so (V,) gives (V,).")
    big = np.array([[1000.0, 999.0, 990.0], [-1000.0, -1001.0, -1005.0]])
    expect_close("temperature_softmax of logits near ±1000", temperature_softmax(big, 1.0),
                 softmax(big), "exp(1000) overflows to inf (and exp(-1000) to 0), giving "
                               "inf / inf = nan: subtract each row's max from the logits / T "
                               "before exp. The result does not change, and the largest "
                               "exponent becomes exp(0) = 1.")


def _check_bigram_counts_probabilities(bigram_counts_probabilities: Any) -> None:
    # Repeated pairs (0, 1) and (1, 2); id 4 appears only as the last id (it is followed by
    # nothing) and id 5 never: both rows must come out uniform.
    ids = np.array([0, 1, 2, 0, 1, 1, 3, 0, 1, 2, 2, 3, 0, 4])
    vocab = 6
    for k in (0.5, 2.0):
        model = sn.models.NGramModel(2, smoothing="add-k", k=k, vocab_size=vocab).fit(ids)
        truth = np.exp(np.stack([model.log_prob_next(np.array([a])) for a in range(vocab)]))
        counts = np.zeros((vocab, vocab))
        np.add.at(counts, (ids[:-1], ids[1:]), 1)
        once = (counts > 0).astype(float)
        unigram = np.bincount(ids, minlength=vocab).astype(float)

        def rows(c: np.ndarray, denominator: np.ndarray, kk: float = k) -> np.ndarray:
            return (c + kk) / denominator

        what = f"bigram_counts_probabilities(V={vocab}, k={k:g})"
        got = bigram_counts_probabilities(ids.copy(), vocab, k)
        hint = ("P[a, b] = (c(a, b) + k) / (c(a) + k V), c(a, b) the number of t with "
                "ids[t] = a and ids[t+1] = b, and c(a) = Σ_b c(a, b).")
        got_rows = _as_array(what, got)
        if got_rows.shape == (vocab, vocab) and np.all(np.isfinite(got_rows)):
            sums = got_rows.sum(axis=1)
            if not np.allclose(sums, 1.0):
                bad = int(np.argmax(np.abs(sums - 1.0)))
                hint = (f"row {bad} sums to {sums[bad]:.4g}, not 1: P[a] is the distribution "
                        "of the id after a. " + hint)
        expect_close(f"{what} (compared with models.NGramModel)", got, truth, hint,
                     mistakes=[(rows(counts, counts.sum(axis=0) + k * vocab),
                                "the columns sum to 1: divide row a by its own total "
                                "c(a) = Σ_b c(a, b) (sum over axis 1), so each row is the "
                                "distribution of the id that follows a."),
                               (rows(counts.T, counts.T.sum(axis=1, keepdims=True)
                                     + k * vocab),
                                "the pairs are counted backwards: P[a, b] is b *after* a, so "
                                "count (ids[t], ids[t+1]) in C[ids[t], ids[t+1]]."),
                               (rows(once, once.sum(axis=1, keepdims=True) + k * vocab),
                                "each pair was counted once however often it occurs: "
                                "C[ids[:-1], ids[1:]] += 1 does not add up repeated index "
                                "pairs. Use np.add.at(C, (ids[:-1], ids[1:]), 1), or a loop."),
                               (rows(counts, unigram[:, None] + k * vocab),
                                "c(a) counted every appearance of a, including the last id, "
                                "which nothing follows: use the row sums of the pair counts, "
                                "c(a) = Σ_b c(a, b)."),
                               (rows(counts, counts.sum(axis=1, keepdims=True) + k),
                                "the denominator is c(a) + k V: k is added to every one of "
                                "the V cells of the row."),
                               (rows(counts, counts.sum(axis=1, keepdims=True) + vocab, 1.0),
                                "k = 1 was used: use the k passed in.")])


# -- lesson 16: self-supervised learning ---------------------------------------------------

def _check_rotation_targets(rotation_targets: Any) -> None:
    rng = np.random.default_rng(41)
    images = rng.standard_normal((3, 2, 5, 5))       # C = 2 ≠ H, so the wrong axes show
    n = len(images)
    turned = [sn.datasets.augment.rotate90(images, k) for k in range(4)]
    truth = np.concatenate(turned)
    truth_labels = np.repeat(np.arange(4), n)
    got, labels = _expect_pair("rotation_targets", rotation_targets(images.copy()),
                               "(rotated, labels)")
    expect_close("rotation_targets: the rotated images (compared with "
                 "datasets.augment.rotate90)", got, truth,
                 "block k (rows k·N .. (k+1)·N - 1) is the whole batch turned k quarter turns "
                 "anticlockwise: np.rot90(images, k, axes=(2, 3)), the (H, W) plane.",
                 mistakes=[(np.concatenate([np.rot90(images, -k, axes=(2, 3))
                                            for k in range(4)]),
                            "the images turn clockwise: np.rot90 with a positive k turns "
                            "anticlockwise on axes=(2, 3), from the rows axis towards the "
                            "columns axis; negating k (or swapping the axes) turns the other "
                            "way, so the labels 1 and 3 are swapped."),
                           (np.stack(turned, axis=1).reshape(truth.shape),
                            "the rows are grouped by image (image i's four rotations "
                            "together): put the rotations in blocks, the whole batch turned "
                            "by 0, then by 1, ... (np.concatenate of the four rotated "
                            "batches).")])
    _as_array("rotation_targets: the labels", labels)   # fails on None or non-numbers
    if np.asarray(labels).dtype.kind not in "iu":
        raise ExerciseFailure(f"rotation_targets: the labels have dtype "
                              f"{np.asarray(labels).dtype}, expected integers. Hint: class "
                              f"labels are integers, np.repeat(np.arange(4), N).")
    expect_close("rotation_targets: the labels", labels, truth_labels,
                 "row k·N + i has label k, the number of quarter turns.",
                 mistakes=[(np.tile(np.arange(4), n),
                            "the labels cycle 0, 1, 2, 3, 0, ... but the images come in "
                            "blocks of N: repeat each k N times (np.repeat, not np.tile)."),
                           (90 * truth_labels, "these are degrees: the label is the number "
                                               "of quarter turns, 0 to 3, one class each.")])


def _nearest_distance(chosen: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Each candidate's Hamming distance to the nearest of the ``chosen`` rows: (n!,)."""
    return np.min(np.sum(candidates[:, None, :] != chosen[None, :, :], axis=2), axis=1)


def _check_max_hamming_set(max_hamming_set: Any) -> None:
    for first, count in (([1, 0, 3, 2], 10), ([2, 0, 1], 6), ([3, 0, 4, 1, 2], 12)):
        n = len(first)
        what = f"max_hamming_set(first={first}, n_permutations={count})"
        got = _as_array(what, max_hamming_set(np.array(first), count))
        if got.shape != (count, n):
            raise ExerciseFailure(f"{what}: expected shape {(count, n)}, got shape "
                                  f"{got.shape}. Hint: one row of n tile indices per "
                                  f"permutation.")
        for r, row in enumerate(got):
            if not np.array_equal(np.sort(row), np.arange(n)):
                raise ExerciseFailure(f"{what}: row {r} is {row.tolist()}, not a permutation "
                                      f"of 0 .. {n - 1}. Hint: every row must be one of the "
                                      f"candidates, itertools.permutations(range(n)).")
        rows = got.astype(np.int64)
        if not np.array_equal(rows[0], first):
            raise ExerciseFailure(f"{what}: row 0 is {rows[0].tolist()}, expected {first}. "
                                  f"Hint: the set starts from the permutation `first` passed "
                                  f"in (not the identity).")
        candidates = np.array(list(itertools.permutations(range(n))))
        for k in range(1, count):
            nearest = _nearest_distance(rows[:k], candidates)
            mine = int(_nearest_distance(rows[:k], rows[k:k + 1])[0])
            best = int(nearest.max())
            if mine < best:
                total = np.sum(candidates[:, None, :] != rows[None, :k, :], axis=(1, 2))
                row_total = int(np.sum(rows[k][None, :] != rows[:k]))
                if row_total == total.max():
                    hint = ("it has the largest *total* distance to the chosen rows, but "
                            "that can sit close to one of them, or even repeat one: score "
                            "each candidate by its distance to the *nearest* chosen row (the "
                            "minimum over rows), then take the largest score.")
                elif mine == 0:
                    hint = ("it repeats an earlier row: measure each candidate against every "
                            "row chosen so far and keep its minimum.")
                else:
                    hint = ("row k is the candidate q with the largest min_{j<k} d(q, row_j), "
                            "the distance to the nearest row chosen so far.")
                raise ExerciseFailure(
                    f"{what}: row {k} = {rows[k].tolist()} is at distance {mine} from the "
                    f"nearest of rows 0 .. {k - 1}, but candidate "
                    f"{candidates[int(np.argmax(nearest))].tolist()} is at distance {best}. "
                    f"Hint: {hint}")
            tied = np.flatnonzero(nearest == best)
            if not np.array_equal(rows[k], candidates[tied[0]]):
                last = np.array_equal(rows[k], candidates[tied[-1]])
                hint = ("this is the last of the tied candidates: np.argmax returns the "
                        "first maximum, in the itertools.permutations order."
                        if last else "on a tie, take the candidate that comes first in the "
                                     "order of itertools.permutations(range(n)).")
                raise ExerciseFailure(
                    f"{what}: row {k} = {rows[k].tolist()} is one of the {len(tied)} "
                    f"candidates at the largest distance ({best}), but the tie rule takes "
                    f"{candidates[tied[0]].tolist()}, the first of them. Hint: {hint}")


def _np_nt_xent(z1: np.ndarray, z2: np.ndarray, tau: float, normalise: bool = True,
                with_self: bool = False, with_positive: bool = True,
                one_view: bool = False) -> float:
    """NT-Xent written out, or one of the known mistakes in writing it."""
    z = np.concatenate([z1, z2])
    if normalise:
        z = z / np.linalg.norm(z, axis=1, keepdims=True)
    logits = z @ z.T / tau
    n2 = len(z)
    positive = logits[np.arange(n2), (np.arange(n2) + n2 // 2) % n2]
    kept = np.ones((n2, n2), dtype=bool)
    if not with_self:
        np.fill_diagonal(kept, False)
    if not with_positive:
        kept[np.arange(n2), (np.arange(n2) + n2 // 2) % n2] = False
    masked = np.where(kept, logits, -np.inf)
    top = masked.max(axis=1)
    per_row = top + np.log(np.sum(np.exp(masked - top[:, None]), axis=1)) - positive
    return float(np.mean(per_row[:n2 // 2] if one_view else per_row))


def _check_nt_xent(nt_xent: Any) -> None:
    rng = np.random.default_rng(43)
    # Rows of very different lengths, so that leaving out the normalisation shows.
    z1 = rng.standard_normal((5, 4)) * rng.uniform(0.3, 3.0, size=(5, 1))
    z2 = (z1 + 0.7 * rng.standard_normal((5, 4))) * rng.uniform(0.3, 3.0, size=(5, 1))
    for tau in (0.5, 0.2):
        truth = F.nt_xent(sn.Tensor(z1), sn.Tensor(z2), tau).item()
        expect_close(f"nt_xent(temperature={tau:g}) (compared with F.nt_xent)",
                     nt_xent(z1.copy(), z2.copy(), tau), truth,
                     "the mean over the 2N rows of logsumexp_{j≠i}(s_ij / τ) - s_i,p(i) / τ, "
                     "with s the cosine similarities of z = [z1; z2].",
                     mistakes=[(_np_nt_xent(z1, z2, tau, with_self=True),
                                "the sum in the denominator includes j = i, each row's "
                                "similarity with itself: leave it out (set those logits to "
                                "-inf, or mask the diagonal)."),
                               (_np_nt_xent(z1, z2, tau, normalise=False),
                                "the rows were not scaled to unit length: s_ij is the cosine "
                                "similarity, z_i · z_j / (|z_i| |z_j|)."),
                               (_np_nt_xent(z1, z2, tau * tau),
                                "the similarities were divided by τ twice (τ² in all)."),
                               (_np_nt_xent(z1, z2, 1.0), "the temperature was ignored: "
                                                          "divide the similarities by τ."),
                               (_np_nt_xent(z1, z2, tau, with_positive=False),
                                "the positive was left out of the denominator too: the sum "
                                "runs over every j ≠ i, positive included, so each row is a "
                                "(2N - 1)-way softmax."),
                               (_np_nt_xent(z1, z2, tau, one_view=True),
                                "only the N rows of z1 were scored: the rows of z2 are "
                                "anchors as well, and the mean runs over all 2N rows."),
                               (2 * len(z1) * truth, "this is the sum over the 2N rows: "
                                                      "take the mean.")])
    tau = 1e-3
    expect_close(f"nt_xent(temperature={tau:g})", nt_xent(z1.copy(), z2.copy(), tau),
                 F.nt_xent(sn.Tensor(z1), sn.Tensor(z2), tau).item(),
                 "similarities / 0.001 reach 1000 and exp(1000) overflows to inf: subtract "
                 "each row's largest logit before exp (logsumexp(a) = m + log Σ exp(a - m)).")


# -- lesson 17: the representation leaderboard ---------------------------------------------

def _np_knn(train: np.ndarray, labels: np.ndarray, test: np.ndarray, k: int,
            score: str = "cosine", tie: str = "similarity") -> np.ndarray:
    """Cosine k-NN predictions by ``metrics.knn_accuracy``'s rule, or a known mistake.

    ``score``: "cosine" (right), "dot" (rows not normalised), "euclidean" (nearest by
    distance) or "least" (the k *least* similar). ``tie``: "similarity" (right: summed
    similarity, then the smallest label) or "smallest" (the smallest tied label at once).
    """
    def unit(x: np.ndarray) -> np.ndarray:
        norm = np.linalg.norm(x, axis=1, keepdims=True)
        return x / np.where(norm > 0, norm, 1.0)

    if score == "dot":
        similarity = test @ train.T
    elif score == "euclidean":
        similarity = -np.linalg.norm(test[:, None, :] - train[None, :, :], axis=2)
    else:
        similarity = unit(test) @ unit(train).T
    order = np.argsort(similarity if score == "least" else -similarity, axis=1,
                       kind="stable")[:, :k]
    classes = np.unique(labels)
    out = np.empty(len(test), dtype=np.int64)
    for i, row in enumerate(order):
        votes = np.array([np.sum(labels[row] == c) for c in classes])
        weight = np.array([similarity[i, row][labels[row] == c].sum() for c in classes])
        if tie == "smallest":
            weight = np.zeros(len(classes))
        out[i] = classes[np.argmax(np.where(votes == votes.max(), weight, -np.inf))]
    return out


def _knn_data(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Three classes labelled 2, 5 and 7 around three directions, with rows of very
    different lengths (so cosine and Euclidean neighbours differ): train (24, 4) with
    labels (24,), and test (16, 4)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((3, 4))
    labels = np.array([2, 5, 7])[rng.permutation(np.arange(24) % 3)]
    index = np.searchsorted([2, 5, 7], labels)
    train = (centres[index] + 0.9 * rng.standard_normal((24, 4))) \
        * rng.uniform(0.2, 5.0, size=(24, 1))
    test = (centres[rng.integers(0, 3, size=16)] + 0.9 * rng.standard_normal((16, 4))) \
        * rng.uniform(0.2, 5.0, size=(16, 1))
    return train, labels, test


def _check_cosine_knn_predict(cosine_knn_predict: Any) -> None:
    # Seed 0 is one where each mistake below gives an answer of its own, and k = 4 has
    # tied votes that the summed similarity decides.
    train, labels, test = _knn_data(0)
    wrong_scores = [("euclidean", "these are the nearest rows by Euclidean distance: the "
                                  "probe compares directions, the cosine u·v / (|u| |v|), so "
                                  "that a feature vector's length does not matter."),
                    ("dot", "the rows were not scaled to unit length: a plain dot product "
                            "favours long training rows whatever their direction."),
                    ("least", "these are the k *least* similar rows: sort the similarities in "
                              "decreasing order (np.argsort(-s)).")]
    for k in (4, 5):
        what = f"cosine_knn_predict(k={k})"
        truth = _np_knn(train, labels, test, k)
        got = cosine_knn_predict(train.copy(), labels.copy(), test.copy(), k)
        # A wrong neighbourhood often comes with the simplest vote (ties to the smallest
        # label), so each is recognised with either tie rule.
        mistakes = [(_np_knn(train, labels, test, k, score=score, tie=tie), hint)
                    for score, hint in wrong_scores for tie in ("similarity", "smallest")]
        mistakes += [(_np_knn(train, labels, test, k, tie="smallest"),
                      "a tied vote went to the smallest label: among the tied labels, the one "
                      "whose neighbours' similarities add up to the most wins first."),
                     (np.searchsorted([2, 5, 7], truth),
                      "these are class indices 0, 1, 2: return the labels themselves (here 2, "
                      "5 and 7).")]
        expect_close(what, got, truth,
                     "unit rows, the k largest cosine similarities, the label most of them "
                     "hold; a tied vote goes to the label whose neighbours' similarities sum "
                     "highest.", mistakes=mistakes)


def _check_draw_labels_per_class(draw_labels_per_class: Any) -> None:
    # Classes of 8, 12, 6 and 14 examples, shuffled; m = 6 takes all of class 2.
    labels = np.random.default_rng(45).permutation(np.repeat(np.arange(4), [8, 12, 6, 14]))
    m = 6
    what = f"draw_labels_per_class(m={m})"
    raw = draw_labels_per_class(labels.copy(), m, np.random.default_rng(0))
    got = _as_array(what, raw)
    if got.shape != (4 * m,):
        raise ExerciseFailure(f"{what}: expected shape {(4 * m,)}, got shape {got.shape}. "
                              f"Hint: m indices of each of the C = 4 classes, one array.")
    if np.array_equal(np.sort(got), np.repeat(np.arange(4), m)) and \
            np.asarray(raw).dtype.kind in "iu":
        raise ExerciseFailure(f"{what}: these look like labels (each class {m} times): "
                              f"return the indices of the drawn examples, so that "
                              f"labels[indices] gives their labels.")
    if np.asarray(raw).dtype.kind not in "iu" or np.any(got < 0) or np.any(got >= len(labels)):
        raise ExerciseFailure(f"{what}: expected integer indices in 0 .. {len(labels) - 1}, "
                              f"got dtype {np.asarray(raw).dtype} with values from "
                              f"{got.min():g} to {got.max():g}.")
    index = got.astype(np.int64)
    if len(np.unique(index)) < len(index):
        repeated = int(index[np.flatnonzero(np.bincount(index) > 1)[0]])
        raise ExerciseFailure(f"{what}: example {repeated} was drawn more than once. Hint: "
                              f"draw without replacement, rng.choice(..., replace=False).")
    counts = np.bincount(labels[index], minlength=4)
    if not np.all(counts == m):
        raise ExerciseFailure(f"{what}: the classes 0 .. 3 got {counts.tolist()} examples, "
                              f"expected {m} each. Hint: draw m examples from every class "
                              f"(np.flatnonzero(labels == c) lists class c's), not m in all.")
    again = _as_array(what, draw_labels_per_class(labels.copy(), m, np.random.default_rng(0)))
    if not np.array_equal(again, got):
        raise ExerciseFailure(f"{what}: two calls with np.random.default_rng(0) drew different "
                              f"examples. Hint: draw from the `rng` passed in, so that a seed "
                              f"repeats the draw.")
    # Over many seeds every example of a class is drawn with probability m / n_c.
    n_draws = 300
    chosen = np.zeros(len(labels))
    for seed in range(1, n_draws + 1):
        chosen[_as_array(what, draw_labels_per_class(labels.copy(), m,
                                                     np.random.default_rng(seed))
                         ).astype(np.int64)] += 1
    expected = m / np.bincount(labels)[labels]
    if np.any(chosen == n_draws) and np.any(chosen == 0):
        raise ExerciseFailure(f"{what}: over {n_draws} seeds some examples were drawn every "
                              f"time and some never. Hint: the m examples of a class must be "
                              f"a random choice (rng.choice), not the first m.")
    worst = int(np.argmax(np.abs(chosen / n_draws - expected)))
    if abs(chosen[worst] / n_draws - expected[worst]) > 0.15:
        raise ExerciseFailure(f"{what}: over {n_draws} seeds example {worst} (class "
                              f"{labels[worst]}) was drawn {chosen[worst] / n_draws:.0%} of the "
                              f"time, expected about {expected[worst]:.0%} (m / the class's "
                              f"size). Hint: every example of a class must be equally likely.")


def _check_standardise(standardise: Any) -> None:
    rng = np.random.default_rng(46)
    train = rng.normal(3.0, 2.0, size=(20, 5)) * np.array([1.0, 10.0, 0.1, 0.0, 1.0])
    train[:, 3] = 4.0                                  # constant in the training set
    test = rng.normal(-1.0, 5.0, size=(8, 5))
    train_before, test_before = train.copy(), test.copy()
    got = _expect_pair("standardise", standardise(train, test), "(train_z, test_z)")
    if not (np.array_equal(train, train_before) and np.array_equal(test, test_before)):
        raise ExerciseFailure("standardise: it changed the arrays passed in. Hint: compute "
                              "new arrays ((x - mean) / std), not x -= mean in place.")

    def scaled(x: np.ndarray, stats: np.ndarray, axis: int = 0, ddof: int = 0) -> np.ndarray:
        mean = stats.mean(axis=axis, keepdims=True)
        std = stats.std(axis=axis, ddof=ddof, keepdims=True)
        return (x - mean) / np.where(std > 0, std, 1.0)

    mean, std = train.mean(axis=0), train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    hint = ("subtract the training columns' mean and divide by their standard deviation, "
            "or by 1 where it is 0 (a column constant in the training set), for both sets.")
    pooled = np.concatenate([train, test])
    expect_close("standardise: train_z", got[0], (train - mean) / std, hint,
                 mistakes=[(scaled(train, train, axis=1), "each row was scaled by its own "
                                                          "statistics: take the mean and std "
                                                          "of each column (axis=0), one per "
                                                          "feature."),
                           (scaled(train, train, ddof=1), "this std has ddof=1 (divides by "
                                                          "N - 1): the probe uses np.std's "
                                                          "default, ddof=0."),
                           (scaled(train, pooled), "the statistics came from the training "
                                                   "and test rows together: use the "
                                                   "training rows only.")])
    expect_close("standardise: test_z", got[1], (test - mean) / std, hint,
                 mistakes=[(scaled(test, test), "the test set was scaled with its own mean "
                                                "and std: that uses the test data to fit the "
                                                "probe. Scale it with the *training* "
                                                "statistics."),
                           (scaled(test, test, axis=1), "each row was scaled by its own "
                                                        "statistics: take the mean and std "
                                                        "of each training column (axis=0)."),
                           (scaled(test, pooled), "the statistics came from the training and "
                                                  "test rows together: use the training rows "
                                                  "only.")])


# -- lesson 18: GANs at work, inpainting and super-resolution ------------------------------

def _inpainting_data(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(reference, estimate, hole) of shape (3, 2, 6, 5): holes of different sizes, and an
    estimate that errs a lot inside each hole and a little outside, differently per image."""
    rng = np.random.default_rng(seed)
    reference = rng.uniform(0, 1, (3, 2, 6, 5))
    hole = np.zeros(reference.shape)
    hole[0, :, 1:4, 1:4] = 1.0                            # a 3×3 square in both channels
    hole[1, :, 0:5, 2:5] = 1.0                            # a 5×3 block
    hole[2] = rng.random((2, 6, 5)) < 0.4                 # scattered pixels
    inside = np.array([0.3, 0.1, 0.2])[:, None, None, None]
    estimate = reference + np.where(hole > 0, inside, 0.02) * rng.standard_normal(hole.shape)
    return reference, estimate, hole


def _check_hole_psnr(hole_psnr: Any) -> None:
    reference, estimate, hole = _inpainting_data(47)
    args = (reference.copy(), estimate.copy(), hole.copy())
    got = _as_array("hole_psnr", hole_psnr(*args))
    n = len(reference)
    if got.shape == ():
        raise ExerciseFailure(f"hole_psnr: expected one PSNR per image, shape ({n},), got a "
                              f"single number ({got:.6g}). Hint: reduce over every axis but "
                              f"the batch axis 0, e.g. .sum(axis=(1, 2, 3)).")
    axes = (1, 2, 3)
    squared = (reference - estimate) ** 2
    per_hole = np.sum(hole * squared, axis=axes) / np.sum(hole, axis=axes)
    truth = 10 * np.log10(1 / per_hole)
    all_pixels = np.sum(hole * squared, axis=axes) / hole[0].size
    known = 1 - hole
    expect_close("hole_psnr", got, truth,
                 "MSE_n = Σ hole·(reference − estimate)² / Σ hole over image n's axes, then "
                 "10·log10(1 / MSE_n).", atol=1e-6, rtol=1e-6,
                 mistakes=[(10 * np.log10(1 / all_pixels),
                            "the hole's squared errors were averaged over all the pixels of "
                            "the image: divide their sum by the number of hole pixels, "
                            "Σ hole, so that the given pixels (error 0 by design) do not "
                            "dilute it."),
                           (10 * np.log10(1 / np.mean(squared, axis=axes)),
                            "this is the PSNR of the whole image: only the hole pixels "
                            "count (multiply by hole, divide by Σ hole)."),
                           (20 * np.log10(1 / per_hole),
                            "the factor is 10 for a ratio of *squared* quantities (MSE): "
                            "10·log10(1 / MSE), which equals 20·log10(1 / RMSE)."),
                           (10 * np.log10(1 / np.sqrt(per_hole)),
                            "this is 10·log10(1 / RMSE): with the root the factor is 20, "
                            "or keep the MSE and use 10."),
                           (10 * np.log(1 / per_hole),
                            "decibels use the base-10 logarithm: np.log10, not np.log."),
                           (10 * np.log10(1 / (np.sum(known * squared, axis=axes)
                                               / np.sum(known, axis=axes))),
                            "this is measured on the given pixels: hole is 1 where the "
                            "pixel was *missing*, and that is where to measure.")])


def _np_contextual(generated: np.ndarray, corrupted: np.ndarray,
                   known: np.ndarray) -> np.ndarray:
    """‖M ⊙ (G(z) − y)‖₁ of each image: the first term of ``models.inpainting_loss``."""
    return np.sum(np.abs(known * (generated - corrupted)), axis=(1, 2, 3))


def _check_contextual_loss(contextual_loss: Any) -> None:
    reference, _, hole = _inpainting_data(48)
    known = 1 - hole
    corrupted = reference * known                         # the hole blanked out, as in the lesson
    rng = np.random.default_rng(49)
    # G(z) stays at least 0.05 away from y, so that |·| has no kink near the gradcheck's steps.
    generated = corrupted + rng.choice([-1.0, 1.0], hole.shape) * rng.uniform(0.05, 0.5,
                                                                                  hole.shape)
    n = len(generated)
    got = contextual_loss(sn.Tensor(generated, requires_grad=True), sn.Tensor(corrupted),
                          sn.Tensor(known))
    if not isinstance(got, sn.Tensor):
        raise ExerciseFailure(f"contextual_loss: expected a Tensor, got {type(got).__name__}. "
                              f"Hint: the search differentiates this loss with respect to z, "
                              f"so compute with tensor operations (F.abs, *, .sum), not NumPy.")
    values = _as_array("contextual_loss", got)
    if values.shape == ():
        raise ExerciseFailure(f"contextual_loss: expected one loss per image, shape ({n},), "
                              f"got a single number. Hint: sum over every axis but the batch "
                              f"axis 0; each image has its own z, and the search averages the "
                              f"N losses itself.")
    truth = _np_contextual(generated, corrupted, known)
    expect_close("contextual_loss (compared with models.inpainting_loss at prior_weight=0)",
                 values, truth, "Σ over image n's pixels of known · |generated − corrupted|.",
                 mistakes=[(np.sum(known * (generated - corrupted) ** 2, axis=(1, 2, 3)),
                            "the differences were squared: the contextual loss is an L1 "
                            "norm (F.abs), which lets a few known pixels disagree without "
                            "dragging the rest."),
                           (_np_contextual(generated, corrupted, hole),
                            "this compares the hole: y holds nothing there. Weigh by the "
                            "*known* mask M, which is 1 where the pixel was given."),
                           (_np_contextual(generated, corrupted, np.ones(hole.shape)),
                            "the mask is missing: every pixel counts, the hole included. "
                            "Multiply by known before summing."),
                           (truth / hole[0].size,
                            "this is the mean over the pixels: the L1 norm is a sum.")])
    if not got.requires_grad:
        raise ExerciseFailure("contextual_loss: the result is not connected to `generated`'s "
                              "graph. Hint: do not go through .data or .numpy(); use tensor "
                              "ops.")
    upstream = sn.Tensor(rng.standard_normal(n))
    expect_gradcheck("contextual_loss gradient with respect to generated",
                     lambda g: (contextual_loss(g, sn.Tensor(corrupted), sn.Tensor(known))
                                * upstream).sum(), [generated],
                     "the value is right, so keep every step a tensor operation.")


def _check_pixel_shuffle(pixel_shuffle: Any) -> None:
    rng = np.random.default_rng(50)
    for r in (2, 3):
        n, c, h, w = 2, 2, 3, 4                       # C ≠ r² and H ≠ W, so mix-ups show
        x = rng.standard_normal((n, c * r * r, h, w))
        what = f"pixel_shuffle(x of shape {x.shape}, r={r}) (compared with F.pixel_shuffle)"
        got = pixel_shuffle(x.copy(), r)
        truth = F.pixel_shuffle(sn.Tensor(x), r).numpy()
        split = x.reshape(n, c, r, r, h, w)           # axes n, c, i, j, h, w
        outer = x.reshape(n, r, r, c, h, w)           # channel (i·r + j)·C + c: i, j outermost
        expect_close(what, got, truth,
                     "out[n, c, h·r + i, w·r + j] = x[n, c·r² + i·r + j, h, w]: reshape to "
                     "(N, C, r, r, H, W), transpose to (N, C, H, r, W, r), reshape.",
                     mistakes=[(x.reshape(truth.shape),
                                "a reshape alone moves no value: the channels' entries stay "
                                "in memory order, so rows come out stacked, not interleaved. "
                                "Transpose between the two reshapes."),
                               (outer.transpose(0, 3, 4, 1, 5, 2).reshape(truth.shape),
                                "the channel axis was split as (r, r, C), so output channel c "
                                "took channels c, C + c, 2C + c, ... (TensorFlow's "
                                "depth_to_space order). PyTorch's order keeps each output "
                                "channel's r² inputs together: split it as (C, r, r)."),
                               (split.transpose(0, 1, 4, 3, 5, 2).reshape(truth.shape),
                                "each r×r block is transposed: the first sub-pixel index i "
                                "(channel c·r² + i·r + j) is the row offset, so it goes "
                                "after H, and j after W: transpose (0, 1, 4, 2, 5, 3)."),
                               (split.transpose(0, 1, 2, 4, 3, 5).reshape(truth.shape),
                                "the output is r×r tiles, each a whole low-resolution image: "
                                "the sub-pixel index must come *after* h (row h·r + i, not "
                                "i·H + h), so transpose to (N, C, H, r, W, r).")])


# -- lesson 19: image-to-image translation ------------------------------------------------

_SOBEL_X = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])


def _sobel_pair(image: np.ndarray, kernel_x: np.ndarray = _SOBEL_X,
                pad: str = "constant") -> tuple[np.ndarray, np.ndarray]:
    """(G_x, G_y) by F.conv2d (a cross-correlation) on the image padded by one pixel."""
    padded = np.pad(image, 1, mode=pad)[None, None]
    kernels = np.stack([kernel_x, kernel_x.T])[:, None]    # (2, 1, 3, 3)
    out = F.conv2d(padded, kernels).numpy()[0]
    return out[0], out[1]


def _check_sobel_magnitude(sobel_magnitude: Any) -> None:
    rng = np.random.default_rng(51)
    image = rng.uniform(0, 1, (7, 9))
    image[2:5, 3:6] += 2.0                      # a bright square: strong edges inside
    before = image.copy()
    got = _as_array("sobel_magnitude", sobel_magnitude(image))
    if not np.array_equal(image, before):
        raise ExerciseFailure("sobel_magnitude: it changed the image passed in. Hint: pad "
                              "into a new array (np.pad), and leave the input as it is.")
    if got.shape == (image.shape[0] - 2, image.shape[1] - 2):
        raise ExerciseFailure(f"sobel_magnitude: expected shape {image.shape}, got shape "
                              f"{got.shape}. Hint: without padding a 3×3 kernel fits only "
                              f"H − 2 by W − 2 times; pad one pixel of zeros on every side "
                              f"(np.pad(image, 1)) to keep the image's size.")
    gx, gy = _sobel_pair(image)
    truth = np.sqrt(gx ** 2 + gy ** 2)
    prewitt = np.array([[-1.0, 0.0, 1.0]] * 3)
    mistakes = [(gx ** 2 + gy ** 2, "the square root is missing: the magnitude is the "
                                    "length √(G_x² + G_y²), not its square."),
                (np.abs(gx) + np.abs(gy), "this is |G_x| + |G_y|, a cheaper stand-in: the "
                                          "magnitude is √(G_x² + G_y²)."),
                (np.abs(gx), "only G_x was used: edges along the rows need G_y = the "
                             "response to S_y = S_xᵀ, and the magnitude combines both."),
                (truth / 8, "the kernels were scaled by 1/8: use them as given."),
                (np.hypot(*_sobel_pair(image, prewitt)),
                 "these are the Prewitt kernels (all weights ±1): Sobel weighs the middle "
                 "row (of S_x) and column (of S_y) by 2.")]
    for mode in ("edge", "reflect", "symmetric", "wrap"):
        mistakes.append((np.hypot(*_sobel_pair(image, pad=mode)),
                         f"the border is padded with np.pad's mode={mode!r}: pad with zeros "
                         f"(the default mode, 'constant'), as F.conv2d's padding does."))
    expect_close("sobel_magnitude (compared with F.conv2d of the two kernels, padding=1)",
                 got, truth, "correlate the zero-padded image with S_x and S_y, then "
                 "√(G_x² + G_y²) at each pixel.", mistakes=mistakes)


def _check_cycle_consistency_loss(cycle_consistency_loss: Any) -> None:
    rng = np.random.default_rng(52)
    x = rng.uniform(-1, 1, (2, 1, 4, 3))
    # Round trips that miss by 0.05 .. 0.6, both ways: no kink of |·| near x_back, and
    # signed errors that cancel in part if the absolute value is left out.
    x_back = x + rng.choice([-1.0, 1.0], x.shape) * rng.uniform(0.05, 0.6, x.shape)
    diff = x_back - x
    value, grad = _value_and_grad(lambda b, a: cycle_consistency_loss(a, b),
                                  "cycle_consistency_loss", x_back, sn.Tensor(x))
    truth = float(np.mean(np.abs(diff)))
    expect_close("cycle_consistency_loss", value, truth,
                 "the mean over every entry of |x_back − x|.",
                 mistakes=[(np.mean(diff ** 2),
                            "this is the mean squared error: CycleGAN's cycle loss is the "
                            "L1 distance, mean |x_back − x|, which blurs less."),
                           (np.sum(np.abs(diff)), "this is the sum: take the mean over all "
                                                  "N·C·H·W entries."),
                           (truth * x[0].size, "this sums each image and averages the "
                                               "images: take the mean over all entries."),
                           (float(np.mean(diff)), "the absolute value is missing: errors of "
                                                  "opposite sign cancel."),
                           (float(np.mean(-diff)), "the absolute value is missing: errors "
                                                   "of opposite sign cancel.")])
    expect_close("cycle_consistency_loss gradient with respect to x_back", grad,
                 np.sign(diff) / diff.size,
                 "the value is right, so keep every step a tensor operation.")


def _np_receptive_field(kernel_sizes: Sequence[int], strides: Sequence[int],
                        own_stride: bool = False, minus_one: bool = True) -> int:
    """1 + Σ (k_l − 1) Π_{i<l} s_i, or one of the known mistakes in writing it."""
    field, step = 1, 1
    for k, s in zip(kernel_sizes, strides):
        if own_stride:
            step *= s
        field += (k - 1 if minus_one else k) * step
        if not own_stride:
            step *= s
    return field


def _patchgan_layers() -> tuple[list[int], list[int], int]:
    """The PatchGAN's convolutions (kernels, strides) and the field measured by autodiff.

    In evaluation mode a logit depends only on its patch: the rows where the gradient of
    an interior logit with respect to the input is nonzero span that patch.
    """
    from scratchnet.models.image_to_image import patchgan_discriminator
    critic = patchgan_discriminator(2, width=4, rng=0).eval()
    convs = [m for m in critic if isinstance(m, sn.nn.Conv2D)]
    kernels = [m.kernel_size[0] for m in convs]
    strides = [m.stride for m in convs]
    x = sn.Tensor(np.random.default_rng(53).uniform(-1, 1, (1, 2, 28, 28)), requires_grad=True)
    (g,) = sn.grad(critic(x)[0, 0, 3, 3], x)
    rows = np.flatnonzero(np.abs(g.numpy()).sum(axis=(0, 1, 3)) > 0)
    return kernels, strides, int(rows[-1] - rows[0] + 1)


def _check_patch_receptive_field(patch_receptive_field: Any) -> None:
    kernels, strides, measured = _patchgan_layers()
    rng = np.random.default_rng(54)
    cases = [(kernels, strides, measured, "the PatchGAN discriminator's layers, whose logits "
                                          "autodiff shows to see")]
    cases += [([3, 3, 3], [1, 1, 1], _np_receptive_field([3, 3, 3], [1, 1, 1]), ""),
              ([7], [2], 7, ""),
              ([3, 3, 3, 3], [2, 2, 2, 2], _np_receptive_field([3, 3, 3, 3], [2, 2, 2, 2]), "")]
    for _ in range(4):
        depth = int(rng.integers(2, 6))
        ks = [int(k) for k in rng.integers(1, 8, depth)]
        ss = [int(s) for s in rng.integers(1, 4, depth)]
        cases.append((ks, ss, _np_receptive_field(ks, ss), ""))
    for ks, ss, truth, note in cases:
        got = patch_receptive_field(list(ks), list(ss))
        what = f"patch_receptive_field(kernel_sizes={ks}, strides={ss})"
        if note:
            what += f" ({note} {truth}×{truth}-pixel patches)"
        hint = "r = 1 + Σ_l (k_l − 1) · Π_{i<l} s_i, the layers listed from the input."
        known = [(_np_receptive_field(ks, [1] * len(ss)),
                  "the strides were ignored: after a layer of stride s, one step of the next "
                  "layer's input spans s input pixels, so later kernels reach further."),
                 (_np_receptive_field(ks, ss, own_stride=True),
                  "each layer's own stride was counted: layer l's kernel moves over its own "
                  "input, whose step is the product of the *earlier* strides, Π_{i<l} s_i."),
                 (_np_receptive_field(ks[::-1], ss[::-1]),
                  "the layers were taken from the output end: the lists run from the input, "
                  "and the strides that stretch layer l are those of the layers before it."),
                 (_np_receptive_field(ks, ss, minus_one=False),
                  "each layer added k_l steps: a kernel of size k spans k pixels, k − 1 "
                  "steps beyond the first, so it adds (k_l − 1) · Π_{i<l} s_i."),
                 (_np_receptive_field(ks, ss) - 1,
                  "the 1 is missing: a stack of 1×1 kernels still sees one pixel.")]
        for wrong, mistake_hint in known:
            if wrong != truth and isinstance(got, (int, np.integer)) and got == wrong:
                hint = mistake_hint
                break
        _expect_int(what, got, truth, hint)


# -- the lessons -------------------------------------------------------------------------

LESSONS: dict[str, list[Exercise]] = {
    "00": [Exercise("Softsign", _check_softsign),
           Exercise("central_difference", _check_central_difference),
           Exercise("newton_step", _check_newton_step)],
    "01": [Exercise("glorot_uniform", _check_glorot_uniform),
           Exercise("he_normal", _check_he_normal),
           Exercise("dense_backward", _check_dense_backward)],
    "02": [Exercise("conv_output_size", _check_conv_output_size),
           Exercise("cross_correlate2d", _check_cross_correlate2d),
           Exercise("max_pool2d", _check_max_pool2d)],
    "03": [Exercise("pca_fit", _check_pca_fit),
           Exercise("pca_reconstruct", _check_pca_reconstruct),
           Exercise("explained_variance_ratio", _check_explained_variance_ratio)],
    "04": [Exercise("largest_principal_angle", _check_largest_principal_angle),
           Exercise("directions_from_decoder", _check_directions_from_decoder)],
    "05": [Exercise("sparsity_penalty", _check_sparsity_penalty),
           Exercise("bce_with_logits", _check_bce_with_logits)],
    "06": [Exercise("conv_params", _check_conv_params),
           Exercise("conv_transpose_output_size", _check_conv_transpose_output_size)],
    "07": [Exercise("gaussian_corrupt", _check_gaussian_corrupt),
           Exercise("denoising_loss", _check_denoising_loss),
           Exercise("contractive_penalty", _check_contractive_penalty)],
    "08": [Exercise("reparameterise", _check_reparameterise),
           Exercise("kl_to_standard_normal", _check_kl_to_standard_normal),
           Exercise("kl_diag_gaussians", _check_kl_diag_gaussians)],
    "09": [Exercise("beta_vae_loss", _check_beta_vae_loss),
           Exercise("kl_per_unit", _check_kl_per_unit),
           Exercise("active_units", _check_active_units)],
    "14": [Exercise("rnn_forward", _check_rnn_forward),
           Exercise("lstm_cell", _check_lstm_cell),
           Exercise("clip_by_global_norm", _check_clip_by_global_norm)],
    "15": [Exercise("bits_per_char", _check_bits_per_char),
           Exercise("temperature_softmax", _check_temperature_softmax),
           Exercise("bigram_counts_probabilities", _check_bigram_counts_probabilities)],
    "16": [Exercise("rotation_targets", _check_rotation_targets),
           Exercise("max_hamming_set", _check_max_hamming_set),
           Exercise("nt_xent", _check_nt_xent)],
    "17": [Exercise("cosine_knn_predict", _check_cosine_knn_predict),
           Exercise("draw_labels_per_class", _check_draw_labels_per_class),
           Exercise("standardise", _check_standardise)],
    "18": [Exercise("hole_psnr", _check_hole_psnr),
           Exercise("contextual_loss", _check_contextual_loss),
           Exercise("pixel_shuffle", _check_pixel_shuffle)],
    "19": [Exercise("sobel_magnitude", _check_sobel_magnitude),
           Exercise("cycle_consistency_loss", _check_cycle_consistency_loss),
           Exercise("patch_receptive_field", _check_patch_receptive_field)],
}


# -- finding, loading and grading a file -----------------------------------------------

def find_exercises_dir() -> Path:
    """``exercises/`` of the checkout that holds this package, else ``./exercises``."""
    # Imported here: scratchnet.cli imports this module for `scratchnet check`.
    from scratchnet.cli import CLIError, _find_checkout_folder
    try:
        return _find_checkout_folder("exercises", None, "exercises/ folder")
    except CLIError as err:
        raise FileNotFoundError(str(err)) from None


def _lesson_number(number: str) -> str:
    key = f"{int(number):02d}" if str(number).strip().isdigit() else str(number)
    if key not in LESSONS:
        raise ValueError(f"check: no exercises for lesson {number!r}; lessons with exercises: "
                         f"{', '.join(sorted(LESSONS))}")
    return key


def exercise_file(number: str, folder: Path | None = None) -> Path:
    """The stub file ``NN_topic.py`` of lesson ``number`` in ``folder`` (default: found)."""
    key = _lesson_number(number)
    folder = find_exercises_dir() if folder is None else Path(folder)
    matches = sorted(folder.glob(f"{key}_*.py"))
    if not matches:
        raise FileNotFoundError(f"check: no file {key}_*.py in {folder}")
    return matches[0]


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_scratchnet_exercise_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"check: cannot import {path} as Python")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(exercise: Exercise, module: ModuleType) -> Result:
    answer = getattr(module, exercise.name, None)
    if answer is None:
        return Result(exercise.name, "FAIL", f"the file defines no `{exercise.name}`. Hint: "
                      "keep the stub's name and signature.")
    try:
        # A wrong answer may overflow or take log 0; the failure message says so, once.
        with np.errstate(all="ignore"):
            exercise.check(answer)
    except ExerciseFailure as failure:
        return Result(exercise.name, "FAIL", str(failure))
    except (Exception, SystemExit) as err:  # the student's code raised (or called exit)
        frames = traceback.extract_tb(err.__traceback__)
        # The innermost line of the student's own file, else the innermost line of all.
        theirs = [f for f in frames if Path(f.filename) == Path(str(module.__file__))]
        frame = (theirs or frames)[-1]
        if isinstance(err, NotImplementedError) and frame is frames[-1] and theirs:
            return Result(exercise.name, "NOT DONE")  # the stub's own raise
        return Result(exercise.name, "FAIL",
                      f"raised {type(err).__name__}: {err} (at {Path(frame.filename).name}, "
                      f"line {frame.lineno}). Hint: read the docstring's shapes again.")
    return Result(exercise.name, "PASS")


def grade(number: str, path: Path | str | None = None) -> list[Result]:
    """Check every exercise of lesson ``number`` in ``path`` (default: the lesson's stub file).

    A file that cannot be imported fails every exercise with the import error.
    """
    key = _lesson_number(number)
    path = exercise_file(key) if path is None else Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"check: no file {path}")
    try:
        module = _load(path)
    except (Exception, SystemExit) as err:  # a syntax error or a crash at import: all fail
        return [Result(e.name, "FAIL", f"{path.name} could not be imported: "
                       f"{type(err).__name__}: {err}") for e in LESSONS[key]]
    return [_run(exercise, module) for exercise in LESSONS[key]]


def format_report(number: str, path: Path | str, results: Sequence[Result]) -> str:
    """One line per exercise (status and name), its message indented below, and a tally."""
    lines = [f"lesson {number}: {path}"]
    for r in results:
        lines.append(f"  {r.status:<8}  {r.name}")
        if r.message:
            lines.extend(textwrap.wrap(r.message, width=100, initial_indent=" " * 12,
                                       subsequent_indent=" " * 12, break_long_words=False))
    passed = sum(r.status == "PASS" for r in results)
    lines.append(f"{passed} of {len(results)} exercises pass")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """``check NN [--file PATH]``: print the report; return 0 when every exercise passes."""
    parser = argparse.ArgumentParser(prog="scratchnet check",
                                     description="grade a lesson's exercises")
    parser.add_argument("number", help="the lesson number, e.g. 00")
    parser.add_argument("--file", type=Path, default=None,
                        help="the file to grade (default: exercises/NN_*.py)")
    args = parser.parse_args(argv)
    try:
        path = exercise_file(args.number) if args.file is None else args.file
        results = grade(args.number, path)
    except (ValueError, FileNotFoundError) as err:
        print(f"scratchnet: error: {err}", file=sys.stderr)
        return 2
    print(format_report(_lesson_number(args.number), path, results))
    return 0 if all(r.status == "PASS" for r in results) else 1
