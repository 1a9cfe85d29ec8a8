"""-q prints one summary line per command, -qq nothing on success, and errors show at every level.

Every command runs for real, in-process, against a project that locks from the loopback index;
the ones that install run real pip into a real venv.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.fixtures import Result
from tests.support.indexserver import IndexServer
from tests.support.installdata import make_venv
from tests.support.lockproject import LockProject, demo_project
from tests.support.osvdata import OSV_DIR

Cli = Callable[..., Result]


@pytest.fixture
def proj(
    tmp_path: Path, index_server: IndexServer, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> LockProject:
    """The demo project, locked (requirements.txt pins demo and dep), with an older lock to
    compare against and a policy of its own (the project's safeinstall.toml)."""
    project = demo_project(tmp_path, index_server, cli, monkeypatch)
    project.policy_path.replace(project.root / "safeinstall.toml")
    (project.root / ".git").mkdir()
    assert cli("lock").code == 0
    project.publish("dep", "2.0")
    text = (project.root / "requirements.txt").read_text()
    (project.root / "old.txt").write_text(text.replace("dep==1.0", "dep==0.9"))
    return project


def lines(result: Result) -> list[str]:
    return (result.out + result.err).splitlines()


def run_at(cli: Cli, args: tuple[str, ...], level: str) -> Result:
    Path("bom.json").unlink(missing_ok=True)  # `sbom -o` writes a new file each time
    result = cli(*args, *([level] if level else []))
    assert result.code == 0, (args, level, result.err)
    return result


# command line -> a text the one summary line of -q holds
SUMMARIES: list[tuple[tuple[str, ...], str]] = [
    (("lock",), "requirements.txt: unchanged, 2 packages, 2 hashes"),
    (("lock", "--check"), "requirements.txt: up to date"),
    (("check", "requirements.txt"), "ok: 1 file checked"),
    (("audit", "--db", str(OSV_DIR)), "ok: no known vulnerabilities in 2 packages"),
    (("sbom", "requirements.txt", "-o", "bom.json"), "wrote bom.json"),
    (("diff", "old.txt", "requirements.txt"), "1 change: 1 upgraded"),
    (("diff", "requirements.txt", "requirements.txt"), "no changes"),
    (("download", "-d", "wheelhouse", "--python", sys.executable), "2 verified files"),
    (("init", "--path", "safeinstall.toml", "--force"), "replaced the policy in"),
]


@pytest.mark.parametrize(("args", "summary"), SUMMARIES, ids=[" ".join(a) for a, _ in SUMMARIES])
def test_quiet_is_one_summary_line_and_very_quiet_is_nothing(
    cli: Cli, proj: LockProject, args: tuple[str, ...], summary: str
) -> None:
    quiet = run_at(cli, args, "-q")
    assert len(lines(quiet)) == 1, lines(quiet)
    assert summary in lines(quiet)[0]
    assert lines(quiet)[0] in lines(run_at(cli, args, ""))  # the same words, and more
    assert lines(run_at(cli, args, "-qq")) == []


@pytest.mark.parametrize(
    "args", [("diff", "old.txt", "requirements.txt"), ("download", "-d", "wheels")]
)
def test_the_default_shows_a_line_per_package_and_the_summary(
    cli: Cli, proj: LockProject, args: tuple[str, ...]
) -> None:
    python = ("--python", sys.executable) if args[0] == "download" else ()
    default = run_at(cli, (*args, *python), "")
    assert len(lines(default)) > 1


@pytest.mark.parametrize(("args", "count"), [(("why", "dep"), 1), (("tree",), 2)])
def test_an_answer_is_what_was_asked_at_every_level(
    cli: Cli, proj: LockProject, args: tuple[str, ...], count: int
) -> None:
    """`why` and `tree` print what the user asked for, as JSON is printed: no summary to
    quieten, and the answer is never taken away."""
    default = run_at(cli, args, "")
    assert len(default.out.splitlines()) == count
    for level in ("-q", "-qq"):
        assert run_at(cli, args, level) == default


@pytest.mark.parametrize("level", ["-q", "-qq"])
def test_json_is_the_payload_whatever_the_level(cli: Cli, proj: LockProject, level: str) -> None:
    args = ("check", "requirements.txt", "--format", "json")
    assert cli(*args, level).out == cli(*args).out
    assert json.loads(cli(*args, level).out)


def failing(proj: LockProject) -> list[tuple[tuple[str, ...], str]]:
    """Command lines that fail, with a text their error holds."""
    (proj.root / "loose.txt").write_text("demo\n")
    (proj.root / "requirements.in").write_text("demo\ndep\n")  # the lock is stale now
    return [
        (("check", "loose.txt"), "loose.txt:1"),
        (("lock", "--check"), "requirements.txt: stale"),
        (("install", "--python", sys.executable), "nothing to install"),
        (("why", "nothere"), "nothere"),
    ]


def test_errors_show_at_every_level(cli: Cli, proj: LockProject) -> None:
    for args, text in failing(proj):
        for level in ("", "-q", "-qq"):
            result = cli(*args, *([level] if level else []))
            assert result.code in (1, 2), (args, level)
            assert text in result.out + result.err, (args, level, result)


def test_a_lock_alarm_shows_at_every_level(cli: Cli, proj: LockProject) -> None:
    text = (proj.root / "requirements.txt").read_text()
    digest = text.split("--hash=sha256:")[1][:64]
    (proj.root / "new.txt").write_text(text.replace(digest, "f" * 64))
    result = cli("diff", "requirements.txt", "new.txt", "-qq")
    assert result.code == 1
    assert "alarm" in result.out
    assert "ALARM" in result.err


@pytest.mark.slow
def test_install_sync_verify_are_quiet_too(cli: Cli, proj: LockProject, tmp_path: Path) -> None:
    python = str(make_venv(tmp_path / "venv"))
    first = cli("install", "-r", "requirements.txt", "--python", python)
    assert first.code == 0, first.err
    assert "install demo==1.0" in first.out  # a line per package by default
    assert len(lines(first)) > 1
    cases: list[tuple[tuple[str, ...], str]] = [
        (("install", "-r", "requirements.txt", "--reinstall"), "install 2, remove 0"),
        (("sync", "requirements.txt"), "install 0, remove"),
        (("verify", "requirements.txt"), "ok: 3 packages"),  # and pip
    ]
    for args, summary in cases:
        quiet = run_at(cli, (*args, "--python", python), "-q")
        assert len(lines(quiet)) == 1, lines(quiet)
        assert summary in lines(quiet)[0]
        assert lines(run_at(cli, (*args, "--python", python), "-qq")) == []
    # what sync --check fails on shows even with -qq
    (proj.root / "requirements.in").write_text("dep\n")
    assert cli("lock").code == 0
    check = cli("sync", "requirements.txt", "--check", "--python", python, "-qq")
    assert check.code == 1
    assert "would remove demo==1.0" in check.out
    assert "does not match requirements.txt" in check.err
