"""Every lesson in ``lessons/`` runs top to bottom in ``--quick`` mode and saves its figures.

Each lesson is started as a student would start it (``python lessons/NN_topic.py --quick``),
in a fresh interpreter with the repository root as working directory and a headless
matplotlib backend. The checks are deliberately about behaviour that a broken lesson
cannot fake: it exits with status 0, it prints its numbers, and it writes at least one
figure into ``$SCRATCHNET_FIGURES/NN_topic/`` during this run, a temporary folder that
tests/conftest.py sets, and nothing into the student's ``lessons/figures/``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from scratchnet.lesson import SMOKE_RUN_HEADER

ROOT = Path(__file__).resolve().parents[1]
LESSONS_DIR = ROOT / "lessons"
LESSONS = sorted(LESSONS_DIR.glob("[0-9][0-9]_*.py"))
TIMEOUT_S = 300  # per lesson; in --quick mode each should take seconds


def _lesson_env() -> dict[str, str]:
    env = dict(os.environ)
    env["SCRATCHNET_QUICK"] = "1"
    env["MPLBACKEND"] = "Agg"
    # Make `import scratchnet` find this checkout even when the package is not installed.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


def test_there_are_lessons() -> None:
    assert LESSONS, f"no lessons matching NN_*.py found in {LESSONS_DIR}"


@pytest.mark.parametrize("lesson", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_is_in_percent_format(lesson: Path) -> None:
    lines = lesson.read_text(encoding="utf-8").splitlines()
    first = next((line for line in lines if line.strip()), "")
    assert first.startswith("# %% [markdown]"), (
        f"{lesson.name}: should open with a markdown cell ('# %% [markdown]'), "
        f"but its first line is {first!r}"
    )
    code_cells = [line for line in lines if line.rstrip() == "# %%"]
    assert code_cells, f"{lesson.name}: has no '# %%' code cells"


def _student_figures(lesson: str) -> dict[str, tuple[int, int]]:
    """Every file in the student's ``lessons/figures/<lesson>/``, with its time and size.

    Only the lesson's own folder: someone may run another lesson while the tests run.
    """
    folder = LESSONS_DIR / "figures" / lesson
    return {str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.stat().st_size)
            for p in folder.rglob("*") if p.is_file()} if folder.is_dir() else {}


@pytest.mark.parametrize("lesson", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_runs_in_quick_mode(lesson: Path) -> None:
    temporary = os.environ.get("SCRATCHNET_FIGURES", "")
    assert temporary and Path(temporary).resolve() != (LESSONS_DIR / "figures").resolve(), (
        "tests/conftest.py should point SCRATCHNET_FIGURES at a temporary folder")
    figures = Path(temporary) / lesson.stem
    before = _student_figures(lesson.stem)
    started = time.time()
    try:
        result = subprocess.run(
            [sys.executable, str(lesson), "--quick"],
            cwd=ROOT, env=_lesson_env(), capture_output=True, text=True, timeout=TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as exc:
        output = exc.stdout or b""  # raw bytes here, even with text=True
        if isinstance(output, bytes):
            output = output.decode(errors="replace")
        pytest.fail(f"{lesson.name} did not finish within {TIMEOUT_S} s in --quick mode:\n"
                    f"{output[-3000:]}")
    assert result.returncode == 0, (
        f"{lesson.name} exited with status {result.returncode}\n"
        f"--- stdout (end) ---\n{result.stdout[-3000:]}\n"
        f"--- stderr (end) ---\n{result.stderr[-5000:]}"
    )
    assert result.stdout.strip(), f"{lesson.name} printed nothing"
    assert figures.is_dir(), f"{lesson.name} did not create its figure folder {figures}"
    # Written by this run (allow for coarse file-system timestamps), not left over.
    fresh = [p for p in figures.iterdir() if p.is_file() and p.stat().st_mtime >= started - 2]
    assert fresh, f"{lesson.name} saved no figure into {figures} during this run"
    changed = sorted(set(_student_figures(lesson.stem).items()) ^ set(before.items()))
    assert not changed, f"{lesson.name} run by the tests wrote into lessons/figures/: {changed}"
    source = lesson.read_text(encoding="utf-8")
    if "KeyNumbers" in source or "SMOKE_RUN_HEADER" in source:
        assert SMOKE_RUN_HEADER in result.stdout, f"{lesson.name}: quick table not marked"


def test_figures_go_to_scratchnet_figures_when_it_is_set(tmp_path, monkeypatch):
    from scratchnet.lesson import figure_dir

    monkeypatch.setenv("SCRATCHNET_FIGURES", str(tmp_path / "elsewhere"))
    folder = figure_dir("04_something")
    assert folder == tmp_path / "elsewhere" / "04_something" and folder.is_dir()


def test_figure_dir_outside_its_script_uses_the_working_directory(tmp_path, monkeypatch):
    """As in Jupyter: no lesson script is running, so figures go under the working folder."""
    from scratchnet.lesson import figure_dir

    monkeypatch.delenv("SCRATCHNET_FIGURES", raising=False)
    monkeypatch.chdir(tmp_path)
    folder = figure_dir("07_something")
    assert folder == tmp_path / "figures" / "07_something" and folder.is_dir()


def test_bundled_mnist_quick_mode_takes_prefixes_of_both_splits():
    from scratchnet.datasets import load_mnist
    from scratchnet.lesson import bundled_mnist

    full = bundled_mnist(quick=False)
    quick = bundled_mnist(quick=True, quick_sizes=(30, 7))
    assert [len(a) for a in full] == [4000, 4000, 1000, 1000]
    assert [len(a) for a in quick] == [30, 30, 7, 7]
    x_test, y_test = load_mnist("test", source="bundled")
    np.testing.assert_array_equal(quick[2], x_test[:7])
    np.testing.assert_array_equal(quick[3], y_test[:7])
    np.testing.assert_array_equal(quick[0], full[0][:30])


def test_key_numbers_prints_every_label_aligned_with_the_run_time(capsys):
    from scratchnet.lesson import KeyNumbers

    numbers = KeyNumbers("Key numbers:")
    numbers["test MSE"] = "0.0123"
    numbers["a much longer label"] = "4.5 dB"
    numbers.show(quick=False)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Key numbers:"
    assert [line.split()[-1] for line in lines[1:3]] == ["0.0123", "dB"]
    assert lines[3].startswith("  lesson run time") and lines[3].endswith("(quick mode: False)")
    # The values start in one column.
    assert len({line.index(value) for line, value in zip(lines[1:], ("0.0123", "4.5", "0 s"))}) == 1


def test_quick_key_numbers_are_headed_as_a_smoke_run(capsys):
    from scratchnet.lesson import KeyNumbers

    numbers = KeyNumbers("Key numbers:")
    numbers["test MSE"] = "0.0123"
    numbers.show(quick=True)
    out = capsys.readouterr().out
    assert out.startswith(SMOKE_RUN_HEADER + "\nKey numbers:\n")
    assert "SMOKE RUN" in out and "mean nothing" in out


def test_thread_option_reads_both_spellings_and_rejects_nonsense():
    from scratchnet.lesson import thread_option

    assert thread_option(["--quick"]) is None
    assert thread_option(["--threads", "3", "--quick"]) == 3
    assert thread_option(["--threads=1"]) == 1
    for bad in (["--threads"], ["--threads", "0"], ["--threads=two"]):
        with pytest.raises(ValueError, match=r"thread_option: --threads needs .* got"):
            thread_option(bad)


def test_threads_option_limits_the_blas_pool(monkeypatch, capsys):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from scratchnet import lesson

    blas = [p for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]
    if not blas:
        pytest.skip("NumPy here reports no BLAS thread pool")
    monkeypatch.setattr(sys, "argv", ["lesson.py", "--threads", "1"])
    monkeypatch.delenv("SCRATCHNET_QUICK", raising=False)
    try:
        assert lesson.quick_mode() is False
        pools = [p for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]
        assert {p["num_threads"] for p in pools} == {1}
        assert "--threads 1: BLAS limited to 1 thread(s)" in capsys.readouterr().out
    finally:
        limiter = lesson._thread_limit.pop("limiter", None)
        lesson._thread_limit.clear()
        if limiter is not None:
            limiter.restore_original_limits()
