"""Reverse-mode automatic differentiation: ``Tensor``, ``Function`` and the backward engine.

How it works, in four sentences:

1. A :class:`Tensor` wraps an array (``.data``). When an operation is applied to tensors that
   require gradients, the :class:`Function` that computed it is recorded as the output's
   ``creator``, together with its inputs: the computation builds a graph as it runs.
2. ``loss.backward()`` walks that graph from the loss back to the leaves, in reverse
   topological order, and applies the chain rule at every node: each ``Function.backward``
   turns the gradient of its outputs into the gradient of its inputs.
3. ``Function.backward`` is itself written with Tensor operations. When the engine runs it
   with graph recording switched on (``create_graph=True``), the gradient is again a node of
   a graph, so it can be differentiated again: Hessian-vector products, Newton's method,
   the contractive autoencoder's Jacobian penalty and WGAN-GP's gradient penalty all come
   from this one idea.
4. Broadcasting and type promotion are undone in one place: after every
   ``Function.backward`` the engine sums each input gradient back to that input's shape
   (:func:`sum_to`) and casts it to that input's dtype, so no op repeats either.

Reference: Baydin et al., "Automatic differentiation in machine learning: a survey", JMLR 2018.
"""

from __future__ import annotations

import abc
import contextlib
import heapq
import sys
import weakref
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from scratchnet.backend import (
    BackendError,
    as_numpy,
    get_array_module,
    get_backend_module,
    is_array,
    to_device,
)

__all__ = [
    "Function",
    "Tensor",
    "as_tensor",
    "enable_grad",
    "get_default_dtype",
    "grad",
    "is_grad_enabled",
    "iter_functions",
    "no_grad",
    "run_backward",
    "set_default_dtype",
]


# --------------------------------------------------------------------------------------
# Global settings: graph recording and the default floating-point dtype.
# --------------------------------------------------------------------------------------
class _Config:
    enable_grad = True
    default_dtype = np.dtype(np.float32)


@contextlib.contextmanager
def _grad_mode(enabled: bool) -> Iterator[None]:
    previous = _Config.enable_grad
    _Config.enable_grad = enabled
    try:
        yield
    finally:
        _Config.enable_grad = previous


def no_grad() -> contextlib.AbstractContextManager[None]:
    """Context manager: operations inside record no graph (evaluation, parameter updates)."""
    return _grad_mode(False)


def enable_grad() -> contextlib.AbstractContextManager[None]:
    """Context manager: switch graph recording back on inside a ``no_grad`` block."""
    return _grad_mode(True)


def is_grad_enabled() -> bool:
    """Whether operations currently record a graph."""
    return _Config.enable_grad


def set_default_dtype(dtype: Any) -> None:
    """Set the floating-point dtype of tensors built from Python numbers (float32 or float64)."""
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"set_default_dtype: expected float32 or float64, got {dtype}")
    _Config.default_dtype = dtype


def get_default_dtype() -> np.dtype:
    """The dtype of tensors built from Python floats (float32 unless changed)."""
    return _Config.default_dtype


# --------------------------------------------------------------------------------------
# Tensor
# --------------------------------------------------------------------------------------
def _to_array(data: Any, dtype: Any, copy: bool) -> Any:
    """Turn ``data`` into a backend array; Python floats get the default dtype."""
    if isinstance(data, Tensor):
        data = data.data
    if is_array(data):
        xp = get_array_module(data)
        if dtype is not None:
            return xp.array(data, dtype=dtype, copy=copy)
        return xp.array(data, copy=copy)
    xp = get_backend_module()
    array = np.asarray(data)  # host: lists and Python scalars, moved to xp below
    if dtype is None and array.dtype.kind == "f" and not isinstance(data, np.generic):
        dtype = _Config.default_dtype
    if array.dtype.kind not in "biuf":
        raise TypeError(f"Tensor: cannot hold data of dtype {array.dtype} ({type(data).__name__})")
    return xp.asarray(array, dtype=dtype)


