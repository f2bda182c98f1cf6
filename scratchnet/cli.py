"""The ``scratchnet`` command.

::

    scratchnet lessons                    list the lessons, one line each
    scratchnet lesson 03 [--quick] [--threads N]
                                          run lessons/03_*.py (--quick: tiny data, few steps)
    scratchnet download mnist [--dest D]  fetch the full MNIST, checksum-verified
    scratchnet bench [--quick] [...]      run the benchmarks (a checkout's benchmarks/suite.py)
    scratchnet check 00 [--file F]        grade exercises/00_*.py: PASS / FAIL / NOT DONE
    scratchnet notebook 04 [--out D] [--execute [--quick]] [--force]
                                          lessons/04_*.py as a Jupyter notebook
    scratchnet --version | --help
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import scratchnet
from scratchnet.paths import checkout_root


class CLIError(Exception):
    """A problem to report on stderr as ``scratchnet: error: ...`` with an exit status."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def _find_checkout_folder(name: str, holds: str | None, what: str) -> Path:
    """``name/`` of the checkout that holds this package, else ``./name``; with ``holds``,
    only a folder that contains that file counts."""
    candidates = []
    root = checkout_root()
    if root is not None:
        candidates.append(root / name)
    candidates.append(Path.cwd() / name)
    for folder in candidates:
        if folder.is_dir() and (holds is None or (folder / holds).is_file()):
            return folder
    looked = " and ".join(str(c) for c in candidates)
    raise CLIError(f"no {what} found (looked in {looked}). The {name} come with a source "
                   f"checkout of scratchnet: run this command from the checkout's root folder.")


def find_lessons_dir() -> Path:
    """``lessons/`` of the checkout that holds this package, else ``./lessons``."""
    return _find_checkout_folder("lessons", None, "lessons/ folder")


def find_benchmarks_dir() -> Path:
    """``benchmarks/`` (holding ``suite.py``) of the checkout that holds this package, else
    ``./benchmarks``."""
    return _find_checkout_folder("benchmarks", "suite.py", "benchmarks/ folder with suite.py")


def list_lessons(folder: Path) -> list[Path]:
    """The lesson scripts ``NN_topic.py`` in ``folder``, sorted by number."""
    return sorted(p for p in folder.glob("[0-9][0-9]_*.py") if p.is_file())


def lesson_title(path: Path) -> str:
    """The first heading of the lesson's leading markdown cell (without the ``#`` marks).

    Falls back to the cell's first line of text, or ``""`` if it has none.
    """
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip()), None)
    if start is None or not lines[start].startswith("# %% [markdown]"):
        return ""
    first_text = ""
    for line in lines[start + 1:]:
        if line.startswith("# %%") or not line.startswith("#"):
            break  # the next cell, or code: the markdown cell has ended
        text = line[1:].strip()
        if text.startswith("#"):
            return text.lstrip("#").strip()
        first_text = first_text or text
    return first_text


