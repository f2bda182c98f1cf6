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
"""

import importlib.util

import pytest
from hypothesis import settings

import scratchnet as sn
from scratchnet import autograd
from scratchnet import backend as backends

settings.register_profile("ci", deadline=None, max_examples=30)
settings.load_profile("ci")


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
