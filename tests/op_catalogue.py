"""The op catalogue: every differentiable operation of scratchnet, with inputs to check it on.

An :class:`OpCase` names one ``Function`` subclass, says how to draw float64 inputs for it
from a seeded ``numpy.random.Generator``, and calls it on Tensors. ``test_op_catalogue.py``
runs ``sn.gradcheck`` on every case (first derivatives) and ``sn.gradgradcheck`` on every
``smooth`` case (second derivatives), and fails when some ``Function`` subclass in the
package has no case at all.

Adding an op (conv2d, pooling, ...) means appending cases to ``CATALOGUE``, for example::

    CATALOGUE += [
        OpCase("conv2d-stride2", Conv2d, inputs(normal((2, 3, 5, 5)), normal((4, 3, 3, 3))),
               lambda x, w: F.conv2d(x, w, stride=2)),
    ]

Two rules keep the checks honest:

* **Stay away from kinks.** Where an op is not differentiable (0 for relu and abs, the
  bounds of clip, ties of max/min) a finite difference that straddles the kink measures
  the average of two slopes, and a correct backward would fail. The samplers below keep
  inputs at least a margin away from every kink.
* **Stay small.** gradcheck compares the full Jacobian when inputs and outputs have at most
  256 elements; shapes such as (3, 4) or (2, 3, 4) keep every check exact and fast.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

import scratchnet.functional as F
from scratchnet.autograd import Function, Tensor, enable_grad, grad
from scratchnet.functional.activations import (
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
)
from scratchnet.functional.conv import (
    AvgPool2d,
    AvgPool2dTranspose,
    Conv2d,
    Conv2dWeightGrad,
    ConvTranspose2d,
    MaxPool2d,
    MaxPoolGather,
    MaxUnpool2d,
    Pad2d,
    PixelShuffle,
    PixelUnshuffle,
)
from scratchnet.functional.losses import BinaryCrossEntropy
from scratchnet.functional.math import (
    Abs,
    Add,
    BroadcastTo,
    Cast,
    Clip,
    Concatenate,
    Div,
    Exp,
    GetItem,
    Log,
    LogSumExp,
    Masked,
    MatMul,
    Max,
    Maximum,
    Min,
    Minimum,
    Mul,
    Neg,
    Pow,
    PowConst,
    Reshape,
    ScatterAdd,
    Split,
    Sqrt,
    Sub,
    Sum,
    SumTo,
    Transpose,
    Where,
)
from scratchnet.functional.recurrent import GRUCellFused, LSTMCellFused

Sampler = Callable[[np.random.Generator], np.ndarray]
InputMaker = Callable[[np.random.Generator], list[np.ndarray]]


@dataclass(frozen=True)
class OpCase:
    """One gradient check.

    Attributes:
        name: the pytest id, e.g. ``"sum-axis=0,2-keepdims"``.
        function: the ``Function`` subclass this case exercises (it must appear in the
            graph that ``fn`` builds).
        make_inputs: draws the float64 input arrays from a seeded generator.
        fn: the function under test; takes one Tensor per input, returns a Tensor.
        smooth: ``fn`` is twice differentiable at every input ``make_inputs`` can draw,
            so ``gradgradcheck`` applies too. Piecewise-linear ops (relu, abs, max, ...)
            qualify once inputs keep away from their kinks: their second derivative is
            then exactly 0, and the check still tests that backward is linear in the
            upstream gradient.
    """

    name: str
    function: type[Function]
    make_inputs: InputMaker
    fn: Callable[..., Tensor]
    smooth: bool = True


def _gates_product(x: Tensor) -> Tensor:
    i, f, g, o = F.split(x, 4)  # four pieces, each used in a different place
    return i * f + g * o


# --------------------------------------------------------------------------------------
# Samplers: each returns a function rng -> float64 array.
# --------------------------------------------------------------------------------------
def inputs(*samplers: Sampler) -> InputMaker:
    """Combine one sampler per input into an ``OpCase.make_inputs``."""
    return lambda rng: [sample(rng) for sample in samplers]


def normal(shape: tuple[int, ...]) -> Sampler:
    """Standard normal values."""
    return lambda rng: rng.standard_normal(shape)


def uniform(low: float, high: float, shape: tuple[int, ...]) -> Sampler:
    """Uniform values in [low, high)."""
    return lambda rng: rng.uniform(low, high, shape)


def positive(shape: tuple[int, ...]) -> Sampler:
    """Values in [0.5, 2): safe for log, sqrt and a ** b."""
    return uniform(0.5, 2.0, shape)


def probabilities(shape: tuple[int, ...]) -> Sampler:
    """Values in [0.05, 0.95): probabilities kept away from the clamps at 0 and 1."""
    return uniform(0.05, 0.95, shape)


def away_from_zero(shape: tuple[int, ...], margin: float = 0.1) -> Sampler:
    """``sign * (margin + |u|)``: random signs, never closer to 0 than ``margin``."""
    def sample(rng: np.random.Generator) -> np.ndarray:
        sign = rng.choice([-1.0, 1.0], size=shape)
        return sign * (margin + np.abs(rng.standard_normal(shape)))
    return sample


def away_from(kinks: tuple[float, ...], shape: tuple[int, ...], margin: float = 0.1,
              low: float = -2.0, high: float = 2.0) -> Sampler:
    """Uniform values in [low, high) at least ``margin`` away from every point in ``kinks``."""
    def sample(rng: np.random.Generator) -> np.ndarray:
        x = rng.uniform(low, high, shape)
        while True:
            near = np.zeros(shape, dtype=bool)
            for kink in kinks:
                near |= np.abs(x - kink) < margin
            if not near.any():
                return x
            x[near] = rng.uniform(low, high, int(near.sum()))  # redraw the bad ones
    return sample


def zero_first_row(shape: tuple[int, ...]) -> Sampler:
    """Standard normal values, except the first row (along axis 0): exactly 0.

    For powers at 0, where the textbook formulas meet 0 · inf: ``x ** 0`` and ``0 ** b``.
    """
    def sample(rng: np.random.Generator) -> np.ndarray:
        x = rng.standard_normal(shape)
        x[0] = 0.0
        return x
    return sample


def distinct(shape: tuple[int, ...], spacing: float = 0.1) -> Sampler:
    """A random permutation of evenly spaced values: no two closer than ``spacing``.

    For max/min reductions: with no ties, a small step never changes which element wins.
    """
    def sample(rng: np.random.Generator) -> np.ndarray:
        n = int(np.prod(shape))
        return spacing * (rng.permutation(n) - (n - 1) / 2).reshape(shape)
    return sample


def separated_pair(shape_a: tuple[int, ...], shape_b: tuple[int, ...],
                   margin: float = 0.1) -> InputMaker:
    """Inputs ``(a, b)`` with ``|a - b| >= margin`` everywhere once broadcast (for maximum/minimum).

    ``shape_a`` must be the broadcast shape; ``b`` may be smaller and broadcast against it.
    """
    def make(rng: np.random.Generator) -> list[np.ndarray]:
        b = rng.standard_normal(shape_b)
        a = b + away_from_zero(shape_a, margin)(rng)
        return [a, b]
    return make


# Fixed, non-differentiable arguments (conditions, masks, indices, labels).
MASK_3x4 = np.array([[True, False, False, True],
                     [False, True, True, False],
                     [True, True, False, False]])
REPEATED_ROWS = np.array([0, 2, 0, 0, 1])            # row 0 three times: gradients must add
HARD_TARGETS_3x4 = MASK_3x4.astype(np.float64)       # 0/1 targets for the losses
LABELS_4 = np.array([2, 0, 4, 2])                    # class labels for cross_entropy, C = 5
# Constant operands of powers, as lists so that Tensor(...) puts them on the current
# backend. The exponents 0..3 meet a base row of zeros (zero_first_row); the bases hold
# zeros for a differentiated exponent, which stays >= 0.5 (positive), where d/db is 0.
EXPONENTS_0_TO_3 = [[0, 1, 2, 3], [3, 2, 1, 0], [1, 3, 0, 2]]
BASES_WITH_ZEROS = [[0.0, 0.5, 1.5, 0.0], [2.0, 0.0, 0.7, 1.0], [0.0, 1.2, 0.0, 0.3]]


def vjp(op: Callable[..., Tensor], wrt: int) -> Callable[..., Tensor]:
    """``(*args, v) ↦ ∂<op(*args), v>/∂args[wrt]``, computed with ``create_graph=True``.

    For the Functions that only appear inside a backward pass (conv2d's weight gradient,
    max-unpooling, ...): the returned gradient is built from them, so they are in its graph
    and gradcheck differentiates through them.
    """
    def fn(*tensors: Tensor) -> Tensor:
        *args, v = tensors
        with enable_grad():  # gradcheck evaluates under no_grad
            return grad((op(*args) * v).sum(), [args[wrt]], create_graph=True)[0]
    return fn


def _axis_name(axis: int | tuple[int, ...] | None) -> str:
    if axis is None:
        return "all"
    return ",".join(map(str, axis)) if isinstance(axis, tuple) else str(axis)


def _reductions(name: str, function: type[Function], op: Callable[..., Tensor],
                sampler: Sampler) -> list[OpCase]:
    """One case per (axis, keepdims) pair for a reduction over a (2, 3, 4) input."""
    return [OpCase(f"{name}-axis={_axis_name(axis)}" + ("-keepdims" if keepdims else ""),
                   function, inputs(sampler), partial(op, axis=axis, keepdims=keepdims))
            for axis in (None, 0, -1, (0, 2))
            for keepdims in (False, True)]


# --------------------------------------------------------------------------------------
# The catalogue
# --------------------------------------------------------------------------------------
CATALOGUE: list[OpCase] = [
    # ---- arithmetic (the second input of a broadcast case is summed back by the engine)
    OpCase("add", Add, inputs(normal((3, 4)), normal((3, 4))), F.add),
    OpCase("add-broadcast", Add, inputs(normal((2, 3, 4)), normal((3, 1))), F.add),
    OpCase("add-scalar", Add, inputs(normal((3, 4))), lambda x: x + 2.0),
    OpCase("sub", Sub, inputs(normal((3, 4)), normal((3, 4))), F.sub),
    OpCase("sub-broadcast", Sub, inputs(normal((3, 4)), normal((4,))), F.sub),
    OpCase("sub-reflected", Sub, inputs(normal((3, 4))), lambda x: 1.0 - x),
    OpCase("mul", Mul, inputs(normal((3, 4)), normal((3, 4))), F.mul),
    OpCase("mul-broadcast", Mul, inputs(normal((2, 1, 4)), normal((3, 1))), F.mul),
    OpCase("mul-same-tensor", Mul, inputs(normal((3, 4))), lambda x: x * x),
    OpCase("div", Div, inputs(normal((3, 4)), away_from_zero((3, 4), 0.5)), F.div),
    OpCase("div-broadcast", Div, inputs(normal((3, 4)), away_from_zero((4,), 0.5)), F.div),
    OpCase("div-reflected", Div, inputs(away_from_zero((3, 4), 0.5)), lambda x: 1.0 / x),
    OpCase("neg", Neg, inputs(normal((3, 4))), F.neg),
    OpCase("pow-const-2", PowConst, inputs(normal((3, 4))), lambda x: x ** 2),
    OpCase("pow-const-3", PowConst, inputs(normal((3, 4))), lambda x: x ** 3),
    OpCase("pow-const-half", PowConst, inputs(positive((3, 4))), lambda x: x ** 0.5),
    OpCase("pow-const-negative", PowConst, inputs(positive((3, 4))), lambda x: x ** -1.5),
    OpCase("pow", Pow, inputs(positive((3, 4)), normal((3, 4))), F.pow),
    OpCase("pow-broadcast", Pow, inputs(positive((3, 4)), normal((4,))), F.pow),
    OpCase("pow-reflected", Pow, inputs(normal((3, 4))), lambda x: 2.0 ** x),
    # at 0 the true derivatives are 0, where the textbook formulas give 0 · inf = NaN
    OpCase("pow-const-0-at-zero", PowConst, inputs(zero_first_row((3, 4))), lambda x: x ** 0),
    OpCase("pow-zero-base", Pow, inputs(zero_first_row((3, 4))),
           lambda a: a ** Tensor(EXPONENTS_0_TO_3)),
    OpCase("pow-exponent-of-zero-base", Pow, inputs(positive((3, 4))),
           lambda b: Tensor(BASES_WITH_ZEROS) ** b),
    OpCase("exp", Exp, inputs(normal((3, 4))), F.exp),
    OpCase("log", Log, inputs(positive((3, 4))), F.log),
    OpCase("sqrt", Sqrt, inputs(positive((3, 4))), F.sqrt),
    OpCase("abs", Abs, inputs(away_from_zero((3, 4))), F.abs),
    OpCase("maximum", Maximum, separated_pair((3, 4), (3, 4)), F.maximum),
    OpCase("maximum-broadcast", Maximum, separated_pair((3, 4), (4,)), F.maximum),
    OpCase("maximum-broadcast-first", Maximum, separated_pair((3, 4), (3, 1)),
           lambda big, small: F.maximum(small, big)),
    OpCase("minimum", Minimum, separated_pair((3, 4), (3, 4)), F.minimum),
    OpCase("minimum-broadcast", Minimum, separated_pair((3, 4), (4,)), F.minimum),
    OpCase("clip", Clip, inputs(away_from((-0.5, 0.5), (3, 4))),
           lambda x: F.clip(x, -0.5, 0.5)),
    OpCase("clip-low", Clip, inputs(away_from((0.3,), (3, 4))), lambda x: F.clip(x, 0.3)),
    OpCase("clip-high", Clip, inputs(away_from((-0.2,), (3, 4))),
           lambda x: F.clip(x, None, -0.2)),
    OpCase("where", Where, inputs(normal((3, 4)), normal((3, 4))),
           lambda a, b: F.where(MASK_3x4, a, b)),
    OpCase("where-broadcast", Where, inputs(normal((4,)), normal((3, 1))),
           lambda a, b: F.where(MASK_3x4, a, b)),
    OpCase("masked", Masked, inputs(normal((3, 4))), lambda x: F.masked(x, MASK_3x4)),
    # ---- casting: float32 would round away gradcheck's 1e-6 step, so a cast to float64
    # runs Cast's forward and backward here; test_tensor.py checks float32 <-> float64
    # casts exactly.
    OpCase("cast", Cast, inputs(normal((3, 4))), lambda x: Cast(np.dtype(np.float64))(x)),
    # ---- matrix product: 1-D operands go through reshape (expand_dims/squeeze)
    OpCase("matmul", MatMul, inputs(normal((3, 4)), normal((4, 2))), F.matmul),
    OpCase("matmul-batched", MatMul, inputs(normal((2, 3, 4)), normal((2, 4, 2))), F.matmul),
    OpCase("matmul-broadcast-batch", MatMul, inputs(normal((2, 1, 3, 4)), normal((3, 4, 2))),
           F.matmul),
    OpCase("matmul-batched-by-matrix", MatMul, inputs(normal((2, 3, 4)), normal((4, 2))),
           lambda a, b: a @ b),
    OpCase("matmul-vector-left", MatMul, inputs(normal((4,)), normal((4, 3))), F.matmul),
    OpCase("matmul-vector-right", MatMul, inputs(normal((3, 4)), normal((4,))), F.matmul),
    OpCase("matmul-vector-left-batched", MatMul, inputs(normal((4,)), normal((2, 4, 3))),
           F.matmul),
    OpCase("matmul-vector-vector", Mul, inputs(normal((4,)), normal((4,))), F.matmul),
    # ---- reductions
    *_reductions("sum", Sum, F.sum, normal((2, 3, 4))),
    OpCase("mean-axis=1", Sum, inputs(normal((2, 3, 4))), lambda x: x.mean(axis=1)),
    OpCase("mean-axis=all", Sum, inputs(normal((2, 3, 4))), F.mean),
    OpCase("var-axis=0", Sum, inputs(normal((4, 3))), lambda x: x.var(axis=0)),
    OpCase("var-ddof1-keepdims", Sum, inputs(normal((4, 3))),
           lambda x: F.var(x, axis=-1, keepdims=True, ddof=1)),
    *_reductions("max", Max, F.max, distinct((2, 3, 4))),
    *_reductions("min", Min, F.min, distinct((2, 3, 4))),
    *_reductions("logsumexp", LogSumExp, F.logsumexp, normal((2, 3, 4))),
    # ---- shape operations
    OpCase("reshape", Reshape, inputs(normal((2, 3, 4))), lambda x: x.reshape(6, 4)),
    OpCase("reshape-infer", Reshape, inputs(normal((2, 3, 4))), lambda x: F.reshape(x, (4, -1))),
    OpCase("expand-squeeze", Reshape, inputs(normal((3, 4))),
           lambda x: F.squeeze(F.expand_dims(x, 1) * 2.0, 1)),
    OpCase("transpose", Transpose, inputs(normal((2, 3, 4))), F.transpose),
    OpCase("transpose-axes", Transpose, inputs(normal((2, 3, 4))),
           lambda x: F.transpose(x, (1, 2, 0))),
    OpCase("transpose-negative-axes", Transpose, inputs(normal((2, 3, 4))),
           lambda x: x.transpose(-1, 0, 1)),
    OpCase("transpose-T", Transpose, inputs(normal((3, 4))), lambda x: x.T),
    OpCase("broadcast-to", BroadcastTo, inputs(normal((3, 1))),
           lambda x: F.broadcast_to(x, (2, 3, 4))),
    OpCase("broadcast-to-new-axis", BroadcastTo, inputs(normal((4,))),
           lambda x: F.broadcast_to(x, (3, 4))),
    OpCase("sum-to", SumTo, inputs(normal((2, 3, 4))), lambda x: F.sum_to(x, (3, 1))),
    OpCase("sum-to-row", SumTo, inputs(normal((3, 4))), lambda x: F.sum_to(x, (1, 4))),
    OpCase("sum-to-drop-axis", SumTo, inputs(normal((3, 4))), lambda x: F.sum_to(x, (4,))),
    OpCase("concatenate-axis=0", Concatenate,
           inputs(normal((2, 4)), normal((3, 4)), normal((1, 4))),
           lambda a, b, c: F.concatenate([a, b, c], axis=0)),
    OpCase("concatenate-axis=1", Concatenate,
           inputs(normal((3, 1)), normal((3, 2)), normal((3, 4))),
           lambda a, b, c: F.concatenate([a, b, c], axis=1)),
    OpCase("concatenate-axis=-1", Concatenate,
           inputs(normal((2, 2, 1)), normal((2, 2, 3)), normal((2, 2, 2))),
           lambda a, b, c: F.concatenate([a, b, c], axis=-1)),
    OpCase("stack", Concatenate, inputs(normal((3, 2)), normal((3, 2)), normal((3, 2))),
           lambda a, b, c: F.stack([a, b, c], axis=1)),
    # ---- split and unstack: one node, several outputs; the backward joins them again
    OpCase("split-gates", Split, inputs(normal((3, 8))), lambda x: _gates_product(x)),
    OpCase("split-axis=0-one-piece-unused", Split, inputs(normal((4, 3))),
           lambda x: F.split(x, 2, axis=0)[1]),
    OpCase("unstack-time-steps", Split, inputs(normal((2, 3, 4))),
           lambda x: F.unstack(x, axis=1)[0] * F.unstack(x, axis=1)[2]),
    # ---- one fused recurrent step (H = 2); the second-order check runs its composed twin
    OpCase("lstm-cell-fused", LSTMCellFused,
           inputs(normal((3, 8)), normal((3, 2)), normal((3, 2)), normal((2, 8))),
           lambda p, h, c, w: F.concatenate(list(F.lstm_cell_fused(p, h, c, w)), axis=-1)),
    OpCase("gru-cell-fused", GRUCellFused,
           inputs(normal((3, 6)), normal((3, 2)), normal((2, 6)), normal((6,))),
           F.gru_cell_fused),
    # ---- indexing: the backward of getitem is a ScatterAdd
    OpCase("getitem-int", GetItem, inputs(normal((3, 4))), lambda x: x[1]),
    OpCase("getitem-slices", GetItem, inputs(normal((3, 4))), lambda x: x[1:, ::2]),
    OpCase("getitem-negative-step", GetItem, inputs(normal((3, 4))), lambda x: x[::-1, 3:0:-2]),
    OpCase("getitem-ellipsis-newaxis", GetItem, inputs(normal((2, 3, 4))),
           lambda x: x[None, ..., 1]),
    OpCase("getitem-repeated-rows", GetItem, inputs(normal((3, 4))),
           lambda x: x[REPEATED_ROWS]),
    OpCase("getitem-repeated-list", GetItem, inputs(normal((3, 4))),
           lambda x: x[:, [3, 0, 3, 3]]),
    OpCase("getitem-repeated-pairs", GetItem, inputs(normal((3, 4))),
           lambda x: x[np.array([0, 2, 0, 0]), np.array([1, 3, 1, 1])]),
    OpCase("getitem-mask", GetItem, inputs(normal((3, 4))), lambda x: x[MASK_3x4]),
    OpCase("getitem-row-mask", GetItem, inputs(normal((3, 4))),
           lambda x: x[np.array([True, False, True])]),
    OpCase("scatter-add-repeated", ScatterAdd, inputs(normal((5, 4))),
           lambda g: ScatterAdd(REPEATED_ROWS, (3, 4))(g)),
    OpCase("scatter-add-pairs", ScatterAdd, inputs(normal((4,))),
           lambda g: ScatterAdd((np.array([0, 2, 0, 0]), np.array([1, 3, 1, 1])), (3, 4))(g)),
    OpCase("scatter-add-slices", ScatterAdd, inputs(normal((2, 2))),
           lambda g: ScatterAdd((slice(None, None, -2), slice(1, 3)), (3, 4))(g)),
    OpCase("scatter-add-mask", ScatterAdd, inputs(normal((6,))),
           lambda g: ScatterAdd(MASK_3x4, (3, 4))(g)),
    # ---- activations
    OpCase("relu", ReLU, inputs(away_from_zero((3, 4))), F.relu),
    OpCase("leaky-relu", LeakyReLU, inputs(away_from_zero((3, 4))), F.leaky_relu),
    OpCase("leaky-relu-slope0.2", LeakyReLU, inputs(away_from_zero((3, 4))),
           lambda x: F.leaky_relu(x, 0.2)),
    OpCase("sigmoid", Sigmoid, inputs(uniform(-4.0, 4.0, (3, 4))), F.sigmoid),
    OpCase("tanh", Tanh, inputs(uniform(-3.0, 3.0, (3, 4))), F.tanh),
    OpCase("softplus", Softplus, inputs(uniform(-5.0, 5.0, (3, 4))), F.softplus),
    OpCase("log-sigmoid", Softplus, inputs(uniform(-5.0, 5.0, (3, 4))), F.log_sigmoid),
    OpCase("softmax-axis=-1", Softmax, inputs(normal((3, 4))), F.softmax),
    OpCase("softmax-axis=0", Softmax, inputs(normal((3, 4))), lambda x: F.softmax(x, axis=0)),
    OpCase("softmax-3d-axis=1", Softmax, inputs(normal((2, 3, 4))),
           lambda x: F.softmax(x, axis=1)),
    OpCase("log-softmax-axis=-1", LogSoftmax, inputs(normal((3, 4))), F.log_softmax),
    OpCase("log-softmax-axis=0", LogSoftmax, inputs(normal((3, 4))),
           lambda x: F.log_softmax(x, axis=0)),
    OpCase("log-softmax-3d-axis=1", LogSoftmax, inputs(normal((2, 3, 4))),
           lambda x: F.log_softmax(x, axis=1)),
    OpCase("dropout-fixed-mask", Mul, inputs(normal((3, 4))),
           lambda x: F.dropout(x, 0.5, rng=0)),
    # ---- losses (soft targets are inputs, so their gradient is checked too)
    OpCase("bce-none", BinaryCrossEntropy,
           inputs(probabilities((3, 4)), uniform(0.0, 1.0, (3, 4))),
           lambda p, t: F.binary_cross_entropy(p, t, reduction="none")),
    OpCase("bce-mean", BinaryCrossEntropy,
           inputs(probabilities((3, 4)), uniform(0.0, 1.0, (3, 4))), F.binary_cross_entropy),
    OpCase("bce-sum-hard-targets", BinaryCrossEntropy, inputs(probabilities((3, 4))),
           lambda p: F.binary_cross_entropy(p, HARD_TARGETS_3x4, reduction="sum")),
    OpCase("bce-with-logits", Softplus, inputs(normal((3, 4)), uniform(0.0, 1.0, (3, 4))),
           lambda z, t: F.binary_cross_entropy_with_logits(z, t, reduction="none")),
    OpCase("mse", Sub, inputs(normal((3, 4)), normal((3, 4))), F.mse_loss),
    OpCase("cross-entropy", LogSoftmax, inputs(normal((4, 5))),
           lambda z: F.cross_entropy(z, LABELS_4, reduction="none")),
    OpCase("gaussian-kl", Exp, inputs(normal((3, 4)), normal((3, 4))), F.gaussian_kl),
    # ---- convolution: Conv2d, ConvTranspose2d (its input gradient) and Conv2dWeightGrad
    OpCase("conv2d", Conv2d, inputs(normal((2, 2, 4, 4)), normal((3, 2, 3, 3))), F.conv2d),
    OpCase("conv2d-bias", Conv2d,
           inputs(normal((1, 2, 4, 4)), normal((3, 2, 2, 2)), normal((3,))), F.conv2d),
    OpCase("conv2d-stride2-pad1", Conv2d, inputs(normal((1, 2, 5, 5)), normal((2, 2, 3, 3))),
           lambda x, w: F.conv2d(x, w, stride=2, padding=1)),
    OpCase("conv2d-stride3>kernel2", Conv2d, inputs(normal((1, 2, 6, 5)), normal((2, 2, 2, 2))),
           lambda x, w: F.conv2d(x, w, stride=3)),
    OpCase("conv2d-asymmetric-padding", Conv2d,
           inputs(normal((1, 2, 4, 5)), normal((2, 2, 3, 2))),
           lambda x, w: F.conv2d(x, w, stride=(2, 1), padding=((0, 2), (1, 0)))),
    OpCase("conv2d-same-even-kernel", Conv2d, inputs(normal((1, 1, 5, 5)), normal((2, 1, 4, 4))),
           lambda x, w: F.conv2d(x, w, stride=2, padding="same")),
    OpCase("conv-transpose2d", ConvTranspose2d,
           inputs(normal((1, 2, 3, 3)), normal((2, 3, 3, 3))), F.conv_transpose2d),
    OpCase("conv-transpose2d-stride2-pad1-outpad1", ConvTranspose2d,
           inputs(normal((1, 2, 3, 3)), normal((2, 2, 3, 3)), normal((2,))),
           lambda y, w, b: F.conv_transpose2d(y, w, b, stride=2, padding=1, output_padding=1)),
    OpCase("conv-transpose2d-stride3>kernel2", ConvTranspose2d,
           inputs(normal((1, 2, 2, 3)), normal((2, 2, 2, 2))),
           lambda y, w: F.conv_transpose2d(y, w, stride=3, output_padding=(2, 1))),
    OpCase("conv-transpose2d-asymmetric-padding", ConvTranspose2d,
           inputs(normal((1, 2, 3, 3)), normal((2, 2, 3, 2))),
           lambda y, w: F.conv_transpose2d(y, w, stride=(2, 1), padding=((0, 2), (1, 0)),
                                           output_padding=(1, 0))),
    OpCase("conv-transpose2d-same", ConvTranspose2d,
           inputs(normal((1, 2, 2, 3)), normal((2, 2, 4, 3))),
           lambda y, w: F.conv_transpose2d(y, w, stride=2, padding="same")),
    OpCase("conv2d-input-grad", ConvTranspose2d,
           inputs(normal((1, 2, 5, 5)), normal((2, 2, 3, 3)), normal((1, 2, 3, 3))),
           vjp(lambda x, w: F.conv2d(x, w, stride=2, padding=1), wrt=0)),
    OpCase("conv2d-weight-grad", Conv2dWeightGrad,
           inputs(normal((1, 2, 5, 5)), normal((3, 2, 3, 3)), normal((1, 3, 3, 3))),
           vjp(lambda x, w: F.conv2d(x, w, stride=2, padding=1), wrt=1)),
    OpCase("conv2d-weight-grad-same-asymmetric", Conv2dWeightGrad,
           inputs(normal((1, 2, 4, 5)), normal((2, 2, 2, 3)), normal((1, 2, 2, 5))),
           vjp(lambda x, w: F.conv2d(x, w, stride=(2, 1), padding="same"), wrt=1)),
    OpCase("conv-transpose2d-weight-grad", Conv2dWeightGrad,
           inputs(normal((1, 2, 3, 3)), normal((2, 2, 3, 3)), normal((1, 2, 6, 6))),
           vjp(lambda y, w: F.conv_transpose2d(y, w, stride=2, padding=1, output_padding=1),
               wrt=1)),
    # ---- pooling: MaxPool2d, MaxUnpool2d/MaxPoolGather and AvgPool2d/AvgPool2dTranspose;
    # distinct inputs keep every window's maximum clear of ties
    OpCase("max-pool2d", MaxPool2d, inputs(distinct((2, 2, 4, 4))),
           lambda x: F.max_pool2d(x, 2)),
    OpCase("max-pool2d-overlap-pad", MaxPool2d, inputs(distinct((1, 2, 5, 5))),
           lambda x: F.max_pool2d(x, 3, stride=2, padding=1)),
    OpCase("max-pool2d-stride1", MaxPool2d, inputs(distinct((1, 2, 4, 5))),
           lambda x: F.max_pool2d(x, 2, stride=1)),
    OpCase("max-pool2d-stride3>kernel2", MaxPool2d, inputs(distinct((1, 2, 5, 5))),
           lambda x: F.max_pool2d(x, 2, stride=3)),
    OpCase("max-pool2d-rectangular", MaxPool2d, inputs(distinct((1, 2, 5, 6))),
           lambda x: F.max_pool2d(x, (3, 2), stride=(2, 1), padding=(1, 0))),
    OpCase("max-pool2d-grad", MaxUnpool2d,
           inputs(distinct((1, 2, 4, 4)), normal((1, 2, 3, 3))),
           vjp(lambda x: F.max_pool2d(x, 2, stride=1), wrt=0)),
    OpCase("max-pool2d-grad-overlap-pad", MaxUnpool2d,
           inputs(distinct((1, 2, 5, 5)), normal((1, 2, 3, 3))),
           vjp(lambda x: F.max_pool2d(x, 3, stride=2, padding=1), wrt=0)),
    # MaxPoolGather reads the winners again: the gradient of max-pooling's gradient with
    # respect to its upstream gradient (the winners stay those of x)
    OpCase("max-pool2d-grad-grad", MaxPoolGather,
           inputs(distinct((1, 2, 4, 4)), normal((1, 2, 3, 3)), normal((1, 2, 4, 4))),
           vjp(vjp(lambda x: F.max_pool2d(x, 2, stride=1), wrt=0), wrt=1)),
    OpCase("max-pool2d-grad-grad-overlap-pad", MaxPoolGather,
           inputs(distinct((1, 2, 5, 5)), normal((1, 2, 3, 3)), normal((1, 2, 5, 5))),
           vjp(vjp(lambda x: F.max_pool2d(x, 3, stride=2, padding=1), wrt=0), wrt=1)),
    OpCase("avg-pool2d", AvgPool2d, inputs(normal((2, 2, 4, 4))),
           lambda x: F.avg_pool2d(x, 2)),
    OpCase("avg-pool2d-overlap-pad", AvgPool2d, inputs(normal((1, 2, 5, 5))),
           lambda x: F.avg_pool2d(x, 3, stride=2, padding=1)),
    OpCase("avg-pool2d-rectangular", AvgPool2d, inputs(normal((1, 2, 5, 6))),
           lambda x: F.avg_pool2d(x, (3, 2), stride=(1, 3), padding=(1, 0))),
    OpCase("avg-pool2d-grad", AvgPool2dTranspose,
           inputs(normal((1, 2, 4, 4)), normal((1, 2, 3, 3))),
           vjp(lambda x: F.avg_pool2d(x, 2, stride=1), wrt=0)),
    OpCase("avg-pool2d-grad-overlap-pad", AvgPool2dTranspose,
           inputs(normal((1, 2, 5, 5)), normal((1, 2, 3, 3))),
           vjp(lambda x: F.avg_pool2d(x, 3, stride=2, padding=1), wrt=0)),
    # ---- padding and cropping (crop2d is a slice: GetItem)
    OpCase("pad2d", Pad2d, inputs(normal((1, 2, 3, 4))), lambda x: F.pad2d(x, 1)),
    OpCase("pad2d-asymmetric", Pad2d, inputs(normal((2, 1, 3, 3))),
           lambda x: F.pad2d(x, ((0, 2), (1, 0)))),
    OpCase("crop2d", GetItem, inputs(normal((1, 2, 5, 6))),
           lambda x: F.crop2d(x, ((1, 0), (2, 1)))),
    # ---- pixel shuffle: each backward is the other op, so the vjp cases check the pair
    # through each other's graphs (what a second derivative differentiates)
    OpCase("pixel-shuffle-r=2", PixelShuffle, inputs(normal((2, 8, 2, 3))),
           lambda x: F.pixel_shuffle(x, 2)),
    OpCase("pixel-shuffle-r=3", PixelShuffle, inputs(normal((1, 9, 2, 1))),
           lambda x: F.pixel_shuffle(x, 3)),
    OpCase("pixel-unshuffle-r=2", PixelUnshuffle, inputs(normal((2, 2, 4, 6))),
           lambda x: F.pixel_unshuffle(x, 2)),
    OpCase("pixel-shuffle-grad", PixelUnshuffle,
           inputs(normal((1, 8, 2, 2)), normal((1, 2, 4, 4))),
           vjp(lambda x: F.pixel_shuffle(x, 2), wrt=0)),
    OpCase("pixel-unshuffle-grad", PixelShuffle,
           inputs(normal((1, 1, 6, 3)), normal((1, 9, 2, 1))),
           vjp(lambda x: F.pixel_unshuffle(x, 3), wrt=0)),
]
