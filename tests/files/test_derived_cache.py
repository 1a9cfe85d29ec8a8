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


def test_a_private_directory_is_checked_once_a_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lock met the same few hundred directories thousands of times (mkdir + lstat each)."""
    from safeinstall.files import cachedir

    new = tmp_path / "new"
    existing = tmp_path / "existing"
    existing.mkdir(mode=0o700)
    stats: list[object] = []
    real = os.lstat

    def lstat(path: str | os.PathLike[str]) -> os.stat_result:
        stats.append(path)
        return real(path)

    monkeypatch.setattr(os, "lstat", lstat)
    made: list[object] = []
    real_mkdir = Path.mkdir

    def mkdir(path: Path, mode: int = 0o777, parents: bool = False, exist_ok: bool = False) -> None:
        made.append(path)
        real_mkdir(path, mode, parents, exist_ok)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    for _ in range(3):
        assert cachedir.private_dir(new) == new
        assert cachedir.private_dir(existing) == existing
    assert made == [new]  # an existing directory costs no mkdir
    assert stats == [new, new, existing]  # missing, then made; then checked once each
    assert new.stat().st_mode & 0o777 == 0o700


def test_the_first_check_of_a_directory_still_refuses(tmp_path: Path) -> None:
    from safeinstall.errors import InputError
    from safeinstall.files.cachedir import private_dir

    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    with pytest.raises(InputError, match="writable by other users"):
        private_dir(shared)
    with pytest.raises(InputError, match="writable by other users"):
        private_dir(shared)  # a refusal is not remembered as checked
    link = tmp_path / "link"
    link.symlink_to(tmp_path)
    with pytest.raises(InputError, match="symbolic link"):
        private_dir(link)
