"""benchmarks/suite.py runs the scripts and sums up their targets; bench_memory's JSON.

Timings and memory figures are not asserted, only the layout the README documents.
"""

import importlib.util
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from test_benchmarks import run_quick  # tests/ is on sys.path (pytest's default import mode)

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "benchmarks" / "suite.py"
HAS_TORCH = importlib.util.find_spec("torch") is not None
MEMORY_ROWS = ("conv_ae.step_peak", "conv_ae.step_peak_tracemalloc", "conv_ae.baseline_rss")


def run_suite(*options: str) -> subprocess.CompletedProcess:
    """Run ``benchmarks/suite.py <options>``; its exit status is left to the caller."""
    return subprocess.run([sys.executable, str(SUITE), *options], capture_output=True,
                          text=True, timeout=300, check=False, cwd=ROOT)


def check_memory_report(report: dict, with_torch: bool) -> None:
    """bench_memory.py's JSON, as benchmarks/README.md describes it."""
    assert report["schema"] == 1 and report["quick"] is True and report["threads"] == 1
    assert (report["machine"]["torch"] is not None) == with_torch
    settings = report["settings"]
    assert settings["batch"] == 128 and settings["parameters"] == 3801
    assert settings["processes"] == 1
    assert settings["peak_method"] in ("clear_refs", "ru_maxrss (upper bound)")
    assert report["checks"] and all(check["ok"] for check in report["checks"]), report["checks"]
    rows = {row["name"]: row for row in report["workloads"]}
    assert tuple(rows) == MEMORY_ROWS
    for row in rows.values():
        assert row["unit"] == "MiB" and row["scratchnet"] > 0
        assert set(row["spread"]) == {"scratchnet", "pytorch"}
    peak = rows["conv_ae.step_peak"]
    assert peak["target"] == 2.0
    # tracemalloc counts NumPy's buffers: the same step, seen from inside the process.
    traced = rows["conv_ae.step_peak_tracemalloc"]["scratchnet"]
    assert 0.5 * peak["scratchnet"] < traced < 2 * peak["scratchnet"]
    assert rows["conv_ae.step_peak_tracemalloc"]["pytorch"] is None
    assert set(report["per_process"]) == ({"scratchnet", "pytorch"} if with_torch
                                          else {"scratchnet"})
    if with_torch:
        assert peak["pytorch"] > 0
        assert peak["ratio"] == pytest.approx(peak["scratchnet"] / peak["pytorch"])
        assert isinstance(peak["meets_target"], bool)
        assert {"encoder_matches_pytorch", "same_parameter_count"} <= {
            check["name"] for check in report["checks"]}
    else:
        assert peak["pytorch"] is None and peak["ratio"] is None
        assert peak["meets_target"] is None


def test_quick_suite_writes_the_summary_of_its_scripts(tmp_path):
    out = tmp_path / "suite.json"
    result = run_suite("--quick", "--threads", "1", "--no-torch", "--only", "autograd,memory",
                       "--json", str(out))
    assert result.returncode == 0, result.stderr
    assert "| script | workload |" in result.stdout
    assert "machine: " in result.stdout
    assert '"schema"' not in result.stdout  # the scripts' JSON dumps are not shown
    report = json.loads(out.read_text())
    assert report["schema"] == 1 and report["quick"] is True and report["threads"] == 1
    assert report["failed"] == [] and list(report["scripts"]) == ["autograd", "memory"]
    for record in report["scripts"].values():
        assert record["ok"] and record["exit_status"] == 0
        assert {"--quick", "--no-torch"} <= set(record["command"])
    summary = {(row["script"], row["name"]): row for row in report["summary"]}
    assert {("autograd", "scalar_chain.total"), ("autograd", "mlp.step"),
            ("memory", "conv_ae.step_peak")} <= summary.keys()
    for row in summary.values():
        assert row["target"] is not None and row["target_applies_to"] == "ratio"
        assert row["reference"] == "pytorch" and row["reference_value"] is None
        assert row["scratchnet"] > 0 and row["meets_target"] is None
    check_memory_report(report["scripts"]["memory"]["result"], with_torch=False)


def test_memory_benchmark_without_no_torch_uses_pytorch_when_installed(tmp_path):
    """Compared with PyTorch where it is installed; alone, and still exit 0, where not."""
    out = tmp_path / "memory.json"
    result = run_quick("bench_memory.py", out, "--threads", "1")
    assert "| workload |" in result.stdout
    check_memory_report(json.loads(out.read_text()), with_torch=HAS_TORCH)


FAKE_SCRIPT = '''
import argparse, json, sys
parser = argparse.ArgumentParser()
parser.add_argument("--json")
parser.add_argument("--quick", action="store_true")
parser.add_argument("--threads")
parser.add_argument("--no-torch", action="store_true")
parser.add_argument("--no-sklearn", action="store_true")
args = parser.parse_args()
row = {"name": "fake.total", "unit": "ms", "scratchnet": 2.0, "sklearn": 1.0,
       "ratio": 2.0, "target": 3.0, "meets_target": True}
with open(args.json, "w") as f:
    json.dump({"schema": 1, "machine": {"cpu": "fake"}, "threads": 1, "quick": True,
               "argv": sys.argv[1:], "workloads": [row]}, f)
print("fake report")
'''


def test_a_failing_script_is_named_and_fails_the_suite(tmp_path):
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "bench_fine.py").write_text(textwrap.dedent(FAKE_SCRIPT))
    (scripts / "bench_broken.py").write_text("import sys\nsys.exit(3)\n")
    out = tmp_path / "suite.json"
    result = run_suite("--scripts-dir", str(scripts), "--quick", "--no-sklearn", "--json",
                       str(out))
    assert result.returncode == 1
    assert "1 of 2 benchmark script(s) failed: broken" in result.stderr
    assert "| broken | (the script failed: exit status 3) |" in result.stdout
    assert "fake report" in result.stdout
    report = json.loads(out.read_text())
    assert report["failed"] == ["broken"]
    assert report["scripts"]["broken"]["ok"] is False
    fine = report["scripts"]["fine"]["result"]
    assert "--no-sklearn" in fine["argv"] and "--quick" in fine["argv"]  # passed on
    (row,) = report["summary"]
    assert (row["script"], row["name"], row["reference"]) == ("fine", "fake.total", "sklearn")
    assert row["reference_value"] == 1.0 and row["meets_target"] is True


def test_only_an_unknown_benchmark_lists_the_available_ones():
    result = run_suite("--only", "autograd,nosuch")
    assert result.returncode != 0
    assert "no benchmark nosuch" in result.stderr and "autograd" in result.stderr
