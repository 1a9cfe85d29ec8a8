"""`safeinstall audit [LOCK]`: known malware and vulnerabilities of the locked versions (OSV data).

Malware (``MAL-`` records, ``Advisory.malicious``) is reported first and on its own: the text's
``malware:`` lines and summary, the JSON's ``malware`` list (``findings`` holds vulnerabilities).
Either kind, not ignored, exits 1.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from safeinstall.commands import add_lock_argument
from safeinstall.errors import InputError, PolicyError, ResolutionError, UsageError
from safeinstall.ui import UI

if TYPE_CHECKING:
    from packaging.utils import NormalizedName
    from packaging.version import Version

    from safeinstall.audit.advisories import AuditReport, Finding, Source
    from safeinstall.audit.status import ProjectStatus
    from safeinstall.lock.model import Lock
    from safeinstall.policy.model import Policy
    from safeinstall.report.diff import LockDiff
    from safeinstall.sarif import Level, LockLines

HELP = "report known malware and vulnerabilities of the locked versions (OSV data)"
DESCRIPTION = (
    "Look up every locked version in OSV data: the OSV API, or an offline database (--db). "
    "Known malware (MAL- records) is listed first, on its own. "
    "Exit 1 when malware or a vulnerability is found that the policy does not ignore "
    "(audit.ignore). "
    "--fix relocks with the smallest upgrades that clear the findings and shows the diff."
)
FORMATS = ("text", "json", "sarif")
STATUS_RULE = "project-status"  # --status: a PEP 792 status the policy denies or warns about
OSV_PAGE = "https://osv.dev/vulnerability/"  # an advisory's page, for SARIF's helpUri


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from safeinstall.audit.osv_api import DEFAULT_URL

    add_lock_argument(parser)
    parser.add_argument(
        "--db",
        type=Path,
        metavar="PATH",
        help="offline OSV database: the PyPI zip OSV publishes, or a directory of its .json files",
    )
    parser.add_argument(
        "--osv-url",
        default=DEFAULT_URL,
        metavar="URL",
        help=f"the OSV API to ask when there is no --db (default: {DEFAULT_URL})",
    )
    parser.add_argument(
        "--status",
        action="store_true",
        help="also read each locked project's page from its index and report its PEP 792 "
        "status (quarantined, archived, deprecated); one the policy's project-status denies "
        "fails the audit",
    )
    parser.add_argument(
        "--fix",
        action="store_true",
        help="relock with the smallest upgrade of each vulnerable package that clears its "
        "findings, and show what changed (the inputs on disk are not changed)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="with --fix: show what the relock would change; write nothing",
    )


def run(args: argparse.Namespace, ui: UI) -> int:
    from safeinstall.audit.advisories import fix_suggestions
    from safeinstall.lock.read import default_lock, parse_lock, read_lock_bytes
    from safeinstall.policy.load import load_policy

    if args.dry_run and not args.fix:
        raise UsageError("--dry-run only applies to --fix", hint="add --fix, or drop --dry-run")
    if args.fix and args.format == "sarif":
        raise UsageError(
            "--fix shows a relock, which SARIF cannot hold",
            hint="run `safeinstall audit --fix` for the relock, and --format sarif without --fix",
        )
    path: Path = args.lock or default_lock()
    data = read_lock_bytes(path)
    lock = parse_lock(data, path.name, str(path))
    policy = load_policy(args.policy)
    builds = lock.build_only()
    with _source(args) as source:
        report = _audit(lock, source, policy)
        # a build requirement is fixed by a relock (or the policy's deny), not by a new input
        runtime = [f for f in report.active if (f.name, f.version) not in builds]
        fixes = fix_suggestions(runtime) if args.fix else {}
        fix = None
        if fixes:
            fix = _fix(ui, path, lock, policy, fixes, source=source, dry_run=args.dry_run)
    code = 1 if report.active else 0
    if fix is not None and fix.after is not None and not args.dry_run:
        code = 1 if fix.after.active else 0
    statuses = _statuses(lock, policy) if args.status else []
    code = 1 if any(s.action == "deny" for s in statuses) else code
    if args.format == "json":
        ui.json(
            {
                "lock": str(path),
                "source": str(args.db) if args.db is not None else args.osv_url,
                "packages": len(lock.packages),
                "malware": [_json(f, builds) for f in report.findings if f.advisory.malicious],
                "findings": [_json(f, builds) for f in report.findings if not f.advisory.malicious],
                "expired_ignores": [
                    {"id": i.id, "reason": i.reason, "until": i.until.isoformat()}
                    for i in report.expired
                ],
                "fix": {name: str(v) for name, v in fixes.items()} if args.fix else None,
                "relock": fix.to_json() if fix is not None else None,
                "statuses": [s.to_json() for s in statuses] if args.status else None,
                "exit_code": code,
            }
        )
        return code
    if args.format == "sarif":
        from safeinstall.sarif import lock_lines

        ui.json(_sarif(report, statuses, lock_lines(data, path.name, str(path), lock)))
        return code
    for status in statuses:  # the reason was made printable when the page was read
        say = ui.problem if status.action == "deny" else ui.item
        say(f"{status.status}: {status.package.name} {status.package.version}: {status.text}")
    _text(ui, report, fixes if args.fix else None, len(lock.packages), fix, builds=builds)
    if fix is not None:
        _fix_text(ui, path, fix, dry_run=args.dry_run)
    return code


def _statuses(lock: Lock, policy: Policy) -> list[ProjectStatus]:
    from safeinstall.audit.status import project_statuses
    from safeinstall.files.cachedir import cache_root

    return project_statuses(lock.packages, policy, cache_root())


@contextmanager
def _source(args: argparse.Namespace) -> Iterator[Source]:
    if args.db is not None:
        from safeinstall.audit.osv_local import LocalDatabase

        yield LocalDatabase(args.db)
        return
    from safeinstall.audit.osv_api import OsvApi, osv_http

    with osv_http(args.osv_url) as http:
        yield OsvApi(http, args.osv_url)


def _audit(lock: Lock, source: Source, policy: Policy) -> AuditReport:
    from safeinstall.audit.advisories import audit

    packages = [(p.name, p.version) for p in lock.packages]
    packages += lock.build_only()  # they run at install too
    return audit(packages, source, policy.audit_ignores, today=date.today())


def _json(finding: Finding, builds: Mapping[tuple[NormalizedName, Version], list[str]]) -> object:
    return {
        **finding.to_json(),
        "build_requirement_of": builds.get((finding.name, finding.version)),
    }


@dataclass(frozen=True, slots=True)
class _Fix:
    """What `--fix` did: the relock's changes and the audit of the new lock, or why it could not."""

    changes: LockDiff | None
    after: AuditReport | None
    packages: int = 0
    reason: str | None = None  # why no relock was made

    def to_json(self) -> dict[str, object]:
        return {
            "changes": [c.to_json() for c in self.changes.changes] if self.changes else [],
            "remaining": [f.to_json() for f in self.after.active] if self.after else None,
            "error": self.reason,
        }


