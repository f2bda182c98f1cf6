"""Shared pytest configuration.

* A hypothesis profile without deadlines: timing varies on shared CI machines, and the
  suite's own time budget is what matters.
* Every test starts from the library's default global state (dtype, backend, grad mode)
  and leaves it that way, whatever it changed.
"""

import pytest
from hypothesis import settings

import scratchnet as sn
from scratchnet import autograd, backend

settings.register_profile("ci", deadline=None, max_examples=30)
settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _restore_global_state():
    dtype = sn.get_default_dtype()
    backend_name = backend.current_backend()
    grad_enabled = sn.is_grad_enabled()
    yield
    sn.set_default_dtype(dtype)
    backend._state["name"] = backend_name
    autograd._Config.enable_grad = grad_enabled
