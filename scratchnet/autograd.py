"""Reverse-mode automatic differentiation: ``Tensor``, ``Function`` and the backward engine.

How it works, in four steps:

1. A :class:`Tensor` wraps an array (``.data``). When an operation is applied to tensors that
   require gradients, the :class:`Function` that computed it is recorded as the output's
   ``creator``, with an edge to the node that produced each input: the computation builds a
   graph as it runs. Each Function keeps only what its backward will read
   (``save_for_backward``), so intermediate arrays are freed as soon as nothing needs them.
2. ``loss.backward()`` walks that graph from the loss back to the leaves, highest generation
   first, and applies the chain rule at every node: each ``Function.backward`` turns the
   gradient of its outputs into the gradient of its inputs, and each leaf's
   :class:`AccumulateGrad` node adds what reaches it to the leaf's ``.grad``.
3. ``Function.backward`` is itself written with Tensor operations on the saved tensors.
   When the engine runs it with graph recording switched on (``create_graph=True``), the
   gradient is again a node of a graph, so it can be differentiated again: Hessian-vector
   products, Newton's method, the contractive autoencoder's Jacobian penalty and WGAN-GP's
   gradient penalty all come from this one idea.
4. Broadcasting and type promotion are undone in one place: after every
   ``Function.backward`` the engine sums each input gradient back to that input's shape
   (:func:`sum_to`) and casts it to that input's dtype, so no op repeats either.

The order to read this file in: ``Function`` (what a node keeps), ``run_backward`` (the
loop), then its helpers ``_PendingGradients`` and ``_input_gradients``. Lesson 00 builds
the same idea for scalars on one screen first.

Reference: Baydin et al., "Automatic differentiation in machine learning: a survey", JMLR 2018.
"""

from __future__ import annotations

import abc
import contextlib
import heapq
import itertools
import sys
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
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
from scratchnet.hooks import RemovableHandle

