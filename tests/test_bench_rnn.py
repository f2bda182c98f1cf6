"""benchmarks/bench_rnn.py: its quick runs, checks and JSON rows (timings are not asserted)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_benchmarks import (  # tests/ is on sys.path (pytest's default import mode)
    check_noise,
    load_benchmark_module,
    run_quick,
)

ROOT = Path(__file__).resolve().parents[1]
ROWS = ("lstm_step", "gru_step")
CELLS = ("lstm", "gru")


def check_report(report: dict) -> dict:
    """The layout every run shares; returns the rows by name."""
    assert report["schema"] == 2
    assert report["threads"] == 1 and report["quick"] is True
    assert report["checks"] and all(check["ok"] for check in report["checks"]), report["checks"]
    settings = report["settings"]
    assert settings["sizes"]["vocab"] > 1 and settings["lr"] == 2e-3
    assert settings["clip_norm"] == 5.0 and settings["dtype"] == "float32"
    assert settings["check"]["dtype"] == "float64" and settings["check"]["tolerance"] == 1e-10
    rows = {row["name"]: row for row in report["workloads"]}
    assert tuple(rows) == ROWS
    for row in rows.values():
        assert row["unit"] == "ms/step" and row["scratchnet"] > 0
        assert row["target"] == 2.0 and row["headline"] is True
        assert set(row["spread"]) == {"scratchnet", "pytorch"}
    return rows


def test_rnn_benchmark_quick_run_without_torch(tmp_path):
    out = tmp_path / "rnn.json"
    result = run_quick("bench_rnn.py", out, "--no-torch", "--threads", "1")
    assert "| lstm_step | ms/step |" in result.stdout and "| gru_step |" in result.stdout
    report = json.loads(out.read_text())
    check_noise(report, result, {"checks", *CELLS})
    assert report["machine"]["torch"] is None
    assert {check["name"] for check in report["checks"]} == {
        f"{cell}.scratchnet_finite" for cell in CELLS}
    for row in check_report(report).values():
        assert row["pytorch"] is None and row["ratio"] is None
        assert row["ratio_spread"] is None and row["meets_target"] is None


def test_rnn_benchmark_quick_run_against_pytorch(tmp_path):
    pytest.importorskip("torch")
    out = tmp_path / "rnn.json"
    result = run_quick("bench_rnn.py", out, "--threads", "1")
    report = json.loads(out.read_text())
    check_noise(report, result, {"checks", *CELLS})
    assert report["machine"]["torch"] is not None
    # Logits, loss, every gradient and one whole step, for both cells, in float64.
    assert {check["name"] for check in report["checks"]} == {
        f"{cell}.{what}_match{'es' if what == 'step' else ''}_pytorch"
        for cell in CELLS for what in ("logits_and_loss", "grads", "step")}
    grads = next(c for c in report["checks"] if c["name"] == "lstm.grads_match_pytorch")
    for name in ("embedding", "W_ih", "W_hh", "b_ih", "b_hh", "head.weight", "head.bias"):
        assert name in grads["detail"]
    for row in check_report(report).values():
        assert row["pytorch"] > 0 and row["ratio"] > 0
        assert row["repeats"]["scratchnet"] == row["repeats"]["pytorch"] >= 2
        spread = row["ratio_spread"]
        assert spread["min"] <= spread["q1"] <= row["ratio"] <= spread["q3"] <= spread["max"]
        assert row["meets_target"] == (row["ratio"] <= row["target"])


def test_rnn_benchmark_exits_non_zero_when_a_check_fails(tmp_path):
    """No difference is below a negative tolerance: every check fails, the exit status is 1,
    and the report (with the FAILED checks) is still written."""
    pytest.importorskip("torch")
    out = tmp_path / "rnn.json"
    code = ("import sys; sys.path.insert(0, 'benchmarks'); import bench_rnn; "
            "bench_rnn.CHECK_TOL = -1.0; "
            f"sys.exit(bench_rnn.main(['--quick', '--threads', '1', '--json', {str(out)!r}]))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300, check=False, cwd=ROOT)
    assert result.returncode == 1, result.stderr
    assert "bench_rnn: failed checks: lstm.logits_and_loss_match_pytorch" in result.stderr
    assert "check gru.step_matches_pytorch: FAILED" in result.stdout
    report = json.loads(out.read_text())
    assert report["checks"] and not any(check["ok"] for check in report["checks"])


def test_rnn_benchmark_targets_apply_at_one_thread():
    bench_rnn = load_benchmark_module("bench_rnn")
    assert bench_rnn.targets_for(1) == {"lstm_step": 2.0, "gru_step": 2.0}
    assert bench_rnn.targets_for(2) == {"lstm_step": None, "gru_step": None}
