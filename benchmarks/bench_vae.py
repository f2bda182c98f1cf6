#!/usr/bin/env python
"""VAE likelihood benchmark: the reference MLP VAE trained in scratchnet and in PyTorch CPU.

This is a *likelihood comparison*, not a speed race: it checks that scratchnet's VAE
reaches the test log-likelihood the literature leads one to expect, and that PyTorch,
given the same model and the same training recipe, lands at the same place. Training
times are reported alongside, for information.

The model is ``scratchnet.models.mlp_vae``: encoder 784-400 (ReLU)-2·20 giving μ and
log σ² of q(z|x), decoder 20-400 (ReLU)-784 giving the logits of a Bernoulli p(x|z),
prior N(0, I), log σ² clipped to [−30, 20]. PyTorch runs the same network written with
``nn.Linear``, starting from a copy of scratchnet's initial weights (Glorot uniform,
zero biases), so the two runs differ only in their random ε, their arithmetic and their
library code.

Training (both frameworks, float32): the bundled MNIST training split (4,000 images),
dynamically binarised: every epoch the images are shuffled and each batch is a fresh
Bernoulli sample of its grey levels (the same NumPy code and seed feed both frameworks,
so they see the same batches). Adam, lr 1e-3, batch 128 (the last batch of an epoch is
smaller), 50 epochs, loss −mean ELBO with one reparameterised sample per image.

Evaluation, on the bundled test split (1,000 images) binarised once with a fixed seed
(``load_mnist("test", source="bundled", binarize="dynamic", rng=0)``):

- ``test_elbo``: the ELBO in nats, one z per image, averaged over the images and over
  10 passes (10 independent draws of z);
- ``test_iw_k100``: the k = 100 importance-weighted estimate of log p(x) (Burda et al.,
  2016), log (1/k) Σ p(x, z_i) / q(z_i|x), averaged over the images: a tighter lower
  bound than the ELBO;
- ``iw_gap``: the two above's difference, and ``active_units``: latent units whose
  posterior mean varies over the test set (Var > 0.01), both informative;
- training time: per epoch (median and interquartile range over the epochs) and in all;
  evaluation time. Binarising and shuffling is included, the same NumPy work for both.

Usage (from the repository root)::

    python benchmarks/bench_vae.py --threads 1       # ~70 s on a 2-core VM (2 threads on a
                                                    # busy machine: 12 min, see README)
    python benchmarks/bench_vae.py                   # both cores
    python benchmarks/bench_vae.py --quick           # a few seconds, smoke test
    python benchmarks/bench_vae.py --threads 1 --json benchmarks/results/vae.json
    python benchmarks/bench_vae.py --no-torch        # scratchnet only
    python benchmarks/bench_vae.py --epochs 100 --seed 3 --eval-seed 4

``--threads``, ``--quick``, ``--json`` and ``--no-torch`` are those of every script, from
``harness.py``. ``--quick`` trains 2 epochs on
512 images and evaluates on 200, so its likelihoods mean little. ``--epochs N`` overrides
the number of epochs; ``--seed S`` seeds the initial weights, the data order, the
binarisation and the training ε (default 0); ``--eval-seed S`` the evaluation ε (default 1).

JSON output (printed, and written to ``--json PATH``)::

    {
      "schema": 1,
      "machine": {...},                    # as in bench_autograd.py
      "threads": int, "quick": bool,
      "noisy": bool, "noise": {...},       # as in bench_autograd.py: was the machine busy?
      "settings": {"sizes": [784, 400, 20], "epochs": int, "batch": 128, "lr": 0.001,
                   "train_images": int, "test_images": int, "iw_k": 100, ...},
      "checks": [{"name": str, "ok": bool, "detail": str}, ...],
      "rows": [
        {"name": str,                      # "test_elbo", "train_time.per_epoch", ...
         "unit": "nats" | "s" | "units",
         "scratchnet": float,
         "pytorch": float | null,          # null without torch
         "difference": float | null,       # scratchnet − pytorch (likelihood rows)
         "ratio": float | null,            # scratchnet / pytorch (time rows)
         "higher_is_better": bool | null,
         "target": float | null,           # the value scratchnet must reach; null = informative
         "meets_target": bool | null,      # scratchnet's value against the target
         "spread": {"scratchnet": {...} | null, "pytorch": {...} | null}},
        ...
      ],
      "history": {"scratchnet": {"train_loss": [...], "epoch_s": [...]}, "pytorch": ...},
      "elapsed_s": float
    }

Targets (scratchnet, full run): test ELBO ≥ −112 nats and IW (k = 100) ≥ −107 nats.
Missing one is reported, not an error: the exit status is 0.
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
    import_torch,
    machine_info,
    parse_args,
    pin_allocator,
    print_checks_and_json,
    print_header,
    summarize,
)

IMAGE_SHAPE = (1, 28, 28)
N_PIXELS = 784
HIDDEN = 400
LATENT = 20
BATCH = 128
LR = 1e-3
IW_K = 100
IW_CHUNK = 10  # importance samples evaluated at a time (memory ~ chunk · N · 784 floats)
TEST_BINARIZE_SEED = 0  # the test split is binarised once, with this seed
ACTIVE_THRESHOLD = 1e-2
LOGVAR_RANGE = (-30.0, 20.0)  # as scratchnet.models.vae.LOGVAR_RANGE
LOG_2PI = math.log(2.0 * math.pi)

ELBO_TARGET = -112.0  # scratchnet's test ELBO at least this (nats)
IW_TARGET = -107.0  # scratchnet's k=100 importance-weighted estimate at least this (nats)
CHECK_TOL = 1e-4  # relative agreement of the two models at the shared initial weights


class Config(NamedTuple):
    epochs: int
    train_images: int  # a prefix of the bundled training split (balanced: labels cycle 0-9)
    test_images: int
    elbo_passes: int


FULL = Config(epochs=50, train_images=4000, test_images=1000, elbo_passes=10)
QUICK = Config(epochs=2, train_images=512, test_images=200, elbo_passes=2)


def _vae_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--epochs", type=int, default=None, metavar="N",
                        help="training epochs (default 50; --quick: 2)")
    parser.add_argument("--seed", type=int, default=0, metavar="S",
                        help="seeds the weights, data order, binarisation and training noise")
    parser.add_argument("--eval-seed", type=int, default=1, metavar="S",
                        help="seeds the evaluation noise")


def parse_all_args(argv: list[str] | None) -> argparse.Namespace:
    """The shared options (harness.parse_args) plus --epochs, --seed, --eval-seed."""
    args = parse_args(argv, (
        "Train the MLP VAE 784-400-20 on dynamically binarised MNIST in scratchnet and "
        "PyTorch CPU and compare their test ELBO and k=100 importance-weighted "
        "log-likelihood."),
        quick_help="a few-second smoke run: 2 epochs on 512 images, evaluated on 200",
        add_arguments=_vae_arguments)
    if args.epochs is not None and args.epochs < 1:
        raise SystemExit(f"bench_vae: --epochs must be at least 1, got {args.epochs}")
    if min(args.seed, args.eval_seed) < 0:
        raise SystemExit("bench_vae: --seed and --eval-seed must be non-negative")
    return args


# --------------------------------------------------------------------------------------
# Data: the same NumPy code makes the batches for both frameworks.
# --------------------------------------------------------------------------------------
def load_data(sn: Any, config: Config) -> tuple[Any, Any]:
    """Grey training images (N, 1, 28, 28) in [0, 1] and the once-binarised test images."""
    load_mnist = sn.datasets.load_mnist
    train, _ = load_mnist("train", source="bundled")
    test, _ = load_mnist("test", source="bundled", binarize="dynamic", rng=TEST_BINARIZE_SEED)
    return train[:config.train_images], test[:config.test_images]


def epoch_batches(sn: Any, images: Any, rng: Any):
    """One epoch: a fresh permutation, and a fresh Bernoulli sample of each batch."""
    order = rng.permutation(len(images))
    for start in range(0, len(images), BATCH):
        yield sn.datasets.random_binarize(images[order[start:start + BATCH]], rng)


def train(np: Any, sn: Any, images: Any, epochs: int, seed: int, step: Any) -> dict[str, list]:
    """Run ``step(batch) -> loss`` over ``epochs`` epochs; the loss and time of each."""
    rng = np.random.default_rng([seed, 1])  # data order and binarisation
    history: dict[str, list] = {"train_loss": [], "epoch_s": []}
    for _ in range(epochs):
        start = time.perf_counter()
        total = 0.0
        for batch in epoch_batches(sn, images, rng):
            total += step(batch) * len(batch)
        history["epoch_s"].append(time.perf_counter() - start)
        history["train_loss"].append(total / len(images))
    return history


# --------------------------------------------------------------------------------------
# scratchnet
# --------------------------------------------------------------------------------------
def scratchnet_model(sn: Any, seed: int) -> Any:
    return sn.models.mlp_vae(latent_dim=LATENT, hidden=HIDDEN, image_shape=IMAGE_SHAPE,
                             rng=seed)


def scratchnet_step(sn: Any, model: Any) -> Any:
    """One Adam step on a batch's −mean ELBO; returns the loss."""
    optimizer = sn.optim.Adam(model.parameters(), lr=LR)

    def step(batch: Any) -> float:
        optimizer.zero_grad()
        loss = model.loss(batch)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def scratchnet_evaluate(np: Any, sn: Any, model: Any, test: Any, passes: int, seed: int
                        ) -> dict[str, float]:
    model.rng = np.random.default_rng([seed, 2])
    with sn.no_grad():
        elbo = [float(model.elbo(test).data.mean()) for _ in range(passes)]
        iw = float(model.importance_log_likelihood(test, k=IW_K, chunk=IW_CHUNK).data.mean())
    return {"elbo": float(np.mean(elbo)), "elbo_passes": elbo, "iw": iw,
            "active_units": model.active_units(test, ACTIVE_THRESHOLD)}


