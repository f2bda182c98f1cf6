"""The benchmark scripts run and write the JSON they document (timings are not asserted)."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_quick(script: str, json_path: Path, *options: str) -> subprocess.CompletedProcess:
    """Run ``benchmarks/<script> --quick --json json_path <options>``; it must succeed."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), "--quick", "--json", str(json_path),
         *options],
        capture_output=True, text=True, timeout=300, check=False, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    return result


def test_autograd_benchmark_quick_run_writes_its_json(tmp_path):
    out = tmp_path / "bench.json"
    result = run_quick("bench_autograd.py", out, "--no-torch", "--threads", "1")
    assert "| workload |" in result.stdout
    report = json.loads(out.read_text())
    assert report["threads"] == 1 and report["quick"] is True
    assert all(check["ok"] for check in report["checks"]), report["checks"]
    rows = {row["name"]: row for row in report["workloads"]}
    assert {"scalar_chain.total", "mlp.step"} <= rows.keys()
    for name in ("scalar_chain.total", "mlp.step"):
        assert rows[name]["scratchnet"] > 0
        assert rows[name]["pytorch"] is None and rows[name]["ratio"] is None


def test_conv_benchmark_quick_run_writes_its_json(tmp_path):
    out = tmp_path / "conv.json"
    result = run_quick("bench_conv.py", out, "--no-torch", "--threads", "1")
    assert "| workload |" in result.stdout
    report = json.loads(out.read_text())
    assert report["threads"] == 1 and report["quick"] is True
    assert report["checks"] and all(check["ok"] for check in report["checks"]), report["checks"]
    rows = {row["name"]: row for row in report["workloads"]}
    ops = ("conv2d.1-16.32x32", "conv2d.16-8.16x16", "conv2d.8-8.8x8",
           "max_pool2d.16x32x32", "max_pool2d.8x16x16", "max_pool2d.8x8x8",
           "conv_transpose2d.8-8.4x4", "conv_transpose2d.8-16.8x8",
           "conv_transpose2d.16-1.16x16")
    for op in ops:
        for phase, target in (("fwd+bwd", 3.0), ("forward", None), ("backward", None)):
            row = rows[f"{op}.{phase}"]
            assert row["unit"] == "ms" and row["scratchnet"] > 0
            assert row["target"] == target
            assert row["pytorch"] is None and row["ratio"] is None
            assert row["meets_target"] is None
            assert set(row["spread"]) == {"scratchnet", "pytorch"}
    geomean = rows["geomean"]
    assert geomean["target"] == 2.0 and geomean["unit"] == "ratio"
    assert geomean["ratio"] is None and geomean["meets_target"] is None


def test_vae_benchmark_quick_run_writes_its_json(tmp_path):
    out = tmp_path / "vae.json"
    result = run_quick("bench_vae.py", out, "--no-torch", "--threads", "1")
    assert "| quantity |" in result.stdout
    report = json.loads(out.read_text())
    assert report["schema"] == 1
    assert report["threads"] == 1 and report["quick"] is True
    assert report["machine"]["torch"] is None
    assert report["settings"]["sizes"] == [784, 400, 20] and report["settings"]["iw_k"] == 100
    assert all(check["ok"] for check in report["checks"]), report["checks"]
    rows = {row["name"]: row for row in report["rows"]}
    assert {"test_elbo", "test_iw_k100", "train_time.per_epoch", "train_time.total"} <= rows.keys()
    for name, target in (("test_elbo", -112.0), ("test_iw_k100", -107.0)):
        row = rows[name]
        assert row["unit"] == "nats" and row["target"] == target
        assert float("-inf") < row["scratchnet"] < 0  # finite (not NaN) and negative
        assert row["pytorch"] is None and row["difference"] is None
        assert isinstance(row["meets_target"], bool)
    # The importance-weighted estimate is the tighter bound.
    assert rows["test_iw_k100"]["scratchnet"] >= rows["test_elbo"]["scratchnet"]
    history = report["history"]["scratchnet"]
    assert len(history["train_loss"]) == len(history["epoch_s"]) == report["settings"]["epochs"]
    assert report["history"].keys() == {"scratchnet"}


