"""Saving and loading a module's weights: ``sn.save(model, path)`` / ``sn.load(model, path)``.

A checkpoint is an ``.npz`` archive: one array per entry of ``model.state_dict()`` plus a
JSON string of metadata (the model's class and the scratchnet version). Two safety rules:

* **Nothing is written half.** The archive goes to a temporary file in the same folder and
  is then renamed over the target (``os.replace`` is atomic), so a crash mid-save leaves
  the previous checkpoint intact.
* **Loading runs no code.** Arrays are read with ``allow_pickle=False``: a file holding
  pickled Python objects is refused instead of being executed.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from scratchnet.files import atomic_write
from scratchnet.nn.module import Module

__all__ = ["CheckpointError", "load", "save"]

_META_KEY = "__scratchnet_meta__"


class CheckpointError(ValueError):
    """A checkpoint file is unreadable, unsafe, or does not match the model."""


def save(module: Module, path: str | os.PathLike[str], **metadata: Any) -> Path:
    """Write ``module.state_dict()`` to ``path`` atomically; returns the path.

    Extra keyword arguments (numbers, strings, lists) are stored in the JSON metadata,
    e.g. ``sn.save(model, "ae.npz", epoch=10)``.
    """
    from scratchnet import __version__

    path = Path(path)
    meta = {"class": type(module).__name__, "scratchnet": __version__, **metadata}
    arrays = module.state_dict()
    if _META_KEY in arrays:
        raise CheckpointError(f"save: a parameter may not be called {_META_KEY!r}")
    arrays[_META_KEY] = np.array(json.dumps(meta))
    with atomic_write(path) as f:
        np.savez(f, **arrays)
    return path


def read_checkpoint(path: str | os.PathLike[str]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays and the metadata stored in a checkpoint, without a model."""
    path = Path(path)
    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise CheckpointError(f"{path}: a single array, not a checkpoint (.npz archive)")
        with archive:
            arrays = {name: archive[name] for name in archive.files}
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise CheckpointError(f"{path}: not a readable .npz checkpoint ({exc})") from exc
    except ValueError as exc:  # NumPy's refusal of pickled data and object arrays
        raise CheckpointError(f"{path}: refused to load: it holds pickled Python objects, "
                              f"which could run code ({exc})") from exc
    if _META_KEY not in arrays:
        raise CheckpointError(f"{path}: no scratchnet metadata; was it written by sn.save?")
    meta = json.loads(str(arrays.pop(_META_KEY)))
    return arrays, meta


def load(module: Module, path: str | os.PathLike[str], strict: bool = True) -> dict[str, Any]:
    """Load a checkpoint written by :func:`save` into ``module``, in place; returns its metadata.

    With ``strict`` the checkpoint must come from the same class and match every
    parameter name and shape (all mismatches are listed in one error).
    """
    arrays, meta = read_checkpoint(path)
    if strict and meta.get("class") != type(module).__name__:
        raise CheckpointError(f"{path}: saved from a {meta.get('class')}, loading into a "
                              f"{type(module).__name__}; pass strict=False to load anyway")
    try:
        module.load_state_dict(arrays, strict=strict)
    except ValueError as exc:
        raise CheckpointError(f"{path}: {exc}") from exc
    return meta
