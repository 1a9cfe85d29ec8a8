"""Private cache directories: created 0700, refused when a link or writable by others.

A cache another user can write to lets that user plant metadata or pages (CVE-2013-1888 class),
so every cache directory safeinstall uses goes through ``private_dir`` first.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from safeinstall.errors import InputError, Location


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) with mode 0700, or check the existing one."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise _unsafe(path, "is a symbolic link or not a directory")
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise _unsafe(path, "is writable by other users")
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise _unsafe(path, "belongs to another user")
    return path


def read_entry(path: Path) -> bytes | None:
    """The bytes of a cache entry, or None when absent; never follows a symbolic link."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except (FileNotFoundError, OSError):
        return None
    with os.fdopen(fd, "rb") as fh:
        return fh.read()


def url_key(url: str) -> str:
    """A cache file name for a URL: its sha256, never a name a server chose."""
    return hashlib.sha256(url.encode()).hexdigest()


def _unsafe(path: Path, why: str) -> InputError:
    return InputError(
        f"refusing to use the cache directory because it {why}",
        location=Location(str(path)),
        hint="remove it (safeinstall recreates it with mode 0700) or use another cache directory",
    )
