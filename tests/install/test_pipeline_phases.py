"""An install says which phase runs (download, verify, pip, bytecode): on a terminal or with -v.

A 150-package install spends ~40 s downloading and ~35 s compiling bytecode; a terminal that
shows nothing for a minute looks hung. Piped without -v, the output stays as it was.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from safeinstall.cli import main
from tests.support.indexserver import IndexServer
from tests.support.installdata import make_venv, publish, write_locks, write_policy

PHASES = ("download: ", "verify: ", "pip: installing ", "bytecode: ")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def install(
    monkeypatch: pytest.MonkeyPatch, stderr: io.StringIO, *args: str | Path
) -> tuple[int, str]:
    """``safeinstall install ARGS`` in-process with ``stderr`` as the error stream."""
    monkeypatch.setattr(sys, "stderr", stderr)
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    code = main(["install", *map(str, args)])
    return code, stderr.getvalue()


def phase_lines(err: str) -> list[str]:
    lines = err.replace("\r\033[K", "\n").splitlines()
    return [line for line in lines if line.startswith(PHASES)]


@pytest.mark.slow
def test_each_phase_gets_a_line_on_a_terminal_or_with_v_and_none_when_piped(
    index_server: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAFEINSTALL_CACHE_DIR", str(tmp_path / "cache"))
    packages = publish(index_server, tmp_path / "dists")
    policy = write_policy(tmp_path / "safeinstall.toml", index_server.index_url("a"))
    txt, _ = write_locks(tmp_path / "lock", packages[:2])
    args = ("--policy", policy, "-r", txt, "--reinstall")
    python = make_venv(tmp_path / "venv")

    code, seen = install(monkeypatch, Terminal(), *args, "--python", python)
    assert code == 0, seen
    assert phase_lines(seen) == [
        "download: 2 files, each checked against its hash",
        "verify: checking 2 files' contents against the lock",
        f"pip: installing 2 files into {python.parent.parent}",
        "bytecode: compiling the installed files on every core",
    ]

    code, piped = install(monkeypatch, io.StringIO(), *args, "--python", python)
    assert code == 0, piped
    assert piped == "install 2, remove 0; 0 already at the locked version\n"  # as before

    code, verbose = install(monkeypatch, io.StringIO(), *args, "--python", python, "-v")
    assert code == 0, verbose
    assert [line.split(":")[0] for line in phase_lines(verbose)] == [
        "download",
        "verify",
        "pip",
        "bytecode",
    ]
    assert "\r" not in verbose
