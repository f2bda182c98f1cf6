"""Array backends: NumPy always, CuPy when asked for.

Every compute function in scratchnet asks its inputs which array module they live in
(``xp = get_array_module(x)``) and calls ``xp.exp``, ``xp.matmul``, ... on it, so the same
code runs on the CPU (NumPy) and on an NVIDIA GPU (CuPy). This is the only module that
imports CuPy, and it does so lazily: importing scratchnet never needs a GPU.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any

import numpy as np

__all__ = [
    "BackendError",
    "as_numpy",
    "current_backend",
    "get_array_module",
    "get_backend_module",
    "is_array",
    "is_cupy_array",
    "set_backend",
    "to_device",
]

BACKENDS = ("numpy", "cupy")
_CUPY_HINT = (
    "CuPy is not installed. Install the GPU extra for your CUDA version, for example "
    "`pip install 'scratchnet[gpu]'` (CUDA 12, package cupy-cuda12x)."
)


class BackendError(RuntimeError):
    """Raised for an unavailable backend or arrays from two backends in one operation."""


_state = {"name": "numpy"}


def _import_cupy() -> ModuleType:
    try:
        import cupy
    except ImportError as exc:
        raise BackendError(_CUPY_HINT) from exc
    return cupy


def is_array(value: Any) -> bool:
    """True for a ``numpy.ndarray`` or a ``cupy.ndarray`` (not for scalars or lists)."""
    return isinstance(value, np.ndarray) or is_cupy_array(value)


def is_cupy_array(array: Any) -> bool:
    """True when ``array`` is a ``cupy.ndarray``; never imports CuPy itself."""
    cupy = sys.modules.get("cupy")
    return cupy is not None and isinstance(array, cupy.ndarray)


def get_array_module(*arrays: Any) -> ModuleType:
    """Return ``numpy`` or ``cupy``: the module that owns ``arrays``.

    Non-array arguments (Python numbers, ``None``) are ignored. Arrays from both
    modules in one call raise :class:`BackendError`, because NumPy would otherwise
    try (and fail, slowly) to copy device memory implicitly.
    """
    # Fast path: if CuPy was never imported, no argument can be a CuPy array.
    if "cupy" not in sys.modules:
        return np
    n_cupy = sum(is_cupy_array(a) for a in arrays)
    if n_cupy == 0:
        return np
    n_numpy = sum(isinstance(a, np.ndarray) for a in arrays)
    if n_numpy:
        kinds = ", ".join(type(a).__module__.split(".")[0] + "." + type(a).__name__
                          for a in arrays if a is not None)
        raise BackendError(
            f"cannot mix NumPy and CuPy arrays in one operation (got {kinds}); "
            "move everything to one backend first with tensor.to('numpy') or tensor.to('cupy')"
        )
    return sys.modules["cupy"]


def set_backend(name: str) -> None:
    """Choose where new tensors are created: ``"numpy"`` (default) or ``"cupy"``."""
    if name not in BACKENDS:
        raise ValueError(f"set_backend: unknown backend {name!r}; expected one of {BACKENDS}")
    if name == "cupy":
        _import_cupy()
    _state["name"] = name


def current_backend() -> str:
    """The name of the backend new tensors are created on."""
    return _state["name"]


def get_backend_module(name: str | None = None) -> ModuleType:
    """The array module for backend ``name`` (default: the current backend)."""
    name = current_backend() if name is None else name
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; expected one of {BACKENDS}")
    return _import_cupy() if name == "cupy" else np


def to_device(array: Any, backend: str) -> Any:
    """Copy ``array`` to ``backend`` ("numpy" or "cupy"); a no-op if it is already there."""
    if backend == "numpy":
        return as_numpy(array)
    if backend == "cupy":
        cupy = _import_cupy()
        return array if isinstance(array, cupy.ndarray) else cupy.asarray(array)
    raise ValueError(f"to_device: unknown backend {backend!r}; expected one of {BACKENDS}")


def as_numpy(array: Any) -> np.ndarray:
    """Return ``array`` as a NumPy array, copying it from the GPU if needed."""
    if is_cupy_array(array):
        return array.get()
    return np.asarray(array)
