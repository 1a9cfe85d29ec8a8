"""The installed environment against the lock, and every installed file against its RECORD hash.

Checks, each a ``Problem`` (any one makes ``verify`` exit 1):

- ``missing``: a locked package whose marker applies to the environment is not installed;
- ``wrong-version``: it is installed at another version;
- ``extra``: an installed distribution is not in the lock (unless ``allow_extra``). The installer
  tooling (pip, setuptools, wheel, safeinstall itself) is never an extra: it is how the lock gets
  installed, and neither is the project whose lock it is (``install -e .``). When the lock pins
  it, the version is checked like any other package;
- ``modified``: a file listed in a RECORD does not match its hash or size (changed after install);
- ``malformed-record``: a RECORD writes hashes in hex (some build backends did), where the wheel
  format wants urlsafe base64 without padding: the wheel it came from is malformed, not the
  install; each such file is checked against its hex hash (and, by ``verifywheel``, against the
  locked wheel's bytes where they are at hand), and a file that does not match is ``modified``;
- ``missing-file``: a file listed in a RECORD is gone;
- ``unhashed``: a RECORD entry without a sha256/384/512 hash, other than RECORD itself, its
  signatures and ``.pyc`` caches (which the interpreter rewrites), cannot be verified;
- ``outside``: a RECORD entry that leads outside the environment prefix (``../../bin/x`` from
  site-packages is fine): never read;
- ``no-record``: a distribution without a RECORD (``.egg-info``, or a deleted RECORD);
- ``pth-exec``: a ``*.pth`` file in site-packages with a line starting with ``import``, which the
  interpreter runs at every start-up, with the package whose RECORD lists it, or none; unless it
  is a start-up file the policy allows (``startup-files``, the rule in ``install/startup.py``:
  setuptools' ``distutils-precedence.pth``, coverage's ``a1_coverage.pth``, editable installs of
  the projects verified, each with its known owner and content, by default).

Every distribution's files are checked, locked or not, the tooling included. Files that no RECORD
lists (other than ``.pth`` files) are not looked for. The target interpreter is only asked for its
paths and marker values by ``environment.probe`` (``-I -S``: no ``.pth`` runs, none of its
packages is imported); everything else is read from disk here.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import os
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from pathlib import Path

from packaging.markers import Marker
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from safeinstall import digests
from safeinstall.environment.probe import probe as probe_environment
from safeinstall.errors import TargetEnvironmentError
from safeinstall.install.startup import (
    MAX_PTH_BYTES,
    StartupOwner,
    advice,
    is_editable,
    known_startup_file,
    startup_code,
)
from safeinstall.lock.model import Lock
from safeinstall.policy.model import STARTUP_BUILTINS, StartupFile

TOOLING = frozenset({"pip", "setuptools", "wheel", "safeinstall"})
_HASHES = ("sha256", "sha384", "sha512")
_UNHASHED_OK = ("RECORD", "RECORD.jws", "RECORD.p7s")
_CHUNK = 1024 * 1024
# what is read of an installed distribution's files: the environment may be hostile
MAX_RECORD_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Environment:
    python: str
    prefix: Path  # real path
    site_dirs: tuple[Path, ...]  # real paths, without duplicates
    markers: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Installed:
    name: NormalizedName
    version: str  # as in METADATA (may not be PEP 440)
    meta_dir: Path  # the .dist-info (or .egg-info) directory
    site: Path  # RECORD paths are relative to this


@dataclass(frozen=True, slots=True)
class Problem:
    kind: str
    message: str
    package: str | None = None
    path: str | None = None

    def to_json(self) -> dict[str, str | None]:
        return {
            "kind": self.kind,
            "package": self.package,
            "path": self.path,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class VerifyReport:
    environment: Environment
    installed: tuple[Installed, ...]
    problems: tuple[Problem, ...]
    files_checked: int


def probe(python: str) -> Environment:
    """The paths and marker values of ``python`` (an interpreter or a venv directory), as
    ``environment.probe`` asks for them (the one way safeinstall starts a target interpreter)."""
    env = probe_environment(python)
    sites = dict.fromkeys(Path(os.path.realpath(s)) for s in env.site_dirs)
    prefix = Path(os.path.realpath(env.prefix))
    return Environment(env.python, prefix, tuple(sites), dict(env.target.environment))


def installed(env: Environment) -> list[Installed]:
    found = []
    for site in env.site_dirs:
        if not site.is_dir():
            continue
        for meta in sorted(site.iterdir()):
            if meta.suffix in (".dist-info", ".egg-info") and meta.is_dir():
                name, version = _name_version(meta)
                found.append(Installed(canonicalize_name(name), version, meta, site))
    return found


def verify(
    lock: Lock,
    env: Environment,
    *,
    allow_extra: bool = False,
    startup: Sequence[str | StartupFile] = STARTUP_BUILTINS,
    projects: Collection[str] = (),
) -> VerifyReport:
    """``startup``: the start-up files allowed (a policy's ``startup_files``); ``projects``: the
    user's own project whose lock this is (installed, it is not an extra, and its editable
    install's start-up file is known)."""
    dists = installed(env)
    own = {canonicalize_name(p) for p in projects}
    problems = _against_lock(lock, dists, env, allow_extra, own)
    owners: dict[Path, Installed] = {}
    checked = 0
    for dist in dists:
        for problem_or_file in _check_record(dist, env.prefix):
            if isinstance(problem_or_file, Problem):
                problems.append(problem_or_file)
            else:
                owners[problem_or_file] = dist
                checked += 1
    problems += _pth_files(env, owners, startup, {pkg.name for pkg in lock.packages} | own)
    return VerifyReport(env, tuple(dists), tuple(problems), checked)


def _against_lock(
    lock: Lock, dists: list[Installed], env: Environment, allow_extra: bool, own: Collection[str]
) -> list[Problem]:
    wanted: dict[str, set[Version]] = {}
    for pkg in lock.packages:
        if pkg.marker is None or Marker(pkg.marker).evaluate(dict(env.markers)):
            wanted.setdefault(pkg.name, set()).add(pkg.version)
    have: dict[str, list[Installed]] = {}
    for dist in dists:
        have.setdefault(dist.name, []).append(dist)
    problems = []
    for name, versions in sorted(wanted.items()):
        pins = " or ".join(sorted(str(v) for v in versions))
        if name not in have:
            problems.append(Problem("missing", f"{name}=={pins} is locked but not installed", name))
            continue
        for dist in have[name]:
            if as_version(dist.version) not in versions:
                problems.append(
                    Problem(
                        "wrong-version",
                        f"{name} {dist.version} is installed, but the lock pins {pins}",
                        name,
                    )
                )
    if not allow_extra:
        for name, extras in sorted(have.items()):
            if name not in wanted and name not in TOOLING and name not in own:
                for dist in extras:
                    problems.append(
                        Problem("extra", f"{name} {dist.version} is installed but not locked", name)
                    )
    return problems


def record_text(record: Path) -> str | None:
    """An installed RECORD's text (None: missing or unreadable); the one reader of it, for
    ``verify`` and for what pip will remove. A RECORD too large for any real distribution is a
    TargetEnvironmentError, never read whole."""
    try:
        with open(record, "rb") as fh:
            data = fh.read(MAX_RECORD_BYTES + 1)
        if len(data) > MAX_RECORD_BYTES:
            raise TargetEnvironmentError(
                f"{record} is larger than {MAX_RECORD_BYTES >> 20} MiB",
                hint="no real distribution has such a RECORD: check who wrote it, then "
                "reinstall that distribution",
            )
        return data.decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _check_record(dist: Installed, prefix: Path) -> Iterator[Problem | Path]:
    """Each problem with ``dist``'s files, and each file that checked out (for .pth owners)."""
    name = dist.name
    text = record_text(dist.meta_dir / "RECORD")
    if text is None:
        yield Problem(
            "no-record", f"{name} has no readable RECORD: its files cannot be verified", name
        )
        return
    hexed = 0
    for row in csv.reader(text.splitlines()):
        if not row or not row[0]:
            continue
        entry, digest, size = [*row, "", ""][:3]
        path = _inside(dist.site, entry, prefix)
        if path is None:
            yield Problem(
                "outside",
                f"{name}'s RECORD lists {entry}, outside the environment; it was not read",
                name,
                entry,
            )
            continue
        algorithm, _, expected = digest.partition("=")
        if algorithm not in _HASHES or not expected:
            if not _unhashed_ok(entry):
                yield Problem(
                    "unhashed",
                    f"{entry} of {name} has no hash in RECORD: unverifiable",
                    name,
                    entry,
                )
            elif path.is_file():
                yield path
            continue
        actual = _file_digest(path, algorithm)
        hexed += is_hex_digest(digest)
        if actual is None:
            yield Problem(
                "missing-file", f"{entry} of {name} is listed in RECORD but missing", name, entry
            )
        elif not _matches(digest, actual) or (size or actual[2]) != actual[2]:
            yield Problem(
                "modified",
                f"{entry} of {name} does not match its RECORD hash: it changed after install",
                name,
                entry,
            )
        else:
            yield path
    if hexed:
        yield Problem(
            "malformed-record",
            f"the RECORD of {name} {dist.version} writes {hexed} hash{'es' * (hexed != 1)} in "
            "hex, not urlsafe base64: the wheel it was installed from has a malformed RECORD "
            "(each file was checked against its hex hash)",
            name,
            record_path(dist),
        )


def record_path(dist: Installed) -> str:
    """Where ``dist``'s RECORD is, as a RECORD would list it."""
    return f"{dist.meta_dir.name}/RECORD"


def is_hex_digest(digest: str) -> bool:
    """Whether a RECORD hash (``sha256=…``) is written in hex, which the wheel format does not
    allow: urlsafe base64 of the same digest is never as long."""
    algorithm, _, value = digest.partition("=")
    return digests.is_hex_digest(algorithm, value.lower())


def _pth_files(
    env: Environment,
    owners: Mapping[Path, Installed],
    startup: Sequence[str | StartupFile],
    verified: Collection[str],
) -> list[Problem]:
    """Each ``.pth`` file that runs code at start-up, unless ``startup`` allows it."""
    problems = []
    for site in env.site_dirs:
        for pth in sorted(site.glob("*.pth")) if site.is_dir() else ():
            try:
                with open(pth, "rb") as fh:  # more than MAX_PTH_BYTES counts as code
                    data = fh.read(MAX_PTH_BYTES + 1)
            except OSError:
                continue
            code = startup_code(data)
            if code is None:
                continue
            dist = owners.get(Path(os.path.realpath(pth)))
            owner = _startup_owner(dist, verified) if dist is not None else None
            if known_startup_file(pth.name, data, owner, startup):
                continue
            name = dist.name if dist else None
            by = f"installed by {name}" if name else "not installed by any package"
            problems.append(
                Problem(
                    "pth-exec",
                    f"{pth.name} runs code at every interpreter start-up ({by}; {code[1]})"
                    + advice(pth.name, data, name),
                    name,
                    str(pth),
                )
            )
    return problems


def _startup_owner(dist: Installed, verified: Collection[str]) -> StartupOwner:
    text = record_text(dist.meta_dir / "RECORD") or ""
    files = frozenset(row[0] for row in csv.reader(text.splitlines()) if row)
    return StartupOwner(dist.name, files, dist.name in verified and is_editable(dist.meta_dir))


def _inside(site: Path, entry: str, prefix: Path) -> Path | None:
    """The file a RECORD entry names, if it (and what it links to) stays inside ``prefix``."""
    lexical = Path(os.path.normpath(os.path.join(site, entry)))
    if not lexical.is_relative_to(prefix):
        return None
    real = Path(os.path.realpath(lexical))
    return real if real.is_relative_to(prefix) else None


def _unhashed_ok(entry: str) -> bool:
    base = entry.replace("\\", "/").rsplit("/", 1)[-1]
    return base in _UNHASHED_OK or base.endswith(".pyc")


def _matches(digest: str, actual: tuple[str, str, str]) -> bool:
    """A RECORD hash against a file's (base64, hex, size): base64 with or without padding,
    or hex (a malformed RECORD, reported on its own)."""
    value = digest.partition("=")[2]
    if is_hex_digest(digest):
        return value.lower() == actual[1]
    return value.rstrip("=") == actual[0]


def _file_digest(path: Path, algorithm: str) -> tuple[str, str, str] | None:
    """(urlsafe base64 digest without padding, hex digest, size); None if absent."""
    digest = hashlib.new(algorithm)
    size = 0
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
    encoded = base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()
    return encoded, digest.hexdigest(), str(size)


def _name_version(meta: Path) -> tuple[str, str]:
    """Name and Version from METADATA (PKG-INFO for .egg-info), else from the directory name."""
    for file in ("METADATA", "PKG-INFO"):
        try:
            with open(meta / file, "rb") as fh:
                headers = BytesHeaderParser().parse(fh)
        except OSError:
            continue
        if headers.get("Name") and headers.get("Version"):
            return str(headers["Name"]), str(headers["Version"])
    name, _, version = meta.stem.partition("-")
    return name, version


def as_version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None
