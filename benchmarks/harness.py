"""The benchmark harness: what every ``bench_*.py`` script of this folder shares.

A benchmark is only worth reading if it is fair and repeatable, and the scripts earn that
the same way, so the way lives here once rather than in each script:

- **Set-up.** :func:`parse_args` gives every script the same options (``--threads``,
  ``--quick``, ``--json``, ``--no-torch``) plus its own; :func:`configure_threads` pins the
  BLAS thread count *before* NumPy is imported (it is read only once, at import);
  :func:`import_scratchnet` prefers the checkout next to this folder to an installed copy;
  :func:`import_torch` gives PyTorch the same number of threads, or None.
- **The machine.** :func:`machine_info` records the CPU and library versions; a
  :class:`LoadMonitor` measures how many cores other processes keep busy, before the run
  and workload by workload during it, warns on stderr, and gives the verdict of
  :func:`noise_verdict`: a run is *noisy*, and its numbers not for publishing, when other
  processes kept more than :data:`BUSY_LIMIT_CORES` busy (the constant says why).
- **Timing.** :func:`run_interleaved` times the frameworks run by run in turn (scratchnet,
  PyTorch, scratchnet, ...) after warm-up runs, as laid out by a :class:`Plan`;
  :func:`summarize` reduces samples to a median and quartiles, and :func:`pair_ratios`
  divides each scratchnet run by the reference run that followed it.
- **Reporting.** :func:`workload_row` and :func:`markdown_table` give the ``workloads`` rows
  of the JSON (each ratio the median of the per-pair ratios) and their table;
  :func:`print_header` and :func:`print_checks_and_json` print the report, the header
  saying NOISY where the run was; :func:`write_json_atomically` writes the JSON so that a
  reader never sees half.

Rows that compare results rather than times (a log-likelihood against PyTorch's) are built
by ``comparison.py`` instead. The scripts import this module as ``harness``: running
``python benchmarks/bench_x.py`` puts this folder first on ``sys.path``.
"""

from __future__ import annotations

import argparse
import ctypes
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


# A run counts as quiet only if other processes keep at most this many cores busy, on
# average, in the second before it starts, over the whole run, and during each workload
# that lasts a second or more. Why so strict: the machine these numbers come from has 2
# cores and shares them with other jobs. At 2 threads any other process takes a core
# from one of ours; at 1 thread it still shares the caches and the memory bandwidth.
# Nor does the load hit both sides alike: PyTorch's threads wait for each other at every
# parallel region and lose more to a stolen core than NumPy's calls do, so a busy machine
# flatters scratchnet (the README once showed 0.88x for a conv-AE step that takes 1.4x
# on a quiet machine). A quiet 2-core VM's background (the shell, the kernel's threads,
# the hypervisor's steal) stays well under 0.3 cores.
BUSY_LIMIT_CORES = 0.3
BEFORE_SAMPLE_S = 1.0  # how long the load is sampled before a run
MIN_SEGMENT_S = 1.0  # shorter workloads are judged only as part of the whole run
# After a parallel region, OpenBLAS's and PyTorch's OpenMP worker threads spin for a while
# before they sleep; with more than one thread, the framework that runs next would fight
# the other's spinning threads for the cores, so run_interleaved waits this long between
# runs, outside the timing. Measured on 2 cores at 2 threads, with three MLP-sized matrix
# products alternating between NumPy and PyTorch: PyTorch's took 13.5-15.8 ms right after
# NumPy's, 10-14 ms after a 0.02 s pause, 6.2-6.4 ms after 0.1 s (as after 0.2 or 0.4 s).
SWITCH_PAUSE_S = 0.1


class Plan(NamedTuple):
    """How one workload is timed; see :func:`run_interleaved`."""

    warmup: int  # untimed runs of each framework before the timed ones
    repeats: int  # timed pairs (one run of each framework) at most
    budget_s: float  # wall seconds of timed pairs, about; at least MIN_PAIRS pairs run


MIN_PAIRS = 2  # a median of one pair would say nothing about the spread


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
                 args: argparse.Namespace, noise: dict[str, Any] | None = None) -> None:
    """The first lines of a benchmark's report: what ran, where, with which libraries,
    and, for a noisy run (see :func:`noise_verdict`), a line saying so and why."""
    torch_note = machine["torch"] or ("skipped (--no-torch)" if args.no_torch
                                      else "not installed")
    print(f"# scratchnet {title} — {machine['cpu']}, {threads} thread(s), "
          f"numpy {machine['numpy']} ({machine['blas']}), torch {torch_note}"
          + (", --quick" if args.quick else ""))
    if noise is not None and noise["noisy"]:
        print(noise_line(noise))


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
    """Pin the BLAS thread count; it only takes effect if NumPy is not imported yet.

    Through the environment rather than threadpoolctl (which the lessons use): threadpoolctl
    limits only the libraries already loaded, and a benchmark loads more afterwards (SciPy's
    own OpenBLAS under scikit-learn, PyTorch's OpenMP) and starts worker processes.
    """
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


