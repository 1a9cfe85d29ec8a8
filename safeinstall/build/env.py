"""Build environments: the wheels an sdist's build requires, resolved, verified and unpacked once.

The requirements are resolved by the project's own resolver, against the policy's trusted indexes,
for the running interpreter (the interpreter the build hooks run in; a lock's build sets are
resolved for its targets instead, ``resolve_for``, see ``lockset.py``); the policy applies as to any
package (allow/deny, min-release-age, prereleases, yanked, index bindings), through the same
finder. Only wheels go into an environment, each checked against the index's sha256. A build
requirement that publishes only an sdist is refused, even where the policy lets that package
build: building it would run its own build backend, from an environment that needs resolving in
turn (setuptools builds with setuptools), and the wheel it makes has no sha256 an index vouches
for, so the environment would no longer be made of verified files only.

Each environment is one directory, ``<cache>/build-envs/<key>``, the key a sha256 over the sorted
sha256 digests of its wheels. It is unpacked in a temporary directory next to it and renamed into
place, so a concurrent run either wins the rename or uses the winner's; a later build or run with
the same pins reuses it without downloading or unpacking anything.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.metadata import Metadata
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from safeinstall import frozen
from safeinstall.environment.unpack import unpack_wheel
from safeinstall.errors import IntegrityError, PolicyError, ResolutionError, TargetEnvironmentError
from safeinstall.files.cachedir import private_dir
from safeinstall.index.distfile import DistFile, ProjectPage
from safeinstall.index.fetch import Artifact, Store, fetch_all
from safeinstall.policy.model import Policy
from safeinstall.requirements.pep508 import Root
from safeinstall.resolve.merge import resolve_each
from safeinstall.resolve.resolver import Finder, Resolution, ResolvedPackage, resolve
from safeinstall.targets import Target, current_target

if TYPE_CHECKING:
    from safeinstall.net.http import Http

_KEY_VERSION = b"build-env-1\n"
_CREATING: dict[str, threading.Lock] = {}


class _NoWheel(Exception):
    """The resolver reached a build requirement's sdist: only a wheel may be used."""

    def __init__(self, file: DistFile) -> None:
        super().__init__(file.filename)
        self.file = file


@dataclass(frozen=True, slots=True)
class BuildContext:
    """What making a build environment needs: the rules, the indexes' view, a cache."""

    policy: Policy
    finder: Finder
    http: Http | None  # None: offline, the wheels must already be in the store
    cache: Path
    notify: Callable[[str], None] = lambda message: None  # warnings for the terminal


@dataclass(frozen=True, slots=True)
class BuildEnv:
    path: Path  # the directory the hooks import from (site.addsitedir)
    pins: dict[NormalizedName, Version]
    requires: tuple[str, ...]  # the requirements it was resolved from
    packages: tuple[ResolvedPackage, ...] = ()  # what the lock records (``lockset.py``)


def build_env(requires: Sequence[str], context: BuildContext, *, what: str) -> BuildEnv:
    """The environment holding ``requires`` (for ``what``, e.g. ``foo-1.0.tar.gz``)."""
    resolution = _resolve(_roots(requires, context, what), context, what, current_target())
    artifacts = [_artifact(pkg.files[0]) for pkg in resolution.packages]
    path = environment_of(artifacts, context.cache, context.http)
    pins = {pkg.name: pkg.version for pkg in resolution.packages}
    return BuildEnv(path, pins, tuple(requires), resolution.packages)


def resolve_for(
    requires: Sequence[str],
    context: BuildContext,
    targets: Sequence[Target],
    *,
    what: str,
    preferred: Mapping[NormalizedName, Version] | None = None,
) -> list[Resolution]:
    """``requires`` resolved for each of ``targets`` (their markers, Python and wheel tags),
    wheels only, agreeing where they can (``resolve.merge.resolve_each``); nothing is fetched.
    ``preferred``: the versions to try first. An error says what fails on which target."""
    roots = _roots(requires, context, what)
    policy = frozen.replace(context.policy, sdists=())
    try:
        return resolve_each(
            roots, policy, _WheelsOnly(context.finder), targets, preferred=preferred or {}
        )
    except ResolutionError as exc:
        for target in targets:  # the first target that fails on its own, said as build_env does
            _resolve(
                roots, context, what if len(targets) == 1 else f"{what} on {target.name}", target
            )
        raise _refused(exc, what) from None


def env_key(sha256s: Sequence[str]) -> str:
    """The digest of a build environment: over the sorted sha256 of its wheels."""
    return hashlib.sha256(_KEY_VERSION + "\n".join(sorted(sha256s)).encode()).hexdigest()


def environment_of(artifacts: Sequence[Artifact], cache: Path, http: Http | None) -> Path:
    """The cached directory holding ``artifacts`` (wheels), each fetched (``http`` None: from
    the store only) and verified before anything is unpacked; made once per set of wheels."""
    key = env_key([a.sha256 for a in artifacts])
    path = private_dir(cache / "build-envs") / key
    with _CREATING.setdefault(key, threading.Lock()):  # two sdists, one setuptools: made once
        if not path.is_dir():
            _create(path, artifacts, cache, http)
    return path