__all__ = [
    "AccumulateGrad",
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
    "to_dot",
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
        "_grad_node",
        "_slot",
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
        self._slot = 0  # which of its creator's outputs this is
        self._grad_node: AccumulateGrad | None = None  # a leaf's node, made when first used
        self.generation = 0
        self.name = name
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    def __getstate__(self) -> tuple[None, dict[str, Any]]:
        """For copy and pickle: every slot but the leaf's node, which a copy makes anew.

        The node refers to its own leaf; a copy that kept it would send its gradients to
        the original (and a weak reference cannot be pickled).
        """
        state = {name: getattr(self, name) for name in Tensor.__slots__ if name != "__weakref__"}
        state["_grad_node"] = None
        return None, state

    @classmethod
    def _wrap(cls, data: Any) -> Tensor:
        """Fast internal constructor for an op's output: no copy, no checks."""
        t = object.__new__(cls)
        t.data = data
        t.grad = None
        t.creator = None
        t._slot = 0
        t._grad_node = None
        t.generation = 0
        t.name = None
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
        if self.creator is not None:
            if self.creator._retained is None:
                self.creator._retained = {}
            self.creator._retained[self._slot] = weakref.ref(self)
        return self

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> RemovableHandle:
        """Call ``hook(grad)`` whenever this tensor's gradient is complete in a backward pass.

        The hook sees the gradient of whatever is being differentiated with respect to this
        tensor (in :meth:`backward` and in :func:`grad`). If it returns a Tensor of the same
        shape, that replaces the gradient from there on (clip it, scale it, record it and
        return ``None`` to leave it). ``handle.remove()`` unregisters it.
        """
        if not self.requires_grad:
            raise RuntimeError("register_hook: this tensor does not require grad, so no "
                               "gradient will ever reach it")
        if not callable(hook):
            raise TypeError(f"register_hook: expected a function of the gradient, got "
                            f"{type(hook).__name__}")
        node = self.creator or _leaf_node(self)
        if node._hooks is None:
            node._hooks = {}
        hooks = node._hooks.setdefault(self._slot, {})
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        return handle

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
# Function: one node of the graph
# --------------------------------------------------------------------------------------
class Function(abc.ABC):
    """One differentiable operation: a node of the graph.

    Subclasses implement

    * ``forward(*arrays) -> array | tuple[array, ...]`` on raw arrays, calling
      ``self.save_for_backward(...)`` with exactly the arrays that backward will need, and
    * ``backward(*grad_outputs) -> Tensor | None | tuple[...]``, one gradient per input,
      written with Tensor operations so it can itself be differentiated.

    Inside ``backward``, ``self.saved_tensors`` gives back what forward saved: inputs and
    outputs as Tensors that are part of the graph (so the gradient can be differentiated
    again), any other array (a mask) as a constant. ``self.needs_input_grad[i]`` says
    whether input ``i`` wants a gradient, already in forward (save only what those
    gradients read) and in backward (return ``None`` to skip work for it). A gradient
    may have a broadcast shape or a wider dtype: the engine sums it back to the input's
    shape and casts it to the input's dtype.

    When the call is recorded, the node keeps

    * ``edges``: for each input, ``(producer, slot, shape, dtype)``: the node that made it,
      which of that node's outputs it was (a leaf's producer is its
      :class:`AccumulateGrad`), and the input's shape and dtype, to which its gradient is
      summed and cast; ``None`` for an input that needs no gradient;
    * the saved tensors: an input's data stays alive only if some backward needs it (Add
      keeps nothing, ReLU a boolean mask, conv its input and kernel, ``x * 0.5`` the 0.5), so
      a training step holds in memory what backpropagation will read. Facts that are not
      arrays (an input's shape, an index) are plain attributes set in forward.
    """

    generation = 0  # 1 + the highest generation among the inputs' producers
    edges: Sequence[tuple[Any, int, tuple[int, ...], Any] | None] = ()
    needs_input_grad: Sequence[bool] = ()
    _to_save: tuple[Any, ...] = ()
    _saved: tuple[Any, ...] = ()
    _saves_outputs = False  # then some entries of _saved are (slot, array), rebuilt on reading
    _output_specs: tuple[tuple[tuple[int, ...], Any], ...] = ()
    _retained: dict[int, weakref.ref] | None = None
    _hooks: dict[int, dict[int, Callable]] | None = None  # per output slot, by handle id

    def __call__(self, *inputs: Tensor) -> Any:
        for x in inputs:
            if not isinstance(x, Tensor):
                kinds = ", ".join(type(x).__name__ for x in inputs)
                raise TypeError(f"{type(self).__name__}: inputs must be Tensors, got "
                                f"({kinds}); wrap arrays with sn.Tensor(...)")
        xs = [x.data for x in inputs]
        if len(xs) > 1 and (len(xs) > 2 or xs[0] is xs[1]):  # see _distinct_arrays
            _distinct_arrays(inputs, xs)
        if "cupy" in sys.modules:  # only then can arrays from two backends meet
            try:
                get_array_module(*xs)
            except BackendError as exc:
                raise BackendError(f"{type(self).__name__}: {exc}") from None
        # Known before forward, so that forward saves only what will be used.
        needs = ([x.requires_grad for x in inputs] if _Config.enable_grad
                 else [False] * len(inputs))
        self.needs_input_grad = needs
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
        if True in needs:
            self._connect(inputs, xs, ys, outputs)
        else:
            self._to_save = ()  # nothing will call backward: let go of the arrays now
        return outputs[0] if single else outputs

    def _connect(self, inputs: Sequence[Tensor], xs: Sequence[Any], ys: Sequence[Any],
                 outputs: list[Tensor]) -> None:
        """Record this call in the graph: edges to the producers, and the saved tensors."""
        # _edge written out (a Function is truthy, a leaf's creator None): this runs for
        # every op, and a plain list comprehension is the cheapest loop here.
        self.edges = [(x.creator or _leaf_node(x), x._slot, (a := x.data).shape, a.dtype)
                      if need else None for x, need in zip(inputs, self.needs_input_grad)]
        self.generation = generation = max([x.generation for x in inputs]) + 1
        if self._to_save:
            self._saved, self._saves_outputs = _resolve_saved(self._to_save, inputs, xs, ys,
                                                              outputs)
            self._to_save = ()
        for y in outputs:
            y.creator, y.generation, y.requires_grad = self, generation, True
        if len(outputs) > 1:  # slots, and specs to build a zero gradient for an unused output
            self._output_specs = tuple((y.shape, y.dtype) for y in outputs)
            for slot, y in enumerate(outputs):
                y._slot = slot

    def save_for_backward(self, *arrays: Any) -> None:
        """Keep these arrays (inputs, outputs or others, as forward has them) for backward.

        ``None`` holds a place for something not needed this time (Mul keeps ``b`` only
        when ``a`` wants a gradient).
        """
        self._to_save = arrays

    @property
    def saved_tensors(self) -> tuple[Tensor | None, ...]:
        """What forward saved, as Tensors: inputs and outputs are part of the graph."""
        if not self._saved:
            raise RuntimeError(f"{type(self).__name__}.backward reads saved_tensors, but its "
                               "forward saved nothing: call self.save_for_backward(...) there")
        if not self._saves_outputs:
            return self._saved
        return tuple(self._output_tensor(*s) if type(s) is tuple else s for s in self._saved)

    def _output_tensor(self, slot: int, data: Any) -> Tensor:
        """A Tensor for one of this node's outputs, as if it were the original.

        The node keeps an output's array, not the output Tensor: that would be a cycle
        (output -> creator -> output) that only the garbage collector could free.
        """
        y = Tensor._wrap(data)
        y.creator, y._slot, y.generation, y.requires_grad = self, slot, self.generation, True
        return y

    @abc.abstractmethod
    def forward(self, *arrays: Any) -> Any:
        """Compute the output array(s) from the input arrays."""

    @abc.abstractmethod
    def backward(self, *grad_outputs: Tensor) -> Any:
        """Turn the outputs' gradients into one gradient per input (Tensor ops only)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} generation={self.generation}>"


def _distinct_arrays(inputs: Sequence[Tensor], xs: list[Any]) -> None:
    """Give a second tensor that shares the first one's array a view of it, in ``xs``.

    Saved arrays are matched to inputs by identity, so ``x * x.detach()`` must not hand
    forward the same array twice: the detached operand would be saved as ``x`` and
    differentiated. The same tensor twice (``x * x``) keeps one array.
    """
    if len(xs) == 2:  # the common case, checked cheaply
        if xs[0] is xs[1] and inputs[0] is not inputs[1]:
            xs[1] = xs[1].view()
        return
    first: dict[int, Tensor] = {}
    for i, x in enumerate(inputs):
        if first.setdefault(id(xs[i]), x) is not x:
            xs[i] = xs[i].view()


def _resolve_saved(arrays: Sequence[Any], inputs: Sequence[Tensor], xs: Sequence[Any],
                   ys: Sequence[Any], outputs: Sequence[Tensor]) -> tuple[tuple[Any, ...], bool]:
    """What each saved array stands for: an input Tensor, an output ``(slot, array)``, a
    constant Tensor, or ``None``; and whether any is an output."""
    saved, has_outputs = [], False
    for array in arrays:
        if array is None:
            saved.append(None)
            continue
        for x, data in zip(inputs, xs):
            if data is array:
                saved.append(x)
                break
        else:
            for slot, y in enumerate(ys):
                if y is array:  # forward's own array; outputs[slot].data may be it made 0-d
                    saved.append((slot, outputs[slot].data))
                    has_outputs = True
                    break
            else:
                saved.append(Tensor._wrap(array))
    return tuple(saved), has_outputs


class AccumulateGrad:
    """A leaf's node: gradients that reach it are added to the leaf's ``.grad``.

    Every edge into a leaf ends here, so a leaf used by several ops sums their gradients
    in one place, as an op's output does. The node refers to its leaf weakly (the leaf
    holds the node), so a graph does not keep alive a leaf that nobody else holds.
    """

    generation = 0  # below every Function: a leaf's gradient is complete when it runs
    edges = ()  # a leaf has no producers
    _output_specs = ()  # one output slot, as a single-output Function
    _hooks: dict[int, dict[int, Callable]] | None = None  # the leaf's, in slot 0

    def __init__(self, leaf: Tensor) -> None:
        self.leaf = weakref.ref(leaf)

    def __repr__(self) -> str:
        return "<AccumulateGrad>"


def _leaf_node(x: Tensor) -> AccumulateGrad:
    """The leaf's node, made the first time the leaf enters a graph."""
    if x._grad_node is None:
        x._grad_node = AccumulateGrad(x)
    return x._grad_node


