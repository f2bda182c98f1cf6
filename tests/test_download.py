"""download_mnist against local HTTP mirrors on 127.0.0.1 (no test reaches the internet).

The mirrors serve small generated IDX files; their MD5s are passed in with ``files=`` in
place of the real MNIST checksum table. Each failure mode must leave nothing half-written:
no file under its final name unless verified, and no ``*.part`` file at all.
"""

from __future__ import annotations

import hashlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from scratchnet.datasets import download
from scratchnet.datasets.download import (
    MNIST_FILES,
    MNIST_MIRRORS,
    DownloadError,
    download_mnist,
    file_md5,
)
from scratchnet.datasets.idx import read_idx, write_idx
from scratchnet.datasets.mnist import load_mnist

N_TRAIN, N_TEST = 12, 5


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch):
    """A proxy from the environment must not see (or intercept) the local mirrors."""
    for var in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture(scope="module")
def mnist_like(tmp_path_factory):
    """Four generated MNIST-shaped IDX files: {name: bytes}, and their MD5 table."""
    folder = tmp_path_factory.mktemp("source")
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (N_TRAIN, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, N_TRAIN, dtype=np.uint8),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (N_TEST, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, N_TEST, dtype=np.uint8),
    }
    blobs = {name: write_idx(folder / name, a).read_bytes() for name, a in arrays.items()}
    md5s = {name: hashlib.md5(b, usedforsecurity=False).hexdigest()
            for name, b in blobs.items()}
    return blobs, md5s, arrays


