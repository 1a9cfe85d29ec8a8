"""Other CPython interpreters of this machine, for tests that run more than the current one.

``pythonX.Y`` on PATH, else the newest such pyenv version (found without exporting
``PYENV_VERSION``); a version not on this machine makes the test skip and say how to add it.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HINT = (
    "with pyenv: export PYENV_VERSION=$(pyenv global):$(pyenv versions --bare "
    "| grep -E '^3\\.1[23]\\.' | paste -sd:)"
)


@functools.cache
def find_python(version: str) -> Path | None:
    """CPython ``version`` (X.Y): ``pythonX.Y`` on PATH, else the newest such pyenv version; the
    interpreter's own path (a pyenv shim picks its Python by the name it is run as)."""
    candidates = [shutil.which(f"python{version}")]
    pyenv = shutil.which("pyenv")
    if pyenv is not None:
        listing = subprocess.run(
            [pyenv, "versions", "--bare"], capture_output=True, text=True, check=False
        ).stdout.split()
        root = subprocess.run([pyenv, "root"], capture_output=True, text=True, check=False)
        pattern = re.compile(rf"{re.escape(version)}\.\d+")
        for name in sorted((v for v in listing if pattern.fullmatch(v)), reverse=True):
            candidates.append(f"{root.stdout.strip()}/versions/{name}/bin/python{version}")
    probe = "import sys; print(sys.executable); print('%d.%d' % sys.version_info[:2])"
    for candidate in filter(None, candidates):
        try:
            asked = subprocess.run(
                [candidate, "-I", "-c", probe],
                capture_output=True,
                text=True,
                check=False,
                timeout=120,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        lines = asked.stdout.split()
        if asked.returncode == 0 and lines[1:] == [version]:
            return Path(lines[0])
    return None


def interpreter(version: str) -> str:
    """CPython ``version`` (``find_python``), or the test is skipped with the reason."""
    python = find_python(version)
    if python is None:
        where = f"neither on PATH nor in pyenv; {HINT}"
        pytest.skip(f"CPython {version} is not on this machine ({where})")
    return str(python)


def other_python() -> tuple[str, str] | None:
    """An interpreter of another CPython 3.9+ minor version than this one, and that version."""
    for minor in range(14, 8, -1):
        version = f"3.{minor}"
        if (minor, 0) != sys.version_info[:2] and (python := find_python(version)) is not None:
            return str(python), version
    return None
