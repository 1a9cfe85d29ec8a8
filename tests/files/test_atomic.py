"""Crash-safe replacement and the directory lock."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

import pytest

from safeinstall.errors import InputError
from safeinstall.files.atomic import advisory_lock, digest_of, replace_file, write_new


def test_new_file_and_replacement_keep_mode(tmp_path: Path) -> None:
    path = tmp_path / "lock.txt"
    replace_file(path, b"one\n", expected_digest=None)
    assert path.read_bytes() == b"one\n"
    path.chmod(0o640)
    replace_file(path, b"two\n", expected_digest=digest_of(path))
    assert path.read_bytes() == b"two\n"
    assert path.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lock.txt"]


def test_changed_meanwhile_aborts_and_leaves_it(tmp_path: Path) -> None:
    path = tmp_path / "lock.txt"
    path.write_bytes(b"read\n")
    seen = hashlib.sha256(b"read\n").hexdigest()
    path.write_bytes(b"saved by an editor\n")
    with pytest.raises(InputError, match="changed while"):
        replace_file(path, b"ours\n", expected_digest=seen)
    assert path.read_bytes() == b"saved by an editor\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lock.txt"]


def test_symlink_refused(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_bytes(b"keep\n")
    link = tmp_path / "lock.txt"
    link.symlink_to(target)
    with pytest.raises(InputError, match="symbolic link"):
        write_new(link, b"x")
    assert target.read_bytes() == b"keep\n"


def test_write_new_does_not_read_what_it_replaces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever the file held is replaced: hashing it first (a large cache entry) is work for
    nothing, and a pipe in its place would block the write for good."""
    path = tmp_path / "entry"
    path.write_bytes(b"old\n")

    def never(path: Path) -> str | None:
        raise AssertionError(f"{path} was read")

    monkeypatch.setattr("safeinstall.files.atomic.digest_of", never)
    write_new(path, b"new\n")
    assert path.read_bytes() == b"new\n"


def test_failed_write_leaves_original_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "lock.txt"
    path.write_bytes(b"old\n")

    def no_space(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(OSError, match="No space"):
        write_new(path, b"new\n")
    assert path.read_bytes() == b"old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lock.txt"]


def test_directory_lock_serializes_and_leaves_no_file(tmp_path: Path) -> None:
    order: list[str] = []

    def hold(name: str) -> None:
        with advisory_lock(tmp_path):
            order.append(f"{name}+")
            time.sleep(0.2)
            order.append(f"{name}-")

    first = threading.Thread(target=hold, args=("a",))
    first.start()
    time.sleep(0.05)
    hold("b")
    first.join()
    assert order == ["a+", "a-", "b+", "b-"]
    assert list(tmp_path.iterdir()) == []


def test_a_new_file_follows_the_umask_read_without_changing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Setting the umask to 0 and back left other threads (cache writers) a moment without it."""
    from safeinstall.files import atomic

    if not Path("/proc/self/status").exists():
        pytest.skip("the umask is only readable without changing it from /proc")
    current = os.umask(0o027)
    try:
        monkeypatch.setattr(atomic, "_UMASK", [])
        changed: list[int] = []
        real = os.umask

        def umask(mask: int) -> int:
            changed.append(mask)
            return real(mask)

        monkeypatch.setattr(os, "umask", umask)
        write_new(tmp_path / "a", b"a")
        write_new(tmp_path / "b", b"b")
        assert changed == []
        assert (tmp_path / "a").stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(current)
