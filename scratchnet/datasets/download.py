"""Checksum-verified, atomic download of the full MNIST data set.

:func:`download_mnist` fetches the four gzip-compressed IDX files (70,000 images in all,
about 11 MiB) into the data home, trying a list of public mirrors in order. Every file is

* streamed into ``<name>.part`` next to its final place, with a progress bar,
* checked against its well-known MD5 checksum (and its announced length),
* moved into place with ``os.replace`` only when it is complete and correct.

A failed or interrupted transfer removes its ``.part`` file, so the data home never holds a
half-written file under a real name. Files already present with the right checksum are not
fetched again. Run it from the shell as ``scratchnet download mnist``.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

from tqdm.auto import tqdm

from scratchnet.datasets.mnist import data_home
from scratchnet.files import atomic_write

__all__ = ["MNIST_FILES", "MNIST_MIRRORS", "DownloadError", "download_mnist", "file_md5"]

#: Public mirrors of the original MNIST files, tried in this order.
MNIST_MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

#: File name → MD5 of the original gzip files (as published by torchvision and others).
MNIST_FILES: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}

_CHUNK = 1 << 16
_USER_AGENT = "scratchnet-downloader (+https://pypi.org/project/scratchnet/)"


class DownloadError(RuntimeError):
    """Every mirror failed for a file; the message lists each mirror's failure."""


class _MirrorFailure(Exception):
    """One mirror gave a wrong or incomplete file."""


def file_md5(path: str | os.PathLike[str]) -> str:
    """The MD5 hex digest of a file, read in chunks."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fetch(url: str, out: IO[bytes], name: str, expected_md5: str, timeout: float,
           progress: bool) -> None:
    """Stream ``url`` into the open file ``out``; check its length and MD5, raise on a problem."""
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    digest = hashlib.md5(usedforsecurity=False)
    received = 0
    with urllib.request.urlopen(request, timeout=timeout) as response:
        length_header = response.headers.get("Content-Length")
        length = int(length_header) if length_header and length_header.isdigit() else None
        with tqdm(
            total=length, unit="B", unit_scale=True, unit_divisor=1024,
            desc=name, disable=not progress, leave=False, file=sys.stderr,
        ) as bar:
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    if length is not None and received != length:
        raise _MirrorFailure(f"connection closed after {received} of {length} bytes")
    if digest.hexdigest() != expected_md5:
        raise _MirrorFailure(f"MD5 mismatch: got {digest.hexdigest()}, "
                             f"expected {expected_md5} ({received} bytes received)")


def download_mnist(
    dest: str | os.PathLike[str] | None = None,
    mirrors: Sequence[str] | None = None,
    progress: bool = True,
    files: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> Path:
    """Download the full MNIST set (4 IDX files) into ``dest``, verified and atomically.

    Parameters
    ----------
    dest : the folder that receives the files; default ``data_home() / "mnist"``, which is
        where ``load_mnist(source="full")`` looks. Created if missing.
    mirrors : base URLs tried in order for each file (``<mirror>/<file name>``); default
        :data:`MNIST_MIRRORS`.
    progress : show a progress bar per file and a line per mirror failure (on stderr).
    files : file name → expected MD5 hex digest; default :data:`MNIST_FILES`, the four
        MNIST files. Tests pass their own table to serve small generated files.
    timeout : seconds to wait for a mirror to connect or send data.

    Returns
    -------
    ``dest`` as a ``Path``.

    Raises
    ------
    DownloadError : every mirror failed for some file. The message lists each mirror's
        failure. Files completed before it stay (they are verified); nothing partial does.
    """
    dest = data_home() / "mnist" if dest is None else Path(dest).expanduser()
    if isinstance(mirrors, str):
        mirrors = (mirrors,)
    mirrors = tuple(MNIST_MIRRORS if mirrors is None else mirrors)
    files = dict(MNIST_FILES if files is None else files)
    if not mirrors:
        raise ValueError("download_mnist: mirrors is empty; give at least one base URL")
    dest.mkdir(parents=True, exist_ok=True)

    for name, expected_md5 in files.items():
        expected_md5 = expected_md5.lower()
        final = dest / name
        if final.is_file() and file_md5(final) == expected_md5:
            if progress:
                print(f"{name}: already present and verified", file=sys.stderr)
            continue
        for stale in dest.glob(f".{name}.*.part"):  # left by a crash that skipped cleanup
            stale.unlink(missing_ok=True)
        failures = []
        for mirror in mirrors:
            url = mirror.rstrip("/") + "/" + name
            try:  # a failed attempt leaves no file behind (see atomic_write)
                with atomic_write(final) as out:
                    _fetch(url, out, name, expected_md5, timeout, progress)
            except (OSError, http.client.HTTPException, ValueError, _MirrorFailure) as exc:
                reason = str(exc) if isinstance(exc, _MirrorFailure) else \
                    f"{type(exc).__name__}: {exc}"
                failures.append(f"  {url}: {reason}")
                if progress:
                    print(f"{name}: {url} failed ({reason})", file=sys.stderr)
                continue
            if progress:
                print(f"{name}: downloaded and verified (MD5 {expected_md5})", file=sys.stderr)
            break
        else:
            raise DownloadError(
                f"download_mnist: could not download {name}; every mirror failed:\n"
                + "\n".join(failures)
                + f"\nNothing partial was left in {dest}. Check the network connection and "
                  "try again, or pass other mirrors (mirrors=[...] or --mirror URL)."
            )
    return dest
