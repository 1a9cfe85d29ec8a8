"""write_entry: a cache entry appears whole or not at all, with the fewest system calls."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from safeinstall.files.cachedir import write_entry


def test_an_entry_is_written_and_replaced_whole(tmp_path: Path) -> None:
    path = tmp_path / "entry"
    write_entry(path, b"first")
    write_entry(path, b"second, longer")
    assert path.read_bytes() == b"second, longer"
    assert [p.name for p in tmp_path.iterdir()] == ["entry"]  # no temporary file left


def test_an_entry_is_private(tmp_path: Path) -> None:
    write_entry(tmp_path / "entry", b"x")
    assert (tmp_path / "entry").stat().st_mode & 0o777 == 0o600


def test_a_link_in_the_entrys_place_is_replaced_not_written_through(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_bytes(b"theirs")
    (tmp_path / "entry").symlink_to(target)
    write_entry(tmp_path / "entry", b"ours")
    assert target.read_bytes() == b"theirs"
    assert not (tmp_path / "entry").is_symlink()
    assert (tmp_path / "entry").read_bytes() == b"ours"


def test_a_temporary_file_left_by_a_crashed_run_is_replaced(tmp_path: Path) -> None:
    import threading

    stale = tmp_path / f"entry.{os.getpid()}.{threading.get_ident()}.tmp"
    stale.write_bytes(b"half")
    write_entry(tmp_path / "entry", b"whole")
    assert (tmp_path / "entry").read_bytes() == b"whole"
    assert not stale.exists()


def test_a_link_at_the_temporary_name_is_not_followed(tmp_path: Path) -> None:
    import threading

    target = tmp_path / "elsewhere"
    target.write_bytes(b"theirs")
    (tmp_path / f"entry.{os.getpid()}.{threading.get_ident()}.tmp").symlink_to(target)
    write_entry(tmp_path / "entry", b"ours")
    assert target.read_bytes() == b"theirs"
    assert (tmp_path / "entry").read_bytes() == b"ours"


def test_a_failed_write_leaves_no_entry_and_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(fd: int, data: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full_disk)
    with pytest.raises(OSError, match="No space"):
        write_entry(tmp_path / "entry", b"data")
    assert list(tmp_path.iterdir()) == []


def test_a_short_write_is_continued(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.write

    def three_bytes_at_a_time(fd: int, data: bytes | memoryview) -> int:
        return real(fd, bytes(data[:3]))

    monkeypatch.setattr(os, "write", three_bytes_at_a_time)
    write_entry(tmp_path / "entry", b"0123456789")
    assert (tmp_path / "entry").read_bytes() == b"0123456789"


def test_an_entry_costs_four_system_calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each call lets another thread take the GIL: a lock writes thousands of entries from its
    fetch threads (open, write, close, rename; no stat, chmod or fsync)."""
    calls: list[str] = []
    for name in ("open", "write", "close", "replace", "stat", "lstat", "chmod", "fsync"):
        real = getattr(os, name)

        def spy(*args: object, _name: str = name, _real: object = real, **kw: object) -> object:
            calls.append(_name)
            return _real(*args, **kw)  # type: ignore[operator]

        monkeypatch.setattr(os, name, spy)
    write_entry(tmp_path / "entry", b"data")
    assert calls == ["open", "write", "close", "replace"]
