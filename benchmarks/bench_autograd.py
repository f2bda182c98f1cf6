#!/usr/bin/env python
"""Autograd benchmark: scratchnet against PyTorch CPU on two workloads.

1. **Scalar chain** — 10,000 elementwise ops on a 0-d float32 tensor that requires grad
   (``x = x * 0.999`` and ``x = x + 0.001``, alternating, so x stays near 1 and the
   gradient is 0.999**5000 ≈ 0.0067), then ``backward()``. The arrays are a single number,
   so this measures the framework's own cost per op: graph recording, dispatch, the
   backward engine. Reported in microseconds per op (time / 10,000).
2. **MLP step** — 784-512-512-10 (three Dense layers ``h @ W + b``, ReLU between them),
   batch 128, float32, softmax cross-entropy with integer labels, then a plain SGD update
   ``p -= lr * grad`` done in place under ``no_grad``. Reported in milliseconds per step.
   This is dominated by the matrix products, i.e. by BLAS.

Each workload is timed phase by phase (forward, backward, and for the MLP the update) and
as a whole, after warm-up runs, over several repeats; the tables give the median and the
interquartile range. scratchnet and PyTorch take turns run by run (scratchnet, PyTorch,
scratchnet, ...; see ``harness.run_interleaved``), and each ratio is the median of the
ratios of the pairs, so that a slow spell of the machine hurts both sides of a ratio alike.
Building the graph is part of "forward"; freeing it afterwards is not timed for either
framework. The load is measured before and during the run (``harness.LoadMonitor``): a run
during which other processes kept more than ``harness.BUSY_LIMIT_CORES`` cores busy is
marked NOISY, in the table's header and in the JSON, and is not for publishing.

Usage (from the repository root)::

    python benchmarks/bench_autograd.py                   # ~25 s on 2 cores, at most ~1 min
    python benchmarks/bench_autograd.py --quick           # a few seconds, smoke test
    python benchmarks/bench_autograd.py --threads 1 --json benchmarks/results/bench.json
    python benchmarks/bench_autograd.py --no-torch        # scratchnet only

``--threads N`` (default: the cores this process may use) sets OMP_NUM_THREADS,
OPENBLAS_NUM_THREADS and MKL_NUM_THREADS before NumPy is imported and calls
``torch.set_num_threads(N)``, so both frameworks get the same number of BLAS threads.

JSON output (printed, and written to ``--json PATH``); schema 2, where schema 1's ratio
was the ratio of the two medians::

    {
      "schema": 2,
      "machine": {"platform": str, "cpu": str, "cpu_count": int, "python": str,
                  "numpy": str, "blas": str, "torch": str | null, "scratchnet": str,
                  "busy_cores_before": float | null,  # cores other processes used
                  "load_average_1min": {"before": float, "after": float}, ...},
      "threads": int,                      # BLAS / torch threads used
      "quick": bool,
      "noisy": bool,                       # other processes were busy: not for publishing
      "noise": {"noisy": bool, "reasons": [str, ...],
                "limit_busy_cores": float,  # harness.BUSY_LIMIT_CORES
                "busy_cores": {"before": float | null, "during": float | null},
                "segments": [{"label": str, "seconds": float,
                              "busy_cores": float | null}, ...],  # one per workload
                "load_average_1min": {"before": float, "after": float}},
      "settings": {"chain_ops": int, "mlp_sizes": [int, ...], "batch": int, ...},
      "checks": [{"name": str, "ok": bool, "detail": str}, ...],
      "workloads": [
        {"name": str,                      # e.g. "scalar_chain.total", "mlp.step"
         "unit": "us/op" | "ms/step",
         "scratchnet": float,              # median
         "pytorch": float | null,          # median; null without torch
         "ratio": float | null,            # median over the pairs of scratchnet / pytorch
         "ratio_spread": {"q1", "q3", "min", "max"} | null,  # of the per-pair ratios
         "target": float | null,           # the ratio to stay under; null = informative
         "meets_target": bool | null,
         "headline": bool,                 # shown in the suite's summary (has a target)
         "spread": {"scratchnet": {"q1", "q3", "min", "max"},
                    "pytorch": {"q1", "q3", "min", "max"} | null},
         "repeats": {"scratchnet": int, "pytorch": int | null}},  # timed runs (pairs)
        ...
      ],
      "elapsed_s": float                   # wall time of the measurements
    }

Targets: per-op overhead (the ``scalar_chain.*`` rows) at most 3x PyTorch's, MLP step at
most 1.3x PyTorch's. Missing a target is reported, not an error: the exit status is 0.
"""

