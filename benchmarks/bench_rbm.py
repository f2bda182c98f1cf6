#!/usr/bin/env python
"""RBM benchmark: scratchnet's RBM against scikit-learn's BernoulliRBM, same recipe, same data.

Both train a Bernoulli–Bernoulli RBM with 784 visible units by persistent contrastive
divergence with one Gibbs step (PCD-1), at two sizes: 256 hidden units in batches of 10
(scikit-learn's defaults), and 64 hidden units in batches of 20, where the matrix products
are small and each library's cost per batch dominates. Both train on the same float32
array: the bundled
MNIST training split (4,000 images) flattened to 784 grey values in [0, 1], which both
libraries treat as probabilities of binary pixels in the positive phase. The run reports
training time per epoch and the pseudo-log-likelihood (PLL) of the binarised test split.

What is matched (scikit-learn's ``BernoulliRBM._fit``, 1.x):

- the update: scikit-learn adds ``learning_rate / batch_size`` times the gradient *summed*
  over the batch, i.e. ``learning_rate`` times the batch mean, which is what scratchnet's
  ``lr`` multiplies; so ``lr = learning_rate`` (0.05 here), with scratchnet's
  ``momentum=0`` and ``weight_decay=0`` (scikit-learn has neither);
- the statistics: data term from P(h | v_data) with grey v_data, model term from P(h | v̂)
  with v̂ a binary sample at the end of the persistent chain (both use probabilities for h);
- the sizes (``--sizes``, default ``256x10,64x20``: hidden units x batch size), 10 epochs
  (``n_iter``, ``--epochs``), weights N(0, 0.01²), hidden biases 0, float32 throughout.

What differs, by design of each library: scikit-learn keeps its ``batch_size`` chains as
hidden states that start at zero and walks the batches in order every epoch; scratchnet
keeps visible chains started from the first batch (binarised), shuffles every epoch, starts
the visible biases at the data's log-odds (Hinton's guide) rather than 0, and after every
epoch records the reconstruction error over the training set in ``history`` (part of its
``fit``, so part of its timed epoch).

Evaluation, on the bundled test split (1,000 images) binarised at 0.5
(``load_mnist("test", binarize=True, source="bundled")``):

- ``test_pll``: each library's own stochastic PLL (scratchnet's ``pseudo_log_likelihood``,
  scikit-learn's ``score_samples``: n_visible · log σ(F(ṽ) − F(v)) with one random bit of
  each image flipped), averaged over the images and over 10 independent draws of the
  flipped bits, then over the seeds. Target: scratchnet's mean no worse than
  scikit-learn's by more than scikit-learn's own seed-to-seed spread (max − min over the
  seeds); higher is better.
- ``test_pll.seed_spread``: max − min of the per-seed PLLs, for each library.
- ``test_reconstruction_error``: mean squared error of the mean-field reconstruction
  P(v | P(h | x)), computed by the same code for both (scikit-learn's parameters are copied
  into a scratchnet RBM); informative.
- ``train_time.per_epoch``: median [IQR] over every epoch of every seed; target: scratchnet
  at most 0.8 times scikit-learn's median at 784x256 in batches of 10, at most its median
  at 784x64 in batches of 20 (and at any other size). scikit-learn's epochs are timed by
  wrapping the fitted estimator's per-batch ``_fit`` method (one clock reading per epoch);
  if a future version lacks it, its per-epoch time is its total over the epochs.
  ``train_time.total``: informative.

Every row's name starts with its size, e.g. ``784x256_b10.test_pll``. The seeds alternate
between the libraries (scratchnet seed 0, scikit-learn seed 0,
scratchnet seed 1, ...) so that a busy spell of the machine hurts both.

Usage (from the repository root)::

    python benchmarks/bench_rbm.py --threads 1         # 2 sizes x 3 seeds x 10 epochs, ~3 min
    python benchmarks/bench_rbm.py --quick             # a few seconds, smoke test
    python benchmarks/bench_rbm.py --threads 1 --json benchmarks/results/rbm.json
    python benchmarks/bench_rbm.py --no-sklearn        # scratchnet only
    python benchmarks/bench_rbm.py --epochs 20 --seeds 5 --sizes 256x64

``--threads``, ``--quick`` and ``--json`` are those of every script, from ``harness.py``
(its ``--no-torch`` is accepted and has no effect: PyTorch is not used).
``--quick`` trains 1 epoch on 500 images with one seed and evaluates on 200 images with 2
flip draws, so its numbers mean little. ``--epochs N``, ``--seeds N`` (seeds 0..N−1,
default 3), ``--sizes HxB,...`` (default 256x10,64x20), ``--lr X`` (default 0.05),
``--no-sklearn``.

JSON output (printed, and written to ``--json PATH``)::

    {
      "schema": 1,
      "machine": {..., "sklearn": str | null},   # as in bench_autograd.py
      "noisy": bool, "noise": {...},       # as in bench_autograd.py: was the machine busy?
      "threads": int, "quick": bool,
      "settings": {"n_visible": 784, "sizes": [{"name": "784x256_b10", "n_hidden": 256,
                                                "batch": 10, "time_target": 0.8}, ...],
                   "lr": float, "epochs": int, "seeds": [int, ...], "train_images": int,
                   "test_images": int, "pll_draws": int, "matched": {...}, ...},
      "checks": [{"name": str, "ok": bool, "detail": str}, ...],
      "rows": [
        {"name": str,                      # "784x256_b10.test_pll", ...
         "unit": "nats" | "s" | "mse",
         "scratchnet": float,
         "sklearn": float | null,          # null without scikit-learn
         "difference": float | null,       # scratchnet − sklearn (nats and mse rows)
         "ratio": float | null,            # scratchnet / sklearn (time rows)
         "higher_is_better": bool | null,
         "target": float | null,           # computed from sklearn's run; null = informative
         "meets_target": bool | null,      # null without scikit-learn or when informative
         "spread": {"scratchnet": {...} | null, "sklearn": {...} | null}},
        ...
      ],
      "per_seed": {"784x256_b10": {"scratchnet": [{"seed": int, "test_pll": float,
                                                   "epoch_s": [...], "train_s": float},
                                                  ...], "sklearn": [...]}, ...},
      "elapsed_s": float
    }

Missing a target is reported, not an error: the exit status is 0.
"""

