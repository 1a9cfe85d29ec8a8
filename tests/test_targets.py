from __future__ import annotations

import pickle
from collections.abc import Iterator

import pytest
from packaging.markers import Marker
from packaging.tags import Tag, platform_tags, sys_tags
from packaging.version import Version

from safeinstall import targets
from safeinstall.errors import PolicyConfigError, UsageError
from safeinstall.lock.model import input_digest
from safeinstall.targets import (
    Target,
    current_target,
    tag_ranks,
    target_for,
    targets_for,
    targets_from_markers,
)


def test_current_target_is_the_running_interpreter() -> None:
    target = current_target()
    assert target.tags == tuple(sys_tags())
    assert Marker(target.marker).evaluate()
    assert target_for(None, None) == target


def test_named_linux_platform_is_glibc_2_28_x86_64() -> None:
    target = target_for("3.13", "linux")
    env = target.env()
    assert (env["sys_platform"], env["platform_machine"], env["python_version"]) == (
        "linux",
        "x86_64",
        "3.13",
    )
    assert target.python_version == Version("3.13.0")
    assert target.tags[0] == Tag("cp313", "cp313", "manylinux_2_28_x86_64")
    tags = set(target.tags)
    assert Tag("cp313", "abi3", "manylinux2014_x86_64") in tags
    assert Tag("py3", "none", "any") in tags
    assert Tag("cp313", "cp313", "manylinux_2_31_x86_64") not in tags  # newer glibc
    assert not any("musllinux" in t.platform or t.platform == "linux_x86_64" for t in tags)
    assert Tag("cp312", "cp312", "manylinux_2_28_x86_64") not in tags


@pytest.mark.parametrize(
    ("platform", "sys_platform", "machine", "wheel"),
    [
        ("linux-aarch64", "linux", "aarch64", "manylinux2014_aarch64"),
        ("macos", "darwin", "arm64", "macosx_11_0_arm64"),
        ("macos-x86_64", "darwin", "x86_64", "macosx_10_9_x86_64"),
        ("windows", "win32", "AMD64", "win_amd64"),
        ("windows-arm64", "win32", "ARM64", "win_arm64"),
        ("musllinux_1_2_x86_64", "linux", "x86_64", "musllinux_1_1_x86_64"),
        ("manylinux_2_17_aarch64", "linux", "aarch64", "manylinux_2_17_aarch64"),
        ("macosx_14_0_arm64", "darwin", "arm64", "macosx_14_0_arm64"),
        ("linux_x86_64", "linux", "x86_64", "linux_x86_64"),
    ],
)
def test_platforms(platform: str, sys_platform: str, machine: str, wheel: str) -> None:
    target = target_for("3.12", platform)
    assert (target.env()["sys_platform"], target.env()["platform_machine"]) == (
        sys_platform,
        machine,
    )
    assert Tag("cp312", "cp312", wheel) in target.tags


def test_macos_is_macos_13() -> None:
    tags = set(target_for("3.12", "macos").tags)
    assert Tag("cp312", "cp312", "macosx_13_0_arm64") in tags
    assert Tag("cp312", "cp312", "macosx_14_0_arm64") not in tags


def test_python_version_alone_keeps_this_platform() -> None:
    target = target_for("3.10.4", None)
    assert target.python_version == Version("3.10.4")
    assert target.env()["sys_platform"] == current_target().env()["sys_platform"]
    assert target.tags[0].interpreter == "cp310"
    assert not any(t.interpreter == "cp311" for t in target.tags)


@pytest.mark.parametrize(("version", "platform"), [("2.7", None), ("3", None), ("3.12", "beos")])
def test_bad_arguments_are_usage_errors(version: str, platform: str | None) -> None:
    with pytest.raises(UsageError):
        target_for(version, platform)


def test_comma_separated_versions_and_platforms_are_every_pair() -> None:
    targets = targets_for("3.11, 3.12,3.11", "linux,windows")
    assert [t.name for t in targets] == [
        "cp3.11-linux-x86_64",
        "cp3.11-windows-amd64",
        "cp3.12-linux-x86_64",
        "cp3.12-windows-amd64",
    ]
    assert targets[1] == target_for("3.11", "windows")
    assert targets_for("3.13", None) == (target_for("3.13", None),)
    assert targets_for(None, None) == (current_target(),)


@pytest.mark.parametrize(("versions", "platforms"), [("3.11,", None), ("3.12", "linux,,macos")])
def test_an_empty_item_in_a_list_is_a_usage_error(versions: str, platforms: str | None) -> None:
    with pytest.raises(UsageError, match="has an empty item"):
        targets_for(versions, platforms)


