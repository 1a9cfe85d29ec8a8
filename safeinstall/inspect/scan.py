"""The scanner's entry point: every verified artifact inspected before pip sees it.

``scan_files`` reads each wheel (as a zip) and sdist (as an archive), never extracting or
running anything, in parallel over the artifacts; runs the member rules (``wheel.py``), the
code rules (``code.py``, cached by sha256: ``cache.py``) and the cross-wheel rules
(``clobber.py``); and judges every finding under the policy's ``inspect`` key
(``rules.severity_of``). ``refuse_blocked`` is the one call install, sync and download make on
the verified files: it stops when the policy blocks a finding, before anything is written.
Earlier, at lock time, ``listing.py`` runs the member and cross-wheel rules over each wheel's
zip central directory and judges them here too (``judge``, ``enforce``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from safeinstall.errors import PolicyError
from safeinstall.index.fetch import Artifact
from safeinstall.inspect import cache as scan_cache
from safeinstall.inspect.archive import Member, Unreadable, members
from safeinstall.inspect.clobber import clobbering
from safeinstall.inspect.code import MAX_SOURCE_BYTES, inspect_source
from safeinstall.inspect.rules import BLOCK, CODE_RULES, WARN, Finding, judged, severity_of
from safeinstall.inspect.wheel import Layout, Reader
from safeinstall.policy.model import Policy
from safeinstall.ui import live_status

MAX_SOURCE_TOTAL = 256 * 1024 * 1024  # source parsed per artifact; the rest is reported
_SHOWN = 10
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


def scan_files(
    files: Sequence[tuple[Artifact, Path]],
    policy: Policy,
    *,
    cache: Path | None,
    projects: Collection[str] = (),
) -> ScanReport:
    """Inspect each verified ``(artifact, path)``; ``projects``: the user's own projects (an
    editable wheel of one may carry setuptools' editable finder .pth)."""

    def one(item: tuple[Artifact, Path]) -> tuple[Layout | None, list[Finding]]:
        return _scan_one(item[0], item[1], policy, cache, projects)

    workers = max(1, min(len(files), os.cpu_count() or 1, 8))
    with ThreadPoolExecutor(workers, "safeinstall-scan") as pool:
        results = list(pool.map(one, files))
    found = [f for _, findings in results for f in findings]
    found += clobbering([layout for layout, _ in results if layout is not None])
    return ScanReport(tuple(judge(found, policy)), len(files))


def refuse_blocked(
    files: Sequence[tuple[Artifact, Path]], policy: Policy, *, cache: Path, action: str
) -> ScanReport:
    """Scan the verified ``files`` and raise PolicyError when the policy blocks a finding;
    warnings are said on the way. ``action``: what is refused ("install", "download")."""
    if not files:
        return ScanReport((), 0)
    live_status().phase(f"inspect: reading {len(files)} files for start-up code and clobbering")
    report = scan_files(files, policy, cache=cache)
    return enforce(report, action, lambda text: live_status().say(text, 0))


def enforce(report: ScanReport, action: str, warn: Callable[[str], None]) -> ScanReport:
    """``report`` after saying its warnings through ``warn``; PolicyError when the policy blocks
    a finding (``action``: what is refused, "install", "download", "lock")."""
    for finding in report.warnings:
        warn(f"warning: {describe(finding)}")
    blocked = report.blocked
    if blocked:
        listing = "; ".join(describe(f) for f in blocked[:_SHOWN])
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


def judge(findings: list[Finding], policy: Policy) -> list[Finding]:
    """The findings the policy does not allow, each with its severity."""
    rules = policy.inspect
    out = []
    for f in findings:
        severity = severity_of(f.rule, f.package, rules.block, rules.warn, rules.allow)
        if severity is not None:
            out.append(judged(f, severity))
    return out


def _code_blocks(package: str, policy: Policy) -> bool:
    """Whether a code rule would block ``package``: then cached results are not used."""
    rules = policy.inspect
    return any(
        severity_of(r, package, rules.block, rules.warn, rules.allow) == BLOCK for r in CODE_RULES
    )


def _scan_one(
    artifact: Artifact,
    path: Path,
    policy: Policy,
    cache: Path | None,
    projects: Collection[str],
) -> tuple[Layout | None, list[Finding]]:
    reader = Reader(
        artifact.name,
        artifact.version,
        artifact.filename,
        policy.startup_files,
        editable_project=artifact.name in projects,
    )
    cached = None
    if cache is not None and not _code_blocks(artifact.name, policy):
        cached = scan_cache.load(cache, artifact.sha256, artifact.filename)
    code: list[Finding] = []
    parsed = 0
    try:
        for member in members(path, artifact.filename):
            reader.feed(member)
            if cached is None and _is_source(member.name, artifact.is_wheel):
                parsed += min(member.size, MAX_SOURCE_BYTES + 1)
                if parsed > MAX_SOURCE_TOTAL:
                    code.append(_over_total(artifact, member))
                    break
                code += _code(artifact, member)
    except Unreadable as exc:
        hit = Finding("archive-unreadable", artifact.name, artifact.filename, None, None, str(exc))
        return None, [hit]
    if cached is None and cache is not None:
        scan_cache.store(cache, artifact.sha256, code)
    layout, findings = reader.finish()
    return (layout if artifact.is_wheel else None), [*findings, *(cached or code)]


def _is_source(name: str, wheel: bool) -> bool:
    if not name.endswith(".py"):
        return False
    top = PurePosixPath(name).parts[0]
    return not (wheel and top.endswith(".dist-info"))


def _code(artifact: Artifact, member: Member) -> list[Finding]:
    name = member.name
    if member.size > MAX_SOURCE_BYTES:
        size, limit = f"{member.size / 2**20:.1f} MiB", f"{MAX_SOURCE_BYTES // 2**20} MiB"
        message = f"{name} is too large to inspect ({size} > {limit})"
        return [
            Finding("code-uninspectable", artifact.name, artifact.filename, name, None, message)
        ]
    setup = not artifact.is_wheel and name == "setup.py"
    parts = PurePosixPath(name).parts
    # importable: a wheel's root or purelib/platlib (not its scripts or data); any sdist module
    module = not (
        artifact.is_wheel
        and parts[0].endswith(".data")
        and parts[1:2]
        not in (
            ("purelib",),
            ("platlib",),
        )
    )
    data = member.read(MAX_SOURCE_BYTES + 1)
    return [
        Finding(rule, artifact.name, artifact.filename, name, line, message)
        for rule, line, message in inspect_source(data, name, setup=setup, module=module)
    ]


def _over_total(artifact: Artifact, member: Member) -> Finding:
    return Finding(
        "code-uninspectable",
        artifact.name,
        artifact.filename,
        member.name,
        None,
        f"the sources from {member.name} on were not inspected: over "
        f"{MAX_SOURCE_TOTAL // 2**20} MiB of source in one artifact",
    )