from __future__ import annotations

import gc
import itertools
import sys
import time
from collections.abc import Callable
from typing import Any

from harness import (  # benchmarks/harness.py: this folder is first on sys.path
    LoadMonitor,
    Plan,
    configure_threads,
    import_scratchnet,
    import_torch,
    machine_info,
    markdown_table,
    parse_args,
    pin_allocator,
    print_checks_and_json,
    print_header,
    run_interleaved,
    workload_row,
)

CHAIN_OPS = 10_000
CHAIN_MUL, CHAIN_ADD = 0.999, 0.001  # fixed point x = 1: the values stay bounded
MLP_SIZES = (784, 512, 512, 10)
MLP_BATCH = 128
MLP_LR = 0.01

CHAIN_TARGET = 3.0  # scratchnet per-op overhead <= 3x PyTorch's
MLP_STEP_TARGET = 1.3  # scratchnet MLP step <= 1.3x PyTorch's

FULL = {"chain": Plan(warmup=1, repeats=40, budget_s=20.0),
        "mlp": Plan(warmup=5, repeats=200, budget_s=10.0)}
QUICK = {"chain": Plan(warmup=1, repeats=3, budget_s=3.0),
         "mlp": Plan(warmup=2, repeats=5, budget_s=1.0)}


# --------------------------------------------------------------------------------------
# Workload 1: a chain of scalar ops. The same code drives both frameworks, since
# ``*``, ``+``, ``.backward()`` and ``.grad.item()`` mean the same in each.
# --------------------------------------------------------------------------------------
def chain_once(make_leaf: Callable[[], Any], n_ops: int) -> tuple[dict[str, float], float]:
    leaf = make_leaf()
    start = time.perf_counter()
    x = leaf
    for _ in range(n_ops // 2):
        x = x * CHAIN_MUL
        x = x + CHAIN_ADD
    built = time.perf_counter()
    x.backward()
    done = time.perf_counter()
    gradient = float(leaf.grad.item())
    del x  # free the graph outside the timed region
    return {"forward": built - start, "backward": done - built, "total": done - start}, gradient


def chain_leaf_makers(sn: Any, torch: Any) -> dict[str, Callable[[], Any]]:
    makers = {"scratchnet": lambda: sn.Tensor(1.0, requires_grad=True)}
    if torch is not None:
        makers["pytorch"] = lambda: torch.tensor(1.0, dtype=torch.float32, requires_grad=True)
    return makers


# --------------------------------------------------------------------------------------
# Workload 2: an MLP training step, written op for op the same way in both frameworks:
# h = relu(h @ W + b) twice, logits = h @ W + b, cross-entropy, backward, p -= lr * grad.
# --------------------------------------------------------------------------------------
def mlp_arrays(np: Any, seed: int = 0) -> tuple[list[Any], Any, Any]:
    """Glorot-uniform weights (fan_in, fan_out), small biases, inputs in [0, 1), labels."""
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in itertools.pairwise(MLP_SIZES):
        limit = (6.0 / (fan_in + fan_out)) ** 0.5
        params.append(rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32))
        params.append(rng.uniform(-0.01, 0.01, (fan_out,)).astype(np.float32))
    x = rng.random((MLP_BATCH, MLP_SIZES[0]), dtype=np.float32)
    labels = rng.integers(0, MLP_SIZES[-1], MLP_BATCH, dtype=np.int64)
    return params, x, labels


