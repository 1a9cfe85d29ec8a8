"""`safeinstall install -e .` / `install .`: dependencies from the project's lock, then the project.

The project builds with a tiny in-tree PEP 517/660 backend (``backend-path``), so no build backend
has to come from anywhere: pip runs it with ``--no-build-isolation``, as safeinstall asks.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.builders import build_wheel
from tests.support.fixtures import Result
from tests.support.indexserver import IndexServer
from tests.support.installdata import installed, make_venv, snapshot, write_policy

Cli = Callable[..., Result]

BACKEND = """\
import base64, hashlib, os, zipfile

NAME, VERSION = "myapp", "0.1"


def _wheel(directory, files):
    dist = f"{NAME}-{VERSION}.dist-info"
    files[f"{dist}/METADATA"] = (
        f"Metadata-Version: 2.1\\nName: {NAME}\\nVersion: {VERSION}\\nRequires-Dist: alpha-one\\n"
    )
    files[f"{dist}/WHEEL"] = "Wheel-Version: 1.0\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
    lines = []
    for path, text in files.items():
        digest = hashlib.sha256(text.encode()).digest()
        b64 = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        lines.append(f"{path},sha256={b64},{len(text.encode())}")
    files[f"{dist}/RECORD"] = "\\n".join([*lines, f"{dist}/RECORD,,"]) + "\\n"
    name = f"{NAME}-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(directory, name), "w") as zf:
        for path, text in files.items():
            zf.writestr(path, text)
    return name


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    with open(os.path.join("src", "myapp", "__init__.py")) as fh:
        return _wheel(wheel_directory, {"myapp/__init__.py": fh.read()})


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    return _wheel(wheel_directory, {"myapp.pth": os.path.abspath("src") + "\\n"})
"""

PYPROJECT = """\
[build-system]
requires = []
build-backend = "backend"
backend-path = ["."]

[project]
name = "myapp"
version = "0.1"
dependencies = ["alpha-one"]
"""


@pytest.fixture
def app(index_server: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's project (the working directory), its dependency served on index "a"."""
    dists = tmp_path / "dists"
    index_server.add("a", build_wheel(dists, "alpha-one", "1.0", requires_dist=["beta-two"]))
    index_server.add("a", build_wheel(dists, "beta-two", "1.0"))
    root = tmp_path / "app"
    (root / ".git").mkdir(parents=True)
    (root / "src" / "myapp").mkdir(parents=True)
    (root / "src" / "myapp" / "__init__.py").write_text("WHERE = 'source'\n")
    (root / "backend.py").write_text(BACKEND)
    (root / "pyproject.toml").write_text(PYPROJECT)
    write_policy(root / "safeinstall.toml", index_server.index_url("a"))
    monkeypatch.chdir(root)
    return root


def run(python: Path, code: str) -> str:
    return subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.mark.slow
def test_editable_install_takes_dependencies_from_the_lock(
    cli: Cli, app: Path, tmp_path: Path
) -> None:
    python = make_venv(tmp_path / "venv")
    missing = cli("install", "-e", ".", "--python", python)
    assert missing.code == 2
    assert "has no lock" in missing.err
    assert "run `safeinstall lock pyproject.toml -o requirements.txt`" in missing.err

    assert cli("lock").code == 0
    result = cli("install", "-e", ".", "--python", python)
    assert result.code == 0, result.err
    assert f"install myapp from {app} (editable)" in result.out
    assert {"alpha-one==1.0", "beta-two==1.0"} <= installed(python)
    (app / "src" / "myapp" / "__init__.py").write_text("WHERE = 'edited'\n")
    assert run(python, "import myapp; print(myapp.WHERE)") == "edited"  # editable

    plain = make_venv(tmp_path / "plain")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / ".git").mkdir()
    result = cli("install", app, "--python", plain)  # from another directory, not editable
    assert result.code == 0, result.err
    assert run(plain, "import myapp; print(myapp.__file__)").startswith(str(tmp_path / "plain"))


def test_stale_lock_is_refused_with_the_command_to_run(cli: Cli, app: Path, tmp_path: Path) -> None:
    assert cli("lock").code == 0
    (app / "pyproject.toml").write_text(PYPROJECT.replace('["alpha-one"]', '["beta-two"]'))
    python = make_venv(tmp_path / "venv")
    before = snapshot(python)
    result = cli("install", "-e", ".", "--python", python)
    assert result.code == 2
    assert "requirements.txt: the lock is out of date with pyproject.toml" in result.err
    assert "run `safeinstall lock pyproject.toml -o requirements.txt`" in result.err
    assert snapshot(python) == before


def test_missing_build_backend_is_refused_before_anything_is_installed(
    cli: Cli, app: Path, tmp_path: Path
) -> None:
    text = PYPROJECT.replace("requires = []", 'requires = ["flit_core>=3.9"]')
    (app / "pyproject.toml").write_text(text)
    assert cli("lock").code == 0
    python = make_venv(tmp_path / "venv")
    before = snapshot(python)
    result = cli("install", "-e", ".", "--python", python)
    assert result.code == 1
    assert "the project's build backend needs flit_core>=3.9" in result.err
    assert "nothing was installed" in result.err
    assert snapshot(python) == before


def test_a_directory_without_pyproject_is_not_a_project(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    result = cli("install", "-e", tmp_path / "empty", "--python", sys.executable)
    assert result.code == 2
    assert "has no pyproject.toml" in result.err
