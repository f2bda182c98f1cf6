"""Lessons as Jupyter notebooks (scratchnet.notebook).

* Every lesson converts: the notebook's cells are the script's cells, in order, with the
  same code and the same markdown, and jupytext writes the notebook back as the very script.
* Lessons 00 and 04 run to the end in quick mode in a real Jupyter kernel (seconds each),
  with their figures in a temporary folder; the other lessons do the same in ``slow`` tests
  (``pytest -m slow tests/test_notebook.py``: about a minute and a half on 2 cores).
* The errors: an unknown lesson, a missing extra, a failing cell.

The cells are read from the script here with a few lines of plain Python, independently of
jupytext, so that a conversion which loses or merges cells cannot pass.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext")  # the `notebooks` extra, installed by `.[test]`
nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from scratchnet import cli  # noqa: E402  (after the extra's check)
from scratchnet.notebook import NotebookError, lesson_notebook, write_lesson_notebook  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "lessons").glob("[0-9][0-9]_*.py"))
KERNEL_TIMEOUT_S = 300  # per cell; a quick-mode cell takes seconds


def script_cells(path: Path) -> list[tuple[str, str]]:
    """``(kind, source)`` of each ``# %%`` cell of a percent-format script.

    Markdown lines lose their leading ``# `` (``#`` alone is an empty line); trailing blank
    lines, which only separate one cell from the next, are dropped.
    """
    cells: list[tuple[str, list[str]]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# %%"):
            assert line.rstrip() in ("# %%", "# %% [markdown]"), (
                f"{path.name}: unexpected cell marker {line!r}")
            cells.append(("markdown" if "[markdown]" in line else "code", []))
        elif cells:
            cells[-1][1].append(line)
        else:
            assert not line.strip(), f"{path.name}: text before the first cell: {line!r}"
    result = []
    for kind, lines in cells:
        if kind == "markdown":
            assert all(not line or line.startswith("#") for line in lines), (
                f"{path.name}: a markdown cell has a line that is not a comment")
            lines = [line[2:] if line.startswith("# ") else line[1:] for line in lines]
        result.append((kind, "\n".join(lines).rstrip("\n")))
    return result


def test_there_are_lessons_to_convert() -> None:
    assert len(LESSONS) >= 10, f"found only {len(LESSONS)} lessons in {ROOT / 'lessons'}"


@pytest.mark.parametrize("lesson", LESSONS, ids=[p.stem for p in LESSONS])
def test_every_lesson_converts_and_its_cells_round_trip(lesson: Path, tmp_path: Path) -> None:
    path = write_lesson_notebook(lesson.name[:2], out=tmp_path)
    assert path == tmp_path / f"{lesson.stem}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata.kernelspec.name == "python3"
    assert "jupytext" not in notebook.metadata
    expected = script_cells(lesson)
    got = [(cell.cell_type, cell.source) for cell in notebook.cells]
    assert [kind for kind, _ in got] == [kind for kind, _ in expected]
    for index, (want, have) in enumerate(zip(expected, got)):
        assert have == want, f"{lesson.name}: cell {index} ({want[0]}) differs"
    assert all(not cell.outputs for cell in notebook.cells if cell.cell_type == "code")
    # And back: jupytext writes the notebook as the script, byte for byte.
    back = jupytext.writes(notebook, fmt={"extension": ".py", "format_name": "percent",
                                          "notebook_metadata_filter": "-all"})
    assert back == lesson.read_text(encoding="utf-8")


@pytest.mark.parametrize("number", [0, "0", "00", "00_autodiff", "00_autodiff.py"])
def test_a_lesson_is_found_by_number_or_name(number) -> None:
    notebook = lesson_notebook(number)
    assert notebook.cells[0].source.startswith("# Lesson 00")


def test_an_unknown_lesson_names_the_function_what_it_got_and_the_lessons(tmp_path) -> None:
    with pytest.raises(NotebookError) as info:
        write_lesson_notebook(99, out=tmp_path / "never-written")
    message = str(info.value)
    assert message.startswith("write_lesson_notebook: no lesson 99")
    assert LESSONS[0].stem in message and LESSONS[-1].stem in message
    assert not (tmp_path / "never-written").exists()


def test_bad_arguments_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(NotebookError, match="quick=True without execute=True"):
        write_lesson_notebook(0, out=tmp_path / "a", quick=True)
    with pytest.raises(NotebookError, match=r"timeout must be a positive .* got -1"):
        write_lesson_notebook(0, out=tmp_path / "b", execute=True, timeout=-1)
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotebookError, match="out must be a folder, got the file"):
        write_lesson_notebook(0, out=tmp_path / "file")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_the_default_folder_is_notebooks_under_the_working_directory(tmp_path, monkeypatch):
    # Outside a git checkout find_lessons_dir would look in the working directory only.
    monkeypatch.setattr(cli, "find_lessons_dir", lambda: ROOT / "lessons")
    monkeypatch.chdir(tmp_path)
    path = write_lesson_notebook("03")
    assert path == Path("notebooks") / f"{LESSONS[3].stem}.ipynb" and path.is_file()


def test_an_existing_notebook_is_replaced_only_when_asked(tmp_path: Path) -> None:
    path = write_lesson_notebook(0, out=tmp_path)
    path.write_text("a student's notes", encoding="utf-8")
    with pytest.raises(NotebookError, match=r"already exists.*overwrite=True"):
        write_lesson_notebook(0, out=tmp_path)
    assert path.read_text(encoding="utf-8") == "a student's notes"
    assert write_lesson_notebook(0, out=tmp_path, overwrite=True) == path
    assert nbformat.read(path, as_version=4).cells[0].cell_type == "markdown"


def test_a_missing_extra_names_it(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "jupytext", None)  # import jupytext now fails
    with pytest.raises(NotebookError) as info:
        lesson_notebook(0)
    message = str(info.value)
    assert message.startswith("lesson_notebook: needs 'jupytext'")
    assert message.endswith('pip install -e ".[notebooks]"')


def _executed(path: Path) -> tuple[object, str]:
    """The executed notebook at ``path`` and all its text output, joined."""
    notebook = nbformat.read(path, as_version=4)
    text = "".join(out.get("text", "") for cell in notebook.cells
                   if cell.cell_type == "code" for out in cell.outputs)
    return notebook, text


def _run_in_kernel(lesson: Path, tmp_path: Path, monkeypatch) -> None:
    """Execute ``lesson`` in quick mode in a Jupyter kernel; its figures go under ``tmp_path``.

    The data home is the suite's temporary one (tests/conftest.py). The figure folder is
    not set, so the lesson saves its figures beside the notebook, as a student's would.
    """
    monkeypatch.delenv("SCRATCHNET_FIGURES", raising=False)
    monkeypatch.setenv("MPLBACKEND", "Agg")  # as in CI: the kernel must not inherit it
    out = tmp_path / "notebooks"
    path = write_lesson_notebook(lesson.name[:2], out=out, execute=True, quick=True,
                                 timeout=KERNEL_TIMEOUT_S)
    notebook, text = _executed(path)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1)), (
        f"{lesson.name}: not every code cell ran, in order")
    errors = [out for cell in code for out in cell.outputs if out.output_type == "error"]
    assert not errors, f"{lesson.name}: {errors[0]}"
    assert text.strip(), f"{lesson.name} printed nothing"
    # Figures went beside the notebook (the kernel's working directory), nowhere else.
    figures = sorted((out / "figures" / lesson.stem).rglob("*.png"))
    assert figures, f"{lesson.name} saved no figure into {out / 'figures' / lesson.stem}"
    assert str(out / "figures" / lesson.stem) in text
    # ... and each one is also shown under the cell that made it.
    shown = [o for cell in code for o in cell.outputs if "image/png" in o.get("data", {})]
    assert len(shown) == len(figures), f"{lesson.name}: {len(shown)} of {len(figures)} shown"


# Lesson 00 and the flagship, lesson 04, take a few seconds each in quick mode.
IN_SUITE = [p for p in LESSONS if p.name[:2] in ("00", "04")]
SLOW = [p for p in LESSONS if p not in IN_SUITE]


@pytest.mark.parametrize("lesson", IN_SUITE, ids=[p.stem for p in IN_SUITE])
def test_a_lesson_runs_to_the_end_in_a_jupyter_kernel(lesson, tmp_path, monkeypatch) -> None:
    _run_in_kernel(lesson, tmp_path, monkeypatch)


@pytest.mark.slow
@pytest.mark.parametrize("lesson", SLOW, ids=[p.stem for p in SLOW])
def test_every_other_lesson_runs_to_the_end_in_a_jupyter_kernel(lesson, tmp_path, monkeypatch):
    _run_in_kernel(lesson, tmp_path, monkeypatch)


def test_a_failing_cell_is_reported_and_the_notebook_keeps_what_ran(tmp_path, monkeypatch):
    """A made-up lesson: its first cell reports what the kernel sees, its second fails."""
    lessons = tmp_path / "checkout" / "lessons"
    lessons.mkdir(parents=True)
    (lessons / "00_broken.py").write_text(
        "# %% [markdown]\n# # Broken\n\n"
        "# %%\nimport os\nimport matplotlib\n"
        "print(os.environ.get('SCRATCHNET_QUICK'), matplotlib.get_backend(), os.getcwd())\n\n"
        "# %%\nraise ValueError('cell two fails')\n\n"
        "# %%\nprint('never reached')\n", encoding="utf-8")
    monkeypatch.setattr(cli, "find_lessons_dir", lambda: lessons)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.delenv("SCRATCHNET_QUICK", raising=False)
    out = tmp_path / "out"
    with pytest.raises(NotebookError) as info:
        write_lesson_notebook(0, out=out, execute=True, quick=True, timeout=KERNEL_TIMEOUT_S)
    message = str(info.value)
    assert "00_broken failed while executing" in message and "cell two fails" in message
    assert str(out / "00_broken.ipynb") in message
    notebook, text = _executed(out / "00_broken.ipynb")
    quick, backend, cwd = text.split()
    assert quick == "1" and "inline" in backend and Path(cwd) == out.resolve()
    outputs = [[o.output_type for o in c.outputs] for c in notebook.cells if c.cell_type == "code"]
    assert outputs == [["stream"], ["error"], []]


def test_a_cell_over_the_timeout_is_stopped_and_reported(tmp_path, monkeypatch) -> None:
    lessons = tmp_path / "checkout" / "lessons"
    lessons.mkdir(parents=True)
    (lessons / "00_slow.py").write_text(
        "# %%\nimport os\nprint(os.environ.get('SCRATCHNET_QUICK'))\n\n"
        "# %%\nimport time\ntime.sleep(60)\n", encoding="utf-8")
    monkeypatch.setattr(cli, "find_lessons_dir", lambda: lessons)
    monkeypatch.setenv("SCRATCHNET_QUICK", "1")  # a full run must not inherit quick mode
    with pytest.raises(NotebookError, match="a cell of 00_slow ran longer than the timeout of 2 s"):
        write_lesson_notebook(0, out=tmp_path / "out", execute=True, timeout=2)
    notebook, text = _executed(tmp_path / "out" / "00_slow.ipynb")
    assert text == "None\n"
    assert [out.get("ename") for out in notebook.cells[1].outputs] == ["KeyboardInterrupt"]
