"""Gradient checks over the op catalogue, and the test that keeps the catalogue complete.

Every case of ``op_catalogue.CATALOGUE`` is checked with ``sn.gradcheck`` (a random upstream
gradient, never ``.sum()`` of the output) and, when ``smooth``, with ``sn.gradgradcheck``,
on every backend of ``conftest.BACKENDS`` (NumPy, and CuPy where a GPU is present).
``test_every_function_has_a_catalogue_entry`` imports the whole package and fails for any
``Function`` subclass that no case exercises: a new op cannot land without its check.
"""

from __future__ import annotations

import importlib
import pkgutil
import zlib
from collections.abc import Iterable
from types import ModuleType

import numpy as np
import pytest
from op_catalogue import CATALOGUE, OpCase

import scratchnet as sn
import scratchnet.functional as F
from scratchnet.autograd import Function, iter_functions
from scratchnet.backend import to_device
from scratchnet.functional.activations import Softmax, Tanh
from scratchnet.functional.math import ScatterAdd

CASES = [pytest.param(case, id=case.name) for case in CATALOGUE]
SMOOTH_CASES = [pytest.param(case, id=case.name) for case in CATALOGUE if case.smooth]


def make_inputs(case: OpCase, backend: str = "numpy") -> list[np.ndarray]:
    """The case's inputs, from a generator seeded by its name (stable under reordering).

    Drawn on the host, then moved to ``backend``: the same numbers on every backend.
    """
    arrays = case.make_inputs(np.random.default_rng(zlib.crc32(case.name.encode())))
    return [to_device(a, backend) for a in arrays]


# --------------------------------------------------------------------------------------
# The checks
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES)
def test_gradcheck(case: OpCase, backend: str) -> None:
    assert sn.gradcheck(case.fn, make_inputs(case, backend))


@pytest.mark.parametrize("case", SMOOTH_CASES)
def test_gradgradcheck(case: OpCase, backend: str) -> None:
    assert sn.gradgradcheck(case.fn, make_inputs(case, backend))


@pytest.mark.parametrize("case", CASES)
def test_case_exercises_its_function(case: OpCase) -> None:
    """The case's Function is really in the graph, on float64 inputs and outputs."""
    arrays = make_inputs(case)
    assert arrays, f"{case.name}: no inputs"
    for array in arrays:
        assert isinstance(array, np.ndarray) and array.dtype == np.float64
        assert np.all(np.isfinite(array))
    xs = [sn.Tensor(a, requires_grad=True) for a in arrays]
    out = case.fn(*xs)
    assert out.dtype == np.float64
    used = {type(f) for f in iter_functions(out)}
    assert case.function in used, (
        f"{case.name} claims to check {case.function.__name__}, but its graph holds only "
        f"{sorted(f.__name__ for f in used)}")


# --------------------------------------------------------------------------------------
# The checks can fail: plant a wrong backward and watch gradcheck catch it
# --------------------------------------------------------------------------------------
def _zero_backward(self, gy):
    return gy * 0.0


def _assigning_scatter(self, g):
    out = np.zeros(self.shape, dtype=g.dtype)
    out[self.index] = g  # repeated indices overwrite instead of adding up
    return out


def _case(name: str) -> OpCase:
    return next(case for case in CATALOGUE if case.name == name)


@pytest.mark.parametrize("case_name, cls, attribute, wrong", [
    ("softmax-axis=-1", Softmax, "backward", _zero_backward),
    ("getitem-repeated-rows", ScatterAdd, "forward", _assigning_scatter),
    ("scatter-add-repeated", ScatterAdd, "forward", _assigning_scatter),
])
def test_a_wrong_op_fails_its_check(monkeypatch, case_name, cls, attribute, wrong) -> None:
    case = _case(case_name)
    monkeypatch.setattr(cls, attribute, wrong)
    with pytest.raises(sn.GradcheckError):
        sn.gradcheck(case.fn, make_inputs(case))


