"""Shared pytest configuration.

* A hypothesis profile without deadlines: timing varies on shared CI machines, and the
  suite's own time budget is what matters.
* Every test starts from the library's default global state (dtype, backend, grad mode)
  and leaves it that way, whatever it changed.
* ``BACKENDS`` and the ``backend`` fixture: a test that takes ``backend`` runs once per
  array backend: "numpy" always, and "cupy" (marked ``gpu``) only where CuPy is installed
  and a GPU really runs a kernel. Without one the cupy cases are not generated at all:
  a skipped case on every CPU machine would be noise, not information.
  ``pytest -m gpu`` runs just the GPU cases; ``-m "not gpu"`` leaves them out.
* A temporary data home and figure folder for the whole session (``SCRATCHNET_DATA`` and
  ``SCRATCHNET_FIGURES``, inherited by the lessons the suite starts): the suite never
  writes into the student's ``data/`` or ``lessons/figures/``.
"""

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings

import scratchnet as sn
from scratchnet import autograd
from scratchnet import backend as backends

settings.register_profile("ci", deadline=None, max_examples=30)
settings.load_profile("ci")

_SESSION_DIRS: dict[str, str] = {}


def pytest_configure(config):
    """Point the data home and the lessons' figure folder at a fresh temporary folder.

    Runs once per process (each xdist worker has its own folder). Read-only things from the
    student's data home are made available so that the suite stays fast: the full MNIST
    (linked, if downloaded) and the cached MNIST classifier (copied, so that a test that
    retrains it cannot touch the original). Writes go to the temporary home only.
    """
    from scratchnet.datasets import data_home
    from scratchnet.models import default_classifier_path

    student_home = data_home()  # before the override
    root = Path(tempfile.mkdtemp(prefix="scratchnet-tests-"))
    home, figures = root / "data", root / "figures"
    (home / "models").mkdir(parents=True)
    figures.mkdir()
    if (student_home / "mnist").is_dir():
        (home / "mnist").symlink_to((student_home / "mnist").resolve(), target_is_directory=True)
    # The classifier's file name carries its version; a stale cache is never copied.
    cached = student_home / "models" / default_classifier_path().name
    if cached.is_file():
        shutil.copy2(cached, home / "models" / cached.name)
    _SESSION_DIRS.update(root=str(root), previous_data=os.environ.get("SCRATCHNET_DATA", ""),
                         previous_figures=os.environ.get("SCRATCHNET_FIGURES", ""))
    os.environ["SCRATCHNET_DATA"] = str(home)
    os.environ["SCRATCHNET_FIGURES"] = str(figures)


def pytest_unconfigure(config):
    """Restore the two variables and delete the session's temporary folder."""
    if not _SESSION_DIRS:
        return
    for name, key in (("SCRATCHNET_DATA", "previous_data"),
                      ("SCRATCHNET_FIGURES", "previous_figures")):
        if _SESSION_DIRS[key]:
            os.environ[name] = _SESSION_DIRS[key]
        else:
            os.environ.pop(name, None)
    shutil.rmtree(_SESSION_DIRS["root"], ignore_errors=True)
    _SESSION_DIRS.clear()


@pytest.fixture(autouse=True)
def _restore_global_state():
    dtype = sn.get_default_dtype()
    backend_name = backends.current_backend()
    grad_enabled = sn.is_grad_enabled()
    yield
    sn.set_default_dtype(dtype)
    backends._state["name"] = backend_name
    autograd._Config.enable_grad = grad_enabled


def _gpu_works() -> bool:
    """True when CuPy imports and a GPU computes ``2 * [0, 1, 2]`` correctly.

    ``find_spec`` first, so that machines without CuPy never try to import it. Any error
    after that (no driver, no device, a CUDA version mismatch) means "no GPU here": CuPy
    raises several unrelated exception types for these, so this catches them all.
    """
    if importlib.util.find_spec("cupy") is None:
        return False
    try:
        cupy = backends.get_backend_module("cupy")
        return int((cupy.arange(3) * 2).sum()) == 6
    except Exception:
        return False


BACKENDS = ["numpy"]
if _gpu_works():
    BACKENDS.append(pytest.param("cupy", marks=pytest.mark.gpu))


@pytest.fixture(params=BACKENDS)
def backend(request):
    """The array backend a test runs on: new tensors and parameters are created there.

    The test moves its own inputs and modules (``to_device(x, backend)``,
    ``module.to(backend)``); afterwards the backend is "numpy" again.
    """
    sn.set_backend(request.param)
    yield request.param
    sn.set_backend("numpy")