def _fix(
    ui: UI,
    path: Path,
    lock: Lock,
    policy: Policy,
    fixes: Mapping[NormalizedName, Version],
    *,
    source: Source,
    dry_run: bool,
) -> _Fix:
    from safeinstall.audit.fix import plan_relock, relock
    from safeinstall.report.diff import diff_locks

    try:
        plan = plan_relock(path, lock, policy)
    except (InputError, UsageError) as exc:
        return _Fix(None, None, reason=str(exc) + (f" ({exc.hint})" if exc.hint else ""))
    ui.info(f"Relocking {path} with {len(fixes)} upgrade(s)...")
    try:
        new = relock(plan, policy, fixes, dry_run=dry_run, notify=ui.warn)
    except ResolutionError as exc:
        return _Fix(None, None, reason=f"the fixed versions cannot be locked: {exc}")
    except PolicyError as exc:  # the known-malware gate: a lock that still holds malware
        return _Fix(None, None, reason=str(exc))
    return _Fix(diff_locks(lock, new), _audit(new, source, policy), len(new.packages))


def _text(
    ui: UI,
    report: AuditReport,
    fixes: Mapping[NormalizedName, Version] | None,
    count: int,
    fix: _Fix | None,
    *,
    builds: Mapping[tuple[NormalizedName, Version], list[str]],
) -> None:
    for ignore in report.expired:
        ui.warn(
            f"the ignore of {ignore.id} expired on {ignore.until.isoformat()} and no longer "
            f"applies ({ignore.reason})"
        )
    relocked = fix is not None and fix.changes is not None
    # what the command fails on: the findings, unless a relock cleared them all
    failing = bool(fix.after.active) if fix is not None and fix.after else bool(report.active)
    malware = [f for f in report.findings if f.advisory.malicious]
    vulnerable = [f for f in report.findings if not f.advisory.malicious]
    for f in malware:  # first: nothing else in the report matters as much
        say = ui.problem if not f.ignored_by else ui.item
        head = ui.strong("ignored malware") if f.ignored_by else ui.bad("malware")
        say(f"{head}: {f.name} {f.version}: {f.advisory.id}")
        if f.advisory.summary:
            say(f"    {_short(f.advisory.summary)}")
        if f.ignored_by:
            say(f"    ignored until {f.ignored_by.until.isoformat()}: {f.ignored_by.reason}")
        else:
            say("    do not install it: remove it, or what pulls it in, from the lock's inputs")
    for f in vulnerable:
        aliases = f" ({', '.join(f.advisory.aliases)})" if f.advisory.aliases else ""
        fixed = ", ".join(str(v) for v in f.fixed) or "no fixed version known"
        head = ui.strong("ignored") if f.ignored_by else ui.bad("vulnerable")
        say = ui.problem if failing and not f.ignored_by else ui.item
        say(f"{head}: {f.name} {f.version}: {f.advisory.id}{aliases}")
        if f.advisory.summary:
            say(f"    {_short(f.advisory.summary)}")
        say(f"    fixed in: {fixed}")
        if (built := builds.get((f.name, f.version))) is not None:
            say(
                f"    a build requirement of {', '.join(built)}: relock once a fixed version is "
                f'out (a policy `deny = ["{f.name}<FIXED"]` keeps this one out of build sets)'
            )
        if f.ignored_by:
            say(f"    ignored until {f.ignored_by.until.isoformat()}: {f.ignored_by.reason}")
    if fixes is not None:
        runtime = {f.name for f in vulnerable if (f.name, f.version) not in builds}
        for name in sorted({f.name for f in vulnerable if not f.ignored_by} & runtime):
            if name not in fixes:
                ui.problem(f"fix: {name}: no fixed version clears every finding")
            elif not relocked:
                ui.problem(
                    f"fix: {name}>={fixes[name]}: require this in the lock's inputs, then run "
                    f"`safeinstall lock -P {name}`"
                )
    bad = sum(1 for f in malware if not f.ignored_by)
    active = sum(1 for f in vulnerable if not f.ignored_by)
    ignored = len(report.findings) - len(report.active)
    tail = f", {ignored} ignored" if ignored else ""
    vulns = f"{active} known vulnerabilit{'ies' if active != 1 else 'y'}"
    # the relock's outcome sums up a --fix, unless there is malware: that comes first, always
    summary = ui.info if relocked and not bad else ui.summary
    if bad:
        found = f"{bad} known malware package{'s' * (bad != 1)}"
        summary(f"{found}{' and ' + vulns if active else ''}{tail} in {count} packages")
    elif active:
        summary(f"{vulns}{tail} in {count} packages")
    else:
        summary(f"ok: no known vulnerabilities{tail} in {count} packages and no known malware")


