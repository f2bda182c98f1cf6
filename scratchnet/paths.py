"""Where scratchnet runs from: a source checkout (with ``lessons/`` and ``data/``) or an install."""

from __future__ import annotations

from pathlib import Path

__all__ = ["PACKAGE_DIR", "checkout_root"]

PACKAGE_DIR = Path(__file__).resolve().parent


def checkout_root(package_dir: Path = PACKAGE_DIR) -> Path | None:
    """The source checkout holding ``package_dir``, or None when the package is installed.

    A checkout is recognised by ``setup.cfg`` beside the package and a ``.git`` folder (or
    a worktree's ``.git`` file); an unpacked sdist has the first but not the second.
    """
    root = package_dir.parent
    if (root / "setup.cfg").is_file() and (root / ".git").exists():
        return root
    return None
