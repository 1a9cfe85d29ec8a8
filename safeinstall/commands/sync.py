"""`safeinstall sync`: make the environment match the lock exactly (install + remove)."""

from __future__ import annotations

import argparse

from safeinstall.commands import add_lock_argument
from safeinstall.commands.install.options import (
    add_python,
    lock_path,
    progress_for,
    python_of,
    report,
)
from safeinstall.ui import UI

HELP = "make the environment match the lock exactly: install what is missing, remove the rest"
DESCRIPTION = (
    "Install what the lock pins and is missing, at another version, or whose installed files "
    "are not those of the locked wheel (verified, as `install` does), and uninstall every "
    "package the lock does not list, except pip and safeinstall itself (unless listed). "
    "In the environment safeinstall runs from, it refuses to remove or replace safeinstall "
    "or anything it needs to run: give the project its own virtual environment. "
    "Editable installs are removed too: any package can call itself editable. setuptools and "
    "wheel are removed like any other unlisted package: a lock that needs them lists them. "
    "--check changes nothing and exits 1 when the environment is out of date (what the git "
    "post-merge hook runs)."
)
FORMATS = ("text", "json")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_lock_argument(parser)
    add_python(parser)
    parser.add_argument(
        "--dry-run", action="store_true", help="show what would change; change nothing"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="like --dry-run, and exit 1 when the environment does not match the lock",
    )


def run(args: argparse.Namespace, ui: UI) -> int:
    from safeinstall.environment.pip import PipOptions
    from safeinstall.files.cachedir import cache_root
    from safeinstall.install.pipeline import Options, install_lock, read_lock
    from safeinstall.policy.load import load_policy

    policy = load_policy(args.policy)
    path = lock_path(args.lock)
    lock = read_lock(path, policy)
    python = python_of(args)
    pip = PipOptions(verbosity=ui.verbosity, echo=ui.tool_output, warn=ui.warn)
    options = Options(dry_run=args.dry_run or args.check, sync=True, pip=pip)
    outcome = install_lock(
        lock, policy, python, options, cache=cache_root(), progress=progress_for(ui)
    )
    report(ui, outcome, python, check=args.check)
    if args.check and (outcome.plan.install or outcome.plan.remove):
        ui.fail(f"the environment does not match {path}: run `safeinstall sync {path}`")
        return 1
    return 0
