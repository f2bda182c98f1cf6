"""Optimizers (SGD, Adam) and learning-rate schedules (StepLR, CosineLR).

An optimizer holds a list of parameters — leaf Tensors with ``requires_grad=True``, such as
``model.parameters()`` — and, after ``loss.backward()`` has filled every ``p.grad``, moves
each parameter a little against its gradient::

    opt = optim.Adam(model.parameters(), lr=1e-3)
    for x in loader:
        opt.zero_grad()            # p.grad = None for every parameter
        loss = loss_fn(model(x))
        loss.backward()            # p.grad = d loss / d p
        opt.step()                 # p.data updated in place

How the update is done, for every optimizer here:

* **In place.** ``p.data`` keeps its array object: the step writes into it with in-place
  operations (``-=``, ``*=``), so anything holding the array (a view, a module) sees the new
  values. ``p.grad`` is only read, never written.
* **No graph.** The update works on raw arrays (``p.data``, ``p.grad.data``), not on Tensors,
  so it records nothing and needs no ``no_grad()`` block.
* **Dtype and backend of the parameter.** Hyper-parameters are Python floats, which NumPy
  treats as "weak" scalars: ``lr * g`` stays float32 for a float32 ``g``. State buffers
  (momentum, Adam's moments) are made with ``xp.zeros_like(p.data)``: same dtype, same array
  module (NumPy or CuPy) as the parameter.
* **Skipping.** A parameter whose ``.grad`` is ``None`` (it took no part in the loss) is left
  alone, and so is its state.

Learning-rate schedules change ``optimizer.lr`` once per epoch::

    sched = optim.CosineLR(opt, t_max=epochs)
    for epoch in range(epochs):
        train_one_epoch(...)
        sched.step()

``state_dict()`` returns a flat ``dict`` of Python scalars and NumPy arrays (it can be
written with ``numpy.savez``); ``load_state_dict()`` puts it back, so training can resume
exactly where it stopped.

References:
    Polyak, "Some methods of speeding up the convergence of iteration methods", 1964 (momentum).
    Sutskever, Martens, Dahl, Hinton, "On the importance of initialization and momentum in
    deep learning", ICML 2013 (Nesterov momentum in this form).
    Kingma, Ba, "Adam: a method for stochastic optimization", ICLR 2015.
    Loshchilov, Hutter, "Decoupled weight decay regularization", ICLR 2019 (AdamW, not here).
    Loshchilov, Hutter, "SGDR: stochastic gradient descent with warm restarts", ICLR 2017.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Iterable
from typing import Any, ClassVar

from scratchnet.autograd import Tensor
from scratchnet.backend import as_numpy, get_array_module
from scratchnet.checks import check_int, check_number, with_article

__all__ = ["SGD", "Adam", "CosineLR", "LRScheduler", "Optimizer", "StepLR", "clip_grad_norm_"]


# --------------------------------------------------------------------------------------
# Gradient clipping
# --------------------------------------------------------------------------------------
def clip_grad_norm_(parameters: Iterable[Tensor] | Tensor, max_norm: float) -> float:
    """Rescale the gradients in place so their joint L2 norm is at most ``max_norm``.

    With ``total = sqrt(sum_p ||grad_p||²)`` over every parameter that has a gradient, each
    gradient is multiplied by ``max_norm / total`` when ``total > max_norm`` and left alone
    otherwise: the step keeps its direction and only its length is capped. A recurrent
    network needs this because its gradient can explode (Pascanu, Mikolov & Bengio, "On
    the difficulty of training recurrent neural networks", ICML 2013): one step of
    ``‖∂h_T/∂h_0‖`` in the thousands would throw the weights far away.

    ``parameters`` is an iterable of tensors (``model.parameters()``) or one tensor.
    Returns the total norm *before* clipping, as a float (log it: a norm that keeps hitting
    the cap means the cap, or the learning rate, is too small). The trailing underscore
    says it changes the gradients in place, as in PyTorch.
    """
    max_norm = check_number("clip_grad_norm_", "max_norm", max_norm, low=0.0, low_open=True)
    if isinstance(parameters, Tensor):  # one tensor; iterating it would give its rows
        parameters = [parameters]
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return 0.0
    # Squares summed in float64, without a float64 copy of every gradient at every step.
    total = math.sqrt(sum(float(get_array_module(g.data).square(g.data).sum(dtype="float64"))
                          for g in grads))
    if total > max_norm:
        scale = max_norm / total
        for g in grads:
            g.data = g.data * g.data.dtype.type(scale)
    return total


# --------------------------------------------------------------------------------------
# Optimizer base class
# --------------------------------------------------------------------------------------
class Optimizer(abc.ABC):
    """Base class: a list of parameters, per-parameter state, and the update rule.

    Subclasses set ``hyper_parameters`` (the names of their scalar settings, which are
    attributes such as ``self.lr``), ``state_keys`` (the names of their per-parameter
    state) and implement :meth:`_update`, the rule for one parameter.

    Attributes:
        params: the parameters, in the order given.
        state: one dict per parameter (same order), e.g. ``{"momentum_buffer": array}``;
            empty until that parameter's first step.
        lr: the learning rate; schedules change it between epochs.
    """

    hyper_parameters: ClassVar[tuple[str, ...]] = ("lr",)
    state_keys: ClassVar[tuple[str, ...]] = ()

    def __init__(self, params: Iterable[Tensor], lr: float) -> None:
        name = type(self).__name__
        self.params: list[Tensor] = self._collect(params)
        self.state: list[dict[str, Any]] = [{} for _ in self.params]
        self.lr = check_number(name, "lr", lr, low=0.0, low_open=True)

    def _collect(self, params: Iterable[Tensor]) -> list[Tensor]:
        """Check ``params``: a non-empty iterable of distinct leaf Tensors needing gradients."""
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(f"{name}: params must be an iterable of Tensors, got a single "
                            "Tensor; wrap it in a list: [p]")
        try:
            params = list(params)
        except TypeError:
            raise TypeError(f"{name}: params must be an iterable of Tensors (for example "
                            f"model.parameters()), got {type(params).__name__}") from None
        if not params:
            raise ValueError(f"{name}: got an empty parameter list; there is nothing to "
                             "optimise (did the model create its parameters?)")
        seen: set[int] = set()
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: parameter {i} is {with_article(type(p).__name__)}, "
                                "expected a Tensor (parameter groups as dicts are not supported)")
            if not p.requires_grad:
                raise ValueError(f"{name}: parameter {i} (shape {p.shape}) does not require "
                                 "grad; create it with requires_grad=True or leave it out")
            if not p.is_leaf:
                raise ValueError(f"{name}: parameter {i} (shape {p.shape}) is the result of "
                                 "an operation, not a leaf; optimise the leaf tensors instead")
            if id(p) in seen:
                raise ValueError(f"{name}: parameter {i} (shape {p.shape}) appears twice; "
                                 "it would be updated twice per step")
            seen.add(id(p))
        return params

    # ---- the training-loop interface --------------------------------------------------
    def zero_grad(self) -> None:
        """Forget every parameter's gradient (``p.grad = None``) before the next backward."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """Update every parameter that has a gradient, in place."""
        name = type(self).__name__
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            g = p.grad.data
            if g.shape != p.data.shape:
                raise ValueError(f"{name}.step: parameter {i} has shape {p.data.shape} but "
                                 f"its gradient has shape {g.shape}")
            xp = get_array_module(p.data, g)  # raises for NumPy and CuPy mixed
            self._update(xp, p.data, g, self.state[i])

    @abc.abstractmethod
    def _update(self, xp: Any, p: Any, g: Any, state: dict[str, Any]) -> None:
        """Update the array ``p`` in place from gradient ``g`` (read only) and ``state``."""

    @abc.abstractmethod
    def _validate(self) -> None:
        """Check the hyper-parameters other than ``lr`` (called by ``__init__`` and load)."""

    # ---- saving and loading -----------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Hyper-parameters and per-parameter state as a flat dict.

        Keys::

            "lr", ... every name in ``hyper_parameters``   Python float / bool
            "num_params"                                   Python int
            "state.<i>.<key>"                              NumPy array (a copy) or int

        where ``<i>`` is the parameter's position in ``params``; parameters that have not
        taken a step yet have no ``state.<i>`` entries. Everything is a Python scalar or a
        NumPy array, so ``numpy.savez(path, **opt.state_dict())`` stores it without pickle.
        """
        out: dict[str, Any] = {k: getattr(self, k) for k in self.hyper_parameters}
        out["num_params"] = len(self.params)
        for i, state in enumerate(self.state):
            for key, value in state.items():
                out[f"state.{i}.{key}"] = (as_numpy(value).copy() if hasattr(value, "shape")
                                           else value)
        return out

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (also after ``numpy.load`` of it).

        The parameters are not part of the state dict (the model saves those); this
        optimizer must be built on parameters of the same number and shapes. Arrays are
        copied into each parameter's dtype and array module. Unknown or missing keys and
        wrong shapes raise ``ValueError`` and leave the optimizer unchanged.
        """
        name = type(self).__name__
        state_dict = dict(state_dict)
        expected = set(self.hyper_parameters) | {"num_params"}
        missing = sorted(expected - state_dict.keys())
        if missing:
            raise ValueError(f"{name}.load_state_dict: missing keys {missing}")
        n = int(state_dict["num_params"])
        if n != len(self.params):
            raise ValueError(f"{name}.load_state_dict: the state dict is for {n} parameters, "
                             f"this optimizer has {len(self.params)}")

        new_state: list[dict[str, Any]] = [{} for _ in self.params]
        for key, value in state_dict.items():
            if key in expected:
                continue
            parts = key.split(".")
            if (len(parts) != 3 or parts[0] != "state" or not parts[1].isdigit()
                    or int(parts[1]) >= n or parts[2] not in self.state_keys):
                raise ValueError(f"{name}.load_state_dict: unexpected key {key!r}; expected "
                                 f"{sorted(expected)} and state.<i>.<key> with i < {n} and "
                                 f"key in {list(self.state_keys)}")
            i, field = int(parts[1]), parts[2]
            p = self.params[i].data
            if field == "step":
                new_state[i][field] = int(value)
                continue
            if tuple(value.shape) != p.shape:
                raise ValueError(f"{name}.load_state_dict: {key} has shape "
                                 f"{tuple(value.shape)}, parameter {i} has shape {p.shape}")
            xp = get_array_module(p)
            new_state[i][field] = xp.array(value, dtype=p.dtype, copy=True)
        for i, state in enumerate(new_state):
            if state and set(state) != set(self.state_keys):
                missing = sorted(set(self.state_keys) - set(state))
                raise ValueError(f"{name}.load_state_dict: parameter {i} has state "
                                 f"{sorted(state)} but is missing {missing}")

        # Hyper-parameters: validated on a copy first so a bad dict changes nothing.
        previous = {k: getattr(self, k) for k in self.hyper_parameters}
        try:
            for k in self.hyper_parameters:
                value = state_dict[k]
                setattr(self, k, bool(value) if isinstance(previous[k], bool)
                        else check_number(name, k, value))
            # A schedule may have taken lr down to 0 (CosineLR with min_lr=0).
            check_number(name, "lr", self.lr, low=0.0)
            self._validate()
        except (TypeError, ValueError):
            for k, v in previous.items():
                setattr(self, k, v)
            raise
        self.state = new_state

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.hyper_parameters)
        return f"{type(self).__name__}({settings}, params={len(self.params)})"


