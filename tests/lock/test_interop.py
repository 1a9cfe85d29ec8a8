"""Our locks, read by other tools: plain pip installs requirements.txt with --require-hashes,
packaging.pylock validates pylock.toml and selects the right wheels, uv installs it (when present).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.markers import Environment, default_environment
from packaging.pylock import PackageWheel, Pylock
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import canonicalize_name

from tests.support.builders import file_sha256
from tests.support.indexserver import IndexServer
from tests.support.lockproject import LockProject, demo_project

LINUX = 'python_version == "3.12" and sys_platform == "linux" and platform_machine == "x86_64"'
WINDOWS = 'python_version == "3.12" and sys_platform == "win32" and platform_machine == "AMD64"'


@pytest.fixture
def proj(
    tmp_path: Path, index_server: IndexServer, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> LockProject:
    return demo_project(tmp_path, index_server, cli, monkeypatch)


def fresh_venv(path: Path) -> Path:
    """A new virtual environment without pip (installers are run from outside); its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    return path / "bin" / "python"


def installed(python: Path) -> dict[str, str]:
    code = (
        "import importlib.metadata as m\nfor d in m.distributions(): print(f'{d.name}={d.version}')"
    )
    out = subprocess.run([python, "-c", code], check=True, capture_output=True, text=True).stdout
    return dict(item.split("=") for item in out.split())


def tool_env(tmp_path: Path) -> dict[str, str]:
    """No PIP_*/UV_* settings or config files: only the command line decides."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env.update(
        PIP_CONFIG_FILE=os.devnull,
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        UV_NO_CONFIG="1",
        UV_CACHE_DIR=str(tmp_path / "uv-cache"),
    )
    return env


@pytest.mark.slow
def test_pip_installs_our_requirements_txt_with_require_hashes(
    proj: LockProject, tmp_path: Path
) -> None:
    proj.publish("dep", "2.0")
    proj.publish("dep", "1.5")
    (proj.root / "requirements.in").write_text("demo\ndep<2\n")
    result = proj.lock()
    assert result.code == 0, result.err
    python = fresh_venv(tmp_path / "venv")
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-cache-dir"]
    pip += ["--require-hashes", "-r", "requirements.txt", "--index-url"]
    pip += [proj.server.index_url("a")]
    done = subprocess.run(pip, check=False, env=tool_env(tmp_path), capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert installed(python) == {"demo": "1.0", "dep": "1.5"}


def marker_environment(marker: str) -> Environment:
    """A full PEP 508 environment for one of the two targets above."""
    env = default_environment()  # a fresh copy
    windows = "win32" in marker
    env.update(
        {
            "python_version": "3.12",
            "python_full_version": "3.12.0",
            "implementation_name": "cpython",
            "platform_python_implementation": "CPython",
            "sys_platform": "win32" if windows else "linux",
            "platform_system": "Windows" if windows else "Linux",
            "os_name": "nt" if windows else "posix",
            "platform_machine": "AMD64" if windows else "x86_64",
        }
    )
    return env


def tags_for(marker: str) -> list[Tag]:
    platforms = ["win_amd64"] if "win32" in marker else ["manylinux_2_17_x86_64", "linux_x86_64"]
    return [
        *cpython_tags((3, 12), platforms=platforms),
        *compatible_tags((3, 12), "cp312", platforms),
    ]


def test_packaging_validates_our_pylock_and_selects_the_right_wheels(proj: LockProject) -> None:
    wheels = {
        tag: proj.publish(
            "native", "1.0", tag=tag, requires_dist=["winonly; sys_platform=='win32'"]
        )
        for tag in (
            "cp312-cp312-manylinux_2_17_x86_64",
            "cp312-cp312-win_amd64",
            "cp312-cp312-macosx_11_0_arm64",  # fits neither target: not in the lock
            "cp313-cp313-win_amd64",  # fits neither target: not in the lock
        )
    }
    proj.publish("winonly", "1.0")
    proj.write_policy(f"environments = [{LINUX!r}, {WINDOWS!r}]")
    (proj.root / "requirements.in").write_text("native\ndemo\n")
    result = proj.lock("-o", "pylock.toml")
    assert result.code == 0, result.err
    lock = Pylock.from_dict(tomllib.loads((proj.root / "pylock.toml").read_text()))
    lock.validate()
    native = next(p for p in lock.packages if p.name == "native")
    assert sorted((w.name for w in native.wheels or ()), key=str) == [
        "native-1.0-cp312-cp312-manylinux_2_17_x86_64.whl",
        "native-1.0-cp312-cp312-win_amd64.whl",
    ]
    for marker, tag, extra in (
        (LINUX, "cp312-cp312-manylinux_2_17_x86_64", set()),
        (WINDOWS, "cp312-cp312-win_amd64", {"winonly"}),
    ):
        chosen = lock.select(environment=marker_environment(marker), tags=tags_for(marker))
        by_name = {package.name: dist for package, dist in chosen}
        assert set(by_name) == {"native", "demo", "dep"} | extra
        wheel = by_name[canonicalize_name("native")]
        assert isinstance(wheel, PackageWheel), wheel
        assert wheel.name == wheels[tag].name
        assert wheel.hashes == {"sha256": file_sha256(wheels[tag])}


@pytest.mark.slow
def test_uv_installs_our_pylock(proj: LockProject, tmp_path: Path) -> None:
    # uv is a dev dependency (requirements-dev.in): beside this interpreter, else on PATH
    beside = Path(sys.executable).parent / "uv"
    uv = str(beside) if beside.exists() else shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not installed")
    result = proj.lock("-o", "pylock.toml")
    assert result.code == 0, result.err
    python = fresh_venv(tmp_path / "venv")
    done = subprocess.run(
        [uv, "pip", "install", "--python", str(python), "-r", "pylock.toml"],
        env=tool_env(tmp_path),
        check=False,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert installed(python) == {"demo": "1.0", "dep": "1.0"}