def satisfied(requirement: str, env: BuildEnv, markers: Mapping[str, str] | None = None) -> bool:
    """Whether ``env`` already meets ``requirement`` (one a build hook asked for); its marker
    is evaluated for ``markers`` (the interpreter the hooks run in; None: the running one)."""
    if requirement in env.requires:
        return True
    try:
        req = Requirement(requirement)
    except InvalidRequirement:
        return False
    if req.marker is not None and not req.marker.evaluate(dict(markers) if markers else None):
        return True
    version = env.pins.get(canonicalize_name(req.name))
    if req.extras or version is None:
        return False
    return req.specifier.contains(version, prereleases=True)


def _roots(requires: Sequence[str], context: BuildContext, what: str) -> list[Root]:
    source = f"the build requirements of {what}"
    roots = [Root(_requirement(text, what), source) for text in requires]
    for root in roots:
        _check_allowed(root.requirement, context.policy, what)
    return roots


def _requirement(text: str, what: str) -> Requirement:
    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        raise TargetEnvironmentError(
            f"{what} declares an invalid build requirement {text!r} ({exc})",
            hint="the sdist cannot be built as published; pin another version of it",
        ) from None
    if req.url:
        raise PolicyError(
            f"{what} needs {req.name} to build from a direct URL, which is never fetched",
            hint="only build requirements from trusted indexes are used; pin another version",
        )
    return req


def _check_allowed(req: Requirement, policy: Policy, what: str) -> None:
    """A build requirement the policy refuses outright is an error, never a reason to fall back
    (versioned rules are applied by the resolver, whose error names them)."""
    name = canonicalize_name(req.name)
    rule = next((r for r in policy.deny if r.matches(name) and not str(r.specifier)), None)
    if rule is not None:
        why = f"which the policy denies ({rule.raw})"
    elif policy.allow is not None and not any(r.matches(name) for r in policy.allow):
        why = "which is not on the policy's allow list"
    else:
        return
    raise PolicyError(
        f"{what} needs {req} to build, {why}",
        hint="allow the build requirement in the policy, or do not allow building this sdist",
    )


def _resolve(roots: Sequence[Root], context: BuildContext, what: str, target: Target) -> Resolution:
    """Wheels only; when that fails, a resolution that may see sdists tells whether a build
    requirement publishes none (refused, named) or the policy refuses (the resolver's error)."""
    wheels = _WheelsOnly(context.finder)
    try:
        return resolve(roots, frozen.replace(context.policy, sdists=()), wheels, target)
    except ResolutionError:
        pass
    try:
        resolution = resolve(roots, frozen.replace(context.policy, sdists=("*",)), wheels, target)
    except _NoWheel as exc:
        raise _only_sdist(exc.file, what) from None
    except ResolutionError as exc:
        raise _refused(exc, what) from None
    sdist = next(
        (pkg.files[0] for pkg in resolution.packages if pkg.files[0].kind != "wheel"), None
    )
    if sdist is not None:
        raise _only_sdist(sdist, what)
    return resolution


def _refused(exc: ResolutionError, what: str) -> ResolutionError:
    """The resolver's explanation (a heading, then a line per cause) as one sentence."""
    causes = [line.strip() for line in exc.message.splitlines()[1:] if line.strip()]
    return ResolutionError(
        f"{what} cannot be built: no version of its build requirements is one the policy allows"
        + (f" ({'; '.join(causes)})" if causes else f" ({exc.message})"),
        hint="allow a version of the build requirement in the policy (or wait out its "
        "min-release-age), or do not allow building this sdist",
    )


def _only_sdist(file: DistFile, what: str) -> PolicyError:
    name = canonicalize_name(file.project)
    return PolicyError(
        f"{what} needs {name} to build, which the trusted indexes serve only as an sdist "
        f"({file.filename}), and build requirements are installed from wheels only",
        hint=f"pin a version of {name} that publishes a wheel, or a version of the package "
        "being built that publishes a wheel itself",
    )


class _WheelsOnly:
    """The finder, except that an sdist's metadata is never read (nor built): ``_NoWheel``."""

    def __init__(self, finder: Finder) -> None:
        self._finder = finder

    def project(self, name: NormalizedName) -> ProjectPage:
        return self._finder.project(name)

    def metadata(self, file: DistFile) -> Metadata:
        if file.kind != "wheel":
            raise _NoWheel(file)
        return self._finder.metadata(file)

    def prefetch(self, files: Sequence[DistFile], then: Callable[[Metadata], None]) -> None:
        self._finder.prefetch([f for f in files if f.kind == "wheel"], then)

    def prefetch_projects(
        self, names: Sequence[NormalizedName], then: Callable[[NormalizedName], None]
    ) -> None:
        self._finder.prefetch_projects(names, then)


def _artifact(file: DistFile) -> Artifact:
    if file.sha256 is None:
        raise IntegrityError(
            f"the index lists no sha256 for {file.filename}, a build requirement",
            hint="safeinstall never fetches unhashed files; use an index that serves hashes",
        )
    return Artifact(
        canonicalize_name(file.project),
        file.version,
        file.filename,
        file.sha256,
        url=file.url,
        size=file.size,
    )


def _create(path: Path, artifacts: Sequence[Artifact], cache: Path, http: Http | None) -> None:
    wheels = fetch_all(artifacts, Store(cache), http)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=path.parent))
    try:
        for artifact in artifacts:
            unpack_wheel(wheels[artifact.sha256], tmp)
        try:
            tmp.rename(path)
        except OSError:
            if not path.is_dir():  # not a concurrent run that won the rename
                raise
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(tmp)
