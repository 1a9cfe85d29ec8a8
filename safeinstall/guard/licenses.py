"""`check`'s "license" rule: a locked package whose recorded license the policy does not allow.

A lock records each package's license at lock time (``# license: X`` under a requirements.txt
entry, ``[packages.tool.safeinstall] license`` in pylock.toml). With ``licenses.allow`` set, a
package whose recorded license is not allowed, or which records none, is reported: a lock made
under another policy, edited by hand or written by another tool cannot prove its licenses.
Imported only when the policy lists licenses, so the hook path stays fast.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from pathlib import Path

from safeinstall.errors import Location
from safeinstall.guard.findings import Finding
from safeinstall.lock.header import LICENSE_PREFIX, comment_lines
from safeinstall.policy.licenses import allowed
from safeinstall.requirements.file import ReqLine, RequirementsFile

RELOCK = "relock (`safeinstall lock`) or replace the package, or allow its license in the policy"


def license_findings(
    name: str, license: str | None, where: Location, allow: Sequence[str]
) -> list[Finding]:
    return [] if allowed(license, allow) else [_finding(name, license, where)]


def _finding(name: str, license: str | None, where: Location) -> Finding:
    if license is None:
        message = f"{name} records no license, and the policy allows only listed licenses"
    else:
        message = f"{name} is licensed {license}, which is not on the policy's licenses.allow"
    return Finding("license", message, where, RELOCK)


def requirements_license_findings(rf: RequirementsFile, allow: Sequence[str]) -> list[Finding]:
    """The rule over a requirements.txt lock and its includes: each ``# license:`` comment
    belongs to the requirement above it."""
    out: list[Finding] = []
    verdicts: dict[str | None, bool] = {}  # a lock repeats a few licenses: judge each once
    for path in rf.files:
        recorded = _license_comments(path)
        reqs = sorted(
            (r for r in rf.requirements if r.location.path == path and not r.constraint),
            key=lambda r: r.location.line or 0,
        )
        for req, following in zip(reqs, [*reqs[1:], None], strict=True):
            if req.name is None:
                continue  # a direct reference: the unhashable rule reports it
            license = _between(recorded, req, following)
            if license not in verdicts:
                verdicts[license] = allowed(license, allow)
            if not verdicts[license]:
                out.append(_finding(req.name, license, req.location))
    return out


def _license_comments(path: str) -> list[tuple[int, str]]:
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []  # parse_requirements read it a moment ago; nothing recorded then
    return comment_lines(text, LICENSE_PREFIX)


def _between(
    recorded: list[tuple[int, str]], req: ReqLine, following: ReqLine | None
) -> str | None:
    """The first license comment (``recorded``: by line) after ``req`` and before the next."""
    at = bisect.bisect_right(recorded, (req.location.line or 0, "\uffff"))
    if at == len(recorded):
        return None
    line, license = recorded[at]
    end = (following.location.line or 0) if following is not None else None
    return license if end is None or line < end else None
