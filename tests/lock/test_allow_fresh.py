"""`lock --allow-fresh PKG --reason TEXT`: an urgent fix locked inside min-release-age, recorded
in the lock (who and why) and its command line, shown by `diff` and `check`, kept by the
content digest (an edit that adds or changes the record is an edit)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from safeinstall.lock.read import read_lock_file
from tests.support.indexserver import IndexServer
from tests.support.lockproject import LockProject, demo_project

FRESH = datetime.now(UTC) - timedelta(hours=1)
WHY = "CVE-2026-1234 fix"


@pytest.fixture
def project(
    tmp_path: Path, index_server: IndexServer, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> LockProject:
    gitconfig = tmp_path / "gitconfig"
    gitconfig.write_text("[user]\n\tname = Alice Tester\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    project = demo_project(tmp_path, index_server, cli, monkeypatch)
    project.write_policy('min-release-age = "7 days"')
    assert project.lock().code == 0
    project.publish("dep", "2.0", upload_time=FRESH)  # the fix, uploaded an hour ago
    return project


def test_allow_fresh_locks_the_fix_and_records_who_and_why(project: LockProject) -> None:
    assert "dep==1.0" in (project.root / "requirements.txt").read_text()
    result = project.lock("-P", "dep", "--allow-fresh", "dep", "--reason", WHY)
    assert result.code == 0, result.err
    text = (project.root / "requirements.txt").read_text()
    assert "dep==2.0" in text
    assert f"    # allow-fresh: {WHY} (by Alice Tester)\n" in text
    assert f"--allow-fresh dep --reason '{WHY}'" in text.splitlines()[2]  # the command line
    (dep,) = [
        p for p in read_lock_file(project.root / "requirements.txt").packages if p.name == "dep"
    ]
    assert dep.allow_fresh == f"{WHY} (by Alice Tester)"
    demo = [
        p for p in read_lock_file(project.root / "requirements.txt").packages if p.name == "demo"
    ]
    assert demo[0].allow_fresh is None  # only the package named


def test_without_allow_fresh_the_fix_waits(project: LockProject) -> None:
    assert project.lock("-P", "dep").code == 0
    assert "dep==1.0" in (project.root / "requirements.txt").read_text()


def test_the_user_name_falls_back_to_USER(
    project: LockProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "gitconfig").write_text("")
    monkeypatch.setenv("USER", "bob")
    assert project.lock("-P", "dep", "--allow-fresh", "dep==2.0", "--reason", WHY).code == 0
    assert f"# allow-fresh: {WHY} (by bob)" in (project.root / "requirements.txt").read_text()


@pytest.mark.parametrize(
    "args",
    [
        ["--allow-fresh", "dep"],  # no reason
        ["--allow-fresh", "dep", "--reason", "  "],
        ["--allow-fresh", "dep", "--reason", "fix\n# allow-fresh: forged"],  # a second line
        ["--allow-fresh", "dep", "--reason", "\x1b[31mred"],
        ["--allow-fresh", "dep", "--reason", "x" * 201],
        ["--reason", WHY],  # a reason for nothing
        ["--allow-fresh", "dep>=2", "--reason", WHY],
        ["--allow-fresh", "no-such-package", "--reason", WHY],  # a typo must not pass
    ],
)
def test_a_bad_allow_fresh_changes_nothing(project: LockProject, args: list[str]) -> None:
    before = project.snapshot()
    result = project.lock("-P", "dep", *args)
    project.assert_failed_safely(result, before)


def test_pylock_records_it_and_check_and_diff_show_it(project: LockProject) -> None:
    assert project.lock("-o", "pylock.toml").code == 0
    old = (project.root / "pylock.toml").read_text()
    (project.root / "pylock.old.toml").write_text(old)
    result = project.lock("-o", "pylock.toml", "-P", "dep", "--allow-fresh", "dep", "--reason", WHY)
    assert result.code == 0, result.err
    text = (project.root / "pylock.toml").read_text()
    assert f'allow-fresh = "{WHY} (by Alice Tester)"' in text
    (dep,) = [p for p in read_lock_file(project.root / "pylock.toml").packages if p.name == "dep"]
    assert dep.allow_fresh == f"{WHY} (by Alice Tester)"

    checked = project.run("check", "--policy", project.policy_path, "pylock.toml")
    assert checked.code == 0, checked.err
    assert f"note: pylock.toml: dep==2.0 is inside min-release-age, allowed: {WHY}" in checked.err

    diffed = project.run("diff", "pylock.old.toml", "pylock.toml")
    assert f"fresh      dep 2.0 (inside min-release-age: {WHY} (by Alice Tester))" in diffed.out


def test_an_allow_fresh_record_added_by_hand_is_an_edit(project: LockProject) -> None:
    lock = project.root / "requirements.txt"
    assert project.lock("--check").code == 0
    text = lock.read_text().replace(
        "    # via demo\n", "    # via demo\n    # allow-fresh: trust me\n"
    )
    lock.write_text(text)
    result = project.lock("--check")
    assert result.code == 1
    assert "edited since safeinstall wrote it" in result.out + result.err


def test_check_notes_it_in_a_requirements_lock(project: LockProject) -> None:
    assert project.lock("-P", "dep", "--allow-fresh", "dep", "--reason", WHY).code == 0
    checked = project.run("check", "--policy", project.policy_path, "requirements.txt")
    assert checked.code == 0, checked.err
    note = f"note: requirements.txt: dep==2.0 is inside min-release-age, allowed: {WHY}"
    assert f"{note} (by Alice Tester)" in checked.err
    data = project.run(
        "check", "--policy", project.policy_path, "--format", "json", "requirements.txt"
    )
    assert json.loads(data.out)["notes"] == [note.removeprefix("note: ") + " (by Alice Tester)"]
