"""pip's failures become one clear sentence."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from safeinstall.environment import pip as pipenv
from safeinstall.environment.pipoutput import failure as _failure

BACKEND_MISSING = """ERROR: Exception:
Traceback (most recent call last):
  File "pip/_vendor/pyproject_hooks/_impl.py", line 321, in _call_hook
    raise BackendUnavailable(data.get('traceback', ''))
pip._vendor.pyproject_hooks._impl.BackendUnavailable: Traceback (most recent call last):
  File "_in_process.py", line 77, in _build_backend
ModuleNotFoundError: No module named 'setuptools'
"""


def test_missing_build_backend_is_explained() -> None:
    err = _failure("install", 2, BACKEND_MISSING)
    assert "build backend is not in the target environment" in err.message
    assert "No module named 'setuptools'" in err.message
    assert err.hint is not None
    assert "unhashed build dependencies" in err.hint


def test_pip_error_line_is_shown_not_the_traceback_header() -> None:
    stderr = "ERROR: Exception:\nTraceback...\nERROR: THESE PACKAGES DO NOT MATCH THE HASHES\n"
    err = _failure("install", 1, stderr)
    assert (
        err.message
        == "pip failed to install (exit 1): ERROR: THESE PACKAGES DO NOT MATCH THE HASHES"
    )


def test_no_output() -> None:
    assert _failure("uninstall", 3, "").message == "pip failed to uninstall (exit 3): no output"


def test_parallel_compilation_writes_bytecode(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text("X = 1\n")
    (tmp_path / "pkg" / "broken.py").write_text("def (:\n")  # left alone, as pip does
    pipenv._compile(sys.executable, [str(tmp_path)])
    assert list((tmp_path / "pkg" / "__pycache__").glob("mod.*.pyc"))
    assert not list((tmp_path / "pkg" / "__pycache__").glob("broken.*.pyc"))


def test_run_pip_starts_no_interpreter_but_as_the_probe_module_starts_it() -> None:
    with pytest.raises(ValueError, match="not a command for the target interpreter"):
        pipenv.run_pip([sys.executable, "-c", "pass"], "run a script with site")
    with pytest.raises(ValueError, match="not a command for the target interpreter"):
        pipenv.run_pip([sys.executable, "-I", "-S", "-c", "pass"], "run a script")
