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


def check_noise(report: dict, result: subprocess.CompletedProcess, segments: set) -> None:
    """The load measurement every script reports: a verdict, its reasons, one segment per
    workload; NOISY in the table's header exactly when the JSON says so."""
    noise = report["noise"]
    assert report["noisy"] is noise["noisy"]
    assert noise["limit_busy_cores"] == 0.3
    assert bool(noise["reasons"]) is noise["noisy"]
    assert {segment["label"] for segment in noise["segments"]} >= segments
    assert set(noise["busy_cores"]) == {"before", "during"}
    assert ("# NOISY: not for the README" in result.stdout) is noise["noisy"]


def test_autograd_benchmark_quick_run_writes_its_json(tmp_path):
    out = tmp_path / "bench.json"
    result = run_quick("bench_autograd.py", out, "--no-torch", "--threads", "1")
    assert "| workload |" in result.stdout
    report = json.loads(out.read_text())
    assert report["schema"] == 2
    assert report["threads"] == 1 and report["quick"] is True
    check_noise(report, result, {"scalar_chain", "mlp"})
    assert all(check["ok"] for check in report["checks"]), report["checks"]
    rows = {row["name"]: row for row in report["workloads"]}
    assert {"scalar_chain.total", "mlp.step"} <= rows.keys()
    for name in ("scalar_chain.total", "mlp.step"):
        assert rows[name]["scratchnet"] > 0 and rows[name]["headline"] is True
        assert rows[name]["pytorch"] is None and rows[name]["ratio"] is None
        assert rows[name]["ratio_spread"] is None
    assert rows["mlp.forward"]["headline"] is False  # informative, not in the summary


def test_conv_benchmark_quick_run_writes_its_json(tmp_path):
    out = tmp_path / "conv.json"
    result = run_quick("bench_conv.py", out, "--no-torch", "--threads", "1")
    assert "| workload |" in result.stdout
    report = json.loads(out.read_text())
    assert report["schema"] == 2
    assert report["threads"] == 1 and report["quick"] is True
    assert report["checks"] and all(check["ok"] for check in report["checks"]), report["checks"]
    rows = {row["name"]: row for row in report["workloads"]}
    ops = ("conv2d.1-16.32x32", "conv2d.16-8.16x16", "conv2d.8-8.8x8",
           "max_pool2d.16x32x32", "max_pool2d.8x16x16", "max_pool2d.8x8x8",
           "conv_transpose2d.8-8.4x4", "conv_transpose2d.8-16.8x8",
           "conv_transpose2d.16-1.16x16")
    check_noise(report, result, {"checks", *ops})
    for op in ops:
        for phase, target in (("fwd+bwd", 2.0), ("forward", None), ("backward", None)):
            row = rows[f"{op}.{phase}"]
            assert row["unit"] == "ms" and row["scratchnet"] > 0
            assert row["target"] == target
            assert row["pytorch"] is None and row["ratio"] is None
            assert row["meets_target"] is None
            assert set(row["spread"]) == {"scratchnet", "pytorch"}
    geomean = rows["geomean"]
    assert geomean["target"] is None and geomean["headline"] is True  # in the summary
    assert geomean["unit"] == "ratio"
    assert geomean["ratio"] is None and geomean["meets_target"] is None


def test_vae_benchmark_quick_run_writes_its_json(tmp_path):
    out = tmp_path / "vae.json"
    result = run_quick("bench_vae.py", out, "--no-torch", "--threads", "1")
    assert "| quantity |" in result.stdout
    report = json.loads(out.read_text())
    assert report["schema"] == 1
    assert report["threads"] == 1 and report["quick"] is True
    check_noise(report, result, {"scratchnet"})
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
    check_noise(report, result, {"784x256_b10 scratchnet seed 0", "784x64_b20 scratchnet seed 0"})
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


MODEL_ROWS = {  # name: (reference library, unit, target at one thread)
    "vae.step": ("pytorch", "ms/step", 1.3),
    "conv_ae.step": ("pytorch", "ms/step", 1.1),
    "dcgan.step": ("pytorch", "ms/step", 1.1),
    "pca.fit": ("sklearn", "ms/fit", 1.0),
}


def _model_rows(report: dict) -> dict:
    """The bench_models rows by name, after the layout checks every run must pass."""
    assert report["schema"] == 2
    assert report["threads"] == 1 and report["quick"] is True
    assert {s["label"] for s in report["noise"]["segments"]} == {
        "checks", "vae", "conv_ae", "dcgan", "pca"}
    assert report["checks"] and all(check["ok"] for check in report["checks"]), report["checks"]
    rows = {row["name"]: row for row in report["workloads"]}
    assert list(rows) == list(MODEL_ROWS)
    for name, (reference, unit, target) in MODEL_ROWS.items():
        row = rows[name]
        assert (row["reference"], row["unit"], row["target"]) == (reference, unit, target)
        assert row["scratchnet"] > 0 and row["headline"] is True
        assert set(row["spread"]) == set(row["repeats"]) == {"scratchnet", reference}
        assert row["repeats"]["scratchnet"] >= 1
    return rows


