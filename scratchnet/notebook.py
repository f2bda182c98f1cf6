"""A lesson as a Jupyter notebook: ``lessons/NN_topic.py`` written as ``NN_topic.ipynb``.

The lessons are percent-format scripts: ``# %% [markdown]`` opens a markdown cell (each of
its lines starts with ``# ``), ``# %%`` opens a code cell. :func:`write_lesson_notebook`
turns one into a notebook with jupytext, one notebook cell per script cell, and can run
it top to bottom in a fresh Jupyter kernel (nbclient and ipykernel), keeping the outputs.

These libraries are the optional extra ``notebooks`` (``pip install ".[notebooks]"``, which
also brings ipywidgets, for tqdm's progress bars in a notebook); they are imported only when
a notebook is made, so the rest of scratchnet never needs them.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from scratchnet.cli import CLIError, find_lesson

__all__ = ["DEFAULT_OUT", "NotebookError", "lesson_notebook", "write_lesson_notebook"]

DEFAULT_OUT = Path("notebooks")
"""Where notebooks go unless told otherwise: ``notebooks/`` under the working directory."""

# What a student's Jupyter and VS Code use to pick a kernel for the notebook.
_KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


class NotebookError(Exception):
    """A lesson could not be written or executed as a notebook; the message says why."""


def _require(module: str, caller: str) -> ModuleType:
    """Import ``module`` from the ``notebooks`` extra, or say how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise NotebookError(
            f"{caller}: needs {module!r}, which is not installed. Install scratchnet's "
            f"notebooks extra, in the checkout's root folder: pip install -e \".[notebooks]\""
            ) from exc


def _find_lesson(number: str | int, caller: str) -> Path:
    """The lesson script ``NN_topic.py`` for ``number`` (``4``, ``"04"`` or ``"04_pca..."``)."""
    try:
        return find_lesson(number)
    except CLIError as exc:
        raise NotebookError(f"{caller}: {exc}") from exc


def lesson_notebook(number: str | int) -> Any:
    """Lesson ``number`` as an unexecuted notebook (an ``nbformat.NotebookNode``, v4).

    Each ``# %% [markdown]`` cell of the script becomes a markdown cell (its lines without
    the leading ``# ``), each ``# %%`` cell a code cell with the same code. The notebook
    names the ``python3`` kernel, the one ``ipykernel`` installs.
    """
    return _convert(_find_lesson(number, "lesson_notebook"), "lesson_notebook")


def _convert(path: Path, caller: str) -> Any:
    """The percent-format script at ``path`` as a notebook (see :func:`lesson_notebook`)."""
    jupytext = _require("jupytext", caller)
    notebook = jupytext.read(path, fmt="py:percent")
    # The jupytext metadata would tie the notebook to a paired script that it is not.
    notebook.metadata.pop("jupytext", None)
    notebook.metadata["kernelspec"] = dict(_KERNELSPEC)
    notebook.metadata["language_info"] = {"name": "python"}
    return notebook


def _this_interpreters_kernel() -> type:
    """A kernel manager class that starts ipykernel under this very Python.

    A ``python3`` kernelspec found elsewhere (a user's global Jupyter) may point at another
    interpreter, one without scratchnet; the lesson would then fail on its first import.
    """
    from ipykernel.kernelspec import RESOURCES, make_ipkernel_cmd
    from jupyter_client import AsyncKernelManager
    from jupyter_client.kernelspec import KernelSpec

    class ThisInterpreter(AsyncKernelManager):
        @property
        def kernel_spec(self) -> KernelSpec:
            return KernelSpec(argv=make_ipkernel_cmd(), resource_dir=RESOURCES,
                              display_name=_KERNELSPEC["display_name"], language="python")

    return ThisInterpreter


