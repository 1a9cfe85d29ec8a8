"""``safeinstall init``: write a commented, safe starter policy, keeping the rest of the file as is.

Into a pyproject.toml the policy goes as ``[tool.safeinstall]``, appended after the existing text
(or, with ``force``, replacing the old table in place through tomlkit); any other file name gets the
policy at its top level. The result is checked before anything is written: it must load as a
policy, and the rest of the file must parse to exactly what it was. The write goes through
``atomic.replace_file`` with the digest of the bytes read, so a save in between aborts it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import Table

from safeinstall.errors import InputError, Location, PolicyConfigError
from safeinstall.files.atomic import replace_file
from safeinstall.policy.keys import policy_from_table
from safeinstall.policy.load import is_pyproject, parse_toml, policy_from_text
from safeinstall.policy.model import IndexSpec

_OPTIONAL = """\
Optional keys (uncomment to use):
allow = ["django>=4.2", "requests"]   # only these packages (name globs like "acme-*" work)
deny = ["*-nightly"]                  # never these (a version specifier narrows a rule)
licenses = { allow = ["MIT", "BSD-3-Clause", "Apache-2.0"] }   # SPDX ids
environments = ["python_version >= '3.11' and sys_platform == 'linux'"]   # lock targets
direct-references = []                # names allowed as URL, VCS or path requirements
find-links = []                       # trusted --find-links locations
trusted-hosts = []                    # hosts a requirements file may name in --trusted-host
same-versions = true                  # one version of each package on every target, or fail
startup-files = ["default"]           # start-up .pth files allowed (setuptools, coverage, editable)
build-sandbox = "require"             # "warn": build even where the network cannot be cut
keyring = "subprocess"                # index passwords from the keyring command (over pip's)
malware = { db = "osv/PyPI.zip" }     # known-malware gate offline (default: the OSV API)
project-status = { quarantined = "deny", archived = "warn", deprecated = "warn" }
inspect = { block = [], warn = [], allow = {} }   # the artifact scanner's rules (`scan`)
audit = { ignore = [] }               # advisories accepted for now: { id, reason, until }"""


@dataclass(frozen=True, slots=True)
class InitResult:
    path: Path
    table: str  # the policy as TOML text, exactly as written into the file
    created: bool  # the file did not exist before
    replaced: bool  # an existing policy was replaced (force)
    written: bool  # False for a dry run
    skipped: tuple[str, ...]  # index URLs pip uses that a policy cannot trust (not https)


def init_policy(
    path: Path, *, indexes: Sequence[IndexSpec], force: bool = False, dry_run: bool = False
) -> InitResult:
    """Write a starter policy trusting ``indexes`` into ``path`` (see the module docstring)."""
    try:
        original: bytes | None = path.read_bytes()
    except FileNotFoundError:
        original = None
    except OSError as exc:
        raise InputError(
            f"cannot read the file: {exc.strerror or exc}",
            location=Location(str(path)),
            hint="check the path and its permissions",
        ) from exc
    digest = None if original is None else hashlib.sha256(original).hexdigest()
    text = _decode(original, path)
    table, skipped = starter_policy(indexes)
    pyproject = is_pyproject(path)
    if pyproject:
        new_text, replaced = _into_pyproject(text, table, path, force=force)
    else:
        replaced = bool(text.strip())
        if replaced and not force:
            raise _exists(path)
        new_text = tomlkit.dumps(table)
    rendered = _table_text(table) if pyproject else new_text
    _check(text, new_text, path, pyproject=pyproject)
    if not dry_run:
        replace_file(path, new_text.encode("utf-8"), expected_digest=digest)
    return InitResult(path, rendered, original is None, replaced, not dry_run, skipped)


