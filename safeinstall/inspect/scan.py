"""The scanner's entry point: every verified artifact inspected before pip sees it.

``scan_files`` reads each wheel (as a zip) and sdist (as an archive), never extracting or
running anything, in parallel over the artifacts (those whose code must be parsed in worker
processes, when there is enough of it: ``POOL_MIN_BYTES``); runs the member rules
(``wheel.py``), the code rules (``code.py``, cached by sha256: ``cache.py``) and the cross-wheel
rules (``clobber.py``); and judges every finding under the policy's ``inspect`` key
(``rules.severity_of``). ``refuse_blocked`` is the one call install, sync and download make on
the verified files: it stops when the policy blocks a finding, before anything is written.
Earlier, at lock time, ``listing.py`` runs the member and cross-wheel rules over each wheel's
zip central directory; both judge their findings with ``verdict.py``.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from safeinstall.index.fetch import Artifact
from safeinstall.inspect import cache as scan_cache
from safeinstall.inspect.archive import Member, Unreadable, members
from safeinstall.inspect.clobber import clobbering
from safeinstall.inspect.code import MAX_SOURCE_BYTES, inspect_source
from safeinstall.inspect.rules import BLOCK, CODE_RULES, Finding, severity_of
from safeinstall.inspect.verdict import ScanReport, enforce, judge
from safeinstall.inspect.wheel import Layout, Reader
from safeinstall.policy.model import Policy
from safeinstall.ui import live_status
from safeinstall.workers import own_processes

MAX_SOURCE_TOTAL = 256 * 1024 * 1024  # source parsed per artifact; the rest is reported
# Parsing holds the GIL (and one parse at a time: code.py), so the artifacts whose code is
# parsed go to worker processes when they are this large together (compressed): less than
# that parses in about the time it takes to start them.
POOL_MIN_BYTES = 16 * 1024 * 1024
_MAX_PROCESSES = 8


def scan_files(
    files: Sequence[tuple[Artifact, Path]],
    policy: Policy,
    *,
    cache: Path | None,
    projects: Collection[str] = (),
) -> ScanReport:
    """Inspect each verified ``(artifact, path)``; ``projects``: the user's own projects (an
    editable wheel of one may carry setuptools' editable finder .pth)."""
    results = _scan_all(files, policy, cache, projects)
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
    return enforce(report, action, lambda text: live_status().say(f"warning: {text}", 0))


def _code_blocks(package: str, policy: Policy) -> bool:
    """Whether a code rule would block ``package``: then cached results are not used."""
    rules = policy.inspect
    return any(
        severity_of(r, package, rules.block, rules.warn, rules.allow) == BLOCK for r in CODE_RULES
    )


_Result = tuple[Layout | None, list[Finding]]


@dataclass(frozen=True, slots=True)
class _Job:
    """One artifact to read; also sent to a worker process (it pickles)."""

    artifact: Artifact
    path: Path
    policy: Policy
    cached: tuple[Finding, ...] | None  # its cached code findings: no parse
    cache: Path | None
    projects: frozenset[str]


def _scan_all(
    files: Sequence[tuple[Artifact, Path]],
    policy: Policy,
    cache: Path | None,
    projects: Collection[str],
) -> list[_Result]:
    """Each file's layout and findings, in the order of ``files``. The files whose code is not
    cached are parsed in worker processes (largest first) when ``_processes`` says it pays,
    the others read here meanwhile; a file whose worker died is read again here."""
    jobs = [
        _Job(artifact, path, policy, _cached(artifact, policy, cache), cache, frozenset(projects))
        for artifact, path in files
    ]
    parse = sorted(
        (i for i, job in enumerate(jobs) if job.cached is None), key=lambda i: -_size(jobs[i].path)
    )
    workers = _processes(sum(_size(jobs[i].path) for i in parse), len(parse))
    with own_processes(workers if workers > 1 else 0) as pool:
        return _run(jobs, parse, pool)


def _run(
    jobs: Sequence[_Job], parse: Sequence[int], pool: ProcessPoolExecutor | None
) -> list[_Result]:
    futures: dict[int, Future[_Result]] = {}
    if pool is not None:
        try:
            futures = {i: pool.submit(_scan_one, jobs[i]) for i in parse}
        except OSError:  # no process can be started here (limits, no /dev/shm): threads
            futures = {}
    here = [i for i in range(len(jobs)) if i not in futures]
    threads = max(1, min(len(here), os.cpu_count() or 1, 8))
    with ThreadPoolExecutor(threads, "safeinstall-scan") as local:
        results = dict(zip(here, local.map(_scan_one, [jobs[i] for i in here]), strict=True))
    for i, future in futures.items():
        try:
            results[i] = future.result()
        except BrokenProcessPool:  # killed (out of memory...): read here, as without a pool
            results[i] = _scan_one(jobs[i])
    return [results[i] for i in range(len(jobs))]


def _processes(parse_bytes: int, count: int) -> int:
    """How many worker processes parse ``count`` artifacts of ``parse_bytes`` (0 or 1: none)."""
    if parse_bytes < POOL_MIN_BYTES:
        return 0
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return min(cpus or 1, count, _MAX_PROCESSES)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # reported as unreadable when read
        return 0


def _cached(artifact: Artifact, policy: Policy, cache: Path | None) -> tuple[Finding, ...] | None:
    """The cached code findings of ``artifact``, when the cache may be used for it."""
    if cache is None or _code_blocks(artifact.name, policy):
        return None
    found = scan_cache.load(cache, artifact.sha256, artifact.filename)
    return None if found is None else tuple(found)


def _scan_one(job: _Job) -> _Result:
    """One artifact's layout and findings; its code is parsed unless the job has them cached.
    Also run in a worker process: the job and the result pickle."""
    artifact, cached = job.artifact, job.cached
    reader = Reader(
        artifact.name,
        artifact.version,
        artifact.filename,
        job.policy.startup_files,
        editable_project=artifact.name in job.projects,
    )
    code: list[Finding] = []
    parsed = 0
    try:
        for member in members(job.path, artifact.filename):
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
    if cached is None and job.cache is not None:
        scan_cache.store(job.cache, artifact.sha256, code)
    layout, findings = reader.finish()
    return (layout if artifact.is_wheel else None), [
        *findings,
        *(code if cached is None else cached),
    ]


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