def load_average() -> float | None:
    """The 1-minute load average, or None where the OS has none."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


# glibc's mallopt parameters (malloc.h) and the values the timing scripts pin them at.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
PINNED_MMAP_THRESHOLD = 32 * 2**20  # glibc's largest allowed value on 64-bit systems
PINNED_TRIM_THRESHOLD = 256 * 2**20


def pin_allocator() -> str:
    """Fix glibc's malloc thresholds for this process; say what the allocator does.

    By default glibc adapts one threshold per process: a large block freed raises the size
    from which blocks get their own mapping, returned to the system when freed and faulted
    back in when allocated again. Both frameworks run in one process here, so each one's
    frees moved the other's costs: PyTorch's conv-autoencoder step measured 27 to 45 ms
    from run to run, depending on what scratchnet had freed before it. Pinned, neither
    pays page faults the other caused (arrays over 32 MiB still get their own mapping).
    A script of your own gets the same with the environment variables
    ``MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=268435456``.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return "default (not glibc)"
    if not (libc.mallopt(_M_MMAP_THRESHOLD, PINNED_MMAP_THRESHOLD)
            and libc.mallopt(_M_TRIM_THRESHOLD, PINNED_TRIM_THRESHOLD)):
        return "default (mallopt refused)"
    return (f"glibc, mmap threshold pinned at {PINNED_MMAP_THRESHOLD // 2**20} MiB, "
            f"trim threshold at {PINNED_TRIM_THRESHOLD // 2**20} MiB")


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
# The machine's load: how many cores other processes keep busy, and the verdict
# --------------------------------------------------------------------------------------
class CpuSample(NamedTuple):
    """One reading of the machine's CPU counters and of this process's own CPU time."""

    wall: float  # time.monotonic(), seconds
    busy_ticks: int  # every core's non-idle time in /proc/stat (steal included), in ticks
    total_ticks: int  # every core's time in /proc/stat, in ticks
    own_cpu: float  # CPU seconds of this process (all its threads) and its finished children


