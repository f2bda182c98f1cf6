"""sn.save / sn.load: round trips, atomic writes, and refusing unsafe or mismatched files."""

from __future__ import annotations

import os
import pickle
import zipfile

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import nn
from scratchnet.checkpoint import CheckpointError, read_checkpoint
from scratchnet.checks import with_article


def small_model(seed: int = 0) -> nn.Module:
    return nn.Sequential(nn.Dense(4, 3, activation="relu", rng=seed), nn.BatchNorm1D(3),
                         nn.Dense(3, 2, rng=seed + 1))


def test_round_trip_restores_parameters_buffers_and_outputs(tmp_path):
    a = small_model(0)
    a(sn.Tensor(np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32)))  # moves BN stats
    path = sn.save(a, tmp_path / "model.npz", epoch=7)
    b = small_model(10)
    meta = sn.load(b, path)
    assert meta["class"] == "Sequential" and meta["epoch"] == 7
    assert meta["scratchnet"] == sn.__version__
    for (name, value), (_, loaded) in zip(a.state_dict().items(), b.state_dict().items()):
        np.testing.assert_array_equal(value, loaded, err_msg=name)
    x = sn.Tensor(np.ones((2, 4), np.float32))
    a.eval(), b.eval()
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())


def test_save_creates_folders_and_leaves_no_temporary_file(tmp_path):
    path = sn.save(small_model(), tmp_path / "deep" / "er" / "m.npz")
    assert path.is_file()
    assert os.listdir(path.parent) == ["m.npz"]


