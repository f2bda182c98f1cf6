#!/usr/bin/env python
"""Memory benchmark: peak memory of one training step, scratchnet against PyTorch CPU.

The workload is lesson 06's convolutional autoencoder (``models.conv_autoencoder``: pad to
32×32, three Conv2D 3×3 + ReLU + MaxPool 2, three ConvTranspose2D 3×3 stride 2, crop),
batch 128 of (1, 28, 28) float32 images, mean squared error, one Adam step (lr 1e-3). PyTorch
runs the same network written with ``torch.nn`` (``Conv2d(padding=1)``,
``ConvTranspose2d(stride=2, padding=1, output_padding=1)``) from a copy of scratchnet's
initial weights.

Each framework is measured in a fresh interpreter of its own (this script, run with
``--worker scratchnet`` or ``--worker pytorch``), so that neither sees the other's memory.
A worker

1. builds the model, the optimiser and the batch, and runs one warm-up step (which creates
   the gradients and Adam's moment estimates);
2. collects garbage, hands the C heap's free pages back to the OS (glibc ``malloc_trim``:
   otherwise memory freed by the warm-up would stay resident and be reused by the next
   step without showing up), and reads its resident set size (RSS, ``/proc/self/statm``):
   the **baseline**;
3. resets the kernel's high-water mark of its RSS (writing 5 to ``/proc/self/clear_refs``,
   which resets ``VmHWM`` and with it ``ru_maxrss``), runs a few more steps, and reads the
   high-water mark: **peak − baseline** is the memory a training step needs on top of what
   stays allocated between steps (activations, saved tensors, temporaries, gradients);
4. scratchnet only: runs more steps under ``tracemalloc``, which NumPy reports its array
   buffers to, for the peak of the Python and NumPy heap over the same baseline. It
   measures bytes asked for rather than pages touched, so it cross-checks the RSS number.
   (PyTorch's allocator does not report to ``tracemalloc``.)

The workers run with glibc's mmap threshold pinned at 128 KiB (``MALLOC_MMAP_THRESHOLD_``):
every array from that size up gets its own mapping, returned to the OS when it is freed, so
the RSS follows the live arrays. With glibc's default, a threshold that grows to the largest
block freed so far, big temporaries come from the heap, and its fragmentation made PyTorch's
peak vary from 35 to 53 MiB between identical processes (28 MiB every time when pinned);
``--default-malloc`` measures that way all the same.

If the high-water mark cannot be reset (not Linux, or a kernel without ``clear_refs``), the
worker falls back to ``ru_maxrss`` since the process started, an upper bound, and says so
in ``settings.peak_method``. Without ``/proc/self/statm`` there is no RSS baseline and only
the tracemalloc row is reported.

Usage (from the repository root)::

    python benchmarks/bench_memory.py                # 3 fresh processes per framework, ~15 s
    python benchmarks/bench_memory.py --quick        # one process each: a smoke test
    python benchmarks/bench_memory.py --threads 1 --json benchmarks/results/memory.json
    python benchmarks/bench_memory.py --no-torch     # scratchnet only
    python benchmarks/bench_memory.py --default-malloc   # glibc's dynamic mmap threshold

The options, machine description and JSON layout are those of ``bench_autograd.py``, from
the same ``harness.py``; the ``workloads`` rows (unit ``MiB``; median and spread over
the processes) are:

- ``conv_ae.step_peak``: peak RSS during a training step minus the baseline. Target:
  scratchnet / PyTorch at most 2.
- ``conv_ae.step_peak_tracemalloc``: the tracemalloc peak over its baseline (scratchnet
  only; ``pytorch`` is null). Informative.
- ``conv_ae.baseline_rss``: the whole process between steps (interpreter, libraries, model,
  optimiser state, batch). Informative: it is mostly the size of the libraries.

``per_process`` holds every worker's raw numbers (bytes) and losses. Missing the target is
reported, not an error: the exit status is 0 (1 if a worker fails).
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import gc
import importlib.util
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from harness import (  # benchmarks/harness.py: this folder is first on sys.path
    configure_threads,
    import_scratchnet,
    import_torch,
    load_average,
    machine_info,
    markdown_table,
    parse_args,
    print_checks_and_json,
    print_header,
    workload_row,
)

BATCH = 128
IMAGE_SHAPE = (1, 28, 28)
LR = 1e-3
SEED = 0
MEMORY_TARGET = 2.0  # scratchnet's step peak at most 2x PyTorch's
MIB = 2 ** 20
RESULT_MARKER = "BENCH_MEMORY_WORKER "  # prefixes the worker's one line of JSON
WORKER_TIMEOUT_S = 300
# glibc serves allocations from this size up with their own mmap and unmaps them when they are
# freed, so the RSS follows the live arrays. By default the threshold grows to the size of the
# largest block freed so far (up to 32 MiB), after which big arrays come from the heap, whose
# fragmentation made PyTorch's step peak vary from 35 to 53 MiB between identical processes
# (28 MiB, every time, with the threshold pinned). --default-malloc leaves it alone.
MMAP_THRESHOLD = 128 * 1024

# Per run: fresh processes per framework, measured steps, steps under tracemalloc.
FULL = {"processes": 3, "steps": 5, "tracemalloc_steps": 2}
QUICK = {"processes": 1, "steps": 2, "tracemalloc_steps": 1}


# --------------------------------------------------------------------------------------
# Reading the process's memory (Linux /proc, with fallbacks)
# --------------------------------------------------------------------------------------
def current_rss() -> int | None:
    """Resident set size in bytes, from /proc/self/statm; None where there is no /proc."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            resident_pages = int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


