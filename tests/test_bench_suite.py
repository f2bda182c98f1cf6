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
MEMORY_MODELS = ("conv_ae", "vae", "dcgan")
MEMORY_ROWS = tuple(f"{model}.{row}" for model in MEMORY_MODELS
                    for row in ("step_peak", "step_peak_tracemalloc", "baseline_rss"))


def run_suite(*options: str) -> subprocess.CompletedProcess:
    """Run ``benchmarks/suite.py <options>``; its exit status is left to the caller."""
    return subprocess.run([sys.executable, str(SUITE), *options], capture_output=True,
                          text=True, timeout=300, check=False, cwd=ROOT)


def check_memory_report(report: dict, with_torch: bool) -> None:
    """bench_memory.py's JSON, as benchmarks/README.md describes it."""
    assert report["schema"] == 2 and report["quick"] is True and report["threads"] == 1
    assert (report["machine"]["torch"] is not None) == with_torch
    assert isinstance(report["noisy"], bool) and report["noisy"] is report["noise"]["noisy"]
    settings = report["settings"]
    assert tuple(settings["models"]) == MEMORY_MODELS
    assert settings["models"]["conv_ae"]["batch"] == 128
    assert settings["models"]["dcgan"]["batch"] == 64
    assert settings["parameters"]["conv_ae"] == 3801
    assert settings["processes"] == 1
    assert settings["peak_method"] in ("clear_refs", "ru_maxrss (upper bound)")
    assert report["checks"] and all(check["ok"] for check in report["checks"]), report["checks"]
    names = {check["name"] for check in report["checks"]}
    rows = {row["name"]: row for row in report["workloads"]}
    assert tuple(rows) == MEMORY_ROWS
    for row in rows.values():
        assert row["unit"] == "MiB" and row["scratchnet"] > 0
        assert set(row["spread"]) == {"scratchnet", "pytorch"}
    frameworks = {"scratchnet", "pytorch"} if with_torch else {"scratchnet"}
    for model in MEMORY_MODELS:
        peak = rows[f"{model}.step_peak"]
        assert peak["target"] == (1.3 if model == "conv_ae" else None)
        assert peak["headline"] is True  # in the suite's summary, with or without a target
        # tracemalloc counts NumPy's buffers: the same step, seen from inside the process.
        traced = rows[f"{model}.step_peak_tracemalloc"]
        assert 0.5 * peak["scratchnet"] < traced["scratchnet"] < 2 * peak["scratchnet"]
        assert traced["pytorch"] is None and traced["headline"] is False
        assert set(report["per_process"][model]) == frameworks
        if with_torch:
            assert peak["pytorch"] > 0
            assert peak["ratio"] == pytest.approx(peak["scratchnet"] / peak["pytorch"])
            assert isinstance(peak["meets_target"], bool) or model != "conv_ae"
            # bench_models' check: one step in both libraries, the same losses and gradients.
            assert {f"{model}.loss_matches_pytorch", f"{model}.grads_match_pytorch",
                    f"{model}.same_parameter_count"} <= names
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
    assert report["schema"] == 2 and report["quick"] is True and report["threads"] == 1
    assert report["failed"] == [] and list(report["scripts"]) == ["autograd", "memory"]
    assert report["publishable"] is False  # a --quick run never is
    noisy = [name for name, record in report["scripts"].items() if record["result"]["noisy"]]
    assert report["noisy"] is bool(noisy) and list(report["noise"]) == noisy
    assert ("NOISY: not for the README" in result.stdout) is bool(noisy)
    for record in report["scripts"].values():
        assert record["ok"] and record["exit_status"] == 0
        assert {"--quick", "--no-torch"} <= set(record["command"])
    summary = {(row["script"], row["name"]): row for row in report["summary"]}
    assert {("autograd", "scalar_chain.total"), ("autograd", "mlp.step"),
            ("memory", "conv_ae.step_peak"), ("memory", "vae.step_peak"),
            ("memory", "dcgan.step_peak")} <= summary.keys()
    assert ("memory", "vae.baseline_rss") not in summary  # neither a target nor a headline
    assert summary["memory", "vae.step_peak"]["target"] is None
    assert "| memory | vae.step_peak | MiB |" in result.stdout
    for row in summary.values():
        assert row["target_applies_to"] == "ratio" and row["ratio_spread"] is None
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
               "argv": sys.argv[1:], "workloads": [row], NOISE}, f)
print("fake report")
'''
QUIET = '"noisy": False, "noise": {"reasons": []}'
BUSY = '"noisy": True, "noise": {"reasons": ["other processes kept 1.2 cores busy"]}'


def fake_scripts(tmp_path: Path, **scripts: str) -> Path:
    """A folder of bench_NAME.py scripts: FAKE_SCRIPT with the NOISE given, or the text."""
    folder = tmp_path / "scripts"
    folder.mkdir()
    for name, text in scripts.items():
        source = FAKE_SCRIPT.replace("NOISE", text) if text in (QUIET, BUSY) else text
        (folder / f"bench_{name}.py").write_text(textwrap.dedent(source))
    return folder


def test_a_failing_script_is_named_and_fails_the_suite(tmp_path):
    scripts = fake_scripts(tmp_path, fine=QUIET, broken="import sys\nsys.exit(3)\n")
    out = tmp_path / "suite.json"
    result = run_suite("--scripts-dir", str(scripts), "--quick", "--no-sklearn", "--json",
                       str(out))
    assert result.returncode == 1
    assert "1 of 2 benchmark script(s) failed: broken" in result.stderr
    assert "| broken | (the script failed: exit status 3) |" in result.stdout
    assert "fake report" in result.stdout
    report = json.loads(out.read_text())
    assert report["failed"] == ["broken"] and report["publishable"] is False
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


def test_a_quiet_full_run_is_publishable(tmp_path):
    scripts = fake_scripts(tmp_path, first=QUIET, second=QUIET)
    out = tmp_path / "suite.json"
    result = run_suite("--scripts-dir", str(scripts), "--json", str(out))
    assert result.returncode == 0, result.stderr
    assert "NOISY" not in result.stdout + result.stderr
    assert "quiet: every script ran" in result.stdout
    report = json.loads(out.read_text())
    assert report["noisy"] is False and report["noise"] == {}
    assert report["publishable"] is True


def test_a_noisy_script_marks_the_table_not_for_the_readme(tmp_path):
    """A verdict on the numbers, not a failure: the table is printed, the status is 0."""
    scripts = fake_scripts(tmp_path, busy=BUSY, quiet=QUIET, silent="""
        import argparse, json
        parser = argparse.ArgumentParser()
        parser.add_argument("--json")
        args, _ = parser.parse_known_args()
        with open(args.json, "w") as f:
            json.dump({"schema": 1, "workloads": []}, f)  # says nothing of the load
        """)
    out = tmp_path / "suite.json"
    result = run_suite("--scripts-dir", str(scripts), "--json", str(out))
    assert result.returncode == 0, result.stderr
    assert "# scratchnet benchmark suite: the targets — NOISY: not for the README" in \
        result.stdout
    assert "| busy | fake.total | ms |" in result.stdout  # still shown, for reading
    assert "busy: other processes kept 1.2 cores busy" in result.stdout
    assert "silent: the script reported no measurement of the machine's load" in result.stdout
    assert "suite: NOISY: other processes were busy during busy, silent" in result.stderr
    report = json.loads(out.read_text())
    assert report["noisy"] is True and report["publishable"] is False
    assert report["noise"] == {"busy": ["other processes kept 1.2 cores busy"],
                               "silent": ["the script reported no measurement of the "
                                          "machine's load"]}
