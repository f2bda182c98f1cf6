"""Bad input raises an error that says what was wrong (docs/architecture.md, invariant 5).

Every check uses ``match=`` on the message: the error must name the function and what it
got, not just be of the right type.
"""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

import scratchnet as sn
import scratchnet.backend as backend
import scratchnet.functional as F
from scratchnet.backend import BackendError


# ---------------------------------------------------------------------------------------
# Shapes
# ---------------------------------------------------------------------------------------
def test_matmul_shape_mismatch_shows_both_shapes():
    a = sn.Tensor(np.ones((2, 3)))
    b = sn.Tensor(np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"matmul.*\(2, 3\).*\(4, 5\)"):
        a @ b


def test_matmul_vector_mismatch_shows_both_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4,\)"):
        sn.Tensor(np.ones((2, 3))) @ sn.Tensor(np.ones(4))


def test_matmul_scalar_operand():
    with pytest.raises(ValueError, match=r"matmul.*at least 1 dimension"):
        sn.Tensor(np.ones((2, 2))) @ sn.Tensor(2.0)


def test_reshape_to_incompatible_shape():
    x = sn.Tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"reshape.*\(2, 3\).*6 elements.*\(4, 2\)"):
        x.reshape(4, 2)


def test_reduction_axis_out_of_range():
    with pytest.raises(ValueError, match=r"axis 2 is out of range.*2 dimensions"):
        sn.Tensor(np.ones((2, 3))).sum(axis=2)


# ---------------------------------------------------------------------------------------
# backward() and grad()
# ---------------------------------------------------------------------------------------
def test_backward_on_non_scalar_needs_grad():
    x = sn.Tensor(np.ones(3), requires_grad=True)
    y = x * 2.0
    with pytest.raises(RuntimeError, match=r"\(3,\).*needs grad"):
        y.backward()


def test_backward_with_wrong_shaped_grad():
    x = sn.Tensor(np.ones((2, 3)), requires_grad=True)
    y = x * 2.0
    with pytest.raises(ValueError, match=r"grad has shape \(3, 2\).*output has shape \(2, 3\)"):
        y.backward(np.ones((3, 2)))
    # A broadcastable but different shape is still refused.
    with pytest.raises(ValueError, match=r"grad has shape \(3,\)"):
        y.backward(np.ones(3))


def test_backward_on_tensor_without_grad():
    x = sn.Tensor(np.ones(3))
    y = (x * 2.0).sum()
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()


def test_requires_grad_on_integer_tensor():
    with pytest.raises(TypeError, match=r"floating-point.*int64"):
        sn.Tensor(np.array([1, 2, 3]), requires_grad=True)
    with pytest.raises(TypeError, match="floating-point"):
        sn.Tensor([1, 2]).requires_grad_()


def test_requires_grad_false_on_non_leaf():
    x = sn.Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"non-leaf.*detach"):
        (x * 2.0).requires_grad_(False)


def test_grad_on_unused_input_without_allow_unused():
    x = sn.Tensor(np.ones(3), requires_grad=True)
    unused = sn.Tensor(np.ones(3), requires_grad=True)
    y = (x * x).sum()
    with pytest.raises(RuntimeError, match=r"input 1 is not used.*allow_unused=True"):
        sn.grad(y, [x, unused])
    gx, gu = sn.grad(y, [x, unused], allow_unused=True)
    assert gu is None
    np.testing.assert_allclose(gx.numpy(), 2 * np.ones(3))


def test_grad_input_without_requires_grad():
    x = sn.Tensor(np.ones(3), requires_grad=True)
    c = sn.Tensor(np.ones(3))
    with pytest.raises(RuntimeError, match="input 1 does not require grad"):
        sn.grad((x * c).sum(), [x, c])


def test_grad_wrong_number_of_grad_outputs():
    x = sn.Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(ValueError, match="1 grad_outputs for 2 outputs"):
        sn.grad([x * 2.0, x * 3.0], x, grad_outputs=[np.ones(3)])


