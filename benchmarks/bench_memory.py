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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bench_models  # the workloads: builders, PyTorch twins, checks, settings
from harness import (  # benchmarks/harness.py: this folder is first on sys.path
    LoadMonitor,
    configure_threads,
    import_scratchnet,
    import_torch,
    machine_info,
    markdown_table,
    parse_args,
    print_checks_and_json,
    print_header,
    workload_row,
)

MODELS = ("conv_ae", "vae", "dcgan")
MEMORY_TARGETS = {"conv_ae": 1.3}  # step peak at most 1.3x PyTorch's; the others: reported
MIB = 2 ** 20
RESULT_MARKER = "BENCH_MEMORY_WORKER "  # prefixes the worker's one line of JSON
WORKER_TIMEOUT_S = 300
# glibc serves allocations from this size up with their own mmap and unmaps them when they are
# freed, so the RSS follows the live arrays. By default the threshold grows to the size of the
# largest block freed so far (up to 32 MiB), after which big arrays come from the heap, whose
# fragmentation made PyTorch's step peak vary from 35 to 53 MiB between identical processes
# (28 MiB, every time, with the threshold pinned). --default-malloc leaves it alone.
MMAP_THRESHOLD = 128 * 1024

# Per run: rounds of fresh processes, measured steps, steps under tracemalloc.
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
# The workloads: bench_models' training steps, one framework at a time
# --------------------------------------------------------------------------------------
def scratchnet_workload(model: str, np: Any, sn: Any, data: dict[str, Any]
                        ) -> tuple[Any, Callable[[], Any]]:
    """bench_models' scratchnet model (the GAN for "dcgan") and its training step."""
    if model == "conv_ae":
        return bench_models.scratchnet_conv_ae(sn, data["conv_ae"])
    if model == "vae":
        return bench_models.scratchnet_vae(sn, np, data["vae"])
    return bench_models.scratchnet_dcgan(sn, np, data["dcgan"])


def torch_workload(model: str, np: Any, sn: Any, torch: Any, sn_model: Any,
                   data: dict[str, Any]) -> tuple[Any, Callable[[], Any]]:
    """bench_models' PyTorch twin of ``sn_model`` (its weights copied) and its step."""
    if model == "conv_ae":
        return bench_models.torch_conv_ae(np, sn, torch, sn_model, data["conv_ae"])
    if model == "vae":
        return bench_models.torch_vae(sn, np, torch, sn_model, data["vae"])
    return bench_models.torch_dcgan(np, sn, torch, sn_model, data["dcgan"])


CHECKS = {"conv_ae": bench_models.check_conv_ae, "vae": bench_models.check_vae,
          "dcgan": bench_models.check_dcgan}  # each (np, sn, torch, batch) -> [check, ...]


def torch_parameter_count(t_model: Any) -> int:
    """Trainable scalars of a PyTorch model, or of a (generator, discriminator) pair."""
    parts = t_model if isinstance(t_model, tuple) else (t_model,)
    return sum(p.numel() for part in parts for p in part.parameters())


def loss_check(np: Any, framework: str, model: str, losses: list[Any]) -> dict[str, Any]:
    """Every loss finite; an autoencoder's or VAE's lower after the steps than before (a
    GAN's two losses need not go down)."""
    if model == "dcgan":
        values = [value for step in losses for value in step.values()]
        return {"name": f"{model}.{framework}.losses_finite",
                "ok": bool(np.isfinite(values).all()),
                "detail": f"{len(losses)} steps, first " + ", ".join(
                    f"{key} {value:.4f}" for key, value in losses[0].items())}
    return {"name": f"{model}.{framework}.loss_finite_and_decreasing",
            "ok": bool(np.isfinite(losses).all()) and losses[-1] < losses[0],
            "detail": f"loss {losses[0]:.5f} at the first step, {losses[-1]:.5f} "
                      f"after {len(losses) - 1} more"}


# --------------------------------------------------------------------------------------
# The worker: one framework, one workload, one fresh process
# --------------------------------------------------------------------------------------
def measure(step: Callable[[], Any], steps: int, tracemalloc_steps: int) -> dict[str, Any]:
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


