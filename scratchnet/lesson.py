"""Small helpers shared by the lesson scripts in ``lessons/``.

Every lesson runs top to bottom as ``python lessons/NN_topic.py`` and reads two options:

* ``--quick`` (or the environment variable ``SCRATCHNET_QUICK=1``): tiny data and few
  steps, so the test suite can run every lesson in seconds. The numbers it prints only show
  that the code runs.
* ``--threads N``: at most N threads in the BLAS library behind NumPy's matrix products, set
  with threadpoolctl. On a machine whose cores are shared with other work, one thread is
  often several times faster than the default of one per core.

Figures go to ``lessons/figures/NN_topic/``, or to ``$SCRATCHNET_FIGURES/NN_topic/`` when
that variable is set (the test suite points it at a temporary folder).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

__all__ = ["KeyNumbers", "bundled_mnist", "figure_dir", "quick_mode", "thread_option"]

# The threadpoolctl limiter that --threads installed; kept so that it is not collected and
# so that a second call (a cell run twice in Jupyter) can see the limit is already set.
_thread_limit: dict[str, object] = {}


def thread_option(argv: list[str] | None = None) -> int | None:
    """The N of ``--threads N`` (or ``--threads=N``) in ``argv`` (default ``sys.argv[1:]``).

    None when the option is absent. Other arguments are ignored, so that Jupyter's own
    command line (``-f kernel.json``) does not get in the way.
    """
    args = sys.argv[1:] if argv is None else argv
    for i, arg in enumerate(args):
        if arg == "--threads" or arg.startswith("--threads="):
            following = args[i + 1] if i + 1 < len(args) else ""
            text = arg.split("=", 1)[1] if "=" in arg else following
            if not text.isdigit() or int(text) < 1:
                raise ValueError(f"thread_option: --threads needs a whole number of threads "
                                 f">= 1, got {text!r}")
            return int(text)
    return None


def quick_mode() -> bool:
    """Read the lesson's command line; True when it asks for a quick (smoke) run.

    Quick is ``--quick`` or ``SCRATCHNET_QUICK=1``. With ``--threads N`` (see
    :func:`thread_option`) this also limits the BLAS thread pools to N threads for the rest
    of the process, with ``threadpoolctl.threadpool_limits``; every lesson calls this once
    at its top, so every lesson honours ``--threads``.
    """
    threads = thread_option()
    if threads is not None and _thread_limit.get("threads") != threads:
        from threadpoolctl import threadpool_limits

        _thread_limit["limiter"] = threadpool_limits(limits=threads, user_api="blas")
        _thread_limit["threads"] = threads
        print(f"--threads {threads}: BLAS limited to {threads} thread(s)")
    return "--quick" in sys.argv[1:] or os.environ.get("SCRATCHNET_QUICK", "") == "1"


def figure_dir(lesson: str) -> Path:
    """The folder for a lesson's figures, ``figures/<lesson>/``, created if missing.

    Run as a script (``python lessons/02_convolution.py``), it is beside the script:
    ``lessons/figures/02_convolution/``. Stepped through in Jupyter or VS Code, where no
    script is running, it is under the working directory. When the environment variable
    ``SCRATCHNET_FIGURES`` is set, it is ``$SCRATCHNET_FIGURES/<lesson>/`` instead: the test
    suite uses it so that its quick runs never replace a student's full-run figures.
    ``lesson`` is the file's stem.
    """
    override = os.environ.get("SCRATCHNET_FIGURES", "")
    if override:
        folder = Path(override).expanduser() / lesson
    else:
        script = getattr(sys.modules.get("__main__"), "__file__", None)
        here = (Path(script).resolve().parent if script and Path(script).stem == lesson
                else Path.cwd())
        folder = here / "figures" / lesson
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def bundled_mnist(quick: bool, quick_sizes: tuple[int, int] = (300, 100),
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The bundled MNIST subset as ``(x_train, y_train, x_test, y_test)``.

    Images are float32 in [0, 1] with shape (N, 1, 28, 28); labels are int64 with shape (N,).
    With ``quick`` true, only the first ``quick_sizes = (n_train, n_test)`` of each split,
    so that a lesson's quick mode runs in seconds.
    """
    from scratchnet.datasets import load_mnist

    x_train, y_train = load_mnist("train", source="bundled")
    x_test, y_test = load_mnist("test", source="bundled")
    if quick:
        n_train, n_test = quick_sizes
        x_train, y_train, x_test, y_test = (
            x_train[:n_train], y_train[:n_train], x_test[:n_test], y_test[:n_test])
    return x_train, y_train, x_test, y_test


SMOKE_RUN_HEADER = ("SMOKE RUN (--quick): tiny data and few steps. These numbers only show "
                    "that the code runs;\nthey mean nothing about the method. Run without "
                    "--quick for the real ones.")


class KeyNumbers(dict):
    """A lesson's key numbers, by label, printed together at its end.

    Lessons fill it as they go (``numbers["test MSE"] = "0.0123"``) so that the numbers a
    reader should remember are printed again in one table, with the lesson's run time,
    timed from when the object was made.
    """

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title = title
        self.started = time.perf_counter()

    def show(self, quick: bool) -> None:
        """Print every number, then the run time since construction.

        In quick mode the table is headed by :data:`SMOKE_RUN_HEADER`: the numbers of a
        run on tiny data with few steps say nothing about the method.
        """
        self["lesson run time"] = (f"{time.perf_counter() - self.started:.0f} s "
                                   f"(quick mode: {quick})")
        width = max(len(label) for label in self) + 2
        if quick:
            print(SMOKE_RUN_HEADER)
        print(self.title)
        for label, value in self.items():
            print(f"  {label:<{width}}{value}")
