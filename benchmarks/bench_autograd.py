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
interquartile range. scratchnet and PyTorch take turns in blocks of repeats, so that a slow
spell of the machine hurts both (see ``run_blocks``). Building the graph is part of
"forward"; freeing it afterwards is not timed for either framework.

Usage (from the repository root)::

    python benchmarks/bench_autograd.py                   # ~25 s on 2 cores, at most ~1 min
    python benchmarks/bench_autograd.py --quick           # a few seconds, smoke test
    python benchmarks/bench_autograd.py --threads 1 --json benchmarks/results/bench.json
    python benchmarks/bench_autograd.py --no-torch        # scratchnet only

``--threads N`` (default: the cores this process may use) sets OMP_NUM_THREADS,
OPENBLAS_NUM_THREADS and MKL_NUM_THREADS before NumPy is imported and calls
``torch.set_num_threads(N)``, so both frameworks get the same number of BLAS threads.

JSON output (printed, and written to ``--json PATH``)::

    {
      "schema": 1,
      "machine": {"platform": str, "cpu": str, "cpu_count": int, "python": str,
                  "numpy": str, "blas": str, "torch": str | null, "scratchnet": str,
                  "busy_cores_before": float | null,  # cores other processes used
                  "load_average_1min": {"before": float, "after": float}, ...},
      "threads": int,                      # BLAS / torch threads used
      "quick": bool,
      "settings": {"chain_ops": int, "mlp_sizes": [int, ...], "batch": int, ...},
      "checks": [{"name": str, "ok": bool, "detail": str}, ...],
      "workloads": [
        {"name": str,                      # e.g. "scalar_chain.total", "mlp.step"
         "unit": "us/op" | "ms/step",
         "scratchnet": float,              # median
         "pytorch": float | null,          # median; null without torch
         "ratio": float | null,            # scratchnet / pytorch
         "target": float | null,           # the ratio to stay under; null = informative
         "meets_target": bool | null,
         "spread": {"scratchnet": {"q1", "q3", "min", "max"},
                    "pytorch": {"q1", "q3", "min", "max"} | null},
         "repeats": {"scratchnet": int, "pytorch": int | null}},  # timed runs
        ...
      ],
      "elapsed_s": float                   # wall time of the measurements
    }

Targets: per-op overhead (the ``scalar_chain.*`` rows) at most 3x PyTorch's, MLP step at
most 1.3x PyTorch's. Missing a target is reported, not an error: the exit status is 0.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

REPO_ROOT = Path(__file__).resolve().parent.parent
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

CHAIN_OPS = 10_000
CHAIN_MUL, CHAIN_ADD = 0.999, 0.001  # fixed point x = 1: the values stay bounded
MLP_SIZES = (784, 512, 512, 10)
MLP_BATCH = 128
MLP_LR = 0.01

CHAIN_TARGET = 3.0  # scratchnet per-op overhead <= 3x PyTorch's
MLP_STEP_TARGET = 1.3  # scratchnet MLP step <= 1.3x PyTorch's


class Plan(NamedTuple):
    """How one workload is timed for each framework; see :func:`run_blocks`."""

    warmup: int  # untimed runs at the start of every block
    repeats: int  # timed runs in all (at most)
    rounds: int  # blocks per framework, alternating with the other framework's
    budget_s: float  # timed seconds per framework, at most (about)


FULL = {"chain": Plan(1, 40, 4, 10.0), "mlp": Plan(5, 200, 4, 5.0)}
QUICK = {"chain": Plan(1, 3, 1, 1.5), "mlp": Plan(2, 5, 1, 0.5)}


