"""Check analytic gradients against central finite differences.

For ``y = f(x)``, backpropagation computes the vector-Jacobian product ``vᵀJ`` for an
upstream gradient ``v``. A finite difference estimates the same numbers without calculus:

    ∂(vᵀf)/∂x_j  ≈  (vᵀf(x + ε e_j) - vᵀf(x - ε e_j)) / 2ε        (error O(ε²))

:func:`gradcheck` compares the two in float64, choosing the cheapest test that is still
thorough for the size of the problem:

* **full Jacobian** (few inputs and outputs): every entry ``J[k, j]``, one backward pass per
  output element and two forward passes per input element;
* **vector-Jacobian** (moderate inputs): every entry of ``vᵀJ`` for a seeded random ``v``;
* **directional** (large inputs): ``vᵀJu`` for a few seeded random directions ``u``.

``v`` is random on purpose. Checking the gradient of ``f(x).sum()`` (``v`` = all ones) can
pass for a wrong backward: for a softmax, ``Σ softmax(x) = 1`` whatever ``x`` is, so the true
gradient of the sum is zero and any backward that also returns zero "passes".

Example — check your own function::

    import numpy as np
    import scratchnet as sn
    import scratchnet.functional as F

    def swish(x):
        return x * F.sigmoid(x)

    sn.gradcheck(swish, [np.random.randn(5, 3)])      # True, or raises GradcheckError
    sn.gradgradcheck(swish, [np.random.randn(5, 3)])  # second derivatives too
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from scratchnet.autograd import (
    Tensor,
    enable_grad,
    get_default_dtype,
    grad,
    no_grad,
    set_default_dtype,
)
from scratchnet.backend import as_numpy, get_array_module

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck"]


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with its finite-difference estimate."""


@contextlib.contextmanager
def _float64_defaults() -> Iterator[None]:
    previous = get_default_dtype()
    set_default_dtype(np.float64)
    try:
        yield
    finally:
        set_default_dtype(previous)


def _prepare(inputs: Sequence[Any]) -> list[Any]:
    """float64 leaf copies of the floating inputs; integer arrays and the rest pass through."""
    prepared = []
    for value in inputs:
        data = value.data if isinstance(value, Tensor) else value
        if (hasattr(data, "dtype") and data.dtype.kind == "f") or isinstance(data, float):
            xp = get_array_module(data)
            prepared.append(Tensor(xp.asarray(data, dtype=np.float64), requires_grad=True))
        elif hasattr(data, "dtype"):
            prepared.append(Tensor(data))
        else:
            prepared.append(value)
    return prepared


def _as_outputs(result: Any, name: str) -> list[Tensor]:
    outputs = list(result) if isinstance(result, (tuple, list)) else [result]
    for i, out in enumerate(outputs):
        if not isinstance(out, Tensor):
            raise TypeError(f"{name}: the function must return Tensors, output {i} is "
                            f"{type(out).__name__}")
        if out.dtype != np.float64:
            raise TypeError(f"{name}: output {i} has dtype {out.dtype}; finite differences "
                            "need float64 all the way (does the function cast its input?)")
    return outputs


def _analytic_vjp(outputs: list[Tensor], inputs: list[Tensor],
                  vs: list[Any]) -> list[np.ndarray]:  # host: float64 copies to compare
    """vᵀJ for every input as host float64 arrays, zeros where an input is unused."""
    live = [(o, v) for o, v in zip(outputs, vs) if o.requires_grad]
    if not live:
        return [np.zeros(x.shape) for x in inputs]
    grads = grad([o for o, _ in live], inputs, grad_outputs=[v for _, v in live],
                 allow_unused=True)
    return [np.zeros(x.shape) if g is None else as_numpy(g.data).astype(np.float64)
            for g, x in zip(grads, inputs)]


