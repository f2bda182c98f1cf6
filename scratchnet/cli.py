"""The ``scratchnet`` command."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import scratchnet


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scratchnet",
        description="scratchnet: unsupervised deep learning built from scratch on NumPy. "
                    "The lessons live in the lessons/ folder of a checkout; run one with "
                    "`python lessons/00_autodiff.py`.",
    )
    parser.add_argument("--version", action="version",
                        version=f"scratchnet {scratchnet.__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    build_parser().parse_args(argv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
