"""The benchmark scripts run and write the JSON they document (timings are not asserted)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_autograd_benchmark_quick_run_writes_its_json(tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_autograd.py"), "--quick",
         "--no-torch", "--threads", "1", "--json", str(out)],
        capture_output=True, text=True, timeout=300, check=False, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert "| workload |" in result.stdout
    report = json.loads(out.read_text())
    assert report["threads"] == 1 and report["quick"] is True
    assert all(check["ok"] for check in report["checks"]), report["checks"]
    rows = {row["name"]: row for row in report["workloads"]}
    assert {"scalar_chain.total", "mlp.step"} <= rows.keys()
    for name in ("scalar_chain.total", "mlp.step"):
        assert rows[name]["scratchnet"] > 0
        assert rows[name]["pytorch"] is None and rows[name]["ratio"] is None
