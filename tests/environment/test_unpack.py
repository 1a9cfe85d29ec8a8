"""environment/unpack.py's reading of member names: the quick path for plain names must judge
every name as the PurePosixPath definitions do (a name it read otherwise could escape the
directory a wheel is unpacked into, or land somewhere the scanner did not look)."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safeinstall.environment.unpack import path_parts, plain_name, site_path

NAMES = st.text(alphabet="ab./\\:\0 \u00e9", max_size=14) | st.sampled_from(
    [
        "",
        ".",
        "..",
        "./a",
        "a//b",
        "a/./b",
        "a/../b",
        "a/..",
        "../a",
        "//a",
        "/a",
        "a/",
        "C:x",
        "C:/x",
        "a\\b",
        "a\0b",
        ".data/x",
        "p-1.data/purelib/a.py",
        "p-1.data/platlib//a.py",
        "p-1.data/./purelib/a.py",
        "p-1.data/scripts/tool",
        "p-1.data/purelib",
        "pkg/.hidden",
    ]
)


def slow_plain_name(name: str) -> bool:
    if not name or "\\" in name or "\0" in name or name.startswith("/"):
        return False
    parts = PurePosixPath(name).parts
    return bool(parts) and ":" not in parts[0] and ".." not in parts


def slow_site_path(name: str) -> str | None:
    parts = PurePosixPath(name).parts
    if parts and parts[0].endswith(".data"):
        if len(parts) > 2 and parts[1] in ("purelib", "platlib"):
            return "/".join(parts[2:])
        return None
    return name


@given(NAMES)
def test_the_quick_path_reads_every_name_as_a_posix_path(name: str) -> None:
    assert path_parts(name) == PurePosixPath(name).parts
    assert plain_name(name) == slow_plain_name(name)
    assert plain_name(name, path_parts(name)) == slow_plain_name(name)
    assert site_path(name) == slow_site_path(name)
    assert site_path(name, path_parts(name)) == slow_site_path(name)


@pytest.mark.parametrize("name", ["../a", "a/../b", "a/..", "/a", "C:x", "a\\b", "", "."])
def test_a_name_that_is_not_a_plain_relative_path_is_refused(name: str) -> None:
    assert not plain_name(name)


def test_only_purelib_and_platlib_of_a_data_directory_land_in_site_packages() -> None:
    assert site_path("p-1.data/platlib//a.py") == "a.py"
    assert site_path("p-1.data/scripts/tool") is None
    assert site_path("pkg/a.py") == "pkg/a.py"