class Tensor:
    """An array plus what is needed to differentiate through it.

    Attributes:
        data: the values, a ``numpy.ndarray`` (or ``cupy.ndarray``).
        grad: ``None`` or a Tensor of ``data``'s shape, filled by :meth:`backward`.
        requires_grad: whether gradients flow into this tensor.
        creator: the :class:`Function` that produced it (``None`` for leaves).

    ``Tensor(data)`` copies ``data``. Python floats and lists of them become the default
    dtype (float32); NumPy arrays keep their dtype, so float64 inputs stay float64.
    Only floating-point tensors may require gradients.
    """

    __slots__ = (
        "__weakref__",
        "_retain_grad",
        "creator",
        "data",
        "generation",
        "grad",
        "name",
        "requires_grad",
    )
    # Make NumPy hand mixed expressions (ndarray * Tensor) to Tensor's reflected operators.
    __array_ufunc__ = None

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None,
                 name: str | None = None) -> None:
        self.data = _to_array(data, dtype, copy=True)
        self.grad: Tensor | None = None
        self.creator: Function | None = None
        self.generation = 0
        self.name = name
        self._retain_grad = False
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, data: Any) -> Tensor:
        """Fast internal constructor for an op's output: no copy, no checks."""
        t = object.__new__(cls)
        t.data = data
        t.grad = None
        t.creator = None
        t.generation = 0
        t.name = None
        t._retain_grad = False
        t.requires_grad = False
        return t

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place (leaves only) and return ``self``."""
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(
                f"only floating-point tensors can require gradients; this tensor has dtype "
                f"{self.data.dtype}. Convert it first, e.g. Tensor(x, dtype=np.float32)"
            )
        if not requires_grad and self.creator is not None:
            raise RuntimeError("requires_grad_(False) on a non-leaf tensor: use .detach()")
        self.requires_grad = requires_grad
        return self

    # ---- array-like properties --------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def is_leaf(self) -> bool:
        """True for tensors created by the user rather than by an operation."""
        return self.creator is None

    @property
    def T(self) -> Tensor:  # noqa: N802 - NumPy's name
        return _ops.transpose(self)

    def __len__(self) -> int:
        return len(self.data)

    def __bool__(self) -> bool:
        return bool(self.data)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        array = as_numpy(self.data)
        return array if dtype is None else array.astype(dtype, copy=False)

    def __repr__(self) -> str:
        body = np.array2string(as_numpy(self.data), separator=", ", prefix="Tensor(")
        extra = ""
        if self.data.dtype != _Config.default_dtype:
            extra += f", dtype={self.data.dtype}"
        if self.creator is not None:
            extra += f", grad_fn={type(self.creator).__name__}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"Tensor({body}{extra})"

    def numpy(self) -> np.ndarray:
        """The values as a NumPy array (shared with the tensor on the CPU backend)."""
        return as_numpy(self.data)

    def item(self) -> float | int | bool:
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item(): tensor has {self.data.size} elements, expected 1")
        return self.data.item()

    def detach(self) -> Tensor:
        """A new leaf sharing this tensor's data, cut off from the graph."""
        return Tensor._wrap(self.data)

    def retain_grad(self) -> Tensor:
        """Keep ``.grad`` on this intermediate tensor after backward (leaves always keep it)."""
        self._retain_grad = True
        return self

    def to(self, backend: str) -> Tensor:
        """A copy on ``backend`` ("numpy" or "cupy"); it is a new leaf."""
        out = Tensor._wrap(to_device(self.data, backend))
        if self.requires_grad:
            out.requires_grad = True
        return out

    # ---- backward ---------------------------------------------------------------------
    def backward(self, grad: Any = None, create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``.

        ``grad`` is the upstream gradient, of ``self``'s shape; it may be left out only
        when ``self`` has one element (a loss), where it defaults to 1. Calling backward
        twice adds to ``.grad``. With ``create_graph=True`` the gradients are themselves
        differentiable.
        """
        run_backward([self], [grad], create_graph=create_graph, accumulate=True)

    # ---- operators (implemented in scratchnet.functional.math) -------------------------
    def __add__(self, other: Any) -> Tensor:
        return _ops.add(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return _ops.add(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return _ops.sub(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return _ops.sub(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return _ops.mul(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return _ops.mul(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return _ops.div(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return _ops.div(other, self)

    def __pow__(self, other: Any) -> Tensor:
        return _ops.pow(self, other)

    def __rpow__(self, other: Any) -> Tensor:
        return _ops.pow(other, self)

    def __matmul__(self, other: Any) -> Tensor:
        return _ops.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return _ops.matmul(other, self)

    def __neg__(self) -> Tensor:
        return _ops.neg(self)

    def __abs__(self) -> Tensor:
        return _ops.abs(self)

    def __getitem__(self, index: Any) -> Tensor:
        return _ops.getitem(self, index)

    # Comparisons give boolean tensors (masks) and are not differentiable, ``==`` and ``!=``
    # included, as in NumPy and PyTorch. Hashing stays by identity, so tensors still work
    # in sets and as dict keys; but ``t in list_of_tensors`` compares with ``==`` once the
    # identity check fails, so look tensors up by ``id`` (or with ``any(t is u ...)``).
    __hash__ = object.__hash__

    def __eq__(self, other: Any) -> Tensor:
        return Tensor._wrap(self.data == _ops.raw(other))

    def __ne__(self, other: Any) -> Tensor:
        return Tensor._wrap(self.data != _ops.raw(other))

    def __lt__(self, other: Any) -> Tensor:
        return Tensor._wrap(self.data < _ops.raw(other))

    def __le__(self, other: Any) -> Tensor:
        return Tensor._wrap(self.data <= _ops.raw(other))

    def __gt__(self, other: Any) -> Tensor:
        return Tensor._wrap(self.data > _ops.raw(other))

    def __ge__(self, other: Any) -> Tensor:
        return Tensor._wrap(self.data >= _ops.raw(other))

    # ---- methods ----------------------------------------------------------------------
    def reshape(self, *shape: Any) -> Tensor:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _ops.reshape(self, shape)

    def transpose(self, *axes: int) -> Tensor:
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return _ops.transpose(self, axes or None)

    def sum(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return _ops.sum(self, axis, keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return _ops.mean(self, axis, keepdims)

    def max(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return _ops.max(self, axis, keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return _ops.min(self, axis, keepdims)

    def var(self, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
        return _ops.var(self, axis, keepdims, ddof)

    def exp(self) -> Tensor:
        return _ops.exp(self)

    def log(self) -> Tensor:
        return _ops.log(self)

    def sqrt(self) -> Tensor:
        return _ops.sqrt(self)

    def clip(self, low: float | None = None, high: float | None = None) -> Tensor:
        return _ops.clip(self, low, high)

    def astype(self, dtype: Any) -> Tensor:
        """This tensor converted to ``dtype`` (differentiable between float dtypes)."""
        return _ops.astype(self, dtype)

    def float(self) -> Tensor:
        """This tensor converted to the default float dtype (float32 unless changed)."""
        return _ops.astype(self, _Config.default_dtype)


def as_tensor(value: Any, like: Tensor | None = None) -> Tensor:
    """Return ``value`` as a Tensor without copying a Tensor or an array.

    A Python number combined with a floating-point tensor ``like`` takes ``like``'s dtype
    and backend, so ``x * 2.0`` stays float32 for a float32 ``x`` (and float64 for float64).
    """
    if isinstance(value, Tensor):
        return value
    if is_array(value):
        return Tensor._wrap(value)
    if like is not None and like.data.dtype.kind == "f":
        xp = get_array_module(like.data)
        return Tensor._wrap(xp.asarray(value, dtype=like.data.dtype))
    return Tensor._wrap(_to_array(value, None, copy=False))


# --------------------------------------------------------------------------------------
# Function
# --------------------------------------------------------------------------------------
class Function(abc.ABC):
    """One differentiable operation: a node of the graph.

    Subclasses implement

    * ``forward(*arrays) -> array | tuple[array, ...]`` on raw arrays, and
    * ``backward(*grad_outputs) -> Tensor | None | tuple[...]``, one gradient per input,
      written with Tensor operations so it can itself be differentiated.

    Inside ``backward``, ``self.inputs`` holds the input tensors, ``self.output(i)``
    returns the i-th output tensor, and ``self.needs_input_grad[i]`` says whether input
    ``i`` wants a gradient (return ``None`` to skip work for it). A gradient may have a
    broadcast shape or a wider dtype: the engine sums it back to the input's shape and
    casts it to the input's dtype.
    """

    generation = 0
    inputs: tuple[Tensor, ...] = ()
    needs_input_grad: Sequence[bool] = ()
    _outputs: Sequence[weakref.ref] = ()
    _output_specs: tuple[tuple[tuple[int, ...], Any], ...] = ()

    def __call__(self, *inputs: Tensor) -> Any:
        for x in inputs:
            if not isinstance(x, Tensor):
                kinds = ", ".join(type(x).__name__ for x in inputs)
                raise TypeError(f"{type(self).__name__}: inputs must be Tensors, got "
                                f"({kinds}); wrap arrays with sn.Tensor(...)")
        xs = [x.data for x in inputs]
        if "cupy" in sys.modules:  # only then can arrays from two backends meet
            try:
                get_array_module(*xs)
            except BackendError as exc:
                raise BackendError(f"{type(self).__name__}: {exc}") from None
        try:
            ys = self.forward(*xs)
        except ValueError as exc:  # e.g. shapes that do not broadcast: name the op
            raise ValueError(f"{type(self).__name__}: {exc}") from exc
        except TypeError as exc:  # e.g. NumPy refusing bool - bool
            raise TypeError(f"{type(self).__name__}: {exc}") from exc
        single = not isinstance(ys, tuple)
        if single:
            ys = (ys,)
        # NumPy reductions of 0-d arrays return scalars; keep .data an array.
        outputs = [Tensor._wrap(np.asarray(y) if isinstance(y, np.generic)  # host: scalar
                                else y) for y in ys]
        if _Config.enable_grad:
            # Plain lists and loops: this runs for every op, and generator expressions
            # cost about a microsecond more here.
            needs = [x.requires_grad for x in inputs]
            if True in needs:
                self.inputs = inputs
                self.needs_input_grad = needs
                self.generation = max([x.generation for x in inputs])
                self._outputs = [weakref.ref(y) for y in outputs]
                if not single:  # to build a zero gradient for an output that was dropped
                    self._output_specs = tuple((y.shape, y.dtype) for y in ys)
                for y in outputs:
                    y.creator = self
                    y.generation = self.generation + 1
                    y.requires_grad = True
        return outputs[0] if single else outputs

    def output(self, i: int = 0) -> Tensor:
        """The i-th output tensor (alive whenever a gradient flows from it)."""
        return self._outputs[i]()

    @abc.abstractmethod
    def forward(self, *arrays: Any) -> Any:
        """Compute the output array(s) from the input arrays."""

    @abc.abstractmethod
    def backward(self, *grad_outputs: Tensor) -> Any:
        """Turn the outputs' gradients into one gradient per input (Tensor ops only)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} generation={self.generation}>"


# --------------------------------------------------------------------------------------
# The backward engine
# --------------------------------------------------------------------------------------
def _root_gradient(root: Tensor, grad: Any, caller: str) -> Tensor:
    """The upstream gradient of a root: ones for a scalar, else ``grad`` checked and owned."""
    xp = get_array_module(root.data)
    argument = "grad_outputs" if caller == "grad()" else "grad"
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"{caller} on a tensor of shape {root.shape} needs {argument}=...: an implicit "
                "gradient of 1 only makes sense for a single-element output such as a loss"
            )
        return Tensor._wrap(xp.ones_like(root.data))
    if isinstance(grad, Tensor):
        if grad.dtype != root.dtype:
            raise TypeError(f"{caller}: {argument} has dtype {grad.dtype} but the output "
                            f"has dtype {root.dtype}")
    else:  # an array or a number: our own copy, in the output's dtype
        grad = Tensor._wrap(xp.array(grad, dtype=root.dtype, copy=True))
    if grad.shape != root.shape:
        raise ValueError(f"{caller}: {argument} has shape {grad.shape} but the output has "
                         f"shape {root.shape}; they must match")
    return grad


