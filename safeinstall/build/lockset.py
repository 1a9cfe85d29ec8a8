"""The build sets a lock records: for each locked sdist that ``install`` may have to build, the
wheels its build environment is made of, resolved under the policy, pinned with their hashes.

An sdist needs one when the policy lets its package build and some target of the lock has no
wheel of it that fits (``install`` then chooses the sdist, ``install/plan.py``). Its build
requirements are ``[build-system] requires`` plus what its backend's
``get_requires_for_build_wheel`` asks for (step 1 of the hooks, in the build sandbox: this runs
its build code, which the policy allows for it, and builds nothing). The resolution is
``env.py``'s: trusted indexes, bindings, allow/deny, cooldown, wheels only, each verified.
When the policy lets no build environment be made (a denied or missing build requirement, a
backend that fails), the lock is still written, without one, and says so: ``install`` then
refuses to build that sdist (it never builds from anything but a locked build set).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from packaging.markers import Marker
from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from safeinstall.build.env import BuildContext
from safeinstall.build.sdist import build_requirements
from safeinstall.errors import PolicyError, ResolutionError, TargetEnvironmentError
from safeinstall.index.distfile import DistFile
from safeinstall.index.fetch import Artifact, Store, fetch_all
from safeinstall.lock.model import BuildSet, LockedPackage
from safeinstall.resolve.resolver import Resolution, ResolvedPackage
from safeinstall.targets import Target


def build_sets(
    resolution: Resolution,
    targets: Sequence[Target],
    context: BuildContext,
    pin: Callable[[ResolvedPackage], LockedPackage],
) -> tuple[BuildSet, ...]:
    """One BuildSet per sdist of ``resolution`` that some target would build (see above);
    ``pin`` makes a build requirement's lock entry (``lock.make.locked_package``: its wheels)."""
    found = []
    for pkg in resolution.packages:
        sdist = _to_build(pkg, targets, context)
        if sdist is None or sdist.sha256 is None:
            continue
        context.notify(
            f"reading what {sdist.filename} builds with, to pin it in the lock: this runs its "
            "build code (the policy allows sdists for it)"
        )
        artifact = Artifact(pkg.name, pkg.version, sdist.filename, sdist.sha256, url=sdist.url)
        path = fetch_all([artifact], Store(context.cache), context.http)[sdist.sha256]
        try:
            env = build_requirements(path.read_bytes(), sdist.filename, context)
        except (PolicyError, ResolutionError, TargetEnvironmentError) as exc:
            context.notify(
                f"the lock pins no build environment for {sdist.filename}, so `install` will "
                f"refuse to build it: {exc.message}"
            )
            continue
        pins = tuple(pin(p) for p in env.packages)
        found.append(BuildSet(pkg.name, pkg.version, sdist.sha256, pins))
    return tuple(sorted(found, key=lambda b: (b.name, b.version, b.sdist)))


def _to_build(
    pkg: ResolvedPackage, targets: Sequence[Target], context: BuildContext
) -> DistFile | None:
    """The sdist of ``pkg`` when the policy lets it build and a target it applies to has no
    fitting wheel of it."""
    sdist = next((f for f in pkg.files if f.kind == "sdist"), None)
    if sdist is None or not context.policy.allows_sdist(pkg.name):
        return None
    for target in targets:
        if pkg.marker and not Marker(pkg.marker).evaluate(target.env()):
            continue
        tags = set(target.tags)
        if not any(_wheel_tags(f) & tags for f in pkg.files if f.kind == "wheel"):
            return sdist
    return None


def _wheel_tags(file: DistFile) -> set[object]:
    if file.tags:
        return set(file.tags)
    try:
        return set(parse_wheel_filename(file.filename)[3])
    except InvalidWheelFilename:
        return set()
