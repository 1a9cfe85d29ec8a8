"""One version of a package across a lock's targets (issue 11, item 4).

A multi-target lock first resolves each target on its own; a target that got an older version
than another is resolved again preferring the newest, so versions differ only where a target
cannot have it. What still differs is a warning, a note in the lock, and an error under
``same-versions = true``. Real wheels with per-platform tags, served by the loopback index.
"""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.pylock import Pylock

from safeinstall.errors import InputError
from safeinstall.lock.read import read_lock_file
from safeinstall.resolve import merge, resolver
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
    real = resolver.resolve

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


def test_a_new_target_moves_every_target_to_its_newest_version(
    proj: LockProject, resolved: list[str]
) -> None:
    # the old lock pins 1.0; 2.0 comes out for every platform, and macOS (no 1.0 wheel) joins
    native(proj, "1.0", LINUX, WINDOWS)
    use(proj, LINUX, WINDOWS)
    assert proj.lock().code == 0
    native(proj, "2.0", LINUX, WINDOWS, MACOS)
    use(proj, LINUX, WINDOWS, MACOS)
    resolved.clear()
    result = proj.lock()
    assert result.code == 0, result.err
    assert pins(proj.root / "requirements.txt") == {"native": ["2.0"]}
    text = (proj.root / "requirements.txt").read_text()
    assert "native==2.0 \\" in text  # no marker: one version everywhere
    assert "# note:" not in text and "differs" not in result.err
    # resolved again only where the version was behind: linux and windows, once each
    first = ["cp3.12-linux-x86_64", "cp3.12-windows-amd64", "cp3.12-macos-arm64"]
    assert resolved == [*first, "cp3.12-linux-x86_64", "cp3.12-windows-amd64"]


def test_targets_that_agree_are_resolved_once_each(proj: LockProject, resolved: list[str]) -> None:
    native(proj, "1.0", LINUX, WINDOWS)
    native(proj, "2.0", LINUX, WINDOWS)
    use(proj, LINUX, WINDOWS)
    assert proj.lock().code == 0
    assert resolved == ["cp3.12-linux-x86_64", "cp3.12-windows-amd64"]
    assert pins(proj.root / "requirements.txt") == {"native": ["2.0"]}


def test_a_version_one_platform_lacks_is_reported_on_the_terminal_and_in_the_lock(
    proj: LockProject, resolved: list[str]
) -> None:
    native(proj, "1.0", LINUX, WINDOWS)
    native(proj, "2.0", LINUX)  # no windows wheel, no sdist allowed: windows cannot have it
    use(proj, LINUX, WINDOWS)
    result = proj.lock()
    assert result.code == 0, result.err
    assert f"warning: {SPLIT}\n" in result.err
    lock = proj.root / "requirements.txt"
    assert f"\n# note: {SPLIT}\n" in lock.read_text()
    assert pins(lock) == {"native": ["1.0", "2.0"]}
    assert read_lock_file(lock).notes == (SPLIT,)
    # windows was tried once more with 2.0 preferred, and not again
    assert resolved == ["cp3.12-linux-x86_64", "cp3.12-windows-amd64", "cp3.12-windows-amd64"]
    # the note breaks no reader: check, lock --check, diff, and a second lock changes nothing
    before = proj.root / "before.txt"
    shutil.copy(lock, before)
    policy = ("--policy", str(proj.policy_path))
    assert proj.run("check", *policy, "requirements.txt").code == 0
    assert proj.lock("--check").code == 0
    assert proj.run("diff", before, lock).code == 0
    again = proj.lock()
    assert again.code == 0 and "unchanged" in again.out, again.err
    assert lock.read_bytes() == before.read_bytes()


def test_pylock_records_what_differs_under_tool_safeinstall(proj: LockProject) -> None:
    native(proj, "1.0", LINUX, WINDOWS)
    native(proj, "2.0", LINUX)
    use(proj, LINUX, WINDOWS)
    result = proj.lock("-o", "pylock.toml")
    assert result.code == 0, result.err
    assert f"warning: {SPLIT}\n" in result.err
    path = proj.root / "pylock.toml"
    data = tomllib.loads(path.read_text())
    assert data["tool"]["safeinstall"]["notes"] == [SPLIT]
    Pylock.from_dict(data).validate()  # what pip and uv read: the standard format, unchanged
    assert read_lock_file(path).notes == (SPLIT,)
    assert proj.run("check", "--policy", proj.policy_path, "pylock.toml").code == 0
    assert proj.lock("-o", "pylock.toml", "--check").code == 0


def test_notes_of_another_type_in_pylock_are_refused(proj: LockProject) -> None:
    native(proj, "1.0", LINUX, WINDOWS)
    native(proj, "2.0", LINUX)
    use(proj, LINUX, WINDOWS)
    assert proj.lock("-o", "pylock.toml").code == 0
    path = proj.root / "pylock.toml"
    text = path.read_text()
    path.write_text(text.replace(f'notes = ["{SPLIT}"]', "notes = 1"))
    with pytest.raises(InputError, match=r"tool\.safeinstall\.notes must be an array of strings"):
        read_lock_file(path)


def test_requires_python_splits_and_is_reported(proj: LockProject) -> None:
    proj.publish("native", "1.0")
    proj.publish("native", "2.0", requires_python=">=3.12")
    both = "python_version >= '3.11' and python_version <= '3.12' and sys_platform == 'linux' "
    use(proj, both + "and platform_machine == 'x86_64'")
    result = proj.lock()
    assert result.code == 0, result.err
    split = "native differs across targets: 2.0 on cp3.12-linux-x86_64; 1.0 on cp3.11-linux-x86_64"
    assert f"warning: {split}\n" in result.err
    assert f"# note: {split}\n" in (proj.root / "requirements.txt").read_text()


