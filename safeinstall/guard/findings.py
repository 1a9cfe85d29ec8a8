"""What `check` reports: a finding is one problem at one place, with the one-line fix."""

from __future__ import annotations

from safeinstall.errors import Location
from safeinstall.frozen import Frozen, _set

# rule id -> short description (SARIF rule metadata and the README table come from here)
RULES: dict[str, str] = {
    "unpinned": "A locked requirement is not pinned to one version with == or ===.",
    "missing-hash": "A locked requirement carries no sha256 hash.",
    "bad-hash": "A hash uses an unsupported algorithm or is malformed.",
    "hash-conflict": "The same package is listed twice with conflicting pins or disjoint hashes.",
    "unhashable": "A VCS, directory, editable or URL requirement cannot be pinned to exact bytes.",
    "untrusted-index": "An index, find-links or trusted-host option the policy does not trust.",
    "insecure-url": "A plain-http index or artifact URL.",
    "env-var": "An environment-variable reference in a requirement file (can exfiltrate secrets).",
    "build-option": "A per-requirement build option (--config-settings, --global-option, ...).",
    "sdist": "A locked sdist the policy does not allow (building it runs the package's code).",
    "denied": "A package on the policy's deny list.",
    "not-allowed": "A package missing from the policy's allow list.",
    "credentials": "A URL in a committed file carries credentials.",
    "typosquat": "A name one or two edits from a popular project it is not.",
    "license": "A locked package whose recorded license is not on the policy's licenses.allow.",
}


class Finding(Frozen):
    """One problem (``rule``, a key of RULES) at one place, with the one-line fix."""

    __slots__ = ("fix", "location", "message", "rule", "severity")
    rule: str
    message: str
    location: Location
    fix: str
    severity: str

    def __init__(
        self, rule: str, message: str, location: Location, fix: str, severity: str = "error"
    ) -> None:
        if rule not in RULES:  # pragma: no cover - programming error
            raise ValueError(f"unknown rule {rule!r}")
        _set(self, "rule", rule)
        _set(self, "message", message)
        _set(self, "location", location)
        _set(self, "fix", fix)
        _set(self, "severity", severity)

    def to_json(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
            "path": self.location.path,
            "line": self.location.line,
            "fix": self.fix,
        }
