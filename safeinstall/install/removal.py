"""Before pip removes a distribution (upgrade, reinstall, sync): what its RECORD makes it delete.

``pip uninstall`` deletes every path the installed RECORD lists (and a directory whole, when a
line names one). Whoever wrote that RECORD (another tool, or a package's own code at run time) can
make an honest upgrade delete another package's modules, the venv's ``bin/activate`` or its
interpreter, or files outside the environment. So each entry of each distribution pip will remove
must be one of its own files; refused, before pip runs, with every bad entry named, when it:

- is absolute, or has a ``..`` after a name (installers write only leading ``../``);
- leads or resolves (symlinks followed) outside the environment's root;
- is in the standard library (outside site-packages), or one of the environment's own files
  (``pyvenv.cfg``, ``python*``, ``activate*`` and ``Activate.ps1`` in the scripts directory);
- is listed in another installed distribution's RECORD, or lies in its ``.dist-info``;
- names a directory (an empty entry names site-packages itself).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath

from safeinstall.environment.probe import SchemeDirs
from safeinstall.errors import IntegrityError
from safeinstall.install.verify import Environment, Installed, installed
from safeinstall.install.verifywheel import record_rows

_CORE = re.compile(r"(python[0-9.]*w?|activate.*|Activate\.ps1|deactivate.*)(\.exe)?")


def installed_dists(python: str, dirs: SchemeDirs) -> list[Installed]:
    """The distributions (``.dist-info``/``.egg-info``) in the scheme's site directories."""
    return installed(Environment(python, dirs.root, dirs.site, {}))


def check_removals(python: str, dirs: SchemeDirs, names: Iterable[str], what: str) -> None:
    """Refuse when pip, removing ``names``, would delete files that are not theirs."""
    doomed = set(names)
    if not doomed:
        return
    dists = installed_dists(python, dirs)
    owners: dict[Path, str] = {}
    for dist in dists:
        if dist.name not in doomed:
            for entry, _ in record_rows(dist.meta_dir / "RECORD"):
                owners.setdefault(entry_path(dist, entry), dist.name)
    others = {d.meta_dir: d.name for d in dists if d.name not in doomed}
    problems = [
        f"{dist.name} {dist.version} lists {entry} ({why})"
        for dist in dists
        if dist.name in doomed
        for entry, _ in record_rows(dist.meta_dir / "RECORD")
        if (why := _foreign(dist, entry, dirs, owners, others))
    ]
    if problems:
        raise IntegrityError(
            f"refusing to {what}: pip would delete what an installed RECORD lists, and it lists "
            f"files that are not its own: {'; '.join(problems)}",
            hint="nothing was changed; check who wrote that RECORD, remove the distribution by "
            "hand (its .dist-info and its own files), then run again",
        )


def entry_path(dist: Installed, entry: str) -> Path:
    """The path a RECORD entry names (lexically normalized, links not followed)."""
    return Path(os.path.normpath(os.path.join(dist.site, entry)))


def _foreign(
    dist: Installed,
    entry: str,
    dirs: SchemeDirs,
    owners: Mapping[Path, str],
    others: Mapping[Path, str],
) -> str | None:
    """Why ``entry`` of ``dist`` is not a file of its own; None when it is."""
    if not entry.strip("/."):
        return "an empty path, which pip reads as the whole directory"
    parts = PurePosixPath(entry.replace("\\", "/")).parts
    if os.path.isabs(entry) or "\0" in entry:
        return "an absolute path"
    if ".." in parts[sum(1 for _ in _leading(parts)) :]:
        return "a '..' inside the path"
    path = entry_path(dist, entry)
    if not path.is_relative_to(dirs.root):
        return "outside the environment"
    if path == dirs.root / "pyvenv.cfg" or (
        path.parent == dirs.scripts and _CORE.fullmatch(path.name)
    ):
        return "a file of the environment itself"
    if (owner := owners.get(path)) is not None:
        return f"a file of {owner}"
    if (meta := next((m for m in others if path.is_relative_to(m)), None)) is not None:
        return f"in {others[meta]}'s {meta.name}"
    if not Path(os.path.realpath(path)).is_relative_to(dirs.root):
        return "it resolves outside the environment"
    if _inside(path, dirs.stdlib) and not _inside(path, dirs.site):
        return "part of the standard library"
    if path.is_dir() and not path.is_symlink():
        return "a directory, which pip would delete whole"
    return None


def _leading(parts: Sequence[str]) -> Iterable[str]:
    for part in parts:
        if part != "..":
            return
        yield part


def _inside(path: Path, roots: Iterable[Path]) -> bool:
    return any(path.is_relative_to(r) for r in roots)
