#!/usr/bin/env python
"""The benchmark suite: every ``bench_*.py`` script of this folder, one summary table.

Each script runs in its own interpreter with ``--json`` into a temporary folder; ``--quick``,
``--threads N`` and ``--no-torch`` are passed on to every script, ``--no-sklearn`` to those
that have that option (``bench_rbm.py``, ``bench_models.py``). While a script runs, its
report is shown as it comes (the tables, the checks), without the JSON it prints at the end.
Then the suite prints one markdown table of every row that has a target or that its
script marks as a headline (``"headline": true``, such as a step reported without a target
at two threads), from all the scripts: scratchnet's value, the reference's (PyTorch or
scikit-learn), their ratio (with the quartiles of the per-pair ratios, for timings) or
difference, the target and whether it is met; and below it the machine the numbers come
from.

**Noisy runs.** Every script measures how busy other processes keep the machine, before
and during its run (``harness.LoadMonitor``), and marks its JSON ``"noisy": true`` with the
reasons when they kept more than ``harness.BUSY_LIMIT_CORES`` cores busy. If any script
was noisy (or reported no load measurement, as a script that predates it), the suite
titles its table "NOISY: not for the README", lists the reasons under it and on stderr, and
records ``"noisy": true, "publishable": false``. That is a verdict on the numbers, not a
failure: the exit status stays 0, as for a missed target, and the table is still printed
for reading. Only a full (not ``--quick``), quiet run with no failed script is
``"publishable"``; there is no switch to overrule that: rerun on a quiet machine.

Usage (from the repository root, or ``scratchnet bench`` from a checkout)::

    python benchmarks/suite.py --quick               # every script's smoke run, ~1 min
    python benchmarks/suite.py --threads 1 --json benchmarks/results/suite.json
    python benchmarks/suite.py --only autograd,memory --no-torch

The scripts are ``bench_autograd.py``, ``bench_conv.py``, ``bench_memory.py``,
``bench_vae.py``, ``bench_rbm.py``, then any other ``bench_NAME.py`` in the folder (such as
``bench_models.py``), in that order; ``--only`` takes the NAMEs. A script that exits
non-zero or writes no readable JSON is reported as failed, in the table and on stderr, and
the suite then exits with status 1 once all the scripts have run. A missed target is not a
failure (the status stays 0), as in the scripts themselves.

Combined JSON (``--json PATH``); schema 2, where schema 1 had no noise verdict and its
timing ratios were ratios of medians::

    {
      "schema": 2,
      "machine": {...},          # the first script's, plus "sklearn" from bench_rbm
      "threads": int | null,     # as the scripts report it
      "quick": bool,
      "noisy": bool,             # some script ran on a busy machine (or did not measure it)
      "noise": {NAME: [str, ...]},   # the noisy scripts' reasons
      "publishable": bool,       # a full run, not noisy, no script failed
      "options": {"only": [str, ...], "no_torch": bool, "no_sklearn": bool},
      "scripts": {NAME: {"script": str, "command": [str, ...], "exit_status": int,
                         "elapsed_s": float, "ok": bool, "error": str | null,
                         "result": {...} | null}},   # the script's own JSON
      "summary": [{"script": str, "name": str, "unit": str, "scratchnet": float | null,
                   "reference": "pytorch" | "sklearn" | null, "reference_value": float | null,
                   "ratio": float | null, "ratio_spread": {"q1", "q3", ...} | null,
                   "difference": float | null,
                   "target": float | null,   # null: a headline row without a target
                   "target_applies_to": "ratio" | "scratchnet",
                   "higher_is_better": bool, "meets_target": bool | null}, ...],
      "failed": [NAME, ...],
      "elapsed_s": float
    }
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import ratio_cell, write_json_atomically  # this folder is first on sys.path

BENCHMARKS_DIR = Path(__file__).resolve().parent
ORDER = ("autograd", "conv", "memory", "vae", "rbm")  # then the others, alphabetically
REFERENCE_NAMES = {"pytorch": "PyTorch", "sklearn": "scikit-learn"}


# --------------------------------------------------------------------------------------
# Which scripts, with which options
# --------------------------------------------------------------------------------------
def find_scripts(folder: Path) -> dict[str, Path]:
    """{NAME: path} of the ``bench_NAME.py`` scripts in ``folder``, in the suite's order."""
    found = {p.stem.removeprefix("bench_"): p for p in folder.glob("bench_*.py") if p.is_file()}
    known = [name for name in ORDER if name in found]
    return {name: found[name] for name in known + sorted(set(found) - set(known))}


def select(scripts: dict[str, Path], only: str | None) -> dict[str, Path]:
    """The scripts named in ``--only`` (comma-separated), or all of them."""
    if only is None:
        return scripts
    wanted = [name.strip().removeprefix("bench_").removesuffix(".py")
              for name in only.split(",") if name.strip()]
    unknown = [name for name in wanted if name not in scripts]
    if unknown or not wanted:
        raise SystemExit(f"suite: --only: no benchmark {', '.join(unknown) or '(empty)'}; "
                         f"available: {', '.join(scripts) or 'none'}")
    return {name: scripts[name] for name in scripts if name in wanted}