def test_same_versions_makes_a_split_an_error_and_writes_nothing(proj: LockProject) -> None:
    native(proj, "1.0", LINUX, WINDOWS)
    use(proj, LINUX, WINDOWS)
    assert proj.lock().code == 0
    native(proj, "2.0", LINUX)
    use(proj, LINUX, WINDOWS, extra="same-versions = true")
    before = proj.snapshot()
    result = proj.lock("--upgrade")
    proj.assert_failed_safely(result, before)
    assert result.code == 1
    assert f"error: {SPLIT}, and the policy sets same-versions = true\n" in result.err
    assert 'sdists = ["native"]' in result.err and "pin native" in result.err
    assert "warning:" not in result.err


def test_same_versions_passes_when_the_targets_can_agree(proj: LockProject) -> None:
    native(proj, "1.0", LINUX, WINDOWS)
    use(proj, LINUX, WINDOWS)
    assert proj.lock().code == 0
    native(proj, "2.0", LINUX, WINDOWS, MACOS)
    use(proj, LINUX, WINDOWS, MACOS, extra="same-versions = true")
    result = proj.lock()
    assert result.code == 0, result.err
    assert pins(proj.root / "requirements.txt") == {"native": ["2.0"]}


def test_setting_same_versions_makes_the_lock_stale(proj: LockProject) -> None:
    native(proj, "1.0", LINUX, WINDOWS)
    use(proj, LINUX, WINDOWS)
    assert proj.lock().code == 0
    assert proj.lock("--check").code == 0
    use(proj, LINUX, WINDOWS, extra="same-versions = true")
    stale = proj.lock("--check")
    assert stale.code == 1 and "stale" in stale.out, stale.err


def test_agreeing_never_costs_a_newer_version_of_something_else(
    proj: LockProject, resolved: list[str]
) -> None:
    # plugin 2.0 caps zlib below 1 on windows, crypt 2.0 needs zlib 1: windows can have crypt
    # 2.0 only with plugin 1.0, so it keeps crypt 1.0 (and says so) rather than lose plugin 2.0
    for marker in (LINUX, WINDOWS):
        proj.publish("crypt", "1.0", tag=TAGS[marker])
    proj.publish("plugin", "1.0")
    proj.publish("plugin", "2.0", requires_dist=["zlib<1; sys_platform == 'win32'"])
    proj.publish("zlib", "0.5")
    proj.publish("zlib", "1.0")
    (proj.root / "requirements.in").write_text("crypt\nplugin\n")
    use(proj, LINUX, WINDOWS)
    assert proj.lock().code == 0
    for marker in (LINUX, WINDOWS, MACOS):
        proj.publish("crypt", "2.0", tag=TAGS[marker], requires_dist=["zlib>=1"])
    use(proj, LINUX, WINDOWS, MACOS)
    resolved.clear()
    result = proj.lock()
    assert result.code == 0, result.err
    assert pins(proj.root / "requirements.txt") == {
        "crypt": ["1.0", "2.0"],
        "plugin": ["2.0"],
        "zlib": ["0.5", "1.0"],
    }
    assert (
        "warning: crypt differs across targets: 2.0 on cp3.12-linux-x86_64, cp3.12-macos-arm64; "
        "1.0 on cp3.12-windows-amd64\n"
    ) in result.err
    assert len(resolved) == 5  # three, then linux and windows once more


def test_agreeing_keeps_the_pins_of_the_old_lock(proj: LockProject) -> None:
    # crypt 2.0 brings helper to linux: it gets the helper the lock already pins, not the newest
    for marker in (LINUX, WINDOWS):
        proj.publish("crypt", "1.0", tag=TAGS[marker])
    proj.publish("winthing", "1.0", requires_dist=["helper"])
    proj.publish("helper", "1.0")
    (proj.root / "requirements.in").write_text("crypt\nwinthing; sys_platform == 'win32'\n")
    use(proj, LINUX, WINDOWS)
    assert proj.lock().code == 0
    proj.publish("helper", "2.0")
    for marker in (LINUX, WINDOWS, MACOS):
        proj.publish("crypt", "2.0", tag=TAGS[marker], requires_dist=["helper"])
    use(proj, LINUX, WINDOWS, MACOS)
    result = proj.lock()
    assert result.code == 0, result.err
    assert pins(proj.root / "requirements.txt") == {
        "crypt": ["2.0"],
        "helper": ["1.0"],
        "winthing": ["1.0"],
    }
    assert "differs" not in result.err


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


def test_what_needs_a_package_held_back_by_python_is_not_held_back_elsewhere(
    proj: LockProject,
) -> None:
    """app 2.0 needs native 2.0, which needs Python 3.12 (said only in its metadata): 3.11 gets
    app 1.0, and 3.12, resolved after it, must still get app 2.0, not the version offered."""
    proj.publish("native", "1.0")
    proj.publish("native", "2.0", requires_python=">=3.12")
    proj.publish("app", "1.0", requires_dist=["native"])
    proj.publish("app", "2.0", requires_dist=["native>=2"])
    (proj.root / "requirements.in").write_text("app\n")
    both = "python_version >= '3.11' and python_version <= '3.12' and sys_platform == 'linux' "
    use(proj, both + "and platform_machine == 'x86_64'")
    result = proj.lock()
    assert result.code == 0, result.err
    assert pins(proj.root / "requirements.txt") == {"app": ["1.0", "2.0"], "native": ["1.0", "2.0"]}
