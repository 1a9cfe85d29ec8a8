"""SAFEINSTALL_TIMINGS=PATH: the seconds each install phase took, for the install benchmark.

Off (the default) it measures and writes nothing; on, a path that cannot be written (a symbolic
link, a missing directory) is a warning and the install's result and exit code are unchanged.
"""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import safeinstall.install.timings
from safeinstall.install.timings import (
    ENV,
    Stopwatch,
    Timings,
    phase_name,
    phase_timings,
    write_timings,
)
from safeinstall.ui import live_status
from tests.support.fixtures import Result
from tests.support.indexserver import IndexServer
from tests.support.installdata import installed, make_venv, publish, write_locks, write_policy

PHASES = ["plan", "malware", "download", "verify", "inspect", "pip", "bytecode"]  # as they run


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One venv for the module's installs (each test installs with --reinstall)."""
    return make_venv(tmp_path_factory.mktemp("timings") / "venv")


@pytest.fixture
def install_args(index_server: IndexServer, tmp_path: Path, venv: Path) -> list[str]:
    """``install`` of two wheels from the loopback index into ``venv``, with its own cache."""
    packages = publish(index_server, tmp_path / "dists", ("alpha-one", "beta-two"))
    policy = write_policy(tmp_path / "safeinstall.toml", index_server.index_url("a"))
    txt, _ = write_locks(tmp_path / "lock", packages)
    args = ["install", "--policy", str(policy), "-r", str(txt), "--reinstall"]
    return [*args, "--python", str(venv)]


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFEINSTALL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv(ENV, raising=False)


@pytest.mark.slow
def test_an_install_writes_each_phase_and_they_add_up_to_its_time(
    cli: Callable[..., Result],
    install_args: list[str],
    venv: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "timings.json"
    monkeypatch.setenv(ENV, str(out))
    start = time.perf_counter()
    result = cli(*install_args, "-q")  # quiet: no phase line is shown, each is timed all the same
    wall = time.perf_counter() - start
    assert result.code == 0, result.err
    assert "download:" not in result.err
    assert {"alpha-one==1.0", "beta-two==1.0"} <= installed(venv)
    document = json.loads(out.read_text())
    assert document["version"] == 1 and document["ok"] is True
    phases: dict[str, float] = document["phases"]
    assert list(phases) == PHASES
    assert all(seconds >= 0 for seconds in phases.values())
    assert sum(phases.values()) == pytest.approx(document["total"], abs=1e-5)
    assert 0 < document["total"] <= wall
    assert phases["pip"] > 0 and phases["bytecode"] > 0  # the subprocesses are in their phases


@pytest.mark.slow
def test_off_nothing_is_measured_or_written(
    cli: Callable[..., Result],
    install_args: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_stopwatch(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("measured although SAFEINSTALL_TIMINGS is not set")

    monkeypatch.setattr(safeinstall.install.timings, "Stopwatch", no_stopwatch)
    before = sorted(tmp_path.rglob("*"))
    assert cli(*install_args).code == 0
    monkeypatch.setenv(ENV, "")  # set but empty: off as well
    assert cli(*install_args).code == 0
    written = set(tmp_path.rglob("*")) - set(before)
    assert not [p for p in written if "cache" not in p.relative_to(tmp_path).parts]


@pytest.mark.slow
def test_a_symbolic_link_is_not_followed_and_the_install_goes_on(
    cli: Callable[..., Result],
    install_args: list[str],
    venv: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("not yours\n")
    link = tmp_path / "timings.json"
    link.symlink_to(elsewhere)
    monkeypatch.setenv(ENV, str(link))
    result = cli(*install_args)
    assert result.code == 0
    assert {"alpha-one==1.0", "beta-two==1.0"} <= installed(venv)
    assert elsewhere.read_text() == "not yours\n" and link.is_symlink()
    assert f"warning: {ENV}: could not write the phase timings to {link}" in result.err
    assert "symbolic link" in result.err
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


@pytest.mark.slow
def test_an_unwritable_path_is_a_warning_not_a_failure(
    cli: Callable[..., Result],
    install_args: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(ENV, str(tmp_path / "no-such-directory" / "timings.json"))
    result = cli(*install_args)
    assert result.code == 0
    assert f"warning: {ENV}: could not write the phase timings" in result.err
    assert "(the install's result stands)" in result.err


def test_what_is_no_file_is_never_replaced(tmp_path: Path) -> None:
    """A pipe or a device (SAFEINSTALL_TIMINGS=/dev/null) stays what it is: the atomic write
    would rename a file over it (as root, over /dev/null)."""
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    warnings: list[str] = []
    write_timings(pipe, Timings((("plan", 1.0),), 1.0, ok=True), warnings.append)
    assert stat.S_ISFIFO(os.lstat(pipe).st_mode)
    assert warnings == [
        f"{ENV}: could not write the phase timings to {pipe}: {pipe} is not a file "
        "(the install's result stands)"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


def test_a_failed_install_keeps_its_exit_code_and_its_timings_say_so(
    cli: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    policy = write_policy(tmp_path / "safeinstall.toml")
    argv = ("install", "--policy", policy, "-r", tmp_path / "missing.txt", "--python", "python3")
    without = cli(*argv)
    assert without.code != 0
    out = tmp_path / "timings.json"
    monkeypatch.setenv(ENV, str(out))
    with_timings = cli(*argv)
    assert (with_timings.code, with_timings.err) == (without.code, without.err)
    document = json.loads(out.read_text())
    assert document["ok"] is False and list(document["phases"]) == ["plan"]


def test_a_phase_is_named_by_its_announcement_and_entered_twice_adds_up() -> None:
    assert phase_name("download: 3 files, each checked against its hash") == "download"
    assert phase_name("pip: removing 2 packages the lock does not list") == "pip"
    assert phase_name("something without a name") == "other"
    ticks: Iterator[float] = iter([10.0, 11.0, 13.0, 14.5, 20.0])
    watch = Stopwatch(clock=lambda: next(ticks))  # starts at 10
    watch("download: 2 files")  # plan 1
    watch("download: more")  # the same phase: no switch, no tick
    watch("inspect: 2 files")  # download 2
    watch("download: a build's requirements")  # inspect 1.5
    timings = watch.stop(ok=True)  # download 5.5 more
    assert timings == Timings(
        (("plan", 1.0), ("download", 7.5), ("inspect", 1.5)), total=10.0, ok=True
    )


def test_phases_are_watched_only_inside_the_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "t.json"
    warnings: list[str] = []
    live_status().phase("download: before")  # nobody watches: nothing happens
    with phase_timings({ENV: str(out)}, warnings.append):
        live_status().phase("verify: inside")
    live_status().phase("pip: after")
    assert list(json.loads(out.read_text())["phases"]) == ["plan", "verify"]
    assert warnings == []
