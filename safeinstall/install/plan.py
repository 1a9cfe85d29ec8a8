"""Which file of each locked package to install, and where its bytes come from.

- a pylock.toml names every file with its URL: each URL must be on a host the policy trusts, and
  the package's ``index`` must be a trusted index; online, its page is read as for a
  requirements.txt lock, so that a file yanked (or a project quarantined) since locking is
  refused the same way;
- a requirements.txt lock has only hashes: the package's page is read from the one index the policy
  binds it to (``IndexClient.project``), and every locked hash must be a file listed there for the
  pinned version (a hash the index no longer lists means the file was replaced or removed); the
  project's PEP 792 status is judged by the policy's ``project-status``;
- offline (``--offline``), files come from ``--find-links`` directories and the artifact store and
  are matched by sha256 alone; nothing touches the network.

Of the files whose hash is locked, the wheel whose tags the target prefers most is chosen; an sdist
only when no wheel fits and the policy allows building that package. Yanked files are refused
unless the policy gives a reason to allow that version. min-release-age holds unless the package
or its index is exempt, or the lock records it was let in with ``lock --allow-fresh``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from packaging.tags import Tag
from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from safeinstall import urls
from safeinstall.environment.probe import Environment
from safeinstall.errors import IntegrityError, PolicyError, SafeinstallError
from safeinstall.index.client import IndexClient
from safeinstall.index.distfile import DistFile, ProjectPage
from safeinstall.index.fetch import (
    WORKERS,
    Artifact,
    Store,
    check_filename,
    file_sha256,
    parse_filename,
)
from safeinstall.lock.model import LockedPackage
from safeinstall.net.http import Http
from safeinstall.net.settings import current_settings
from safeinstall.policy.hosts import HostPolicy
from safeinstall.policy.model import Policy
from safeinstall.policy.pipconfig import index_credentials, trusted_indexes
from safeinstall.resolve.candidates import old_enough, release_cutoff, status_text
from safeinstall.targets import Target, tag_ranks
from safeinstall.ui import live_status

RELOCK = "regenerate the lock with `safeinstall lock`"
# in a wheelhouse made by `safeinstall download`: sha256 -> upload time of each file in it
UPLOAD_TIMES = "safeinstall-upload-times.json"


@dataclass(frozen=True, slots=True)
class Candidate:
    artifact: Artifact
    yanked: str | None = None  # None: not yanked; "" yanked without a reason
    upload_time: datetime | None = None  # None: unknown
    index: str | None = None  # the policy index that lists it, when known
    warning: str | None = None  # what to tell when it is chosen (its project's status)


def choose(
    pkg: LockedPackage,
    candidates: Sequence[Candidate],
    target: Target,
    policy: Policy,
    *,
    now: datetime | None = None,
) -> Artifact:
    """The best file of ``pkg`` for ``target`` among ``candidates`` (all hash-matched already)."""
    return choose_candidate(pkg, candidates, target, policy, now=now).artifact


def choose_candidate(
    pkg: LockedPackage,
    candidates: Sequence[Candidate],
    target: Target,
    policy: Policy,
    *,
    now: datetime | None = None,
) -> Candidate:
    """``choose``, with what is known of the chosen file (its upload time)."""
    for cand in candidates:
        art = cand.artifact
        if not check_filename(art.filename, pkg.name, pkg.version):
            raise IntegrityError(
                f"{pkg.name}=={pkg.version}: the locked hash sha256:{art.sha256} belongs to "
                f"{art.filename!r}, which is not a file of that version",
                hint=RELOCK,
            )
    cutoff = release_cutoff(policy, now or datetime.now(UTC))
    old = [
        c
        for c in candidates
        if old_enough(c.upload_time, cutoff if _cooldown(pkg, c, policy) else None)
    ]
    chosen = _best(pkg, old, target, policy)
    if chosen is None:
        would = _best(pkg, candidates, target, policy)
        if would is not None:  # only files inside the min-release-age window would do
            raise _too_new(pkg, would, policy)
        has_sdist = any(not c.artifact.is_wheel for c in candidates)
        why = " (only an sdist, and the policy does not allow building it)" if has_sdist else ""
        raise PolicyError(
            f"no locked file of {pkg.name}=={pkg.version} fits {target.name}{why}",
            hint="relock including this interpreter's platform (`safeinstall lock`), "
            "or install with the interpreter the lock was made for",
        )
    if chosen.yanked is not None and policy.yanked_reason(pkg.name, pkg.version) is None:
        reason = f": {chosen.yanked}" if chosen.yanked else ""
        raise PolicyError(
            f"{pkg.name}=={pkg.version} is yanked on its index{reason}",
            hint="lock another version, or allow this one with a reason in the policy's `yanked`",
        )
    if chosen.warning is not None:
        _warn(chosen.warning)
    return chosen


def _cooldown(pkg: LockedPackage, cand: Candidate, policy: Policy) -> bool:
    """Whether min-release-age holds for this file of ``pkg``."""
    index = cand.index or pkg.index_name
    return pkg.allow_fresh is None and policy.cooldown_applies(pkg.name, index, pkg.version)


def _warn(text: str) -> None:
    status = live_status()  # choose_candidate runs in the command's thread: it has the UI
    if status.ui is not None:
        with status.writing:
            status.clear()
            status.ui.warn(text)


def _best(
    pkg: LockedPackage, candidates: Sequence[Candidate], target: Target, policy: Policy
) -> Candidate | None:
    """The wheel whose tags ``target`` prefers most, else an sdist the policy lets build."""
    ranks = tag_ranks(target)
    best: tuple[int, Candidate] | None = None
    sdist: Candidate | None = None
    for cand in candidates:
        art = cand.artifact
        if art.is_wheel:
            rank = min((ranks.get(t, len(ranks)) for t in _wheel_tags(art.filename)), default=-1)
            if rank < len(ranks) and (best is None or rank < best[0]):
                best = (rank, cand)
        elif sdist is None:
            sdist = cand
    if best is not None:
        return best[1]
    return sdist if sdist is not None and policy.allows_sdist(pkg.name) else None


def _too_new(pkg: LockedPackage, cand: Candidate, policy: Policy) -> PolicyError:
    """min-release-age refuses the file ``install`` would use: too new, or of unknown age."""
    filename, age = cand.artifact.filename, policy.min_release_age
    if cand.upload_time is None:
        return PolicyError(
            f"cannot apply min-release-age to {pkg.name}=={pkg.version}: nothing says when "
            f"its locked file {filename} was uploaded (neither the lock nor where the file "
            "comes from)",
            hint="install online from the index, from a pylock.toml lock (it records upload "
            "times) or from a wheelhouse made by `safeinstall download` (it records them), "
            "or set min-release-age to 0",
        )
    return PolicyError(
        f"{pkg.name}=={pkg.version}: its locked file {filename} was uploaded "
        f"{cand.upload_time:%Y-%m-%d %H:%M} UTC, newer than the policy's min-release-age of {age}",
        hint="wait until it is old enough, or relock (`safeinstall lock` pins only files "
        "older than min-release-age)",
    )


def _wheel_tags(filename: str) -> Iterable[Tag]:
    try:
        return parse_wheel_filename(filename)[3]
    except InvalidWheelFilename:
        return ()


def from_pylock(
    pkg: LockedPackage,
    policy: Policy,
    allowed: Callable[[str], bool],
    page: ProjectPage | None = None,
) -> list[Candidate]:
    """Candidates from a pylock.toml entry; refuses untrusted indexes and file hosts. With the
    index's ``page`` (online), each also as ``from_page`` judges it: yanked, status, listed."""
    if pkg.index_url is not None:
        trusted = {urls.normalize(spec.url) for spec in trusted_indexes(policy)}
        if urls.normalize(pkg.index_url) not in trusted:
            raise PolicyError(
                f"{pkg.name} is locked from {urls.redact(pkg.index_url)}, "
                "which is not a trusted index",
                hint="relock from a trusted index, or add it to the policy's `indexes`",
            )
    out = []
    for file in pkg.files:
        if not file.url or not allowed(file.url):
            raise PolicyError(
                f"{pkg.name} file {file.filename} is locked at "
                f"{urls.redact(file.url) or 'no URL'}, a location the policy does not trust",
                hint="relock from a trusted index, or add that host to the index's file-hosts",
            )
        art = Artifact(pkg.name, pkg.version, file.filename, file.sha256, file.url, file.size)
        out.append(Candidate(art, upload_time=file.upload_time, index=pkg.index_name))
    if page is None:
        return out
    listed = {c.artifact.sha256: c for c in from_page(pkg, page, policy)}
    return [
        replace(
            c,
            yanked=listed[c.artifact.sha256].yanked,
            upload_time=c.upload_time or listed[c.artifact.sha256].upload_time,
            index=page.index,
            warning=listed[c.artifact.sha256].warning,
        )
        for c in out
    ]