def _edge(x: Tensor) -> tuple[Any, int]:
    """Where a gradient for ``x`` goes: its creator's output slot, or its leaf node."""
    return (x.creator or _leaf_node(x)), x._slot


# --------------------------------------------------------------------------------------
# The backward engine
# --------------------------------------------------------------------------------------
def run_backward(roots: Sequence[Tensor], root_grads: Sequence[Any], create_graph: bool,
                 accumulate: bool, wanted: Sequence[Tensor] = (),
                 caller: str = "backward()") -> list[Tensor | None]:
    """Backpropagate from ``roots``; the engine behind :meth:`Tensor.backward` and :func:`grad`.

    Nodes are taken highest generation first, so a node's output gradients are complete
    (every consumer has contributed) before it runs; the loop is iterative, so graph depth
    is limited by memory, not by recursion. With ``accumulate=True`` gradients are added
    to the ``.grad`` of leaves (and of tensors that called :meth:`Tensor.retain_grad`);
    otherwise the gradients of ``wanted`` are returned, only the nodes that lead to them
    run, and no ``.grad`` is touched.
    """
    for root in roots:
        if not root.requires_grad:
            raise RuntimeError(f"{caller}: the output does not require grad; did you build "
                               "it from tensors with requires_grad=True, outside no_grad()?")
    targets = [_edge(t) for t in wanted]
    target_nodes = {node for node, _ in targets}
    leads = None if accumulate else _nodes_leading_to(roots, target_nodes)
    found: dict[tuple[Any, int], Tensor] = {}
    pending = _PendingGradients(create_graph)
    owned: set[int] = set()
    with _grad_mode(create_graph):
        for root, g in zip(roots, root_grads):
            pending.add(*_edge(root), _root_gradient(root, g, caller))
        while pending:
            node, gys = pending.pop()
            if node in target_nodes:
                found.update(((node, slot), g) for slot, g in enumerate(gys) if g is not None)
            if accumulate:
                _store_grads(node, gys, create_graph, owned)
            if isinstance(node, AccumulateGrad) or (
                    leads is not None and not any(e and e[0] in leads for e in node.edges)):
                continue
            for producer, slot, gx in _input_gradients(node, gys):
                if leads is None or producer in leads:
                    pending.add(producer, slot, gx)
    return [found.get(edge) for edge in targets]


