"""The one error hierarchy. The CLI is the only place that turns these into text and exit codes.

Exit codes: 0 ok, 1 a check/policy/integrity/index/resolution failure, 2 usage or input error.
"""

from __future__ import annotations

from safeinstall.frozen import Frozen, _set


class Location(Frozen):
    """A place in an input file: ``path`` as given by the user, 1-based ``line`` when known."""

    __slots__ = ("line", "path")
    path: str
    line: int | None

    def __init__(self, path: str, line: int | None = None) -> None:
        _set(self, "path", path)
        _set(self, "line", line)

    def __str__(self) -> str:
        return self.path if self.line is None else f"{self.path}:{self.line}"


class SafeinstallError(Exception):
    """Base of every error safeinstall reports to the user.

    ``message`` is one sentence saying what is wrong; ``hint`` says what to do about it;
    ``detail`` is what another program said (pip's own lines), shown before the message.
    """

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        location: Location | None = None,
        hint: str | None = None,
        detail: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.hint = hint
        self.detail = detail

    def __str__(self) -> str:
        prefix = f"{self.location}: " if self.location is not None else ""
        return prefix + self.message


class UsageError(SafeinstallError):
    """The command line is wrong."""

    exit_code = 2


class InputError(SafeinstallError):
    """An input file cannot be read or understood (syntax, encoding, size, includes)."""

    exit_code = 2


class PolicyConfigError(InputError):
    """The policy itself is invalid (unknown key, bad value)."""


class PolicyError(SafeinstallError):
    """The policy refuses something (untrusted index, denied package, sdist, yanked, too new)."""


class IntegrityError(SafeinstallError):
    """Bytes do not match what was pinned (hash, size, metadata mismatch)."""


class IndexServerError(SafeinstallError):
    """A package index could not be reached or answered something unusable."""


class ResolutionError(SafeinstallError):
    """No set of versions satisfies the requirements."""


class TargetEnvironmentError(SafeinstallError):
    """The target environment cannot be used (not a venv, locked by another run, pip failed)."""


class BuildDenied(TargetEnvironmentError):
    """A build tried what its sandbox denies (the network, a write, a hidden file): never
    passed over as a warning, at lock time or at install."""
