"""The restricted Boltzmann machine, trained with contrastive divergence, measured in nats.

A Bernoulli–Bernoulli RBM (course: Jenni & Favaro; Goodfellow et al., ch. 20) gives every
joint state of binary visible units v (n_visible) and hidden units h (n_hidden) the energy

    E(v, h) = −aᵀv − bᵀh − hᵀW v,        p(v, h) = exp(−E(v, h)) / Z,

with W (n_hidden, n_visible), hidden biases b and visible biases a, named as in the course.
There are no connections within a layer, so each layer is conditionally independent given
the other:

    P(h_j = 1 | v) = σ(W v + b)_j,        P(v_i = 1 | h) = σ(Wᵀh + a)_i.

Summing h out gives the free energy, p(v) = exp(−F(v)) / Z with

    F(v) = −aᵀv − Σ_j softplus(b_j + W_j · v),

and the log-likelihood gradient ∂ log p(v)/∂θ = −∂F(v)/∂θ + E_model[∂F/∂θ]. Contrastive
divergence (Hinton, 2002) estimates the model expectation from k steps of Gibbs sampling
started at the data (CD-k), or from chains that persist across updates (PCD, Tieleman,
2008). The partition function Z is summed exactly for small models and estimated by
annealed importance sampling (Salakhutdinov & Murray, 2008) for large ones.

Training is therefore ordinary gradient descent on one number, the free-energy gap

    mean F(v_data) − mean F(v_model),

with v_model, the ends of the Gibbs chains, held constant: its autodiff gradient is minus
the CD estimate of the log-likelihood gradient. :meth:`RBM.training_step` computes it and
steps an ``optim.SGD`` (momentum and weight decay as in Hinton's practical guide), so an RBM
trains through ``sn.train.fit`` like every other model; :meth:`RBM.cd_gradient` keeps the
textbook formula ⟨h vᵀ⟩_data − ⟨h vᵀ⟩_model beside it, and the tests show the two equal.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

import scratchnet.functional as F
from scratchnet import nn, optim
from scratchnet.autograd import Tensor, get_default_dtype
from scratchnet.backend import as_numpy, get_array_module
from scratchnet.checks import check_int, check_range
from scratchnet.datasets.loader import DataLoader
from scratchnet.functional.activations import sigmoid_array, softplus_array
from scratchnet.random import get_generator, own_generator
from scratchnet.train import Callback, History, fit, minimize

__all__ = ["DBN", "RBM", "ais_schedule"]

MAX_EXACT_UNITS = 25
MONITOR_ROWS = 1000  # rows of the training data that RBM.fit monitors every epoch


def ais_schedule(kind: str = "default") -> np.ndarray:  # host: a list of temperatures
    """The inverse temperatures β_0 = 0 < β_1 < ... < β_K = 1 for AIS.

    ``"default"`` is Salakhutdinov & Murray's (2008): steps of 1e-3 from 0 to 0.5, 1e-4 to
    0.9 and 1e-5 to 1 (14,500 intermediate models). ``"fast"`` takes steps ten times as
    large (1,450), for tests and quick looks.
    """
    if kind not in ("default", "fast"):
        raise ValueError(f"ais_schedule: kind must be 'default' or 'fast', got {kind!r}")
    scale = 1 if kind == "default" else 10
    steps = [(0.0, 0.5, 500 // scale), (0.5, 0.9, 4000 // scale), (0.9, 1.0, 10000 // scale)]
    parts = [np.linspace(low, high, n, endpoint=False) for low, high, n in steps]
    return np.concatenate([*parts, [1.0]])


def _is_binary(X: Any) -> bool:
    """Whether every value of X is 0 or 1 (rather than a probability in between)."""
    return bool(((X == 0) | (X == 1)).all())


class RBM(nn.Module):
    """A Bernoulli–Bernoulli RBM trained with CD-k or persistent CD.

    Args:
        n_visible, n_hidden: layer sizes.
        k: Gibbs steps per update (CD-k or PCD-k).
        persistent: keep fantasy chains across updates (PCD), as many as the first batch
            has rows.
        rng: generator or seed for the initial weights, the Gibbs samples and the
            pseudo-likelihood's flipped bits (``fit`` shuffles with it too).

    Weights start as N(0, 0.01²) and the biases at 0, as Hinton's practical guide (2010)
    suggests; :meth:`fit` then sets the visible biases to log(p̄ / (1 − p̄)) of the data's
    mean p̄ (:meth:`init_visible_bias`). The learning rate, momentum and weight decay are
    the optimizer's (:meth:`configure_optimizers`, or any ``optim.SGD``).
    """

    def __init__(self, n_visible: int, n_hidden: int, k: int = 1, persistent: bool = False,
                 rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        self.n_visible = check_int("RBM", "n_visible", n_visible)
        self.n_hidden = check_int("RBM", "n_hidden", n_hidden)
        self.k = check_int("RBM", "k", k)
        self.persistent = bool(persistent)
        self.rng = own_generator(rng)
        dtype = get_default_dtype()
        weights = get_generator(self.rng).normal(0.0, 0.01, (self.n_hidden, self.n_visible))
        self.W = nn.Parameter(weights, dtype=dtype)
        self.b = nn.Parameter(np.zeros(self.n_hidden), dtype=dtype)
        self.a = nn.Parameter(np.zeros(self.n_visible), dtype=dtype)
        self.chains: Any = None  # PCD's fantasy particles, (chains, n_visible)

    # -- checks ------------------------------------------------------------------------------
    def _as_array(self, X: Any, caller: str, binary: bool = False) -> Any:
        """X as a 2-D array on the model's device and dtype, checked."""
        X = getattr(X, "data", X)
        xp = get_array_module(self.W.data)
        X = xp.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.n_visible:
            raise ValueError(f"RBM.{caller}: expected an (N, {self.n_visible}) array, got shape "
                             f"{tuple(X.shape)}")
        if X.dtype.kind not in "fiub":
            raise TypeError(f"RBM.{caller}: expected numbers, got dtype {X.dtype}")
        X = X.astype(self.W.dtype, copy=False)
        check_range(f"RBM.{caller}", X, 0.0, 1.0, "binary data, or probabilities of binary "
                    "units")
        if binary and X.size and not _is_binary(X):
            raise ValueError(f"RBM.{caller}: needs binary data (0 or 1): it is the "
                             f"probability of binary vectors; binarize first, e.g. "
                             f"load_mnist(binarize=True)")
        return X

    def _bernoulli(self, p: Any, rng: np.random.Generator | None = None) -> Any:
        """A binary sample with P(1) = p, drawn from ``rng`` (default: the model's)."""
        xp = get_array_module(p)
        generator = get_generator(self.rng if rng is None else rng)
        # Draw in p's precision: float32 numbers come faster than float64 ones.
        precision = p.dtype if p.dtype in (np.float32, np.float64) else np.float64
        uniform = generator.random(p.shape, dtype=precision)
        return (xp.asarray(uniform) < p).astype(p.dtype)

    # -- conditionals and sampling -----------------------------------------------------------
    def hidden_probabilities(self, v: Any) -> Any:
        """P(h = 1 | v) = σ(W v + b) for each row v, shape (N, n_hidden)."""
        # W Vᵀ, as the formula reads, rather than V Wᵀ: BLAS takes W (n_hidden, n_visible)
        # faster this way round when the batch is small (a third faster at 10 rows).
        return sigmoid_array((self.W.data @ v.T).T + self.b.data)

    def visible_probabilities(self, h: Any) -> Any:
        """P(v = 1 | h) = σ(h W + a), shape (N, n_visible)."""
        return sigmoid_array(h @ self.W.data + self.a.data)

    def transform(self, X: Any) -> Any:
        """The hidden probabilities P(h = 1 | x): the RBM's features, (N, n_hidden)."""
        return self.hidden_probabilities(self._as_array(X, "transform"))

    def reconstruct(self, X: Any) -> Any:
        """The mean-field reconstruction P(v = 1 | h = P(h | x)), (N, n_visible)."""
        return self.visible_probabilities(self.transform(X))

    def reconstruction_error(self, X: Any) -> float:
        """Mean squared difference between X and its reconstruction, per value."""
        X = self._as_array(X, "reconstruction_error")
        return float(((X - self.visible_probabilities(self.hidden_probabilities(X))) ** 2).mean())

    def gibbs(self, v: Any, steps: int = 1) -> Any:
        """``steps`` rounds of v → h → v of block Gibbs sampling; returns the binary v."""
        steps = check_int("RBM.gibbs", "steps", steps)
        return self._gibbs(self._as_array(v, "gibbs"), steps)

    def _gibbs(self, v: Any, steps: int, rng: np.random.Generator | None = None) -> Any:
        for _ in range(steps):
            h = self._bernoulli(self.hidden_probabilities(v), rng)
            v = self._bernoulli(self.visible_probabilities(h), rng)
        return v

    def sample(self, n: int, steps: int = 1000,
               rng: np.random.Generator | int | None = None) -> Any:
        """Run n chains from random binary images for ``steps`` Gibbs rounds.

        Returns the last P(v = 1 | h), (n, n_visible): the mean of the chain's next visible
        state, which shows the sample without the pixel noise. ``rng`` overrides the
        model's generator (a fixed seed runs the same chains on the same model).
        """
        n = check_int("RBM.sample", "n", n)
        steps = check_int("RBM.sample", "steps", steps)
        rng = None if rng is None else get_generator(rng)
        xp = get_array_module(self.W.data)
        v = self._bernoulli(xp.full((n, self.n_visible), 0.5, dtype=self.W.dtype), rng)
        v = self._gibbs(v, steps - 1, rng)
        return self.visible_probabilities(self._bernoulli(self.hidden_probabilities(v), rng))

    # -- energies and likelihoods ------------------------------------------------------------
    def free_energy(self, v: Any) -> Tensor:
        """F(v) = −aᵀv − Σ_j softplus(b_j + W_j · v) per row, (N,), as a differentiable Tensor.

        The hidden inputs W v + b are computed as columns, W Vᵀ (n_hidden, N), as the formula
        reads: then the gradient for W comes out in W's own memory order (the row form
        V Wᵀ gives it transposed, and copying it into W's order cost more than the product
        itself in ``bench_rbm.py``). softplus is evaluated stably, so large weights give
        large finite energies.
        """
        if not isinstance(v, Tensor):
            v = Tensor(self._as_array(v, "free_energy"))
        hidden_input = self.W @ v.T + self.b.reshape(self.n_hidden, 1)
        return -(v @ self.a) - F.softplus(hidden_input).sum(axis=0)

    def _free_energy_array(self, v: Any) -> Any:
        hidden_input = self.W.data @ v.T + self.b.data[:, None]
        return -(v @ self.a.data) - softplus_array(hidden_input).sum(axis=0)

    def pseudo_log_likelihood(self, X: Any) -> Any:
        """The stochastic pseudo-log-likelihood of each row, (N,), as scikit-learn computes it.

        For one random bit i per row, log P(v_i | v_-i) = log σ(F(ṽ) − F(v)) with ṽ the row
        with bit i flipped; times n_visible, it estimates Σ_i log P(v_i | v_-i).
        """
        X = self._as_array(X, "pseudo_log_likelihood", binary=True)
        xp = get_array_module(X)
        flip = xp.asarray(get_generator(self.rng).integers(0, self.n_visible, len(X)))
        flipped = X.copy()
        rows = xp.arange(len(X))
        flipped[rows, flip] = 1 - flipped[rows, flip]
        gap = self._free_energy_array(flipped) - self._free_energy_array(X)
        return -self.n_visible * softplus_array(-gap)  # n · log σ(gap)

    def log_partition(self, method: str = "exact", X: Any = None, n_runs: int = 100,
                      betas: Any = "default", chunk: int = 2**14
                      ) -> float | tuple[float, tuple[float, float]]:
        """log Z, exactly or by annealed importance sampling.

        ``method="exact"``: sums over every state of the smaller layer (at most 25 units),
        ``chunk`` states at a time; returns a float.

        ``method="ais"`` (Salakhutdinov & Murray, 2008): ``n_runs`` chains anneal from a
        base-rate model p_A(v) ∝ exp(a_Aᵀv), with a_A fitted to the training data ``X``
        (required), through the models with weights β·W and biases β·b, (1 − β)a_A + βa, to
        the RBM at β = 1. ``betas`` is a schedule: ``"default"``, ``"fast"`` (see
        :func:`ais_schedule`) or an increasing array from 0 to 1. Returns (log Z estimate,
        (low, high)), the bounds being log(mean weight ± 3 standard errors).
        """
        if method == "exact":
            return self._exact_log_partition(chunk)
        if method == "ais":
            if X is None:
                raise ValueError("RBM.log_partition(method='ais') needs the training data X "
                                 "for its base-rate model")
            return self._ais(self._as_array(X, "log_partition"), n_runs, betas)
        raise ValueError(f"RBM.log_partition: method must be 'exact' or 'ais', got {method!r}")

    def _exact_log_partition(self, chunk: int) -> float:  # host: float64 sum over 2^n states
        small = min(self.n_hidden, self.n_visible)
        if small > MAX_EXACT_UNITS:
            raise ValueError(
                f"RBM.log_partition: an exact sum needs 2^{small} terms (the smaller layer has "
                f"{small} units); at most {MAX_EXACT_UNITS} units are allowed. Use "
                f"method='ais'.")
        W, a, b = (as_numpy(p.data).astype(np.float64) for p in (self.W, self.a, self.b))
        if self.n_hidden <= self.n_visible:
            # log Z = log Σ_h exp(bᵀh) Π_i (1 + exp(a_i + (Wᵀh)_i))
            states, bias, weights, other = self.n_hidden, b, W, a
        else:
            states, bias, weights, other = self.n_visible, a, W.T, b
        parts = []
        for start in range(0, 2**states, chunk):
            codes = np.arange(start, min(start + chunk, 2**states))
            s = ((codes[:, None] >> np.arange(states)[None, :]) & 1).astype(np.float64)
            parts.append(s @ bias + softplus_array(s @ weights + other).sum(axis=1))
        return float(F.logsumexp(Tensor(np.concatenate(parts))).data)

    def _ais(self, X: Any, n_runs: int, betas: Any) -> tuple[float, tuple[float, float]]:
        n_runs = check_int("RBM.log_partition", "n_runs", n_runs)
        betas = ais_schedule(betas) if isinstance(betas, str) else betas
        betas = np.asarray(betas, float)  # host: a schedule of Python floats
        if (betas.ndim != 1 or len(betas) < 2 or betas[0] != 0 or betas[-1] != 1
                or (np.diff(betas) <= 0).any()):  # host: the schedule
            raise ValueError("RBM.log_partition: betas must increase from 0 to 1")
        xp = get_array_module(self.W.data)
        W, a, b = self.W.data, self.a.data, self.b.data
        mean = xp.clip(X.mean(axis=0), 1e-3, 1 - 1e-3)   # Laplace-like smoothing of p̄
        a_base = xp.log(mean) - xp.log1p(-mean)
        # log p*_β(v) = (1 − β) a_Aᵀv + β aᵀv + Σ_j softplus(β (W_j v + b_j)); at β = 0 the
        # hidden units are disconnected and contribute 2^H, so log Z_A = Σ softplus(a_A) + H log 2.
        log_z_base = float(softplus_array(a_base).sum()) + self.n_hidden * math.log(2.0)

        v = self._bernoulli(xp.broadcast_to(sigmoid_array(a_base), (n_runs, self.n_visible)))
        log_w = xp.zeros(n_runs, dtype=xp.float64)
        for previous, beta in itertools.pairwise(betas.tolist()):  # floats keep float32 data
            # log w += log p*_β(v) − log p*_β'(v); the input to the hidden units is shared.
            hidden_input = v @ W.T + b
            log_w += ((beta - previous) * (v @ (a - a_base))
                      + (softplus_array(beta * hidden_input)
                         - softplus_array(previous * hidden_input)).sum(axis=1))
            h = self._bernoulli(sigmoid_array(beta * hidden_input))
            v = self._bernoulli(sigmoid_array((1 - beta) * a_base + beta * (h @ W + a)))
        log_w = as_numpy(log_w)
        top = log_w.max()
        ratios = np.exp(log_w - top)  # host: log_w was copied to the host above
        mean_ratio = ratios.mean()
        spread = 3 * ratios.std(ddof=1) / math.sqrt(n_runs) if n_runs > 1 else 0.0
        estimate = log_z_base + top + math.log(mean_ratio)
        # p(x) ≤ 1 for every training image, so log Z ≥ max(−F(x)): an estimate below
        # that is certainly wrong (the chains missed the model's modes).
        floor = float(as_numpy(-self._free_energy_array(X)).max())
        if estimate < floor:
            warnings.warn(f"RBM.log_partition: the AIS estimate {estimate:.2f} is below "
                          f"max(-F(x)) = {floor:.2f} over the data, which log Z cannot be; "
                          f"use more runs or a slower schedule", RuntimeWarning, stacklevel=3)
        low = (log_z_base + top + math.log(mean_ratio - spread) if mean_ratio > spread
               else -math.inf)
        high = log_z_base + top + math.log(mean_ratio + spread)
        return float(estimate), (float(low), float(high))

    def log_likelihood(self, X: Any, method: str = "exact", log_z: float | None = None,
                       **options: Any) -> float:
        """Mean log p(x) over the rows of binary X, in nats: mean(−F(x)) − log Z.

        ``log_z`` reuses a computed log Z; otherwise :meth:`log_partition` is called with
        ``method`` and ``options`` (for AIS pass the training data as ``X_train=``).
        """
        X = self._as_array(X, "log_likelihood", binary=True)
        if log_z is None:
            train = options.pop("X_train", X)
            result = self.log_partition(method, X=train if method == "ais" else None,
                                        **options)
            log_z = result[0] if isinstance(result, tuple) else result
        return float(-self._free_energy_array(X).mean()) - float(log_z)

    # -- training ----------------------------------------------------------------------------
    def cd_gradient(self, v_data: Any, v_model: Any) -> tuple[Any, Any, Any]:
        """The textbook CD estimate of ∂ mean log p / ∂(W, b, a), from data and chain samples.

        ⟨h vᵀ⟩_data − ⟨h vᵀ⟩_model, with h the hidden *probabilities* given each v (Hinton's
        guide, section 3.3), and the same for the biases. Training does not call it: it is
        minus the gradient of :meth:`free_energy_gap`, which autodiff computes, and the tests
        check the two agree.
        """
        h_data, h_model = self.hidden_probabilities(v_data), self.hidden_probabilities(v_model)
        n_data, n_model = len(v_data), len(v_model)
        grad_W = h_data.T @ v_data / n_data - h_model.T @ v_model / n_model
        grad_b = h_data.mean(axis=0) - h_model.mean(axis=0)
        grad_a = v_data.mean(axis=0) - v_model.mean(axis=0)
        return grad_W, grad_b, grad_a

    def negative_phase(self, v_data: Any) -> Any:
        """v_model, the ends of k Gibbs rounds: from the data (CD-k) or the fantasy chains (PCD).

        CD starts from the data itself when it is binary, else from a binary sample of it
        (grey values are probabilities). PCD's chains start once, the same way, from the
        first batch, and each call carries them on k rounds under the current weights
        (Tieleman, 2008); they are never reset.
        """
        if not self.persistent:
            return self._gibbs(self._binary_sample(v_data), self.k)
        if self.chains is None:
            self.chains = self._binary_sample(v_data).copy()
        self.chains = self._gibbs(self.chains, self.k)
        return self.chains

    def _binary_sample(self, v: Any) -> Any:
        """v itself when it is binary, else a binary sample with P(1) = v."""
        return v if _is_binary(v) else self._bernoulli(v)

    def free_energy_gap(self, v_data: Any, v_model: Any) -> Tensor:
        """mean F(v_data) − mean F(v_model), a scalar Tensor; the samples are constants.

        Its gradient with respect to (W, b, a) is minus :meth:`cd_gradient`: descending it
        lowers the free energy (raises the probability) of the data and raises that of the
        model's own samples. The plain form is
        ``self.free_energy(v_data).mean() - self.free_energy(v_model).mean()``; this one
        gives the same value and gradients (tested) from a graph half the size, which
        matters when batches are small (``bench_rbm.py``). With V the two sets stacked and
        weights w_i = 1/n for the data rows and −1/m for the model's,

            Σ_i w_i F(V_i) = −aᵀ(Vᵀw) − Σ_j Σ_i softplus(W Vᵀ + b)_ji w_i,

        where Vᵀw, the difference of the two mean visible vectors, is a constant.
        """
        xp = get_array_module(v_data)
        n, m = len(v_data), len(v_model)
        weights = xp.concatenate([xp.full(n, 1.0 / n, dtype=self.W.dtype),
                                  xp.full(m, -1.0 / m, dtype=self.W.dtype)])
        stacked_t = xp.concatenate([v_data, v_model]).T  # (n_visible, n + m): one v per column
        minus_mean_gap = Tensor._wrap(stacked_t @ -weights)  # −Vᵀw, a constant
        hidden_input = self.W @ Tensor._wrap(stacked_t) + self.b.reshape(self.n_hidden, 1)
        return (self.a * minus_mean_gap).sum() - (F.softplus(hidden_input)
                                                  * Tensor._wrap(weights)).sum()

    def training_step(self, batch: Any, optimizer: Any) -> dict[str, float]:
        """One CD-k (or PCD-k) update: a gradient step on :meth:`free_energy_gap`.

        ``batch`` is (N, n_visible) data in [0, 1]; ``optimizer`` steps the RBM's
        parameters (:meth:`configure_optimizers`). Returns ``{"free_energy_gap": ...}``,
        which ``fit`` logs. The gap is not a likelihood: it hovers near zero while the
        model trains; watch the reconstruction error and the pseudo-log-likelihood
        (:meth:`fit` records both) or the AIS log-likelihood instead.
        """
        v_data = self._as_array(batch, "training_step")
        v_model = self.negative_phase(v_data)
        return {"free_energy_gap": minimize(self.free_energy_gap(v_data, v_model), optimizer)}

    def configure_optimizers(self, lr: float = 0.1, momentum: float = 0.5,
                             weight_decay: float = 0.0) -> optim.SGD:
        """``optim.SGD`` over (W, b, a), with the defaults of Hinton's practical guide.

        The guide's recipe: a learning rate of about 0.1 (per batch-mean gradient),
        momentum 0.5 (the guide raises it to 0.9 after a few epochs), and a small weight
        decay such as 2·10⁻⁴. ``optim.SGD`` decays the biases too, where the guide decays
        only W.
        """
        return optim.SGD(self.parameters(), lr=lr, momentum=momentum,
                         weight_decay=weight_decay)

    def init_visible_bias(self, X: Any) -> None:
        """Set the visible biases to the log-odds log(p̄ / (1 − p̄)) of each unit's mean p̄.

        With W small, the model then starts out with each pixel on as often as in the
        data (Hinton's guide, section 8); p̄ is clipped to [0.001, 0.999].
        """
        X = self._as_array(X, "init_visible_bias")
        xp = get_array_module(X)
        mean = xp.clip(X.mean(axis=0), 1e-3, 1 - 1e-3)
        self.a.data[...] = xp.log(mean) - xp.log1p(-mean)

    def monitors(self, binary: bool = True) -> dict[str, Any]:
        """Metrics for ``fit(metrics=...)``: the reconstruction error, and for binary data
        the pseudo-log-likelihood, each a mean over the batch."""
        chosen = {"reconstruction_error":
                  lambda model, v: model.reconstruction_error(v)}
        if binary:
            chosen["pseudo_log_likelihood"] = (
                lambda model, v: float(model.pseudo_log_likelihood(v).mean()))
        return chosen

    def fit(self, X: Any, epochs: int = 10, batch_size: int = 64, lr: float = 0.1,
            momentum: float = 0.5, weight_decay: float = 0.0, X_val: Any = None,
            progress: bool = True, callbacks: Sequence[Callback] = ()) -> History:
        """Train on X (N, n_visible) in [0, 1] through ``sn.train.fit``; returns the History.

        A convenience around::

            sn.train.fit(rbm, optimizer=rbm.configure_optimizers(lr, momentum, weight_decay),
                         loader=DataLoader(X, batch_size=batch_size, rng=rbm.rng),
                         epochs=epochs, val_loader={"train": ..., "val": ...},
                         metrics=rbm.monitors(...))

        The History holds, per epoch, ``free_energy_gap`` (the loss that was descended), and
        ``train_reconstruction_error`` and, when X is binary, ``train_pseudo_log_likelihood``
        measured on X's first 1,000 rows after the epoch; with ``X_val``, the same on all of
        it as ``val_...``. Values in (0, 1) are probabilities of binary units (a DBN trains
        its upper layers on hidden probabilities). A fresh RBM (visible biases all zero)
        first gets :meth:`init_visible_bias` from X.
        """
        X = self._as_array(X, "fit")
        xp = get_array_module(X)
        if not bool(xp.any(self.a.data)):
            self.init_visible_bias(X)
        binary = _is_binary(X)
        monitored = X[:MONITOR_ROWS]
        validation = {"train": DataLoader(monitored, batch_size=len(monitored), shuffle=False)}
        if X_val is not None:
            X_val = self._as_array(X_val, "fit")
            validation["val"] = DataLoader(X_val, batch_size=len(X_val), shuffle=False)
        return fit(self, optimizer=self.configure_optimizers(lr, momentum, weight_decay),
                   loader=DataLoader(X, batch_size=batch_size, rng=self.rng), epochs=epochs,
                   val_loader=validation, metrics=self.monitors(binary), progress=progress,
                   callbacks=callbacks)

    def extra_repr(self) -> str:
        kind = "PCD" if self.persistent else "CD"
        return f"{self.n_visible} visible, {self.n_hidden} hidden, {kind}-{self.k}"


