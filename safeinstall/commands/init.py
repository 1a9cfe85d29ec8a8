"""``safeinstall init``: write a starter policy into pyproject.toml (style and comments kept)."""

from __future__ import annotations

import argparse
from pathlib import Path

from safeinstall.ui import UI

HELP = "write a starter policy into pyproject.toml"
DESCRIPTION = (
    "Add a commented, safe starter [tool.safeinstall] table to pyproject.toml (created if "
    "missing), trusting the indexes pip is configured with. The rest of the file is kept "
    "byte for byte. A file name other than pyproject.toml gets the policy at its top level."
)
FORMATS = ("text", "json")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--path",
        metavar="FILE",
        default="pyproject.toml",
        help="file to write (default: pyproject.toml in the current directory)",
    )
    parser.add_argument(
        "--force", action="store_true", help="replace an existing policy in that file"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print the policy instead of writing it"
    )


def run(args: argparse.Namespace, ui: UI) -> int:
    from safeinstall.policy.pipconfig import configured_indexes
    from safeinstall.policy.starter import init_policy  # start-up time

    result = init_policy(
        Path(args.path), indexes=configured_indexes(), force=args.force, dry_run=args.dry_run
    )
    for url in result.skipped:
        ui.warn(f"pip uses the index {url}, which a policy cannot trust (not https); left out")
    if ui.format == "json":
        ui.json(
            {
                "path": str(result.path),
                "written": result.written,
                "created": result.created,
                "replaced": result.replaced,
                "skipped_indexes": list(result.skipped),
                "policy": result.table,
            }
        )
    elif not result.written:
        for line in result.table.splitlines():
            ui.line(line)
    else:
        verb = (
            "created"
            if result.created
            else "replaced the policy in"
            if result.replaced
            else "added a policy to"
        )
        ui.summary(f"{verb} {result.path}", stdout=True)
        ui.info("review it, then commit it: the pre-commit hooks and every command read it")
    return 0
