"""The offline guard behind `safeinstall check` and the pre-commit hooks.

Inputs (``*.in``, ``pyproject.toml``) may be loose; locks (requirement ``*.txt`` files,
``pylock*.toml``) must pin every package to exact bytes. Nothing here touches the network.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from safeinstall.errors import SafeinstallError
from safeinstall.filekind import file_kind
from safeinstall.frozen import Frozen, _set
from safeinstall.guard.findings import Finding
from safeinstall.guard.rules import Rules
from safeinstall.policy.model import Policy
from safeinstall.requirements.file import parse_requirements


class Report(Frozen):
    """What `check` found in ``files``: policy findings, the files it could not read, and notes
    for a reviewer that are no problem (a package a lock let in with ``--allow-fresh``)."""

    __slots__ = ("errors", "files", "findings", "notes")
    files: tuple[str, ...]
    findings: tuple[Finding, ...]
    errors: tuple[SafeinstallError, ...]
    notes: tuple[str, ...]

    def __init__(
        self,
        files: tuple[str, ...],
        findings: tuple[Finding, ...],
        errors: tuple[SafeinstallError, ...],
        notes: tuple[str, ...] = (),
    ) -> None:
        _set(self, "files", files)
        _set(self, "findings", findings)
        _set(self, "errors", errors)
        _set(self, "notes", notes)


def check_files(
    paths: Sequence[Path], policy: Policy, *, mode: Literal["lock", "input"] | None = None
) -> Report:
    checker = Rules(policy)
    findings: list[Finding] = []
    errors: list[SafeinstallError] = []
    notes: list[str] = []
    for path in paths:
        try:
            kind = file_kind(path, mode=mode)
            if kind == "pyproject":
                findings += checker.pyproject(path)
            elif kind == "pylock":
                from safeinstall.guard.pylock import check_pylock

                findings += check_pylock(path, checker)
            else:
                findings += checker.requirements(parse_requirements(path), locked=kind == "lock")
            notes += fresh_notes(path, kind) if kind in ("lock", "pylock") else []
        except SafeinstallError as exc:
            errors.append(exc)
    unique = dict.fromkeys(findings)  # an include read by two checked files reports once
    return Report(tuple(str(p) for p in paths), tuple(unique), tuple(errors), tuple(notes))


def fresh_notes(path: Path, kind: str) -> list[str]:
    """One line per package the lock at ``path`` let in inside min-release-age, with who and
    why (``lock --allow-fresh``); none when it is no lock safeinstall can read. A
    requirements.txt lock is scanned, not parsed: `check` on it stays fast (the hook path)."""
    from safeinstall.lock.header import ALLOW_FRESH_PREFIX, comments_under_pins

    if kind == "pylock":
        from safeinstall.lock.read import read_lock_file

        try:
            lock = read_lock_file(path)
        except SafeinstallError:  # its findings or errors say what is wrong with it
            return []
        found = [(f"{p.name}=={p.version}", p.allow_fresh) for p in lock.packages]
    else:
        text = path.read_text("utf-8", "replace")
        found = [(pin, why) for pin, why in comments_under_pins(text, ALLOW_FRESH_PREFIX) if pin]
    return [f"{path}: {pin} is inside min-release-age, allowed: {why}" for pin, why in found if why]