def starter_policy(indexes: Sequence[IndexSpec]) -> tuple[Table, tuple[str, ...]]:
    """The starter policy table, and the index URLs left out because a policy cannot trust them."""
    trusted, skipped = [], []
    for spec in indexes:
        entry: dict[str, Any] = {"name": spec.name, "url": spec.url}
        if spec.file_hosts:
            entry["file-hosts"] = list(spec.file_hosts)
        try:
            policy_from_table({"indexes": [entry]}, "pip configuration")
        except PolicyConfigError:
            skipped.append(spec.url)
            continue
        trusted.append(tomlkit.inline_table())
        trusted[-1].update(entry)
    t = tomlkit.table()
    _comment(
        t,
        "safeinstall policy: what may be installed, and from where. Every key is optional.",
        "",
        "Trusted indexes, in order. A package comes from the first index that serves it and",
        'never from a mix of indexes (dependency confusion). `packages = ["acme-*"]` binds',
        "names to one index. https only (plain http only for 127.0.0.1/localhost). Put",
        "credentials in .netrc or the environment, never here. Taken from pip's configuration.",
    )
    array = tomlkit.array()
    array.extend(trusted)
    t.add("indexes", array.multiline(True))
    _key(
        t,
        "sdists",
        "deny",
        "Building from an sdist runs the package's own code at install time:",
        '"deny", "allow", or a list of the package names that may be built.',
    )
    _key(
        t,
        "yanked",
        "deny",
        'Yanked releases are refused; allow one with a reason: { "pkg==1.2" = "why" }.',
    )
    _key(t, "prereleases", "deny", 'Pre-releases: "deny", "allow", or a list of package names.')
    _key(
        t,
        "min-release-age",
        "7 days",
        "Refuse releases younger than this: a hijacked release is usually found and",
        'removed within days ("36h", "90 minutes", "0" or ISO-8601 "P7D" work too).',
    )
    t.add(tomlkit.nl())
    _comment(t, *_OPTIONAL.splitlines())
    return t, tuple(skipped)


def _comment(t: Table, *lines: str) -> None:
    for line in lines:
        t.add(tomlkit.comment(line) if line else tomlkit.nl())


def _key(t: Table, key: str, value: str, *comment: str) -> None:
    t.add(tomlkit.nl())
    _comment(t, *comment)
    t.add(key, value)


def _table_text(table: Table) -> str:
    doc = tomlkit.document()
    tool = tomlkit.table(is_super_table=True)
    tool.add("safeinstall", table)
    doc.add("tool", tool)
    return tomlkit.dumps(doc)


def _decode(data: bytes | None, path: Path) -> str:
    try:
        return "" if data is None else data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            "the file is not valid UTF-8", location=Location(str(path)), hint="save it as UTF-8"
        ) from exc


def _exists(path: Path) -> InputError:
    return InputError(
        "there is a policy here already",
        location=Location(str(path)),
        hint="edit it, or run `safeinstall init --force` to replace it",
    )


def _into_pyproject(text: str, table: Table, path: Path, *, force: bool) -> tuple[str, bool]:
    tool = parse_toml(text, str(path)).get("tool")
    if not (isinstance(tool, dict) and "safeinstall" in tool):
        # Appended: every existing byte stays where it was.
        separator = "" if not text else "\n" if text.endswith("\n") else "\n\n"
        return text + separator + _table_text(table), False
    if not force:
        raise _exists(path)
    doc = tomlkit.parse(text)
    doc["tool"]["safeinstall"] = table
    return tomlkit.dumps(doc), True


def _check(old_text: str, new_text: str, path: Path, *, pyproject: bool) -> None:
    """The new text loads as a policy, and outside the policy parses exactly as before."""
    try:
        policy_from_text(new_text, str(path), pyproject=pyproject)
        before, after = parse_toml(old_text, str(path)), parse_toml(new_text, str(path))
    except InputError as exc:
        raise InputError(
            f"could not add a policy to this file: {exc.message}",
            location=Location(str(path)),
            hint="add the table by hand (`safeinstall init --dry-run` prints it)",
        ) from exc
    if pyproject:
        for data in (before, after):
            if isinstance(data.get("tool"), dict):
                data["tool"].pop("safeinstall", None)
                if not data["tool"]:
                    del data["tool"]
        if before != after:
            raise InputError(
                "adding the policy would change other settings in this file; nothing was written",
                location=Location(str(path)),
                hint="add the table by hand (`safeinstall init --dry-run` prints it)",
            )
