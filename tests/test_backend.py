"""The backend module, default dtypes, Tensor construction and seeding."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

import scratchnet as sn
import scratchnet.backend as backend
import scratchnet.functional as F
from scratchnet.random import get_generator


# ---------------------------------------------------------------------------------------
# Array modules
# ---------------------------------------------------------------------------------------
def test_get_array_module_numpy_and_scalars():
    assert backend.get_array_module(np.ones(3)) is np
    assert backend.get_array_module(np.ones(3), np.zeros((2, 2))) is np
    assert backend.get_array_module(1.0) is np
    assert backend.get_array_module(3, None, 2.5) is np
    assert backend.get_array_module() is np
    assert sn.get_array_module is backend.get_array_module


def test_get_array_module_ignores_none_cupy_entry(monkeypatch):
    # sys.modules["cupy"] = None is how Python records a failed import: still NumPy.
    monkeypatch.setitem(sys.modules, "cupy", None)
    assert backend.get_array_module(np.ones(2), 1.0) is np
    assert not backend.is_cupy_array(np.ones(2))


def test_is_cupy_array_never_imports_cupy(monkeypatch):
    monkeypatch.delitem(sys.modules, "cupy", raising=False)
    assert backend.is_cupy_array(np.ones(2)) is False
    assert "cupy" not in sys.modules


def test_set_backend_numpy_and_unknown():
    sn.set_backend("numpy")
    assert backend.current_backend() == "numpy"
    assert backend.get_backend_module() is np
    with pytest.raises(ValueError, match=r"set_backend: unknown backend 'torch'"):
        sn.set_backend("torch")
    with pytest.raises(ValueError, match="unknown backend"):
        sn.set_backend("NumPy")
    assert backend.current_backend() == "numpy"


def test_to_device_unknown_backend():
    with pytest.raises(ValueError, match=r"to_device: unknown backend 'gpu'"):
        backend.to_device(np.ones(2), "gpu")


def test_as_numpy_round_trip():
    a = np.arange(6.0).reshape(2, 3)
    assert backend.as_numpy(a) is a
    np.testing.assert_array_equal(backend.as_numpy([1, 2]), np.array([1, 2]))
    t = sn.Tensor(a)
    out = t.numpy()
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, a)
    np.testing.assert_array_equal(np.asarray(t), a)
    np.testing.assert_array_equal(sn.Tensor(out).numpy(), a)
    assert backend.to_device(a, "numpy") is a


def test_tensor_to_numpy_is_a_new_leaf_keeping_requires_grad():
    x = sn.Tensor(np.ones(3), requires_grad=True)
    y = (x * 2.0).to("numpy")
    assert y.creator is None and y.requires_grad
    np.testing.assert_array_equal(y.numpy(), 2 * np.ones(3))


# ---------------------------------------------------------------------------------------
# dtypes
# ---------------------------------------------------------------------------------------
def test_default_dtype_is_float32_on_import():
    code = ("import numpy as np, scratchnet as sn; "
            "assert sn.get_default_dtype() == np.float32; print(sn.Tensor(1.0).dtype)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "float32"


def test_python_floats_take_float32_default():
    sn.set_default_dtype(np.float32)
    assert sn.Tensor(1.0).dtype == np.float32
    assert sn.Tensor([1.0, 2.5]).dtype == np.float32
    assert sn.Tensor([[1, 2.0]]).dtype == np.float32


def test_integer_and_bool_lists_keep_integer_dtypes():
    assert sn.Tensor([1, 2, 3]).dtype == np.int64
    assert sn.Tensor(3).dtype == np.int64
    assert sn.Tensor([True, False]).dtype == np.bool_


def test_numpy_arrays_keep_their_dtype():
    assert sn.Tensor(np.ones(2, dtype=np.float64)).dtype == np.float64
    assert sn.Tensor(np.ones(2, dtype=np.float32)).dtype == np.float32
    assert sn.Tensor(np.arange(3, dtype=np.int32)).dtype == np.int32
    assert sn.Tensor(np.float64(1.5)).dtype == np.float64
    assert sn.Tensor(np.ones(2), dtype=np.float32).dtype == np.float32


def test_set_default_dtype_float64():
    sn.set_default_dtype(np.float64)
    assert sn.get_default_dtype() == np.float64
    assert sn.Tensor(1.0).dtype == np.float64
    assert sn.Tensor([0.5, 1.5]).dtype == np.float64
    # ... but explicit float32 data stays float32.
    assert sn.Tensor(np.ones(2, dtype=np.float32)).dtype == np.float32
    sn.set_default_dtype("float32")
    assert sn.Tensor(1.0).dtype == np.float32


@pytest.mark.parametrize("bad", [np.int32, np.int64, "int64", np.float16, bool])
def test_set_default_dtype_rejects_non_float32_64(bad):
    before = sn.get_default_dtype()
    with pytest.raises(ValueError, match="set_default_dtype: expected float32 or float64"):
        sn.set_default_dtype(bad)
    assert sn.get_default_dtype() == before


def test_tensor_copies_numpy_input():
    source = np.array([1.0, 2.0, 3.0])
    t = sn.Tensor(source)
    source[0] = 100.0
    np.testing.assert_array_equal(t.numpy(), [1.0, 2.0, 3.0])
    # Copying a Tensor copies its data too.
    u = sn.Tensor(t)
    t.data[1] = -5.0
    np.testing.assert_array_equal(u.numpy(), [1.0, 2.0, 3.0])


def test_numpy_view_shares_memory_with_tensor():
    t = sn.Tensor(np.zeros(3))
    view = t.numpy()
    view[0] = 7.0
    assert t.data[0] == 7.0


# ---------------------------------------------------------------------------------------
# Seeding
# ---------------------------------------------------------------------------------------
def _mask(**kwargs):
    return F.dropout(sn.Tensor(np.ones(1000)), p=0.5, **kwargs).numpy() != 0


def test_manual_seed_makes_dropout_reproducible():
    sn.manual_seed(123)
    first = _mask()
    second = _mask()
    sn.manual_seed(123)
    np.testing.assert_array_equal(_mask(), first)
    np.testing.assert_array_equal(_mask(), second)
    assert not np.array_equal(first, second)      # the stream advances
    sn.manual_seed(124)
    assert not np.array_equal(_mask(), first)
    assert 400 < first.sum() < 600


def test_manual_seed_returns_the_library_generator():
    g = sn.manual_seed(5)
    assert get_generator() is g
    assert sn.get_generator() is g


def test_rng_argument_independent_of_global_stream():
    sn.manual_seed(0)
    reference = [_mask(), _mask()]

    sn.manual_seed(0)
    a = _mask()
    own = _mask(rng=np.random.default_rng(7))   # must not advance the library generator
    b = _mask()
    np.testing.assert_array_equal(a, reference[0])
    np.testing.assert_array_equal(b, reference[1])

    # An int seed and a fresh Generator with that seed draw the same mask.
    np.testing.assert_array_equal(_mask(rng=7), own)
    np.testing.assert_array_equal(_mask(rng=np.random.default_rng(7)), own)
    # The same int seed twice gives the same mask; the global seed does not matter.
    sn.manual_seed(99)
    np.testing.assert_array_equal(_mask(rng=7), own)


def test_shared_generator_advances():
    g = np.random.default_rng(3)
    first = _mask(rng=g)
    second = _mask(rng=g)
    assert not np.array_equal(first, second)


def test_dropout_scaling_and_eval_identity():
    x = sn.Tensor(np.ones(10_000), requires_grad=True)
    y = F.dropout(x, p=0.25, rng=0)
    values = np.unique(y.numpy())
    np.testing.assert_allclose(values, [0.0, 1 / 0.75], rtol=1e-6)
    assert y.dtype == np.float64
    assert abs(y.numpy().mean() - 1.0) < 0.05
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.numpy())   # gradient = mask * scale
    assert F.dropout(x, p=0.25, training=False) is x
    assert F.dropout(x, p=0.0) is x


def test_dropout_keeps_float32():
    y = F.dropout(sn.Tensor(np.ones(8, dtype=np.float32)), p=0.5, rng=1)
    assert y.dtype == np.float32


@pytest.mark.parametrize("bad", [1.5, True, "3"])
def test_get_generator_rejects_bad_rng(bad):
    message = "rng must be None, an int seed or a numpy.random.Generator"
    with pytest.raises(TypeError, match=re.escape(message)):
        get_generator(bad)