# --------------------------------------------------------------------------------------
# SGD
# --------------------------------------------------------------------------------------
class SGD(Optimizer):
    r"""Stochastic gradient descent, with optional momentum, Nesterov momentum and L2 decay.

    For each parameter ``p`` with gradient ``g``, learning rate ``η`` (``lr``), momentum
    ``μ`` and weight decay ``λ``, one step is (PyTorch's convention)::

        g ← g + λ·p                 (weight decay: the gradient of λ/2·‖p‖²)
        v ← μ·v + g                 (velocity, v = 0 before the first step)
        u = g + μ·v   if nesterov   (look ahead along the velocity)
        u = v         otherwise
        p ← p − η·u

    With ``μ = 0`` this is plain gradient descent, ``p ← p − η·g``, and no velocity is
    stored. Note that the learning rate multiplies the velocity, not the gradient inside
    it (Sutskever et al. 2013 write ``v ← μ·v − η·g``; the two agree while ``η`` is
    constant and differ only in how a change of ``η`` takes effect).

    Args:
        params: iterable of leaf Tensors with ``requires_grad=True``.
        lr: learning rate ``η > 0``.
        momentum: ``μ >= 0`` (0.9 is usual; 0 switches momentum off).
        nesterov: use Nesterov momentum (needs ``momentum > 0``).
        weight_decay: ``λ >= 0``, L2 penalty coefficient.

    State per parameter: ``"momentum_buffer"`` (``v``), only when ``momentum > 0``.
    """

    hyper_parameters = ("lr", "momentum", "nesterov", "weight_decay")
    state_keys = ("momentum_buffer",)

    def __init__(self, params: Iterable[Tensor], lr: float, momentum: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        self.momentum = check_number("SGD", "momentum", momentum)
        self.nesterov = nesterov
        self.weight_decay = check_number("SGD", "weight_decay", weight_decay)
        self._validate()

    def _validate(self) -> None:
        check_number("SGD", "momentum", self.momentum, low=0.0)
        check_number("SGD", "weight_decay", self.weight_decay, low=0.0)
        if not isinstance(self.nesterov, bool):
            raise TypeError(f"SGD: nesterov must be True or False, got {self.nesterov!r}")
        if self.nesterov and self.momentum == 0:
            raise ValueError("SGD: nesterov=True needs momentum > 0 (Nesterov momentum "
                             "without momentum is plain SGD); got momentum=0")

    def _update(self, xp: Any, p: Any, g: Any, state: dict[str, Any]) -> None:
        mu, wd = self.momentum, self.weight_decay
        if wd != 0:
            g = g + wd * p  # a new array: the gradient itself is left untouched
        if mu == 0:
            p -= self.lr * g
            return
        if "momentum_buffer" not in state:
            state["momentum_buffer"] = xp.zeros_like(p)
        v = state["momentum_buffer"]
        v *= mu  # v ← μ·v + g, in place
        v += g
        update = g + mu * v if self.nesterov else v
        p -= self.lr * update


# --------------------------------------------------------------------------------------
# Adam
# --------------------------------------------------------------------------------------
class Adam(Optimizer):
    r"""Adam: per-coordinate step sizes from running moments of the gradient.

    Kingma & Ba (2015), Algorithm 1, with an L2 term added to the gradient. For each
    parameter ``p`` with gradient ``g``, learning rate ``α`` (``lr``), decay rates
    ``β₁, β₂`` (``betas``), ``ε`` (``eps``) and weight decay ``λ``, step ``t = 1, 2, ...``::

        g ← g + λ·p                   (L2 weight decay, as in PyTorch's Adam)
        m ← β₁·m + (1 − β₁)·g         (first moment: running mean of g)
        v ← β₂·v + (1 − β₂)·g²        (second moment: running mean of g²)
        m̂ = m / (1 − β₁ᵗ)             (bias correction: m and v start at 0)
        v̂ = v / (1 − β₂ᵗ)
        p ← p − α·m̂ / (√v̂ + ε)

    After bias correction the first step is ``α·g/(|g| + ε) ≈ α·sign(g)``: every
    coordinate moves by about ``lr``, whatever the gradient's scale.

    Weight decay here is the L2 penalty folded into the gradient, so it is rescaled by
    ``√v̂`` like the rest of the gradient. This is **not AdamW** (Loshchilov & Hutter 2019),
    which instead shrinks ``p ← p − α·λ·p`` outside the adaptive step.

    The step count ``t`` is kept **per parameter** (``state[i]["step"]``): a parameter that
    skipped some steps (its ``.grad`` was ``None``) gets the bias correction of the number
    of updates it has actually had.

    Args:
        params: iterable of leaf Tensors with ``requires_grad=True``.
        lr: step size ``α > 0``.
        betas: ``(β₁, β₂)``, each in ``[0, 1)``.
        eps: ``ε > 0``, keeps the division finite.
        weight_decay: ``λ >= 0``, L2 penalty coefficient.

    State per parameter: ``"step"`` (int), ``"exp_avg"`` (``m``), ``"exp_avg_sq"`` (``v``).
    """

    hyper_parameters = ("lr", "beta1", "beta2", "eps", "weight_decay")
    state_keys = ("step", "exp_avg", "exp_avg_sq")

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        try:
            beta1, beta2 = betas
        except (TypeError, ValueError):
            raise TypeError(f"Adam: betas must be a pair (beta1, beta2), got {betas!r}") from None
        self.beta1 = check_number("Adam", "betas[0]", beta1)
        self.beta2 = check_number("Adam", "betas[1]", beta2)
        self.eps = check_number("Adam", "eps", eps)
        self.weight_decay = check_number("Adam", "weight_decay", weight_decay)
        self._validate()

    @property
    def betas(self) -> tuple[float, float]:
        """``(β₁, β₂)``; stored as ``beta1`` and ``beta2`` so the state dict stays flat."""
        return (self.beta1, self.beta2)

    def _validate(self) -> None:
        check_number("Adam", "betas[0]", self.beta1, 0.0, 1.0, high_open=True)
        check_number("Adam", "betas[1]", self.beta2, 0.0, 1.0, high_open=True)
        check_number("Adam", "eps", self.eps, low=0.0, low_open=True)
        check_number("Adam", "weight_decay", self.weight_decay, low=0.0)

    def _update(self, xp: Any, p: Any, g: Any, state: dict[str, Any]) -> None:
        b1, b2 = self.beta1, self.beta2
        if self.weight_decay != 0:
            g = g + self.weight_decay * p  # a new array: the gradient itself is left untouched
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(p)
            state["exp_avg_sq"] = xp.zeros_like(p)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        state["step"] += 1
        t = state["step"]
        # One scratch array, reused through ``out=``: the textbook expression below would
        # allocate about nine temporaries the size of ``p`` per step, which took 40% of a
        # VAE training step.
        scratch = xp.empty_like(g)  # an array even for a 0-d parameter
        xp.multiply(g, 1.0 - b1, out=scratch)
        m *= b1  # m ← β₁·m + (1 − β₁)·g
        m += scratch
        xp.multiply(g, g, out=scratch)
        scratch *= 1.0 - b2
        v *= b2  # v ← β₂·v + (1 − β₂)·g²
        v += scratch
        # m̂ / (√v̂ + ε) with the bias corrections moved onto scalars:
        # p ← p − α/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)
        xp.sqrt(v, out=scratch)
        scratch *= 1.0 / math.sqrt(1.0 - b2**t)
        scratch += self.eps
        xp.divide(m, scratch, out=scratch)
        scratch *= self.lr / (1.0 - b1**t)
        p -= scratch


# --------------------------------------------------------------------------------------
# Learning-rate schedules
# --------------------------------------------------------------------------------------
class LRScheduler(abc.ABC):
    """Base class: sets ``optimizer.lr`` from a formula of the epoch number.

    The schedule remembers the optimizer's learning rate when it is created (``base_lr``)
    and starts at epoch 0 with that rate. Each :meth:`step` (call it once at the end of
    every epoch) advances one epoch and sets ``optimizer.lr = get_lr()``. The rate is
    always computed from ``base_lr`` and the epoch, never by multiplying the previous
    rate, so it does not drift.
    """

    def __init__(self, optimizer: Optimizer) -> None:
        name = type(self).__name__
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{name}: expected an optimizer (optim.SGD, optim.Adam, ...), "
                            f"got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lr: float = optimizer.lr
        self.epoch = 0

    @abc.abstractmethod
    def get_lr(self) -> float:
        """The learning rate for the current epoch."""

    @property
    def lr(self) -> float:
        """The learning rate for the current epoch (the same as :meth:`get_lr`)."""
        return self.get_lr()

    def step(self) -> None:
        """Advance one epoch and set the optimizer's learning rate."""
        self.epoch += 1
        self.optimizer.lr = self.get_lr()

    def state_dict(self) -> dict[str, Any]:
        """``{"base_lr": float, "epoch": int}``: enough to resume the schedule."""
        return {"base_lr": self.base_lr, "epoch": self.epoch}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` and set the optimizer's learning rate to match."""
        self.base_lr = float(state_dict["base_lr"])
        self.epoch = int(state_dict["epoch"])
        self.optimizer.lr = self.get_lr()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(epoch={self.epoch}, lr={self.get_lr():.6g})"


class StepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs::

        lr(e) = base_lr · gamma^⌊e / step_size⌋

    Args:
        optimizer: the optimizer whose ``lr`` to set; its current ``lr`` is ``base_lr``.
        step_size: epochs between decays (a positive integer).
        gamma: the factor, ``> 0`` (0.1 by default: ten times smaller each time).
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        super().__init__(optimizer)
        step_size = check_int("StepLR", "step_size", step_size)
        self.step_size = step_size
        self.gamma = check_number("StepLR", "gamma", gamma, low=0.0, low_open=True)

    def get_lr(self) -> float:
        return self.base_lr * self.gamma ** (self.epoch // self.step_size)


class CosineLR(LRScheduler):
    """Cosine annealing from ``base_lr`` down to ``min_lr`` over ``t_max`` epochs::

        lr(e) = min_lr + (base_lr − min_lr) · (1 + cos(π · e / t_max)) / 2,   0 ≤ e ≤ t_max
        lr(e) = min_lr                                                       e > t_max

    It starts at ``base_lr``, falls slowly, fastest mid-way (where it is the average of
    the two) and levels off at ``min_lr``. This is one cycle of SGDR (Loshchilov & Hutter
    2017) without restarts; after ``t_max`` the rate stays at ``min_lr``.

    Args:
        optimizer: the optimizer whose ``lr`` to set; its current ``lr`` is ``base_lr``.
        t_max: the number of epochs to anneal over (a positive integer).
        min_lr: the final learning rate, ``0 <= min_lr <= base_lr``.
    """

    def __init__(self, optimizer: Optimizer, t_max: int, min_lr: float = 0.0) -> None:
        super().__init__(optimizer)
        t_max = check_int("CosineLR", "t_max", t_max)
        min_lr = check_number("CosineLR", "min_lr", min_lr, low=0.0)
        if min_lr > self.base_lr:
            raise ValueError(f"CosineLR: min_lr ({min_lr}) must not exceed the optimizer's "
                             f"learning rate ({self.base_lr})")
        self.t_max = t_max
        self.min_lr = min_lr

    def get_lr(self) -> float:
        e = min(self.epoch, self.t_max)
        cosine = (1.0 + math.cos(math.pi * e / self.t_max)) / 2.0
        return self.min_lr + (self.base_lr - self.min_lr) * cosine
