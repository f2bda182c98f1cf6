"""The ``scratchnet`` command: --help and --version."""

import subprocess
import sys

import pytest

import scratchnet
from scratchnet.cli import main


def test_version_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"scratchnet {scratchnet.__version__}"


def test_help_describes_the_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: scratchnet")
    assert "--version" in out


def test_no_arguments_succeeds():
    assert main([]) == 0


def test_unknown_option_fails_with_usage(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--no-such-option"])
    assert exit_info.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err


def test_module_entry_point_runs_in_a_fresh_interpreter():
    result = subprocess.run([sys.executable, "-m", "scratchnet.cli", "--version"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert scratchnet.__version__ in result.stdout
