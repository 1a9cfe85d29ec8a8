"""`safeinstall audit [LOCK]`: known vulnerabilities of the locked versions, from OSV data."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from safeinstall.ui import UI

if TYPE_CHECKING:
    from packaging.utils import NormalizedName
    from packaging.version import Version

    from safeinstall.audit import AuditReport

HELP = "report known vulnerabilities of the locked versions (OSV data, online or offline)"
DESCRIPTION = (
    "Look up every locked version in OSV data: the OSV API, or an offline database (--db). "
    "Exit 1 when a vulnerability is found that the policy does not ignore (audit.ignore)."
)
FORMATS = ("text", "json")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from safeinstall.osv_api import DEFAULT_URL

    parser.add_argument(
        "lock",
        nargs="?",
        type=Path,
        metavar="LOCK",
        help="the lock (default: pylock.toml, else requirements.txt)",
    )
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
        "--fix",
        action="store_true",
        help="show the smallest upgrade of each vulnerable package that clears its findings",
    )


def run(args: argparse.Namespace, ui: UI) -> int:
    from safeinstall.audit import audit, fix_suggestions
    from safeinstall.lockfile import default_lock, read_lock_file
    from safeinstall.policy import load_policy

    path: Path = args.lock or default_lock()
    lock = read_lock_file(path)
    policy = load_policy(args.policy)
    packages = [(p.name, p.version) for p in lock.packages]
    if args.db is not None:
        from safeinstall.osv_local import LocalDatabase

        report = audit(packages, LocalDatabase(args.db), policy.audit_ignores, today=date.today())
    else:
        from safeinstall.osv_api import OsvApi, osv_http

        with osv_http(args.osv_url) as http:
            source = OsvApi(http, args.osv_url)
            report = audit(packages, source, policy.audit_ignores, today=date.today())
    fixes = fix_suggestions(report.active) if args.fix else {}
    code = 1 if report.active else 0
    if args.format == "json":
        ui.json(
            {
                "lock": str(path),
                "source": str(args.db) if args.db is not None else args.osv_url,
                "packages": len(packages),
                "findings": [f.to_json() for f in report.findings],
                "expired_ignores": [
                    {"id": i.id, "reason": i.reason, "until": i.until.isoformat()}
                    for i in report.expired
                ],
                "fix": {name: str(v) for name, v in fixes.items()} if args.fix else None,
                "exit_code": code,
            }
        )
        return code
    _text(ui, report, fixes if args.fix else None, len(packages))
    return code


def _text(
    ui: UI, report: AuditReport, fixes: Mapping[NormalizedName, Version] | None, count: int
) -> None:
    for ignore in report.expired:
        ui.warn(
            f"the ignore of {ignore.id} expired on {ignore.until.isoformat()} and no longer "
            f"applies ({ignore.reason})"
        )
    for f in report.findings:
        aliases = f" ({', '.join(f.advisory.aliases)})" if f.advisory.aliases else ""
        fixed = ", ".join(str(v) for v in f.fixed) or "no fixed version known"
        head = ui.strong("ignored") if f.ignored_by else ui.bad("vulnerable")
        ui.line(f"{head}: {f.name} {f.version}: {f.advisory.id}{aliases}")
        if f.advisory.summary:
            ui.line(f"    {_short(f.advisory.summary)}")
        ui.line(f"    fixed in: {fixed}")
        if f.ignored_by:
            ui.line(f"    ignored until {f.ignored_by.until.isoformat()}: {f.ignored_by.reason}")
    if fixes is not None:
        vulnerable = sorted({f.name for f in report.active})
        for name in vulnerable:
            if name in fixes:
                ui.line(
                    f"fix: {name}>={fixes[name]}: require this in the lock's inputs, then run "
                    f"`safeinstall lock -P {name}`"
                )
            else:
                ui.line(f"fix: {name}: no fixed version clears every finding")
    active = len(report.active)
    ignored = len(report.findings) - active
    tail = f", {ignored} ignored" if ignored else ""
    if active:
        ui.info(
            f"{active} known vulnerabilit{'ies' if active != 1 else 'y'}{tail} in {count} packages"
        )
    else:
        ui.info(f"ok: no known vulnerabilities{tail} in {count} packages")


def _short(text: str, width: int = 160) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"