def reset_peak_rss() -> bool:
    """Reset the kernel's RSS high-water mark to the current RSS; False if it cannot."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
    except OSError:
        return False
    return True


def peak_rss() -> int:
    """The RSS high-water mark in bytes: VmHWM from /proc/self/status, else ru_maxrss."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss if sys.platform == "darwin" else maxrss * 1024  # bytes on macOS, KiB else


def trim_malloc() -> None:
    """Give the C heap's free pages back to the OS (glibc only; a no-op elsewhere)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        libc.malloc_trim(0)
    except (OSError, AttributeError, TypeError):
        pass


# --------------------------------------------------------------------------------------
# The model and one training step in each framework
# --------------------------------------------------------------------------------------
def make_batch(np: Any) -> Any:
    """The batch both frameworks train on: uniform grey levels in [0, 1), float32."""
    return np.random.default_rng(SEED).random((BATCH, *IMAGE_SHAPE), dtype=np.float32)


def scratchnet_model(sn: Any) -> Any:
    """Lesson 06's network (``models.conv_autoencoder``) with the mean squared error."""
    from scratchnet import models

    return models.conv_autoencoder(rng=SEED, loss="mse")


def scratchnet_step(sn: Any, model: Any, batch: Any) -> Any:
    """A function that runs one training step (Adam) and returns the loss."""
    from scratchnet import optim

    optimizer = optim.Adam(model.parameters(), lr=LR)
    x = sn.Tensor(batch)

    def step() -> float:
        optimizer.zero_grad()
        loss = model.loss(x)
        loss.backward()
        optimizer.step()
        return float(loss.item())

    return step


def torch_model(torch: Any, sn_model: Any) -> Any:
    """The same network in ``torch.nn``, holding a copy of scratchnet's initial weights.

    The "same" padding of the stride-2 transposed convolutions is PyTorch's usual
    ``padding=1, output_padding=1``: the same shapes and work as scratchnet's Keras-style
    "same", though the output is shifted by one pixel (see bench_conv.py).
    """
    from torch import nn

    def up(c_in: int, c_out: int) -> Any:
        return nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1)

    encoder = nn.Sequential(
        nn.ZeroPad2d(2),
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    )
    decoder = nn.Sequential(up(8, 8), nn.ReLU(), up(8, 16), nn.ReLU(), up(16, 1), nn.Sigmoid())
    model = nn.Sequential(encoder, decoder)
    ours = [p.data for p in sn_model.parameters()]
    theirs = list(model.parameters())
    if [tuple(p.shape) for p in theirs] != [a.shape for a in ours]:
        raise RuntimeError("bench_memory: the PyTorch network's parameters do not match "
                           "scratchnet's conv_autoencoder")
    with torch.no_grad():
        for p, array in zip(theirs, ours):
            p.copy_(torch.from_numpy(array.copy()))
    return model


def torch_step(torch: Any, model: Any, batch: Any) -> Any:
    """One training step of the PyTorch network: forward, crop 32×32 to 28×28, MSE, Adam."""
    import torch.nn.functional as TF

    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    x = torch.from_numpy(batch.copy())

    def step() -> float:
        optimizer.zero_grad()
        x_hat = model(x)[:, :, 2:-2, 2:-2]
        loss = TF.mse_loss(x_hat, x)
        loss.backward()
        optimizer.step()
        return float(loss.item())

    return step


def encoder_check(np: Any, sn: Any, torch: Any, sn_model: Any, t_model: Any,
                  batch: Any) -> dict[str, Any]:
    """From the same weights, both encoders must give the same code (the decoders differ by
    the one-pixel shift of the transposed convolutions' "same" padding)."""
    with sn.no_grad():
        ours = sn_model.encode(sn.Tensor(batch[:16])).data
    with torch.no_grad():
        theirs = t_model[0](torch.from_numpy(batch[:16].copy())).numpy()
    worst = float(np.abs(ours - theirs).max()) / (float(np.abs(theirs).max()) + 1e-30)
    return {"name": "encoder_matches_pytorch", "ok": ours.shape == theirs.shape and worst <= 1e-4,
            "detail": f"code {ours.shape}, largest difference {worst:.1e} of the largest value"}