def test_why_the_upstream_gradient_is_random(monkeypatch) -> None:
    # softmax sums to 1 whatever its input, so d(sum softmax)/dx = 0: checking the gradient
    # of .sum() passes even for a backward that returns zeros. A random v catches it.
    monkeypatch.setattr(Softmax, "backward", _zero_backward)
    x = make_inputs(_case("softmax-axis=-1"))
    assert sn.gradcheck(lambda t: F.softmax(t).sum(), x)
    with pytest.raises(sn.GradcheckError):
        sn.gradcheck(F.softmax, x)


def test_gradgradcheck_needs_a_differentiable_backward(monkeypatch) -> None:
    # A backward computed on raw arrays gives the right first derivative but a graph that
    # stops there: gradcheck passes, gradgradcheck sees the missing second derivative.
    def raw_backward(self, gy):
        y = self.saved_tensors[0].data
        return gy * sn.Tensor(1.0 - y * y)

    monkeypatch.setattr(Tanh, "backward", raw_backward)
    case = _case("tanh")
    assert sn.gradcheck(case.fn, make_inputs(case))
    with pytest.raises(sn.GradcheckError):
        sn.gradgradcheck(case.fn, make_inputs(case))


def test_case_names_are_unique() -> None:
    names = [case.name for case in CATALOGUE]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


# --------------------------------------------------------------------------------------
# The meta-test: every Function subclass has a case
# --------------------------------------------------------------------------------------
def import_all(package_name: str) -> list[ModuleType]:
    """Import a package and every module below it (so all its Functions are defined)."""
    package = importlib.import_module(package_name)
    modules = [package]
    for info in pkgutil.walk_packages(package.__path__, prefix=package_name + "."):
        if not info.name.endswith(".__main__"):  # running that would start the CLI
            modules.append(importlib.import_module(info.name))
    return modules


def function_classes(module_prefix: str = "scratchnet") -> set[type[Function]]:
    """Every public subclass of Function (at any depth) defined in ``module_prefix``'s modules.

    Names starting with "_" are abstract helpers (``_Extremum``) and are left out.
    """
    found: set[type[Function]] = set()
    stack = list(Function.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        in_scope = cls.__module__ == module_prefix or cls.__module__.startswith(module_prefix + ".")
        if in_scope and not cls.__name__.startswith("_"):
            found.add(cls)
    return found


def uncovered(classes: Iterable[type[Function]], catalogue: Iterable[OpCase]) -> list[str]:
    """Qualified names of the classes that no case of the catalogue exercises."""
    covered = {case.function for case in catalogue}
    return sorted(f"{cls.__module__}.{cls.__qualname__}" for cls in classes if cls not in covered)


def test_every_function_has_a_catalogue_entry() -> None:
    import_all("scratchnet")
    missing = uncovered(function_classes(), CATALOGUE)
    assert not missing, (
        "these Function subclasses have no gradient check: add an OpCase for each to "
        f"tests/op_catalogue.py: {missing}")


def test_meta_test_is_not_vacuous() -> None:
    # The discovery sees the package's ops, including subclasses of subclasses...
    import_all("scratchnet")
    found = {cls.__name__ for cls in function_classes()}
    assert {"Add", "MatMul", "Max", "Min", "ScatterAdd", "Softmax",
            "BinaryCrossEntropy"} <= found
    assert "_Extremum" not in found
    assert len(found) >= 35

    # ...and the same helpers report a Function that has no case.
    class Square(Function):
        def forward(self, x):
            self.save_for_backward(x)
            return x * x

        def backward(self, gy):
            return 2.0 * gy * self.saved_tensors[0]

    local = function_classes(module_prefix=__name__)
    assert Square in local
    assert f"{__name__}.{Square.__qualname__}" in uncovered(local, CATALOGUE)
    assert uncovered([Square], [OpCase("square", Square, lambda rng: [], Square())]) == []