def from_page(
    pkg: LockedPackage, page: ProjectPage, policy: Policy | None = None
) -> list[Candidate]:
    """Candidates from the index's listing: the files whose sha256 the lock pins; with the
    ``policy``, a project whose status it denies is refused (one it warns on says so)."""
    warning = _status(pkg, page, policy) if policy is not None else None
    locked = set(pkg.hashes)
    out = []
    for file in page.files_of(pkg.version):
        if file.sha256 in locked:
            out.append(_listed(pkg, file, page.index, warning))
    missing = locked - {c.artifact.sha256 for c in out}
    if missing:
        raise IntegrityError(
            f"{pkg.name}=={pkg.version}: index {page.index!r} lists no file with the locked "
            f"hash sha256:{min(missing)}",
            hint="the file was removed or replaced on the index; check with its maintainers, "
            f"then {RELOCK}",
        )
    return out


def _listed(pkg: LockedPackage, file: DistFile, index: str, warning: str | None) -> Candidate:
    art = Artifact(pkg.name, pkg.version, file.filename, file.sha256 or "", file.url, file.size)
    return Candidate(art, file.yanked, file.upload_time, index, warning)


def _status(pkg: LockedPackage, page: ProjectPage, policy: Policy) -> str | None:
    """PolicyError when the policy denies the project's status on its index; the warning to
    give when it warns on it; None when the project is active or its status allowed."""
    action = policy.status_action(page.status)
    if action == "deny":
        raise PolicyError(
            f"{pkg.name}=={pkg.version}: {status_text(page)}, which the policy denies",
            hint='replace the package and relock; if it must stay, set its status to "warn" '
            "in the policy's project-status",
        )
    return (
        f"{status_text(page)} (the policy's project-status warns on it)"
        if action == "warn"
        else None
    )


