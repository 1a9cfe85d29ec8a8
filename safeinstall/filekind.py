"""The one way to tell what a dependency file is, from its name: an input, a lock or a project.

``check``, the lock reader, ``lock`` and ``install`` all ask here, so that a file is never read
under one format's rules by one command and another's by the next.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from safeinstall.errors import InputError, Location

Kind = Literal["lock", "input", "pyproject", "pylock"]

# PEP 751: "pylock.toml", or "pylock.<name>.toml" where <name> has no dot
_PYLOCK = re.compile(r"\Apylock\.(?:[^./\\]+\.)?toml\Z")
DEFAULT_LOCKS = ("pylock.toml", "requirements.txt")  # an existing pylock.toml wins


def is_pylock(path: Path | str) -> bool:
    """Whether the file is named as a PEP 751 lock (``pylock.toml`` or ``pylock.NAME.toml``)."""
    return bool(_PYLOCK.match(Path(path).name))


def file_kind(path: Path, *, mode: Literal["lock", "input"] | None = None) -> Kind:
    """What a file is, from its name; ``mode`` forces requirement files to be locks or inputs."""
    name = path.name
    if name == "pyproject.toml":
        return "pyproject"
    if is_pylock(name):
        return "pylock"
    if name.lower().endswith(".toml"):
        raise InputError(
            "a TOML file here must be pyproject.toml or a PEP 751 lock",
            location=Location(str(path)),
            hint="name the lock pylock.toml or pylock.NAME.toml",
        )
    if mode is not None:
        return mode
    if name.endswith(".in"):
        return "input"
    if name.endswith(".txt"):
        return "lock"
    raise InputError(
        "cannot tell whether this is a lock or an input file",
        location=Location(str(path)),
        hint="name it *.txt (lock) or *.in (input), or pass --lock or --input",
    )
