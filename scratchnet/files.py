"""Writing files so that nothing is ever left half-written."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

__all__ = ["atomic_write"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO]:
    """Write to a temporary ``*.part`` file beside ``path``, then rename it to ``path``.

    ``os.replace`` within one folder is atomic: readers see the old file or the complete
    new one, never a torn write. If the ``with`` block raises (a full disk, a checksum
    mismatch, Ctrl-C), the temporary file is removed and ``path`` is left as it was.
    The temporary name is unique (two writers never share it), and the finished file
    gets the permissions a newly created file normally has. Missing folders are created.

    Example::

        with atomic_write("model.npz") as f:
            np.savez(f, weights=w)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, mode) as f:
            yield f
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates it private (0600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