# --------------------------------------------------------------------------------------
# The worker: one framework, one fresh process
# --------------------------------------------------------------------------------------
def measure(step: Any, steps: int, tracemalloc_steps: int) -> dict[str, Any]:
    """Run the warm-up step, take the baseline, run ``steps`` steps; the raw numbers."""
    losses = [step()]  # warm-up: creates the gradients and the optimiser's state
    gc.collect()
    trim_malloc()
    baseline = current_rss()
    resettable = reset_peak_rss()
    for _ in range(steps):
        losses.append(step())
    peak = peak_rss()
    result = {"baseline_rss": baseline, "peak_rss": peak,
              "step_peak": None if baseline is None else peak - baseline,
              "peak_method": "clear_refs" if resettable else "ru_maxrss (upper bound)",
              "step_peak_tracemalloc": None}
    if tracemalloc_steps:
        import tracemalloc

        tracemalloc.start()
        losses.append(step())  # the first traced step: tracemalloc's own tables settle
        gc.collect()
        tracemalloc.reset_peak()
        traced_baseline = tracemalloc.get_traced_memory()[0]
        for _ in range(tracemalloc_steps):
            losses.append(step())
        result["step_peak_tracemalloc"] = tracemalloc.get_traced_memory()[1] - traced_baseline
        tracemalloc.stop()
    result["losses"] = losses
    return result


def run_worker(framework: str, threads: int, quick: bool) -> dict[str, Any]:
    """Build ``framework``'s model, measure its training step, return the raw numbers."""
    import numpy as np  # after configure_threads (main), so the BLAS thread count applies

    sn = import_scratchnet()
    sn.set_default_dtype(np.float32)
    plan = QUICK if quick else FULL
    batch = make_batch(np)
    sn_model = scratchnet_model(sn)
    checks: list[dict[str, Any]] = []
    info: dict[str, Any] = {"framework": framework, "pid": os.getpid()}
    if framework == "scratchnet":
        step = scratchnet_step(sn, sn_model, batch)
        info["parameters"] = sn_model.num_parameters()
        traced = plan["tracemalloc_steps"]
    else:
        torch = import_torch(threads, skip=False)
        if torch is None:
            raise SystemExit("bench_memory: --worker pytorch needs PyTorch installed")
        t_model = torch_model(torch, sn_model)
        checks.append(encoder_check(np, sn, torch, sn_model, t_model, batch))
        step = torch_step(torch, t_model, batch)
        info.update(parameters=sum(p.numel() for p in t_model.parameters()),
                    torch=torch.__version__, torch_threads=torch.get_num_threads())
        traced = 0  # PyTorch's allocator does not report to tracemalloc
    result = measure(step, plan["steps"], traced)
    losses = result["losses"]
    checks.append({"name": f"{framework}.loss_finite_and_decreasing",
                   "ok": bool(np.isfinite(losses).all()) and losses[-1] < losses[0],
                   "detail": f"MSE {losses[0]:.5f} at the first step, {losses[-1]:.5f} "
                             f"after {len(losses) - 1} more"})
    return {**info, **result, "checks": checks}


# --------------------------------------------------------------------------------------
# The parent: fresh workers, then the report
# --------------------------------------------------------------------------------------
def worker_environment(default_malloc: bool) -> dict[str, str]:
    """The workers' environment: ours, with glibc's mmap threshold pinned (see MMAP_THRESHOLD)."""
    env = dict(os.environ)
    if not default_malloc:
        env["MALLOC_MMAP_THRESHOLD_"] = str(MMAP_THRESHOLD)
    return env


def spawn_worker(framework: str, threads: int, quick: bool, env: dict[str, str]
                 ) -> dict[str, Any]:
    """Run ``bench_memory.py --worker framework`` in a fresh interpreter; its result."""
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", framework,
               "--threads", str(threads)] + (["--quick"] if quick else [])
    done = subprocess.run(command, capture_output=True, text=True, timeout=WORKER_TIMEOUT_S,
                          check=False, env=env)
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_MARKER)]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"bench_memory: the {framework} worker failed (exit status "
                         f"{done.returncode}):\n{done.stderr.strip()[-3000:]}")
    return json.loads(lines[-1][len(RESULT_MARKER):])


