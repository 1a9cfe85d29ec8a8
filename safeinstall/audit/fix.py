"""`audit --fix`: relock with the smallest upgrades that clear the audit's findings.

How the lock was made is read back from the lock: the command a requirements.txt lock records
in its header (``safeinstall lock INPUTS -o OUTPUT [--python-version ...]``), or, for a
pylock.toml, which records none, the default inputs (requirements.in, else pyproject.toml). The
inputs must be files under the current directory, and must still give the lock's own digest: a
lock that is stale, or was made from other inputs, is not relocked, since that would bring
other changes in with the fix.

Each vulnerable package then has its fixed version (``audit.fix_suggestions``) tried first in
place of its pin, so the upgrade is the smallest, and bounded from below by an extra top-level
requirement ``name>=fixed`` that carries the package's marker in the old lock (a package needed
on some targets only is not added to the others). Every other pin is kept where it can be. The
inputs on disk are not changed; the bound lives only in this resolution, so a later
`safeinstall lock` keeps the new pins and `lock --check` still finds the lock up to date.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import NormalizedName
from packaging.version import Version

from safeinstall.errors import InputError, Location
from safeinstall.lock.inputs import LockInputs
from safeinstall.lock.model import Lock
from safeinstall.lock.recipe import Recipe, find_recipe
from safeinstall.policy.model import Policy
from safeinstall.requirements.pep508 import Root
from safeinstall.targets import Target

BOUND_SOURCE = "audit --fix"


@dataclass(frozen=True, slots=True)
class RelockPlan:
    """A lock that can be relocked: its inputs read and its targets known."""

    path: Path
    old: Lock
    recipe: Recipe
    inputs: LockInputs
    targets: tuple[Target, ...]


def plan_relock(path: Path, old: Lock, policy: Policy) -> RelockPlan:
    """Read the inputs of the lock at ``path`` (``old``, as audited) and check it is fresh."""
    from safeinstall.lock.inputs import choose_targets, digest_for, read_recipe_inputs
    from safeinstall.lock.read import read_lock_file

    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the lock: {exc}", location=Location(str(path))) from None
    if read_lock_file(path) != old:
        raise InputError(
            "the lock changed while it was audited",
            location=Location(str(path)),
            hint="run `safeinstall audit --fix` again",
        )
    recipe = find_recipe(path, text)
    targets = choose_targets(policy, recipe.python_version, recipe.platform)
    inputs = read_recipe_inputs(recipe, policy)
    if digest_for(inputs, policy, targets) != old.digest:
        raise InputError(
            "the lock is not up to date with its inputs and policy, so relocking it would bring "
            "in other changes with the fix",
            location=Location(str(path)),
            hint="run `safeinstall lock` first (`lock --check` tells), then `audit --fix` again",
        )
    return RelockPlan(path, old, recipe, inputs, targets)


def relock(
    plan: RelockPlan,
    policy: Policy,
    fixes: Mapping[NormalizedName, Version],
    *,
    dry_run: bool = False,
    notify: Callable[[str], None] = lambda message: None,
) -> Lock:
    """The lock with each package in ``fixes`` at the lowest version it allows, written
    atomically unless ``dry_run``."""
    from safeinstall.lock.make import resolve_lock, write_lock

    bounds = fix_bounds(plan.old, fixes)
    if dry_run:
        pins = {p.name: p.version for p in plan.old.packages}
        return resolve_lock(
            plan.inputs.roots,
            policy,
            plan.targets,
            plan.old.digest,
            preferred={**pins, **fixes},
            bounds=bounds,
            notify=notify,
            old_builds=plan.old.builds,
        )
    result = write_lock(
        plan.path,
        plan.inputs,
        policy,
        plan.targets,
        command=plan.recipe.command,
        prefer=fixes,
        bounds=bounds,
        notify=notify,
    )
    return result.lock


def fix_bounds(old: Lock, fixes: Mapping[NormalizedName, Version]) -> tuple[Root, ...]:
    """``name>=fixed`` for each fix, under the marker(s) the package has in ``old``."""
    out = []
    for name, version in sorted(fixes.items()):
        markers = {p.marker for p in old.packages if p.name == name}
        if not markers or None in markers:
            markers = {None}
        for marker in sorted(m or "" for m in markers):
            when = f" ; {marker}" if marker else ""
            out.append(Root(Requirement(f"{name}>={version}{when}"), BOUND_SOURCE))
    return tuple(out)
