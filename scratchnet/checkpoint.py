"""Saving and loading a module's weights: ``sn.save(model, path)`` / ``sn.load(model, path)``.

A checkpoint is an ``.npz`` archive: one array per entry of ``model.state_dict()`` plus a
JSON string of metadata (the model's class and the scratchnet version). Two safety rules:

* **Nothing is written half.** The archive goes to a temporary file in the same folder and
  is then renamed over the target (``os.replace`` is atomic), so a crash mid-save leaves
  the previous checkpoint intact.
* **Loading runs no code.** Arrays are read with ``allow_pickle=False``: a file holding
  pickled Python objects is refused instead of being executed.

Before NumPy reads anything, the file's first bytes say what it is (its "magic number"),
so a file that is not a checkpoint is refused with what it really is: a single ``.npy``
array, a Python pickle, or not a NumPy file at all.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from scratchnet.checks import with_article
from scratchnet.files import atomic_write
from scratchnet.nn.module import Module

__all__ = ["CheckpointError", "load", "save"]

_META_KEY = "__scratchnet_meta__"

# How each kind of file begins. An .npz archive is a zip file: a zip starts with a local
# file header, or, when it holds no file, with the end-of-archive record.
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_NPY_MAGIC = b"\x93NUMPY"  # np.save's single array
_PICKLE_PROTOCOL = b"\x80"  # then the protocol number (2 to 5); protocols 0-1 have no mark

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


def _refuse_unless_zip(path: Path) -> None:
    """Raise a CheckpointError naming what the file is, unless it starts like a zip archive.

    np.load would guess from the same bytes, but for anything that is neither zip nor .npy
    it assumes a pickle and says so, which is wrong for a truncated or foreign file.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except FileNotFoundError:
        raise
    except OSError as exc:  # a folder, no permission, ...
        raise CheckpointError(f"{path}: not a readable .npz checkpoint ({exc})") from exc
    if head.startswith(_ZIP_MAGICS):
        return
    if head.startswith(_NPY_MAGIC):
        raise CheckpointError(f"{path}: a single array (.npy), not a checkpoint (.npz archive)")
    if head.startswith(_PICKLE_PROTOCOL) and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        raise CheckpointError(f"{path}: refused to load: it holds pickled Python objects "
                              f"(a pickle, protocol {head[1]}), not an .npz archive; "
                              "unpickling could run code")
    if not head:
        raise CheckpointError(f"{path}: not an .npz archive: the file is empty")
    raise CheckpointError(f"{path}: not an .npz archive (its first bytes are {head!r}; an "
                          f".npz starts with {_ZIP_MAGICS[0]!r})")


def read_checkpoint(path: str | os.PathLike[str]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays and the metadata stored in a checkpoint, without a model."""
    path = Path(path)
    _refuse_unless_zip(path)
    try:
        with np.load(path, allow_pickle=False) as archive:  # a zip: always an NpzFile
            arrays = {name: archive[name] for name in archive.files}
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise CheckpointError(f"{path}: not a readable .npz checkpoint: it starts like a zip "
                              f"archive but is damaged or cut short ({exc})") from exc
    except ValueError as exc:
        # NumPy raises ValueError both for an object array (stored pickled) and for an
        # entry whose header is damaged; its own message, kept here, says which.
        raise CheckpointError(f"{path}: refused to load: it holds pickled Python objects, "
                              f"which could run code, or a damaged entry ({exc})") from exc
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
        raise CheckpointError(f"{path}: saved from {with_article(str(meta.get('class')))}, "
                              f"loading into {with_article(type(module).__name__)}; pass "
                              "strict=False to load anyway")
    try:
        module.load_state_dict(arrays, strict=strict)
    except ValueError as exc:
        raise CheckpointError(f"{path}: {exc}") from exc
    return meta
