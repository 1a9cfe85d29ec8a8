"""`safeinstall download`: a verified wheelhouse for offline and Docker builds.

Every file the lock needs on the target interpreter (the wheels of the build set of each sdist
among them too) is fetched into the store and verified, then
copied into the directory, hashed again on the way (temp file + rename): a file in the wheelhouse
is always one whose sha256 the lock pins. ``install --offline --find-links DIR`` then matches them
by sha256 with no network at all. The upload time of each file, as the lock or the index gave it
when the policy's min-release-age was applied here, is recorded beside them (``UPLOAD_TIMES``), so
that an offline install applies min-release-age again.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

from safeinstall.environment.probe import probe
from safeinstall.errors import IntegrityError, TargetEnvironmentError
from safeinstall.files.atomic import write_new
from safeinstall.index.fetch import Artifact, Progress, Store, fetch_all
from safeinstall.index.reconcile import reconcile_wheels
from safeinstall.inspect.scan import refuse_blocked
from safeinstall.install.pipeline import applicable
from safeinstall.install.plan import (
    UPLOAD_TIMES,
    Candidate,
    open_network,
    recorded_upload_times,
    select_files,
)
from safeinstall.install.wheelcheck import check_wheels
from safeinstall.lock.model import Lock
from safeinstall.policy.model import Policy

_CHUNK = 1024 * 1024


def download_lock(
    lock: Lock,
    policy: Policy,
    python: str,
    dest: Path,
    *,
    cache: Path,
    progress: Progress | None = None,
) -> list[Artifact]:
    """Fetch every file ``lock`` needs on ``python`` and copy it, verified, into ``dest``."""
    env = probe(python)
    packages = applicable(lock, env)
    store = Store(cache)
    with open_network(policy, cache) as net:
        chosen = select_files(packages, policy, env, store, net)
        sdists = {c.artifact.sha256 for c in chosen if not c.artifact.is_wheel}
        builders = [p for b in lock.builds if b.sdist in sdists for p in b.packages]
        if builders:  # what `install --offline` builds those sdists with (build/wheel.py)
            chosen += select_files(builders, policy, env, store, net)
            chosen = list({c.artifact.sha256: c for c in chosen}.values())
        artifacts = [c.artifact for c in chosen]
        files = fetch_all(artifacts, store, net.http, progress=progress)
    check_wheels([(a, files[a.sha256]) for a in artifacts])  # before a file is copied
    reconcile_wheels(artifacts, files, packages, env.target.env())
    verified = [(a, files[a.sha256]) for a in artifacts]
    refuse_blocked(verified, policy, cache=cache, action="download")  # inspect/scan.py
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TargetEnvironmentError(f"cannot create {dest}: {exc.strerror or exc}") from None
    for artifact in artifacts:
        copy_verified(files[artifact.sha256], dest / artifact.filename, artifact.sha256)
    record_upload_times(dest, chosen)
    return artifacts


def record_upload_times(dest: Path, chosen: Sequence[Candidate]) -> None:
    """Add the upload time of each file to the wheelhouse's record (``UPLOAD_TIMES``), which
    ``install --find-links`` reads to apply min-release-age offline: a file whose time was not
    known (no min-release-age then) is not recorded."""
    times = recorded_upload_times([dest])
    for cand in chosen:
        if cand.upload_time is not None:
            times[cand.artifact.sha256] = cand.upload_time
    text = json.dumps({k: v.isoformat() for k, v in sorted(times.items())}, indent=1) + "\n"
    try:
        write_new(dest / UPLOAD_TIMES, text.encode())
    except OSError as exc:
        raise TargetEnvironmentError(
            f"cannot write {dest / UPLOAD_TIMES}: {exc.strerror or exc}",
            hint="check that you may write to the wheelhouse directory",
        ) from None


def copy_verified(source: Path, dest: Path, sha256: str) -> None:
    """Copy ``source`` to ``dest`` atomically, only if the bytes copied hash to ``sha256``."""
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    digest = hashlib.sha256()
    try:
        with open(source, "rb") as src, open(tmp, "xb") as out:
            while chunk := src.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != sha256:
            raise IntegrityError(
                f"{source} changed in the cache: it no longer matches sha256:{sha256}",
                hint="run the command again (the damaged cache entry is replaced)",
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
