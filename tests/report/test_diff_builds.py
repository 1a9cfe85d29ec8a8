"""`diff` shows what each locked sdist builds with, and alarms when a build requirement keeps
its version but not its bytes (the lock-diff hook blocks that commit)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import Version

from safeinstall.lock.model import BuildSet, Lock, LockedFile, LockedPackage
from safeinstall.lock.pylock import to_pylock_toml
from safeinstall.report.diff import diff_locks, review

SDIST = "a" * 64


def pin(name: str, version: str, sha256: str) -> LockedPackage:
    filename = f"{name}-{version}-py3-none-any.whl"
    file = LockedFile(sha256, filename, f"http://127.0.0.1:9/{filename}")
    return LockedPackage(canonicalize_name(name), Version(version), (file,))


def lock(*pins: LockedPackage, builds: bool = True) -> Lock:
    app = pin("app", "1.0", SDIST)
    app = LockedPackage(
        app.name, app.version, (LockedFile(SDIST, "app-1.0.tar.gz", "http://127.0.0.1:9/a"),)
    )
    sets = (BuildSet(app.name, app.version, SDIST, pins),) if builds else ()
    return Lock((app,), "sha256:x", builds=sets)


def test_a_changed_build_set_is_a_line_on_the_sdist() -> None:
    changes = diff_locks(lock(pin("askreq", "1.0", "b" * 64)), lock(pin("askreq", "1.1", "c" * 64)))
    [change] = changes.changes
    assert (change.kind, change.name, change.new) == ("files", "app", "1.0")
    assert change.detail == "builds with: askreq 1.0 -> 1.1"
    assert changes.alarms == ()


def test_a_new_build_set_says_what_it_builds_with() -> None:
    [change] = diff_locks(lock(builds=False), lock(pin("askreq", "1.0", "b" * 64))).changes
    assert change.detail == "builds with: askreq 1.0"


def test_a_build_requirement_with_new_bytes_is_an_alarm_and_blocks_the_commit() -> None:
    old, new = lock(pin("askreq", "1.0", "b" * 64)), lock(pin("askreq", "1.0", "d" * 64))
    [alarm] = diff_locks(old, new).alarms
    assert alarm.name == "askreq"
    assert alarm.detail.startswith("a build requirement of app 1.0: same file, new bytes: ")
    assert review(old, new).blocked[0].startswith("askreq 1.0: a build requirement of app 1.0")


def test_diff_exits_1_on_a_build_requirement_alarm(cli: Any, tmp_path: Path) -> None:
    old, new = tmp_path / "old" / "pylock.toml", tmp_path / "new" / "pylock.toml"
    for path, sha in ((old, "b" * 64), (new, "d" * 64)):
        path.parent.mkdir()
        path.write_text(to_pylock_toml(lock(pin("askreq", "1.0", sha))))
    result = cli("diff", old, new)
    assert result.code == 1, result.err
    assert "askreq" in result.out + result.err
    assert "ALARM" in result.err