def _fix_text(ui: UI, path: Path, fix: _Fix, *, dry_run: bool) -> None:
    from safeinstall.commands.diff import show_changes

    if fix.changes is None or fix.after is None:
        ui.warn(f"cannot relock {path}: {fix.reason}; showing the upgrades to make by hand")
        return
    show_changes(ui, fix.changes)
    remaining = len(fix.after.active)
    state = "would have" if dry_run else "has"
    if not fix.changes.changes:
        ui.info(f"{path}: the relock changed nothing")
    elif dry_run:
        ui.info(f"{path}: dry run, nothing written")
    else:
        ui.info(f"{path}: relocked, {fix.packages} packages")
    if remaining:
        for finding in fix.after.active:
            ui.problem(f"still vulnerable: {finding.name} {finding.version}: {finding.advisory.id}")
        ui.summary(f"the relocked lock {state} {remaining} known vulnerabilities")
    else:
        ui.summary(f"ok: the relocked lock {state} no known vulnerabilities")


def _sarif(report: AuditReport, statuses: list[ProjectStatus], lines: LockLines) -> dict[str, Any]:
    """Malware first, then vulnerabilities, each on the lock line of the version it affects:
    one rule per advisory (its OSV page as help), an ignored finding kept but suppressed; then
    the project statuses --status read."""
    from safeinstall.sarif import Result, Rule, sarif_log

    rules: dict[str, Rule] = {}
    results: list[Result] = []
    findings = sorted(report.findings, key=lambda f: not f.advisory.malicious)  # stable
    for f in findings:
        advisory = f.advisory
        if f.advisory.malicious:
            todo = "do not install it: remove it, or what pulls it in, from the lock's inputs"
            what = f"known malware: {f.name} {f.version}: {advisory.id}"
        else:
            fixed = ", ".join(str(v) for v in f.fixed) or "no fixed version known"
            todo = "upgrade to a fixed version, or ignore it in the policy (audit.ignore)"
            aliases = f" ({', '.join(advisory.aliases)})" if advisory.aliases else ""
            what = f"vulnerable: {f.name} {f.version}: {advisory.id}{aliases}; fixed in: {fixed}"
        summary = _short(advisory.summary) if advisory.summary else ""
        rules.setdefault(
            advisory.id, Rule(advisory.id, summary or advisory.id, todo, OSV_PAGE + advisory.id)
        )
        ignored = f.ignored_by
        why = f"ignored until {ignored.until.isoformat()}: {ignored.reason}" if ignored else None
        message = what + (f": {summary}" if summary else "")
        level: Level = "note" if ignored else "error"
        results.append(lines.result(advisory.id, level, message, f.name, f.version, suppressed=why))
    if statuses:
        rules[STATUS_RULE] = Rule(STATUS_RULE, "A locked project is not active on its index.")
    for s in statuses:
        level = "error" if s.action == "deny" else "warning"
        text = f"{s.status}: {s.package.name} {s.package.version}: {s.text}"
        results.append(lines.result(STATUS_RULE, level, text, s.package.name, s.package.version))
    return sarif_log(rules.values(), results)


def _short(text: str, width: int = 160) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"
