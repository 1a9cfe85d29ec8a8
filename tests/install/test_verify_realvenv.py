"""`safeinstall verify` after an honest `safeinstall install` into a fresh `python -m venv`: exit 0.

A fresh venv is what users verify most, and what it holds depends on the interpreter: on 3.11
ensurepip installs setuptools, whose ``distutils-precedence.pth`` runs code at every start-up
(and once made verify exit 1); from 3.12 it installs pip alone. Each interpreter is looked up as
``python3.X`` on PATH, else the test is skipped with the reason; with pyenv, expose the extra
versions first (the command is in ``HINT``).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.fixtures import Result
from tests.support.indexserver import IndexServer
from tests.support.installdata import pip_env, publish, site_packages, write_locks, write_policy

HINT = (
    "with pyenv: export PYENV_VERSION=$(pyenv global):$(pyenv versions --bare "
    "| grep -E '^3\\.1[23]\\.' | paste -sd:)"
)


def interpreter(version: str) -> str:
    """``python<version>`` from PATH, if it runs and is that version; else the test is skipped."""
    exe = shutil.which(f"python{version}")
    if exe is None:
        pytest.skip(f"python{version} is not on PATH ({HINT})")
    probe = subprocess.run(
        [exe, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        env=pip_env(),
    )
    if probe.returncode != 0 or probe.stdout.strip() != version:
        pytest.skip(f"python{version} on PATH does not run as {version} ({HINT})")
    return exe


@pytest.mark.slow
@pytest.mark.parametrize("version", ["3.11", "3.13"])
def test_verify_passes_after_an_honest_install_into_a_fresh_venv(
    cli: Callable[..., Result], index_server: IndexServer, tmp_path: Path, version: str
) -> None:
    exe = interpreter(version)
    subprocess.run([exe, "-m", "venv", str(tmp_path / "venv")], check=True, env=pip_env())
    python = tmp_path / "venv" / "bin" / "python"
    site = site_packages(python)
    # what this machine's interpreters put into a fresh venv: setuptools only before 3.12
    assert (site / "distutils-precedence.pth").is_file() == (version == "3.11")
    policy = write_policy(tmp_path / "safeinstall.toml", index_server.index_url("a"))
    txt, _ = write_locks(tmp_path / "lock", publish(index_server, tmp_path / "dists"))
    installed = cli("install", "--policy", policy, "-r", txt, "--python", python)
    assert installed.code == 0, installed.out + installed.err
    result = cli("verify", txt, "--policy", policy, "--python", python)
    assert result.code == 0, result.out + result.err
    assert result.out == ""
    assert "ok: " in result.err
