"""SARIF 2.1.0, for code-scanning UIs: the one writer behind every ``--format sarif``.

`check`, `scan`, `audit`, `verify` and `diff` each turn their findings into ``Rule``s and
``Result``s and hand them to ``sarif_log``. A result sits in a file at a line: `check`'s where
the requirement is written, the others' on the lock line of the package it is about
(``lock_lines``); what lies inside an artifact (a wheel's member, an installed file) is named
as a logical location. The hook path (`check`) loads this module: it imports nothing heavy, and
the lock readers only inside ``lock_lines``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from safeinstall import __version__

if TYPE_CHECKING:
    from safeinstall.lock.model import Lock

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL = "safeinstall"

Level = Literal["error", "warning", "note"]


@dataclass(frozen=True, slots=True)
class Rule:
    """A rule's metadata: ``text`` is its one-line description, ``help`` what to do (default:
    ``text``), ``help_uri`` where to read more."""

    id: str
    text: str
    help: str = ""
    help_uri: str | None = None


@dataclass(frozen=True, slots=True)
class Result:
    """One finding of ``rule`` in ``path`` (as the user named it) at ``line`` (1-based; None: the
    file as a whole). ``inside`` names where inside what the line is about (``wheel:member:3``);
    ``suppressed`` is why the policy ignores it (the finding is kept, marked as suppressed)."""

    rule: str
    level: Level
    message: str
    path: str | None = None
    line: int | None = None
    inside: str | None = None
    suppressed: str | None = None


def sarif_log(rules: Iterable[Rule], results: Iterable[Result]) -> dict[str, Any]:
    """The SARIF log of one run of safeinstall."""
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": TOOL,
                        "version": __version__,
                        "rules": [_rule(r) for r in rules],
                    }
                },
                "results": [_result(r) for r in results],
            }
        ],
    }


def _rule(rule: Rule) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": rule.id,
        "shortDescription": {"text": rule.text},
        "help": {"text": rule.help or rule.text},
    }
    if rule.help_uri:
        out["helpUri"] = rule.help_uri
    return out


def _result(result: Result) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ruleId": result.rule,
        "level": result.level,
        "message": {"text": result.message},
    }
    location: dict[str, Any] = {}
    if result.path is not None:
        physical: dict[str, Any] = {"artifactLocation": {"uri": uri(result.path)}}
        if result.line is not None:
            physical["region"] = {"startLine": result.line}
        location["physicalLocation"] = physical
    if result.inside is not None:
        location["logicalLocations"] = [{"fullyQualifiedName": result.inside}]
    if location:
        out["locations"] = [location]
    if result.suppressed is not None:
        out["suppressions"] = [{"kind": "external", "justification": result.suppressed}]
    return out


def uri(path: str) -> str:
    """A relative URI (forward slashes, percent-encoded) when ``path`` is relative or under the
    current directory; else a ``file:`` URI."""
    p = Path(path)
    if p.is_absolute():
        try:
            p = p.relative_to(Path.cwd())
        except ValueError:
            return p.as_uri()
    return quote(p.as_posix(), safe="/!$&'()*+,;=@-._~")


# -- where a package is written in a lock ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LockLines:
    """The 1-based line of each package's entry in one lock (its requirement line in
    requirements.txt, its ``[[packages]]`` header in pylock.toml)."""

    path: str
    by_version: Mapping[tuple[str, str], int]
    by_name: Mapping[str, int]  # the first entry of a name locked at several versions

    def line(self, name: str, version: object = None) -> int | None:
        from packaging.utils import canonicalize_name

        key = canonicalize_name(name)
        found = self.by_version.get((key, str(version))) if version is not None else None
        return found if found is not None else self.by_name.get(key)

    def result(
        self,
        rule: str,
        level: Level,
        message: str,
        package: str | None,
        version: object = None,
        **more: Any,
    ) -> Result:
        """A result on the lock line of ``package`` (None, or not in the lock: the whole lock)."""
        line = self.line(package, version) if package is not None else None
        return Result(rule, level, message, self.path, line, **more)


def lock_lines(data: bytes, filename: str, path: str, lock: Lock) -> LockLines:
    """Where each of ``lock``'s packages is written in ``data``, the lock it was read from
    (``lock.read.parse_lock(data, filename, ...)``): the readers keep the file's order, so the
    n-th entry is the n-th package. A count that does not match (the file changed since it was
    read) locates nothing rather than the wrong line."""
    from safeinstall.filekind import file_kind

    text = data.decode("utf-8", "replace")
    if file_kind(Path(filename), mode="lock") == "pylock":
        from safeinstall.lock.pylock import package_lines
    else:
        from safeinstall.lock.model import package_lines
    lines = package_lines(text)
    if len(lines) != len(lock.packages):
        return LockLines(path, {}, {})
    by_version: dict[tuple[str, str], int] = {}
    by_name: dict[str, int] = {}
    for pkg, line in zip(lock.packages, lines, strict=True):
        by_version.setdefault((pkg.name, str(pkg.version)), line)
        by_name.setdefault(pkg.name, line)
    return LockLines(path, by_version, by_name)
