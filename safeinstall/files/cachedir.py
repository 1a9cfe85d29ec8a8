"""Private cache directories: created 0700, refused when a link or writable by others.

A cache another user can write to lets that user plant metadata or pages (CVE-2013-1888 class),
so every cache directory safeinstall uses goes through ``private_dir`` first.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from safeinstall.errors import InputError, Location


def cache_root(environ: Mapping[str, str] = os.environ, platform: str = sys.platform) -> Path:
    """Where safeinstall caches: SAFEINSTALL_CACHE_DIR, else the platform's user cache directory
    (the places platformdirs and pip use): ``$XDG_CACHE_HOME/safeinstall`` or
    ``~/.cache/safeinstall``; ``~/Library/Caches/safeinstall`` on macOS;
    ``%LOCALAPPDATA%\\safeinstall\\Cache`` on Windows. An empty or relative XDG_CACHE_HOME
    is ignored, as the XDG specification says."""
    configured = environ.get("SAFEINSTALL_CACHE_DIR")
    if configured:
        return Path(configured)
    if platform == "win32":
        local = environ.get("LOCALAPPDATA") or str(_home() / "AppData" / "Local")
        return Path(local) / "safeinstall" / "Cache"
    if platform == "darwin":
        return _home() / "Library" / "Caches" / "safeinstall"
    xdg = environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(xdg) if os.path.isabs(xdg) else _home() / ".cache"
    return base / "safeinstall"


def _home() -> Path:
    """The user's home; an InputError where there is none (a container user without HOME or a
    passwd entry), rather than a cache in a directory named ``~`` below the working one."""
    try:
        return Path.home()
    except (RuntimeError, KeyError):
        raise InputError(
            "cannot tell where the cache goes: this user has no home directory",
            hint="set SAFEINSTALL_CACHE_DIR (or HOME, or XDG_CACHE_HOME) to a directory",
        ) from None


# absolute paths ``private_dir`` has checked in this process (see its docstring)
_checked: set[str] = set()


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) with mode 0700, or check the existing one.

    Checked once per absolute path per process: a lock reads and writes thousands of entries
    in a few hundred directories, and each check cost an lstat (and a mkdir, before). What an
    attacker who can swap a checked directory later gains is nothing new: swapping (renaming)
    needs write access to its parent, which for every directory below the cache root is itself
    a checked private directory (only this user or root can write there, who can do anything
    anyway); the cache root's own parent is not checked, and a swap there was possible between
    a check and the next use before too. Entries stay untrusted when read (checksums, the
    key of every value, fail-closed parsing), which is the defence either way.
    """
    key = str(path) if path.is_absolute() else None
    if key is not None and key in _checked:
        return path
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise _unsafe(path, "is a symbolic link or not a directory")
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise _unsafe(path, "is writable by other users")
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise _unsafe(path, "belongs to another user")
    if key is not None:
        _checked.add(key)
    return path


def read_entry(path: Path) -> bytes | None:
    """The bytes of a cache entry, or None when absent; never follows a symbolic link."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except (FileNotFoundError, OSError):
        return None
    with os.fdopen(fd, "rb") as fh:
        return fh.read()


_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL
_NEW_FILE |= getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def write_entry(path: Path, data: bytes) -> None:
    """Put ``data`` at ``path`` whole or not at all for a reader (a temporary file renamed over
    it; no fsync): the few system calls a cache entry needs. Each is a moment when another
    thread takes the GIL, and a lock writes thousands of entries from its fetch threads."""
    tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"  # one writer a name
    try:
        fd = os.open(tmp, _NEW_FILE, 0o600)
    except FileExistsError:  # left by a crashed run
        os.unlink(tmp)
        fd = os.open(tmp, _NEW_FILE, 0o600)
    try:
        left = memoryview(data)
        while left:
            left = left[os.write(fd, left) :]
        os.close(fd)
        fd = -1
        os.replace(tmp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def url_key(url: str) -> str:
    """A cache file name for a URL: its sha256, never a name a server chose."""
    return hashlib.sha256(url.encode()).hexdigest()


class DerivedCache:
    """JSON values derived from other data (a parse), one file per key under a private directory.

    The key names everything the value was derived from (a sha256 of the bytes, the parser's
    version, its settings). An entry is a header line, ``{"key": ..., "sha256": ...}`` (of the
    value's bytes), then the value. It is replaced whole (without fsync: an entry torn by a
    crash is caught on reading like any other) and read back only when both match: a torn,
    corrupt or misplaced entry reads as absent, and is removed. The caller must still treat a
    value as untrusted input (it is only as safe as the directory).
    """

    def __init__(self, directory: Path) -> None:
        self._dir = directory

    def _path(self, key: str) -> Path:
        private_dir(self._dir.parent)  # checked once a process (``private_dir``)
        private_dir(self._dir)
        return self._dir / url_key(key)

    def load(self, key: str) -> Any | None:
        path = self._path(key)
        raw = read_entry(path)
        if raw is None:
            return None
        header, _, value = raw.partition(b"\n")
        try:
            if json.loads(header) == {"key": key, "sha256": hashlib.sha256(value).hexdigest()}:
                return json.loads(value)
        except (ValueError, RecursionError):
            pass
        self.forget(key)
        return None

    def forget(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def store(self, key: str, value: Any) -> None:
        """Best effort: a cache that cannot be written is only slower."""
        data = json.dumps(value, separators=(",", ":")).encode()
        header = json.dumps({"key": key, "sha256": hashlib.sha256(data).hexdigest()}).encode()
        with contextlib.suppress(OSError):
            write_entry(self._path(key), header + b"\n" + data)


def _unsafe(path: Path, why: str) -> InputError:
    return InputError(
        f"refusing to use the cache directory because it {why}",
        location=Location(str(path)),
        hint="remove it (safeinstall recreates it with mode 0700) or use another cache directory",
    )