def _positive_int(text: str) -> int:
    """argparse type: an integer of at least 1 (a thread count)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number of threads, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1 thread, got {value}")
    return value


def _cmd_lessons(args: argparse.Namespace) -> int:
    folder = find_lessons_dir()
    lessons = list_lessons(folder)
    if not lessons:
        raise CLIError(f"no lessons (files NN_topic.py) in {folder}")
    width = max(len(p.name) for p in lessons)
    for path in lessons:
        print(f"{path.name[:2]}  {path.name:<{width}}  {lesson_title(path)}")
    return 0


def find_lesson(number: str | int) -> Path:
    """The lesson script ``NN_topic.py`` for ``number`` (``4``, ``"04"`` or ``"04_pca..."``)."""
    folder = find_lessons_dir()
    lessons = list_lessons(folder)
    wanted = str(number).removesuffix(".py")
    if wanted.isdigit():
        wanted = f"{int(wanted):02d}"
    for path in lessons:
        if path.name[:2] == wanted or path.stem == wanted:
            return path
    available = ", ".join(p.stem for p in lessons) or "none"
    raise CLIError(f"no lesson {number!r} in {folder}; available: {available}", status=2)


def _cmd_lesson(args: argparse.Namespace) -> int:
    command = [sys.executable, str(find_lesson(args.number))] + (
        ["--quick"] if args.quick else [])
    if args.threads is not None:
        command += ["--threads", str(args.threads)]
    env = None
    root = checkout_root()
    if root is not None:  # let the lesson import this very checkout, installed or not
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(root), env.get("PYTHONPATH")) if p)
    return subprocess.run(command, env=env, check=False).returncode


def _cmd_download(args: argparse.Namespace) -> int:
    from scratchnet.datasets.download import DownloadError, download_mnist
    from scratchnet.datasets.mnist import data_home

    try:
        dest = download_mnist(dest=args.dest, mirrors=args.mirror or None,
                              progress=not args.no_progress)
    except DownloadError as exc:
        raise CLIError(str(exc)) from exc
    print(f"MNIST is in {dest}")
    expected = data_home() / "mnist"
    if dest.resolve() != expected.resolve():
        # load_mnist reads $SCRATCHNET_DATA/mnist, so only a folder named "mnist" can be
        # reached by setting the data home to its parent.
        hint = (f"set SCRATCHNET_DATA={dest.parent} to use this copy" if dest.name == "mnist"
                else f"move the files into {expected} (or into a folder named 'mnist' and "
                     "set SCRATCHNET_DATA to its parent) to use them")
        print(f"note: load_mnist(source='full') reads {expected}; {hint}")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    """Run the checkout's ``benchmarks/suite.py`` with this interpreter; its exit status."""
    suite = find_benchmarks_dir() / "suite.py"
    command = [sys.executable, str(suite)]
    if args.quick:
        command.append("--quick")
    if args.threads is not None:
        command += ["--threads", str(args.threads)]
    if args.json is not None:
        command += ["--json", args.json]
    if args.only is not None:
        command += ["--only", args.only]
    command += [flag for flag, wanted in (("--no-torch", args.no_torch),
                                          ("--no-sklearn", args.no_sklearn)) if wanted]
    return subprocess.run(command, check=False).returncode


