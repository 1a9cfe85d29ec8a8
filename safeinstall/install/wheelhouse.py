"""`safeinstall download`: a verified wheelhouse for offline and Docker builds.

Every file the lock needs on the target interpreter is fetched into the store and verified, then
copied into the directory, hashed again on the way (temp file + rename): a file in the wheelhouse
is always one whose sha256 the lock pins. ``install --offline --find-links DIR`` then matches them
by sha256 with no network at all.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from safeinstall.environment.probe import probe
from safeinstall.errors import IntegrityError, TargetEnvironmentError
from safeinstall.index.fetch import Artifact, Progress, Store, fetch_all
from safeinstall.index.reconcile import reconcile_wheels
from safeinstall.install.pipeline import applicable, open_network, select_artifacts
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
        artifacts = select_artifacts(packages, policy, env, store, net)
        files = fetch_all(artifacts, store, net.http, progress=progress)
    check_wheels([(a, files[a.sha256]) for a in artifacts])  # before a file is copied
    reconcile_wheels(artifacts, files, packages, env.target.env())
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TargetEnvironmentError(f"cannot create {dest}: {exc.strerror or exc}") from None
    for artifact in artifacts:
        copy_verified(files[artifact.sha256], dest / artifact.filename, artifact.sha256)
    return artifacts


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