class DBN(nn.Module):
    """A deep belief network: a stack of RBMs trained greedily, one layer at a time.

    ``layer_sizes`` = (n_visible, n_hidden_1, n_hidden_2, ...); ``k``, ``persistent`` and
    ``rng`` go to every :class:`RBM` (one generator, shared). Each RBM after the first is
    trained on the hidden probabilities of the one below (Hinton, Osindero & Teh, 2006).
    :meth:`to_mlp` turns the stack into a sigmoid MLP with those weights, ready for
    supervised fine-tuning (Erhan et al., 2010).
    """

    def __init__(self, layer_sizes: Any, k: int = 1, persistent: bool = False,
                 rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        sizes = [check_int("DBN", "layer size", size) for size in layer_sizes]
        if len(sizes) < 2:
            raise ValueError(f"DBN: layer_sizes needs at least two sizes, got {sizes}")
        self.layer_sizes = sizes
        rng = own_generator(rng)
        self.rbms = nn.Sequential(*(RBM(n_in, n_out, k=k, persistent=persistent, rng=rng)
                                    for n_in, n_out in itertools.pairwise(sizes)))

    def pretrain(self, X: Any, **fit_options: Any) -> list[History]:
        """Greedy layer-wise training: each RBM on the layer below's hidden probabilities.

        Each layer trains through :meth:`RBM.fit` (so through ``sn.train.fit``) with the
        same ``fit_options`` (epochs, batch_size, lr, momentum, weight_decay, progress, ...).
        Returns one History per layer, the lowest first.
        """
        histories = []
        features = X
        for rbm in self.rbms:
            histories.append(rbm.fit(features, **fit_options))
            features = rbm.transform(features)
        return histories

    def transform(self, X: Any) -> Any:
        """The top layer's hidden probabilities, (N, layer_sizes[-1])."""
        features = X
        for rbm in self.rbms:
            features = rbm.transform(features)
        return features

    def to_mlp(self, n_outputs: int, rng: np.random.Generator | int | None = None
               ) -> nn.Sequential:
        """Sigmoid Dense layers initialised from the RBMs (weights Wᵀ, biases b), then a
        fresh Dense(layer_sizes[-1], n_outputs) output layer giving logits."""
        n_outputs = check_int("DBN.to_mlp", "n_outputs", n_outputs)
        layers: list[nn.Module] = []
        for rbm in self.rbms:
            # The RBM's weights are the initialiser, so no random draw is wasted.
            dense = nn.Dense(rbm.n_visible, rbm.n_hidden, activation="sigmoid",
                             init=lambda shape, fan_in, fan_out, rng, W=rbm.W: as_numpy(W.data).T)
            dense.bias.data[...] = rbm.b.data
            layers.append(dense)
        layers.append(nn.Dense(self.layer_sizes[-1], n_outputs, rng=rng))
        return nn.Sequential(*layers)

