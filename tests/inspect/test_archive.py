"""inspect/archive.py's reading of a zip entry's name: split once, judged as the PurePosixPath
definitions judge it (a name read otherwise could land where the scanner did not look)."""

from __future__ import annotations

import stat
from pathlib import PurePosixPath

import pytest
from hypothesis import given

from safeinstall.inspect.archive import KEPT_NAME_LENGTH, by_name, zip_member
from tests.environment.test_unpack import NAMES, slow_plain_name


def _unread(limit: int) -> bytes:
    raise AssertionError("not read")


def slow_member_name(raw: str, strip: bool) -> str | None:
    if raw.endswith("/") or not slow_plain_name(raw):
        return None
    parts = PurePosixPath(raw).parts
    if strip:
        return "/".join(parts[1:]) if len(parts) > 1 else None
    return "/".join(parts)


@given(NAMES)
def test_a_member_s_name_is_the_posix_path_definition_s(raw: str) -> None:
    for strip in (False, True):
        found = zip_member(raw, 1, 0o100644, _unread, strip)
        assert (found.name if found else None) == slow_member_name(raw, strip)


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("./a.pth", "a.pth"),
        ("a//b", "a/b"),
        ("a/./b", "a/b"),
        ("..", None),
        ("a/../b", None),
        ("C:x", None),
        ("a\\b", None),
        ("a\0b", None),
        ("a/", None),
        ("é/ü.py", "é/ü.py"),
    ],
)
def test_tricky_names(raw: str, name: str | None) -> None:
    found = zip_member(raw, 1, 0o100644, _unread)
    assert (found.name if found else None) == name


def test_a_symlink_is_not_a_member() -> None:
    assert zip_member("a.pth", 1, stat.S_IFLNK | 0o777, _unread) is None


def test_by_name_keeps_the_reading_of_usual_names_only() -> None:
    """What is worked out from a name is kept for the run, but not for hostile long names:
    they are read again each time, and the answers are the same."""
    asked: list[str] = []

    @by_name
    def length(name: str) -> int:
        asked.append(name)
        return len(name)

    usual, long = "a/b.py", "x" * (KEPT_NAME_LENGTH + 1)
    answers = [length(usual), length(usual), length(long), length(long)]
    assert answers == [len(usual), len(usual), len(long), len(long)]
    assert asked == [usual, long, long]