def test_tensor_of_strings():
    with pytest.raises(TypeError, match="cannot hold data"):
        sn.Tensor(["a", "b"])


def test_item_on_many_elements():
    with pytest.raises(ValueError, match=r"item.*3 elements"):
        sn.Tensor(np.ones(3)).item()


# ---------------------------------------------------------------------------------------
# Backends: CuPy is simulated, never required
# ---------------------------------------------------------------------------------------
class _FakeCupyArray:
    """Stands in for cupy.ndarray: deliberately *not* a numpy.ndarray subclass."""

    def __init__(self, shape):
        self.shape = shape
        self.dtype = np.dtype(np.float32)
        self.ndim = len(shape)
        self.size = int(np.prod(shape))


@pytest.fixture
def fake_cupy(monkeypatch):
    module = types.ModuleType("cupy")
    module.ndarray = _FakeCupyArray
    monkeypatch.setitem(sys.modules, "cupy", module)
    return module


def test_get_array_module_refuses_numpy_cupy_mix(fake_cupy):
    gpu = _FakeCupyArray((3,))
    assert not isinstance(gpu, np.ndarray)
    assert backend.is_cupy_array(gpu)
    assert backend.get_array_module(gpu) is fake_cupy
    with pytest.raises(BackendError, match=r"(?s)NumPy and CuPy.*tensor\.to"):
        backend.get_array_module(np.ones(3), gpu)


def test_function_names_the_op_on_backend_mix(fake_cupy):
    cpu = sn.Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    gpu = sn.Tensor._wrap(_FakeCupyArray((3,)))
    with pytest.raises(BackendError, match=r"^Add: cannot mix NumPy and CuPy"):
        cpu + gpu
    with pytest.raises(BackendError, match=r"^Mul: cannot mix NumPy and CuPy"):
        gpu * cpu


def test_set_backend_cupy_without_cupy_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # makes `import cupy` fail
    before = backend.current_backend()
    with pytest.raises(BackendError, match=r"(?s)CuPy is not installed.*pip.*cupy-cuda12x"):
        sn.set_backend("cupy")
    assert backend.current_backend() == before


def test_tensor_to_cupy_without_cupy(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)
    with pytest.raises(BackendError, match="pip"):
        sn.Tensor(np.ones(2)).to("cupy")


def test_set_backend_unknown_name():
    with pytest.raises(ValueError, match=r"unknown backend 'jax'.*numpy.*cupy"):
        sn.set_backend("jax")


# ---------------------------------------------------------------------------------------
# Losses
# ---------------------------------------------------------------------------------------
def test_cross_entropy_label_out_of_range():
    logits = sn.Tensor(np.zeros((3, 4)), requires_grad=True)
    with pytest.raises(ValueError, match=r"cross_entropy.*\[0, 4\).*from 0 to 4"):
        F.cross_entropy(logits, np.array([0, 1, 4]))
    with pytest.raises(ValueError, match=r"cross_entropy.*from -1 to 2"):
        F.cross_entropy(logits, np.array([-1, 1, 2]))


def test_cross_entropy_float_labels():
    logits = sn.Tensor(np.zeros((3, 4)))
    with pytest.raises(TypeError, match=r"cross_entropy: labels must be integers.*float64"):
        F.cross_entropy(logits, np.array([0.0, 1.0, 2.0]))


def test_cross_entropy_label_shape_and_logit_rank():
    with pytest.raises(ValueError, match=r"labels have shape \(2,\), expected \(3,\)"):
        F.cross_entropy(sn.Tensor(np.zeros((3, 4))), np.array([0, 1]))
    with pytest.raises(ValueError, match=r"logits must have shape \(N, C\), got \(4,\)"):
        F.cross_entropy(sn.Tensor(np.zeros(4)), np.array([0]))