def mlp_forward(params: list[Any], x: Any, labels: Any, relu: Callable, cross_entropy: Callable):
    h = x
    n_layers = len(params) // 2
    for i in range(n_layers):
        h = h @ params[2 * i] + params[2 * i + 1]
        if i < n_layers - 1:
            h = relu(h)
    return cross_entropy(h, labels)


def scratchnet_mlp(sn: Any, arrays: tuple[list[Any], Any, Any]) -> Callable[[], dict[str, float]]:
    import scratchnet.functional as F

    params = [sn.Tensor(p, requires_grad=True) for p in arrays[0]]
    x, labels = sn.Tensor(arrays[1]), arrays[2]

    def step() -> dict[str, float]:
        start = time.perf_counter()
        loss = mlp_forward(params, x, labels, F.relu, F.cross_entropy)
        forwarded = time.perf_counter()
        loss.backward()
        backwarded = time.perf_counter()
        with sn.no_grad():
            for p in params:
                p.data -= MLP_LR * p.grad.data
                p.grad = None
        done = time.perf_counter()
        return {"forward": forwarded - start, "backward": backwarded - forwarded,
                "update": done - backwarded, "step": done - start}

    return step


def torch_mlp(torch: Any, arrays: tuple[list[Any], Any, Any]) -> Callable[[], dict[str, float]]:
    import torch.nn.functional as TF

    params = [torch.tensor(p, requires_grad=True) for p in arrays[0]]
    x, labels = torch.from_numpy(arrays[1].copy()), torch.from_numpy(arrays[2].copy())

    def step() -> dict[str, float]:
        start = time.perf_counter()
        loss = mlp_forward(params, x, labels, TF.relu, TF.cross_entropy)
        forwarded = time.perf_counter()
        loss.backward()
        backwarded = time.perf_counter()
        with torch.no_grad():
            for p in params:
                p -= MLP_LR * p.grad
                p.grad = None
        done = time.perf_counter()
        return {"forward": forwarded - start, "backward": backwarded - forwarded,
                "update": done - backwarded, "step": done - start}

    return step


