"""Shared helpers for models that are trained once and cached in the data home.

A cached file records the settings it was trained with (``recipe``) and the version of
the training code (``version``); a file is loaded only when both match what is asked for,
and settings other than the defaults get a file of their own (a short hash in its name).
Used by :mod:`scratchnet.models.pretrained` (DCGAN, VAE) and
:mod:`scratchnet.models.classifier`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from scratchnet.checkpoint import load, read_checkpoint
from scratchnet.datasets import data_home


def settings(fn: str, defaults: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``defaults`` updated by ``changes``; a key that ``defaults`` lacks is a TypeError."""
    unknown = sorted(set(changes) - set(defaults))
    if unknown:
        raise TypeError(f"{fn}: unknown settings {unknown}; expected some of "
                        f"{sorted(defaults)}")
    return {**defaults, **changes}


def as_json(recipe: dict[str, Any]) -> dict[str, Any]:
    """The settings as they read back from a checkpoint's JSON metadata (tuples as lists)."""
    return json.loads(json.dumps(recipe, sort_keys=True))


def settings_path(stem: str, recipe: dict[str, Any], defaults: dict[str, Any]) -> Path:
    """``<data home>/models/<stem>[_<hash>].npz``.

    The hash (8 hex digits of the SHA-256 of the settings as JSON) is added only when
    ``recipe`` differs from ``defaults``, so every other recipe has a file of its own.
    """
    if recipe != defaults:
        text = json.dumps(as_json(recipe), sort_keys=True)
        stem += "_" + hashlib.sha256(text.encode()).hexdigest()[:8]
    return data_home() / "models" / f"{stem}.npz"


def load_if_same(model: Any, path: Path, recipe: dict[str, Any], version: int,
                 unversioned: int | None = None) -> bool:
    """Load ``path`` into ``model`` if it exists and was trained with ``recipe`` by ``version``.

    ``unversioned`` is the version assumed for a file whose metadata has no ``version``
    (one written before the version was stored); None means such a file never matches.
    Returns whether the weights were loaded.
    """
    if not path.is_file():
        return False
    _, meta = read_checkpoint(path)
    if meta.get("version", unversioned) != version or meta.get("recipe") != as_json(recipe):
        return False
    load(model, path)
    return True