from __future__ import annotations

import argparse
import gc
import math
import sys
import time
from typing import Any, NamedTuple

from comparison import comparison_row, comparison_table
from harness import (  # benchmarks/harness.py: this folder is first on sys.path
    LoadMonitor,
    configure_threads,
    import_scratchnet,
    machine_info,
    noise_line,
    parse_args,
    pin_allocator,
    print_checks_and_json,
    summarize,
)

N_VISIBLE = 784
# (hidden units, batch size) -> the time target, as a multiple of scikit-learn's median
# epoch. 256 hidden units in batches of 10 are scikit-learn's defaults; at 64 x 20 the
# matrix products are small, so what each library spends per batch dominates.
TIME_TARGETS = {(256, 10): 0.8, (64, 20): 1.0}
DEFAULT_SIZES = "256x10,64x20"
PLL_DRAWS = 10  # independent draws of the flipped bits per evaluation
EVAL_SEED = 1000  # the flip draws use seeds EVAL_SEED, EVAL_SEED + 1, ...
TRANSFORM_TOL = 1e-5  # same parameters: the two transforms agree to this (float32)


class Size(NamedTuple):
    """One RBM size to benchmark: hidden units and batch size."""

    n_hidden: int
    batch: int

    @property
    def name(self) -> str:
        return f"{N_VISIBLE}x{self.n_hidden}_b{self.batch}"

    @property
    def time_target(self) -> float:
        return TIME_TARGETS.get((self.n_hidden, self.batch), 1.0)