def run_worker(framework: str, model: str, threads: int, quick: bool) -> dict[str, Any]:
    """Build ``framework``'s ``model``, measure its training step, return the raw numbers."""
    import numpy as np  # after configure_threads (main), so the BLAS thread count applies

    sn = import_scratchnet()
    sn.set_default_dtype(np.float32)
    plan = QUICK if quick else FULL
    data = bench_models.load_data(np, sn)
    sn_model, step = scratchnet_workload(model, np, sn, data)
    checks: list[dict[str, Any]] = []
    info: dict[str, Any] = {"framework": framework, "model": model, "pid": os.getpid()}
    if framework == "scratchnet":
        info["parameters"] = sn_model.num_parameters()
        traced = plan["tracemalloc_steps"]
    else:
        torch = import_torch(threads, skip=False)
        if torch is None:
            raise SystemExit("bench_memory: --worker pytorch needs PyTorch installed")
        checks += CHECKS[model](np, sn, torch, data[model])
        # The scratchnet model only lends its initial weights to its twin, whose step is measured.
        t_model, step = torch_workload(model, np, sn, torch, sn_model, data)
        info.update(parameters=torch_parameter_count(t_model), torch=torch.__version__,
                    torch_threads=torch.get_num_threads())
        traced = 0  # PyTorch's allocator does not report to tracemalloc
    result = measure(step, plan["steps"], traced)
    checks.append(loss_check(np, framework, model, result["losses"]))
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


def spawn_worker(framework: str, model: str, threads: int, quick: bool, env: dict[str, str]
                 ) -> dict[str, Any]:
    """Run ``bench_memory.py --worker framework --model model`` in a fresh interpreter."""
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", framework,
               "--model", model, "--threads", str(threads)] + (["--quick"] if quick else [])
    done = subprocess.run(command, capture_output=True, text=True, timeout=WORKER_TIMEOUT_S,
                          check=False, env=env)
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_MARKER)]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"bench_memory: the {framework} worker for {model} failed (exit "
                         f"status {done.returncode}):\n{done.stderr.strip()[-3000:]}")
    return json.loads(lines[-1][len(RESULT_MARKER):])


def samples_of(by_framework: dict[str, list[dict[str, Any]]], key: str
               ) -> dict[str, list[float]]:
    """{framework: [the workers' ``key``, ...]}, leaving out a framework that lacks it."""
    return {fw: [r[key] for r in results] for fw, results in by_framework.items()
            if all(r[key] is not None for r in results)}


def result_rows(runs: dict[str, dict[str, list[dict[str, Any]]]]) -> list[dict[str, Any]]:
    """The ``workloads`` rows (MiB) from the workers' raw numbers (bytes), by workload."""
    rows = []
    for model, by_framework in runs.items():
        for key, target, headline in (("step_peak", MEMORY_TARGETS.get(model), True),
                                      ("step_peak_tracemalloc", None, False),
                                      ("baseline_rss", None, False)):
            found = samples_of(by_framework, key)
            if "scratchnet" in found:
                rows.append(workload_row(f"{model}.{key}", "MiB", 1 / MIB, found, target,
                                         headline))
    return rows


