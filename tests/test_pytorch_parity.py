"""Parity with PyTorch: the same values, dtypes and gradients, side by side.

These run where PyTorch is installed (``pip install ".[bench]"``) and are skipped, as one
module, where it is not; every behaviour they compare is also asserted on its own, without
PyTorch, in ``test_promotion.py``, ``test_numerics.py``, ``test_tensor.py`` and
``test_engine.py``.
"""

import numpy as np
import pytest

import scratchnet as sn
import scratchnet.functional as F

torch = pytest.importorskip("torch")

# The cases come from the test modules that assert them without PyTorch (tests/ is on
# sys.path, pytest's default import mode).
from test_engine import _f64  # noqa: E402
from test_numerics import POWERS_AT_ZERO  # noqa: E402
from test_promotion import CASES, OPERATORS, REDUCTIONS, _operand, _unsupported  # noqa: E402


def test_equality_matches_pytorch():
    a_np, b_np = np.array([[1, 2], [3, 4]]), np.array([1, 5])
    a, b = sn.Tensor(a_np), sn.Tensor(b_np)
    ta, tb = torch.from_numpy(a_np), torch.from_numpy(b_np)
    np.testing.assert_array_equal((a == b).numpy(), (ta == tb).numpy())
    np.testing.assert_array_equal((a != b).numpy(), (ta != tb).numpy())


@pytest.mark.parametrize("symbol, left, right, dtype", CASES)
def test_binary_operators_match_pytorch(symbol, left, right, dtype):
    if _unsupported(symbol, left, right):
        return
    try:
        reference = OPERATORS[symbol](_operand(left, torch.from_numpy),
                                      _operand(right, torch.from_numpy))
    except RuntimeError:
        # PyTorch refuses `-` with any bool operand; NumPy, and so scratchnet, only bool - bool.
        assert symbol == "-" and any(x == "bool" or x is True for x in (left, right))
        return
    with np.errstate(divide="ignore", invalid="ignore"):
        result = OPERATORS[symbol](_operand(left, sn.Tensor), _operand(right, sn.Tensor))
    assert str(result.dtype) == str(reference.dtype).removeprefix("torch.")
    np.testing.assert_allclose(result.numpy(), reference.numpy(), rtol=1e-6)


@pytest.mark.parametrize("method, data, dtype", [
    pytest.param(method, data, dtype, id=f"{method}-{data.dtype}")
    for method, data, dtype in REDUCTIONS])
def test_reductions_match_pytorch(method, data, dtype):
    x = torch.from_numpy(data)
    if method in ("mean", "var", "logsumexp"):
        # PyTorch refuses these on integers; the reference is its result on x.float().
        x = x.float()
    reduce = {"var": lambda t: t.var(correction=0), "logsumexp": lambda t: t.flatten().logsumexp(0)}
    reference = reduce.get(method, lambda t: getattr(t, method)())(x)
    result = getattr(F, method)(sn.Tensor(data))
    assert str(result.dtype) == str(reference.dtype).removeprefix("torch.")
    np.testing.assert_allclose(result.numpy(), reference.numpy(), rtol=1e-6)


def test_power_gradients_at_base_0_match_pytorch():
    a_np = np.array([p[0] for p in POWERS_AT_ZERO])
    b_np = np.array([p[1] for p in POWERS_AT_ZERO])
    a, b = sn.Tensor(a_np, requires_grad=True), sn.Tensor(b_np, requires_grad=True)
    (a ** b).sum().backward()
    ta = torch.tensor(a_np, requires_grad=True)
    tb = torch.tensor(b_np, requires_grad=True)
    (ta ** tb).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-12)


def test_astype_matches_pytorch():
    x_np = np.array([0.5, -1.25, 3.0], dtype=np.float32)
    x = sn.Tensor(x_np, requires_grad=True)
    (x.astype(np.float64) * np.array([1.0, 2.0, 3.0])).sum().backward()
    tx = torch.tensor(x_np, requires_grad=True)
    (tx.to(torch.float64) * torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)).sum().backward()
    assert str(tx.grad.dtype) == "torch.float32" and x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


def test_float64_data_gradients_match_pytorch():
    w_np = np.array([[0.5, -1.0, 2.0]], dtype=np.float32)
    data = _f64(4, 3)
    w = sn.Tensor(w_np, requires_grad=True)
    (w * data).sum().backward()
    tw = torch.tensor(w_np, requires_grad=True)
    (tw * torch.from_numpy(data)).sum().backward()
    assert str(tw.grad.dtype) == "torch.float32" and w.grad.dtype == np.float32
    np.testing.assert_array_equal(w.grad.numpy(), tw.grad.numpy())