def parse_sizes(text: str) -> list[Size]:
    """``"256x10,64x20"`` -> [Size(256, 10), Size(64, 20)]."""
    sizes = []
    for part in text.split(","):
        try:
            hidden, batch = (int(v) for v in part.strip().lower().split("x"))
        except ValueError:
            raise SystemExit(f"bench_rbm: --sizes takes HIDDENxBATCH pairs separated by "
                             f"commas, such as {DEFAULT_SIZES}; got {text!r}") from None
        if hidden < 1 or batch < 1:
            raise SystemExit(f"bench_rbm: --sizes needs positive sizes, got {part!r}")
        sizes.append(Size(hidden, batch))
    return sizes


class Config(NamedTuple):
    epochs: int
    seeds: int
    train_images: int
    test_images: int
    pll_draws: int


FULL = Config(epochs=10, seeds=3, train_images=4000, test_images=1000, pll_draws=PLL_DRAWS)
QUICK = Config(epochs=1, seeds=1, train_images=500, test_images=200, pll_draws=2)


def _rbm_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--epochs", type=int, default=None, metavar="N",
                        help="training epochs (default 10; --quick: 1)")
    parser.add_argument("--seeds", type=int, default=None, metavar="N",
                        help="train each library with seeds 0..N-1 (default 3; --quick: 1)")
    parser.add_argument("--sizes", default=DEFAULT_SIZES, metavar="HxB,...",
                        help="hidden units x batch size of each RBM to benchmark, for both "
                             f"libraries (default {DEFAULT_SIZES})")
    parser.add_argument("--lr", type=float, default=0.05, metavar="X",
                        help="learning rate, for both libraries (default 0.05)")
    parser.add_argument("--no-sklearn", action="store_true",
                        help="skip scikit-learn even when it is installed")


