"""DerivedCache: values kept under a key, read back only whole and under that key."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from safeinstall.files.cachedir import DerivedCache


def test_a_value_is_read_back_under_its_key_only(tmp_path: Path) -> None:
    cache = DerivedCache(tmp_path / "derived")
    assert cache.load("a") is None
    cache.store("a", {"kept": [1, 2]})
    assert cache.load("a") == {"kept": [1, 2]}
    assert cache.load("b") is None


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[:-1],  # torn
        lambda data: data.replace(b"[1,2]", b"[1,3]"),  # changed, checksum not
        lambda data: data.replace(b'"key": "a"', b'"key": "b"'),  # moved from another key
        lambda data: b"\n" + data,
        lambda data: b"",
    ],
    ids=["torn", "changed", "other-key", "no-header", "empty"],
)
def test_a_damaged_entry_reads_as_absent_and_is_removed(
    tmp_path: Path, damage: Callable[[bytes], bytes]
) -> None:
    cache = DerivedCache(tmp_path / "derived")
    cache.store("a", {"kept": [1, 2]})
    (path,) = (tmp_path / "derived").iterdir()
    path.write_bytes(damage(path.read_bytes()))
    assert cache.load("a") is None
    assert not path.exists()


def test_entries_are_written_without_fsync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A torn entry is caught when read, so a cache write pays no fsync (two a page)."""
    calls: list[int] = []
    monkeypatch.setattr(os, "fsync", calls.append)
    cache = DerivedCache(tmp_path / "derived")
    cache.store("a", [1])
    assert calls == []
    assert cache.load("a") == [1]


def test_the_cache_directory_is_private(tmp_path: Path) -> None:
    DerivedCache(tmp_path / "derived").store("a", [1])
    assert (tmp_path / "derived").stat().st_mode & 0o777 == 0o700
    assert not any(p.name == "a" for p in (tmp_path / "derived").iterdir())  # names are hashed