class Mirror:
    """A local HTTP server; ``routes[name] = (mode, body)`` with mode "ok" or "drop"."""

    def __init__(self):
        self.routes: dict[str, tuple[str, bytes]] = {}
        self.requests: list[str] = []
        mirror = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                name = self.path.rsplit("/", 1)[-1]
                mirror.requests.append(name)
                if name not in mirror.routes:
                    self.send_error(404)
                    return
                mode, body = mirror.routes[name]
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if mode == "ok":
                    self.wfile.write(body)
                else:  # "drop": promise the whole body, send half, hang up
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/mnist/"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,),
                                       daemon=True)
        self.thread.start()

    def serve(self, blobs, mode="ok", corrupt=False):
        for name, body in blobs.items():
            if corrupt:  # same length, wrong bytes
                body = bytes(reversed(body))
            self.routes[name] = (mode, body)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def mirrors():
    made = []

    def make():
        made.append(Mirror())
        return made[-1]

    yield make
    for mirror in made:
        mirror.close()


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_real_table_and_mirrors_are_the_published_ones():
    assert set(MNIST_FILES) == {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"}
    assert MNIST_FILES["train-images-idx3-ubyte.gz"] == "f68b3c2dcbeaaa9fbdd348bbdeb94873"
    assert all(len(md5) == 32 for md5 in MNIST_FILES.values())
    assert all(url.startswith("https://") and url.endswith("/") for url in MNIST_MIRRORS)


def test_download_success_then_load_full(tmp_path, mirrors, mnist_like, monkeypatch):
    blobs, md5s, arrays = mnist_like
    mirror = mirrors()
    mirror.serve(blobs)
    dest = download_mnist(tmp_path / "mnist", mirrors=[mirror.url], files=md5s,
                          progress=False)
    assert dest == tmp_path / "mnist"
    assert _leftovers(dest) == sorted(blobs)
    for name in blobs:
        assert file_md5(dest / name) == md5s[name]
        np.testing.assert_array_equal(read_idx(dest / name), arrays[name])
    monkeypatch.setenv("SCRATCHNET_DATA", str(tmp_path))
    images, labels = load_mnist("test", source="full")
    assert images.shape == (N_TEST, 1, 28, 28) and labels.shape == (N_TEST,)
    np.testing.assert_array_equal(labels, arrays["t10k-labels-idx1-ubyte.gz"])


def test_default_destination_is_the_data_home(tmp_path, mirrors, mnist_like, monkeypatch):
    blobs, md5s, _ = mnist_like
    mirror = mirrors()
    mirror.serve(blobs)
    monkeypatch.setenv("SCRATCHNET_DATA", str(tmp_path / "home"))
    assert download_mnist(mirrors=[mirror.url], files=md5s, progress=False) == \
        tmp_path / "home" / "mnist"
    assert _leftovers(tmp_path / "home" / "mnist") == sorted(blobs)


def test_progress_output(tmp_path, mirrors, mnist_like, capsys):
    blobs, md5s, _ = mnist_like
    mirror = mirrors()
    mirror.serve(blobs)
    download_mnist(tmp_path, mirrors=[mirror.url], files=md5s, progress=True)
    err = capsys.readouterr().err
    assert "train-images-idx3-ubyte.gz: downloaded and verified" in err


def test_checksum_mismatch_on_first_mirror_falls_back_to_second(tmp_path, mirrors,
                                                                 mnist_like, capsys):
    blobs, md5s, _ = mnist_like
    bad, good = mirrors(), mirrors()
    bad.serve(blobs, corrupt=True)
    good.serve(blobs)
    download_mnist(tmp_path, mirrors=[bad.url, good.url], files=md5s, progress=True)
    assert _leftovers(tmp_path) == sorted(blobs)
    assert all(file_md5(tmp_path / n) == md5s[n] for n in blobs)
    assert sorted(bad.requests) == sorted(good.requests) == sorted(blobs)
    assert "MD5 mismatch" in capsys.readouterr().err


def test_all_mirrors_bad_raises_and_leaves_nothing(tmp_path, mirrors, mnist_like):
    blobs, md5s, _ = mnist_like
    first, second = mirrors(), mirrors()
    first.serve(blobs, corrupt=True)
    second.serve(blobs, corrupt=True)
    with pytest.raises(DownloadError) as info:
        download_mnist(tmp_path / "d", mirrors=[first.url, second.url], files=md5s,
                       progress=False)
    message = str(info.value)
    assert "download_mnist" in message and "train-images-idx3-ubyte.gz" in message
    assert first.url in message and second.url in message
    assert message.count("MD5 mismatch") == 2
    assert _leftovers(tmp_path / "d") == []


def test_dropped_connection_leaves_nothing_half_written(tmp_path, mirrors, mnist_like):
    blobs, md5s, _ = mnist_like
    mirror = mirrors()
    mirror.serve(blobs, mode="drop")
    with pytest.raises(DownloadError, match=r"closed after|IncompleteRead|Connection"):
        download_mnist(tmp_path, mirrors=[mirror.url], files=md5s, progress=False)
    assert _leftovers(tmp_path) == []


def test_dropped_connection_then_good_mirror(tmp_path, mirrors, mnist_like):
    blobs, md5s, _ = mnist_like
    dropping, good = mirrors(), mirrors()
    dropping.serve(blobs, mode="drop")
    good.serve(blobs)
    download_mnist(tmp_path, mirrors=[dropping.url, good.url], files=md5s, progress=False)
    assert _leftovers(tmp_path) == sorted(blobs)


def test_unreachable_and_missing_mirrors_are_listed(tmp_path, mirrors, mnist_like):
    _, md5s, _ = mnist_like
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    dead = f"http://127.0.0.1:{closed_port}/mnist/"
    empty = mirrors()  # answers 404 for everything
    with pytest.raises(DownloadError) as info:
        download_mnist(tmp_path, mirrors=[dead, empty.url], files=md5s, progress=False,
                       timeout=5)
    message = str(info.value)
    assert dead in message and "404" in message
    assert _leftovers(tmp_path) == []


def test_existing_verified_files_are_skipped(tmp_path, mirrors, mnist_like):
    blobs, md5s, _ = mnist_like
    mirror = mirrors()
    mirror.serve(blobs)
    download_mnist(tmp_path, mirrors=[mirror.url], files=md5s, progress=False)
    assert len(mirror.requests) == 4
    # Damage one file: only that one is fetched again.
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(b"garbage")
    download_mnist(tmp_path, mirrors=[mirror.url], files=md5s, progress=False)
    assert mirror.requests[4:] == ["t10k-labels-idx1-ubyte.gz"]
    assert file_md5(tmp_path / "t10k-labels-idx1-ubyte.gz") == md5s["t10k-labels-idx1-ubyte.gz"]


def test_a_stale_part_file_is_replaced(tmp_path, mirrors, mnist_like):
    blobs, md5s, _ = mnist_like
    mirror = mirrors()
    mirror.serve(blobs)
    # atomic_write's temporary name, as a power cut mid-download would leave it
    (tmp_path / ".train-images-idx3-ubyte.gz.k3x9q1.part").write_bytes(b"left by a crash")
    download_mnist(tmp_path, mirrors=[mirror.url], files=md5s, progress=False)
    assert _leftovers(tmp_path) == sorted(blobs)


def test_interrupt_mid_transfer_removes_the_part_file(tmp_path, mirrors, mnist_like,
                                                      monkeypatch):
    blobs, md5s, _ = mnist_like
    mirror = mirrors()
    mirror.serve(blobs)

    class InterruptingBar:
        def __init__(self, *args, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def update(self, n):
            raise KeyboardInterrupt

    monkeypatch.setattr(download, "tqdm", InterruptingBar)
    with pytest.raises(KeyboardInterrupt):
        download_mnist(tmp_path, mirrors=[mirror.url], files=md5s, progress=False)
    assert _leftovers(tmp_path) == []


def test_a_single_mirror_string_is_accepted(tmp_path, mirrors, mnist_like):
    blobs, md5s, _ = mnist_like
    mirror = mirrors()
    mirror.serve(blobs)
    download_mnist(tmp_path, mirrors=mirror.url, files=md5s, progress=False)
    assert _leftovers(tmp_path) == sorted(blobs)


def test_empty_mirror_list_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="download_mnist: mirrors is empty"):
        download_mnist(tmp_path, mirrors=[], files={})
