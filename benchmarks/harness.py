"""The benchmark harness: what every ``bench_*.py`` script of this folder shares.

A benchmark is only worth reading if it is fair and repeatable, and the scripts earn that
the same way, so the way lives here once rather than in each script:

- **Set-up.** :func:`parse_args` gives every script the same options (``--threads``,
  ``--quick``, ``--json``, ``--no-torch``) plus its own; :func:`configure_threads` pins the
  BLAS thread count *before* NumPy is imported (it is read only once, at import);
  :func:`import_scratchnet` prefers the checkout next to this folder to an installed copy;
  :func:`import_torch` gives PyTorch the same number of threads, or None.
- **The machine.** :func:`machine_info` records the CPU and library versions;
  :func:`warn_if_busy` and :func:`run_conditions` record how busy the machine was before
  and after, since a busy machine is the commonest reason for a surprising timing.
- **Timing.** :func:`run_blocks` times the frameworks in alternating blocks after warm-up
  runs (its docstring says why blocks and not single runs), as laid out by a :class:`Plan`;
  :func:`summarize` reduces the samples to a median and quartiles.
- **Reporting.** :func:`workload_row` and :func:`markdown_table` give the ``workloads`` rows
  of the JSON and their table; :func:`print_header` and :func:`print_checks_and_json` print
  the report; :func:`write_json_atomically` writes the JSON so that a reader never sees half.

Rows that compare results rather than times (a log-likelihood against PyTorch's) are built
by ``comparison.py`` instead. The scripts import this module as ``harness``: running
``python benchmarks/bench_x.py`` puts this folder first on ``sys.path``.
"""

from __future__ import annotations

import argparse
import gc
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


class Plan(NamedTuple):
    """How one workload is timed for each framework; see :func:`run_blocks`."""

    warmup: int  # untimed runs at the start of every block
    repeats: int  # timed runs in all (at most)
    rounds: int  # blocks per framework, alternating with the other framework's
    budget_s: float  # timed seconds per framework, at most (about)



# --------------------------------------------------------------------------------------
# Set-up: threads first (before NumPy is imported), then the frameworks.
# --------------------------------------------------------------------------------------
def available_cores() -> int:
    """The cores this process may run on (its CPU affinity), else every core."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def parse_args(argv: list[str] | None, description: str,
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
            warnings.warn("configure_threads: NumPy was imported before --threads was "
                          "applied; its BLAS may use a different number of threads",
                          stacklevel=2)
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
    """PyTorch with ``threads`` intra-op threads, or None if ``skip`` or not installed."""
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
    """The JSON's "machine": CPU, cores, and the versions (and BLAS) the numbers come from."""
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
    """Median, quartiles, minimum and maximum of at least one sample."""
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
# Reporting
# --------------------------------------------------------------------------------------
def workload_row(name: str, unit: str, scale: float, samples: dict[str, list[float]],
                 target: float | None) -> dict[str, Any]:
    """One ``workloads`` row of the JSON from {framework: [seconds, ...]}.

    Each sample is multiplied by ``scale`` (e.g. 1e3 for milliseconds); ``ratio`` is
    scratchnet's median over PyTorch's, None without PyTorch, and ``meets_target`` says
    whether it is at most ``target`` (None when either is missing).
    """
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
    """Three significant digits, or a whole number from 100 on."""
    return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"


def _cell(median: float | None, spread: dict[str, float] | None) -> str:
    """A table cell "median [q1–q3]", or "n/a" for a framework that did not run."""
    if median is None or spread is None:
        return "n/a"
    return f"{_fmt(median)} [{_fmt(spread['q1'])}–{_fmt(spread['q3'])}]"


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """The :func:`workload_row` rows as a markdown table, scratchnet against PyTorch."""
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
    """Write ``payload`` as JSON to ``path`` through a temporary file and a rename, so that
    an interrupted run leaves the old file or none, never half a file."""
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


