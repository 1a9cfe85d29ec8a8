"""`safeinstall scan [LOCK]`: inspect the lock's files for start-up code, clobbering and unsafe
code, without installing or running anything.

A package rather than a module only because commands/ holds at most eleven modules.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from safeinstall.commands import add_lock_argument
from safeinstall.commands.install.options import add_python, lock_path, progress_for, python_of
from safeinstall.ui import UI

if TYPE_CHECKING:
    from safeinstall.inspect.rules import Finding
    from safeinstall.lock.model import Lock

HELP = "inspect the lock's files for start-up code, clobbering and unsafe code patterns"
DESCRIPTION = (
    "Fetch and verify every file the lock installs on the target interpreter (as `install` "
    "does, into the cache) and read each without running anything: wheels as zips, sdists as "
    "archives. Reports .pth files and sitecustomize modules that run at start-up, wheels that "
    "overwrite each other's files or commands, metadata that lies, and code patterns such as "
    "exec of decoded data or network calls at import. The policy's inspect key decides which "
    "findings block and which warn (startup-files allows start-up .pth files, as for verify). "
    "Exit 1 when a finding is blocked, 0 otherwise (warnings included)."
)
FORMATS = ("text", "json", "sarif")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_lock_argument(parser)
    add_python(parser)
    parser.add_argument(
        "--offline", action="store_true", help="use only the cache and --find-links directories"
    )
    parser.add_argument(
        "--find-links",
        metavar="DIR",
        type=Path,
        action="append",
        default=[],
        help="a wheelhouse (from `safeinstall download`) to take the locked files from",
    )


def run(args: argparse.Namespace, ui: UI) -> int:
    import contextlib

    from safeinstall.environment.probe import probe
    from safeinstall.files.cachedir import cache_root
    from safeinstall.index.fetch import Store, fetch_all
    from safeinstall.inspect.scan import scan_files
    from safeinstall.inspect.verdict import grouped
    from safeinstall.install.pipeline import applicable, read_lock
    from safeinstall.install.plan import open_network, select_files
    from safeinstall.install.wheelcheck import check_wheels
    from safeinstall.policy.load import load_policy

    policy = load_policy(args.policy)
    path = lock_path(args.lock)
    lock = read_lock(path, policy)
    env = probe(python_of(args))
    cache = cache_root()
    store = Store(cache)
    with contextlib.ExitStack() as stack:
        net = None if args.offline else stack.enter_context(open_network(policy, cache))
        packages = applicable(lock, env)
        chosen = [
            c.artifact
            for c in select_files(packages, policy, env, store, net, find_links=args.find_links)
        ]
        fetched = fetch_all(chosen, store, net.http if net else None, progress=progress_for(ui))
    files = [(a, fetched[a.sha256]) for a in chosen]
    check_wheels(files)
    report = scan_files(files, policy, cache=cache)
    code = 1 if report.blocked else 0
    if ui.format == "json":
        ui.json(
            {
                "lock": str(path),
                "files": len(files),
                "findings": [f.to_json() for f in report.findings],
                "blocked": len(report.blocked),
                "warnings": len(report.warnings),
                "exit_code": code,
            }
        )
        return code
    if ui.format == "sarif":
        ui.json(_sarif(report.findings, path, lock))
        return code
    for finding, line in grouped(report.findings):
        label = ui.bad("blocked") if finding.severity == "block" else "warning"
        ui.problem(f"{label}: {line}")
    blocked, warned = len(report.blocked), len(report.warnings)
    ui.summary(
        f"{'ok: ' if not blocked else ''}{len(files)} file{'s' * (len(files) != 1)} inspected: "
        f"{blocked} blocked, {warned} warning{'s' * (warned != 1)}"
    )
    return code


def _sarif(findings: Sequence[Finding], path: Path, lock: Lock) -> dict[str, Any]:
    """Each finding on the lock line of its package, with the artifact's member (and its line)
    as a logical location: a blocked finding is an error, a warning a warning."""
    from safeinstall.inspect.rules import BLOCK, RULES
    from safeinstall.lock.read import read_lock_bytes
    from safeinstall.sarif import Rule, lock_lines, sarif_log

    lines = lock_lines(read_lock_bytes(path), path.name, str(path), lock)
    rules = [Rule(r.id, r.summary) for r in RULES.values()]
    results = [
        lines.result(
            f.rule,
            "error" if f.severity == BLOCK else "warning",
            f"{f.package}: {f.where}: {f.message}",
            f.package,
            inside=f.where,
        )
        for f in findings
    ]
    return sarif_log(rules, results)
