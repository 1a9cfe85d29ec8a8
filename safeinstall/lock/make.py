"""Making a lock: inputs -> policy -> resolver (over the trusted indexes) -> Lock -> file.

The command (`commands/lock.py`) and `install PKG` both come through here. The resolution runs
inside ``update_file``'s advisory lock, so two concurrent runs on one lock file serialize and a
failed run leaves the old file byte-identical.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import NormalizedName
from packaging.version import Version

from safeinstall import __version__, urls
from safeinstall.digests import is_sha256
from safeinstall.errors import InputError, IntegrityError, PolicyError
from safeinstall.filekind import is_pylock
from safeinstall.frozen import replace
from safeinstall.lock.inputs import LockInputs, digest_for
from safeinstall.lock.model import (
    BuildSet,
    Lock,
    LockedFile,
    LockedPackage,
    update_file,
    with_allow_fresh,
)
from safeinstall.lock.read import parse_lock
from safeinstall.policy.model import Policy
from safeinstall.policy.pipconfig import trusted_indexes
from safeinstall.requirements.pep508 import Root
from safeinstall.targets import Target

if TYPE_CHECKING:  # `lock --check` (a hook) must not load the resolver
    from safeinstall.resolve.finder import IndexFinder
    from safeinstall.resolve.resolver import Resolution, ResolvedPackage


def locked_package(
    pkg: ResolvedPackage, index_urls: Mapping[str, str], *, wheels_only: bool = False
) -> LockedPackage:
    """``pkg`` as a lock pins it: every file (``wheels_only``: its wheels) with a valid sha256,
    URLs without credentials, its index by name and URL."""
    files = []
    for f in pkg.files:
        if wheels_only and f.kind != "wheel":
            continue
        if f.sha256 is None or not is_sha256(f.sha256):
            raise IntegrityError(
                f"index {f.index!r} lists {f.filename} without a valid sha256 hash",
                hint="use an index that serves sha256 hashes for its files",
            )
        url = urls.strip_credentials(f.url)
        files.append(LockedFile(f.sha256, f.filename, url, f.size, f.upload_time))
    index = pkg.files[0].index
    index_url = index_urls.get(index)
    return LockedPackage(
        name=pkg.name,
        version=pkg.version,
        files=tuple(sorted(files, key=lambda x: x.filename)),
        marker=pkg.marker,
        index_name=index,
        index_url=urls.strip_credentials(index_url) if index_url else None,
        dependencies=pkg.dependencies,
        via=pkg.via,
        yanked=pkg.yanked,
        license=pkg.license,
    )


def from_resolution(
    resolution: Resolution,
    digest: str,
    index_urls: Mapping[str, str],
    environments: Sequence[str] | None = None,
) -> Lock:
    """The lock for ``resolution``; ``index_urls`` maps policy index names to their URLs."""
    packages = [locked_package(pkg, index_urls) for pkg in resolution.packages]
    lowest = min((t.python_version for t in resolution.targets), default=None)
    return Lock(
        packages=tuple(sorted(packages, key=lambda p: (p.name, p.version))),
        digest=digest,
        environments=tuple(environments or (t.marker for t in resolution.targets)),
        requires_python=f">={lowest.major}.{lowest.minor}" if lowest else None,
    )


def resolve_lock(
    roots: Sequence[Root],
    policy: Policy,
    targets: Sequence[Target],
    digest: str,
    *,
    preferred: Mapping[NormalizedName, Version] | None = None,
    upgrade: bool | set[NormalizedName] = False,
    bounds: Sequence[Root] = (),
    notify: Callable[[str], None] = lambda message: None,
    old_builds: Sequence[BuildSet] = (),
) -> Lock:
    """Resolve ``roots`` for ``targets`` over the policy's trusted indexes.

    ``old_builds``: the build sets of the lock being replaced, whose pins the new build sets
    prefer as the resolution prefers ``preferred`` (``upgrade`` applies to both).

    ``bounds`` are extra top-level requirements that only narrow versions (``audit --fix`` adds
    ``name>=fixed``): they are resolved with the roots but not recorded as a package's origin.
    A package the targets still get at different versions (``merge.splits``) is a warning through
    ``notify`` and a note in the lock, or a PolicyError under ``same-versions = true``.
    """
    from safeinstall.inspect import listing
    from safeinstall.resolve.finder import open_finder
    from safeinstall.resolve.merge import merge, resolve_each, splits
    from safeinstall.workers import Helper

    wheels_for = {tag for target in targets for tag in target.tags}
    # started for a large lock (``finder.PagesThere``, ``listing.Ahead``): reads pages and
    # member lists there
    helper = Helper(listing.HELPER_THREADS)
    with (
        closing(helper),
        open_finder(policy, notify=notify, wheels_for=wheels_for, helper=helper) as finder,
    ):
        ahead = listing.Ahead(helper, finder.setup, policy, finder.reader)
        finder.reader.on_read = ahead.read  # starts the helper, hands it the zips read
        each = resolve_each(
            [*roots, *bounds],
            policy,
            finder,
            targets,
            preferred=preferred or {},
            upgrade=upgrade,
            now=None,
            pinned=ahead.pinned,  # their other wheels (other tags) are scanned ahead too
        )
        finder.reader.on_read = None
        # start-up files, clobbering: from the member lists of the resolved wheels
        listing.refuse_listed(
            each, policy, finder.reader, notify=notify, helper=helper, ahead=ahead.close()
        )
        found = splits(each)
        notes = tuple(split.describe() for split in found)
        if found and policy.same_versions:
            raise _not_the_same(notes, [split.name for split in found])
        for note in notes:
            notify(note)
        merged = merge(each)
        builds = _build_sets(
            merged, targets, finder, policy, notify, old=old_builds, upgrade=upgrade
        )
    index_urls = {spec.name: spec.url for spec in trusted_indexes(policy)}
    lock = from_resolution(merged, digest, index_urls, _policy_environments(policy, targets))
    lock = replace(lock, builds=builds)
    lock = with_allow_fresh(replace(lock, notes=notes), policy)  # `lock --allow-fresh`
    return _without_sources(lock, {b.source for b in bounds}) if bounds else lock


def _build_sets(
    merged: Resolution,
    targets: Sequence[Target],
    finder: IndexFinder,
    policy: Policy,
    notify: Callable[[str], None],
    *,
    old: Sequence[BuildSet],
    upgrade: bool | set[NormalizedName],
) -> tuple[BuildSet, ...]:
    """What each sdist ``install`` may build is built with (``build/lockset.py``); ``old``: the
    replaced lock's build sets, whose pins are tried first unless ``upgrade`` names them.
    The build side is loaded only for a lock that may build an sdist."""
    sdists = (p for p in merged.packages if any(f.kind == "sdist" for f in p.files))
    if not any(policy.allows_sdist(p.name) for p in sdists):
        return ()
    from safeinstall.build.env import BuildContext
    from safeinstall.build.lockset import build_sets
    from safeinstall.files.cachedir import cache_root

    cache = finder.cache if finder.cache is not None else cache_root()
    context = BuildContext(policy, finder, finder.http, cache, notify)
    index_urls = {spec.name: spec.url for spec in trusted_indexes(policy)}
    pin = partial(locked_package, index_urls=index_urls, wheels_only=True)
    return build_sets(merged, targets, context, pin, old=old, upgrade=upgrade)


def _not_the_same(notes: Sequence[str], names: Sequence[str]) -> PolicyError:
    message = (
        f"{notes[0]}, and the policy sets same-versions = true"
        if len(notes) == 1
        else "\n  ".join(["the policy sets same-versions = true, but:", *notes])
    )
    quoted = ", ".join(f'"{n}"' for n in names)
    return PolicyError(
        message,
        hint=f"pin {', '.join(names)} to a version every target can install, allow building "
        f"from source (sdists = [{quoted}]), or drop the targets that cannot have the newest "
        "version from the environments",
    )


def _policy_environments(policy: Policy, targets: Sequence[Target]) -> tuple[str, ...] | None:
    """The policy's ``environments`` when they are what was resolved (the lock records them as
    written); None when other targets were (``--python-version``/``--platform``): the lock then
    records those targets' own markers, so it never claims environments it was not made for."""
    from safeinstall.targets import targets_from_markers

    if policy.environments and tuple(targets) == targets_from_markers(
        policy.environments, policy.source
    ):
        return policy.environments
    return None