def local_files(
    dirs: Sequence[Path], store: Store | None, wanted: Iterable[str]
) -> Mapping[str, Artifact]:
    """sha256 -> a local file (``--find-links`` dirs first, then the store's named entries).

    Only files named like a ``wanted`` project are hashed; the store's entries are re-verified
    when they are used (``fetch_all``).
    """
    names = set(wanted)
    found: dict[str, Artifact] = {}
    for directory in dirs:
        for path in sorted(directory.iterdir()) if directory.is_dir() else ():
            parsed = parse_filename(path.name)
            if parsed is None or parsed[0] not in names or not path.is_file():
                continue
            sha256 = file_sha256(path)
            found.setdefault(sha256, Artifact(parsed[0], parsed[1], path.name, sha256, path=path))
    if store is not None:
        for sha256, filename in store.named_entries():
            parsed = parse_filename(filename)
            if parsed is not None and parsed[0] in names and sha256 not in found:
                found[sha256] = Artifact(parsed[0], parsed[1], filename, sha256)
    return found


def from_local(
    pkg: LockedPackage, files: Mapping[str, Artifact], times: Mapping[str, datetime] | None = None
) -> list[Candidate]:
    """Candidates from local files; each upload time from the lock (pylock.toml), else from
    ``times`` (what ``safeinstall download`` recorded in its wheelhouse)."""
    locked = {f.sha256: f.upload_time for f in pkg.files}
    out = [
        Candidate(files[h], upload_time=locked.get(h) or (times or {}).get(h))
        for h in pkg.hashes
        if h in files
    ]
    if not out:
        raise IntegrityError(
            f"no local file of {pkg.name}=={pkg.version} matches its locked hashes",
            hint="run `safeinstall download LOCK -d DIR` with network access, "
            "then install with --find-links DIR",
        )
    return out