def test_models_benchmark_quick_run_without_references(tmp_path):
    out = tmp_path / "models.json"
    result = run_quick("bench_models.py", out, "--no-torch", "--no-sklearn", "--threads", "1")
    assert "| workload |" in result.stdout
    report = json.loads(out.read_text())
    assert report["machine"]["torch"] is None and report["machine"]["sklearn"] is None
    assert report["machine"]["allocator"]  # what the allocator did, pinned or not
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
        assert theirs > 0 and row["ratio"] > 0
        spread = row["ratio_spread"]
        assert spread["min"] <= spread["q1"] <= row["ratio"] <= spread["q3"] <= spread["max"]
        assert row["meets_target"] == (row["ratio"] <= row["target"])


def test_models_targets_of_the_conv_ae_and_dcgan_steps_apply_at_one_thread():
    """At more threads those two steps are reported without a target; the others keep it."""
    bench_models = load_benchmark_module("bench_models")
    assert bench_models.targets_for(1) == {name: target for name, (_, _, target)
                                           in MODEL_ROWS.items()}
    assert bench_models.targets_for(2) == {"vae.step": 1.3, "conv_ae.step": None,
                                           "dcgan.step": None, "pca.fit": 1.0}


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


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_harness_pins_glibcs_malloc_thresholds_in_a_fresh_process():
    code = ("import sys; sys.path.insert(0, 'benchmarks'); import harness; "
            "print(harness.pin_allocator())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout
    assert out.startswith("glibc, mmap threshold pinned at 32 MiB"), out


def load_benchmark_module(name: str):
    """benchmarks/<name>.py imported as its scripts import each other (benchmarks/ first on
    sys.path); the path and the modules it brings are removed again."""
    folder = str(ROOT / "benchmarks")
    before = set(sys.modules)
    sys.path.insert(0, folder)
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(folder)
        for module in set(sys.modules) - before:
            if str(getattr(sys.modules[module], "__file__", "")).startswith(folder):
                del sys.modules[module]


def test_harness_workload_row_takes_the_median_of_the_ratios_of_the_pairs():
    harness = load_harness()
    # Pairs (ms): 2/2, 4/1, 3/3. The ratios 1, 4, 1 have the median 1, where the medians'
    # ratio, 3/2, would let one slow pair and one fast pair decide.
    row = harness.workload_row("mlp.step", "ms/step", 1e3,
                               {"scratchnet": [0.002, 0.004, 0.003],
                                "pytorch": [0.002, 0.001, 0.003]}, 1.3)
    assert row["scratchnet"] == pytest.approx(3.0) and row["pytorch"] == pytest.approx(2.0)
    assert row["ratio"] == pytest.approx(1.0) and row["meets_target"] is True
    assert row["ratio_spread"] == pytest.approx({"q1": 1.0, "q3": 2.5, "min": 1.0, "max": 4.0})
    assert row["repeats"] == {"scratchnet": 3, "pytorch": 3} and row["headline"] is True
    assert "| 1.00× [1.00–2.50] | ≤ 1.3× | ok |" in harness.markdown_table([row])
    alone = harness.workload_row("mlp.step", "ms/step", 1e3, {"scratchnet": [0.002]}, 1.3)
    assert alone["pytorch"] is None and alone["ratio"] is None
    assert alone["meets_target"] is None and alone["spread"]["pytorch"] is None
    informative = harness.workload_row("x", "MiB", 1.0, {"scratchnet": [1.0]}, None)
    assert informative["headline"] is False
    assert harness.workload_row("x", "MiB", 1.0, {"scratchnet": [1.0]}, None, True)["headline"]


def test_harness_pair_ratios_needs_one_sample_of_each_per_pair():
    harness = load_harness()
    assert harness.pair_ratios([2.0, 6.0], [1.0, 3.0]) == [2.0, 2.0]
    assert harness.pair_ratios([2.0], [0.0]) is None  # no ratio to a zero
    with pytest.raises(ValueError, match="pair_ratios: got 2 scratchnet samples and 1"):
        harness.pair_ratios([1.0, 2.0], [1.0])


def test_harness_run_interleaved_alternates_single_runs_after_the_warm_ups():
    harness = load_harness()
    log = []

    def runner(name):
        def run():
            log.append(name)
            return {"step": float(len(log)), "forward": 0.5}  # which call this was

        return run

    runners = {"scratchnet": runner("s"), "pytorch": runner("p")}
    times = harness.run_interleaved(runners, harness.Plan(warmup=2, repeats=3, budget_s=1e9))
    assert log == ["s", "p"] * 5  # two warm-up pairs, then three timed pairs
    # The i-th samples of both come from the i-th timed pair: calls (5, 6), (7, 8), (9, 10).
    assert times == {"scratchnet": {"step": [5.0, 7.0, 9.0], "forward": [0.5] * 3},
                     "pytorch": {"step": [6.0, 8.0, 10.0], "forward": [0.5] * 3}}
    log.clear()
    spent = harness.run_interleaved(runners, harness.Plan(warmup=0, repeats=50, budget_s=0.0))
    assert log == ["s", "p"] * harness.MIN_PAIRS  # the budget is spent: the fewest pairs
    assert len(spent["scratchnet"]["step"]) == len(spent["pytorch"]["step"]) == 2


def test_harness_others_busy_subtracts_this_process():
    harness = load_harness()
    first = harness.CpuSample(wall=10.0, busy_ticks=1000, total_ticks=5000, own_cpu=3.0)
    # One second on 2 cores: 200 ticks, 150 of them busy (1.5 cores), 0.9 s of them ours.
    last = harness.CpuSample(wall=11.0, busy_ticks=1150, total_ticks=5200, own_cpu=3.9)
    assert harness.others_busy(first, last, cores=2) == pytest.approx(0.6)
    ours_only = last._replace(own_cpu=4.6)  # accounting jitter cannot go below zero
    assert harness.others_busy(first, ours_only, cores=2) == 0.0
    assert harness.others_busy(None, last) is None
    assert harness.others_busy(first, first) is None  # no time between the samples


def test_harness_noise_verdict_marks_a_busy_machine_noisy():
    harness = load_harness()
    limit = harness.BUSY_LIMIT_CORES
    quiet = [{"label": "conv", "seconds": 5.0, "busy_cores": 0.1},
             {"label": "blip", "seconds": 0.2, "busy_cores": 1.9}]  # too short to judge
    verdict = harness.noise_verdict(0.05, 0.1, quiet)
    assert verdict["noisy"] is False and verdict["reasons"] == []
    assert verdict["limit_busy_cores"] == limit and verdict["segments"] == quiet
    assert verdict["busy_cores"] == {"before": 0.05, "during": 0.1}

    busy_before = harness.noise_verdict(limit + 0.5, 0.1, quiet)
    assert busy_before["noisy"] is True
    assert busy_before["reasons"] == [f"other processes kept {limit + 0.5:g} cores busy "
                                      "before the run"]
    busy_workloads = [*quiet, {"label": "mlp", "seconds": 3.0, "busy_cores": 0.9},
                      {"label": "pca", "seconds": 2.0, "busy_cores": 1.2}]
    (reason,) = harness.noise_verdict(0.0, 0.2, busy_workloads)["reasons"]
    assert reason == (f"other processes kept more than {limit:g} cores busy during 2 of 3 "
                      "workloads (the most, 1.2, during pca)")
    assert "on average" in harness.noise_verdict(0.0, 1.0, [])["reasons"][0]
    unknown = harness.noise_verdict(None, None, [])
    assert unknown["noisy"] is True and "could not be measured" in unknown["reasons"][0]
    assert harness.noise_line(busy_before).startswith("# NOISY: not for the README")


def test_harness_load_monitor_judges_each_workload(capsys):
    harness = load_harness()
    # One fake core-second per wall second: other processes busy, this one idle.
    samples = iter([harness.CpuSample(t, 100 * t, 200 * t, 0.0) for t in range(5)])
    naps = []
    monitor = harness.LoadMonitor("bench_fake", "consequence", sample=lambda: next(samples),
                                  sleep=naps.append)
    assert naps == [harness.BEFORE_SAMPLE_S] and monitor.before == 1.0
    monitor.mark("first")
    monitor.mark("second")
    noise = monitor.finish()
    assert [s["label"] for s in noise["segments"]] == ["first", "second"]
    assert all(s["busy_cores"] == 1.0 and s["seconds"] == 1.0 for s in noise["segments"])
    assert noise["noisy"] is True and noise["busy_cores"] == {"before": 1.0, "during": 1.0}
    assert set(noise["load_average_1min"]) == {"before", "after"}
    assert monitor.machine_fields(noise)["busy_cores_before"] == 1.0
    err = capsys.readouterr().err
    assert err.count("consequence") == 1  # said once, with the first warning
    assert "bench_fake: other processes kept 1 cores busy during second" in err
    assert "bench_fake: NOISY run, not for the README" in err


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