# --------------------------------------------------------------------------------------
# Set-up: threads first (before NumPy is imported), then the frameworks.
# --------------------------------------------------------------------------------------
def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def parse_args(argv: list[str] | None, description: str = (
        "Time scratchnet's autograd (scalar op chain, MLP training step) against PyTorch CPU."),
        quick_help: str = "a few-second smoke run: fewer warm-ups and repeats",
        add_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
) -> argparse.Namespace:
    """The options every benchmark script shares: --threads, --quick, --json, --no-torch.

    ``add_arguments(parser)`` adds a script's own options, so ``--help`` lists them too.
    """
    parser = argparse.ArgumentParser(description=description)
    if add_arguments is not None:
        add_arguments(parser)
    parser.add_argument("--threads", type=int, default=None, metavar="N",
                        help="BLAS and torch threads (default: the number of cores, "
                             f"{available_cores()} here)")
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--json", type=Path, default=None, metavar="PATH",
                        help="also write the results as JSON to PATH")
    parser.add_argument("--no-torch", action="store_true",
                        help="skip PyTorch even when it is installed")
    args = parser.parse_args(argv)
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads must be at least 1, got {args.threads}")
    return args


def print_header(title: str, machine: dict[str, Any], threads: int,
                 args: argparse.Namespace) -> None:
    """The first line of a benchmark's report: what ran, where, with which libraries."""
    torch_note = machine["torch"] or ("skipped (--no-torch)" if args.no_torch
                                      else "not installed")
    print(f"# scratchnet {title} — {machine['cpu']}, {threads} thread(s), "
          f"numpy {machine['numpy']} ({machine['blas']}), torch {torch_note}"
          + (", --quick" if args.quick else ""))


def print_checks_and_json(checks: list[dict[str, Any]], result: dict[str, Any],
                          json_path: Path | None) -> None:
    """Print each check's verdict, write the JSON to ``json_path`` if given, then print it."""
    for check in checks:
        print(f"check {check['name']}: {'ok' if check['ok'] else 'FAILED'} ({check['detail']})")
    if json_path is not None:
        write_json_atomically(json_path, result)
        print(f"wrote {json_path}")
    print()
    print(json.dumps(result, indent=2))


def configure_threads(requested: int | None) -> int:
    """Pin the BLAS thread count; it only takes effect if NumPy is not imported yet."""
    threads = requested if requested is not None else available_cores()
    if requested is not None:
        if "numpy" in sys.modules:
            warnings.warn("bench_autograd: NumPy was imported before --threads was applied; "
                          "its BLAS may use a different number of threads", stacklevel=2)
        for var in THREAD_ENV_VARS:
            os.environ[var] = str(threads)
    return threads


def import_scratchnet() -> Any:
    """The scratchnet next to this script (a checkout), else the installed one."""
    if (REPO_ROOT / "scratchnet" / "__init__.py").is_file():
        sys.path.insert(0, str(REPO_ROOT))
    import scratchnet

    return scratchnet


def import_torch(threads: int, skip: bool) -> Any:
    if skip:
        return None
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    return torch


def busy_cores(interval: float = 0.3) -> float | None:
    """How many cores other processes keep busy right now (Linux /proc/stat), else None.

    The load average would also count this script's own recent runs.
    """

    def sample() -> tuple[int, int]:
        with open("/proc/stat", encoding="utf-8") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        return idle, sum(fields)

    try:
        idle0, total0 = sample()
        time.sleep(interval)
        idle1, total1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    if total1 <= total0:
        return None
    busy = 1.0 - (idle1 - idle0) / (total1 - total0)
    return round(busy * (os.cpu_count() or 1), 2)


def warn_if_busy(script: str, consequence: str = "timings will be noisy, multi-threaded "
                 "ones most") -> dict[str, Any]:
    """Sample how busy the machine is before timing, and warn on stderr when other
    processes keep more than 0.3 cores busy. Returns the start of :func:`run_conditions`."""
    busy = busy_cores()
    if busy is not None and busy > 0.3:
        print(f"{script}: other processes keep {busy} of {os.cpu_count()} cores busy; "
              f"{consequence}", file=sys.stderr)
    return {"busy_cores_before": busy, "load_average_1min": {"before": load_average()}}


