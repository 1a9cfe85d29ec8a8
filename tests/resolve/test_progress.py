"""Resolution talks on a terminal, and only there: an updating line, -v pins, -vv refusals.

A 154-package lock backtracked for 17 minutes without a word, even with -vv. Progress must show
on a terminal, and must never reach captured output, pipes, logs or JSON.
"""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

from safeinstall.policy.model import Policy
from safeinstall.requirements.pep508 import Root
from safeinstall.resolve.resolver import resolve
from safeinstall.ui import UI, Live, live, live_status
from tests.resolve.test_dead_ends import LINUX, MANYLINUX, WIN, WINDOWS
from tests.support.fakeindex import NOW, FakeFinder
from tests.support.indexserver import IndexServer
from tests.support.lockproject import LockProject, demo_project
from tests.support.paths import ROOT, WHEELHOUSE


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def ui_on(stream: io.StringIO, verbosity: int = 0, fmt: str = "text") -> UI:
    return UI(fmt=fmt, verbosity=verbosity, stdout=io.StringIO(), stderr=stream)


# --- the live status itself ------------------------------------------------------------------


def test_on_a_terminal_one_line_updates_in_place_at_most_ten_times_a_second() -> None:
    now = [100.0]
    term = Terminal()
    status = Live(ui_on(term), clock=lambda: now[0])
    status.update("resolving 1")
    status.update("resolving 2")  # too soon: skipped
    now[0] += 0.2
    status.update("resolving 3")
    status.say("a -v line")  # not asked for
    status.phase("download: 3 files")
    status.clear()
    assert term.getvalue() == ("\rresolving 1\033[K\rresolving 3\033[K\r\033[Kdownload: 3 files\n")


@pytest.mark.parametrize(
    ("stream", "verbosity", "fmt"),
    [(io.StringIO(), 0, "text"), (Terminal(), -1, "text"), (Terminal(), 0, "json")],
    ids=["piped", "quiet", "json"],
)
def test_piped_quiet_or_json_shows_nothing(stream: io.StringIO, verbosity: int, fmt: str) -> None:
    status = Live(ui_on(stream, verbosity, fmt))
    status.update("resolving", force=True)
    status.phase("download: 3 files")
    status.say("pin lib 1.0")
    status.clear()
    assert stream.getvalue() == ""


def test_verbose_lines_stay_piped_or_not_and_clear_the_updating_line() -> None:
    piped = io.StringIO()
    status = Live(ui_on(piped, 2))
    status.update("resolving", force=True)
    status.say("pin lib 1.0")
    status.say("  skip lib 2.0: no wheel", 2)
    status.say("too much", 3)
    status.phase("pip: installing 3 files")
    assert piped.getvalue() == "pin lib 1.0\n  skip lib 2.0: no wheel\npip: installing 3 files\n"
    term = Terminal()
    status = Live(ui_on(term, 1))
    status.update("resolving", force=True)
    status.say("pin lib 1.0")
    assert term.getvalue() == "\rresolving\033[K\r\033[Kpin lib 1.0\n"


def test_the_live_status_belongs_to_the_running_command_only() -> None:
    term = Terminal()
    assert live_status().ui is None
    with live(ui_on(term)) as status:
        assert live_status() is status
        status.update("resolving", force=True)
    assert term.getvalue() == "\rresolving\033[K\r\033[K"  # taken away at the end
    assert live_status().ui is None


def test_the_line_is_taken_away_when_a_target_is_resolved() -> None:
    # the lock's result follows on stdout: on the same terminal it must not land on the line
    finder = FakeFinder()
    finder.add("lib", "1.0")
    term = Terminal()
    with live(ui_on(term)):
        resolve([Root(Requirement("lib"), "requirements.in:1")], Policy(), finder, WIN, now=NOW)
        assert "\rresolving for cp3.12-windows-amd64: 1 pinned, 1 tried, round 2, lib 1.0" in (
            term.getvalue()
        )
        assert term.getvalue().endswith("\033[K\r\033[K")


# --- a lock through the CLI: pipes, -v, -vv, json ----------------------------------------------