def test_a_failed_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    sn.save(small_model(0), path)
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(OSError, match="disk full"):
        sn.save(small_model(1), path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.npz"]


def test_mismatched_model_lists_every_problem(tmp_path):
    path = sn.save(small_model(), tmp_path / "m.npz")
    other = nn.Sequential(nn.Dense(4, 5), nn.BatchNorm1D(5), nn.Dense(5, 2))
    with pytest.raises(CheckpointError) as info:
        sn.load(other, path)
    message = str(info.value)
    for name in ("0.weight", "0.bias", "1.weight", "1.running_mean", "2.weight"):
        assert f"shape of {name}" in message


def test_a_different_class_is_refused_unless_not_strict(tmp_path):
    class Wrapper(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Dense(4, 3)

    path = sn.save(nn.Dense(4, 3), tmp_path / "dense.npz")
    with pytest.raises(CheckpointError, match="saved from a Dense, loading into a Wrapper"):
        sn.load(Wrapper(), path)
    wrapper = Wrapper()
    before = wrapper.state_dict()
    assert sn.load(wrapper, path, strict=False)["class"] == "Dense"  # no name matches
    for name, value in wrapper.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_object_arrays_are_refused(tmp_path):
    path = tmp_path / "objects.npz"
    np.savez(path, weights=np.array([{"a": 1}], dtype=object))
    with pytest.raises(CheckpointError, match="refused to load: it holds pickled Python objects"):
        sn.load(small_model(), path)


class _RunsCode:
    """Unpickling this would create a file: proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_pickle_is_refused_and_runs_no_code(tmp_path):
    marker = tmp_path / "code-ran"
    path = tmp_path / "evil.npz"
    path.write_bytes(pickle.dumps(_RunsCode(marker)))
    with pytest.raises(CheckpointError, match="pickled"):
        sn.load(small_model(), path)
    assert not marker.exists()


def test_a_pickle_inside_an_npz_member_runs_no_code(tmp_path):
    marker = tmp_path / "code-ran"
    path = tmp_path / "evil.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("weights.npy", pickle.dumps(_RunsCode(marker)))
    with pytest.raises(CheckpointError):
        sn.load(small_model(), path)
    assert not marker.exists()


def test_garbage_a_bare_array_and_foreign_archives_are_refused(tmp_path):
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"PK\x03\x04 definitely not a zip")
    with pytest.raises(CheckpointError, match=r"not a readable \.npz"):
        sn.load(small_model(), garbage)
    bare = tmp_path / "bare.npy"
    np.save(bare, np.zeros(3))
    with pytest.raises(CheckpointError, match="a single array"):
        sn.load(small_model(), bare)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, **small_model().state_dict())
    with pytest.raises(CheckpointError, match="no scratchnet metadata"):
        sn.load(small_model(), foreign)
    with pytest.raises(FileNotFoundError):
        sn.load(small_model(), tmp_path / "missing.npz")


def test_read_checkpoint_returns_arrays_and_metadata(tmp_path):
    path = sn.save(small_model(), tmp_path / "m.npz", note="hello")
    arrays, meta = read_checkpoint(path)
    assert set(arrays) == set(small_model().state_dict())
    assert meta["note"] == "hello"


# ---- what a file that is not a checkpoint really is ------------------------------------------
def test_corrupt_bytes_are_described_by_their_first_bytes_not_as_a_pickle(tmp_path):
    path = tmp_path / "corrupt.npz"
    path.write_bytes(b"hello, this is no numpy file")
    with pytest.raises(CheckpointError) as info:
        sn.load(small_model(), path)
    message = str(info.value)
    assert "not an .npz archive (its first bytes are b'hello, t'" in message
    assert "pickle" not in message


def test_an_empty_file_is_called_empty(tmp_path):
    path = tmp_path / "empty.npz"
    path.write_bytes(b"")
    with pytest.raises(CheckpointError, match=r"not an \.npz archive: the file is empty"):
        sn.load(small_model(), path)


def test_a_truncated_checkpoint_is_a_damaged_zip_not_a_pickle(tmp_path):
    path = sn.save(small_model(), tmp_path / "m.npz")
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(CheckpointError) as info:
        sn.load(small_model(), path)
    message = str(info.value)
    assert "starts like a zip archive but is damaged or cut short" in message
    assert "pickle" not in message


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_a_real_pickle_is_named_as_one_and_runs_no_code(tmp_path, protocol):
    marker = tmp_path / "code-ran"
    path = tmp_path / "evil.npz"
    path.write_bytes(pickle.dumps(_RunsCode(marker), protocol=protocol))
    with pytest.raises(CheckpointError, match=rf"refused to load: it holds pickled Python "
                                              rf"objects \(a pickle, protocol {protocol}\)"):
        sn.load(small_model(), path)
    assert not marker.exists()


def test_a_single_npy_array_is_named_as_one_even_when_damaged(tmp_path):
    path = tmp_path / "weights.npy"
    np.save(path, np.ones(3))
    with pytest.raises(CheckpointError, match=r"a single array \(\.npy\), not a checkpoint"):
        sn.load(small_model(), path)
    path.write_bytes(path.read_bytes()[:12])  # the magic number, then a cut header
    with pytest.raises(CheckpointError, match=r"a single array \(\.npy\), not a checkpoint"):
        sn.load(small_model(), path)


# ---- "a" or "an" in messages ------------------------------------------------------------------
@pytest.mark.parametrize("name, expected", [
    ("Autoencoder", "an Autoencoder"), ("Identity", "an Identity"), ("Dense", "a Dense"),
    ("LinearAutoencoder", "a LinearAutoencoder"), ("VAE", "a VAE"), ("GAN", "a GAN"),
    ("RBM", "an RBM"), ("MLP", "an MLP"), ("DBN", "a DBN"), ("A", "an A"),
])
def test_with_article_reads_like_english(name, expected):
    assert with_article(name) == expected


def test_a_class_mismatch_uses_an_before_a_vowel(tmp_path):
    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Dense(4, 3)

    path = sn.save(Encoder(), tmp_path / "encoder.npz")
    with pytest.raises(CheckpointError, match="saved from an Encoder, loading into a Sequential"):
        sn.load(small_model(), path)
