"""``Module``, ``Parameter`` and ``Sequential``: how layers hold their weights.

A :class:`Module` is a callable with state. Its trainable weights are the
:class:`Parameter` attributes it holds, and its sub-layers are the ``Module`` attributes it
holds: assigning ``self.weight = Parameter(...)`` or ``self.encoder = Sequential(...)`` in
``__init__`` is all the registration there is. ``parameters()`` walks those attributes,
recursively, in the order they were assigned. Arrays that are state but not trained (such
as BatchNorm's running statistics) are *buffers*, declared with :meth:`register_buffer`, so
that checkpoints include them.

Calling a module runs its ``forward``, with two things added around it by ``__call__``:
NumPy (or CuPy) arrays among the positional arguments become Tensors first, so that every
layer takes an array wherever it takes a Tensor; and the module's *forward hooks*, if it
has any (:meth:`Module.register_forward_hook`), see and may replace the output; its
*backward hooks* (:meth:`Module.register_full_backward_hook`) see the gradients that flow
through it. :meth:`Module.summary` is written with forward hooks, and
:class:`scratchnet.monitor.TrainingMonitor` with both kinds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from scratchnet.autograd import Tensor, as_tensor, is_grad_enabled, no_grad
from scratchnet.backend import (
    as_numpy,
    current_backend,
    get_array_module,
    is_array,
    is_cupy_array,
    to_device,
)
from scratchnet.functional.math import Reshape
from scratchnet.hooks import RemovableHandle

__all__ = ["Module", "Parameter", "RemovableHandle", "Sequential", "StateDictError"]

# A hook is called as hook(module, inputs, output) and returns None or a new output.
ForwardHook = Callable[["Module", tuple, Any], Any]
# A backward hook is called as hook(module, grad_input, grad_output) and returns None.
BackwardHook = Callable[["Module", tuple, tuple], None]


class StateDictError(ValueError):
    """A state dict does not fit a module: lists every missing, unexpected or mis-shaped entry."""


class Parameter(Tensor):
    """A Tensor that a Module trains: always ``requires_grad=True``.

    NumPy data is placed on the current backend (see :func:`scratchnet.set_backend`), so
    layers built after ``sn.set_backend("cupy")`` live on the GPU.
    """

    __slots__ = ()

    def __init__(self, data: Any, dtype: Any = None) -> None:
        if not is_cupy_array(data) and not isinstance(data, Tensor):
            data = to_device(np.asarray(data), current_backend())  # host: not a CuPy array
        super().__init__(data, requires_grad=True, dtype=dtype)

    def __repr__(self) -> str:
        return "Parameter" + super().__repr__()[len("Tensor"):]


class Module:
    """Base class of every layer and model.

    Subclasses set their parameters and sub-modules as attributes in ``__init__`` and
    implement ``forward``; calling the module calls ``forward``. ``training`` is ``True``
    until :meth:`eval` (it changes what Dropout, GaussianNoise and BatchNorm do).
    """

    def __init__(self) -> None:
        self.training = True
        self._buffers: list[str] = []
        # {handle id: hook}, in registration order. A dict, not a Module or a list of
        # them, so parameters(), named_children() and state_dict() never look inside.
        self._forward_hooks: dict[int, ForwardHook] = {}
        self._backward_hooks: dict[int, BackwardHook] = {}

    # ---- calling ------------------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # Every forward() may use Tensor methods on its inputs (x.reshape, x.data): wrap
        # the positional arrays, without a copy. This runs on every call of every layer,
        # so the test is a plain loop that, for Tensor inputs, costs one isinstance each.
        for arg in args:
            if not isinstance(arg, Tensor) and is_array(arg):
                args = tuple(as_tensor(a) if is_array(a) else a for a in args)
                break
        watched = bool(self._backward_hooks) and is_grad_enabled()
        if watched:
            # A view of each input that needs a gradient: what reaches the view came
            # through this module only, not from other uses of the same tensor.
            args = tuple(Reshape(a.shape)(a) if isinstance(a, Tensor) and a.requires_grad
                         else a for a in args)
        output = self.forward(*args, **kwargs)
        if self._forward_hooks:
            # A copy: a hook may remove itself (or another) while the hooks run.
            for hook in list(self._forward_hooks.values()):
                replaced = hook(self, args, output)
                if replaced is not None:
                    output = replaced
        if watched:
            _watch_gradients(self, args, output)
        return output

    def register_forward_hook(self, hook: ForwardHook) -> RemovableHandle:
        """Call ``hook(module, inputs, output)`` after every ``forward`` of this module.

        ``inputs`` is the tuple of positional arguments ``forward`` received (arrays already
        made Tensors); ``output`` is what it returned. A hook that returns something other
        than None replaces the output, for the caller and for the hooks after it. Hooks run
        in the order they were registered; ``handle.remove()`` unregisters this one. Only
        this module's own calls run its hooks, not those of the modules inside it.
        """
        return self._add_hook(self._forward_hooks, hook, "register_forward_hook",
                              "hook(module, inputs, output)")

    def register_full_backward_hook(self, hook: BackwardHook) -> RemovableHandle:
        """Call ``hook(module, grad_input, grad_output)`` when backprop passes through a call.

        For a call ``y = module(x1, x2, ...)`` inside a graph that is differentiated
        (``loss.backward()`` or :func:`scratchnet.grad`), ``grad_output`` is ``(∂L/∂y,)``,
        with y's shape, and ``grad_input`` holds one entry per positional input:
        ``∂L/∂x_i`` *through this call only* (what reaches ``x_i`` along other paths, such
        as a residual connection around the module, is not in it), or ``None`` for an
        input that is not a Tensor needing a gradient (the data going into a first layer).
        The hook runs once per call of the module and per backward pass, as soon as every
        entry of ``grad_input`` is complete (or as soon as ``grad_output`` is, when no
        input needs a gradient). A pass that never reaches the call does not run it, and
        neither does one that leaves an input's gradient uncomputed (an input ``forward``
        ignores, or a :func:`scratchnet.grad` asked only for tensors that the gradient of
        another input does not lead to).

        The hook observes: it must return ``None`` (to change a gradient, use
        :meth:`Tensor.register_hook`). The module's output must be one Tensor. Calls made
        without a graph (under ``no_grad``) are not watched. ``handle.remove()``
        unregisters it. Built on :meth:`Tensor.register_hook`: a view of each input is put
        in front of ``forward``, and hooks go on the views and on the output.
        """
        return self._add_hook(self._backward_hooks, hook, "register_full_backward_hook",
                              "hook(module, grad_input, grad_output)")

    def _add_hook(self, hooks: dict[int, Any], hook: Any, method: str,
                  signature: str) -> RemovableHandle:
        if not callable(hook):
            raise TypeError(f"{type(self).__name__}.{method}: expected a callable "
                            f"{signature}, got {type(hook).__name__}")
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        return handle

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, (Parameter, Module)) and "_buffers" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before "
                                 f"assigning {name!r}")
        if isinstance(value, (list, tuple)) and any(isinstance(v, Module) for v in value):
            # A plain list would hide its layers' parameters from parameters().
            raise TypeError(f"{type(self).__name__}.{name}: a list of layers is not "
                            "registered; use nn.Sequential(*layers) instead")
        object.__setattr__(self, name, value)

    # ---- what a module holds --------------------------------------------------------------
    def register_buffer(self, name: str, array: Any) -> None:
        """Keep ``array`` as state that is saved and moved with the module but not trained."""
        setattr(self, name, array)
        if name not in self._buffers:
            self._buffers.append(name)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct sub-modules, in assignment order."""
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value

    def children(self) -> list[Module]:
        return [m for _, m in self.named_children()]

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module and every module inside it, with dotted names ("" for this one)."""
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> list[Module]:
        return [m for _, m in self.named_modules()]

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """Every parameter, depth first in assignment order, named like ``"0.weight"``."""
        seen: set[int] = set()
        for module_name, module in self.named_modules(prefix):
            for name, value in vars(module).items():
                if isinstance(value, Parameter) and id(value) not in seen:
                    seen.add(id(value))  # a shared (tied) parameter is listed once
                    yield (f"{module_name}.{name}" if module_name else name), value

    def parameters(self) -> list[Parameter]:
        """The trainable tensors, each once, for an optimizer."""
        return [p for _, p in self.named_parameters()]

    def _buffer_slots(self) -> Iterator[tuple[str, Module, str]]:
        """(dotted name, owning module, attribute) for every buffer."""
        for module_name, module in self.named_modules():
            for name in module._buffers:
                yield (f"{module_name}.{name}" if module_name else name), module, name

    def named_buffers(self) -> Iterator[tuple[str, Any]]:
        """Every buffer (untrained state such as running statistics), by dotted name."""
        for dotted, module, name in self._buffer_slots():
            yield dotted, getattr(module, name)

    def num_parameters(self) -> int:
        """The number of trainable scalars (a tied weight counts once)."""
        return int(sum(p.size for p in self.parameters()))

    # ---- modes and gradients ----------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Switch this module and all inside it to training (or, with False, evaluation) mode."""
        for module in self.modules():
            module.training = mode
        return self

    def eval(self) -> Module:
        """Switch to evaluation mode: no dropout or noise, BatchNorm uses running statistics."""
        return self.train(False)

    def zero_grad(self) -> None:
        """Forget the gradients of every parameter."""
        for p in self.parameters():
            p.grad = None

    # ---- state --------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter and buffer as NumPy arrays, keyed by dotted name."""
        state = {name: as_numpy(p.data).copy() for name, p in self.named_parameters()}
        state.update({name: as_numpy(b).copy() for name, b in self.named_buffers()})
        return state

    def load_state_dict(self, state: dict[str, Any], strict: bool = True) -> None:
        """Copy values from ``state`` into this module's parameters and buffers, in place.

        Every problem is collected first and reported in one :class:`StateDictError`:
        missing and unexpected names (only when ``strict``) and shape mismatches (always).
        Nothing is changed unless everything fits.
        """
        # The same names as state_dict(): a shared (tied) parameter appears once.
        targets = {name: p.data for name, p in self.named_parameters()}
        targets.update(self.named_buffers())
        problems = []
        if strict:
            problems += [f"missing: {n}" for n in targets if n not in state]
            problems += [f"unexpected: {n}" for n in state if n not in targets]
        for name, current in targets.items():
            if name in state and current.shape != np.shape(state[name]):
                problems.append(f"shape of {name}: expected {current.shape}, "
                                f"got {np.shape(state[name])}")
        if problems:
            raise StateDictError(f"{type(self).__name__}.load_state_dict: " + "; ".join(problems))
        for name, current in targets.items():
            if name in state:
                xp = get_array_module(current)
                current[...] = xp.asarray(state[name], dtype=current.dtype)

    def to(self, backend: str) -> Module:
        """Move every parameter and buffer to ``backend`` ("numpy" or "cupy"), in place."""
        for p in self.parameters():
            p.data = to_device(p.data, backend)
            p.grad = None
        for _, module, name in self._buffer_slots():
            setattr(module, name, to_device(getattr(module, name), backend))
        return self

    # ---- display ------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The settings shown inside this module's repr, e.g. ``in=784, out=32``."""
        return ""

    def __repr__(self) -> str:
        children = [f"  ({name}): " + repr(child).replace("\n", "\n  ")
                    for name, child in self.named_children()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        return head + ("\n" + "\n".join(children) + "\n)" if children else ")")

    def summary(self, input_shape: tuple[int, ...], print_fn: Any = print) -> str:
        """Print a Keras-style table of layers, output shapes and parameter counts.

        ``input_shape`` excludes the batch axis, e.g. ``(784,)`` or ``(1, 28, 28)``. A zero
        batch of one example runs through the model in evaluation mode without recording a
        graph; each call of a layer is a row (a layer used twice appears twice), and the
        total counts every parameter once. Returns the table as a string.

        The rows come from forward hooks, put on the layers for this one pass and removed
        afterwards, even if the pass fails. A *layer* is a module whose sub-modules, if
        any, are plain and parameter-free (like Dense's activation), so what it calls
        belongs to its own row; containers (Sequential, a model made of an encoder and a
        decoder) are looked through. A parameter held directly by a container shows in
        the total only.
        """
        layers = _summary_layers(self)
        # Counted now rather than in the hook: a wrapper such as SpectralNorm lends its
        # layer a plain Tensor as the weight for the duration of the call.
        counts = {id(layer): layer.num_parameters() for layer in layers}
        rows: list[tuple[str, str, int]] = []

        def record(layer: Module, inputs: tuple, output: Any) -> None:
            rows.append((type(layer).__name__, _shape_text(output), counts[id(layer)]))

        modes = {id(m): m.training for m in self.modules()}
        self.eval()
        dtype = next((p.dtype for p in self.parameters()), np.float32)
        xp = get_array_module(*(p.data for p in self.parameters()))
        x = Tensor._wrap(xp.zeros((1, *input_shape), dtype=dtype))
        handles = [layer.register_forward_hook(record) for layer in layers]
        try:
            with no_grad():
                self(x)
        finally:
            for handle in handles:
                handle.remove()
            for m in self.modules():
                m.training = modes[id(m)]
        table = _format_summary(type(self).__name__, rows, self.num_parameters())
        print_fn(table)
        return table


def _watch_gradients(module: Module, inputs: tuple, output: Any) -> None:
    """Put the tensor hooks on one call's inputs and output that run its backward hooks."""
    if not isinstance(output, Tensor):
        raise TypeError(f"{type(module).__name__}.register_full_backward_hook: the module "
                        f"must return one Tensor, got {type(output).__name__}")
    if not output.requires_grad:
        return  # nothing will flow back through this call
    needs = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    # One pass fills these in; they are cleared after the hooks ran, for the next pass
    # (grad() and backward() may differentiate the same graph again).
    grad_output: list[Tensor | None] = [None]
    grad_input: list[Tensor | None] = [None] * len(inputs)
    waiting = set(needs)

    def run_hooks() -> None:
        seen_in, seen_out = tuple(grad_input), tuple(grad_output)
        grad_output[0] = None
        grad_input[:] = [None] * len(inputs)
        waiting.update(needs)
        for hook in list(module._backward_hooks.values()):
            if hook(module, seen_in, seen_out) is not None:
                raise TypeError(f"{type(module).__name__}: a full backward hook observes "
                                "and must return None; to change a gradient use "
                                "Tensor.register_hook")

    def on_output(g: Tensor) -> None:
        # A pass reaches the output before the inputs: start afresh, so that what an
        # earlier pass left half-done (an input it never reached) is not reported now.
        grad_input[:] = [None] * len(inputs)
        waiting.clear()
        waiting.update(needs)
        grad_output[0] = g
        if not needs:
            run_hooks()

    def on_input(i: int) -> Callable[[Tensor], None]:
        def record(g: Tensor) -> None:
            grad_input[i] = g
            waiting.discard(i)
            if not waiting:
                run_hooks()
        return record

    output.register_hook(on_output)  # first: an input's gradient is complete after it
    for i in needs:
        inputs[i].register_hook(on_input(i))


def _is_plain_leaf(module: Module) -> bool:
    """No sub-modules, parameters or buffers: an activation, Flatten, ..."""
    return not module._buffers and not any(
        isinstance(v, (Parameter, Module)) for v in vars(module).values())


def _is_layer(module: Module) -> bool:
    """A summary row of its own: not a container, and only plain modules inside."""
    return not isinstance(module, Sequential) and all(
        _is_plain_leaf(child) for child in module.children())


def _summary_layers(module: Module) -> list[Module]:
    """The layers inside ``module`` (or itself), each once, looking through containers."""
    if _is_layer(module):
        return [module]
    found: dict[int, Module] = {}
    for child in module.children():
        for layer in _summary_layers(child):
            found.setdefault(id(layer), layer)  # a shared layer gets one hook
    return list(found.values())


def _shape_text(out: Any) -> str:
    if isinstance(out, (tuple, list)):
        return ", ".join(_shape_text(o) for o in out)
    return str((None, *out.shape[1:]))


def _format_summary(name: str, rows: list[tuple[str, str, int]], total: int) -> str:
    header = ("Layer (type)", "Output Shape", "Param #")
    body = [(f"{kind}_{i}", shape, f"{count:,}") for i, (kind, shape, count) in enumerate(rows)]
    widths = [max(len(r[c]) for r in [header, *body]) + 2 for c in range(3)]
    rule = "=" * sum(widths)

    def line(r: tuple[str, str, str]) -> str:
        return r[0].ljust(widths[0]) + r[1].ljust(widths[1]) + r[2].rjust(widths[2])

    lines = [f'Model: "{name}"', rule, line(header), rule]
    lines += [line(r) for r in body]
    lines += [rule, f"Total params: {total:,}", rule]
    return "\n".join(lines)


class Sequential(Module):
    """Layers applied one after another: ``Sequential(a, b, c)(x) == c(b(a(x)))``.

    The layers are attributes named ``"0"``, ``"1"``, ..., so the first Dense layer's
    weight is ``"0.weight"`` in the state dict.
    """

    def __init__(self, *layers: Module) -> None:
        super().__init__()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential: layer {i} has type {type(layer).__name__}, "
                                "expected a Module instance")
            setattr(self, str(i), layer)

    def forward(self, x: Any) -> Any:
        for layer in self:
            x = layer(x)
        return x

    def __iter__(self) -> Iterator[Module]:
        return iter(self.children())

    def __len__(self) -> int:
        return len(self.children())

    def __getitem__(self, index: int) -> Module:
        return self.children()[index]