def _owned(g: Tensor, stored: set[int]) -> Tensor:
    """``g``, or a copy of it when its array is a view, read-only or already stored.

    Ops pass gradients on without copying (``Add`` hands the same ``gy`` to both inputs,
    ``Sum`` a broadcast view), which is right inside the graph. A leaf's ``.grad`` must be
    its own writable array, so that editing one gradient in place cannot change another.
    """
    data = g.data
    if (data.base is not None or not getattr(data.flags, "writeable", True)
            or id(data) in stored):
        g = Tensor._wrap(data.copy())
    stored.add(id(g.data))
    return g


def _relevant_functions(roots: Sequence[Tensor], wanted: set[int]) -> set[Function]:
    """Functions on some path from a wanted tensor to a root (the rest can be skipped)."""
    found: dict[int, Function] = {}
    stack = [r.creator for r in roots if r.creator is not None]
    while stack:
        f = stack.pop()
        if id(f) in found:
            continue
        found[id(f)] = f
        stack.extend(x.creator for x in f.inputs if x.creator is not None)
    relevant: set[Function] = set()
    # Lower generations first, so an input's creator is decided before its consumers.
    for f in sorted(found.values(), key=lambda f: f.generation):
        if any(id(x) in wanted or x.creator in relevant for x in f.inputs):
            relevant.add(f)
    return relevant