def script_command(name: str, path: Path, json_path: Path, args: argparse.Namespace
                   ) -> list[str]:
    """The command line of one script: the shared options, and ``--no-sklearn`` for the
    scripts that have it (bench_rbm.py, bench_models.py)."""
    command = [sys.executable, str(path), "--json", str(json_path)]
    if args.quick:
        command.append("--quick")
    if args.threads is not None:
        command += ["--threads", str(args.threads)]
    if args.no_torch:
        command.append("--no-torch")
    if args.no_sklearn and accepts_option(path, "--no-sklearn"):
        command.append("--no-sklearn")
    return command


def accepts_option(path: Path, option: str) -> bool:
    """Whether the script defines ``option`` (its source names it in quotes)."""
    return f'"{option}"' in path.read_text(encoding="utf-8")


# --------------------------------------------------------------------------------------
# Running one script
# --------------------------------------------------------------------------------------
def run_script(name: str, command: list[str], json_path: Path, verbose: bool
               ) -> dict[str, Any]:
    """Run one script, showing its report as it comes; what it did and the JSON it wrote.

    Without ``verbose``, the JSON the script prints at the end (from a line ``{`` on) and
    its "wrote <temporary file>" line are left out: the suite writes them all together.
    """
    print(f"\n## {Path(command[1]).name}: {' '.join(command[2:])}", flush=True)
    env = dict(os.environ, PYTHONUNBUFFERED="1")  # lines arrive as they are printed
    began = time.perf_counter()
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as process:
        in_json = False
        for line in process.stdout:
            in_json = in_json or line.rstrip("\n") == "{"
            if verbose or not (in_json or line.startswith(f"wrote {json_path}")):
                print(line, end="", flush=True)
    elapsed = round(time.perf_counter() - began, 2)
    record = {"script": Path(command[1]).name, "command": command,
              "exit_status": process.returncode, "elapsed_s": elapsed, "ok": False,
              "error": None, "result": None}
    if process.returncode != 0:
        record["error"] = f"exit status {process.returncode}"
    else:
        try:
            record["result"] = json.loads(json_path.read_text(encoding="utf-8"))
            record["ok"] = True
        except (OSError, ValueError) as exc:
            record["error"] = f"no readable JSON ({exc.__class__.__name__}: {exc})"
    status = "ok" if record["ok"] else f"FAILED ({record['error']})"
    print(f"-- {name}: {status}, {elapsed:.1f} s", flush=True)
    return record


