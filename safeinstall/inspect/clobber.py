"""Rules across the wheels installed together: no wheel may overwrite or shadow another's files.

- ``clobber-path``: two wheels of different projects write the same installed path, case
  aside (pip lets the later one win, silently);
- ``clobber-package``: a wheel writes into an import package another wheel owns (one whose
  ``__init__`` it ships): code that runs when the victim is imported. Namespace packages (no
  ``__init__``) are shared on purpose and pass, and so does a wheel the owner itself requires
  (PyQt5 requires PyQt5-Qt5 and PyQt5-sip, which install into PyQt5/): the owner's own
  choice, not a stranger's. A wheel requiring the owner gains nothing by it;
- ``clobber-script``: a command (console or GUI entry point, or a ``.data/scripts`` file) named
  like the interpreter, pip or a shell, or like a command another wheel installs (a command
  belongs to the project of that name, else to the first wheel installing it). pip's own
  commands are pip's.

Each finding names the wheel that writes, and the one written over.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from packaging.utils import canonicalize_name

from safeinstall.inspect.rules import Finding
from safeinstall.inspect.wheel import Layout

_SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "csh", "tcsh", "fish", "ash", "env"})
_INTERPRETER = re.compile(r"python(?:[23](?:\.\d+)?)?[tw]?(?:-config)?")
_PIP = re.compile(r"pip(?:[23](?:\.\d+)?)?")
_PATHEXT = frozenset({"exe", "com", "bat", "cmd"})
_OWN = {"pip": _PIP}  # the project that legitimately installs these commands


def clobbering(layouts: Sequence[Layout]) -> list[Finding]:
    """Every clash among ``layouts`` (one per wheel, in install order)."""
    findings: list[Finding] = []
    writers: dict[str, Layout] = {}
    owners: dict[str, Layout] = {}
    for layout in layouts:
        for top in layout.import_packages:
            owners.setdefault(top, layout)
    # each owner's paths as a set: a provider writing 3,000 files into its framework's package
    # is checked against the framework's 5,000 paths once a file, not scanned through
    owned = {id(owner): frozenset(owner.paths) for owner in owners.values()}
    for layout in layouts:
        for path in layout.paths:
            first = writers.setdefault(path.casefold(), layout)  # one file on macOS, Windows
            if first.package != layout.package:
                findings.append(
                    _hit("clobber-path", layout, path, f"{first.artifact} writes it too")
                )
        by_top: dict[str, set[str]] = {}
        for path in layout.paths:
            if path.startswith("site/"):
                by_top.setdefault(path.split("/", 2)[1], set()).add(path)
        foreign: list[tuple[str, str, Layout]] = []
        for top, paths in by_top.items():
            owner = owners.get(top)
            if owner is None or owner.package == layout.package:
                continue
            if layout.package in owner.requires:
                continue
            # a clash on the very same path is clobber-path, above
            foreign += [(path, top, owner) for path in paths - owned[id(owner)]]
        for path, top, owner in sorted(foreign, key=lambda hit: hit[0]):
            why = f"it writes into the package {top}, which {owner.artifact} owns"
            findings.append(_hit("clobber-package", layout, path, why))
    findings += _commands(layouts)
    return findings


def _commands(layouts: Sequence[Layout]) -> list[Finding]:
    findings = []
    seen: dict[str, Layout] = {}  # command -> its owner: the project named so, else the first
    for layout in layouts:
        for command, _ in layout.commands:
            bare = _bare(command)
            if canonicalize_name(bare) == layout.package or bare not in seen:
                seen[bare] = layout
    for layout in layouts:
        for command, declared in dict(layout.commands).items():
            bare = _bare(command)
            own = _OWN.get(layout.package)
            if (bare in _SHELLS or _INTERPRETER.fullmatch(bare) or _PIP.fullmatch(bare)) and not (
                own is not None and own.fullmatch(bare)
            ):
                why = f"the command {command} shadows {_shadowed(bare)}"
                findings.append(_hit("clobber-script", layout, declared, why, raw=True))
            first = seen[bare]
            if first.package != layout.package:
                why = f"the command {command} shadows the one {first.artifact} installs"
                findings.append(_hit("clobber-script", layout, declared, why, raw=True))
    return findings


def _bare(command: str) -> str:
    """A command as a shell looks it up: Windows finds ``python.cmd`` for ``python`` as it
    finds ``python.exe`` (PATHEXT's standard extensions), in any case."""
    name = command.lower()
    stem, dot, extension = name.rpartition(".")
    return stem if dot and extension in _PATHEXT else name


def _shadowed(bare: str) -> str:
    if bare in _SHELLS:
        return "a shell" if bare != "env" else "env"
    return "the Python interpreter" if bare.startswith("python") else "pip"


def _hit(rule: str, layout: Layout, path: str, why: str, *, raw: bool = False) -> Finding:
    """A finding on ``layout``'s wheel; ``path`` is an installed path ("site/...") unless
    ``raw`` (then a member of the wheel)."""
    shown = path if raw else _installed(path)
    return Finding(rule, layout.package, layout.artifact, shown, None, why)


def _installed(path: str) -> str:
    scheme, _, rest = path.partition("/")
    return rest if scheme == "site" else f"<{scheme}>/{rest}"