def with_page_times(
    pkg: LockedPackage, candidates: Sequence[Candidate], page: ProjectPage
) -> list[Candidate]:
    """``candidates`` (files of ``pkg``) with the upload time the index lists for each file
    whose time is not known yet (matched by sha256)."""
    listed = {f.sha256: f.upload_time for f in page.files_of(pkg.version) if f.sha256}
    return [
        c if c.upload_time is not None else replace(c, upload_time=listed.get(c.artifact.sha256))
        for c in candidates
    ]


def recorded_upload_times(dirs: Sequence[Path]) -> dict[str, datetime]:
    """sha256 -> upload time, as ``safeinstall download`` recorded them in each wheelhouse
    (``UPLOAD_TIMES``); an unreadable record, or entry, records nothing."""
    found: dict[str, datetime] = {}
    for directory in dirs:
        try:
            data = json.loads((directory / UPLOAD_TIMES).read_text("utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            continue
        for sha256, text in data.items() if isinstance(data, dict) else ():
            try:
                when = datetime.fromisoformat(text)
            except (TypeError, ValueError):
                continue
            if when.tzinfo is not None:  # the latest wins: a file is never made older
                found[sha256] = max(when, found.get(sha256, when))
    return found


@dataclass(frozen=True, slots=True)
class Network:
    http: Http
    client: IndexClient
    allowed: HostPolicy


@contextlib.contextmanager
def open_network(policy: Policy, cache: Path) -> Iterator[Network]:
    """One pooled Http whose every request and redirect the policy's hosts allow."""
    indexes = trusted_indexes(policy)
    allowed = HostPolicy(indexes)
    credentials = index_credentials(policy)
    settings = current_settings(keyring=policy.keyring)
    with Http(
        allowed=allowed, credentials=credentials, pool_size=WORKERS, settings=settings
    ) as http:
        yield Network(http, IndexClient(indexes, http, cache_dir=cache), allowed)


def select_files(
    packages: Sequence[LockedPackage],
    policy: Policy,
    env: Environment,
    store: Store,
    net: Network | None,
    *,
    find_links: Sequence[Path] = (),
) -> list[Candidate]:
    """The one file to install for each package (see ``plan``), in lock order, each with its
    upload time; the policy's min-release-age refuses a file uploaded inside its window, or
    one whose upload time nothing tells (the lock, the index, a wheelhouse's record)."""
    if net is None or find_links:
        local = local_files(find_links, store, {p.name for p in packages})
        times = recorded_upload_times(find_links)

    def listed(pkg: LockedPackage) -> list[Candidate]:
        if net is None:
            return from_local(pkg, local, times)
        if find_links:
            with contextlib.suppress(SafeinstallError):
                return from_local(pkg, local, times)
        page = net.client.project(pkg.name)  # yanked, status, listed: pylock.toml as well
        if all(f.url for f in pkg.files):
            return from_pylock(pkg, policy, net.allowed, page)
        return from_page(pkg, page, policy)

    def candidates(pkg: LockedPackage) -> list[Candidate]:
        found = listed(pkg)
        if policy.min_release_age and net is not None and any(not c.upload_time for c in found):
            found = with_page_times(pkg, found, net.client.project(pkg.name))
        return found

    with ThreadPoolExecutor(WORKERS, "safeinstall-pages") as pool:
        found = list(pool.map(candidates, packages))
    chosen = [
        choose_candidate(pkg, cands, env.target, policy)
        for pkg, cands in zip(packages, found, strict=True)
    ]
    return list({c.artifact.sha256: c for c in chosen}.values())
