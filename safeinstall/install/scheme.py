"""Where pip writes for an install scheme: the directories the install step may change.

Asked of the TARGET interpreter with ``-I -S`` (no site, so no ``.pth`` file runs; stdlib only):
its ``sysconfig`` paths for the scheme pip is given (default, ``--target``, ``--prefix``,
``--user``, ``--root``), the environment's root (the venv, or the scheme's directory) and the
standard library, which no package may own. Every path is a real path.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from safeinstall.environment.probe import Scheme
from safeinstall.errors import TargetEnvironmentError

_TIMEOUT = 60.0

_SCRIPT = r"""
import json, os, sys, sysconfig
mode, where = sys.argv[1], sys.argv[2]
base = sysconfig.get_paths()
exe_dir = os.path.dirname(os.path.abspath(sys.executable))
prefix = sys.prefix
for d in (exe_dir, os.path.dirname(exe_dir)):
    if os.path.isfile(os.path.join(d, "pyvenv.cfg")):
        prefix = d
        break
if mode == "target":
    paths = dict(purelib=where, platlib=where, scripts=os.path.join(where, "bin"))
    root = where
elif mode == "prefix":
    paths, root = sysconfig.get_paths(vars={"base": where, "platbase": where}), where
elif mode == "user":
    paths = sysconfig.get_paths(os.name + "_user")
    root = paths["data"]
elif mode == "root":
    paths = {k: os.path.join(where, v.lstrip(os.sep)) for k, v in base.items()}
    root = where
elif prefix != sys.prefix:  # a venv seen without site, as on Python < 3.11
    names = sysconfig.get_scheme_names()
    name = "venv" if "venv" in names else ("nt" if os.name == "nt" else "posix_prefix")
    paths, root = sysconfig.get_paths(name, vars={"base": prefix, "platbase": prefix}), prefix
else:
    paths, root = base, base["data"]  # sys.prefix, or /usr/local where the distro says so
print(json.dumps({
    "root": root,
    "site": [paths["purelib"], paths["platlib"]],
    "scripts": paths["scripts"],
    "stdlib": [base["stdlib"], base["platstdlib"]],
}))
"""


@dataclass(frozen=True, slots=True)
class SchemeDirs:
    root: Path  # the environment: the venv, or the --target/--prefix/--root/user directory
    site: tuple[Path, ...]  # purelib and platlib, without duplicates
    scripts: Path
    stdlib: tuple[Path, ...]

    @property
    def written(self) -> tuple[Path, ...]:
        """The directories pip writes packages and scripts into."""
        return tuple(dict.fromkeys([*self.site, self.scripts]))


def scheme_dirs(python: str, scheme: Scheme = "default", where: str = "") -> SchemeDirs:
    """The directories ``python``'s pip writes into for ``scheme`` (``where``: its DIR)."""
    try:
        proc = subprocess.run(
            [python, "-I", "-S", "-c", _SCRIPT, scheme, where],
            capture_output=True,
            text=True,
            timeout=_TIMEOUT,
            check=False,
            stdin=subprocess.DEVNULL,
            env={k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_"))},
        )
        if proc.returncode != 0:
            raise ValueError((proc.stderr.strip().splitlines() or ["no output"])[-1])
        data = json.loads(proc.stdout)
    except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
        raise TargetEnvironmentError(
            f"cannot ask the target interpreter {python} where it installs: {exc}",
            hint="pass --python with the path of a working Python 3 interpreter",
        ) from None
    return SchemeDirs(
        root=_real(data["root"]),
        site=tuple(dict.fromkeys(_real(p) for p in data["site"])),
        scripts=_real(data["scripts"]),
        stdlib=tuple(dict.fromkeys(_real(p) for p in data["stdlib"])),
    )


def _real(path: str) -> Path:
    return Path(os.path.realpath(path))