def parse_all_args(argv: list[str] | None) -> argparse.Namespace:
    """The shared options (harness.parse_args) plus this script's own."""
    args = parse_args(argv, (
        "Train 784-visible RBMs with PCD-1 on MNIST in scratchnet and scikit-learn "
        "(BernoulliRBM) with the same recipe; compare time per epoch and test "
        "pseudo-log-likelihood."),
        quick_help="a few-second smoke run: 1 epoch on 500 images, one seed",
        add_arguments=_rbm_arguments)
    for name in ("epochs", "seeds"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise SystemExit(f"bench_rbm: --{name} must be at least 1, got {value}")
    args.sizes = parse_sizes(args.sizes)
    if not (args.lr > 0 and math.isfinite(args.lr)):
        raise SystemExit(f"bench_rbm: --lr must be a positive number, got {args.lr}")
    return args


def import_sklearn_rbm(skip: bool) -> Any:
    if skip:
        return None
    try:
        from sklearn.neural_network import BernoulliRBM
    except ImportError:
        return None
    return BernoulliRBM


# --------------------------------------------------------------------------------------
# Data: one array for both libraries
# --------------------------------------------------------------------------------------
def load_data(np: Any, sn: Any, config: Config) -> tuple[Any, Any]:
    """Grey training images (N, 784) float32 in [0, 1]; binarised test images (M, 784)."""
    load_mnist = sn.datasets.load_mnist
    train, _ = load_mnist("train", source="bundled")
    test, _ = load_mnist("test", source="bundled", binarize=True)
    train = np.ascontiguousarray(train[:config.train_images].reshape(-1, N_VISIBLE))
    test = np.ascontiguousarray(test[:config.test_images].reshape(-1, N_VISIBLE))
    return train.astype(np.float32), test.astype(np.float32)


# --------------------------------------------------------------------------------------
# Training, one library and one seed at a time
# --------------------------------------------------------------------------------------
def train_scratchnet(sn: Any, X: Any, seed: int, epochs: int, size: Size, lr: float
                     ) -> tuple[Any, list[float]]:
    """PCD-1, no momentum or decay, through ``RBM.fit`` (so ``sn.train.fit``); an epoch's
    time runs from the end of the one before (or the start of training) to its end."""

    class EpochClock(sn.train.Callback):
        def on_train_begin(self, model: Any) -> None:
            self.stamps = [time.perf_counter()]

        def on_epoch_end(self, epoch: int, history: Any, model: Any) -> None:
            self.stamps.append(time.perf_counter())

    model = sn.models.RBM(N_VISIBLE, size.n_hidden, k=1, persistent=True, rng=seed)
    clock = EpochClock()
    model.fit(X, epochs=epochs, batch_size=size.batch, lr=lr, momentum=0.0, weight_decay=0.0,
              progress=False, callbacks=[clock])
    return model, [b - a for a, b in zip(clock.stamps, clock.stamps[1:])]


def train_sklearn(BernoulliRBM: Any, X: Any, seed: int, epochs: int, size: Size, lr: float
                  ) -> tuple[Any, list[float], str]:
    """One ``fit`` with ``n_iter=epochs``; epoch boundaries from its per-batch ``_fit``."""
    model = BernoulliRBM(n_components=size.n_hidden, learning_rate=lr, batch_size=size.batch,
                         n_iter=epochs, random_state=seed)
    batches = math.ceil(len(X) / size.batch)
    stamps: list[float] = []
    inner = getattr(model, "_fit", None)
    how = "per-batch _fit wrapped"
    if callable(inner):
        calls = [0]

        def timed(v: Any, rng: Any) -> Any:
            out = inner(v, rng)
            calls[0] += 1
            if calls[0] % batches == 0:
                stamps.append(time.perf_counter())
            return out

        model._fit = timed  # an instance attribute: fit's self._fit(...) finds it first
    start = time.perf_counter()
    model.fit(X)
    end = time.perf_counter()
    if "_fit" in vars(model):
        del model._fit
    if len(stamps) == epochs:
        epoch_s = [b - a for a, b in zip([start, *stamps[:-1]], stamps)]
    else:
        how = "total / epochs (no per-batch _fit to wrap)"
        epoch_s = [(end - start) / epochs] * epochs
    return model, epoch_s, how


# --------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------
def scratchnet_pll(np: Any, model: Any, test: Any, draws: int) -> list[float]:
    """Mean PLL over the images, for each of ``draws`` flip draws."""
    values = []
    for d in range(draws):
        model.rng = np.random.default_rng(EVAL_SEED + d)
        values.append(float(np.mean(model.pseudo_log_likelihood(test))))
    return values


def sklearn_pll(np: Any, model: Any, test: Any, draws: int) -> list[float]:
    """As scratchnet_pll. score_samples draws its flips from ``random_state`` afresh on
    every call, so each draw sets a different one (the same seed would flip the same bits)."""
    values = []
    for d in range(draws):
        model.set_params(random_state=EVAL_SEED + d)
        values.append(float(np.mean(model.score_samples(test))))
    return values


def as_scratchnet(np: Any, sn: Any, sk_model: Any) -> Any:
    """A scratchnet RBM holding a fitted BernoulliRBM's parameters."""
    rbm = sn.models.RBM(N_VISIBLE, sk_model.components_.shape[0], rng=0)
    rbm.W.data[...] = sk_model.components_
    rbm.b.data[...] = sk_model.intercept_hidden_
    rbm.a.data[...] = sk_model.intercept_visible_
    return rbm


def check_same_scale(np: Any, sn: Any, sk_model: Any, test: Any, draws: int,
                     sk_values: list[float]) -> list[dict[str, Any]]:
    """scikit-learn's trained parameters in a scratchnet RBM: the same features, and the
    same PLL up to the noise of the flip draws."""
    rbm = as_scratchnet(np, sn, sk_model)
    worst = float(np.abs(rbm.transform(test) - sk_model.transform(test)).max())
    ours = []
    per_image = []
    for d in range(draws):
        rbm.rng = np.random.default_rng(EVAL_SEED + 100 + d)
        values = np.asarray(rbm.pseudo_log_likelihood(test), dtype=np.float64)
        ours.append(float(values.mean()))
        per_image.append(values)
    # Both are means of len(test) · draws independent flips: compare within 4 standard
    # errors of their difference (the per-flip spread estimated from scratchnet's draws).
    se = float(np.concatenate(per_image).std()) / math.sqrt(len(test) * draws) * math.sqrt(2)
    gap = float(np.mean(ours)) - float(np.mean(sk_values))
    return [
        {"name": "same_parameters_same_features", "ok": worst <= TRANSFORM_TOL,
         "detail": f"scikit-learn's fitted parameters in a scratchnet RBM: P(h|v) on "
                   f"{len(test)} test images differs by at most {worst:.1e}"},
        {"name": "same_parameters_same_pll", "ok": abs(gap) <= 4 * se,
         "detail": f"PLL of scikit-learn's seed-0 model, scratchnet's "
                   f"pseudo_log_likelihood {np.mean(ours):.2f} vs score_samples "
                   f"{np.mean(sk_values):.2f} nats (other flips): gap {gap:+.2f}, "
                   f"4 standard errors {4 * se:.2f}"},
    ]


def evaluate(np: Any, sn: Any, name: str, model: Any, test: Any, draws: int
             ) -> dict[str, Any]:
    if name == "scratchnet":
        plls = scratchnet_pll(np, model, test, draws)
        error = model.reconstruction_error(test)
    else:
        plls = sklearn_pll(np, model, test, draws)
        error = as_scratchnet(np, sn, model).reconstruction_error(test)
    return {"test_pll": float(np.mean(plls)), "pll_draws": plls,
            "test_reconstruction_error": float(error)}


# --------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------
FRAMEWORKS = ("scratchnet", "sklearn")


def make_row(name: str, unit: str, values: dict[str, float | None],
             higher_is_better: bool | None, target: float | None = None,
             compare: str = "difference", spread: dict[str, Any] | None = None
             ) -> dict[str, Any]:
    return comparison_row(name, unit, values, "sklearn", higher_is_better, target, compare,
                          spread)


def result_rows(np: Any, size: Size, runs: dict[str, list[dict[str, Any]]]
                ) -> list[dict[str, Any]]:
    def across(key: str) -> dict[str, float | None]:
        return {fw: (float(np.mean([r[key] for r in runs[fw]])) if runs.get(fw) else None)
                for fw in FRAMEWORKS}

    def seed_range(fw: str) -> dict[str, float] | None:
        if not runs.get(fw):
            return None
        values = [r["test_pll"] for r in runs[fw]]
        return {"min": min(values), "max": max(values)}

    def epochs(fw: str) -> list[float]:
        return [s for r in runs.get(fw, []) for s in r["epoch_s"]]

    pll = across("test_pll")
    pll_spread = {fw: (None if seed_range(fw) is None
                       else seed_range(fw)["max"] - seed_range(fw)["min"])
                  for fw in FRAMEWORKS}
    pll_target = (None if pll["sklearn"] is None
                  else pll["sklearn"] - pll_spread["sklearn"])
    per_epoch = {fw: (summarize(epochs(fw))["median"] if epochs(fw) else None)
                 for fw in FRAMEWORKS}
    time_spread = {fw: ({k: v for k, v in summarize(epochs(fw)).items() if k != "median"}
                        if epochs(fw) else None) for fw in FRAMEWORKS}
    total = {fw: (float(np.mean([r["train_s"] for r in runs[fw]])) if runs.get(fw) else None)
             for fw in FRAMEWORKS}
    time_target = (None if per_epoch["sklearn"] is None
                   else size.time_target * per_epoch["sklearn"])
    return [
        make_row(f"{size.name}.test_pll", "nats", pll, True, pll_target,
                 spread={fw: seed_range(fw) for fw in FRAMEWORKS}),
        make_row(f"{size.name}.test_pll.seed_spread", "nats", pll_spread, None),
        make_row(f"{size.name}.test_reconstruction_error", "mse",
                 across("test_reconstruction_error"), False),
        make_row(f"{size.name}.train_time.per_epoch", "s", per_epoch, False, time_target,
                 compare="ratio", spread=time_spread),
        make_row(f"{size.name}.train_time.total", "s", total, False, compare="ratio"),
    ]


def check_results(np: Any, size: Size, runs: dict[str, list[dict[str, Any]]]
                  ) -> list[dict[str, Any]]:
    checks = []
    for fw, results in runs.items():
        values = [v for r in results for v in (*r["pll_draws"], r["test_reconstruction_error"])]
        finite = bool(np.isfinite(values).all())
        below_zero = all(r["test_pll"] <= 0 for r in results)
        checks.append({"name": f"{size.name}.{fw}.finite_and_negative",
                       "ok": finite and below_zero,
                       "detail": "every PLL is finite and ≤ 0 (a sum of log-probabilities)"
                       if finite and below_zero else f"PLLs {[r['test_pll'] for r in results]}"})
    return checks


def run_size(np: Any, sn: Any, BernoulliRBM: Any, train: Any, test: Any, config: Config,
             size: Size, lr: float, monitor: LoadMonitor
             ) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]], str | None]:
    """Train and evaluate both libraries at one size, seeds alternating between them; each
    training and evaluation is a segment of ``monitor``'s.

    Returns the runs per library, the same-scale checks (named after the size) and how
    scikit-learn's epochs were timed.
    """
    runs: dict[str, list[dict[str, Any]]] = {"scratchnet": []}
    if BernoulliRBM is not None:
        runs["sklearn"] = []
    sk_timing = None
    checks: list[dict[str, Any]] = []
    for seed in range(config.seeds):
        gc.collect()
        start = time.perf_counter()
        model, epoch_s = train_scratchnet(sn, train, seed, config.epochs, size, lr)
        train_s = time.perf_counter() - start
        result = evaluate(np, sn, "scratchnet", model, test, config.pll_draws)
        runs["scratchnet"].append({"seed": seed, **result, "epoch_s": epoch_s,
                                   "train_s": train_s})
        monitor.mark(f"{size.name} scratchnet seed {seed}")
        if BernoulliRBM is None:
            continue
        gc.collect()
        start = time.perf_counter()
        sk_model, epoch_s, sk_timing = train_sklearn(BernoulliRBM, train, seed,
                                                     config.epochs, size, lr)
        train_s = time.perf_counter() - start
        result = evaluate(np, sn, "sklearn", sk_model, test, config.pll_draws)
        runs["sklearn"].append({"seed": seed, **result, "epoch_s": epoch_s,
                                "train_s": train_s})
        monitor.mark(f"{size.name} sklearn seed {seed}")
        if seed == 0:
            checks += [{**check, "name": f"{size.name}.{check['name']}"} for check in
                       check_same_scale(np, sn, sk_model, test, config.pll_draws,
                                        result["pll_draws"])]
    return runs, checks, sk_timing