def run_backward(roots: Sequence[Tensor], root_grads: Sequence[Any], create_graph: bool,
                 accumulate: bool, wanted: Sequence[Tensor] = (),
                 caller: str = "backward()") -> list[Tensor | None]:
    """Backpropagate from ``roots``; the engine behind :meth:`Tensor.backward` and :func:`grad`.

    Functions are taken from a heap ordered by generation (the highest first), so a
    tensor's gradient is complete — every consumer has contributed — before its creator
    runs. The loop is iterative: graph depth is limited by memory, not by recursion.

    With ``accumulate=True`` gradients are added to the ``.grad`` of leaves (and of
    tensors that called :meth:`Tensor.retain_grad`); otherwise the gradients of ``wanted``
    are returned and no ``.grad`` is touched.
    """
    for root in roots:
        if not root.requires_grad:
            raise RuntimeError(f"{caller}: the output does not require grad; did you build "
                               "it from tensors with requires_grad=True, outside no_grad()?")
    wanted_ids = {id(t) for t in wanted}
    relevant = None if accumulate else _relevant_functions(roots, wanted_ids)

    grads: dict[int, Tensor] = {}
    keep: dict[int, Tensor] = {}  # tensors whose gradient outlives the pass
    heap: list[tuple[int, int, Function]] = []
    queued: set[int] = set()

    def queue(f: Function | None) -> None:
        if f is not None and id(f) not in queued and (relevant is None or f in relevant):
            queued.add(id(f))
            heapq.heappush(heap, (-f.generation, len(queued), f))

    def add_grad(t: Tensor, g: Tensor) -> None:
        key = id(t)
        grads[key] = grads[key] + g if key in grads else g
        if (accumulate and (t.creator is None or t._retain_grad)) or key in wanted_ids:
            keep[key] = t

    with _grad_mode(create_graph):
        for root, g in zip(roots, root_grads):
            add_grad(root, _root_gradient(root, g, caller))
            queue(root.creator)

        while heap:
            f = heapq.heappop(heap)[2]
            outputs = [ref() for ref in f._outputs]
            gys = [None if y is None else (grads[id(y)] if id(y) in keep else
                                           grads.pop(id(y), None)) for y in outputs]
            if all(g is None for g in gys):
                continue
            if len(gys) > 1:  # an output nobody used contributes a zero gradient
                xp = get_array_module(f.inputs[0].data)
                gys = [g if g is not None else Tensor._wrap(xp.zeros(shape, dtype))
                       for g, (shape, dtype) in zip(gys, f._output_specs)]
            gxs = f.backward(*gys)
            if not isinstance(gxs, tuple):
                gxs = (gxs,)
            if len(gxs) != len(f.inputs):
                raise RuntimeError(f"{type(f).__name__}.backward returned {len(gxs)} "
                                   f"gradients for {len(f.inputs)} inputs")
            for x, gx in zip(f.inputs, gxs):
                if gx is None or not x.requires_grad:
                    continue
                if relevant is not None and id(x) not in wanted_ids and x.creator not in relevant:
                    continue
                # Undo broadcasting and promotion, once, for every op: a gradient has its
                # tensor's shape, and its dtype (a float32 weight times float64 data
                # gets a float64 gradient from Mul, and a float32 one here). The checks
                # read .data directly: they run for every gradient.
                if gx.data.shape != x.data.shape:
                    try:
                        gx = _ops.sum_to(gx, x.shape)
                    except ValueError as exc:
                        raise ValueError(f"{type(f).__name__}.backward returned a gradient of "
                                         f"shape {gx.shape} for an input of shape {x.shape}; "
                                         f"{exc}") from None
                if gx.data.dtype != x.data.dtype:
                    gx = _ops.astype(gx, x.dtype)
                add_grad(x, gx)
                queue(x.creator)

    if accumulate:
        stored: set[int] = set()
        for key, t in keep.items():
            g = grads[key]
            if t.grad is not None:
                t.grad = t.grad + g
            else:
                t.grad = g if create_graph else _owned(g, stored)
        return []
    return [grads.get(id(t)) for t in wanted]


