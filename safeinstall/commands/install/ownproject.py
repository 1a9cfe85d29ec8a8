"""`safeinstall install -e .` / `install .`: the user's own project.

Its dependencies come from the project's lock, which must exist and be fresh (what
``safeinstall lock --check`` says), installed verified like any lock; then the project itself is
installed by pip with ``--no-deps --no-index --no-build-isolation``: its build backend must already
be in the target environment (nothing is fetched to build it), and this is checked first.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from safeinstall.commands.install.byname import Request, absolute, lock_targets
from safeinstall.errors import InputError, Location, TargetEnvironmentError, UsageError
from safeinstall.lock.model import Lock
from safeinstall.policy.model import Policy
from safeinstall.requirements.edit import Project
from safeinstall.ui import UI

# What pip builds a pyproject.toml without [build-system] with (PEP 518's default).
DEFAULT_BACKEND = ("setuptools>=40.8.0",)


def install_project(path: Path, request: Request, ui: UI, *, editable: bool) -> int:
    from safeinstall.commands.install.byname import install_quietly
    from safeinstall.commands.install.options import report
    from safeinstall.environment.pip import pip_install_project
    from safeinstall.requirements.edit import project_at

    root = path.resolve()
    if not (root / "pyproject.toml").is_file():
        raise UsageError(
            f"{path} has no pyproject.toml, so it is not a project safeinstall can install",
            hint="give the directory that holds the project's pyproject.toml",
        )
    project = project_at(root)
    if project is None:
        raise InputError("has no [project] table", location=Location(str(root / "pyproject.toml")))
    policy = absolute(request.policy)
    lock = _fresh_lock(project, policy, request.python)
    _check_backend(root, lock, request.python)
    outcome = install_quietly(lock, request, ui)
    if not request.options.dry_run:
        try:
            pip_install_project(request.python, root, request.options.pip, editable=editable)
        except TargetEnvironmentError:
            report(ui, outcome, request.python)  # what went in before the project failed
            raise
    how = " (editable)" if editable else ""
    report(ui, outcome, request.python, project=f"{_project_name(root)} from {root}{how}")
    return 0


def _fresh_lock(project: Project, policy: Policy, python: str) -> Lock:
    """The project's lock, read with the install rules, refused when missing or stale."""
    from safeinstall.install.pipeline import read_lock
    from safeinstall.lock.inputs import digest_for, read_inputs
    from safeinstall.targets import current_target

    here = "" if Path.cwd().resolve() == project.root else f"cd {project.root} && "
    hint = f"run `{here}{project.lock_command}`, then install again"
    if not project.lock.is_file():
        raise UsageError(f"{project.root} has no lock (pylock.toml or requirements.txt)", hint=hint)
    with contextlib.chdir(project.root):  # names as `safeinstall lock` run there reads them
        inputs = read_inputs([Path(project.input.name)], policy)
        lock = read_lock(Path(project.lock.name), policy)
        candidates = [lock_targets(policy, python)]
        if not policy.environments:  # or locked by the interpreter running safeinstall
            candidates.append((current_target(),))
        fresh = any(lock.digest == digest_for(inputs, policy, t) for t in candidates)
    if not fresh:
        raise InputError(
            f"the lock is out of date with {project.input.name} (its inputs, policy or targets "
            "changed)",
            location=Location(str(project.lock)),
            hint=hint,
        )
    return lock


def _check_backend(root: Path, lock: Lock, python: str) -> None:
    """Refuse before anything is installed when the build backend is not in the environment."""
    from safeinstall.environment.probe import probe
    from safeinstall.requirements.pyproject import read_toml

    build = read_toml(root / "pyproject.toml")[1].get("build-system", {})
    requires = build.get("requires", list(DEFAULT_BACKEND)) if isinstance(build, dict) else []
    env = probe(python)
    have = set(env.installed) | {p.name for p in lock.packages}
    missing = [r for r in requires if isinstance(r, str) and _name(r) not in have]
    if missing:
        raise TargetEnvironmentError(
            f"the project's build backend needs {', '.join(missing)}, which {env.python} "
            "does not have; nothing was installed",
            hint="safeinstall builds without an isolated environment it would fill from the "
            "index: install the backend from a lock first (`safeinstall install -r` a lock "
            "that pins it), then run this again",
        )


def _name(requirement: str) -> str:
    try:
        return canonicalize_name(Requirement(requirement).name)
    except InvalidRequirement:
        return requirement


def _project_name(root: Path) -> str:
    from safeinstall.requirements.pyproject import read_toml

    project = read_toml(root / "pyproject.toml")[1].get("project", {})
    return str(project.get("name", root.name))