def run_conditions(before: dict[str, Any]) -> dict[str, Any]:
    """For the JSON's "machine": :func:`warn_if_busy`'s sample, with the load average now."""
    return {**before, "load_average_1min": {**before["load_average_1min"],
                                            "after": load_average()}}


def load_average() -> float | None:
    """The 1-minute load average, or None where the OS has none."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def machine_info(np: Any, sn: Any, torch: Any) -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        blas = np.__config__.CONFIG["Build Dependencies"]["blas"]
        blas = f"{blas['name']} {blas.get('version', '')}".strip()
    except (AttributeError, KeyError, TypeError):
        blas = "unknown"
    return {
        "platform": platform.platform(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "available_cores": available_cores(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": blas,
        "blas_thread_env": {var: os.environ.get(var) for var in THREAD_ENV_VARS},
        "torch": None if torch is None else torch.__version__,
        "torch_threads": None if torch is None else torch.get_num_threads(),
        "scratchnet": f"{sn.__version__} ({Path(sn.__file__).parent})",
    }


# --------------------------------------------------------------------------------------
# Timing helpers
# --------------------------------------------------------------------------------------
def summarize(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    if len(ordered) >= 2:
        q1, _, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
    else:
        q1 = q3 = ordered[0]
    return {"median": statistics.median(ordered), "q1": q1, "q3": q3,
            "min": ordered[0], "max": ordered[-1]}


def run_blocks(runners: dict[str, Callable[[], dict[str, float]]], plan: Plan
               ) -> dict[str, dict[str, list[float]]]:
    """Time every runner up to ``plan.repeats`` times, in ``plan.rounds`` alternating blocks.

    A runner returns {phase: seconds}; the result is {framework: {phase: [seconds, ...]}}.
    Each block starts with ``plan.warmup`` untimed runs and ends early once it has used its
    share of ``plan.budget_s`` (so a slow or busy machine still finishes in about a minute),
    but keeps at least two timed runs. The frameworks take turns block by block, not run by
    run: NumPy's OpenBLAS and PyTorch's OpenMP threads spin for a while after each parallel
    region, and on a small machine alternating single runs makes the two thread pools fight
    (it doubled the measured MLP step on 2 cores). Alternating blocks still spreads a slow
    spell of the machine over both frameworks. The garbage of one run is collected before
    the next starts, outside the timing.
    """
    times: dict[str, dict[str, list[float]]] = {name: {} for name in runners}
    rounds = plan.rounds
    per_round = [plan.repeats // rounds + (i < plan.repeats % rounds) for i in range(rounds)]
    block_budget = plan.budget_s / rounds
    for count in per_round:
        for name, run in runners.items():
            time.sleep(0.05)  # let the other framework's worker threads go idle
            for _ in range(plan.warmup):
                run()
                gc.collect()
            start = time.perf_counter()
            for i in range(count):
                for phase, seconds in run().items():
                    times[name].setdefault(phase, []).append(seconds)
                gc.collect()
                if i >= 1 and time.perf_counter() - start > block_budget:
                    break
    return times


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
# Reporting
# --------------------------------------------------------------------------------------
def workload_row(name: str, unit: str, scale: float, samples: dict[str, list[float]],
                 target: float | None) -> dict[str, Any]:
    stats = {fw: summarize([s * scale for s in values]) for fw, values in samples.items()}
    ours = stats["scratchnet"]
    theirs = stats.get("pytorch")
    ratio = None if theirs is None else ours["median"] / theirs["median"]

    def spread(s: dict[str, float] | None) -> dict[str, float] | None:
        return None if s is None else {k: s[k] for k in ("q1", "q3", "min", "max")}

    return {
        "name": name,
        "unit": unit,
        "scratchnet": ours["median"],
        "pytorch": None if theirs is None else theirs["median"],
        "ratio": ratio,
        "target": target,
        "meets_target": None if ratio is None or target is None else ratio <= target,
        "spread": {"scratchnet": spread(ours), "pytorch": spread(theirs)},
        "repeats": {fw: len(samples[fw]) if fw in samples else None
                    for fw in ("scratchnet", "pytorch")},
    }


def _fmt(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"


def _cell(median: float | None, spread: dict[str, float] | None) -> str:
    if median is None or spread is None:
        return "n/a"
    return f"{_fmt(median)} [{_fmt(spread['q1'])}–{_fmt(spread['q3'])}]"


def markdown_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| workload | unit | scratchnet median [IQR] | PyTorch median [IQR] | ratio "
             "| target | status |",
             "|---|---|---|---|---|---|---|"]
    for row in rows:
        ratio = "n/a" if row["ratio"] is None else f"{row['ratio']:.2f}×"
        target = "–" if row["target"] is None else f"≤ {row['target']:g}×"
        status = {True: "ok", False: "MISSED", None: "n/a" if row["target"] else "–"}[
            row["meets_target"]]
        lines.append(f"| {row['name']} | {row['unit']} "
                     f"| {_cell(row['scratchnet'], row['spread']['scratchnet'])} "
                     f"| {_cell(row['pytorch'], row['spread']['pytorch'])} "
                     f"| {ratio} | {target} | {status} |")
    return "\n".join(lines)


def write_json_atomically(path: Path, payload: dict[str, Any]) -> None:
    path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(payload, f, indent=2)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    threads = configure_threads(args.threads)

    import numpy as np  # after configure_threads, so the BLAS thread count applies

    sn = import_scratchnet()
    torch = import_torch(threads, args.no_torch)
    plan = QUICK if args.quick else FULL
    # Move the modules' objects out of the collector's sight: a full collection with torch
    # loaded takes ~80 ms, and run_blocks collects after every run.
    gc.collect()
    gc.freeze()
    before = warn_if_busy("bench_autograd")
    began = time.perf_counter()

    # Scalar chain.
    makers = chain_leaf_makers(sn, torch)
    gradients = {name: chain_once(make, CHAIN_OPS)[1] for name, make in makers.items()}
    chain_times = run_blocks(
        {name: (lambda make=make: chain_once(make, CHAIN_OPS)[0]) for name, make in makers.items()},
        plan["chain"])

    # MLP step.
    arrays = mlp_arrays(np)
    checks = check_chain(gradients) + check_mlp(np, sn, torch, arrays)
    steps = {"scratchnet": scratchnet_mlp(sn, arrays)}
    if torch is not None:
        steps["pytorch"] = torch_mlp(torch, arrays)
    mlp_times = run_blocks(steps, plan["mlp"])

    def phase(times: dict[str, dict[str, list[float]]], name: str) -> dict[str, list[float]]:
        return {fw: by_phase[name] for fw, by_phase in times.items()}

    per_op = 1e6 / CHAIN_OPS  # seconds per chain -> microseconds per op
    rows = [workload_row(f"scalar_chain.{p}", "us/op", per_op, phase(chain_times, p),
                         CHAIN_TARGET) for p in ("forward", "backward", "total")]
    rows += [workload_row(f"mlp.{p}", "ms/step", 1e3, phase(mlp_times, p),
                          MLP_STEP_TARGET if p == "step" else None)
             for p in ("forward", "backward", "update", "step")]

    result = {
        "schema": 1,
        "machine": {**machine_info(np, sn, torch), **run_conditions(before)},
        "threads": threads,
        "quick": args.quick,
        "settings": {"chain_ops": CHAIN_OPS, "chain_ops_kind": f"x*{CHAIN_MUL}, x+{CHAIN_ADD}",
                     "mlp_sizes": list(MLP_SIZES), "batch": MLP_BATCH, "lr": MLP_LR,
                     "dtype": "float32",
                     "plans": {k: v._asdict() for k, v in plan.items()}},
        "checks": checks,
        "workloads": rows,
        "elapsed_s": round(time.perf_counter() - began, 2),
    }

    print_header("autograd benchmark", result["machine"], threads, args)
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
