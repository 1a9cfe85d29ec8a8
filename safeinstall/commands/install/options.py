"""What `install`, `sync`, `download` and `verify` share: the lock, --python, progress, report."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from safeinstall.ui import UI

PYTHON_HELP = (
    "the interpreter, or venv directory, whose environment to use (default: the active "
    "virtual environment, else the nearest .venv up to the git root; never the environment "
    "safeinstall runs from)"
)


def add_python(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--python", metavar="PATH", help=PYTHON_HELP)


def lock_path(given: Path | None) -> Path:
    from safeinstall.lock.read import default_lock

    return given if given is not None else default_lock()


def python_of(args: argparse.Namespace) -> str:
    """The target environment's interpreter, by the one rule (``probe.target_python``)."""
    from safeinstall.environment.probe import target_python

    return target_python(str(args.python) if args.python else None)


def progress_for(ui: UI) -> Callable[[int, int, int, int], None] | None:
    """Counts and bytes on stderr, only when stderr is a terminal (quiet in CI and pipes)."""
    last = [0.0]

    def show(done: int, total: int, received: int, expected: int) -> None:
        now = time.monotonic()
        if done < total and now - last[0] < 0.1:
            return
        last[0] = now
        size = f"{received / 1e6:.1f}" + (f"/{expected / 1e6:.1f}" if expected else "")
        ui.progress(f"fetched {done}/{total} files, {size} MB", done=done == total)

    return show


def report(ui: UI, outcome: Any, python: str, *, check: bool = False, project: str = "") -> None:
    """The result of install/sync, as text lines or one JSON object: a line per package and
    the summary. ``check``: the lines are what `sync --check` fails on; ``project``: the
    user's project, installed after the lock (`install -e .`)."""
    plan = outcome.plan
    would = "would " if outcome.dry_run else ""
    installed = (
        [{"name": p.name, "version": str(p.version)} for p in plan.install]
        if outcome.dry_run
        else [
            {"name": a.name, "version": str(a.version), "file": a.filename, "sha256": a.sha256}
            for a in outcome.installed
        ]
    )
    removed = plan.remove if outcome.dry_run else outcome.removed
    if ui.format == "json":
        ui.json(
            {
                "python": python,
                "dry_run": outcome.dry_run,
                "installed": installed,
                "skipped": [{"name": p.name, "version": str(p.version)} for p in plan.skipped],
                "removed": [{"name": i.name, "version": str(i.version)} for i in removed],
                "kept": [{"name": i.name, "version": str(i.version)} for i in plan.kept],
            }
        )
        return
    say = ui.problem if check else ui.item
    for item in installed:
        say(f"{would}install {item['name']}=={item['version']}")
    for gone in removed:
        say(f"{would}remove {gone.name}=={gone.version}")
    for kept in plan.kept:
        ui.debug(f"kept {kept.name}=={kept.version} (never removed by sync)")
    if project:
        ui.item(f"{would}install {project}")
    also = f" and {project}" if project else ""
    ui.summary(
        f"{would}install {len(installed)}{also}, remove {len(removed)}; "
        f"{len(plan.skipped)} already at the locked version"
    )
