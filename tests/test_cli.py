"""The ``scratchnet`` command: --help, --version, lessons, lesson NN, download mnist."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import scratchnet
from scratchnet import cli
from scratchnet.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_version_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"scratchnet {scratchnet.__version__}"


def test_help_describes_the_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: scratchnet")
    assert "--version" in out


def test_no_arguments_succeeds():
    assert main([]) == 0


def test_unknown_option_fails_with_usage(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--no-such-option"])
    assert exit_info.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err


def test_module_entry_point_runs_in_a_fresh_interpreter():
    result = subprocess.run([sys.executable, "-m", "scratchnet.cli", "--version"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert scratchnet.__version__ in result.stdout


def test_help_lists_the_subcommands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("lessons", "lesson", "download", "bench"):
        assert command in out


# --- scratchnet lessons / lesson NN ---------------------------------------------------


def _fake_lessons(folder):
    lessons = folder / "lessons"
    lessons.mkdir()
    (lessons / "00_first.py").write_text(
        "# %% [markdown]\n#\n# # Lesson 00: the first idea\n#\n# Some text.\n\n# %%\nprint(0)\n")
    (lessons / "01_exit.py").write_text(
        "# %% [markdown]\n# Plain text, no heading.\n\n# %%\nimport sys\n"
        "print('argv', sys.argv[1:])\nsys.exit(3)\n")
    (lessons / "02_code_first.py").write_text("print('no markdown cell')\n")
    (lessons / "notes.py").write_text("# not a lesson\n")
    return lessons


@pytest.fixture
def fake_checkout(tmp_path, monkeypatch):
    """Run as an installed package would, from a folder that has a lessons/ folder."""
    monkeypatch.setattr(cli, "checkout_root", lambda: None)
    monkeypatch.chdir(tmp_path)
    return _fake_lessons(tmp_path)


def test_lessons_lists_the_checkout_lessons(capsys):
    assert main(["lessons"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines, "no lessons listed"
    first = lines[0].split()
    assert first[:2] == ["00", "00_autodiff.py"]
    assert "Lesson 00: automatic differentiation" in lines[0]
    assert len(lines) == len(list(ROOT.joinpath("lessons").glob("[0-9][0-9]_*.py")))


def test_lessons_one_line_each_with_its_heading(fake_checkout, capsys):
    assert main(["lessons"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert lines[0].split(None, 2) == ["00", "00_first.py", "Lesson 00: the first idea"]
    assert lines[1].split(None, 2) == ["01", "01_exit.py", "Plain text, no heading."]
    assert lines[2].split() == ["02", "02_code_first.py"]


def test_lessons_without_a_lessons_folder_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "checkout_root", lambda: None)
    monkeypatch.chdir(tmp_path)
    assert main(["lessons"]) == 1
    err = capsys.readouterr().err
    assert "scratchnet lessons: error: no lessons/ folder found" in err
    assert str(tmp_path / "lessons") in err
    assert main(["lesson", "00"]) == 1


def test_lesson_runs_with_quick_and_returns_its_exit_status(fake_checkout, capfd):
    assert main(["lesson", "1", "--quick"]) == 3
    assert "argv ['--quick']" in capfd.readouterr().out
    assert main(["lesson", "01_exit"]) == 3
    assert "argv []" in capfd.readouterr().out
    assert main(["lesson", "00"]) == 0


def test_lesson_passes_threads_on_and_refuses_a_bad_count(fake_checkout, capfd):
    assert main(["lesson", "1", "--quick", "--threads", "1"]) == 3
    assert "argv ['--quick', '--threads', '1']" in capfd.readouterr().out
    for bad, message in (("0", "expected at least 1 thread, got 0"),
                         ("two", "expected a whole number of threads, got 'two'")):
        with pytest.raises(SystemExit) as exit_info:
            main(["lesson", "1", "--threads", bad])
        assert exit_info.value.code == 2 and message in capfd.readouterr().err


def test_unknown_lesson_lists_the_available_ones(fake_checkout, capsys):
    assert main(["lesson", "42"]) == 2
    err = capsys.readouterr().err
    assert "no lesson '42'" in err
    assert "00_first, 01_exit, 02_code_first" in err


def test_lesson_00_runs_in_quick_mode(monkeypatch, capfd):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    assert main(["lesson", "00", "--quick"]) == 0
    assert "quick mode: True" in capfd.readouterr().out


# --- scratchnet download mnist ----------------------------------------------------------


@pytest.fixture
def file_mirror(tmp_path, monkeypatch):
    """A file:// mirror holding four small generated IDX files, and their MD5 table."""
    from scratchnet.datasets import download
    from scratchnet.datasets.idx import write_idx

    folder = tmp_path / "mirror"
    folder.mkdir()
    table = {}
    for i, name in enumerate(download.MNIST_FILES):
        shape = (3, 28, 28) if "images" in name else (3,)
        path = write_idx(folder / name, np.full(shape, i, dtype=np.uint8))
        table[name] = download.file_md5(path)
    monkeypatch.setattr(download, "MNIST_FILES", table)
    return folder.as_uri() + "/"