def _worst_failure(numerical: np.ndarray, analytic: np.ndarray, atol: float,
                   rtol: float) -> tuple[int, float] | None:  # host: compares host copies
    """Index (flat) and excess ratio of the worst element outside tolerance, or None."""
    allowed = atol + rtol * np.abs(numerical)
    excess = np.abs(numerical - analytic) / allowed
    excess = np.where(np.isnan(excess), np.inf, excess).ravel()
    worst = int(np.argmax(excess))
    return (worst, float(excess[worst])) if excess[worst] > 1 else None


def gradcheck(fn: Callable[..., Any], inputs: Sequence[Any], eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3, seed: int = 0,
              max_full: int = 256, max_vjp: int = 4096, n_directions: int = 4) -> bool:
    """Compare ``fn``'s backpropagated gradients with central differences, in float64.

    Args:
        fn: takes the inputs (as Tensors) and returns a Tensor or a tuple of Tensors.
        inputs: arrays, numbers or Tensors. Floating ones are copied to float64 and
            checked; integer arrays (labels, indices) are passed through unchecked.
        eps: the finite-difference step.
        atol, rtol: pass when ``|numerical - analytic| <= atol + rtol * |numerical|``.
        seed: seeds the random upstream gradient ``v`` and directions ``u``.
        max_full: compare the full Jacobian when inputs and outputs both have at most this
            many elements.
        max_vjp: otherwise compare every entry of ``vᵀJ`` when inputs have at most this
            many elements; beyond it, compare ``vᵀJu`` along ``n_directions`` random ``u``.

    Returns:
        ``True``; a mismatch raises :class:`GradcheckError` naming the input, the worst
        element and both values.
    """
    with _float64_defaults():
        args = _prepare(inputs)
        checked = [a for a in args if isinstance(a, Tensor) and a.requires_grad]
        if not checked:
            raise ValueError("gradcheck: no floating-point input to check")
        outputs = _as_outputs(fn(*args), "gradcheck")
        rng = np.random.default_rng(seed)
        vs = [rng.standard_normal(o.shape) for o in outputs]
        n_in = sum(x.size for x in checked)
        n_out = sum(o.size for o in outputs)

        def evaluate() -> np.ndarray:
            with no_grad():
                outs = _as_outputs(fn(*args), "gradcheck")
            return np.concatenate([as_numpy(o.data).ravel() for o in outs])  # host: copies

        def central_difference(x: Tensor, direction: Any) -> np.ndarray:
            original = x.data.copy()
            x.data = original + eps * direction
            plus = evaluate()
            x.data = original - eps * direction
            minus = evaluate()
            x.data = original
            return (plus - minus) / (2 * eps)

        if n_in <= max_full and n_out <= max_full:
            _check_full_jacobian(outputs, checked, central_difference, atol, rtol)
        else:
            v_flat = np.concatenate([v.ravel() for v in vs])  # host: vs come from rng
            analytic = _analytic_vjp(outputs, checked, vs)
            for i, (x, g) in enumerate(zip(checked, analytic)):
                xp = get_array_module(x.data)
                if n_in <= max_vjp:
                    numerical = np.empty(x.size)  # host: filled with host differences
                    for j in range(x.size):
                        e = xp.zeros(x.size)
                        e[j] = 1.0
                        numerical[j] = v_flat @ central_difference(x, e.reshape(x.shape))
                    _raise_if_bad(numerical, g.ravel(), atol, rtol, i, x.shape, "vᵀJ")
                else:
                    for d in range(n_directions):
                        u = rng.standard_normal(x.shape)
                        vju = v_flat @ central_difference(x, xp.asarray(u))
                        numerical = np.array([vju])  # host: differences are host copies
                        analytic_dir = np.array([np.sum(g * u)])  # host: g (as_numpy) and u (rng)
                        _raise_if_bad(numerical, analytic_dir, atol, rtol, i, x.shape,
                                      f"vᵀJu (random direction {d})")
    return True


