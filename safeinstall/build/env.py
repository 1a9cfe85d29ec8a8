"""Build environments: the wheels an sdist's build requires, resolved, verified and unpacked once.

The requirements are resolved by the project's own resolver, against the policy's trusted indexes,
for the running interpreter (the interpreter the build hooks run in); the policy applies as to any
package (allow/deny, min-release-age, prereleases, yanked). Only wheels go into an environment:
when a build requirement has no usable wheel, ``NoWheel`` says the fast path cannot be taken.

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.metadata import Metadata
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from safeinstall.environment.unpack import unpack_wheel
from safeinstall.errors import IntegrityError, PolicyError, ResolutionError, TargetEnvironmentError
from safeinstall.files.cachedir import private_dir
from safeinstall.index.distfile import DistFile, ProjectPage
from safeinstall.index.fetch import Artifact, Store, fetch_all
from safeinstall.policy.model import Policy
from safeinstall.requirements.pep508 import Root
from safeinstall.resolve.resolver import Finder, Resolution, resolve
from safeinstall.targets import current_target

if TYPE_CHECKING:
    from safeinstall.index.http import Http

_KEY_VERSION = b"build-env-1\n"
_CREATING: dict[str, threading.Lock] = {}


class NoWheel(Exception):
    """A build requirement has no usable wheel: the fast path cannot build this sdist."""


@dataclass(frozen=True, slots=True)
class BuildContext:
    """What making a build environment needs: the rules, the indexes' view, a cache."""

    policy: Policy
    finder: Finder
    http: Http | None  # None: offline, the wheels must already be in the store
    cache: Path


@dataclass(frozen=True, slots=True)
class BuildEnv:
    path: Path  # the directory the hooks import from (site.addsitedir)
    pins: dict[NormalizedName, Version]
    requires: tuple[str, ...]  # the requirements it was resolved from


def build_env(requires: Sequence[str], context: BuildContext, *, what: str) -> BuildEnv:
    """The environment holding ``requires`` (for ``what``, e.g. ``foo-1.0.tar.gz``)."""
    source = f"the build requirements of {what}"
    roots = [Root(_requirement(text, what), source) for text in requires]
    for root in roots:
        _check_allowed(root.requirement, context.policy, what)
    resolution = _resolve(roots, context)
    artifacts = [_artifact(pkg.files[0]) for pkg in resolution.packages]
    digests = sorted(a.sha256 for a in artifacts)
    key = hashlib.sha256(_KEY_VERSION + "\n".join(digests).encode()).hexdigest()
    envs = private_dir(context.cache / "build-envs")
    path = envs / key
    with _CREATING.setdefault(key, threading.Lock()):  # two sdists, one setuptools: made once
        if not path.is_dir():
            _create(path, artifacts, context)
    pins = {pkg.name: pkg.version for pkg in resolution.packages}
    return BuildEnv(path, pins, tuple(requires))


def satisfied(requirement: str, env: BuildEnv) -> bool:
    """Whether ``env`` already meets ``requirement`` (one a build hook asked for)."""
    if requirement in env.requires:
        return True
    try:
        req = Requirement(requirement)
    except InvalidRequirement:
        return False
    if req.marker is not None and not req.marker.evaluate():
        return True
    version = env.pins.get(canonicalize_name(req.name))
    if req.extras or version is None:
        return False
    return req.specifier.contains(version, prereleases=True)


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


def _resolve(roots: Sequence[Root], context: BuildContext) -> Resolution:
    """Wheels only; when that fails, the policy's own sdist rules (or all sdists) tell whether a
    wheel is missing (``NoWheel``) or the policy refuses (the resolver's error is raised)."""
    target = current_target()
    wheels = _WheelsOnly(context.finder)
    try:
        return resolve(roots, replace(context.policy, sdists=()), wheels, target)
    except ResolutionError:
        resolution = resolve(roots, replace(context.policy, sdists=("*",)), wheels, target)
    if any(pkg.files[0].kind != "wheel" for pkg in resolution.packages):
        raise NoWheel
    return resolution


class _WheelsOnly:
    """The finder, except that an sdist's metadata is never read (nor built): ``NoWheel``."""

    def __init__(self, finder: Finder) -> None:
        self._finder = finder

    def project(self, name: NormalizedName) -> ProjectPage:
        return self._finder.project(name)

    def metadata(self, file: DistFile) -> Metadata:
        if file.kind != "wheel":
            raise NoWheel
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


def _create(path: Path, artifacts: Sequence[Artifact], context: BuildContext) -> None:
    wheels = fetch_all(artifacts, Store(context.cache), context.http)
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