def _without_sources(lock: Lock, sources: set[str]) -> Lock:
    """``lock`` with ``sources`` dropped from each package's ``via``, unless it is all there is."""
    packages = []
    for pkg in lock.packages:
        via = tuple(v for v in pkg.via if v not in sources)
        packages.append(replace(pkg, via=via) if via else pkg)
    return replace(lock, packages=tuple(packages))


@dataclass(frozen=True, slots=True)
class LockResult:
    lock: Lock
    changed: bool


def write_lock(
    output: Path,
    inputs: LockInputs,
    policy: Policy,
    targets: Sequence[Target],
    *,
    command: str,
    upgrade: bool | set[NormalizedName] = False,
    prefer: Mapping[NormalizedName, Version] | None = None,
    bounds: Sequence[Root] = (),
    notify: Callable[[str], None] = lambda message: None,
    contents: Mapping[Path, bytes] | None = None,
) -> LockResult:
    """Resolve and write ``output`` atomically, preferring the pins it already holds.

    ``prefer`` overrides those pins (the version to try first); ``bounds``: see ``resolve_lock``.
    ``contents``: the edited files ``inputs`` was read with (see ``read_inputs``), not yet written.
    """
    from safeinstall.lock.model import to_requirements_txt

    digest = digest_for(inputs, policy, targets, contents)
    made: list[Lock] = []

    def produce(old: bytes | None) -> bytes:
        preferred: dict[NormalizedName, Version] = {}
        builds: tuple[BuildSet, ...] = ()
        if old is not None and upgrade is not True:
            try:
                existing = parse_lock(old, output.name, str(output))
            except InputError as exc:
                raise InputError(
                    f"cannot read the existing lock to keep its pins: {exc.message}",
                    location=exc.location,
                    hint="fix or delete it, or pass --upgrade to lock from scratch",
                ) from None
            preferred = {p.name: p.version for p in existing.packages}
            builds = existing.builds
        lock = resolve_lock(
            inputs.roots,
            policy,
            targets,
            digest,
            preferred={**preferred, **(prefer or {})},
            upgrade=upgrade,
            bounds=bounds,
            notify=notify,
            old_builds=builds,
        )
        from safeinstall.audit.malware import check_lock as refuse_known_malware

        refuse_known_malware(lock, policy, notify=notify, where=str(output))  # before writing
        made.append(lock)
        if is_pylock(output):
            from safeinstall.lock.pylock import to_pylock_toml  # tomlkit: for this format only

            return to_pylock_toml(lock).encode("utf-8")
        return to_requirements_txt(lock, command, __version__).encode("utf-8")

    changed = update_file(output, produce)
    return LockResult(made[0], changed)