class _PendingGradients:
    """Gradients waiting for their node, summed per output slot; highest generation out first.

    A tensor used many times (a recurrent weight, once per time step) receives many
    contributions. Without a graph to record, each sum after the first is added in place
    into the array that the first sum made, which belongs to no one else: T - 1 fresh
    arrays of the weight's size are never allocated. With ``create_graph`` every sum is
    an ordinary ``+``, part of the graph.
    """

    def __init__(self, create_graph: bool = False) -> None:
        self.grads: dict[Any, list[Tensor | None]] = {}
        self.heap: list[tuple[int, int, Any]] = []
        self.order = itertools.count()  # ties in generation: first come, first out
        self.in_place = not create_graph
        self.sums: set[int] = set()  # ids of the sums made here, safe to add into

    def __bool__(self) -> bool:
        return bool(self.heap)

    def add(self, node: Any, slot: int, g: Tensor) -> None:
        slots = self.grads.get(node)
        if slots is None:  # one place per output (a single-output node has no specs)
            slots = self.grads[node] = [None] * max(len(node._output_specs), 1)
            heapq.heappush(self.heap, (-node.generation, next(self.order), node))
        total = slots[slot]
        if total is None:
            slots[slot] = g
        elif id(total) in self.sums and total.dtype == g.dtype and total.shape == g.shape:
            total.data += g.data
        else:
            self.sums.discard(id(total))  # a sum replaced here is freed: its id may come back
            slots[slot] = total = total + g
            if self.in_place:
                self.sums.add(id(total))

    def pop(self) -> tuple[Any, list[Tensor | None]]:
        """The next node and its complete output gradients, passed through their hooks."""
        node = heapq.heappop(self.heap)[2]
        grads = self.grads.pop(node)
        for g in grads:  # handed on now, and an id may be reused once the tensor is gone
            self.sums.discard(id(g))
        if node._hooks:
            for slot, hooks in node._hooks.items():
                for hook in list(hooks.values()):
                    if grads[slot] is not None:
                        grads[slot] = _hooked(hook, grads[slot])
        return node, grads