def result_rows(runs: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The ``workloads`` rows (MiB) from the workers' raw numbers (bytes)."""
    def samples(key: str) -> dict[str, list[float]]:
        return {fw: [r[key] for r in results] for fw, results in runs.items()
                if all(r[key] is not None for r in results)}

    rows = []
    step_peak = samples("step_peak")
    if "scratchnet" in step_peak:
        rows.append(workload_row("conv_ae.step_peak", "MiB", 1 / MIB, step_peak,
                                 MEMORY_TARGET))
    traced = samples("step_peak_tracemalloc")
    if "scratchnet" in traced:
        rows.append(workload_row("conv_ae.step_peak_tracemalloc", "MiB", 1 / MIB, traced, None))
    baseline = samples("baseline_rss")
    if "scratchnet" in baseline:
        rows.append(workload_row("conv_ae.baseline_rss", "MiB", 1 / MIB, baseline, None))
    return rows


def _worker_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--worker", choices=("scratchnet", "pytorch"), default=None,
                        help="internal: measure one framework in this process and print "
                             "its raw numbers as one line of JSON")
    parser.add_argument("--default-malloc", action="store_true",
                        help="leave glibc's mmap threshold dynamic in the workers (the "
                             f"default pins it at {MMAP_THRESHOLD // 1024} KiB, so the RSS "
                             "follows the live arrays)")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv, "Peak memory of one training step of lesson 06's convolutional "
                            "autoencoder (batch 128, MSE, Adam), scratchnet against PyTorch "
                            "CPU, each measured in a fresh process.",
                      quick_help="a few-second smoke run: one process per framework, "
                                 "fewer steps",
                      add_arguments=_worker_arguments)
    threads = configure_threads(args.threads)
    if args.worker is not None:
        result = run_worker(args.worker, threads, args.quick)
        print(RESULT_MARKER + json.dumps(result))
        return 0

    import numpy as np  # after configure_threads, so the BLAS thread count applies

    sn = import_scratchnet()
    with_torch = not args.no_torch and importlib.util.find_spec("torch") is not None
    frameworks = ["scratchnet"] + (["pytorch"] if with_torch else [])
    plan = QUICK if args.quick else FULL
    load_before = load_average()
    began = time.perf_counter()
    env = worker_environment(args.default_malloc)
    runs: dict[str, list[dict[str, Any]]] = {fw: [] for fw in frameworks}
    for _ in range(plan["processes"]):  # alternate the frameworks, one fresh process each
        for fw in frameworks:
            runs[fw].append(spawn_worker(fw, threads, args.quick, env))

    machine = machine_info(np, sn, None)  # torch is only imported by its workers
    if with_torch:
        machine.update(torch=runs["pytorch"][0]["torch"],
                       torch_threads=runs["pytorch"][0]["torch_threads"])
    checks = [check for fw in frameworks for check in runs[fw][0]["checks"]]
    if with_torch:
        ours, theirs = runs["scratchnet"][0]["parameters"], runs["pytorch"][0]["parameters"]
        checks.append({"name": "same_parameter_count", "ok": ours == theirs,
                       "detail": f"scratchnet {ours}, pytorch {theirs}"})
    rows = result_rows(runs)
    result = {
        "schema": 1,
        "machine": {**machine, "load_average_1min": {"before": load_before,
                                                     "after": load_average()}},
        "threads": threads,
        "quick": args.quick,
        "settings": {"model": "models.conv_autoencoder (lesson 06)", "loss": "mse",
                     "optimizer": "adam", "lr": LR, "batch": BATCH,
                     "input": [BATCH, *IMAGE_SHAPE], "dtype": "float32",
                     "data": f"uniform [0, 1), seed {SEED}",
                     "parameters": runs["scratchnet"][0]["parameters"],
                     "peak_method": runs["scratchnet"][0]["peak_method"],
                     "baseline": "after one warm-up step, gc.collect() and malloc_trim(0)",
                     "malloc": ("glibc defaults" if args.default_malloc else
                                f"MALLOC_MMAP_THRESHOLD_={MMAP_THRESHOLD}"),
                     **plan},
        "checks": checks,
        "workloads": rows,
        "per_process": {fw: [{k: r[k] for k in ("baseline_rss", "peak_rss", "step_peak",
                                                "step_peak_tracemalloc", "losses")}
                             for r in results] for fw, results in runs.items()},
        "elapsed_s": round(time.perf_counter() - began, 2),
    }

    print_header("memory benchmark", result["machine"], threads, args)
    print()
    print(markdown_table(rows))
    print()
    print(f"lesson 06's conv autoencoder ({result['settings']['parameters']:,} parameters), "
          f"batch {BATCH}, float32, MSE, Adam; each framework in {plan['processes']} fresh "
          f"process(es). step_peak: peak RSS over {plan['steps']} training steps minus the "
          "RSS between steps (after a warm-up step); tracemalloc: NumPy's buffers, "
          "scratchnet only; baseline_rss: the whole process between steps.")
    print(f"ratio = scratchnet / PyTorch (lower is better); target: step peak "
          f"≤ {MEMORY_TARGET:g}× PyTorch's.")
    print_checks_and_json(checks, result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
