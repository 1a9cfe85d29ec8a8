"""What an install step did to the files on disk, and taking back what a failed step added.

The installed distributions do not tell everything: pip writes a wheel's files in order, so when
it fails before the ``.dist-info`` is written, what it wrote belongs to no distribution (a
working ``.pth`` file among them). So before pip runs, the directories it writes into
(``SchemeDirs.written``) are listed (path, size, mtime; links not followed; at most
``MAX_ENTRIES``), and after a failure the listing is compared again. Paths that did not exist
before are removed, files first and then the directories that became empty: only inside those
directories, and never through a symlink.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

MAX_ENTRIES = 500_000

Stat = tuple[int, int, bool]  # size, mtime in ns, is a directory


@dataclass(frozen=True, slots=True)
class Footprint:
    roots: tuple[Path, ...]
    entries: Mapping[Path, Stat] = field(default_factory=dict)
    complete: bool = True  # False: a root held more than MAX_ENTRIES paths; nothing is removed


@dataclass(frozen=True, slots=True)
class Changes:
    added: tuple[Path, ...] = ()  # still there after clean-up
    removed_added: tuple[Path, ...] = ()  # added, then removed again here
    changed: tuple[Path, ...] = ()
    gone: tuple[Path, ...] = ()
    complete: bool = True

    def __bool__(self) -> bool:
        return bool(self.added or self.removed_added or self.changed or self.gone)


def take(roots: Iterable[Path]) -> Footprint:
    """A listing of every path under ``roots`` (at most ``MAX_ENTRIES``)."""
    entries: dict[Path, Stat] = {}
    todo = list(dict.fromkeys(roots))
    found = tuple(todo)
    while todo:
        directory = todo.pop()
        with contextlib.suppress(OSError), os.scandir(directory) as it:
            for entry in it:
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                is_dir = stat.S_ISDIR(st.st_mode)
                entries[Path(entry.path)] = (
                    st.st_size if not is_dir else 0,
                    st.st_mtime_ns,
                    is_dir,
                )
                if len(entries) > MAX_ENTRIES:
                    return Footprint(found, {}, complete=False)
                if is_dir:
                    todo.append(Path(entry.path))
    return Footprint(found, entries)


def undo_added(before: Footprint, owned: Callable[[Path], bool]) -> Changes:
    """Compare the disk with ``before``; remove what was added since, except the paths of
    installed distributions (``owned``), which are left and not reported (their distribution is)."""
    now = take(before.roots)
    if not (before.complete and now.complete):
        return Changes(complete=False)
    old, new = before.entries, now.entries
    added = [p for p in new if p not in old and not owned(p)]
    removed: list[Path] = []
    for path in sorted(added, key=lambda p: len(p.parts), reverse=True):  # deepest first
        if _remove(path, new[path][2], before.roots):
            removed.append(path)
    changed = [
        p
        for p in new
        if p in old and not old[p][2] and (new[p][:2] != old[p][:2] or new[p][2]) and not owned(p)
    ]
    gone = [p for p in old if p not in new and not owned(p)]
    return Changes(
        added=tuple(sorted(p for p in added if p not in set(removed))),
        removed_added=tuple(sorted(removed)),
        changed=tuple(sorted(changed)),
        gone=tuple(sorted(gone)),
    )


def _remove(path: Path, is_dir: bool, roots: tuple[Path, ...]) -> bool:
    """Remove ``path`` (a directory only when empty) if it is inside a root with no symlink in
    between; True when it is gone."""
    parent = Path(os.path.realpath(path.parent))
    if parent != path.parent or not any(parent.is_relative_to(r) for r in roots):
        return False
    try:
        path.rmdir() if is_dir else path.unlink()
    except OSError:
        return False
    return True
