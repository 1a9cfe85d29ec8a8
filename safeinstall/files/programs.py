"""Finding the programs safeinstall starts where no package installed into a target can plant one.

An active virtual environment leads PATH, and any package installed there may ship a script of
any name (console scripts, a wheel's ``.data/scripts``). A ``keyring`` or ``unshare`` found there
would run with the user's rights: it would see index passwords, or quietly undo the build sandbox.

- ``system_program``: a program that comes with the operating system (``unshare``, util-linux) is
  taken from ``SYSTEM_DIRS`` only, never from PATH. ``/usr/local/bin`` is not one of them: it is
  where ``sudo pip install`` puts a package's scripts, and no distribution puts util-linux there.
- ``trusted_program``: a program the user installs (``keyring``) is the first on PATH that lies
  outside every place a package or a checked-out repository can write: a relative or empty
  entry, an entry inside the current directory (unless that is ``/`` or holds the home
  directory: no project is checked out there), inside ``$VIRTUAL_ENV``, or in any virtual
  environment (a directory beside ``pyvenv.cfg``: the target given by --python or found as the
  project's ``.venv`` may lead PATH without ``$VIRTUAL_ENV``). Links are judged by the entry
  they sit in, so pipx's ``~/.local/bin/keyring`` counts as outside.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

SYSTEM_DIRS = ("/usr/bin", "/bin", "/usr/sbin", "/sbin")


@dataclass(frozen=True, slots=True)
class Found:
    """``path``: the program to run, or None; ``skipped``: copies found where packages write."""

    path: str | None
    skipped: tuple[str, ...] = ()


def system_program(name: str, dirs: Iterable[str] = SYSTEM_DIRS) -> str | None:
    """``name`` from the operating system's own directories, never from PATH."""
    for directory in dirs:
        found = shutil.which(name, path=directory)
        if found is not None:
            return found
    return None


def trusted_program(
    name: str, *, environ: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Found:
    """The first ``name`` on PATH outside where packages write (see the module docstring)."""
    env = os.environ if environ is None else environ
    here = (Path.cwd() if cwd is None else cwd).resolve()
    home = Path(env.get("HOME") or os.path.expanduser("~")).resolve()
    # a project is checked out below the home directory, never at / or above the home
    untrusted = [] if here == Path(here.anchor) or home.is_relative_to(here) else [here]
    if env.get("VIRTUAL_ENV"):
        untrusted.append(Path(env["VIRTUAL_ENV"]).resolve())
    skipped: list[str] = []
    for entry in env.get("PATH", os.defpath).split(os.pathsep):
        directory = Path(entry) if os.path.isabs(entry) else here / entry  # "": the cwd
        found = shutil.which(name, path=str(directory))
        if found is None:
            continue
        resolved = directory.resolve()
        if (
            not os.path.isabs(entry)
            or (resolved.parent / "pyvenv.cfg").is_file()
            or any(resolved.is_relative_to(place) for place in untrusted)
        ):
            skipped.append(found)
            continue
        return Found(found, tuple(skipped))
    return Found(None, tuple(skipped))