def cpu_sample() -> CpuSample | None:
    """Read the counters (Linux /proc/stat); None where there are none."""
    try:
        with open("/proc/stat", encoding="utf-8") as f:
            # user nice system idle iowait irq softirq steal (guest time is inside user)
            ticks = [int(v) for v in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    if len(ticks) < 4:
        return None
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    times = os.times()
    own = time.process_time() + times.children_user + times.children_system
    return CpuSample(time.monotonic(), sum(ticks) - idle, sum(ticks), own)


def others_busy(first: CpuSample | None, last: CpuSample | None,
                cores: int | None = None) -> float | None:
    """How many cores other processes kept busy between two samples, on average.

    The machine's busy fraction times its cores, minus what this process (and the children
    it has waited for) used in the meantime; None without samples or time between them.
    """
    if first is None or last is None:
        return None
    ticks, seconds = last.total_ticks - first.total_ticks, last.wall - first.wall
    if ticks <= 0 or seconds <= 0:
        return None
    cores = cores or os.cpu_count() or 1
    machine = (last.busy_ticks - first.busy_ticks) / ticks * cores
    own = (last.own_cpu - first.own_cpu) / seconds
    return round(max(0.0, machine - own), 2)


def noise_verdict(before: float | None, during: float | None, segments: list[dict[str, Any]],
                  limit: float = BUSY_LIMIT_CORES) -> dict[str, Any]:
    """Whether a run was noisy, and why: the JSON's ``noise``.

    ``before`` and ``during`` are the cores other processes kept busy before the run and
    over all of it; ``segments`` are its workloads, {"label", "seconds", "busy_cores"}. The
    run is noisy if ``before``, ``during`` or a segment lasting at least ``MIN_SEGMENT_S``
    exceeds ``limit`` (shorter ones are too few clock ticks to judge alone), or if the load
    could not be measured: a quiet machine cannot be vouched for.
    """
    reasons = []
    if before is None or during is None:
        reasons.append("the load could not be measured (no /proc/stat)")
    if before is not None and before > limit:
        reasons.append(f"other processes kept {before:g} cores busy before the run")
    if during is not None and during > limit:
        reasons.append(f"other processes kept {during:g} cores busy during the run, "
                       "on average")
    judged = [s for s in segments
              if s["seconds"] >= MIN_SEGMENT_S and s["busy_cores"] is not None]
    busy = [s for s in judged if s["busy_cores"] > limit]
    if busy:
        worst = max(busy, key=lambda s: s["busy_cores"])
        reasons.append(f"other processes kept more than {limit:g} cores busy during "
                       f"{len(busy)} of {len(judged)} workloads (the most, "
                       f"{worst['busy_cores']:g}, during {worst['label']})")
    return {"noisy": bool(reasons), "reasons": reasons, "limit_busy_cores": limit,
            "busy_cores": {"before": before, "during": during}, "segments": segments}


def noise_line(noise: dict[str, Any]) -> str:
    """The line a noisy run's report starts with: NOISY, why, and not for the README."""
    return (f"# NOISY: not for the README — {'; '.join(noise['reasons'])} "
            f"(limit {noise['limit_busy_cores']:g})")


class LoadMonitor:
    """Watches how busy other processes keep the machine while a benchmark runs.

    Made just before the measurements: it samples the load for ``BEFORE_SAMPLE_S`` while
    this process sleeps, and warns on stderr if other processes kept more than
    ``BUSY_LIMIT_CORES`` busy. Call :meth:`mark` after each workload (its label names the
    segment since the previous mark; a busy one of at least ``MIN_SEGMENT_S`` is warned
    about at once) and :meth:`finish` at the end, for the JSON's ``noise``. Reading the
    counters takes microseconds and no thread, so it cannot disturb the timing.
    """

    def __init__(self, script: str, consequence: str = "timings will be noisy, and "
                 "PyTorch's threads suffer more than NumPy's",
                 sample: Callable[[], CpuSample | None] = cpu_sample,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.script, self.consequence, self._sample = script, consequence, sample
        self.load_average_before = load_average()
        first = sample()
        sleep(BEFORE_SAMPLE_S)
        self._start = self._last = sample()
        self.before = others_busy(first, self._start)
        self.segments: list[dict[str, Any]] = []
        if self.before is not None and self.before > BUSY_LIMIT_CORES:
            self._warn(f"other processes keep {self.before:g} of {os.cpu_count()} cores "
                       "busy")

    def _warn(self, what: str) -> None:
        """Say on stderr what was busy; the consequence only the first time."""
        consequence, self.consequence = self.consequence, ""
        print(f"{self.script}: {what} (limit {BUSY_LIMIT_CORES:g})"
              + (f"; {consequence}" if consequence else ""), file=sys.stderr)

    def mark(self, label: str) -> None:
        """Close the segment since the previous mark (or the start) as ``label``."""
        now = self._sample()
        busy = others_busy(self._last, now)
        seconds = 0.0 if now is None or self._last is None else now.wall - self._last.wall
        self.segments.append({"label": label, "seconds": round(seconds, 2),
                              "busy_cores": busy})
        if seconds >= MIN_SEGMENT_S and busy is not None and busy > BUSY_LIMIT_CORES:
            self._warn(f"other processes kept {busy:g} cores busy during {label}")
        self._last = now

    def finish(self) -> dict[str, Any]:
        """The verdict (:func:`noise_verdict`) with the load averages; warns if noisy."""
        during = others_busy(self._start, self._sample())
        noise = noise_verdict(self.before, during, self.segments)
        noise["load_average_1min"] = {"before": self.load_average_before,
                                      "after": load_average()}
        if noise["noisy"]:
            print(f"{self.script}: NOISY run, not for the README: "
                  f"{'; '.join(noise['reasons'])} (limit {BUSY_LIMIT_CORES:g})",
                  file=sys.stderr)
        return noise

    def machine_fields(self, noise: dict[str, Any]) -> dict[str, Any]:
        """For the JSON's "machine", as before the verdict existed: the cores other
        processes kept busy before the run, and the load averages."""
        return {"busy_cores_before": self.before,
                "load_average_1min": noise["load_average_1min"]}


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


def run_interleaved(runners: dict[str, Callable[[], dict[str, float]]], plan: Plan,
                    threads: int = 1) -> dict[str, dict[str, list[float]]]:
    """Time the runners in turn, one run each per repeat: scratchnet, PyTorch, scratchnet, ...

    A runner returns {phase: seconds}; the result is {framework: {phase: [seconds, ...]}},
    the i-th sample of every framework from the i-th repeat, so that :func:`pair_ratios`
    can divide each run by its neighbour: whatever slows the machine for a moment (another
    process, a CPU's clock, the allocator's state) hits both sides of a pair alike.

    First ``plan.warmup`` untimed runs of each framework, in the same order; then up to
    ``plan.repeats`` timed repeats, stopping early once they have taken ``plan.budget_s``
    of wall time (so a slow or busy machine still finishes in about a minute), but after
    at least ``MIN_PAIRS`` of them. The garbage of each run is collected before the next
    starts, outside the timing. With more than one thread, each run waits
    ``SWITCH_PAUSE_S`` first, also untimed, for the previous run's worker threads to go to
    sleep (see that constant).
    """
    names = list(runners)
    pause = SWITCH_PAUSE_S if threads > 1 else 0.0

    def run(name: str) -> dict[str, float]:
        if pause:
            time.sleep(pause)
        seconds = runners[name]()
        gc.collect()
        return seconds

    for _ in range(plan.warmup):
        for name in names:
            run(name)
    times: dict[str, dict[str, list[float]]] = {name: {} for name in names}
    start = time.perf_counter()
    for repeat in range(plan.repeats):
        for name in names:
            for phase, seconds in run(name).items():
                times[name].setdefault(phase, []).append(seconds)
        if repeat + 1 >= MIN_PAIRS and time.perf_counter() - start > plan.budget_s:
            break
    return times


def pair_ratios(ours: list[float], theirs: list[float]) -> list[float] | None:
    """scratchnet's sample over the reference's, pair by pair (the i-th of each: runs of
    one repeat of :func:`run_interleaved`, or one round of fresh processes); None if a
    reference sample is not positive, as no ratio of it means anything."""
    if len(ours) != len(theirs):
        raise ValueError(f"pair_ratios: got {len(ours)} scratchnet samples and "
                         f"{len(theirs)} reference samples; expected one of each per pair")
    if not ours or min(theirs) <= 0:
        return None
    return [a / b for a, b in zip(ours, theirs)]


# --------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------
def workload_row(name: str, unit: str, scale: float, samples: dict[str, list[float]],
                 target: float | None, headline: bool | None = None) -> dict[str, Any]:
    """One ``workloads`` row of the JSON from {framework: [seconds, ...]}, paired samples.

    Each sample is multiplied by ``scale`` (e.g. 1e3 for milliseconds). ``ratio`` is the
    median of the per-pair ratios scratchnet / PyTorch (:func:`pair_ratios`), with their
    quartiles in ``ratio_spread``; None without PyTorch. ``meets_target`` says whether it
    is at most ``target`` (None when either is missing). ``headline`` marks a row that the
    suite's summary shows even without a target (default: whether it has one).
    """
    stats = {fw: summarize([s * scale for s in values]) for fw, values in samples.items()}
    ours = stats["scratchnet"]
    theirs = stats.get("pytorch")
    ratios = None if theirs is None else pair_ratios(samples["scratchnet"], samples["pytorch"])
    ratio_stats = None if ratios is None else summarize(ratios)
    ratio = None if ratio_stats is None else ratio_stats["median"]

    def spread(s: dict[str, float] | None) -> dict[str, float] | None:
        return None if s is None else {k: s[k] for k in ("q1", "q3", "min", "max")}

    return {
        "name": name,
        "unit": unit,
        "scratchnet": ours["median"],
        "pytorch": None if theirs is None else theirs["median"],
        "ratio": ratio,
        "ratio_spread": spread(ratio_stats),
        "target": target,
        "meets_target": None if ratio is None or target is None else ratio <= target,
        "headline": target is not None if headline is None else headline,
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


def ratio_cell(ratio: float | None, spread: dict[str, float] | None) -> str:
    """A table cell "ratio× [q1–q3]" of the per-pair ratios, or "n/a"."""
    if ratio is None:
        return "n/a"
    if spread is None:
        return f"{ratio:.2f}×"
    return f"{ratio:.2f}× [{spread['q1']:.2f}–{spread['q3']:.2f}]"


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """The :func:`workload_row` rows as a markdown table, scratchnet against PyTorch."""
    lines = ["| workload | unit | scratchnet median [IQR] | PyTorch median [IQR] "
             "| ratio [IQR] | target | status |",
             "|---|---|---|---|---|---|---|"]
    for row in rows:
        target = "–" if row["target"] is None else f"≤ {row['target']:g}×"
        status = {True: "ok", False: "MISSED", None: "n/a" if row["target"] else "–"}[
            row["meets_target"]]
        lines.append(f"| {row['name']} | {row['unit']} "
                     f"| {_cell(row['scratchnet'], row['spread']['scratchnet'])} "
                     f"| {_cell(row['pytorch'], row['spread']['pytorch'])} "
                     f"| {ratio_cell(row['ratio'], row.get('ratio_spread'))} | {target} "
                     f"| {status} |")
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