def _hooked(hook: Callable, g: Tensor) -> Tensor:
    """``hook(g)``, or ``g`` when the hook returns None; a replacement must match ``g``."""
    result = hook(g)
    if result is None:
        return g
    if not isinstance(result, Tensor) or result.shape != g.shape:
        got = (f"a Tensor of shape {result.shape}" if isinstance(result, Tensor)
               else type(result).__name__)
        raise TypeError(f"register_hook: a hook must return None or a Tensor of the "
                        f"gradient's shape {g.shape}, got {got}")
    return result if result.dtype == g.dtype else _ops.astype(result, g.dtype)


def _input_gradients(f: Function, gys: list[Tensor | None]) -> Iterator[tuple[Any, int, Tensor]]:
    """Run ``f.backward``; yield ``(producer, slot, gradient)`` for each input that wants one.

    Broadcasting and promotion are undone here, once for every op: each gradient gets its
    input's shape (:func:`sum_to`) and dtype (a float32 weight times float64 data gets a
    float64 gradient from Mul, and a float32 one here).
    """
    if len(gys) > 1:  # an output nobody used contributes a zero gradient
        xp = get_array_module(next(g for g in gys if g is not None).data)
        gys = [g if g is not None else Tensor._wrap(xp.zeros(shape, dtype))
               for g, (shape, dtype) in zip(gys, f._output_specs)]
    gxs = f.backward(*gys)
    if not isinstance(gxs, tuple):
        gxs = (gxs,)
    if len(gxs) != len(f.edges):
        raise RuntimeError(f"{type(f).__name__}.backward returned {len(gxs)} gradients for "
                           f"{len(f.edges)} inputs")
    for edge, gx in zip(f.edges, gxs):
        if edge is None or gx is None:
            continue
        producer, slot, shape, dtype = edge
        if gx.data.shape != shape:
            try:
                gx = _ops.sum_to(gx, shape)
            except ValueError as exc:
                raise ValueError(f"{type(f).__name__}.backward returned a gradient of shape "
                                 f"{gx.shape} for an input of shape {shape}; {exc}") from None
        if gx.data.dtype != dtype:
            gx = _ops.astype(gx, dtype)
        yield producer, slot, gx


def _store_grads(node: Any, gys: list[Tensor | None], create_graph: bool,
                 owned: set[int]) -> None:
    """Add complete gradients to ``.grad``: a leaf's, or retained intermediate tensors'."""
    tensors = {0: node.leaf} if isinstance(node, AccumulateGrad) else node._retained
    for slot, ref in (tensors or {}).items():
        t, g = ref(), gys[slot]
        if t is None or g is None or not t.requires_grad:  # gone, unused, or frozen since
            continue
        if t.grad is not None:
            t.grad = t.grad + g
        else:
            t.grad = g if create_graph else _owned(g, owned)


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


# --------------------------------------------------------------------------------------
# Walking the graph: pruning for grad(), and listing nodes for drawing
# --------------------------------------------------------------------------------------
def _graph_nodes(roots: Sequence[Tensor]) -> list[Any]:
    """Every node reachable from ``roots`` (Functions and leaf nodes), each once."""
    seen: dict[int, Any] = {}
    stack = [r.creator for r in roots if r.creator is not None]
    stack += [r._grad_node for r in roots if r.creator is None and r._grad_node is not None]
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen[id(node)] = node
            stack.extend(e[0] for e in node.edges if e is not None)
    return list(seen.values())


def _nodes_leading_to(roots: Sequence[Tensor], targets: set[Any]) -> set[Any]:
    """The targets and every node of ``roots``' graph with a path to one of them.

    Gradients that cannot reach a target are not worth computing: :func:`grad` runs only
    nodes with an edge into this set.
    """
    leads: set[Any] = set()
    # Lower generations first, so each node's producers are decided before the node.
    for node in sorted(_graph_nodes(roots), key=lambda n: n.generation):
        if node in targets or any(e and e[0] in leads for e in node.edges):
            leads.add(node)
    return leads


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
    return [node for node in _graph_nodes([root]) if isinstance(node, Function)]


# The operators above are defined with the differentiable ops, which themselves build on
# Tensor and Function; importing them last breaks the cycle.
from scratchnet.functional import math as _ops  # noqa: E402
from scratchnet.graph_drawing import to_dot  # noqa: E402
