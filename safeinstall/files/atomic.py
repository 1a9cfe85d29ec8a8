"""Crash-safe file replacement: a reader sees the old bytes or the new bytes, never a mix.

Every file safeinstall writes over (locks, pyproject.toml, cache entries) goes through
``replace_file``: temp file in the same directory (O_CREAT|O_EXCL, 0600), write, fsync, check that
the original did not change meanwhile, ``os.replace``, fsync the directory. A failure at any point
unlinks the temp file and leaves the original byte-identical. Symlinked targets are refused.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from safeinstall.errors import InputError, Location


def digest_of(path: Path) -> str | None:
    """sha256 of the file's bytes, or None when it does not exist."""
    try:
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except FileNotFoundError:
        return None


def _refuse_symlink(path: Path) -> None:
    if path.is_symlink():
        raise InputError(
            "refusing to write through a symbolic link",
            location=Location(str(path)),
            hint="write to the real file instead, or remove the link",
        )


@contextlib.contextmanager
def advisory_lock(directory: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``directory`` itself (waits for another holder).

    Locking the directory, not a side file, leaves nothing behind in the user's repository or
    environment; every safeinstall writer of that directory takes the same lock.
    """
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def replace_file(
    path: Path, data: bytes, *, expected_digest: str | None = None, sync: bool = True
) -> None:
    """Atomically replace ``path`` with ``data``.

    ``expected_digest`` is the sha256 of the original as the caller read it (None if it did not
    exist then); if the file changed since, nothing is written and an InputError says so.
    ``sync=False``: no fsync (a cache whose entries are checked when read; still all or nothing
    for a reader, not for a crash).
    """
    path = Path(path)
    _refuse_symlink(path)
    directory = path.parent if str(path.parent) else Path(".")
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    fd, tmp = _open_temp(directory, path.name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if sync:
                os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        if expected_digest != "*" and digest_of(path) != expected_digest:
            raise InputError(
                "the file changed while safeinstall was working on it; nothing was written",
                location=Location(str(path)),
                hint="run the command again",
            )
        _refuse_symlink(path)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if sync:
        _fsync_dir(directory)


def write_new(path: Path, data: bytes, *, sync: bool = True) -> None:
    """Write ``data`` to ``path`` whatever it held before (caches; no change detection)."""
    replace_file(path, data, expected_digest="*", sync=sync)


def _open_temp(directory: Path, name: str) -> tuple[int, Path]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    for attempt in range(100):
        tmp = directory / f".{name}.{os.getpid()}.{attempt}.tmp"
        try:
            return os.open(tmp, flags, 0o600), tmp
        except FileExistsError:
            continue
    raise OSError(errno.EEXIST, "could not create a temporary file", str(directory))


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        dfd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


_STATUS = "/proc/self/status"
_UMASK: list[int] = []  # the process's umask, read once (safeinstall never changes it)


def _umask() -> int:
    """The process's umask, read without changing it where the system says it (Linux 4.7+).

    Setting it to 0 and back, the only portable way, leaves a moment in which a file another
    thread creates gets no umask at all: cache entries are written from worker threads.
    """
    if not _UMASK:
        _UMASK.append(_read_umask())
    return _UMASK[0]


def _read_umask() -> int:
    with contextlib.suppress(OSError, ValueError, IndexError), open(_STATUS, "rb") as fh:
        for line in fh:
            if line.startswith(b"Umask:"):
                return int(line.split()[1], 8)
    current = os.umask(0)
    os.umask(current)
    return current