def _check_full_jacobian(outputs: list[Tensor], inputs: list[Tensor],
                         central_difference: Callable[[Tensor, Any], np.ndarray],
                         atol: float, rtol: float) -> None:  # host: compares host copies
    n_out = sum(o.size for o in outputs)
    # Analytic rows: one backward pass per output element, upstream gradient one-hot.
    rows = []
    for k in range(n_out):
        one_hot = np.zeros(n_out)
        one_hot[k] = 1.0
        vs, start = [], 0
        for o in outputs:
            vs.append(one_hot[start:start + o.size].reshape(o.shape))
            start += o.size
        rows.append(np.concatenate([g.ravel() for g in _analytic_vjp(outputs, inputs, vs)]))
    analytic = np.stack(rows)  # (n_out, n_in)
    start = 0
    for i, x in enumerate(inputs):
        xp = get_array_module(x.data)
        numerical = np.empty((n_out, x.size))
        for j in range(x.size):
            e = xp.zeros(x.size)
            e[j] = 1.0
            numerical[:, j] = central_difference(x, e.reshape(x.shape))
        block = analytic[:, start:start + x.size]
        start += x.size
        _raise_if_bad(numerical, block, atol, rtol, i, x.shape, "Jacobian")


def _raise_if_bad(numerical: np.ndarray, analytic: np.ndarray, atol: float, rtol: float,
                  input_index: int, shape: tuple[int, ...],
                  what: str) -> None:  # host: reports on host copies
    failure = _worst_failure(numerical, analytic, atol, rtol)
    if failure is None:
        return
    flat, ratio = failure
    def element(j: int) -> tuple[int, ...]:
        return tuple(int(i) for i in np.unravel_index(j, shape))

    if what == "Jacobian":
        out_k, j = np.unravel_index(flat, numerical.shape)
        where = f" at output element {int(out_k)}, input element {element(int(j))}"
    elif what == "vᵀJ":
        where = f" at element {element(flat)}"
    else:
        where = ""
    n, a = numerical.ravel()[flat], analytic.ravel()[flat]
    raise GradcheckError(
        f"gradcheck: {what} mismatch for input {input_index} (shape {shape}){where}: "
        f"numerical {n:.10g}, analytic {a:.10g}, difference {abs(n - a):.3g} "
        f"({ratio:.3g}× the tolerance atol + rtol·|numerical|)"
    )


def gradgradcheck(fn: Callable[..., Any], inputs: Sequence[Any], eps: float = 1e-6,
                  atol: float = 1e-5, rtol: float = 1e-3, seed: int = 0, **kwargs: Any) -> bool:
    """Check second derivatives: :func:`gradcheck` applied to the backward pass itself.

    The function checked is ``(x, v) ↦ vᵀ ∂fn(x)/∂x`` computed with
    ``grad(..., create_graph=True)``. It depends on the inputs ``x`` (through the second
    derivative) and on the upstream gradient ``v`` (a backward must be linear in it), and
    both dependences are checked.
    """
    with _float64_defaults():
        args = _prepare(inputs)
        positions = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
        outputs = _as_outputs(fn(*args), "gradgradcheck")
        rng = np.random.default_rng(seed + 1)
        # Each v lives where its output does: it is an input of the checked function.
        vs = [get_array_module(o.data).asarray(rng.standard_normal(o.shape)) for o in outputs]

        def first_derivative(*tensors: Tensor) -> tuple[Tensor, ...]:
            xs, v = list(tensors[:len(args)]), list(tensors[len(args):])
            with enable_grad():
                outs = _as_outputs(fn(*xs), "gradgradcheck")
                diff = [xs[i] for i in positions]
                grads = grad(outs, diff, grad_outputs=v, create_graph=True, allow_unused=True)
            # An unused input's gradient is zero, on the input's own backend.
            return tuple(Tensor(get_array_module(x.data).zeros(x.shape)) if g is None else g
                         for g, x in zip(grads, diff))

        return gradcheck(first_derivative, [*args, *vs], eps=eps, atol=atol, rtol=rtol,
                         seed=seed, **kwargs)