# --------------------------------------------------------------------------------------
# The summary
# --------------------------------------------------------------------------------------
def summary_rows(name: str, result: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of one script's JSON that have a target or are headlines, in one layout.

    Timing scripts (``workloads``) put the target on the ratio scratchnet / reference, to
    stay under; comparison scripts (``rows``, with ``higher_is_better``) on scratchnet's
    own value, on the side that ``higher_is_better`` says.
    """
    rows = []
    for row in result.get("workloads", []) + result.get("rows", []):
        if not row.get("headline", row.get("target") is not None):
            continue
        reference = row.get("reference")  # bench_models.py names it; the others imply it
        if reference not in REFERENCE_NAMES:
            reference = next((key for key in REFERENCE_NAMES if key in row), None)
        on_value = "higher_is_better" in row
        rows.append({
            "script": name,
            "name": row["name"],
            "unit": row.get("unit", ""),
            "scratchnet": row.get("scratchnet"),
            "reference": reference,
            "reference_value": None if reference is None else row[reference],
            "ratio": row.get("ratio"),
            "ratio_spread": row.get("ratio_spread"),
            "difference": row.get("difference"),
            "target": row["target"],
            "target_applies_to": "scratchnet" if on_value else "ratio",
            "higher_is_better": bool(row["higher_is_better"]) if on_value else False,
            "meets_target": row.get("meets_target"),
        })
    return rows


def _number(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"


def summary_table(rows: list[dict[str, Any]], failed: dict[str, str]) -> str:
    """The suite's markdown table: one line per target, one per failed script."""
    lines = ["| script | workload | unit | scratchnet | reference | reference value "
             "| ratio / difference | target | status |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        if row["ratio"] is not None:
            versus = ratio_cell(row["ratio"], row["ratio_spread"])
        elif row["difference"] is not None:
            versus = f"{row['difference']:+.3g}"
        else:
            versus = "n/a"
        if row["target"] is None:
            target, status = "–", "reported"
        else:
            target = (f"ratio ≤ {row['target']:g}×" if row["target_applies_to"] == "ratio"
                      else f"{'≥' if row['higher_is_better'] else '≤'} "
                           f"{_number(row['target'])}")
            status = {True: "met", False: "MISSED", None: "n/a"}[row["meets_target"]]
        reference = REFERENCE_NAMES.get(row["reference"], "–")
        lines.append(f"| {row['script']} | {row['name']} | {row['unit']} "
                     f"| {_number(row['scratchnet'])} | {reference} "
                     f"| {_number(row['reference_value'])} | {versus} | {target} | {status} |")
    for name, error in failed.items():
        lines.append(f"| {name} | (the script failed: {error}) | | | | | | | FAILED |")
    return "\n".join(lines)


def noise_of(results: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    """{NAME: reasons} of the scripts whose run was noisy or that did not measure the load."""
    noise = {}
    for name, result in results.items():
        if "noisy" not in result:
            noise[name] = ["the script reported no measurement of the machine's load"]
        elif result["noisy"]:
            noise[name] = result.get("noise", {}).get("reasons") or ["marked noisy"]
    return noise


def machine_line(machine: dict[str, Any] | None, threads: int | None, quick: bool) -> str:
    """One line naming the machine and the libraries the numbers come from."""
    if machine is None:
        return "machine: unknown (no script finished)"
    libraries = [f"python {machine.get('python')}",
                 f"numpy {machine.get('numpy')} ({machine.get('blas')})",
                 f"torch {machine.get('torch') or 'not used'}"]
    if "sklearn" in machine:
        libraries.append(f"scikit-learn {machine['sklearn'] or 'not used'}")
    return (f"machine: {machine.get('cpu')}, {machine.get('cpu_count')} cores, "
            f"{machine.get('platform')}; {', '.join(libraries)}; {threads} thread(s)"
            + ("; --quick" if quick else ""))


def parse_suite_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Run every benchmark script (bench_*.py) and print one table of the "
                    "targets: scratchnet against PyTorch and scikit-learn.")
    parser.add_argument("--quick", action="store_true",
                        help="each script's few-second smoke run")
    parser.add_argument("--threads", type=int, default=None, metavar="N",
                        help="BLAS and torch threads, passed to every script (default: "
                             "each script's, the number of cores)")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH",
                        help="write the combined results as JSON to PATH")
    parser.add_argument("--only", default=None, metavar="NAME[,NAME]",
                        help="run only these scripts, e.g. autograd,memory")
    parser.add_argument("--no-torch", action="store_true",
                        help="skip PyTorch even when it is installed")
    parser.add_argument("--no-sklearn", action="store_true",
                        help="skip scikit-learn in bench_rbm even when it is installed")
    parser.add_argument("--verbose", action="store_true",
                        help="show each script's whole output, its JSON included")
    parser.add_argument("--scripts-dir", type=Path, default=BENCHMARKS_DIR, metavar="DIR",
                        help="the folder of the bench_*.py scripts (default: this one's)")
    args = parser.parse_args(argv)
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads must be at least 1, got {args.threads}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_suite_args(argv)
    scripts = select(find_scripts(args.scripts_dir), args.only)
    began = time.perf_counter()
    records: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="scratchnet-bench-") as tmp:
        for name, path in scripts.items():
            json_path = Path(tmp) / f"{name}.json"
            command = script_command(name, path, json_path, args)
            records[name] = run_script(name, command, json_path, args.verbose)

    results = {name: r["result"] for name, r in records.items() if r["ok"]}
    failed = {name: r["error"] for name, r in records.items() if not r["ok"]}
    rows = [row for name, result in results.items() for row in summary_rows(name, result)]
    machine = None
    for result in results.values():
        if machine is None:
            machine = dict(result.get("machine", {}))
        if result.get("machine", {}).get("sklearn") is not None:
            machine["sklearn"] = result["machine"]["sklearn"]
    threads = next((r.get("threads") for r in results.values()), args.threads)
    noise = noise_of(results)
    publishable = not noise and not failed and not args.quick

    print("\n# scratchnet benchmark suite: the targets"
          + (" — NOISY: not for the README" if noise else "") + "\n")
    print(summary_table(rows, failed))
    print()
    print(machine_line(machine, threads, args.quick))
    print("ratio = scratchnet / reference (lower is better), for timings the median of the "
          "ratios of interleaved pairs of runs [their quartiles]; a \"ratio\" target "
          "applies to the ratio, the others to scratchnet's own value; \"reported\": a "
          "headline without a target.")
    if args.quick:
        print("--quick: smoke runs. Their timings are noisy, and the likelihood targets "
              "(vae, rbm) need the full training: expect them to be missed.")
    if noise:
        lines = [f"{name}: {'; '.join(reasons)}" for name, reasons in noise.items()]
        print("NOISY: not for the README; rerun on a quiet machine.\n" + "\n".join(lines))
        print("suite: NOISY: other processes were busy during " + ", ".join(noise)
              + "; the table is not for the README", file=sys.stderr)
    elif publishable:
        print("quiet: every script ran with other processes below the load limit.")
    if args.json is not None:
        write_json_atomically(args.json, {
            "schema": 2,
            "machine": machine,
            "threads": threads,
            "quick": args.quick,
            "noisy": bool(noise),
            "noise": noise,
            "publishable": publishable,
            "options": {"only": list(scripts), "no_torch": args.no_torch,
                        "no_sklearn": args.no_sklearn},
            "scripts": records,
            "summary": rows,
            "failed": list(failed),
            "elapsed_s": round(time.perf_counter() - began, 2),
        })
        print(f"wrote {args.json}")
    if failed:
        print(f"suite: {len(failed)} of {len(records)} benchmark script(s) failed: "
              f"{', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
