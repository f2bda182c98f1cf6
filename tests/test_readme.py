"""The README's promises: two quickstart commands, CI running the second, a tour that runs."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _command_after(marker: str) -> str:
    match = re.search(rf"<!-- {marker} -->\n```bash\n(.+?)\n```", README, re.DOTALL)
    assert match, f"README.md has no ```bash block after <!-- {marker} -->"
    return match.group(1).strip()


def test_quickstart_has_the_two_commands():
    lesson = _command_after("lesson-command")
    tests = _command_after("test-command")
    assert lesson.startswith("pip install .") and "lessons/" in lesson
    assert tests.startswith('pip install ".[test]"') and "pytest" in tests
    assert "\n" not in lesson and "\n" not in tests


def test_ci_reads_the_test_command_from_the_readme():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "<!-- test-command -->" in ci
    assert "python3 -m venv" in ci


def test_flagship_lesson_named_in_the_readme_exists():
    lesson = _command_after("lesson-command").split("python ", 1)[1].split()[0]
    assert (ROOT / lesson).is_file()


def test_every_python_block_in_the_readme_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the tour writes a checkpoint and a figure
    blocks = re.findall(r"```python\n(.+?)```", README, re.DOTALL)
    assert len(blocks) >= 3
    namespace: dict = {}
    for block in blocks:  # later blocks build on earlier ones, as a reader would run them
        exec(compile(block, "README.md", "exec"), namespace)
    assert namespace["d2y"].item() == 12.0
    assert namespace["W"].grad.shape == (3, 2)
    assert namespace["history"].epochs == 2
    assert (tmp_path / "mlp.npz").is_file() and (tmp_path / "figures" / "history.png").is_file()
