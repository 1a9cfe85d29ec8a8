"""A whole wheel against the core metadata a lock was resolved from.

Core metadata comes from a PEP 658 metadata file or from ranged reads of the wheel; neither is
covered by the wheel's sha256, so a proxy or mirror can add a dependency there (or hide one) and
leave the wheel's hash intact. Whenever the whole wheel is at hand and verified, its METADATA is
compared with what was resolved from:

- the metadata this machine cached under the wheel's sha256, byte for byte (``fetch_all`` does
  this for every wheel it delivers: installs, ``download``, build environments while locking;
  and while locking, the metadata reader compares what the index serves with a wheel the
  artifact store already holds);
- the lock itself, for a lock made elsewhere (the cache is empty there): every dependency the
  lock records for the package must be named by a ``Requires-Dist`` of the wheel, and every
  ``Requires-Dist`` that applies to the environment (no extra) must name a package the lock
  installs there, at a version its specifier admits.

Any mismatch is an IntegrityError naming both sources, raised before anything is installed. A
wheel built from a locked sdist is held to the same lock (``lock_problems``, ``build/wheel.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.metadata import Metadata
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name

from safeinstall.digests import is_sha256
from safeinstall.errors import IntegrityError
from safeinstall.index.coremeta import (
    METADATA_HINT,
    compare_with_cache,
    inside_wheel,
    parse_metadata,
    same_as_wheel,
)
from safeinstall.index.distfile import DistFile
from safeinstall.index.fetch import Artifact, Store

if TYPE_CHECKING:
    from safeinstall.lock.model import LockedPackage


def reconcile_wheels(
    artifacts: Sequence[Artifact],
    paths: Mapping[str, Path],
    packages: Sequence[LockedPackage],
    environment: Mapping[str, str],
) -> None:
    """The install pipeline's check: each wheel of ``artifacts`` (sha256 -> verified local path
    in ``paths``, as ``fetch_all`` returned them, the cached metadata already compared there)
    against the lock; ``packages``: the locked packages that apply to ``environment``."""
    locked = {p.name: p for p in packages}
    for artifact in artifacts:
        package = locked.get(artifact.name)
        if artifact.is_wheel and package is not None and package.version == artifact.version:
            reconcile_wheel(
                paths[artifact.sha256],
                artifact.filename,
                artifact.sha256,
                cache=None,
                package=package,
                locked=locked,
                environment=environment,
            )


def reconcile_wheel(
    wheel: Path,
    filename: str,
    sha256: str,
    *,
    cache: Path | None,
    package: LockedPackage | None = None,
    locked: Mapping[NormalizedName, LockedPackage] | None = None,
    environment: Mapping[str, str] | None = None,
) -> None:
    """The METADATA of the verified ``wheel`` against the metadata cached for ``sha256`` and,
    with ``package``, against the lock (``locked``: the packages it installs in ``environment``)."""
    if cache is not None:
        compare_with_cache(cache, wheel, filename, sha256)
    if package is not None and environment is not None:
        file, inside = inside_wheel(wheel, filename)
        meta = parse_metadata(file, inside)
        _against_lock(meta, filename, package, locked or {}, environment)


def check_against_store(cache: Path, file: DistFile, served: bytes) -> None:
    """While locking: when the artifact store under ``cache`` already holds the (re-verified)
    wheel, the metadata ``served`` for it must equal its METADATA."""
    digest = file.sha256
    if digest is None or not is_sha256(digest):
        return  # not a name the store could hold (and never a path)
    if not (cache / "artifacts" / "sha256" / digest).is_file():
        return  # nothing stored: no store is created for this check
    path = Store(cache).get(digest)
    if path is not None:
        same_as_wheel(file, served, path)


def _against_lock(
    meta: Metadata,
    filename: str,
    package: LockedPackage,
    locked: Mapping[NormalizedName, LockedPackage],
    environment: Mapping[str, str],
) -> None:
    problems = lock_problems(meta, package, locked, environment)
    if problems:
        raise IntegrityError(
            f"the METADATA inside the wheel file {filename} differs from the metadata "
            f"{package.name} {package.version} was locked with: {'; '.join(problems)}",
            hint=METADATA_HINT,
        )


def lock_problems(
    meta: Metadata,
    package: LockedPackage,
    locked: Mapping[NormalizedName, LockedPackage],
    environment: Mapping[str, str],
) -> list[str]:
    """How the Requires-Dist of ``meta`` (a wheel of ``package``) differs from the lock: a
    dependency the lock records that it does not name, or one that applies to ``environment``
    (no extra) and names no package ``locked`` installs there at a version it admits."""
    requires = list(meta.requires_dist or ())
    named = {canonicalize_name(r.name) for r in requires}
    # the edges the lock records: pylock's dependencies, and every package's "via" its parents
    edges = {canonicalize_name(d) for d in package.dependencies if d}
    edges |= {p.name for p in locked.values() if package.name in p.via}
    problems = [
        f"the lock records {name} as its dependency, which its METADATA does not name"
        for name in sorted(edges - named - {package.name})
    ]
    for req in requires:
        name = canonicalize_name(req.name)
        if name == package.name or not _applies(req, environment):
            continue
        have = locked.get(name)
        if have is None:
            problems.append(f"it requires {req}, which the lock does not install here")
        elif not req.specifier.contains(have.version, prereleases=True):
            problems.append(f"it requires {req}, but the lock pins {name} {have.version}")
    return problems


def _applies(req: Requirement, environment: Mapping[str, str]) -> bool:
    return req.marker is None or req.marker.evaluate({**environment, "extra": ""})
