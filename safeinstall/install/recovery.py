"""When pip fails part-way: what it changed, undone where possible, said as the disk shows it.

pip keeps each package it finished and leaves the failing one half-written. The installed set is
compared with the one before: what pip added is uninstalled again (only with the default scheme,
the one ``pip uninstall`` acts on), and the versions it replaced or removed are reinstalled from
wheels in the store. Then the directories pip writes into are compared with their listing from
before pip ran (``footprint``): files it wrote that belong to no distribution (before its
``.dist-info`` existed) are removed too, and every path still added, changed or deleted is named.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from packaging.utils import NormalizedName

from safeinstall.environment.pip import PipOptions, pip_install, pip_uninstall
from safeinstall.environment.probe import Environment, Installed, SchemeDirs, probe
from safeinstall.errors import SafeinstallError, TargetEnvironmentError
from safeinstall.index.fetch import Store
from safeinstall.install.footprint import Changes, Footprint, undo_added
from safeinstall.install.plan import Candidate, choose, local_files
from safeinstall.install.removal import entry_path, installed_dists
from safeinstall.install.verifywheel import record_rows
from safeinstall.lock.model import LockedPackage
from safeinstall.policy.model import Policy

_SHOWN = 20
_FIX = "fix what pip reports, then install again"


def after_failure(
    exc: TargetEnvironmentError,
    env: Environment,
    *,
    pip: PipOptions,
    store: Store,
    dirs: SchemeDirs,
    files: Footprint,
) -> TargetEnvironmentError:
    """What pip changed before it failed (``env``: the environment before, ``files``: the listing
    of ``dirs.written`` before), undone where possible, said as the disk shows it afterwards."""
    python = env.python
    before = env.installed
    now = probe(python, pip.scheme, pip.where).installed
    added = [n for n in now if n not in before]
    changed = [n for n in now if n in before and now[n].version != before[n].version]
    gone = [n for n in before if n not in now]
    if added and pip.scheme == "default":
        with contextlib.suppress(TargetEnvironmentError):
            pip_uninstall(python, added)
    no_wheel = _restore([before[n] for n in changed + gone], env, pip, store)
    after = probe(python, pip.scheme, pip.where).installed if added or changed or gone else now
    disk = undo_added(files, _owned(python, dirs))
    back = [n for n in changed + gone if n in after and after[n].version == before[n].version]
    if not (added or changed or gone or disk) and disk.complete:
        return TargetEnvironmentError(
            f"{exc.message}; the environment is unchanged", hint=exc.hint, detail=exc.detail
        )
    lost = [n for n in changed + gone if n not in back]
    undone, left = [n for n in added if n not in after], [n for n in added if n in after]
    replaced = [f"{n} {before[n].version} with {now[n].version}" for n in changed]
    parts = [f"pip added {_names(now, added)}"] if added else []
    parts += [f"replaced {', '.join(replaced)}"] if changed else []
    parts += [f"removed {_names(before, gone)}"] if gone else []
    parts += [f"uninstalled {_names(now, undone)} again"] if undone else []
    parts += [f"left {_names(now, left)} installed"] if left else []
    parts += _file_parts(disk, dirs)
    parts += [f"restored {_names(before, back)}"] if back else []
    if lost:
        why = " (no wheel in the cache)" if set(lost) <= set(no_wheel) else ""
        parts.append(f"could not restore {_names(before, lost)}{why}")
    # what to undo by hand first, then what to do about pip's reason
    todo = ["reinstall what could not be restored"] if lost else []
    todo += ["uninstall what was left installed"] if left else []
    todo += ["delete the files pip left"] if disk.added else []
    cause = exc.hint or _FIX
    return TargetEnvironmentError(
        f"{exc.message}; {'; '.join(parts)}", hint="; ".join([*todo, cause]), detail=exc.detail
    )


def _file_parts(disk: Changes, dirs: SchemeDirs) -> list[str]:
    """The files pip left, changed or deleted, outside the installed distributions."""
    if not disk.complete:
        return [f"the files under {_shown(dirs.written, dirs)} were too many to compare"]
    changed = [p for p in disk.changed if "__pycache__" not in p.parts]
    gone = disk.gone
    parts = [f"deleted the files pip wrote: {_shown(disk.removed_added, dirs)}"]
    parts = parts if disk.removed_added else []
    parts += [f"could not delete {_shown(disk.added, dirs)}"] if disk.added else []
    parts += [f"pip changed {_shown(changed, dirs)}"] if changed else []
    parts += [f"pip deleted {_shown(gone, dirs)}"] if gone else []
    return parts


def _shown(paths: Sequence[Path], dirs: SchemeDirs) -> str:
    """Paths relative to the environment, at most ``_SHOWN`` of them."""
    names = [
        str(p.relative_to(dirs.root)) if p.is_relative_to(dirs.root) else str(p) for p in paths
    ]
    more = len(names) - _SHOWN
    return ", ".join(names[:_SHOWN]) + (f" and {more} more" if more > 0 else "")


def _owned(python: str, dirs: SchemeDirs) -> Callable[[Path], bool]:
    """Whether a path is a file (RECORD) or in the metadata directory of an installed
    distribution: those are reported, and undone, per distribution."""
    dists = installed_dists(python, dirs)
    files = {entry_path(d, e) for d in dists for e, _ in record_rows(d.meta_dir / "RECORD")}
    metas = [d.meta_dir for d in dists]
    return lambda path: path in files or any(path.is_relative_to(m) for m in metas)


def _names(installed: Mapping[NormalizedName, Installed], names: Sequence[NormalizedName]) -> str:
    return ", ".join(f"{n} {installed[n].version}" if n in installed else n for n in names)


def _restore(
    previous: Sequence[Installed], env: Environment, pip: PipOptions, store: Store
) -> list[NormalizedName]:
    """Reinstall ``previous`` versions from wheels in the store; those with no wheel there."""
    if not previous:
        return []
    local = local_files((), store, {i.name for i in previous})
    no_wheel = []
    for old in previous:
        pkg = LockedPackage(old.name, old.version, ()) if old.version is not None else None
        cands = [
            Candidate(a)
            for a in local.values()
            if pkg and a.name == old.name and a.version == old.version
        ]
        try:
            if pkg is None or not cands:
                no_wheel.append(old.name)
                continue
            artifact = choose(pkg, cands, env.target, Policy())
            path = store.get(artifact.sha256)
            if path is None:
                no_wheel.append(old.name)  # the entry was damaged, and is now dropped
                continue
            pip_install(env.python, [(artifact, path)], pip, stage_in=store.root)
        except SafeinstallError:
            continue  # the last probe tells
    return no_wheel
