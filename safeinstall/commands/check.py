"""`safeinstall check [FILES]`: the offline policy check the pre-commit hooks run."""

from __future__ import annotations

import argparse
from pathlib import Path

from safeinstall.errors import UsageError
from safeinstall.ui import UI

HELP = "check requirement files, locks and pyproject.toml against the policy (offline)"
DESCRIPTION = (
    "Offline check of requirement inputs (*.in, pyproject.toml) and locks (requirement *.txt, "
    "pylock*.toml): pins, hashes, indexes, allow/deny lists and look-alike names. "
    "Exit 1 when anything is found, 2 when a file cannot be read."
)
FORMATS = ("text", "json", "sarif")
DEFAULT_FILES = ("requirements.txt", "requirements.in", "pyproject.toml", "pylock.toml")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "files",
        nargs="*",
        type=Path,
        metavar="FILE",
        help="files to check (default: requirements.txt, requirements.in, pyproject.toml "
        "and pylock.toml in the current directory, those that exist)",
    )
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument(
        "--lock",
        dest="mode",
        action="store_const",
        const="lock",
        help="treat every requirement file as a lock (exact pins and hashes required)",
    )
    kind.add_argument(
        "--input",
        dest="mode",
        action="store_const",
        const="input",
        help="treat every requirement file as an input (loose specifiers allowed)",
    )


def run(args: argparse.Namespace, ui: UI) -> int:
    from safeinstall.guard.check import check_files
    from safeinstall.policy.load import load_policy

    files: list[Path] = args.files or [Path(f) for f in DEFAULT_FILES if Path(f).exists()]
    if not files:
        raise UsageError(
            "no files to check", hint="name the files, e.g. `safeinstall check requirements.txt`"
        )
    report = check_files(files, load_policy(args.policy), mode=args.mode)
    code = 2 if report.errors else 1 if report.findings else 0
    if args.format == "sarif":
        from safeinstall.guard.sarif import to_sarif

        ui.json(to_sarif(report.findings, report.errors))
    elif args.format == "json":
        ui.json(
            {
                "files": list(report.files),
                "findings": [f.to_json() for f in report.findings],
                "errors": [
                    {
                        "path": e.location.path if e.location else None,
                        "line": e.location.line if e.location else None,
                        "message": e.message,
                        "hint": e.hint,
                    }
                    for e in report.errors
                ],
                "notes": list(report.notes),
                "exit_code": code,
            }
        )
    else:
        for finding in report.findings:
            ui.problem(f"{finding.location}: {ui.bad(finding.rule)}: {finding.message}")
            ui.problem(f"    fix: {finding.fix}")
        for error in report.errors:
            ui.error(error)
        for note in report.notes:  # no problem: what a reviewer should know (allow-fresh)
            ui.info(f"note: {note}")
        problems = len(report.findings) + len(report.errors)
        checked = f"{len(report.files)} file{'s' * (len(report.files) != 1)}"
        if problems:
            ui.summary(f"{problems} problem{'s' * (problems != 1)} in {checked}")
        else:
            ui.summary(f"ok: {checked} checked, no problems")
    return code
