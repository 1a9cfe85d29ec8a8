"""Install time: an allowed sdist becomes a wheel, built only from the lock's build set.

``install`` never hands pip an sdist. For each sdist it chose (``install/plan.py``), the lock's
``BuildSet`` for that sdist's sha256 names the build requirements; their wheels are fetched and
verified like every locked file (the caller's ``fetch``: the index, a wheelhouse or the store,
offline too), unpacked into a build environment (``env.py``) and the PEP 517 hooks build the
wheel in the build sandbox, run by the target interpreter (``-I -S``: nothing of the target's
environment is importable). Nothing is resolved and nothing fetched beyond the lock: a backend
that asks for more is refused (``sdist.build_wheel``), and a lock without a build set for the
sdist is refused before anything runs (relocking pins one).

The built wheel is checked (``install/wheelcheck.py``) and inspected (``inspect/scan.py``) like
a downloaded one, and it must be the package the lock records, for the target: its file name and
METADATA name the locked release, its file name's tags fit the target and its WHEEL says the same
tags, and each Requires-Dist that applies to the target (no extra: the lock records none) names a
package the lock installs there at a version it admits, while each dependency the lock records
for it is still named (``index/reconcile.lock_problems``, as for a downloaded wheel). pip installs
with ``--no-deps``: a build that declared something new would leave it unmet. Then pip installs
it as a wheel. It is cached under
``<cache>/built-wheels/<sdist sha256>-<build set digest>/``, with a record of its sha256: a
cached wheel that no longer matches its record is built again, and a second build of the same
sdist with the same build set that gives other bytes is reported (not reproducible), not fatal.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from email.parser import BytesHeaderParser
from pathlib import Path

from packaging.tags import parse_tag
from packaging.utils import NormalizedName, parse_wheel_filename

from safeinstall.build.env import BuildEnv, env_key, environment_of
from safeinstall.build.sdist import build_wheel
from safeinstall.errors import IndexServerError, IntegrityError, PolicyError
from safeinstall.files.atomic import write_new
from safeinstall.files.cachedir import private_dir, read_entry
from safeinstall.index.coremeta import check_identity, inside_wheel, parse_metadata
from safeinstall.index.fetch import Artifact, check_filename, file_sha256
from safeinstall.index.reconcile import lock_problems
from safeinstall.inspect.scan import refuse_blocked
from safeinstall.install.wheelcheck import check_wheel
from safeinstall.lock.model import BuildSet, LockedPackage
from safeinstall.policy.model import Policy
from safeinstall.targets import Target
from safeinstall.ui import live_status

Fetch = Callable[[Sequence[LockedPackage]], list[tuple[Artifact, Path]]]
_RECORD = "built.json"


def built_wheels(
    files: Sequence[tuple[Artifact, Path]],
    builds: Sequence[BuildSet],
    fetch: Fetch,
    policy: Policy,
    *,
    python: str,
    target: Target,
    packages: Sequence[LockedPackage],
    cache: Path,
    warn: Callable[[str], None] | None,
) -> list[tuple[Artifact, Path]]:
    """``files`` (verified, inspected) with each sdist replaced by the wheel it builds, checked
    and inspected in turn; ``fetch``: the verified files of locked packages, ``python``: the
    target interpreter, ``target``: what it is, ``packages``: what the lock installs there,
    ``warn``: what the build has to say (None: nothing)."""
    sdists = [(a, p) for a, p in files if not a.is_wheel]
    if not sdists:
        return list(files)
    found = {b.sdist: b for b in builds}
    for artifact, _ in sdists:
        if artifact.sha256 not in found:
            raise PolicyError(
                f"the lock pins no build environment for {artifact.filename}, and `install` "
                "builds an sdist only from one",
                hint="relock (`safeinstall lock`): it pins what each allowed sdist builds with, "
                "under the policy",
            )
    locked = {p.name: p for p in packages}
    how = _How(fetch, policy, python, target, locked, cache, warn or (lambda message: None))
    built = {a.sha256: _wheel_of(a, p, found[a.sha256], how) for a, p in sdists}
    refuse_blocked(list(built.values()), policy, cache=cache, action="install")
    return [built.get(a.sha256, (a, p)) for a, p in files]


@dataclass(frozen=True, slots=True)
class _How:
    fetch: Fetch
    policy: Policy
    python: str
    target: Target
    locked: dict[NormalizedName, LockedPackage]  # what the lock installs on the target
    cache: Path
    warn: Callable[[str], None]


def _wheel_of(sdist: Artifact, path: Path, build: BuildSet, how: _How) -> tuple[Artifact, Path]:
    cache, warn = how.cache, how.warn
    requirements = how.fetch(build.packages) if build.packages else []
    for artifact, _ in requirements:
        if not artifact.is_wheel:
            raise PolicyError(
                f"{sdist.filename} would build with {artifact.filename}, but build requirements "
                "are installed from wheels only",
                hint="relock (`safeinstall lock`): it pins the wheels of each build requirement",
            )
    key = env_key([a.sha256 for a, _ in requirements])
    place = private_dir(private_dir(cache / "built-wheels") / f"{sdist.sha256}-{key}")
    record = _record(place)
    cached = place / record.get("filename", "") if record.get("filename") else None
    if (
        cached is not None
        and not cached.is_symlink()
        and cached.is_file()
        and file_sha256(cached) == record.get("sha256")
    ):
        _check_built(sdist, cached, how)  # against this lock, which may not be the last one
        return _artifact(sdist, cached, record["sha256"]), cached
    live_status().phase(f"build: {sdist.filename}, from the lock's build set")
    located = [replace(a, path=p) for a, p in requirements]
    env = BuildEnv(
        environment_of(located, cache, None),
        {a.name: a.version for a, _ in requirements},
        (),
    )
    with tempfile.TemporaryDirectory(prefix="safeinstall-wheel-") as out:
        wheel = build_wheel(
            path,
            sdist.filename,
            env,
            Path(out),
            python=how.python,
            markers=how.target.env(),
            sandbox=how.policy.build_sandbox,
            warn=warn,
        )
        _check_built(sdist, wheel, how)  # before it is kept
        sha256 = file_sha256(wheel)
        if record.get("sha256") and record["sha256"] != sha256:
            warn(
                f"building {sdist.filename} again with the same build set gave other bytes "
                f"(sha256 {sha256}, {record['sha256']} before): its build is not reproducible"
            )
        dest = place / wheel.name
        write_new(dest, wheel.read_bytes())
    data = {"filename": dest.name, "sha256": sha256, "sdist": sdist.sha256, "build-set": key}
    write_new(place / _RECORD, json.dumps(data, indent=1).encode())
    return _artifact(sdist, dest, sha256), dest


def _check_built(sdist: Artifact, wheel: Path, how: _How) -> None:
    """Refuse ``wheel`` (built from ``sdist``) unless it is a well-formed wheel of the package
    the lock records, for the target (see the module doc)."""
    if not check_filename(wheel.name, sdist.name, sdist.version):
        raise _not_locked(sdist, wheel, ["its file name names another project or version"])
    check_wheel(wheel, wheel.name)  # the whole wheel format, as for a downloaded one
    package = how.locked.get(sdist.name)
    if package is None or package.version != sdist.version:
        raise PolicyError(  # the plan chose this sdist from the lock: never the case
            f"the lock installs no {sdist.name} {sdist.version} on {how.target.name}, so "
            f"{sdist.filename} is not built",
            hint="relock (`safeinstall lock`)",
        )
    try:
        file, inside = inside_wheel(wheel, wheel.name)
        meta = parse_metadata(file, inside)
    except (IndexServerError, IntegrityError) as exc:
        raise _not_locked(sdist, wheel, [exc.message]) from None
    problems = []
    try:
        check_identity(file, meta)
    except IntegrityError:
        problems.append(
            f"its METADATA names {meta.name} {meta.version}, not {file.project} {file.version}"
        )
    problems += _tag_problems(wheel, how.target)
    problems += lock_problems(meta, package, how.locked, how.target.env())
    if problems:
        raise _not_locked(sdist, wheel, problems)


def _tag_problems(wheel: Path, target: Target) -> list[str]:
    """The file name's tags must fit ``target``, and its WHEEL must name the same tags."""
    tags = parse_wheel_filename(wheel.name)[3]
    named = "-".join(wheel.name.removesuffix(".whl").split("-")[-3:])
    problems = []
    if not tags & set(target.tags):
        problems.append(f"its tags ({named}) do not fit the target ({target.name})")
    with zipfile.ZipFile(wheel) as zf:  # well formed (check_wheel): one .dist-info, a WHEEL
        found = [n for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/WHEEL")]
        text = zf.read(found[0]) if len(found) == 1 else b""
    lines = BytesHeaderParser().parsebytes(text).get_all("Tag") or []
    try:
        declared = {t for line in lines for t in parse_tag(line.strip())}
    except ValueError:
        declared = set()
    if declared != set(tags):
        said = ", ".join(line.strip() for line in lines) or "no tag"
        problems.append(f"its WHEEL file says {said}, its file name {named}")
    return problems


def _not_locked(sdist: Artifact, wheel: Path, problems: Sequence[str]) -> IntegrityError:
    return IntegrityError(
        f"building {sdist.filename} made {wheel.name}, which is not the package the lock records "
        f"({sdist.name} {sdist.version}): {'; '.join(problems)}",
        hint="nothing was installed; its build code makes something other than what was "
        "locked: do not use this sdist, pin a version of it that publishes a wheel",
    )


def _artifact(sdist: Artifact, wheel: Path, sha256: str) -> Artifact:
    return Artifact(sdist.name, sdist.version, wheel.name, sha256, path=wheel)


def _record(place: Path) -> dict[str, str]:
    """What the last build in ``place`` made ({} when none is recorded, or unreadable)."""
    data = read_entry(place / _RECORD)
    try:
        record = json.loads(data) if data is not None else {}
    except ValueError:
        return {}
    if not isinstance(record, dict):
        return {}
    name = record.get("filename")
    if not isinstance(name, str) or Path(name).name != name or not name.endswith(".whl"):
        record.pop("filename", None)
    return {k: v for k, v in record.items() if isinstance(v, str)}
