"""The README's promises: two quickstart commands, CI running the second, snippets that run.

Every ```python block of the README is self-contained and followed by the output it should
print (a ```text block after ``<!-- prints -->``). Each block runs alone, in a fresh
namespace and a temporary working folder, and its output must match: the words exactly,
the numbers to within a few percent (training results move with the BLAS's summation order).
"""

import contextlib
import io
import math
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _command_after(marker: str) -> str:
    match = re.search(rf"<!-- {marker} -->\n```bash\n(.+?)\n```", README, re.DOTALL)
    assert match, f"README.md has no ```bash block after <!-- {marker} -->"
    return match.group(1).strip()


def test_quickstart_has_the_two_commands():
    lesson = _command_after("lesson-command")
    tests = _command_after("test-command")
    assert lesson.startswith("pip install -e .") and "lessons/" in lesson
    assert tests.startswith('pip install -e ".[test]"') and "pytest" in tests
    assert "\n" not in lesson and "\n" not in tests


def test_ci_reads_the_test_command_from_the_readme():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "<!-- test-command -->" in ci
    assert "python3 -m venv" in ci


def test_flagship_lesson_named_in_the_readme_exists():
    lesson = _command_after("lesson-command").split("python ", 1)[1].split()[0]
    assert (ROOT / lesson).is_file()


SNIPPETS = re.findall(r"```python\n(.+?)```\n\n<!-- prints -->\n```text\n(.*?)```", README,
                      re.DOTALL)
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def test_every_python_block_says_what_it_prints():
    assert len(SNIPPETS) == README.count("```python") >= 5, (
        "every ```python block in README.md must be followed by <!-- prints --> and a "
        "```text block with its expected output")


def _same_output(expected: str, got: str) -> bool:
    """Equal words line by line, and numbers within 5% (or 0.02 absolute)."""
    want, have = expected.strip().splitlines(), got.strip().splitlines()
    if len(want) != len(have):
        return False
    for a, b in zip(want, have):
        if NUMBER.sub("#", a).rstrip() != NUMBER.sub("#", b).rstrip():
            return False
        pairs = zip(NUMBER.findall(a), NUMBER.findall(b))
        if not all(math.isclose(float(x), float(y), rel_tol=0.05, abs_tol=0.02)
                   for x, y in pairs):
            return False
    return True


def test_output_comparison_can_fail():
    assert _same_output("loss 1.76, (3, 2)", "loss 1.80, (3, 2)")
    assert not _same_output("loss 1.76", "loss 2.5")
    assert not _same_output("loss 1.76", "cost 1.76")
    assert not _same_output("(3, 2)", "(3, 2)\nextra")


@pytest.mark.parametrize("index", range(len(SNIPPETS)), ids=lambda i: f"block{i + 1}")
def test_readme_block_runs_alone_and_prints_what_it_says(index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the blocks write a checkpoint and a figure
    code, expected = SNIPPETS[index]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, f"README.md python block {index + 1}", "exec"), {"__name__": "readme"})
    assert _same_output(expected, out.getvalue()), (
        f"README python block {index + 1} printed\n{out.getvalue()}\nbut the README says\n"
        f"{expected}")
    if "mlp.npz" in code:
        assert (tmp_path / "mlp.npz").is_file() and (tmp_path / "figures" / "history.png").is_file()
