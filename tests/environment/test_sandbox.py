"""The sandbox's ``unshare`` comes from the system's directories, never from PATH: a target
environment leads PATH when active, and a package installed there can ship an ``unshare`` that
cuts nothing (the build would run with the network while safeinstall says it is cut)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from safeinstall.environment import mounts, sandbox
from safeinstall.environment.mounts import SETUP, Places
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


def test_the_file_walls_are_set_up_with_no_program_from_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The setup inside the mount (and process) namespace is the running interpreter by its path
    calling mount(2) itself; the build's argv runs by its absolute path (execv, no PATH)."""
    venv = planted_venv(tmp_path / "venv")
    _first_on_path(monkeypatch, venv / "bin")
    monkeypatch.setenv("VIRTUAL_ENV", str(venv))
    sandbox._mount_probe.cache_clear()
    if sandbox.network_cut_prefix() is None:
        pytest.skip(f"no network namespace here: {sandbox.network_cut_unavailable()}")
    assert sandbox._mount_probe() == (True, "")
    source = tmp_path / "src"
    source.mkdir()
    places = Places(source, writable=(tmp_path,))
    with sandbox.confined(["/bin/true"], mode="require", what="x", places=places) as box:
        unshare, *options, setup, isolated, no_site, c, code, spec, dashes, build = box.argv
        assert os.path.dirname(unshare) in SYSTEM_DIRS
        assert {"--mount", "--pid", "--kill-child"} <= set(options)
        assert (setup, isolated, no_site, c, code) == (sys.executable, "-I", "-S", "-c", SETUP)
        assert (dashes, build) == ("--", "/bin/true")
        assert json.loads(spec)["overlay"][0] == str(source.resolve())  # the source is copied
        assert box.files_walled
    sandbox._mount_probe.cache_clear()
    assert ran(venv) == []


def test_what_a_build_was_denied_is_read_from_its_output(tmp_path: Path) -> None:
    home = tmp_path / "home"
    box = sandbox.Confinement(("x",), {}, network_cut=True, files_walled=True, hidden=(home,))
    wrote = f"PermissionError: [Errno 30] Read-only file system: '{home}/.bashrc'"
    assert box.denied(wrote) == (
        f"tried to write {home}/.bashrc, which the build sandbox keeps read-only"
    )
    assert box.denied("cc1: error: /usr/lib/x.o: Read-only file system") == (
        "tried to write outside its source, output and home, which the build sandbox keeps "
        "read-only"
    )
    looked = f"FileNotFoundError: [Errno 2] No such file or directory: '{home}/.pypirc'"
    assert box.denied(looked) == f"looked for {home}/.pypirc, which the build sandbox hides"
    elsewhere = "FileNotFoundError: [Errno 2] No such file or directory: 'README.rst'"
    assert box.denied(elsewhere) is None  # a file the sdist lacks: not the sandbox's doing
    assert box.denied("OSError: [Errno 101] Network is unreachable") == (
        "tried to reach the network, which the build sandbox cuts"
    )
    unwalled = sandbox.Confinement(("x",), {}, network_cut=True)
    assert unwalled.denied(wrote) is None and unwalled.denied(looked) is None


def test_the_interpreter_places_include_a_venvs_base_interpreter(tmp_path: Path) -> None:
    """A venv's python links to (or, made with --copies, names in pyvenv.cfg) the base
    interpreter, whose prefix holds the standard library: both are bound back."""
    base = Path(os.path.realpath(sys.executable)).parent.parent
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_bytes(b"")  # a copy, not a link
    (venv / "pyvenv.cfg").write_text(f"home = {base / 'bin'}\n")
    assert mounts.interpreter_places(str(venv / "bin" / "python")) == (venv, base)