def test_rbm_benchmark_quick_run_writes_its_json(tmp_path):
    """With scikit-learn when it is installed (a few seconds), else scratchnet alone."""
    with_sklearn = importlib.util.find_spec("sklearn") is not None
    out = tmp_path / "rbm.json"
    result = run_quick("bench_rbm.py", out, "--threads", "1",
                       *([] if with_sklearn else ["--no-sklearn"]))
    assert "| quantity |" in result.stdout
    report = json.loads(out.read_text())
    assert report["schema"] == 1
    assert report["threads"] == 1 and report["quick"] is True
    assert (report["machine"]["sklearn"] is not None) == with_sklearn
    settings = report["settings"]
    assert (settings["n_visible"], settings["epochs"]) == (784, 1)
    sizes = {size["name"]: (size["n_hidden"], size["batch"], size["time_target"])
             for size in settings["sizes"]}
    assert sizes == {"784x256_b10": (256, 10, 0.8), "784x64_b20": (64, 20, 1.0)}
    assert settings["matched"]["algorithm"] == "PCD-1" and settings["seeds"] == [0]
    assert all(check["ok"] for check in report["checks"]), report["checks"]
    names = {check["name"] for check in report["checks"]}
    rows = {row["name"]: row for row in report["rows"]}
    assert set(rows) == {f"{size}.{row}" for size in sizes for row in (
        "test_pll", "test_pll.seed_spread", "test_reconstruction_error",
        "train_time.per_epoch", "train_time.total")}
    frameworks = ("scratchnet", "sklearn") if with_sklearn else ("scratchnet",)
    assert tuple(report["per_seed"]) == tuple(sizes)
    for size, (_, _, time_target) in sizes.items():
        assert f"{size}.scratchnet.finite_and_negative" in names
        pll, per_epoch = rows[f"{size}.test_pll"], rows[f"{size}.train_time.per_epoch"]
        assert pll["unit"] == "nats" and pll["higher_is_better"] is True
        assert float("-inf") < pll["scratchnet"] < 0
        assert per_epoch["unit"] == "s" and per_epoch["scratchnet"] > 0
        assert rows[f"{size}.test_reconstruction_error"]["target"] is None
        assert tuple(report["per_seed"][size]) == frameworks
        for fw in frameworks:
            (run,) = report["per_seed"][size][fw]
            assert run["seed"] == 0 and len(run["epoch_s"]) == 1 and len(run["pll_draws"]) == 2
        if not with_sklearn:
            for row in rows.values():
                assert row["sklearn"] is None and row["meets_target"] is None
            continue
        assert {f"{size}.same_parameters_same_features", f"{size}.same_parameters_same_pll",
                f"{size}.sklearn.finite_and_negative"} <= names
        assert float("-inf") < pll["sklearn"] < 0
        assert pll["difference"] == pytest.approx(pll["scratchnet"] - pll["sklearn"])
        assert pll["target"] == pytest.approx(pll["sklearn"])  # one seed: no spread
        assert isinstance(pll["meets_target"], bool)
        assert per_epoch["target"] == pytest.approx(time_target * per_epoch["sklearn"])
        assert per_epoch["ratio"] == pytest.approx(per_epoch["scratchnet"] / per_epoch["sklearn"])
        assert per_epoch["meets_target"] == (per_epoch["scratchnet"] <= per_epoch["target"])


MODEL_ROWS = {  # name: (reference library, unit, target)
    "vae.step": ("pytorch", "ms/step", 1.3),
    "conv_ae.step": ("pytorch", "ms/step", 1.5),
    "dcgan.step": ("pytorch", "ms/step", 2.0),
    "pca.fit": ("sklearn", "ms/fit", 1.1),
}


def _model_rows(report: dict) -> dict:
    """The bench_models rows by name, after the layout checks every run must pass."""
    assert report["schema"] == 1
    assert report["threads"] == 1 and report["quick"] is True
    assert report["checks"] and all(check["ok"] for check in report["checks"]), report["checks"]
    rows = {row["name"]: row for row in report["workloads"]}
    assert list(rows) == list(MODEL_ROWS)
    for name, (reference, unit, target) in MODEL_ROWS.items():
        row = rows[name]
        assert (row["reference"], row["unit"], row["target"]) == (reference, unit, target)
        assert row["scratchnet"] > 0
        assert set(row["spread"]) == set(row["repeats"]) == {"scratchnet", reference}
        assert row["repeats"]["scratchnet"] >= 1
    return rows


def test_models_benchmark_quick_run_without_references(tmp_path):
    out = tmp_path / "models.json"
    result = run_quick("bench_models.py", out, "--no-torch", "--no-sklearn", "--threads", "1")
    assert "| workload |" in result.stdout
    report = json.loads(out.read_text())
    assert report["machine"]["torch"] is None and report["machine"]["sklearn"] is None
    names = {check["name"] for check in report["checks"]}
    assert names == {"vae.scratchnet_finite", "conv_ae.scratchnet_finite",
                     "dcgan.scratchnet_finite", "pca.scratchnet_sane"}
    for row in _model_rows(report).values():
        reference = row["reference"]
        assert row[reference] is None and row["spread"][reference] is None
        assert row["ratio"] is None and row["meets_target"] is None


