"""Small helpers shared by the lesson scripts in ``lessons/``.

Every lesson runs top to bottom as ``python lessons/NN_topic.py`` and honours ``--quick``
(or the environment variable ``SCRATCHNET_QUICK=1``): tiny data and few steps, so the test
suite can run every lesson in seconds. Figures go to ``lessons/figures/NN_topic/``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["figure_dir", "quick_mode"]


def quick_mode() -> bool:
    """True when the lesson was started with ``--quick`` or ``SCRATCHNET_QUICK=1``."""
    return "--quick" in sys.argv[1:] or os.environ.get("SCRATCHNET_QUICK", "") == "1"


def figure_dir(lesson_file: str | os.PathLike[str]) -> Path:
    """The folder ``figures/<lesson name>/`` beside a lesson file, created if missing.

    Call it as ``figure_dir(__file__)``. Inside Jupyter, where ``__file__`` is not defined,
    pass the lesson's name, e.g. ``figure_dir("00_autodiff")``: figures then go to
    ``figures/00_autodiff/`` under the working directory.
    """
    path = Path(lesson_file)
    if path.suffix == ".py":
        folder = path.resolve().parent / "figures" / path.stem
    else:
        folder = Path("figures") / path.name
    folder.mkdir(parents=True, exist_ok=True)
    return folder
