"""Compute modules take their array module from their inputs (docs/architecture.md, invariant 4).

Code such as ``np.exp(x.data)`` runs on the CPU only: with a CuPy array it either fails
(CuPy refuses implicit device-to-host copies) or, worse, silently copies data off the GPU.
Backend-generic code asks the data for its module, ``xp = get_array_module(x)``, and calls
``xp.exp``. This test reads the compute modules with :mod:`ast` and reports every use of a
NumPy function, naming ``file:line`` and the call, so such a line cannot creep back in.

**What is scanned.** The packages ``scratchnet.functional``, ``scratchnet.nn`` and
``scratchnet.models`` and the modules ``autograd``, ``optim``, ``train`` and ``gradcheck``:
everything that computes on tensors during training and evaluation. Left out, because they
work on the host by design:

* ``datasets/``: data are read from files or generated from a seed on the host; batches
  go to the device when the caller moves them.
* ``metrics.py``: evaluation numbers (SVDs, histograms, mutual information) computed in
  float64 on the host; every metric starts from ``as_numpy(...)`` of its inputs.
* ``probes.py``: the linear probe and k-NN, which work on host copies (``as_numpy``) like
  the other metrics.
* ``models/ngram.py``: the character n-gram is a table of counts of host token ids, fitted
  and scored on the host like a metric; it holds no tensors.
* ``viz.py`` (matplotlib takes host arrays), ``checkpoint.py``, ``files.py``, ``cli.py``,
  ``lesson.py``, ``paths.py`` (files and processes), ``random.py`` (the host generator
  itself), ``checks.py`` (argument validation), ``backend.py`` (it *is* the dispatch).

**What is allowed.** Only *functions* of NumPy are checked: reading a constant
(``np.pi``, ``np.inf``) or a type (``np.float32``, ``np.dtype``, ``np.finfo``,
``np.ndarray`` in ``isinstance``, ``np.random.Generator`` in an annotation) never touches
data, and calling a type builds a dtype or a scalar, except ``np.ndarray(...)`` itself.
Beyond that:

* ``ALLOWED``: a short list of functions that describe arrays without computing on them
  (dtype helpers, duck-typed ``np.ndim``/``np.shape``) and the host random generator
  (weights are drawn on the host so that a seed means the same on both backends, then
  ``Parameter`` moves them to the current backend).
* ``np.prod`` of a shape (``x.shape``, a slice of it, a literal tuple or a comprehension).
* A NumPy call whose first argument is ``as_numpy(...)``: it works on a host copy.
* A NumPy array built as the first argument of ``Parameter(...)``: an initial value made
  on the host, which ``Parameter`` moves to the current backend.
* A ``# host: <reason>`` comment on the line (of the statement) marks a deliberately
  host-side line; on a ``def`` line it marks the whole function (a helper that only ever
  sees host arrays). A marker needs a reason, and one that excuses nothing is reported too,
  so markers stay few and true.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy
import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "scratchnet"
HOST_MODELS = {"models/ngram.py"}
COMPUTE_MODULES = sorted(
    [*PACKAGE.glob("functional/*.py"), *PACKAGE.glob("nn/*.py"),
     *(p for p in PACKAGE.glob("models/*.py") if f"models/{p.name}" not in HOST_MODELS),
     *(PACKAGE / name for name in ("autograd.py", "optim.py", "train.py", "gradcheck.py"))])

ALLOWED = {
    # dtype helpers: they describe arrays, they do not compute on them
    "issubdtype", "result_type", "promote_types", "can_cast",
    # duck-typed shape queries: they read .ndim / .shape, which CuPy arrays have
    "ndim", "shape",
    # the host random generator (see the module docstring)
    "random.default_rng",
    # NumPy's floating-point warning switch: it computes nothing (CuPy never warns)
    "errstate",
}
SHAPE_FUNCTIONS = {"prod"}   # allowed when their argument is visibly a shape
HOST_MARKER = re.compile(r"#\s*host:(.*)")


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def _host_markers(source: str) -> dict[int, str]:
    """Line number -> reason, for every ``# host:`` comment (comments only, not strings)."""
    markers = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            match = HOST_MARKER.match(token.string)
            if match:
                markers[token.start[0]] = match.group(1).strip()
    return markers


def _resolve(node: ast.AST, aliases: set[str]) -> tuple[str, object] | None:
    """For ``np.a.b...``, the dotted name after ``np`` up to the first non-module, and it.

    ``np.linalg.qr`` -> ("linalg.qr", qr); ``np.add.at`` -> ("add", np.add): the ufunc is
    what is used, ``.at`` is its method. Returns None if ``node`` is not rooted at NumPy.
    """
    chain = []
    while isinstance(node, ast.Attribute):
        chain.append(node.attr)
        node = node.value
    if not (isinstance(node, ast.Name) and node.id in aliases) or not chain:
        return None
    obj: object = numpy
    names = []
    for attr in reversed(chain):
        if not isinstance(obj, ModuleType):
            break
        names.append(attr)
        obj = getattr(obj, attr, None)
    return ".".join(names), obj