def test_models_benchmark_quick_run_uses_the_installed_references(tmp_path):
    """Without --no-torch: the checks and ratios compare with PyTorch and scikit-learn
    where they are installed, and the script still runs, with empty reference columns,
    where they are not (as in CI's virtualenv)."""
    installed = {"pytorch": importlib.util.find_spec("torch") is not None,
                 "sklearn": importlib.util.find_spec("sklearn") is not None}
    out = tmp_path / "models.json"
    run_quick("bench_models.py", out, "--threads", "1")
    report = json.loads(out.read_text())
    assert (report["machine"]["torch"] is not None) == installed["pytorch"]
    assert (report["machine"]["sklearn"] is not None) == installed["sklearn"]
    names = {check["name"] for check in report["checks"]}
    for model in ("vae", "conv_ae", "conv_ae.timed_pytorch_model", "dcgan"):
        assert ({f"{model}.loss_matches_pytorch", f"{model}.grads_match_pytorch"}
                <= names) == installed["pytorch"]
    assert ({"pca.explained_variance_matches_sklearn", "pca.subspace_matches_sklearn"}
            <= names) == installed["sklearn"]
    assert all(check["ok"] for check in report["checks"])
    for row in _model_rows(report).values():
        theirs = row[row["reference"]]
        if not installed[row["reference"]]:
            assert theirs is None and row["ratio"] is None
            continue
        assert theirs > 0
        assert row["ratio"] == pytest.approx(row["scratchnet"] / theirs)
        assert row["meets_target"] == (row["ratio"] <= row["target"])


# --- benchmarks/harness.py, the helpers every script shares -----------------------------


def load_harness():
    """benchmarks/harness.py as a module, without putting benchmarks/ on sys.path."""
    spec = importlib.util.spec_from_file_location("harness", ROOT / "benchmarks" / "harness.py")
    harness = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(harness)
    return harness


def test_harness_summarize_gives_the_median_and_quartiles():
    stats = load_harness().summarize([5.0, 1.0, 3.0, 2.0, 4.0])
    assert stats == {"median": 3.0, "q1": 2.0, "q3": 4.0, "min": 1.0, "max": 5.0}
    assert load_harness().summarize([7.0]) == {"median": 7.0, "q1": 7.0, "q3": 7.0,
                                               "min": 7.0, "max": 7.0}


def test_harness_workload_row_scales_and_compares_with_the_target():
    harness = load_harness()
    row = harness.workload_row("mlp.step", "ms/step", 1e3,
                               {"scratchnet": [0.002, 0.004, 0.003], "pytorch": [0.002]}, 1.3)
    assert row["scratchnet"] == pytest.approx(3.0) and row["pytorch"] == pytest.approx(2.0)
    assert row["ratio"] == pytest.approx(1.5) and row["meets_target"] is False
    assert row["repeats"] == {"scratchnet": 3, "pytorch": 1}
    alone = harness.workload_row("mlp.step", "ms/step", 1e3, {"scratchnet": [0.002]}, 1.3)
    assert alone["pytorch"] is None and alone["ratio"] is None
    assert alone["meets_target"] is None and alone["spread"]["pytorch"] is None


def test_harness_writes_json_whole_or_not_at_all(tmp_path):
    harness = load_harness()
    path = tmp_path / "out" / "result.json"
    harness.write_json_atomically(path, {"schema": 1})
    assert json.loads(path.read_text()) == {"schema": 1}
    with pytest.raises(TypeError):
        harness.write_json_atomically(path, {"schema": object()})  # not JSON: fails midway
    assert json.loads(path.read_text()) == {"schema": 1}  # the old file is untouched
    assert [p.name for p in path.parent.iterdir()] == ["result.json"]  # no temporary left


def test_harness_parse_args_refuses_fewer_than_one_thread(capsys):
    harness = load_harness()
    args = harness.parse_args(["--threads", "2", "--quick"], "a benchmark")
    assert args.threads == 2 and args.quick and args.json is None and not args.no_torch
    with pytest.raises(SystemExit):
        harness.parse_args(["--threads", "0"], "a benchmark")
    assert "--threads must be at least 1, got 0" in capsys.readouterr().err