def _cmd_notebook(args: argparse.Namespace) -> int:
    """Write lesson NN as a notebook (run first with --execute); print where it went."""
    from scratchnet.notebook import NotebookError, write_lesson_notebook

    if args.quick and not args.execute:
        raise CLIError("--quick only changes how --execute runs the notebook: "
                       "give both, or neither", status=2)
    try:
        path = write_lesson_notebook(args.number, out=args.out, execute=args.execute,
                                     quick=args.quick, progress=True, overwrite=args.force)
    except NotebookError as exc:
        raise CLIError(str(exc)) from exc
    print(f"wrote {path}")
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    """Grade a lesson's exercises (scratchnet.exercises); 0 when every one passes."""
    from scratchnet import exercises

    return exercises.main([args.number] + ([] if args.file is None else ["--file", args.file]))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scratchnet",
        description="scratchnet: unsupervised deep learning built from scratch on NumPy. "
                    "The lessons live in the lessons/ folder of a checkout: list them with "
                    "`scratchnet lessons`, run one with `scratchnet lesson 00`.",
    )
    parser.add_argument("--version", action="version",
                        version=f"scratchnet {scratchnet.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    lessons = commands.add_parser("lessons", help="list the lessons, one line each",
                                  description="List the lessons in lessons/ with their titles.")
    lessons.set_defaults(func=_cmd_lessons)

    lesson = commands.add_parser("lesson", help="run one lesson",
                                 description="Run lessons/NN_topic.py in a fresh interpreter; "
                                             "the exit status is the lesson's.")
    lesson.add_argument("number", metavar="NN", help="the lesson's number, e.g. 00 or 3")
    lesson.add_argument("--quick", action="store_true",
                        help="tiny data and few steps (seconds instead of minutes)")
    lesson.add_argument("--threads", type=_positive_int, default=None, metavar="N",
                        help="at most N BLAS threads (one is faster on a busy machine)")
    lesson.set_defaults(func=_cmd_lesson)

    notebook = commands.add_parser(
        "notebook", help="write a lesson as a Jupyter notebook (.ipynb)",
        description="Write lessons/NN_topic.py as NN_topic.ipynb: a markdown cell for each "
                    "'# %% [markdown]' cell, a code cell for each '# %%' cell. With --execute, "
                    "run it first in a fresh Jupyter kernel whose working directory is the "
                    "output folder, keeping every output. Needs the notebooks extra: "
                    "pip install -e \".[notebooks]\".")
    notebook.add_argument("number", metavar="NN", help="the lesson's number, e.g. 04")
    notebook.add_argument("--out", metavar="DIR", default=None,
                          help="folder for the notebook, created if missing "
                               "(default: notebooks/ in the working directory)")
    notebook.add_argument("--execute", action="store_true",
                          help="run every cell in a Jupyter kernel and keep the outputs")
    notebook.add_argument("--quick", action="store_true",
                          help="with --execute: tiny data and few steps (seconds)")
    notebook.add_argument("--force", action="store_true",
                          help="replace an existing notebook of the same name")
    notebook.set_defaults(func=_cmd_notebook)

    download = commands.add_parser(
        "download", help="download a full data set (checksum-verified)",
        description="Download the full data set into the data home (SCRATCHNET_DATA, else "
                    "data/ in a checkout, else ~/.scratchnet/data), verifying each file's "
                    "MD5 and writing it atomically.")
    download.add_argument("dataset", choices=["mnist"], help="the data set")
    download.add_argument("--dest", metavar="DIR", default=None,
                          help="folder for the files (default: <data home>/mnist)")
    download.add_argument("--mirror", metavar="URL", action="append", default=None,
                          help="base URL to try instead of the built-in mirrors "
                               "(repeat for several, tried in order)")
    download.add_argument("--no-progress", action="store_true", help="no progress bars")
    download.set_defaults(func=_cmd_download)

    bench = commands.add_parser(
        "bench", help="run the benchmarks against PyTorch and scikit-learn",
        description="Run every benchmark script of the checkout's benchmarks/ folder "
                    "(benchmarks/suite.py) and print one table of the targets: scratchnet "
                    "against PyTorch CPU and scikit-learn, time and memory. The exit status "
                    "is the suite's: non-zero if a benchmark script failed.")
    bench.add_argument("--quick", action="store_true",
                       help="each benchmark's smoke run (about a minute in all)")
    bench.add_argument("--threads", type=int, default=None, metavar="N",
                       help="BLAS and torch threads (default: the number of cores)")
    bench.add_argument("--json", metavar="PATH", default=None,
                       help="write the combined results as JSON to PATH")
    bench.add_argument("--only", metavar="NAME[,NAME]", default=None,
                       help="run only these benchmarks, e.g. autograd,memory")
    bench.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    bench.add_argument("--no-sklearn", action="store_true", help="leave scikit-learn out")
    bench.set_defaults(func=_cmd_bench)

    check = commands.add_parser(
        "check", help="grade a lesson's exercises",
        description="Grade the answers in exercises/NN_*.py (or --file) with gradcheck, "
                    "closed forms and shapes: each exercise PASS, FAIL (with what was "
                    "expected, what came, and a hint) or NOT DONE. Exit status 0 when every "
                    "exercise passes, 1 otherwise, 2 for an unknown lesson or file.")
    check.add_argument("number", metavar="NN", help="the lesson's number, e.g. 00")
    check.add_argument("--file", metavar="PATH", default=None,
                       help="the file to grade (default: exercises/NN_*.py of the checkout)")
    check.set_defaults(func=_cmd_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.func(args)
    except CLIError as exc:
        print(f"scratchnet {args.command}: error: {exc}", file=sys.stderr)
        return exc.status


if __name__ == "__main__":
    raise SystemExit(main())
