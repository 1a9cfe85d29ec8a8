"""Reading a lock file of either format from disk, and the default lock of a project directory."""

from __future__ import annotations

import codecs
from pathlib import Path

from safeinstall.errors import InputError, Location, UsageError
from safeinstall.filekind import DEFAULT_LOCKS, file_kind
from safeinstall.files.capped import read_capped
from safeinstall.lock.model import Lock, read_requirements_txt

MAX_LOCK_BYTES = 32 * 1024 * 1024


def read_lock_file(path: Path) -> Lock:
    """A ``pylock.toml`` (PEP 751) or a hash-pinned requirements.txt written by safeinstall.

    Every command that reads a lock reads it here (capped, one parser per format)."""
    return parse_lock(read_lock_bytes(path), path.name, str(path))


def read_lock_bytes(path: Path) -> bytes:
    """The bytes of a lock on disk, capped at ``MAX_LOCK_BYTES``."""
    return read_capped(
        path,
        MAX_LOCK_BYTES,
        what="the lock",
        hint="check the path, or create the lock with `safeinstall lock`",
    )


def made_by_another_tool(data: bytes, filename: str) -> bool:
    """True when the lock records no safeinstall freshness digest (pip-compile, uv, by hand), told
    before its packages are read: another tool's lock need not be one safeinstall can parse. A
    lock that is not UTF-8 text or TOML is left to ``parse_lock`` to report."""
    from safeinstall.lock.header import DIGEST_PREFIX

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    if file_kind(Path(filename), mode="lock") != "pylock":
        return not any(line.strip().startswith(DIGEST_PREFIX) for line in text.splitlines())
    import tomllib

    try:
        tool = tomllib.loads(text).get("tool")
    except tomllib.TOMLDecodeError:
        return False
    ours = tool.get("safeinstall") if isinstance(tool, dict) else None
    return not (isinstance(ours, dict) and "digest" in ours)


def parse_lock(data: bytes, filename: str, display: str) -> Lock:
    """A lock in either format from its bytes; ``filename`` decides which format."""
    kind = file_kind(Path(filename), mode="lock")
    if kind == "pyproject":
        raise UsageError(
            f"{display} is an input, not a lock", hint="name the lock, e.g. requirements.txt"
        )
    if kind == "pylock":
        from safeinstall.lock.pylock import read_pylock_toml  # tomlkit: only for this format

        try:
            text = data.decode("utf-8")  # TOML is UTF-8, whatever the file says
        except UnicodeDecodeError as exc:
            raise InputError(
                "the lock is not UTF-8 text", location=Location(display), hint="regenerate the lock"
            ) from exc
        return read_pylock_toml(text, display)
    from safeinstall.requirements.syntax import decode

    # as pip decodes a requirements file (a coding header other than UTF-8 is refused), so that
    # no byte reads one way here and another way to `pip install -r`; and UTF-8 only, as written
    text = decode(data, display)
    if data.removeprefix(codecs.BOM_UTF8) != text.encode("utf-8"):
        raise InputError(
            "the lock is not UTF-8 text", location=Location(display), hint="regenerate the lock"
        )
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
