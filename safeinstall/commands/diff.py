"""`safeinstall diff OLD NEW`: what a lock change does, for review in a pull request."""

from __future__ import annotations

import argparse
from collections import Counter
from typing import TYPE_CHECKING

from safeinstall.ui import UI

if TYPE_CHECKING:
    from safeinstall.report.diff import LockDiff

HELP = "show what a lock change adds, removes, upgrades; same version with new hashes = alarm"
DESCRIPTION = (
    "Compare two locks (requirements.txt or pylock.toml; a git revision as REV:path, e.g. "
    "HEAD~1:requirements.txt): added, removed, upgraded and downgraded packages, index and "
    "license changes, new sdists, and an ALARM when a version stays the same but its hashes "
    "change (a re-uploaded artifact). Exit 1 on an alarm, 0 otherwise, 2 when a lock cannot "
    "be read."
)
FORMATS = ("text", "json")

_SIGNS = {
    "added": "+",
    "removed": "-",
    "upgraded": "^",
    "downgraded": "v",
    "index": "!",
    "license": "~",
    "sdist": "!",
    "files": "~",
    "alarm": "!!",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("old", metavar="OLD", help="the lock before (a file or REV:path)")
    parser.add_argument("new", metavar="NEW", help="the lock after (a file or REV:path)")


def show_changes(ui: UI, result: LockDiff) -> None:
    """One text line per change (also what `audit --fix` shows of the lock it rewrites)."""
    for change in result.changes:
        if change.old is not None and change.new is not None and change.old != change.new:
            what = f"{change.old} -> {change.new}"
        else:
            what = change.new or change.old or ""
        text = f"{_SIGNS[change.kind]:>2} {change.kind:<10} {change.name} {what}"
        text += f" ({change.detail})" if change.detail else ""
        if change.kind == "alarm":
            ui.problem(ui.bad(text))  # what the command fails on
        else:
            ui.item(ui.bad(text) if change.kind in ("sdist", "index") else text)


def run(args: argparse.Namespace, ui: UI) -> int:
    from safeinstall.lock.ref import parse_ref, read_lock_ref
    from safeinstall.report.diff import diff_locks

    old_ref, new_ref = parse_ref(args.old), parse_ref(args.new)
    result = diff_locks(read_lock_ref(old_ref), read_lock_ref(new_ref))
    code = 1 if result.alarms else 0
    if args.format == "json":
        ui.json(
            {
                "old": str(old_ref),
                "new": str(new_ref),
                "changes": [c.to_json() for c in result.changes],
                "alarm": bool(result.alarms),
                "exit_code": code,
            }
        )
        return code
    show_changes(ui, result)
    if result.alarms:
        ui.fail(
            f"ALARM: {len(result.alarms)} package(s) kept their version but changed their bytes; "
            "do not merge before finding out why"
        )
    elif not result.changes:
        ui.summary("no changes")
    else:
        kinds = Counter(c.kind for c in result.changes)
        count = len(result.changes)
        each = ", ".join(f"{n} {kind}" for kind, n in kinds.items())
        ui.summary(f"{count} change{'s' * (count != 1)}: {each}")
    return code