def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor],
         grad_outputs: Any = None, create_graph: bool = False,
         allow_unused: bool = False) -> list[Tensor | None]:
    """Gradients of ``outputs`` with respect to ``inputs``, returned rather than stored.

    Computes ``sum_k grad_outputs[k]ᵀ · d outputs[k] / d inputs[i]`` for every input ``i``
    and leaves every ``.grad`` untouched. With ``create_graph=True`` the results are part of
    a graph and can be differentiated again (gradient penalties, Hessian-vector products).

    Args:
        outputs: a tensor or a sequence of tensors.
        inputs: the tensors to differentiate with respect to (leaves or intermediates).
        grad_outputs: upstream gradients, one per output (``None`` = ones for a scalar).
        create_graph: record the backward computation so it can be differentiated.
        allow_unused: return ``None`` for an input the outputs do not depend on instead
            of raising.

    Returns:
        A list of gradients, one per input, each of that input's shape.
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor) or is_array(grad_outputs):
        grad_outputs = [grad_outputs] * len(outputs) if grad_outputs is None else [grad_outputs]
    grad_outputs = list(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad(): {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"grad(): input {i} does not require grad")
    result = run_backward(outputs, grad_outputs, create_graph=create_graph, accumulate=False,
                          wanted=inputs, caller="grad()")
    if not allow_unused:
        for i, g in enumerate(result):
            if g is None:
                raise RuntimeError(f"grad(): input {i} is not used to compute the outputs; "
                                   "pass allow_unused=True to get None for it")
    return result


def iter_functions(root: Tensor) -> Iterable[Function]:
    """Every Function in ``root``'s graph, each once (handy for drawing a graph)."""
    seen: set[int] = set()
    stack = [root.creator] if root.creator is not None else []
    while stack:
        f = stack.pop()
        if id(f) in seen:
            continue
        seen.add(id(f))
        yield f
        stack.extend(x.creator for x in f.inputs if x.creator is not None)


# The operators above are defined with the differentiable ops, which themselves build on
# Tensor and Function; importing them last breaks the cycle.
from scratchnet.functional import math as _ops  # noqa: E402
