"""The verdict on what the scanner found: which findings the policy does not allow (``judge``),
how they are said (``grouped``), and the refusal when one is blocked (``enforce``).

One verdict for every scan: install's (``scan.py``, over the verified files) and the lock's
(``listing.py``, over the wheels' member lists), so a finding is judged and refused the same
way wherever it is found. Nothing here reads an artifact: the lock's path imports this, not
the code rules.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from safeinstall.errors import PolicyError
from safeinstall.inspect.rules import BLOCK, WARN, Finding, judged, severity_of
from safeinstall.policy.model import Policy

_SHOWN = 10
_NAMED = 3  # files named on a line that says the same of several (``grouped``)
_DONE = {  # what a refusal left as it was, by action
    "install": "nothing was installed; `safeinstall scan` lists every finding",
    "download": "nothing was written; `safeinstall scan` lists every finding",
    "lock": "the lock file was left as it was",
}


@dataclass(frozen=True, slots=True)
class ScanReport:
    """Every finding the policy does not allow, each with its severity, in artifact order."""

    findings: tuple[Finding, ...]
    artifacts: int

    @property
    def blocked(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == BLOCK)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == WARN)


def enforce(report: ScanReport, action: str, warn: Callable[[str], None]) -> ScanReport:
    """``report`` after saying its warnings through ``warn`` (which labels them), one line per
    group (``grouped``); PolicyError when the policy blocks a finding (``action``: what is
    refused, "install", "download", "lock")."""
    for _, line in grouped(report.warnings):
        warn(line)
    blocked = grouped(report.blocked)
    if blocked:
        listing = "; ".join(line for _, line in blocked[:_SHOWN])
        more = len(blocked) - _SHOWN
        tail = f" (and {more} more)" if more > 0 else ""
        raise PolicyError(
            f"refusing to {action}: the policy blocks what inspecting the files found: "
            f"{listing}{tail}",
            hint=f"{_DONE.get(action, _DONE['download'])}. If you trust a package, allow the "
            'rule for it: inspect = { allow = { "NAME" = ["RULE"] } } (start-up .pth files: the '
            "startup-files key)",
        )
    return report


def describe(finding: Finding) -> str:
    """One line: rule, package, where, what."""
    return f"[{finding.rule}] {finding.package}: {finding.where}: {finding.message}"


def grouped(findings: Sequence[Finding]) -> list[tuple[Finding, str]]:
    """One line per finding (``describe``), in order, except that the findings of one rule and
    severity in one artifact saying the same of several files are one line, at the first:
    how many files, the first ``_NAMED`` of them, and what is said (a provider wheel writing
    200 files into its framework's package is one line, not 200)."""
    groups: dict[tuple[str, str, str, str, str], list[Finding]] = {}
    for f in findings:
        key = (f.rule, f.severity, f.package, f.artifact, f.message)
        groups.setdefault(key, []).append(f)
    out = []
    for same in groups.values():
        first = same[0]
        if len(same) == 1 or any(f.file is None or f.line is not None for f in same):
            out += [(f, describe(f)) for f in same]
            continue
        named = ", ".join(str(f.file) for f in same[:_NAMED])
        more = ", ..." if len(same) > _NAMED else ""
        where = f"{first.artifact}: {len(same)} files ({named}{more})"
        out.append((first, f"[{first.rule}] {first.package}: {where}: {first.message}"))
    return out


def judge(findings: list[Finding], policy: Policy) -> list[Finding]:
    """The findings the policy does not allow, each with its severity."""
    rules = policy.inspect
    out = []
    for f in findings:
        severity = severity_of(f.rule, f.package, rules.block, rules.warn, rules.allow)
        if severity is not None:
            out.append(judged(f, severity))
    return out