def test_targets_from_markers_expand_over_known_pythons_and_platforms() -> None:
    targets = targets_from_markers(
        ["sys_platform == 'linux' and python_version >= '3.13'", "sys_platform == 'win32'"]
    )
    names = [t.name for t in targets]
    assert names[:4] == [
        "cp3.13-linux-x86_64",
        "cp3.13-linux-aarch64",
        "cp3.14-linux-x86_64",
        "cp3.14-linux-aarch64",
    ]
    assert "cp3.9-windows-amd64" in names
    assert "cp3.14-windows-arm64" in names
    assert len(names) == 4 + 2 * 6
    for target in targets:
        assert Marker(target.marker).evaluate(target.env(), "lock_file")


def test_targets_from_markers_refuses_bad_or_empty_expressions() -> None:
    with pytest.raises(PolicyConfigError, match="not a valid marker"):
        targets_from_markers(["os.system('x')"], source="pyproject.toml")
    with pytest.raises(PolicyConfigError, match="matches none"):
        targets_from_markers(["sys_platform == 'emscripten'"])


def test_tag_ranks_follow_target_order() -> None:
    target = target_for("3.12", "linux")
    ranks = tag_ranks(target)
    assert ranks[target.tags[0]] == 0
    assert ranks[Tag("py3", "none", "any")] > ranks[Tag("cp312", "abi3", "manylinux_2_17_x86_64")]


def test_a_targets_tags_are_computed_only_when_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    """`lock --check` digests targets by name, version and marker: the hundreds of wheel tags
    of a target named on the command line are not computed for it (nor for the interpreter's)."""
    calls: list[str] = []
    real = targets._tags

    def counted(short: str, platforms: tuple[str, ...]) -> tuple[Tag, ...]:
        calls.append(short)
        return real(short, platforms)

    monkeypatch.setattr(targets, "_tags", counted)
    chosen = targets_for("3.12,3.13", "linux")
    digest = input_digest([b"requests"], None, chosen, "0")
    assert calls == []
    assert input_digest([b"requests"], None, chosen, "0") == digest
    tags = chosen[0].tags
    assert calls == ["3.12"]
    assert tags[0] == Tag("cp312", "cp312", "manylinux_2_28_x86_64")
    assert chosen[0].tags is tags  # computed once
    assert calls == ["3.12"]


def test_a_lazy_target_equals_one_given_its_tags() -> None:
    lazy = target_for("3.13", "macos")
    eager = Target(lazy.name, lazy.python_version, lazy.environment, lazy.tags, lazy.marker)
    fresh = target_for("3.13", "macos")
    assert fresh == eager and hash(fresh) == hash(eager)
    assert fresh != target_for("3.13", "linux")
    assert pickle.loads(pickle.dumps(target_for("3.13", "macos"))) == eager
    assert current_target().tags == tuple(sys_tags())


def test_the_running_environment_is_packagings_default_environment() -> None:
    from packaging.markers import default_environment

    assert targets.running_environment() == default_environment()
    assert dict(current_target().environment) == default_environment()


def test_a_targets_marker_is_packagings_spelling_of_it() -> None:
    """The selector is spelled without packaging's marker parser (`lock --check` digests it):
    it must be what ``str(Marker(...))`` gives, for every target the grid and this machine make."""
    chosen = [*targets._grid(), current_target(), target_for("3.13", None)]
    chosen += [target_for("3.12", p) for p in ("musllinux_1_2_x86_64", "linux_armv7l", "win32")]
    for target in chosen:
        env = target.env()
        expr = (
            f"python_version == '{env['python_version']}' and sys_platform == "
            f"'{env['sys_platform']}' and platform_machine == '{env['platform_machine']}'"
        )
        assert target.marker == str(Marker(expr))
    # a machine name simple_marker does not take goes to packaging
    assert targets._selector("3.13", "linux", "x 86") == str(
        Marker(
            "python_version == '3.13' and sys_platform == 'linux' and platform_machine == 'x 86'"
        )
    )


def test_this_platforms_wheel_tags_are_computed_only_when_asked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``--python-version`` alone keeps this machine's platform: `lock --check` needs no wheel
    tags, so packaging is not asked for this platform's (it reads the interpreter's ELF header)."""
    calls: list[str] = []
    real = platform_tags

    def counted() -> Iterator[str]:
        calls.append("asked")
        return real()

    monkeypatch.setattr(targets, "platform_tags", counted)
    target = target_for("3.12", None)
    input_digest([b"requests"], None, [target], "0")
    assert calls == []
    assert target.tags[0].interpreter == "cp312"
    assert calls == ["asked"]
    assert target == target_for("3.12", None)