def _worker_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--worker", choices=("scratchnet", "pytorch"), default=None,
                        help="internal: measure one framework in this process and print "
                             "its raw numbers as one line of JSON")
    parser.add_argument("--model", choices=MODELS, default=MODELS[0],
                        help="internal, with --worker: the workload to measure")
    parser.add_argument("--default-malloc", action="store_true",
                        help="leave glibc's mmap threshold dynamic in the workers (the "
                             f"default pins it at {MMAP_THRESHOLD // 1024} KiB, so the RSS "
                             "follows the live arrays)")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv, "Peak memory of one training step of the conv autoencoder, the "
                            "MLP VAE and the DCGAN (bench_models.py's steps), scratchnet "
                            "against PyTorch CPU, each measured in a fresh process.",
                      quick_help="a smoke run: one process per workload and framework, "
                                 "fewer steps",
                      add_arguments=_worker_arguments)
    threads = configure_threads(args.threads)
    if args.worker is not None:
        result = run_worker(args.worker, args.model, threads, args.quick)
        print(RESULT_MARKER + json.dumps(result))
        return 0

    import numpy as np  # after configure_threads, so the BLAS thread count applies

    sn = import_scratchnet()
    with_torch = not args.no_torch and importlib.util.find_spec("torch") is not None
    frameworks = ["scratchnet"] + (["pytorch"] if with_torch else [])
    plan = QUICK if args.quick else FULL
    monitor = LoadMonitor("bench_memory", "the memory figures do not depend on it, but "
                                          "the run is marked NOISY")
    began = time.perf_counter()
    env = worker_environment(args.default_malloc)
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {
        model: {fw: [] for fw in frameworks} for model in MODELS}
    for round_ in range(plan["processes"]):  # frameworks in turn, one fresh process each
        for model in MODELS:
            for fw in frameworks:
                runs[model][fw].append(spawn_worker(fw, model, threads, args.quick, env))
                monitor.mark(f"{model} {fw} process {round_ + 1}")
    noise = monitor.finish()

    machine = machine_info(np, sn, None)  # torch is only imported by its workers
    if with_torch:
        first = runs[MODELS[0]]["pytorch"][0]
        machine.update(torch=first["torch"], torch_threads=first["torch_threads"])
    checks = [check for model in MODELS for fw in frameworks
              for check in runs[model][fw][0]["checks"]]
    parameters = {model: runs[model]["scratchnet"][0]["parameters"] for model in MODELS}
    if with_torch:
        for model in MODELS:
            theirs = runs[model]["pytorch"][0]["parameters"]
            checks.append({"name": f"{model}.same_parameter_count",
                           "ok": parameters[model] == theirs,
                           "detail": f"scratchnet {parameters[model]}, pytorch {theirs}"})
    rows = result_rows(runs)
    result = {
        "schema": 2,
        "machine": {**machine, **monitor.machine_fields(noise)},
        "threads": threads,
        "quick": args.quick,
        "noisy": noise["noisy"],
        "noise": noise,
        "settings": {"models": {model: bench_models.MODEL_SETTINGS[model] for model in MODELS},
                     "parameters": parameters, "dtype": "float32",
                     "data": "bundled MNIST training split (first images of it), as "
                             "bench_models.py",
                     "peak_method": runs[MODELS[0]]["scratchnet"][0]["peak_method"],
                     "baseline": "after one warm-up step, gc.collect() and malloc_trim(0)",
                     "malloc": ("glibc defaults" if args.default_malloc else
                                f"MALLOC_MMAP_THRESHOLD_={MMAP_THRESHOLD}"),
                     "targets": {f"{model}.step_peak": MEMORY_TARGETS.get(model)
                                 for model in MODELS},
                     **plan},
        "checks": checks,
        "workloads": rows,
        "per_process": {model: {fw: [{k: r[k] for k in (
            "baseline_rss", "peak_rss", "step_peak", "step_peak_tracemalloc", "losses")}
            for r in results] for fw, results in by_framework.items()}
            for model, by_framework in runs.items()},
        "elapsed_s": round(time.perf_counter() - began, 2),
    }

    print_header("memory benchmark", result["machine"], threads, args, noise)
    print()
    print(markdown_table(rows))
    print()
    sizes = ", ".join(f"{model} {parameters[model]:,}" for model in MODELS)
    print(f"bench_models.py's training steps, float32, Adam (parameters: {sizes}); each "
          f"workload and framework in {plan['processes']} fresh process(es). step_peak: "
          f"peak RSS over {plan['steps']} training steps minus the RSS between steps (after "
          "a warm-up step); tracemalloc: NumPy's buffers, scratchnet only; baseline_rss: "
          "the whole process between steps.")
    print("ratio = scratchnet / PyTorch, the median over the rounds of processes (lower is "
          "better); target: conv_ae step peak "
          f"≤ {MEMORY_TARGETS['conv_ae']:g}× PyTorch's; vae and dcgan: reported.")
    print_checks_and_json(checks, result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