# --------------------------------------------------------------------------------------
# PyTorch: the same network, written with nn.Linear, from scratchnet's initial weights
# --------------------------------------------------------------------------------------
def torch_model(sn: Any, torch: Any, sn_model: Any) -> Any:
    nn = torch.nn

    class TorchVAE(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = nn.Sequential(nn.Linear(N_PIXELS, HIDDEN), nn.ReLU(),
                                         nn.Linear(HIDDEN, 2 * LATENT))
            self.decoder = nn.Sequential(nn.Linear(LATENT, HIDDEN), nn.ReLU(),
                                         nn.Linear(HIDDEN, N_PIXELS))

        def encode(self, x: Any) -> tuple[Any, Any]:
            out = self.encoder(x.reshape(len(x), N_PIXELS))
            return out[:, :LATENT], out[:, LATENT:].clamp(*LOGVAR_RANGE)

        def log_likelihood(self, x: Any, z: Any) -> Any:
            logits = self.decoder(z)
            bce = nn.functional.binary_cross_entropy_with_logits(
                logits, x.reshape(len(x), N_PIXELS), reduction="none")
            return -bce.sum(dim=1)

        def elbo(self, x: Any) -> Any:
            mu, logvar = self.encode(x)
            z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
            kl = 0.5 * (torch.exp(logvar) + mu * mu - 1.0 - logvar).sum(dim=1)
            return self.log_likelihood(x, z) - kl

        def importance_log_likelihood(self, x: Any, k: int, chunk: int) -> Any:
            mu, logvar = self.encode(x)
            n = len(x)
            parts = []
            for start in range(0, k, chunk):
                c = min(chunk, k - start)
                eps = torch.randn(c, n, LATENT)
                z = mu + torch.exp(0.5 * logvar) * eps
                log_q = -0.5 * (logvar + LOG_2PI).sum(dim=1) - 0.5 * (eps * eps).sum(dim=2)
                log_prior = -0.5 * ((z * z).sum(dim=2) + LATENT * LOG_2PI)
                x_tiled = x.reshape(1, n, N_PIXELS).expand(c, n, N_PIXELS)
                log_px = self.log_likelihood(x_tiled.reshape(c * n, N_PIXELS),
                                             z.reshape(c * n, LATENT)).reshape(c, n)
                parts.append(log_px + log_prior - log_q)
            return torch.logsumexp(torch.cat(parts), dim=0) - math.log(k)

    model = TorchVAE()
    ours = [m for part in (sn_model.encoder, sn_model.decoder) for m in part.modules()
            if isinstance(m, sn.nn.Dense)]
    theirs = [m for part in (model.encoder, model.decoder) for m in part.modules()
              if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for mine, linear in zip(ours, theirs, strict=True):  # W is (in, out) in scratchnet
            linear.weight.copy_(torch.from_numpy(mine.weight.data.T.copy()))
            linear.bias.copy_(torch.from_numpy(mine.bias.data.copy()))
    return model


def torch_step(torch: Any, model: Any, seed: int) -> Any:
    """As scratchnet_step. Made before the timing starts: the first torch.optim.Adam
    imports torch._dynamo, which takes seconds (3 s here), once per process.
    """
    torch.manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)

    def step(batch: Any) -> float:
        optimizer.zero_grad()
        loss = -model.elbo(torch.from_numpy(batch)).mean()
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def torch_evaluate(np: Any, torch: Any, model: Any, test: Any, passes: int, seed: int
                   ) -> dict[str, float]:
    torch.manual_seed(seed)
    x = torch.from_numpy(test)
    with torch.no_grad():
        elbo = [float(model.elbo(x).mean()) for _ in range(passes)]
        iw = float(model.importance_log_likelihood(x, IW_K, IW_CHUNK).mean())
        mu, _ = model.encode(x)
    active = int((mu.numpy().var(axis=0) > ACTIVE_THRESHOLD).sum())
    return {"elbo": float(np.mean(elbo)), "elbo_passes": elbo, "iw": iw,
            "active_units": active}


# --------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------
def _relative_error(np: Any, ours: Any, theirs: Any) -> float:
    return float(np.abs(ours - theirs).max()) / (float(np.abs(theirs).max()) + 1e-30)


def check_same_model(np: Any, sn: Any, torch: Any, sn_model: Any, t_model: Any, x: Any
                     ) -> list[dict[str, Any]]:
    """At the shared initial weights, μ, log σ² and log p(x | z = μ) must agree."""
    with sn.no_grad():
        mu, logvar = sn_model.encode(x)
        log_px = sn_model.log_likelihood(x, mu)
    with torch.no_grad():
        tx = torch.from_numpy(x)
        tmu, tlogvar = t_model.encode(tx)
        tlog_px = t_model.log_likelihood(tx, tmu)
    worst = max(_relative_error(np, a.data, b.numpy())
                for a, b in ((mu, tmu), (logvar, tlogvar), (log_px, tlog_px)))
    return [{"name": "initial_model_matches_pytorch", "ok": worst <= CHECK_TOL,
             "detail": f"μ, log σ², log p(x|z=μ) on {len(x)} test images: largest "
                       f"difference {worst:.2e} of the largest value"}]


def check_results(np: Any, name: str, result: dict[str, Any]) -> list[dict[str, Any]]:
    values = [*result["elbo_passes"], result["iw"], *result["history"]["train_loss"]]
    finite = bool(np.isfinite(values).all())
    return [
        {"name": f"{name}.finite", "ok": finite,
         "detail": "training losses, test ELBO and IW estimate are finite" if finite
         else "a NaN or infinite value"},
        {"name": f"{name}.iw_above_elbo", "ok": result["iw"] >= result["elbo"],
         "detail": f"IW k={IW_K} {result['iw']:.2f} ≥ ELBO {result['elbo']:.2f} nats "
                   "(the bound tightens with k)"},
    ]


# --------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------
def value_row(name: str, unit: str, values: dict[str, Any], higher_is_better: bool | None,
              target: float | None = None, compare: str = "difference",
              spread: dict[str, Any] | None = None) -> dict[str, Any]:
    return comparison_row(name, unit, values, "pytorch", higher_is_better, target, compare,
                          spread)


def result_rows(results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    def pick(key: str) -> dict[str, Any]:
        return {fw: r[key] for fw, r in results.items()}

    def epoch_spread() -> dict[str, Any]:
        out: dict[str, Any] = {"scratchnet": None, "pytorch": None}
        for fw, r in results.items():
            s = summarize(r["history"]["epoch_s"])
            out[fw] = {k: s[k] for k in ("q1", "q3", "min", "max")}
        return out

    per_epoch = {fw: summarize(r["history"]["epoch_s"])["median"] for fw, r in results.items()}
    return [
        value_row("test_elbo", "nats", pick("elbo"), True, ELBO_TARGET),
        value_row(f"test_iw_k{IW_K}", "nats", pick("iw"), True, IW_TARGET),
        value_row("iw_gap", "nats", {fw: r["iw"] - r["elbo"] for fw, r in results.items()},
                  None),
        value_row("train_loss.last_epoch", "nats",
                  {fw: r["history"]["train_loss"][-1] for fw, r in results.items()}, False),
        value_row("active_units", "units", pick("active_units"), None),
        value_row("train_time.per_epoch", "s", per_epoch, False, compare="ratio",
                  spread=epoch_spread()),
        value_row("train_time.total", "s", pick("train_s"), False, compare="ratio"),
        value_row("eval_time", "s", pick("eval_s"), False, compare="ratio"),
    ]


# --------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    args = parse_all_args(argv)
    threads = configure_threads(args.threads)
    allocator = pin_allocator()

    import numpy as np  # after configure_threads, so the BLAS thread count applies

    sn = import_scratchnet()
    torch = import_torch(threads, args.no_torch)
    config = QUICK if args.quick else FULL
    if args.epochs is not None:
        config = config._replace(epochs=args.epochs)
    sn.set_default_dtype(np.float32)
    if torch is not None:
        torch.set_default_dtype(torch.float32)
    gc.collect()
    gc.freeze()  # the modules' objects: keeps the collections during training short
    monitor = LoadMonitor("bench_vae", "the training times will be noisy "
                                     "(the likelihoods are not affected)")
    began = time.perf_counter()

    train_images, test = load_data(sn, config)
    sn_model = scratchnet_model(sn, args.seed)
    t_model = None if torch is None else torch_model(sn, torch, sn_model)
    checks: list[dict[str, Any]] = []
    if t_model is not None:
        checks += check_same_model(np, sn, torch, sn_model, t_model, test[:100])

    results: dict[str, dict[str, Any]] = {}
    step = scratchnet_step(sn, sn_model)
    start = time.perf_counter()
    history = train(np, sn, train_images, config.epochs, args.seed, step)
    trained = time.perf_counter()
    results["scratchnet"] = scratchnet_evaluate(np, sn, sn_model, test, config.elbo_passes,
                                                args.eval_seed)
    results["scratchnet"].update(history=history, train_s=trained - start,
                                 eval_s=time.perf_counter() - trained)
    monitor.mark("scratchnet")
    if t_model is not None:
        gc.collect()
        time.sleep(0.1)  # let NumPy's BLAS threads go idle before PyTorch's start
        step = torch_step(torch, t_model, args.seed)
        start = time.perf_counter()
        history = train(np, sn, train_images, config.epochs, args.seed, step)
        trained = time.perf_counter()
        results["pytorch"] = torch_evaluate(np, torch, t_model, test, config.elbo_passes,
                                            args.eval_seed)
        results["pytorch"].update(history=history, train_s=trained - start,
                                  eval_s=time.perf_counter() - trained)
        monitor.mark("pytorch")
    noise = monitor.finish()
    for name, result in results.items():
        checks += check_results(np, name, result)
    rows = result_rows(results)

    result = {
        "schema": 1,
        "machine": {**machine_info(np, sn, torch), "allocator": allocator,
                    **monitor.machine_fields(noise)},
        "threads": threads,
        "quick": args.quick,
        "noisy": noise["noisy"],
        "noise": noise,
        "settings": {"sizes": [N_PIXELS, HIDDEN, LATENT], "activation": "relu",
                     "likelihood": "bernoulli (logits)", "dtype": "float32",
                     "optimizer": "adam", "lr": LR, "batch": BATCH, "epochs": config.epochs,
                     "train_images": len(train_images), "test_images": len(test),
                     "data": "bundled MNIST; train dynamically binarised every epoch, test "
                             f"binarised once (rng={TEST_BINARIZE_SEED})",
                     "elbo_passes": config.elbo_passes, "iw_k": IW_K,
                     "active_threshold": ACTIVE_THRESHOLD, "seed": args.seed,
                     "eval_seed": args.eval_seed,
                     "pytorch_init": "copy of scratchnet's initial weights",
                     "targets": {"test_elbo": ELBO_TARGET, f"test_iw_k{IW_K}": IW_TARGET}},
        "checks": checks,
        "rows": rows,
        "history": {fw: r["history"] for fw, r in results.items()},
        "elapsed_s": round(time.perf_counter() - began, 2),
    }

    print_header("VAE likelihood benchmark", result["machine"], threads, args, noise)
    print()
    print(comparison_table(rows, "pytorch", "PyTorch"))
    print()
    print(f"MLP VAE {N_PIXELS}-{HIDDEN}-{LATENT} (ReLU, Bernoulli logits), float32, Adam lr "
          f"{LR:g}, batch {BATCH}, {config.epochs} epochs on {len(train_images):,} bundled "
          f"MNIST training images, dynamically binarised; evaluated on {len(test):,} test "
          f"images binarised once (seed {TEST_BINARIZE_SEED}). test_elbo: mean over images "
          f"and {config.elbo_passes} passes of one z each; test_iw_k{IW_K}: Burda et al.'s "
          f"k={IW_K} estimate of log p(x). Higher is better for both; targets apply to "
          "scratchnet. Times: per epoch median [IQR], shuffling and binarising included.")
    print_checks_and_json(checks, result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