@pytest.mark.parametrize("loss", [F.mse_loss, F.binary_cross_entropy,
                                  F.binary_cross_entropy_with_logits])
def test_loss_with_mismatched_shapes(loss):
    pred = sn.Tensor(np.full((4, 1), 0.5))
    target = np.full(4, 0.5)
    with pytest.raises(ValueError, match=rf"{loss.__name__}.*\(4, 1\).*\(4,\)"):
        loss(pred, target)


def test_gaussian_kl_mismatched_shapes():
    with pytest.raises(ValueError, match=r"gaussian_kl.*\(2, 3\).*\(2, 4\)"):
        F.gaussian_kl(sn.Tensor(np.zeros((2, 3))), sn.Tensor(np.zeros((2, 4))))


@pytest.mark.parametrize("loss, args", [
    (F.mse_loss, (np.ones(3), np.ones(3))),
    (F.binary_cross_entropy, (np.full(3, 0.5), np.ones(3))),
    (F.binary_cross_entropy_with_logits, (np.ones(3), np.ones(3))),
    (F.cross_entropy, (np.zeros((3, 2)), np.array([0, 1, 1]))),
    (F.gaussian_kl, (np.zeros((3, 2)), np.zeros((3, 2)))),
])
def test_bad_reduction_string(loss, args):
    tensors = [sn.Tensor(a) if a.dtype.kind == "f" else a for a in args]
    with pytest.raises(ValueError, match=rf"{loss.__name__}: reduction must be one of.*'avg'"):
        loss(*tensors, reduction="avg")


# ---------------------------------------------------------------------------------------
# Dropout and misc
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5])
def test_dropout_p_out_of_range(p):
    with pytest.raises(ValueError, match=rf"dropout: p must be in \[0, 1\), got {p}"):
        F.dropout(sn.Tensor(np.ones(4)), p=p)


def test_bad_rng_type():
    with pytest.raises(TypeError, match=r"rng must be.*got str"):
        F.dropout(sn.Tensor(np.ones(4)), p=0.5, rng="seed")


def test_where_needs_boolean_condition():
    with pytest.raises(TypeError, match=r"where: condition must be .*boolean.*int64"):
        F.where(np.array([1, 0]), sn.Tensor(np.ones(2)), 0.0)


def test_transpose_bad_axes():
    with pytest.raises(ValueError, match=r"transpose.*not a permutation"):
        sn.Tensor(np.ones((2, 3))).transpose(0, 0)


def test_stack_different_shapes():
    with pytest.raises(ValueError, match="stack: all tensors must have the same shape"):
        F.stack([sn.Tensor(np.ones(2)), sn.Tensor(np.ones(3))])


def test_squeeze_non_unit_axis():
    with pytest.raises(ValueError, match=r"squeeze: axis 1 of shape \(2, 3\) has length 3"):
        F.squeeze(sn.Tensor(np.ones((2, 3))), 1)


def test_var_without_degrees_of_freedom():
    with pytest.raises(ValueError, match="var: 1 elements with ddof=1"):
        sn.Tensor(np.ones(1)).var(ddof=1)


def test_clip_without_bounds():
    with pytest.raises(ValueError, match="clip: give at least one"):
        sn.Tensor(np.ones(2)).clip()


def test_function_called_on_a_raw_array_says_to_wrap_it():
    class Cube(sn.Function):
        def forward(self, x):
            return x ** 3

        def backward(self, gy):
            return gy * 3.0 * self.saved_tensors[0] ** 2

    with pytest.raises(TypeError, match=r"Cube: inputs must be Tensors, got \(ndarray\)"):
        Cube()(np.ones(3))


def test_function_without_backward_cannot_be_instantiated():
    class ForwardOnly(sn.Function):
        def forward(self, x):
            return x

    with pytest.raises(TypeError, match=r"abstract method.*backward"):
        ForwardOnly()