@pytest.fixture
def proj(
    tmp_path: Path, index_server: IndexServer, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> LockProject:
    """app -> mid -> native (linux wheels only) and demo -> dep, for linux (and windows)."""
    project = demo_project(tmp_path, index_server, cli, monkeypatch)
    project.publish("app", "1.0", requires_dist=["mid"])
    project.publish("mid", "1.0", requires_dist=["native"])
    project.publish("native", "1.0", tag=MANYLINUX)
    (project.root / "requirements.in").write_text("app\ndemo\n")
    project.write_policy(f"environments = [{LINUX!r}]")
    return project


def test_piped_lock_output_has_no_progress(proj: LockProject) -> None:
    result = proj.lock()
    assert result.code == 0, result.err
    assert result.err == "Resolving 2 requirements for 1 target(s)...\n"
    assert "\r" not in result.out + result.err
    as_json = proj.lock("--upgrade", "--format", "json")
    assert as_json.out.startswith("{") and "\r" not in as_json.out + as_json.err
    assert "resolving" not in as_json.out + as_json.err


def test_verbose_lock_prints_each_pin_and_very_verbose_each_refusal(proj: LockProject) -> None:
    result = proj.lock("-v")
    assert result.code == 0, result.err
    lines = result.err.splitlines()
    assert "pin native 1.0 (cp3.12-linux-x86_64)" in lines
    assert "resolved 5 packages for cp3.12-linux-x86_64 in 6 rounds" in lines
    assert "\r" not in result.err
    proj.write_policy(f"environments = [{LINUX!r}, {WINDOWS!r}]")
    failed = proj.lock("-vv")
    assert failed.code == 1
    assert (
        "  skip native 1.0: no wheel for cp3.12-windows-amd64, and building sdists is not allowed"
        in failed.err.splitlines()
    )
    assert "error: native has no file usable on cp3.12-windows-amd64" in failed.err


# --- a real terminal ---------------------------------------------------------------------------


def run_on_a_terminal(proj: LockProject, *args: str) -> tuple[int, str]:
    """``safeinstall lock ARGS`` in a subprocess whose stderr is a pty: (exit code, what the
    terminal received)."""
    leader, follower = pty.openpty()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PIP_CONFIG_FILE": "/dev/null",
        "SAFEINSTALL_CACHE_DIR": str(proj.root.parent / "cache"),
        "NO_COLOR": "1",
    }
    code = "from safeinstall.cli import entry; entry()"
    argv = [sys.executable, "-c", code, "lock", "--policy", str(proj.policy_path), *args]
    proc = subprocess.Popen(
        argv, cwd=proj.root, env=env, stdout=subprocess.PIPE, stderr=follower, stdin=None
    )
    os.close(follower)
    received = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        received += chunk
    os.close(leader)
    proc.wait(timeout=60)
    assert proc.stdout is not None
    out = proc.stdout.read().decode()
    proc.stdout.close()
    assert "\r" not in out and "resolving" not in out  # stdout is a pipe: results only
    return proc.returncode, received.decode()


def test_a_terminal_sees_the_resolution_progress_then_a_clean_result(proj: LockProject) -> None:
    code, seen = run_on_a_terminal(proj)
    assert code == 0, seen
    assert "\rresolving for cp3.12-linux-x86_64: 5 pinned, 5 tried, round 6, native 1.0" in seen
    assert seen.endswith("\r\033[K")  # the line is taken away before the shell prompt


def test_a_terminal_sees_the_dead_end_as_one_sentence_after_the_progress(
    proj: LockProject,
) -> None:
    proj.write_policy(f"environments = [{LINUX!r}, {WINDOWS!r}]")
    code, seen = run_on_a_terminal(proj)
    assert code == 1
    assert "\rresolving for cp3.12-windows-amd64" in seen
    last = seen.split("\r\033[K")[-1].replace("\r\n", "\n")
    assert last.startswith("error: native has no file usable on cp3.12-windows-amd64")
    assert "Traceback" not in seen


def test_a_warning_while_resolving_starts_on_a_line_of_its_own(proj: LockProject) -> None:
    flit = sorted(WHEELHOUSE.glob("flit_core-*.whl"))
    if not flit:
        pytest.skip(f"no wheelhouse at {WHEELHOUSE}: run .ci/run once (it downloads it)")
    proj.server.add("a", flit[-1])
    proj.publish("dynpkg", "1.0", sdist=True, requires_dist=["dep"], dynamic=["Requires-Dist"])
    (proj.root / "requirements.in").write_text("dynpkg\n")
    proj.write_policy(f'sdists = ["dynpkg"]\nenvironments = [{LINUX!r}]')
    code, seen = run_on_a_terminal(proj)
    assert code == 0, seen
    assert "\r\033[Kwarning: building dynpkg-1.0.tar.gz to read its dependencies" in seen


def test_a_warning_from_a_fetch_thread_clears_the_line_too() -> None:
    # sdists are built for their metadata in the prefetch threads, which do not see the
    # command's live status (a context variable): the warning is bound to it beforehand
    from safeinstall.commands.lock import _warn

    term = Terminal()
    ui = ui_on(term)
    with live(ui) as status:
        status.update("resolving for linux", force=True)
        thread = threading.Thread(target=_warn, args=(ui, live_status(), "building x.tar.gz"))
        thread.start()
        thread.join()
    assert term.getvalue() == "\rresolving for linux\033[K\r\033[Kwarning: building x.tar.gz\n"


def test_very_verbose_says_why_each_candidate_was_refused_or_rejected() -> None:
    finder = FakeFinder()
    finder.add("mid", "1.0", ["native<2"])
    finder.add("mid", "2.0", ["native>=2"])
    finder.add("native", "1.0")
    finder.add("native", "2.0", tags=[MANYLINUX])
    piped = io.StringIO()
    with live(ui_on(piped, 2)):
        resolve([Root(Requirement("mid"), "requirements.in:1")], Policy(), finder, WIN, now=NOW)
    lines = piped.getvalue().splitlines()
    assert lines == [
        "  skip native 2.0: no wheel for cp3.12-windows-amd64, and building sdists is not allowed",
        "  reject mid 2.0: native>=2 (from mid 2.0 <- requirements.in:1)",
        "pin mid 1.0 (cp3.12-windows-amd64)",
        "pin native 1.0 (cp3.12-windows-amd64)",
        "resolved 2 packages for cp3.12-windows-amd64 in 3 rounds",
    ]
