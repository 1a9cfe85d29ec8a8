"""The build sets a lock records: for each locked sdist that ``install`` may have to build, the
wheels its build environment is made of, resolved under the policy, pinned with their hashes.

An sdist needs one when the policy lets its package build and some target of the lock has no
wheel of it that fits (``install`` then chooses the sdist, ``install/plan.py``). Its build
requirements are ``[build-system] requires`` plus what its backend's
``get_requires_for_build_wheel`` asks for (step 1 of the hooks, in the build sandbox, by the
running interpreter: this runs its build code, which the policy allows for it, and builds
nothing). The resolution is ``env.py``'s: trusted indexes, bindings, allow/deny, cooldown,
wheels only, each verified.

They are resolved for the lock's targets, not for the interpreter running ``lock``: for each
target that needs the build (the same ``Target`` objects as the run-time resolution: their
markers, Python version and wheel tags), agreeing across them. A lock holds **one build set per
sdist**, for every target that builds it: one version of each build requirement, unmarked, each
with a wheel every one of those targets can use (when targets first choose different versions,
the oldest chosen is tried first on all of them, once). Where no one set fits them all (a build
requirement needed at different versions, or with a wheel for only some of the targets), there
is no build set for that sdist. On a relock, the old lock's build-set pins are tried first, as
the old run-time pins are (``--upgrade`` drops them, ``--upgrade-package NAME`` that one).

When the policy lets no build environment be made (a denied or missing build requirement, a
backend that fails, no one set for all targets), the lock is still written, without one, and
says so: ``install`` then refuses to build that sdist (it never builds from anything but a
locked build set). A backend the sandbox had to stop (it tried the network, a write outside its
places, a hidden file: ``BuildDenied``) fails the lock instead, and the old lock stays as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from packaging.markers import Marker
from packaging.utils import InvalidWheelFilename, NormalizedName, parse_wheel_filename
from packaging.version import Version

from safeinstall import frozen
from safeinstall.build.env import BuildContext, resolve_for
from safeinstall.build.sdist import build_requirements
from safeinstall.errors import BuildDenied, PolicyError, ResolutionError, TargetEnvironmentError
from safeinstall.index.distfile import DistFile
from safeinstall.index.fetch import Artifact, Store, fetch_all
from safeinstall.lock.model import BuildSet, LockedPackage
from safeinstall.resolve.merge import merge, splits
from safeinstall.resolve.resolver import Resolution, ResolvedPackage
from safeinstall.targets import Target


def build_sets(
    resolution: Resolution,
    targets: Sequence[Target],
    context: BuildContext,
    pin: Callable[[ResolvedPackage], LockedPackage],
    *,
    old: Sequence[BuildSet] = (),
    upgrade: bool | set[NormalizedName] = False,
) -> tuple[BuildSet, ...]:
    """One BuildSet per sdist of ``resolution`` that some target would build (see above);
    ``pin`` makes a build requirement's lock entry (``lock.make.locked_package``: its wheels);
    ``old``: the build sets of the lock being replaced, whose pins are tried first unless
    ``upgrade`` (True: none; a set: those names)."""
    found = []
    for pkg in resolution.packages:
        sdist, needing = _to_build(pkg, targets, context)
        if sdist is None or sdist.sha256 is None:
            continue
        artifact = Artifact(pkg.name, pkg.version, sdist.filename, sdist.sha256, url=sdist.url)
        path = fetch_all([artifact], Store(context.cache), context.http)[sdist.sha256]
        try:
            requires = build_requirements(path.read_bytes(), sdist.filename, context)
            prefer = _preferred(old, sdist.sha256, upgrade)
            packages = _one_set(requires, context, needing, sdist.filename, prefer)
        except BuildDenied:
            raise  # the sandbox stopped it: a hostile build fails the lock, which stays as it was
        except (PolicyError, ResolutionError, TargetEnvironmentError) as exc:
            context.notify(
                f"the lock pins no build environment for {sdist.filename}, so `install` will "
                f"refuse to build it: {exc.message}"
            )
            continue
        pins = tuple(frozen.replace(pin(p), marker=None) for p in packages)
        found.append(BuildSet(pkg.name, pkg.version, sdist.sha256, pins))
    return tuple(sorted(found, key=lambda b: (b.name, b.version, b.sdist)))


def _preferred(
    old: Sequence[BuildSet], sdist: str, upgrade: bool | set[NormalizedName]
) -> dict[NormalizedName, Version]:
    """The versions to try first for the build set of ``sdist`` (a sha256): what the old lock
    pinned for it, else for any sdist; never what ``upgrade`` names."""
    if upgrade is True:
        return {}
    prefer = {p.name: p.version for build in old for p in build.packages}
    prefer |= {p.name: p.version for build in old if build.sdist == sdist for p in build.packages}
    skip = upgrade if isinstance(upgrade, set) else set()
    return {name: version for name, version in prefer.items() if name not in skip}


def _one_set(
    requires: Sequence[str],
    context: BuildContext,
    targets: Sequence[Target],
    what: str,
    preferred: Mapping[NormalizedName, Version],
) -> tuple[ResolvedPackage, ...]:
    """One version of each of ``requires`` (and what they need) for every one of ``targets``,
    each with a wheel all of them can use (see above)."""
    prefer = dict(preferred)
    for _ in range(2):
        each = resolve_for(requires, context, targets, what=what, preferred=prefer)
        found = splits(each)
        if not found:
            break
        prefer.update({split.name: split.versions[-1][0] for split in found})  # the oldest
    else:
        raise ResolutionError(
            f"{what} cannot be built from one build environment on every target: "
            + "; ".join(split.describe() for split in found),
            hint="constrain the build requirement to a version with wheels for every target "
            "(or lock the targets in separate locks)",
        )
    packages = merge(each).packages
    for pkg in packages:
        for target in targets:
            tags = set(target.tags)
            if not any(_wheel_tags(f) & tags for f in pkg.files if f.kind == "wheel"):
                raise PolicyError(
                    f"{what} needs {pkg.name} {pkg.version} to build, which has no wheel for "
                    f"{target.name}, and a lock holds one build environment for every target",
                    hint=f"use a version of {pkg.name} with a wheel for every target, or lock "
                    "the targets in separate locks",
                )
    return packages


def _to_build(
    pkg: ResolvedPackage, targets: Sequence[Target], context: BuildContext
) -> tuple[DistFile | None, list[Target]]:
    """The sdist of ``pkg`` when the policy lets it build, and the targets it applies to that
    have no fitting wheel of it (None, []: none builds it)."""
    sdist = next((f for f in pkg.files if f.kind == "sdist"), None)
    if sdist is None or not context.policy.allows_sdist(pkg.name):
        return None, []
    needing = []
    for target in targets:
        if pkg.marker and not Marker(pkg.marker).evaluate(target.env()):
            continue
        tags = set(target.tags)
        if not any(_wheel_tags(f) & tags for f in pkg.files if f.kind == "wheel"):
            needing.append(target)
    return (sdist, needing) if needing else (None, [])


def _wheel_tags(file: DistFile) -> set[object]:
    if file.tags:
        return set(file.tags)
    try:
        return set(parse_wheel_filename(file.filename)[3])
    except InvalidWheelFilename:
        return set()
