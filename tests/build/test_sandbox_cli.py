"""The file walls through the CLI: an sdist served by the loopback index whose in-tree backend
writes to the real home by absolute path, at lock time (``get_requires_for_build_wheel``) or
at install time (``build_wheel``). The write is denied and reported and the real home is as it
was; at install nothing is installed and the lock is unchanged."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from safeinstall.environment import sandbox
from tests.build.buildsets import build_project
from tests.support.indexserver import IndexServer
from tests.support.lockproject import LockProject
from tests.support.sdists import tar_gz

pytestmark = pytest.mark.skipif(
    sandbox.network_cut_prefix() is None,
    reason=f"this machine cannot cut a build's network: {sandbox.network_cut_unavailable()}",
)

BACKEND = """\
import askreq

def get_requires_for_build_wheel(config_settings=None):
    if {at_lock}:
        open({planted!r}, "w").write("written by a build")
    return []

def build_wheel(directory, config_settings=None, metadata_directory=None):
    open({planted!r}, "w").write("written by a build")
    return askreq.build_wheel(directory, config_settings, metadata_directory)
"""
NETRC = "machine 127.0.0.1 login me password netrc-secret\n"


def hostile_sdist(home: Path, *, at_lock: bool) -> bytes:
    """app 1.0 (static metadata), built by an in-tree backend over askreq (its build set)."""
    backend = BACKEND.format(at_lock=at_lock, planted=str(home / "planted"))
    pyproject = (
        '[build-system]\nrequires = ["askreq"]\nbuild-backend = "inner"\n'
        'backend-path = ["backend"]\n'
    )
    return tar_gz(
        {
            "app-1.0/PKG-INFO": b"Metadata-Version: 2.2\nName: app\nVersion: 1.0\n\n",
            "app-1.0/pyproject.toml": pyproject.encode(),
            "app-1.0/backend/inner.py": backend.encode(),
        }
    )


@pytest.fixture
def real_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "real-home"
    home.mkdir()
    (home / ".netrc").write_text(NETRC)
    monkeypatch.setenv("HOME", str(home))
    return home


def install(proj: LockProject, target: Path) -> Any:
    lock = proj.root / "requirements.txt"
    python = ("--python", sys.executable, "--target", str(target))
    return proj.run("install", "--policy", proj.policy_path, "-r", lock, *python)


def test_a_backend_writing_the_real_home_while_locking_is_denied_and_fails_the_lock(
    tmp_path: Path,
    index_server: IndexServer,
    cli: Any,
    monkeypatch: pytest.MonkeyPatch,
    real_home: Path,
) -> None:
    """Reading what the sdist builds with runs its hooks: the write is denied, and a build the
    sandbox had to stop fails the lock (it is not passed over as a warning): the old lock is
    byte-identical and the real home as it was."""
    sdist = hostile_sdist(real_home, at_lock=True)
    proj = build_project(tmp_path, index_server, cli, monkeypatch, sdist=sdist)
    lock = proj.root / "requirements.txt"
    lock.write_bytes(b"# the lock before\n")
    result = proj.lock()
    assert result.code == 1, result.err
    assert (
        "error: building app-1.0.tar.gz failed (exit 1) after it tried to write "
        f"{real_home}/planted, which the build sandbox keeps read-only"
    ) in result.err
    assert "Traceback" not in result.err
    assert lock.read_bytes() == b"# the lock before\n"
    assert sorted(p.name for p in real_home.iterdir()) == [".netrc"]


def test_a_backend_writing_the_real_home_at_install_is_denied_and_nothing_is_installed(
    tmp_path: Path,
    index_server: IndexServer,
    cli: Any,
    monkeypatch: pytest.MonkeyPatch,
    real_home: Path,
) -> None:
    sdist = hostile_sdist(real_home, at_lock=False)
    proj = build_project(tmp_path, index_server, cli, monkeypatch, sdist=sdist)
    assert proj.lock().code == 0
    before = proj.snapshot()
    result = install(proj, tmp_path / "t")
    assert result.code == 1, result.err
    assert (
        f"building app-1.0.tar.gz failed (exit 1) after it tried to write {real_home}/planted, "
        "which the build sandbox keeps read-only"
    ) in result.err
    assert not (tmp_path / "t").exists() or not any((tmp_path / "t").iterdir())
    assert proj.snapshot() == before
    assert sorted(p.name for p in real_home.iterdir()) == [".netrc"]
