"""One version of a package across a lock's targets (issue 11, item 4).

A multi-target lock first resolves each target on its own; a target that got an older version
than another is resolved again preferring the newest, so versions differ only where a target
cannot have it. What still differs is a warning, a note in the lock, and an error under
``same-versions = true``. Real wheels with per-platform tags, served by the loopback index.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from safeinstall.lock.read import read_lock_file
from safeinstall.resolve import merge
from tests.support.indexserver import IndexServer
from tests.support.lockproject import LockProject, demo_project

LINUX = 'python_version == "3.12" and sys_platform == "linux" and platform_machine == "x86_64"'
WINDOWS = 'python_version == "3.12" and sys_platform == "win32" and platform_machine == "AMD64"'
MACOS = 'python_version == "3.12" and sys_platform == "darwin" and platform_machine == "arm64"'
TAGS = {
    LINUX: "cp312-cp312-manylinux_2_17_x86_64",
    WINDOWS: "cp312-cp312-win_amd64",
    MACOS: "cp312-cp312-macosx_11_0_arm64",
}
SPLIT = "native differs across targets: 2.0 on cp3.12-linux-x86_64; 1.0 on cp3.12-windows-amd64"


@pytest.fixture
def proj(
    tmp_path: Path, index_server: IndexServer, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> LockProject:
    project = demo_project(tmp_path, index_server, cli, monkeypatch)
    (project.root / "requirements.in").write_text("native\n")
    return project


@pytest.fixture
def resolved(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The target of every call to the resolver, in order."""
    calls: list[str] = []
    real = merge.resolve

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[3].name)
        return real(*args, **kwargs)

    monkeypatch.setattr(merge, "resolve", counting)
    return calls


def native(proj: LockProject, version: str, *markers: str, **build: Any) -> None:
    for marker in markers:
        proj.publish("native", version, tag=TAGS[marker], **build)


def use(proj: LockProject, *markers: str, extra: str = "") -> None:
    proj.write_policy("environments = [" + ", ".join(map(repr, markers)) + "]\n" + extra)


def pins(path: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for pkg in read_lock_file(path).packages:
        out.setdefault(pkg.name, []).append(str(pkg.version))
    return out


def test_setting_same_versions_makes_the_lock_stale(proj: LockProject) -> None:
    native(proj, "1.0", LINUX, WINDOWS)
    use(proj, LINUX, WINDOWS)
    assert proj.lock().code == 0
    assert proj.lock("--check").code == 0
    use(proj, LINUX, WINDOWS, extra="same-versions = true")
    stale = proj.lock("--check")
    assert stale.code == 1 and "stale" in stale.out, stale.err


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('same-versions = "yes"', "'same-versions' must be true or false, not a string"),
        ("same-versions = 1", "'same-versions' must be true or false, not an integer"),
        ("same-version = true", "unknown key 'same-version' (did you mean 'same-versions'?)"),
    ],
)
def test_same_versions_is_validated_like_the_other_keys(
    proj: LockProject, line: str, expected: str
) -> None:
    use(proj, LINUX, extra=line)
    result = proj.lock("--check")
    assert result.code == 2
    assert f"{proj.policy_path}:5: {expected}" in result.err


def test_same_versions_loads_as_a_boolean(tmp_path: Path) -> None:
    from safeinstall.policy.load import load_policy

    path = tmp_path / "safeinstall.toml"
    path.write_text("same-versions = true\n")
    assert load_policy(str(path), environ={}).same_versions is True
    path.write_text("sdists = 'deny'\n")
    assert load_policy(str(path), environ={}).same_versions is False
