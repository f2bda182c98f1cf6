"""Small helpers shared by the lesson scripts in ``lessons/``.

Every lesson runs top to bottom as ``python lessons/NN_topic.py`` and honours ``--quick``
(or the environment variable ``SCRATCHNET_QUICK=1``): tiny data and few steps, so the test
suite can run every lesson in seconds. Figures go to ``lessons/figures/NN_topic/``.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

__all__ = ["KeyNumbers", "bundled_mnist", "figure_dir", "quick_mode"]


def quick_mode() -> bool:
    """True when the lesson was started with ``--quick`` or ``SCRATCHNET_QUICK=1``."""
    return "--quick" in sys.argv[1:] or os.environ.get("SCRATCHNET_QUICK", "") == "1"


def figure_dir(lesson: str) -> Path:
    """The folder for a lesson's figures, ``figures/<lesson>/``, created if missing.

    Run as a script (``python lessons/02_convolution.py``), it is beside the script:
    ``lessons/figures/02_convolution/``. Stepped through in Jupyter or VS Code, where no
    script is running, it is under the working directory. ``lesson`` is the file's stem.
    """
    script = getattr(sys.modules.get("__main__"), "__file__", None)
    here = Path(script).resolve().parent if script and Path(script).stem == lesson else Path.cwd()
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
        """Print every number, then the run time since construction."""
        self["lesson run time"] = (f"{time.perf_counter() - self.started:.0f} s "
                                   f"(quick mode: {quick})")
        width = max(len(label) for label in self) + 2
        print(self.title)
        for label, value in self.items():
            print(f"  {label:<{width}}{value}")