def _computes(obj: object, called: bool) -> bool:
    """NumPy functions and ufuncs count; constants and types do not, except calling
    ``np.ndarray`` (that allocates a host array)."""
    if isinstance(obj, type):
        return called and issubclass(obj, numpy.ndarray)
    return obj is None or callable(obj)   # None: an attribute this NumPy lacks


def _is_shape(node: ast.AST) -> bool:
    """``x.shape``, ``x.shape[1:]``, ``self.shape``, a literal tuple/list or comprehension."""
    if isinstance(node, ast.Subscript):
        node = node.value
    if isinstance(node, ast.Attribute):
        return node.attr == "shape"
    return isinstance(node, (ast.Tuple, ast.List, ast.ListComp, ast.GeneratorExp))


def _callee_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


class _Scanner(ast.NodeVisitor):
    def __init__(self, path: str, source: str) -> None:
        self.path, self.source = path, source
        self.markers = _host_markers(source)
        self.used_markers: set[int] = set()
        self.aliases: set[str] = set()
        self.findings: list[Finding] = []
        self.host_functions = 0          # depth inside functions marked `# host:`
        self.excused_in_functions = 0    # uses those markers excused
        self.statement_lines: range = range(0)
        self.parents: dict[ast.AST, ast.AST] = {}

    # -- bookkeeping -------------------------------------------------------------------
    def _marker_in(self, lines: range) -> int | None:
        return next((line for line in lines if line in self.markers), None)

    def visit(self, node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            self.parents[child] = node
        if isinstance(node, ast.stmt):
            previous = self.statement_lines
            body = getattr(node, "body", None)
            # A compound statement's own line(s) are its header, not its body.
            end = body[0].lineno - 1 if body and isinstance(body, list) else node.end_lineno
            self.statement_lines = range(node.lineno, max(end, node.lineno) + 1)
            super().visit(node)
            self.statement_lines = previous
        else:
            super().visit(node)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        marker = self._marker_in(self.statement_lines)
        if marker is None:
            self.generic_visit(node)
            return
        self.host_functions += 1
        before = self.excused_in_functions
        self.generic_visit(node)
        self.host_functions -= 1
        if self.excused_in_functions > before:
            self.used_markers.add(marker)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self.visit_FunctionDef(node)

    # -- imports -----------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name == "numpy":
                self.aliases.add(alias.asname or "numpy")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module and node.module.split(".")[0] == "numpy":
            for alias in node.names:
                self._report(node, f"`from {node.module} import {alias.name}`: import numpy "
                                   "as np and keep np. visible, so this check can see its uses")

    # -- uses --------------------------------------------------------------------------
    def visit_Attribute(self, node: ast.Attribute) -> None:
        resolved = _resolve(node, self.aliases)
        if resolved is None:
            self.generic_visit(node)
            return
        name, obj = resolved
        parent = self.parents.get(node)
        called = isinstance(parent, ast.Call) and parent.func is node
        if _computes(obj, called) and not self._allowed(node, name):
            shown = ast.get_source_segment(self.source, parent if called else node) or name
            shown = " ".join(shown.split())
            shown = shown if len(shown) <= 80 else shown[:77] + "..."
            what = "calls" if called else "uses"
            self._report(node, f"{what} np.{name}: `{shown}`; use xp = get_array_module(...) "
                               "and xp." + name.split(".")[-1] + ", or mark a truly host-side "
                               "line `# host: <reason>`")
        # The chain below is one use, not several: do not descend into it.

    def _allowed(self, node: ast.Attribute, name: str) -> bool:
        if name in ALLOWED:
            return True
        call = self.parents.get(node)
        if isinstance(call, ast.Call) and call.func is node:
            first = call.args[0] if call.args else None
            if name in SHAPE_FUNCTIONS and first is not None and _is_shape(first):
                return True
            if isinstance(first, ast.Call) and _callee_name(first) == "as_numpy":
                return True
            outer = self.parents.get(call)
            if (isinstance(outer, ast.Call) and outer.args and outer.args[0] is call
                    and _callee_name(outer) == "Parameter"):
                return True
        if self.host_functions:
            self.excused_in_functions += 1
            return True
        marker = self._marker_in(self.statement_lines)
        if marker is not None:
            self.used_markers.add(marker)
            return True
        return False

    def _report(self, node: ast.AST, message: str) -> None:
        self.findings.append(Finding(self.path, node.lineno, message))

    def scan(self) -> list[Finding]:
        self.visit(ast.parse(self.source))
        for line, reason in sorted(self.markers.items()):
            if not reason:
                self.findings.append(Finding(self.path, line, "`# host:` needs a reason"))
            elif line not in self.used_markers:
                self.findings.append(Finding(self.path, line, "`# host:` marker excuses no "
                                                              "NumPy call: remove it"))
        return sorted(self.findings, key=lambda f: f.line)


def check_source(source: str, path: str = "<source>") -> list[Finding]:
    """Every NumPy use in ``source`` that is not allowed (see the module docstring)."""
    return _Scanner(path, source).scan()


def _relative(path: Path) -> str:
    return str(path.relative_to(PACKAGE.parent))


def _module_param(path: Path):
    return pytest.param(path, id=str(path.relative_to(PACKAGE)))


# --------------------------------------------------------------------------------------
# The package
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", [_module_param(p) for p in COMPUTE_MODULES])
def test_compute_module_is_backend_generic(path: Path) -> None:
    findings = check_source(path.read_text(encoding="utf-8"), _relative(path))
    assert not findings, "NumPy used on data arrays:\n" + "\n".join(map(str, findings))


def test_the_scan_covers_the_compute_code() -> None:
    names = {str(p.relative_to(PACKAGE)) for p in COMPUTE_MODULES}
    assert {"functional/math.py", "functional/conv.py", "nn/layers.py", "models/vae.py",
            "models/rbm.py", "autograd.py", "optim.py", "train.py", "gradcheck.py"} <= names
    assert all(p.is_file() for p in COMPUTE_MODULES)


# --------------------------------------------------------------------------------------
# The checker itself: it catches what it should and nothing else
# --------------------------------------------------------------------------------------
def test_a_planted_numpy_call_is_reported_with_file_line_and_call() -> None:
    source = ("import numpy as np\n"
              "\n"
              "def swish(x):\n"
              "    return x / (1 + np.exp(-x))\n")
    findings = check_source(source, "planted.py")
    assert [f.line for f in findings] == [4]
    assert str(findings[0]).startswith("planted.py:4: calls np.exp: `np.exp(-x)`")


@pytest.mark.parametrize("line", [
    "y = np.add.at(out, index, g)",              # a ufunc method
    "y = np.linalg.norm(x)",                     # a submodule's function
    "reduce = np.maximum",                       # a function passed around, not called
    "y = np.prod(x)",                            # prod of data, not of a shape
    "y = np.ndarray(x.shape)",                   # an ndarray is data
    "y = np.zeros(3)  # host:",                  # a marker without a reason
])
def test_other_numpy_uses_on_data_are_reported(line: str) -> None:
    assert check_source(f"import numpy as np\n{line}\n"), line


def test_every_alias_and_from_imports_are_seen() -> None:
    assert check_source("import numpy\ny = numpy.exp(x)\n")
    assert check_source("import numpy as onp\ny = onp.exp(x)\n")
    assert check_source("from numpy import exp\n")
    assert not check_source("y = xp.exp(x)\n")   # no NumPy import, nothing to report


@pytest.mark.parametrize("line", [
    "eps = np.finfo(x.dtype).eps",
    "floating = np.issubdtype(x.dtype, np.floating)",
    "x = xp.asarray(x, dtype=np.float32)",
    "one = np.float32(1.0)",
    "y = x * np.pi + np.inf",
    "ok = isinstance(x, (np.ndarray, np.integer))",
    "def f(rng: np.random.Generator) -> np.ndarray: ...",
    "rng = np.random.default_rng(0)",
    "n = int(np.prod(x.shape[1:])) + int(np.prod([x.shape[a] for a in axes]))",
    "flat = np.ndim(k) == 0 and np.shape(v) == ()",
    "text = np.array2string(as_numpy(x))",
    "self.bias = Parameter(np.zeros(n), dtype=dtype)",
    "order = np.argsort(axes)  # host: the axes tuple lives on the host",
])
def test_allowed_uses_are_not_reported(line: str) -> None:
    assert check_source(f"import numpy as np\n{line}\n") == []


def test_a_marker_covers_its_statement_and_a_def_marker_its_function() -> None:
    source = ("import numpy as np\n"
              "y = np.concatenate(\n"
              "    parts)  # host: the parts were computed on the host\n"
              "def summary(a):  # host: takes the host copies gradcheck made\n"
              "    return np.abs(a).max() + np.argmax(a)\n"
              "def device(x):\n"
              "    return np.exp(x)\n")
    assert [f.line for f in check_source(source)] == [7]


def test_a_marker_that_excuses_nothing_is_reported() -> None:
    findings = check_source("import numpy as np\ny = xp.exp(x)  # host: stale\n")
    assert [(f.line, "excuses no" in f.message) for f in findings] == [(2, True)]
