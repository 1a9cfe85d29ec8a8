"""`safeinstall diff OLD NEW`: what a lock change does, for review in a pull request."""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from safeinstall.errors import UsageError
from safeinstall.ui import UI

if TYPE_CHECKING:
    from safeinstall.lock.model import Lock
    from safeinstall.report.diff import Change, LockDiff, Review
    from safeinstall.sarif import Level, LockLines, Result

HELP = "show what a lock change adds, removes, upgrades; same version with new hashes = alarm"
DESCRIPTION = (
    "Compare two locks (requirements.txt or pylock.toml; a git revision as REV:path, e.g. "
    "HEAD~1:requirements.txt): added, removed, upgraded and downgraded packages, index and "
    "license changes, new sdists, and an ALARM when a version stays the same but its hashes "
    "change (a re-uploaded artifact). Exit 1 on an alarm, 0 otherwise, 2 when a lock cannot "
    "be read. With --staged (the safeinstall-lock-diff pre-commit hook), compare each staged "
    "LOCK with HEAD's: exit 1 when a version keeps its number but gains or swaps hashes, or "
    "when a file or index is on a host HEAD's lock never named."
)
FORMATS = ("text", "json", "sarif")
# what SARIF reports of a diff, at what level: what the command fails on (an alarm; with
# --staged, every block), what a reviewer should look at (a warning), what is worth a note;
# added, removed, upgraded packages and file changes are the diff, not findings
RULES: dict[str, tuple[Level, str]] = {
    "alarm": ("error", "A version kept its number but its bytes changed (re-uploaded or swapped)."),
    "hashes-added": (
        "error",
        "A version kept its number and gained hashes while the lock's targets stayed the same.",
    ),
    "new-host": ("error", "A file or index is on a host that HEAD's lock never named."),
    "index": ("warning", "A package now comes from another index."),
    "sdist": ("warning", "A new sdist: building it runs its code."),
    "downgraded": ("note", "A package moved to a lower version."),
    "fresh": ("note", "A version let in inside min-release-age (lock --allow-fresh)."),
    "license": ("note", "A package's recorded license changed."),
}

_SIGNS = {
    "added": "+",
    "removed": "-",
    "upgraded": "^",
    "downgraded": "v",
    "index": "!",
    "license": "~",
    "sdist": "!",
    "fresh": "!",
    "files": "~",
    "alarm": "!!",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "locks",
        nargs="*",
        metavar="LOCK",
        help="OLD NEW: the lock before and after (a file or REV:path); with --staged, the locks "
        "to compare with HEAD",
    )
    parser.add_argument(
        "--staged",
        action="store_true",
        help="compare what git has staged of each LOCK with HEAD's (the pre-commit hook)",
    )


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

    if args.staged:
        return _staged(args, ui)
    if len(args.locks) != 2:
        raise UsageError(
            f"diff compares two locks, OLD and NEW, not {len(args.locks)}",
            hint="e.g. `safeinstall diff HEAD~1:requirements.txt requirements.txt`, or "
            "`safeinstall diff --staged LOCK...` to compare staged locks with HEAD",
        )
    old_ref, new_ref = parse_ref(args.locks[0]), parse_ref(args.locks[1])
    old = read_lock_ref(old_ref)  # the old one first: its error is the one shown
    new = read_lock_ref(new_ref)
    result = diff_locks(old, new)
    code = 1 if result.alarms else 0
    if args.format == "sarif":
        from safeinstall.lock.read import read_lock_bytes
        from safeinstall.lock.ref import git_show

        path = new_ref.path  # the new lock's text again, for its lines
        data = (
            read_lock_bytes(path) if new_ref.revision is None else git_show(new_ref.revision, path)
        )
        ui.json(_sarif(_changes(result, _lines(data, path, new))))
        return code
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