def test_download_mnist_command(tmp_path, file_mirror, capsys):
    dest = tmp_path / "out"
    assert main(["download", "mnist", "--dest", str(dest), "--mirror", file_mirror,
                 "--no-progress"]) == 0
    assert sorted(p.name for p in dest.iterdir()) == [
        "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
        "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]
    assert f"MNIST is in {dest}" in capsys.readouterr().out


def test_download_mnist_into_the_data_home(tmp_path, file_mirror, monkeypatch, capsys):
    from scratchnet.datasets.mnist import load_mnist

    monkeypatch.setenv("SCRATCHNET_DATA", str(tmp_path / "home"))
    assert main(["download", "mnist", "--mirror", file_mirror, "--no-progress"]) == 0
    assert "note:" not in capsys.readouterr().out
    images, _ = load_mnist("train", source="full")
    assert images.shape == (3, 1, 28, 28)


def test_download_failure_is_reported(tmp_path, file_mirror, capsys):
    missing = (tmp_path / "no-such-mirror").as_uri() + "/"
    dest = tmp_path / "out"
    assert main(["download", "mnist", "--dest", str(dest), "--mirror", missing,
                 "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "scratchnet download: error: download_mnist: could not download" in err
    assert missing in err
    assert list(dest.iterdir()) == []


def test_download_unknown_dataset_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["download", "cifar"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_download_elsewhere_gives_advice_that_works(tmp_path, file_mirror, monkeypatch, capsys):
    from scratchnet.datasets.mnist import load_mnist

    monkeypatch.setenv("SCRATCHNET_DATA", str(tmp_path / "home"))
    assert main(["download", "mnist", "--dest", str(tmp_path / "out"), "--mirror",
                 file_mirror, "--no-progress"]) == 0
    assert f"move the files into {tmp_path / 'home' / 'mnist'}" in capsys.readouterr().out
    dest = tmp_path / "elsewhere" / "mnist"
    assert main(["download", "mnist", "--dest", str(dest), "--mirror", file_mirror,
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert f"set SCRATCHNET_DATA={dest.parent} to use this copy" in out
    monkeypatch.setenv("SCRATCHNET_DATA", str(dest.parent))  # follow the advice
    assert load_mnist("train", source="full")[0].shape == (3, 1, 28, 28)


# --- scratchnet bench -------------------------------------------------------------------


def test_bench_help_lists_its_options(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: scratchnet bench")
    for option in ("--quick", "--json", "--threads", "--only", "--no-torch"):
        assert option in out


def test_bench_without_a_benchmarks_folder_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "checkout_root", lambda: None)
    monkeypatch.chdir(tmp_path)
    assert main(["bench", "--quick"]) == 1
    err = capsys.readouterr().err
    assert "scratchnet bench: error: no benchmarks/ folder with suite.py found" in err
    assert str(tmp_path / "benchmarks") in err
    assert "run this command from the checkout's root folder" in err


def test_bench_finds_the_checkout_suite():
    assert cli.find_benchmarks_dir() == ROOT / "benchmarks"


def test_bench_runs_the_suite_with_its_options_and_returns_its_status(
        tmp_path, monkeypatch, capfd):
    monkeypatch.setattr(cli, "checkout_root", lambda: None)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "suite.py").write_text(
        "import sys\nprint('suite argv', sys.argv[1:])\nsys.exit(4)\n")
    assert main(["bench", "--quick", "--threads", "1", "--only", "autograd,memory",
                 "--json", "out.json", "--no-torch"]) == 4
    assert ("suite argv ['--quick', '--threads', '1', '--json', 'out.json', '--only', "
            "'autograd,memory', '--no-torch']") in capfd.readouterr().out


def test_check_grades_the_stubs_as_not_done_and_the_solutions_as_passing(capsys):
    root = Path(__file__).resolve().parents[1]
    assert main(["check", "00"]) == 1
    out = capsys.readouterr().out
    assert out.count("NOT DONE") == 3 and "0 of 3 exercises pass" in out
    solutions = root / "exercises" / "solutions" / "00_autodiff.py"
    assert main(["check", "00", "--file", str(solutions)]) == 0
    assert "3 of 3 exercises pass" in capsys.readouterr().out
    assert main(["check", "99"]) == 2
    assert "scratchnet: error:" in capsys.readouterr().err


def test_notebook_writes_a_lesson_as_ipynb_and_keeps_an_existing_one(tmp_path, capsys):
    pytest.importorskip("jupytext")
    assert main(["notebook", "0", "--out", str(tmp_path)]) == 0
    path = tmp_path / "00_autodiff.ipynb"
    assert capsys.readouterr().out == f"wrote {path}\n"
    assert json.loads(path.read_text(encoding="utf-8"))["cells"][0]["cell_type"] == "markdown"
    assert main(["notebook", "0", "--out", str(tmp_path)]) == 1
    assert "already exists" in capsys.readouterr().err
    assert main(["notebook", "0", "--out", str(tmp_path), "--force"]) == 0


def test_notebook_errors_name_the_lessons_and_the_missing_execute(tmp_path, capsys):
    pytest.importorskip("jupytext")
    assert main(["notebook", "99", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("scratchnet notebook: error: write_lesson_notebook: no lesson '99'")
    assert "00_autodiff" in err
    assert main(["notebook", "0", "--quick", "--out", str(tmp_path)]) == 2
    assert "--quick only changes how --execute runs" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