# --------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    args = parse_all_args(argv)
    threads = configure_threads(args.threads)
    allocator = pin_allocator()

    import numpy as np  # after configure_threads, so the BLAS thread count applies

    sn = import_scratchnet()
    BernoulliRBM = import_sklearn_rbm(args.no_sklearn)
    config = QUICK if args.quick else FULL
    if args.epochs is not None:
        config = config._replace(epochs=args.epochs)
    if args.seeds is not None:
        config = config._replace(seeds=args.seeds)
    sn.set_default_dtype(np.float32)
    gc.collect()
    gc.freeze()
    monitor = LoadMonitor("bench_rbm", "the training times will be noisy "
                                     "(the likelihoods are not affected)")
    began = time.perf_counter()

    train, test = load_data(np, sn, config)
    rows: list[dict[str, Any]] = []
    checks: list[dict[str, Any]] = []
    per_seed: dict[str, Any] = {}
    sk_timing = None
    for size in args.sizes:
        runs, size_checks, sk_timing = run_size(np, sn, BernoulliRBM, train, test, config,
                                                size, args.lr, monitor)
        checks += size_checks + check_results(np, size, runs)
        rows += result_rows(np, size, runs)
        per_seed[size.name] = {fw: [{"seed": r["seed"], "test_pll": r["test_pll"],
                                     "pll_draws": r["pll_draws"], "epoch_s": r["epoch_s"],
                                     "train_s": r["train_s"]} for r in results]
                               for fw, results in runs.items()}
    noise = monitor.finish()

    sklearn_version = None
    if BernoulliRBM is not None:
        import sklearn

        sklearn_version = sklearn.__version__
    result = {
        "schema": 1,
        "machine": {**machine_info(np, sn, None), "allocator": allocator,
                    "sklearn": sklearn_version,
                    **monitor.machine_fields(noise)},
        "threads": threads,
        "quick": args.quick,
        "noisy": noise["noisy"],
        "noise": noise,
        "settings": {
            "n_visible": N_VISIBLE,
            "sizes": [{"name": size.name, "n_hidden": size.n_hidden, "batch": size.batch,
                       "time_target": size.time_target} for size in args.sizes],
            "lr": args.lr, "epochs": config.epochs, "seeds": list(range(config.seeds)),
            "train_images": len(train), "test_images": len(test),
            "pll_draws": config.pll_draws, "eval_seed": EVAL_SEED, "dtype": "float32",
            "data": "bundled MNIST: train grey levels in [0, 1] (the same array for both), "
                    "test binarised at 0.5",
            "matched": {"algorithm": "PCD-1", "momentum": 0.0, "weight_decay": 0.0,
                        "lr": "scratchnet lr = sklearn learning_rate (both multiply the "
                              "batch-mean gradient)",
                        "init": "W ~ N(0, 0.01²), hidden biases 0"},
            "differences": ["scratchnet shuffles every epoch, sklearn walks fixed batches",
                            "visible biases start at the data's log-odds in scratchnet, "
                            "at 0 in sklearn",
                            "persistent chains: scratchnet keeps visible states started "
                            "from the first batch, sklearn hidden states started at 0",
                            "scratchnet's fit records the training reconstruction error "
                            "every epoch (timed)"],
            "sklearn_epoch_timing": sk_timing,
            "targets": {"test_pll": "≥ sklearn mean − sklearn seed spread",
                        "train_time.per_epoch": "≤ time_target × sklearn median"},
        },
        "checks": checks,
        "rows": rows,
        "per_seed": per_seed,
        "elapsed_s": round(time.perf_counter() - began, 2),
    }

    m = result["machine"]
    sk_note = sklearn_version or ("skipped (--no-sklearn)" if args.no_sklearn
                                  else "not installed")
    print(f"# scratchnet RBM benchmark — {m['cpu']}, {threads} thread(s), numpy "
          f"{m['numpy']} ({m['blas']}), scikit-learn {sk_note}"
          + (", --quick" if args.quick else ""))
    if noise["noisy"]:
        print(noise_line(noise))
    print()
    print(comparison_table(rows, "sklearn", "scikit-learn"))
    print()
    sizes = ", ".join(f"{N_VISIBLE}-{size.n_hidden} in batches of {size.batch}"
                      for size in args.sizes)
    targets = ", ".join(f"{size.time_target:g}x at {size.name}" for size in args.sizes)
    print(f"RBMs {sizes}; PCD-1, lr {args.lr:g}, no momentum or weight decay, "
          f"{config.epochs} epochs on {len(train):,} bundled MNIST "
          f"training images (grey levels, float32), seeds 0-{config.seeds - 1} per library. "
          f"test_pll: pseudo-log-likelihood of {len(test):,} binarised test images, mean "
          f"over {config.pll_draws} draws of the flipped bits and over the seeds [min–max "
          f"over seeds]; target: at least scikit-learn's mean minus its seed spread. "
          f"Times: per epoch, median [IQR] over all epochs of all seeds; target: at most "
          f"scikit-learn's median times {targets}.")
    print_checks_and_json(checks, result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