def _execute(notebook: Any, lesson: Path, folder: Path, quick: bool, timeout: float | None,
             progress: bool) -> None:
    """Run every cell of ``notebook`` (made from ``lesson``) in a fresh kernel whose working
    directory is ``folder``.

    The outputs are stored in ``notebook``; on a failing cell they are kept up to that cell
    and :class:`NotebookError` says which cell failed.
    """
    nbclient = _require("nbclient", "write_lesson_notebook")
    _require("ipykernel", "write_lesson_notebook")
    env = dict(os.environ)
    if quick:
        env["SCRATCHNET_QUICK"] = "1"  # what scratchnet.lesson.quick_mode reads
    else:
        env.pop("SCRATCHNET_QUICK", None)
    # A headless MPLBACKEND (Agg, as in CI) would stop the kernel from choosing its inline
    # backend, and the notebook would show no figures.
    env.pop("MPLBACKEND", None)
    name, checkout = lesson.stem, lesson.parent.parent
    env["PYTHONPATH"] = os.pathsep.join(  # the lesson imports this checkout, installed or not
        p for p in (str(checkout), env.get("PYTHONPATH")) if p)
    code_cells = sum(cell.cell_type == "code" for cell in notebook.cells)
    counter = iter(range(1, code_cells + 1))

    def announce(cell: Any, cell_index: int) -> None:
        if cell.cell_type == "code":
            print(f"{name}: running code cell {next(counter)} of {code_cells}",
                  file=sys.stderr, flush=True)

    client = nbclient.NotebookClient(
        notebook, kernel_manager_class=_this_interpreters_kernel(),
        kernel_name=_KERNELSPEC["name"], timeout=timeout,
        # ipykernel warns on every start that its local TCP sockets are unencrypted: true of
        # every local Jupyter, and only noise here. Errors in cells come back as outputs.
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
        resources={"metadata": {"path": str(folder)}},
        on_cell_start=announce if progress else None)
    try:
        client.execute(env=env)
    except nbclient.exceptions.CellExecutionError as exc:
        raise NotebookError(f"write_lesson_notebook: {name} failed while executing; the "
                            f"notebook keeps the outputs up to the failing cell.\n{exc}"
                            ) from exc
    except nbclient.exceptions.CellTimeoutError as exc:
        raise NotebookError(f"write_lesson_notebook: a cell of {name} ran longer than the "
                            f"timeout of {timeout} s; the notebook keeps the outputs up to "
                            f"that cell.\n{exc}") from exc
    except nbclient.exceptions.DeadKernelError as exc:
        raise NotebookError(f"write_lesson_notebook: the kernel running {name} died (out of "
                            f"memory, or a crash in native code): {exc}") from exc


def write_lesson_notebook(number: str | int, out: str | os.PathLike[str] | None = None,
                          execute: bool = False, quick: bool = False,
                          timeout: float | None = None, progress: bool = False,
                          overwrite: bool = False) -> Path:
    """Write lesson ``number`` as ``<out>/NN_topic.ipynb``; with ``execute``, run it first.

    ``out`` is a folder, created if missing (default :data:`DEFAULT_OUT`, ``notebooks/``
    under the working directory). An executed notebook runs in a fresh kernel with ``out``
    as its working directory, as Jupyter would run it, so its figures are saved under
    ``out/figures/NN_topic/``; ``quick`` runs the lesson's quick mode (tiny data, few steps:
    ``SCRATCHNET_QUICK=1``). ``timeout`` bounds each cell, in seconds (``None``: no bound);
    ``progress`` reports each code cell on stderr as it starts. An existing notebook of the
    same name is replaced only with ``overwrite``: it may hold a student's notes and outputs.

    If a cell fails, the notebook is still written, with the outputs up to and including
    the failing cell, and :class:`NotebookError` is raised. Returns the path written.
    """
    if quick and not execute:
        raise NotebookError("write_lesson_notebook: got quick=True without execute=True; "
                            "quick mode only changes how the notebook runs, so ask for both")
    if timeout is not None and not timeout > 0:
        raise NotebookError(f"write_lesson_notebook: timeout must be a positive number of "
                            f"seconds or None, got {timeout!r}")
    nbformat = _require("nbformat", "write_lesson_notebook")
    lesson = _find_lesson(number, "write_lesson_notebook")
    notebook = _convert(lesson, "write_lesson_notebook")
    folder = Path(DEFAULT_OUT if out is None else out)
    if folder.exists() and not folder.is_dir():
        raise NotebookError(f"write_lesson_notebook: out must be a folder, got the file "
                            f"{str(folder)!r}")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{lesson.stem}.ipynb"
    if path.exists() and not overwrite:
        raise NotebookError(f"write_lesson_notebook: {path} already exists, and it may hold "
                            f"your notes and outputs; pass overwrite=True (scratchnet "
                            f"notebook --force) to replace it, or choose another folder")
    failure = None
    if execute:
        try:
            _execute(notebook, lesson, folder.resolve(), quick, timeout, progress)
        except NotebookError as exc:
            failure = exc
    nbformat.write(notebook, path)
    if failure is not None:
        raise NotebookError(f"{failure}\nThe notebook is in {path}.") from failure
    return path
