"""The sandbox's ``unshare`` comes from the system's directories, never from PATH: a target
environment leads PATH when active, and a package installed there can ship an ``unshare`` that
cuts nothing (the build would run with the network while safeinstall says it is cut)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from safeinstall.environment import sandbox
from safeinstall.files.programs import SYSTEM_DIRS
from tests.support.planted import planted_venv, ran

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="unshare is Linux's")


@pytest.fixture(autouse=True)
def fresh_probe() -> Iterator[None]:
    sandbox._probe.cache_clear()
    yield
    sandbox._probe.cache_clear()


def _first_on_path(monkeypatch: pytest.MonkeyPatch, directory: Path) -> None:
    monkeypatch.setenv("PATH", f"{directory}{os.pathsep}{os.environ['PATH']}")


def _assert_not_planted(prefix: tuple[str, ...] | None) -> None:
    if prefix is not None:
        assert os.path.dirname(prefix[0]) in SYSTEM_DIRS


def test_an_unshare_planted_in_the_active_venv_is_never_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    venv = planted_venv(tmp_path / "venv")
    _first_on_path(monkeypatch, venv / "bin")
    monkeypatch.setenv("VIRTUAL_ENV", str(venv))
    _assert_not_planted(sandbox.network_cut_prefix())
    assert ran(venv) == []


@pytest.mark.parametrize("pyvenv_cfg", [True, False])
def test_an_unshare_first_on_path_without_virtual_env_is_never_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pyvenv_cfg: bool
) -> None:
    """The target given by --python or found as the project's .venv, its bin/ put on PATH by
    hand (or any directory at all: PATH is not where unshare is looked for)."""
    venv = planted_venv(tmp_path / ".venv", pyvenv_cfg=pyvenv_cfg)
    _first_on_path(monkeypatch, venv / "bin")
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    _assert_not_planted(sandbox.network_cut_prefix())
    assert ran(venv) == []


def test_only_the_system_directories_are_searched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    venv = planted_venv(tmp_path / "venv")
    _first_on_path(monkeypatch, venv / "bin")
    monkeypatch.setattr(sandbox, "UNSHARE_DIRS", (str(tmp_path / "nothing-here"),))
    assert sandbox.network_cut_prefix() is None
    assert sandbox.network_cut_unavailable() == (
        "the `unshare` command (util-linux) is not installed"
    )
    assert ran(venv) == []
