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
