"""atomic_write: the one way scratchnet writes files (checkpoints, figures, data)."""

import os
import stat

import pytest

from scratchnet.files import atomic_write


def test_writes_creates_folders_and_replaces(tmp_path):
    path = tmp_path / "a" / "b" / "out.bin"
    with atomic_write(path) as f:
        f.write(b"first")
    with atomic_write(path) as f:
        f.write(b"second")
    assert path.read_bytes() == b"second"
    assert os.listdir(path.parent) == ["out.bin"]


def test_a_failure_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="checksum"), atomic_write(path) as f:
        f.write(b"half of the new")
        raise RuntimeError("checksum mismatch")
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["out.bin"]


def test_the_file_gets_normal_permissions(tmp_path):
    mask = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "out.bin") as f:
            f.write(b"x")
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "out.bin").stat().st_mode) == 0o644


def test_text_mode(tmp_path):
    with atomic_write(tmp_path / "note.txt", "w") as f:
        f.write("hello\n")
    assert (tmp_path / "note.txt").read_text() == "hello\n"
