"""A lock named on the command line: a file, or ``REV:path`` for the lock as git has it at REV.

``diff HEAD~1:requirements.txt requirements.txt`` compares the committed lock with the working
copy. The path after the colon is taken relative to the current directory (like any path on the
command line) and given to ``git show`` relative to the repository root, as git wants it.
Anything that could be read as an option is refused before git runs, and git runs without a
shell. The file name decides the format: ``pylock*.toml`` is PEP 751, anything else
requirements.txt.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from safeinstall.errors import InputError, Location, UsageError
from safeinstall.lock.model import Lock
from safeinstall.lock.read import MAX_LOCK_BYTES, parse_lock, read_lock_file

GIT_TIMEOUT = 60


@dataclass(frozen=True, slots=True)
class LockRef:
    """Where a lock comes from: ``path`` on disk, or ``path`` in git at ``revision``."""

    path: Path
    revision: str | None = None

    def __str__(self) -> str:
        return str(self.path) if self.revision is None else f"{self.revision}:{self.path}"


def parse_ref(text: str) -> LockRef:
    """A path, unless it does not exist and reads as ``REV:path``."""
    if text.startswith("-"):
        raise UsageError(f"{text!r} looks like an option, not a lock", hint="name a lock file")
    revision, colon, path = text.partition(":")
    if not colon or Path(text).exists():
        return LockRef(Path(text))
    if not revision or not path or revision.startswith("-") or path.startswith("-"):
        raise UsageError(
            f"{text!r} is neither a file nor REV:path",
            hint="write e.g. HEAD~1:requirements.txt (a git revision, a colon, a path)",
        )
    return LockRef(Path(path), revision)


def read_lock_ref(ref: LockRef) -> Lock:
    if ref.revision is None:
        return read_lock_file(ref.path)
    return parse_lock(git_show(ref.revision, ref.path), ref.path.name, str(ref))


def git_show(revision: str, path: Path) -> bytes:
    """The bytes of ``path`` (relative to the current directory) at ``revision``."""
    found = _show(revision, path, missing_ok=False)
    assert found is not None
    return found


def git_show_if_present(revision: str, path: Path) -> bytes | None:
    """As ``git_show``; None when ``path`` is not there (a new file, no commit yet). Revision
    ``""`` is the index: what is staged."""
    return _show(revision, path, missing_ok=True)


def _show(revision: str, path: Path, *, missing_ok: bool) -> bytes | None:
    where = Location(f"{revision}:{path}")
    if revision.startswith("-"):
        raise UsageError(f"{revision!r} looks like an option, not a git revision")
    top = _git("rev-parse", "--show-toplevel", where=where).decode().strip()
    relative = os.path.relpath(Path(path).absolute().resolve(), Path(top).resolve())
    if relative == ".." or relative.startswith(".." + os.sep) or os.path.isabs(relative):
        raise UsageError(
            f"{path} is outside the git repository at {top}", hint="name a file in the repository"
        )
    spec = f"{revision}:{Path(relative).as_posix()}"
    if missing_ok and _run("cat-file", "-e", "--end-of-options", spec, where=where).returncode:
        return None
    data = _git("show", "--no-textconv", "--end-of-options", spec, where=where)
    if len(data) > MAX_LOCK_BYTES:
        raise InputError(f"lock is larger than {MAX_LOCK_BYTES >> 20} MiB", location=where)
    return data


def git_user() -> str | None:
    """git's ``user.name`` here; None when git or the setting is missing."""
    try:
        done = _run("config", "user.name", where=Location("git config"))
    except (UsageError, InputError):
        return None
    return done.stdout.decode("utf-8", "replace").strip() or None if not done.returncode else None


def _run(*args: str, where: Location) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], capture_output=True, check=False, timeout=GIT_TIMEOUT)
    except FileNotFoundError:
        raise UsageError("git is not installed", hint="install git, or compare files") from None
    except subprocess.TimeoutExpired:
        raise InputError(
            f"git {args[0]} took longer than {GIT_TIMEOUT} s", location=where
        ) from None


def _git(*args: str, where: Location) -> bytes:
    done = _run(*args, where=where)
    if done.returncode != 0:
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = lines[0].removeprefix("fatal: ") if lines else f"exit code {done.returncode}"
        raise InputError(
            f"git cannot read it: {reason}",
            location=where,
            hint="check the revision and the path (run it inside the repository)",
        )
    return done.stdout
