"""Reading a lock file of either format from disk, and the default lock of a project directory."""

from __future__ import annotations

from pathlib import Path

from safeinstall.errors import InputError, Location, UsageError
from safeinstall.filekind import DEFAULT_LOCKS, file_kind
from safeinstall.files.capped import read_capped
from safeinstall.lock.model import Lock, read_requirements_txt

MAX_LOCK_BYTES = 32 * 1024 * 1024


def read_lock_file(path: Path) -> Lock:
    """A ``pylock.toml`` (PEP 751) or a hash-pinned requirements.txt written by safeinstall.

    Every command that reads a lock reads it here (capped, one parser per format)."""
    data = read_capped(
        path,
        MAX_LOCK_BYTES,
        what="the lock",
        hint="check the path, or create the lock with `safeinstall lock`",
    )
    return parse_lock(data, path.name, str(path))


def parse_lock(data: bytes, filename: str, display: str) -> Lock:
    """A lock in either format from its bytes; ``filename`` decides which format."""
    kind = file_kind(Path(filename), mode="lock")
    if kind == "pyproject":
        raise UsageError(
            f"{display} is an input, not a lock", hint="name the lock, e.g. requirements.txt"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            "the lock is not UTF-8 text", location=Location(display), hint="regenerate the lock"
        ) from exc
    if kind == "pylock":
        from safeinstall.lock.pylock import read_pylock_toml  # tomlkit: only for this format

        return read_pylock_toml(text, display)
    return read_requirements_txt(text, display)


def default_lock(cwd: Path | None = None) -> Path:
    """The lock a command uses when none is named: pylock.toml, else requirements.txt."""
    base = Path.cwd() if cwd is None else cwd
    for name in DEFAULT_LOCKS:
        if (base / name).is_file():
            return Path(name) if cwd is None else base / name
    raise UsageError(
        "no lock found (pylock.toml or requirements.txt)",
        hint="name the lock, e.g. `safeinstall audit requirements.txt`",
    )
