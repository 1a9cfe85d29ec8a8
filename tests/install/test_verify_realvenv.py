"""`safeinstall verify` after an honest `safeinstall install` into a fresh `python -m venv`: exit 0.

A fresh venv is what users verify most, and what it holds depends on the interpreter: on 3.11
ensurepip installs setuptools, whose ``distutils-precedence.pth`` runs code at every start-up
(and once made verify exit 1); from 3.12 it installs pip alone. Each interpreter is looked up as
``python3.X`` on PATH or in pyenv (``tests/support/pythons.py``), else the test is skipped with
the reason.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.fixtures import Result
from tests.support.indexserver import IndexServer
from tests.support.installdata import pip_env, publish, site_packages, write_locks, write_policy
from tests.support.pythons import interpreter


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