# --------------------------------------------------------------------------------------
# Checks: the two frameworks must compute the same thing, or the timings mean nothing.
# --------------------------------------------------------------------------------------
def check_chain(gradients: dict[str, float]) -> list[dict[str, Any]]:
    expected = CHAIN_MUL ** (CHAIN_OPS // 2)
    checks = []
    for name, g in gradients.items():
        ok = abs(g - expected) <= 1e-2 * expected
        checks.append({"name": f"scalar_chain.grad.{name}", "ok": ok,
                       "detail": f"dx/dx0 = {g:.6g}, exact {expected:.6g}"})
    return checks


def check_mlp(np: Any, sn: Any, torch: Any, arrays: tuple[list[Any], Any, Any]) -> list[dict]:
    """One forward/backward from the same weights: losses and gradients must agree."""
    import scratchnet.functional as F

    params = [sn.Tensor(p, requires_grad=True) for p in arrays[0]]
    loss = mlp_forward(params, sn.Tensor(arrays[1]), arrays[2], F.relu, F.cross_entropy)
    loss.backward()
    finite = bool(np.isfinite(loss.item())) and all(
        bool(np.isfinite(p.grad.data).all()) for p in params)
    checks = [{"name": "mlp.finite.scratchnet", "ok": finite,
               "detail": f"loss = {loss.item():.6f} (ln 10 = 2.302585 at chance)"}]
    if torch is None:
        return checks
    import torch.nn.functional as TF

    tparams = [torch.tensor(p, requires_grad=True) for p in arrays[0]]
    tloss = mlp_forward(tparams, torch.from_numpy(arrays[1].copy()),
                        torch.from_numpy(arrays[2].copy()), TF.relu, TF.cross_entropy)
    tloss.backward()
    loss_ok = abs(loss.item() - tloss.item()) <= 1e-4 * abs(tloss.item())
    worst = max(float(np.abs(p.grad.data - tp.grad.numpy()).max())
                / (float(np.abs(tp.grad.numpy()).max()) + 1e-30)
                for p, tp in zip(params, tparams))
    checks.append({"name": "mlp.loss_matches_pytorch", "ok": loss_ok,
                   "detail": f"scratchnet {loss.item():.6f}, pytorch {tloss.item():.6f}"})
    checks.append({"name": "mlp.grads_match_pytorch", "ok": worst <= 1e-3,
                   "detail": f"largest gradient difference {worst:.2e} of the largest gradient"})
    return checks


# --------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv, "Time scratchnet's autograd (scalar op chain, MLP training step) "
                            "against PyTorch CPU.")
    threads = configure_threads(args.threads)
    allocator = pin_allocator()

    import numpy as np  # after configure_threads, so the BLAS thread count applies

    sn = import_scratchnet()
    torch = import_torch(threads, args.no_torch)
    plan = QUICK if args.quick else FULL
    # Move the modules' objects out of the collector's sight: a full collection with torch
    # loaded takes ~80 ms, and run_interleaved collects after every run.
    gc.collect()
    gc.freeze()
    monitor = LoadMonitor("bench_autograd")
    began = time.perf_counter()

    # Scalar chain.
    makers = chain_leaf_makers(sn, torch)
    gradients = {name: chain_once(make, CHAIN_OPS)[1] for name, make in makers.items()}
    chain_times = run_interleaved(
        {name: (lambda make=make: chain_once(make, CHAIN_OPS)[0]) for name, make in makers.items()},
        plan["chain"], threads)
    monitor.mark("scalar_chain")

    # MLP step.
    arrays = mlp_arrays(np)
    checks = check_chain(gradients) + check_mlp(np, sn, torch, arrays)
    steps = {"scratchnet": scratchnet_mlp(sn, arrays)}
    if torch is not None:
        steps["pytorch"] = torch_mlp(torch, arrays)
    mlp_times = run_interleaved(steps, plan["mlp"], threads)
    monitor.mark("mlp")
    noise = monitor.finish()

    def phase(times: dict[str, dict[str, list[float]]], name: str) -> dict[str, list[float]]:
        return {fw: by_phase[name] for fw, by_phase in times.items()}

    per_op = 1e6 / CHAIN_OPS  # seconds per chain -> microseconds per op
    rows = [workload_row(f"scalar_chain.{p}", "us/op", per_op, phase(chain_times, p),
                         CHAIN_TARGET) for p in ("forward", "backward", "total")]
    rows += [workload_row(f"mlp.{p}", "ms/step", 1e3, phase(mlp_times, p),
                          MLP_STEP_TARGET if p == "step" else None)
             for p in ("forward", "backward", "update", "step")]

    result = {
        "schema": 2,
        "machine": {**machine_info(np, sn, torch), "allocator": allocator,
                    **monitor.machine_fields(noise)},
        "threads": threads,
        "quick": args.quick,
        "noisy": noise["noisy"],
        "noise": noise,
        "settings": {"chain_ops": CHAIN_OPS, "chain_ops_kind": f"x*{CHAIN_MUL}, x+{CHAIN_ADD}",
                     "mlp_sizes": list(MLP_SIZES), "batch": MLP_BATCH, "lr": MLP_LR,
                     "dtype": "float32",
                     "plans": {k: v._asdict() for k, v in plan.items()}},
        "checks": checks,
        "workloads": rows,
        "elapsed_s": round(time.perf_counter() - began, 2),
    }

    print_header("autograd benchmark", result["machine"], threads, args, noise)
    print()
    print(markdown_table(rows))
    print()
    print(f"scalar chain: {CHAIN_OPS:,} ops (x*{CHAIN_MUL}, x+{CHAIN_ADD}) on a 0-d float32 "
          f"tensor; MLP: {'-'.join(map(str, MLP_SIZES))}, batch {MLP_BATCH}, float32, SGD.")
    print("ratio = scratchnet / PyTorch (lower is better); targets: per-op overhead "
          f"≤ {CHAIN_TARGET:g}× PyTorch, MLP step ≤ {MLP_STEP_TARGET:g}× PyTorch.")
    print_checks_and_json(checks, result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
