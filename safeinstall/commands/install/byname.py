"""`safeinstall install PKG ...`: install by name, so that the team gets the same bytes.

Inside a project (see ``requirements/edit.py``): the names are added to the project's input in
memory, every lock of the project is relocked from that in memory, each with its own recipe and
pins (``relock.py``), the one made for the target environment is installed, and only then are the
locks and the input written, all or none. A policy finding on a new name refuses before anything
is read from an index; a failed resolution or a failed install (verification, pip, policy)
leaves the input and every lock byte-identical, and a lock that did not exist is not made.
Outside a project: resolve through the trusted indexes for the target interpreter, show what
will be installed, install it verified; ``--save FILE`` writes the lock.
"""

from __future__ import annotations

import contextlib
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.requirements import Requirement

from safeinstall.errors import PolicyError, UsageError
from safeinstall.frozen import replace
from safeinstall.install.pipeline import Options, Outcome
from safeinstall.lock.inputs import LockInputs
from safeinstall.lock.model import Lock
from safeinstall.policy.model import Policy
from safeinstall.requirements.edit import COMMAND_LINE, Project
from safeinstall.targets import Target
from safeinstall.ui import UI

if TYPE_CHECKING:
    from safeinstall.environment.probe import Environment


@dataclass(frozen=True, slots=True)
class Request:
    """What `install` was asked, every path absolute (the project's steps run from its root)."""

    policy: Policy
    python: str
    options: Options
    save: Path | None = None


def absolute(policy: Policy) -> Policy:
    """``policy`` with its source absolute, so that its bytes are found from another directory."""
    if policy.source is None:
        return policy
    return replace(policy, source=str(Path(policy.source).resolve()))


def lock_targets(
    policy: Policy, python: str, *, env: Environment | None = None
) -> tuple[Target, ...]:
    """What a lock made here is for: the policy's ``environments``, else the target interpreter
    (asked of the interpreter itself, named as ``safeinstall lock`` run by it would name it;
    ``env``: what it already answered)."""
    from safeinstall.environment.probe import probe
    from safeinstall.targets import interpreter_target, targets_from_markers

    if policy.environments:
        return targets_from_markers(policy.environments, policy.source)
    target = (env or probe(python)).target
    return (interpreter_target(dict(target.environment), target.tags),)


def refuse_findings(wanted: Sequence[Requirement], policy: Policy) -> None:
    """The policy's verdict on the names themselves (denied, not allowed, look-alike), first."""
    from safeinstall.guard.rules import Rules, exact_pin

    checker = Rules(policy)
    findings = [
        f for req in wanted for f in checker.name_findings(req.name, exact_pin(req), COMMAND_LINE)
    ]
    if findings:
        raise PolicyError(
            "; ".join(f.message for f in findings),
            hint=findings[0].fix + "; nothing was changed",
        )


def install_names(texts: Sequence[str], request: Request, ui: UI) -> int:
    from safeinstall.requirements.edit import find_project, parse_wanted

    if request.options.offline:
        raise UsageError(
            "installing by name resolves through the index, so it cannot be --offline",
            hint="install a lock offline: `safeinstall install -r requirements.txt --offline`",
        )
    wanted = parse_wanted(texts)
    refuse_findings(wanted, request.policy)
    project = find_project(Path.cwd())
    if project is None:
        return _outside(texts, wanted, request, ui)
    if request.save is not None:
        locks = ", ".join(lock.name for lock in project.locks) or "requirements.txt"
        ui.warn(f"--save is ignored inside a project: it relocks {locks} in {project.root}")
    return _in_project(project, wanted, request, ui)


def _in_project(project: Project, wanted: Sequence[Requirement], request: Request, ui: UI) -> int:
    from safeinstall.commands.install import relock
    from safeinstall.environment.probe import probe
    from safeinstall.requirements.edit import add_to_pyproject, add_to_requirements_in

    policy = absolute(request.policy)
    env = probe(request.python)
    with contextlib.chdir(project.root):  # names in the locks as `safeinstall lock` writes them
        source = Path(project.input.name)
        old = source.read_bytes()
        edit = add_to_pyproject if source.name == "pyproject.toml" else add_to_requirements_in
        new = edit(old, str(source), wanted)
        jobs, skipped = relock.plan(project, source)  # refuses before any index is asked
        targets = lock_targets(policy, request.python, env=env)
        made = relock.relock_all(jobs, source, new, policy=policy, targets=targets, ui=ui)
    chosen = relock.for_environment(made, env)
    dry_run = request.options.dry_run
    would = "would be " if dry_run else ""
    names = ", ".join(str(r) for r in wanted)
    lines = [f"{project.input.name}: {would}{'updated' if new != old else 'unchanged'} ({names})"]
    lines += [item.line(would) for item in made] + [item.line for item in skipped]
    ui.info(
        f"{'would install' if dry_run else 'installing'} from {chosen.path}, the lock for "
        f"{env.target.name}"
    )
    if dry_run:
        for line in lines:
            ui.info(line)
        return install(chosen.lock, request, ui)
    code = install(chosen.lock, request, ui)  # raises when it fails: nothing below is written
    with contextlib.chdir(project.root):
        relock.write_all(made, source, old, new)  # the locks, then the input: all or none
    for line in lines:
        ui.info(line)
    return code


def _outside(texts: Sequence[str], wanted: Sequence[Requirement], request: Request, ui: UI) -> int:
    from safeinstall.lock.inputs import digest_for
    from safeinstall.lock.make import resolve_lock, write_lock
    from safeinstall.requirements.pep508 import Root

    policy, save = request.policy, request.save
    targets = lock_targets(policy, request.python)
    roots = tuple(Root(req, str(COMMAND_LINE)) for req in wanted)
    inputs = LockInputs(roots, (), tuple(str(r).encode() for r in wanted))
    ui.info(f"Resolving {len(roots)} requirements through the trusted indexes...")
    if save is not None and not request.options.dry_run:
        command = shlex.join(["safeinstall", "install", *texts, "--save", str(save)])
        lock = write_lock(save, inputs, policy, targets, command=command, notify=ui.warn).lock
        ui.info(f"{save}: locked, {len(lock.packages)} packages")
    else:
        lock = resolve_lock(roots, policy, targets, digest_for(inputs, policy, targets))
    for pkg in lock.packages:
        ui.info(f"  {pkg.name} {pkg.version} from {pkg.index_name or pkg.index_url}")
    return install(lock, request, ui)


def install(lock: Lock, request: Request, ui: UI) -> int:
    """Install ``lock`` (made by this run, so already checked by the policy) and report it."""
    from safeinstall.commands.install.options import report

    report(ui, install_quietly(lock, request, ui), request.python)
    return 0


def install_quietly(lock: Lock, request: Request, ui: UI) -> Outcome:
    """Install ``lock`` and return what was done, for the caller to report."""
    from safeinstall.commands.install.options import progress_for
    from safeinstall.files.cachedir import cache_root
    from safeinstall.install.pipeline import install_lock

    return install_lock(
        lock,
        request.policy,
        request.python,
        request.options,
        cache=cache_root(),
        progress=progress_for(ui),
    )