def _staged(args: argparse.Namespace, ui: UI) -> int:
    """Each staged LOCK against HEAD's: show the diff, block what needs a reviewer."""
    from safeinstall.errors import InputError
    from safeinstall.lock.read import parse_lock
    from safeinstall.lock.ref import git_show_if_present
    from safeinstall.report.diff import review

    reviews = []
    found: list[Result] = []  # --format sarif
    for name in args.locks:
        path = Path(name)
        staged = git_show_if_present("", path)
        if staged is None:
            raise UsageError(f"{path} is not staged", hint=f"stage it first: `git add {path}`")
        new = parse_lock(staged, path.name, f"{path} (staged)")
        head = git_show_if_present("HEAD", path)
        old = None
        if head is not None:
            try:
                old = parse_lock(head, path.name, f"HEAD:{path}")
            except InputError as exc:  # e.g. HEAD had plain requirements, this is the first lock
                ui.warn(f"HEAD:{path} is not a lock ({exc.message}); comparing as a new lock")
        checked = review(old, new)
        reviews.append((path, checked, len(new.packages)))
        if args.format == "sarif":
            found += _blocks(checked, _lines(staged, path, new))
    code = 1 if any(r.blocked for _, r, _ in reviews) else 0
    if args.format == "sarif":
        ui.json(_sarif(found))
        return code
    if args.format == "json":
        ui.json(
            {
                "locks": [
                    {
                        "lock": str(path),
                        "new_lock": r.new_lock,
                        "changes": [c.to_json() for c in r.diff.changes],
                        "new_hosts": list(r.new_hosts),
                        "blocked": list(r.blocked),
                    }
                    for path, r, _ in reviews
                ],
                "exit_code": code,
            }
        )
        return code
    for path, r, count in reviews:
        if r.new_lock:
            hosts = ", ".join(r.new_hosts) or "none named (requirements.txt records no URLs)"
            packages = f"{count} package{'' if count == 1 else 's'}"
            ui.line(f"{path}: new lock, {packages}; file and index hosts: {hosts}")
            continue
        ui.line(f"{path}: {'changes against HEAD' if r.diff.changes else 'no changes'}")
        show_changes(ui, r.diff)
        for reason in r.blocked:
            ui.line(ui.bad(f"{path}: blocked: {reason}"))
    if code:
        ui.info(
            "hint: a lock changes by relocking, never by hand: find out why before committing "
            "(`safeinstall lock --check`; the index may have changed the files); once reviewed, "
            "commit with SKIP=safeinstall-lock-diff"
        )
    return code


def _lines(data: bytes, path: Path, lock: Lock) -> LockLines:
    from safeinstall.sarif import lock_lines

    return lock_lines(data, path.name, str(path), lock)


def _changes(result: LockDiff, lines: LockLines, *, skip: str = "") -> list[Result]:
    """The changes SARIF reports, each on the new lock's line of its package (a version, a
    file name, or several versions name the package's first entry)."""
    return [
        lines.result(c.kind, RULES[c.kind][0], _text(c), c.name, c.new)
        for c in result.changes
        if c.kind in RULES and c.kind != skip
    ]


def _blocks(review: Review, lines: LockLines) -> list[Result]:
    """A staged lock's blocks (errors), then its other changes worth a look (alarms are blocks)."""
    blocked = [lines.result(b.rule, "error", b.text, b.name, b.version) for b in review.blocks]
    return blocked + _changes(review.diff, lines, skip="alarm")


def _text(change: Change) -> str:
    old, new = change.old, change.new
    what = f"{old} -> {new}" if old is not None and new is not None and old != new else new or old
    return f"{change.kind}: {change.name} {what or ''}" + (
        f" ({change.detail})" if change.detail else ""
    )


def _sarif(results: Iterable[Result]) -> dict[str, Any]:
    from safeinstall.sarif import Rule, sarif_log

    return sarif_log([Rule(rule, text) for rule, (_, text) in RULES.items()], results)
