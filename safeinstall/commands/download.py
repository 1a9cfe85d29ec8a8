"""`safeinstall download`: a verified wheelhouse for offline installs and Docker builds."""

from __future__ import annotations

import argparse
from pathlib import Path

from safeinstall.commands import add_lock_argument
from safeinstall.commands.install.options import (
    add_python,
    lock_path,
    progress_for,
    python_of,
)
from safeinstall.ui import UI

HELP = "download the lock's files, verified, into a directory (for --offline installs)"
DESCRIPTION = (
    "Fetch every file the lock needs on the target interpreter into the sha256-addressed cache, "
    "verify it, and copy it into DIR (hashed again on the way). Then "
    "`safeinstall install --offline --find-links DIR -r LOCK` installs with no network."
)
FORMATS = ("text", "json")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_lock_argument(parser)
    parser.add_argument(
        "-d", "--dest", required=True, type=Path, metavar="DIR", help="the wheelhouse directory"
    )
    add_python(parser)


def run(args: argparse.Namespace, ui: UI) -> int:
    from safeinstall.audit.malware import check_lock
    from safeinstall.files.cachedir import cache_root
    from safeinstall.install.pipeline import read_lock
    from safeinstall.install.wheelhouse import download_lock
    from safeinstall.policy.load import load_policy

    policy = load_policy(args.policy)
    path = lock_path(args.lock)
    lock = read_lock(path, policy)
    check_lock(lock, policy, notify=ui.warn, where=str(path))  # known malware: nothing fetched
    files = download_lock(
        lock, policy, python_of(args), args.dest, cache=cache_root(), progress=progress_for(ui)
    )
    if ui.format == "json":
        ui.json(
            {
                "dest": str(args.dest),
                "files": [{"file": a.filename, "sha256": a.sha256} for a in files],
            }
        )
    else:
        for artifact in files:
            ui.item(f"{args.dest / artifact.filename}")
        ui.summary(f"{len(files)} verified file{'s' * (len(files) != 1)} in {args.dest}")
    return 0
