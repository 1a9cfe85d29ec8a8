"""Targets without pip (``python -m venv --without-pip``, venvs uv makes): safeinstall installs
and syncs into them with its own pip, started as every start of the target is (``-I -S``).

The target is hostile on top: a ``pip`` package planted in its site-packages (no metadata: not
an installed pip), a ``sitecustomize.py`` and a ``.pth`` with an ``import`` line, each leaving a
marker when it runs. pip's own ``--python`` would start the target without ``-I -S`` and run the
last two; none of the three may ever run.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from safeinstall.environment.probe import probe
from tests.support.fixtures import Result
from tests.support.indexserver import IndexServer
from tests.support.installdata import (
    make_venv,
    pip_env,
    publish,
    site_packages,
    write_locks,
    write_policy,
)

Cli = Callable[..., Result]
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the venv layout here is POSIX")


def planted(marker: Path, what: str) -> str:
    return f"open({str(marker)!r}, 'a').write({what!r} + '\\n')\n"


def without_pip(path: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, env=pip_env()
    )
    return path / "bin" / "python"


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "marker"


@pytest.fixture
def hostile(tmp_path: Path, marker: Path) -> Path:
    """A pip-less venv with a planted pip package, sitecustomize and .pth (its python)."""
    python = without_pip(tmp_path / "venv")
    site = site_packages(python)
    (site / "pip").mkdir()
    (site / "pip" / "__init__.py").write_text(planted(marker, "planted pip"))
    (site / "pip" / "__main__.py").write_text(planted(marker, "planted pip main"))
    (site / "sitecustomize.py").write_text(planted(marker, "sitecustomize"))
    (site / "evil.pth").write_text("import os; " + planted(marker, "pth"))
    subprocess.run([str(python), "-m", "pip"], check=False, env=pip_env(), capture_output=True)
    ran = set(marker.read_text().split())
    assert {"sitecustomize", "pth", "planted"} <= ran  # (a venv's lib64 runs the .pth twice)
    marker.unlink()  # the environment really is hostile: a plain start runs all three
    return python


@pytest.fixture
def served(index_server: IndexServer, tmp_path: Path) -> tuple[Path, list[Path]]:
    """(policy, [lock of alpha-one and beta-two, lock of alpha-one alone])."""
    packages = publish(index_server, tmp_path / "dists", ["alpha-one", "beta-two"])
    both, _ = write_locks(tmp_path / "both", packages)
    one, _ = write_locks(tmp_path / "one", packages[:1])
    return write_policy(tmp_path / "safeinstall.toml", index_server.index_url("a")), [both, one]


@pytest.mark.slow
def test_has_pip_is_read_from_files(tmp_path: Path, hostile: Path, marker: Path) -> None:
    assert probe(str(hostile)).has_pip is False  # a pip/ without pip's metadata is not a pip
    assert probe(str(without_pip(tmp_path / "bare"))).has_pip is False
    assert probe(str(make_venv(tmp_path / "with-pip"))).has_pip is True
    assert not marker.exists()


@pytest.mark.slow
def test_install_sync_and_verify_in_a_venv_without_pip(
    cli: Cli, hostile: Path, marker: Path, served: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    policy, (both, one) = served
    site = site_packages(hostile)
    installed = cli("install", "--policy", policy, "-r", both, "--python", hostile)
    assert installed.code == 0, installed.err
    assert (site / "alpha_one-1.0.dist-info").is_dir()
    assert (site / "beta_two-1.0.dist-info").is_dir()
    assert list((site / "alpha_one" / "__pycache__").glob("__init__.*.pyc"))
    assert not marker.exists(), marker.read_text()
    synced = cli("sync", "--policy", policy, one, "--python", hostile)
    assert synced.code == 0, synced.err
    assert not (site / "beta_two-1.0.dist-info").exists()  # our pip uninstalled it
    assert (site / "pip" / "__init__.py").is_file()  # the planted package is left as it was
    verified = cli("verify", one, "--python", hostile)
    assert verified.code == 1  # the one problem is the planted .pth, and verify names it
    assert verified.out.startswith("pth-exec: evil.pth runs code at every interpreter start-up")
    assert len(verified.out.splitlines()) == 1
    assert "1 packages (1 also against their locked wheels)" in verified.err
    wheels = tmp_path / "wheels"
    downloaded = cli("download", "--policy", policy, one, "-d", wheels, "--python", hostile)
    assert downloaded.code == 0, downloaded.err
    assert [p.name for p in (tmp_path / "wheels").glob("*.whl")] == [
        "alpha_one-1.0-py3-none-any.whl"
    ]
    assert not marker.exists(), marker.read_text()
