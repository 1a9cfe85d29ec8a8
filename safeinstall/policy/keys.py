"""The policy's keys: each one's validation and its mapping onto the Policy dataclass.

Every problem is collected and reported at once, each with the file, the line where the key can be
found, what is wrong and, for a misspelt key, the closest valid one. Runs on the pre-commit hook
path: heavier parsers (markers, SPDX licenses) are imported only for keys that need them.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from safeinstall.policy.checker import Checker, canonical_glob, flag, globs, kind_of, strings
from safeinstall.policy.duration import parse_duration
from safeinstall.policy.locations import find_links, hosts, indexes
from safeinstall.policy.model import (
    STARTUP_BUILTINS,
    AuditIgnore,
    InspectPolicy,
    PackageRule,
    Policy,
    StartupFile,
)

_RULE = re.compile(r"\s*([A-Za-z0-9*?._-]+)\s*(.*?)\s*")
_LICENSE_KEYS = ("allow",)
_AUDIT_KEYS = ("ignore",)
_IGNORE_KEYS = ("id", "reason", "until")
_ADVISORY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*")
_STARTUP_KEYS = ("owner", "file", "sha256")
_PROJECT_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?")
_PTH_NAME = re.compile(r"[^/\\\s.][^/\\\s]*\.pth")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


def _switch(r: Checker, key: str, value: object) -> tuple[str, ...]:
    """``"deny"`` -> (), ``"allow"`` -> ("*",), or an array of name globs."""
    if value == "deny":
        return ()
    if value == "allow":
        return ("*",)
    if isinstance(value, list):
        return globs(r, key, value)
    r.problem(f'{key!r} must be "deny", "allow" or an array of package names, not {value!r}', key)
    return ()


def _sandbox(r: Checker, key: str, value: object) -> str:
    """``"require"``: no build without its network cut; ``"warn"``: build anyway, and say so."""
    if value in ("require", "warn"):
        return str(value)
    r.problem(f'{key!r} must be "require" or "warn", not {value!r}', key)
    return "require"


def _rules(r: Checker, key: str, value: object) -> tuple[PackageRule, ...]:
    out = []
    for item in strings(r, key, value):
        match = _RULE.fullmatch(item)
        try:
            if match is None:
                raise InvalidSpecifier(item)
            spec = SpecifierSet(match[2])
        except InvalidSpecifier:
            r.problem(
                f"{key!r}: {item!r} is not a name (or name pattern) with an optional version "
                "specifier like 'django>=4.2'",
                key,
                '"' + item,
            )
            continue
        out.append(PackageRule(raw=item, pattern=canonical_glob(match[1]), specifier=spec))
    return tuple(out)


def _yanked(r: Checker, key: str, value: object) -> tuple[tuple[PackageRule, str], ...]:
    if value == "deny":
        return ()
    if not isinstance(value, dict):
        r.problem(
            f'{key!r} must be "deny" or a table of "name==version" = "reason", not {value!r}', key
        )
        return ()
    out = []
    for pin, reason in value.items():
        match = _RULE.fullmatch(pin)
        try:
            spec = SpecifierSet(match[2]) if match and "*" not in match[1] + match[2] else None
        except InvalidSpecifier:
            spec = None
        specs = list(spec or ())
        if match is None or len(specs) != 1 or specs[0].operator != "==" or "*" in specs[0].version:
            r.problem(f"{key!r}: {pin!r} must be an exact pin like 'pkg==1.2'", key, '"' + pin)
        elif not isinstance(reason, str) or not reason.strip():
            r.problem(f"{key!r}: {pin!r} needs a reason (a non-empty string)", key, '"' + pin)
        else:
            rule = PackageRule(
                raw=pin, pattern=canonical_glob(match[1]), specifier=SpecifierSet(match[2])
            )
            out.append((rule, reason.strip()))
    return tuple(out)


def _min_release_age(r: Checker, key: str, value: object) -> Any:
    if value == 0 and not isinstance(value, bool):
        return parse_duration("0")
    if not isinstance(value, str):
        r.problem(
            f'{key!r} must be a string with a unit such as "7 days", not {kind_of(value)}', key
        )
        return parse_duration("0")
    try:
        return parse_duration(value)
    except ValueError as exc:
        r.problem(f"{key!r}: {exc}", key)
        return parse_duration("0")


def _licenses(r: Checker, key: str, value: object) -> tuple[str, ...] | None:
    if not isinstance(value, dict):
        r.problem(f'{key!r} must be a table like {{ allow = ["MIT"] }}, not {kind_of(value)}', key)
        return None
    r.unknown_keys(value, _LICENSE_KEYS, f" in {key!r}")
    if "allow" not in value:
        return None
    from packaging.licenses import (  # only when set: slow to import
        InvalidLicenseExpression,
        canonicalize_license_expression,
    )

    out = []
    for item in strings(r, f"{key}.allow", value["allow"], key):
        try:
            canonical = str(canonicalize_license_expression(item))
        except InvalidLicenseExpression:
            r.problem(f"'{key}.allow': {item!r} is not an SPDX license id", key, '"' + item)
            continue
        if " " in canonical and " WITH " not in canonical:
            r.problem(
                f"'{key}.allow': {item!r} is an expression; list each SPDX id on its own",
                key,
                '"' + item,
            )
            continue
        out.append(canonical)
    return tuple(out)


def _audit(r: Checker, key: str, value: object) -> tuple[AuditIgnore, ...]:
    """``{ ignore = [{ id = "PYSEC-…", reason = "…", until = 2026-12-31 }] }``."""
    if not isinstance(value, dict):
        r.problem(f"{key!r} must be a table like {{ ignore = [...] }}, not {kind_of(value)}", key)
        return ()
    r.unknown_keys(value, _AUDIT_KEYS, f" in {key!r}")
    entries = value.get("ignore", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        r.problem(f"'{key}.ignore' must be an array of tables with id, reason and until", key)
        return ()
    out: list[AuditIgnore] = []
    for n, entry in enumerate(entries):
        where = f"{key}.ignore[{n}]"
        r.unknown_keys(entry, _IGNORE_KEYS, f" in {where!r}")
        ident, reason = entry.get("id"), entry.get("reason")
        until = _date(entry.get("until"))
        needle = f'"{ident}' if isinstance(ident, str) else "ignore"
        if not isinstance(ident, str) or not _ADVISORY_ID.fullmatch(ident):
            r.problem(
                f"'{where}.id' must be an advisory id like 'PYSEC-2024-1', not {ident!r}",
                key,
                "ignore",
            )
            continue
        if any(i.id == ident for i in out):
            r.problem(f"'{where}.id': {ident!r} is ignored twice", key, needle)
        if not isinstance(reason, str) or not reason.strip():
            r.problem(f"'{where}': ignoring {ident} needs a non-empty reason", key, needle)
        elif until is None:
            r.problem(
                f"'{where}': ignoring {ident} needs an expiry date, until = YYYY-MM-DD",
                key,
                needle,
            )
        else:
            out.append(AuditIgnore(ident, reason.strip(), until))
    return tuple(out)


def _date(value: object) -> date | None:
    """A TOML date (``2026-12-31``) or the same as a string; None when absent or invalid."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _environments(r: Checker, key: str, value: object) -> tuple[str, ...]:
    from packaging.markers import InvalidMarker, Marker  # only when set

    from safeinstall.requirements.markers import marker_problem

    out = []
    for item in strings(r, key, value):
        try:
            marker = Marker(item)
            first = marker_problem(marker)
        except InvalidMarker as exc:
            first = str(exc).splitlines()[0]
        if first is None:
            out.append(str(marker))
        else:
            r.problem(
                f"{key!r}: {item!r} is not a valid environment marker ({first})", key, '"' + item
            )
    return tuple(out)


def _startup_files(r: Checker, key: str, value: object) -> tuple[str | StartupFile, ...]:
    """``["default", { owner = "acme", file = "acme.pth", sha256 = "…" }]``: setting the key
    replaces the built-in list, which ``"default"`` brings back (``[]``: no start-up file)."""
    shape = f'"default", {", ".join(map(repr, STARTUP_BUILTINS))} or {{ owner, file, sha256 }}'
    if not isinstance(value, list):
        r.problem(f"{key!r} must be an array of {shape}, not {kind_of(value)}", key)
        return ()
    out: list[str | StartupFile] = []
    for item in value:
        if item == "default":
            out += STARTUP_BUILTINS
        elif isinstance(item, str) and item in STARTUP_BUILTINS:
            out.append(item)
        elif isinstance(item, dict):
            r.unknown_keys(item, _STARTUP_KEYS, f" in {key!r}")
            entry = _startup_file(r, key, item)
            if entry is not None:
                out.append(entry)
        else:
            needle = f'"{item}' if isinstance(item, str) else key
            r.problem(f"{key!r}: {item!r} is not {shape}", key, needle)
    return tuple(dict.fromkeys(out))


def _startup_file(r: Checker, key: str, item: dict[str, object]) -> StartupFile | None:
    owner, file, sha256 = (item.get(k) for k in _STARTUP_KEYS)
    where = f'"{file}' if isinstance(file, str) else key
    if not isinstance(owner, str) or not _PROJECT_NAME.fullmatch(owner):
        r.problem(f"{key!r}: 'owner' must be the name of the package that installs it", key, where)
    elif not isinstance(file, str) or not _PTH_NAME.fullmatch(file):
        r.problem(f"{key!r}: 'file' must be a .pth file name like 'acme.pth', not {file!r}", key)
    elif not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        r.problem(f"{key!r}: 'sha256' of {file} must be 64 hex digits", key, where)
    else:
        return StartupFile(canonicalize_name(owner), file, sha256.lower())
    return None


_INSPECT_KEYS = ("block", "warn", "allow")


def _inspect(r: Checker, key: str, value: object) -> InspectPolicy:
    """``{ block = [ids], warn = [ids], allow = { "pkg" = [ids] } }``: rule ids of the artifact
    scanner. Start-up ``.pth`` files are allowed by ``startup-files`` alone (the rule ``verify``
    applies too), so ``startup-pth`` in ``allow`` is refused with that hint."""
    from safeinstall.inspect.rules import RULES  # a table, no imports

    if not isinstance(value, dict):
        r.problem(f"{key!r} must be a table like {{ warn = [...] }}, not {kind_of(value)}", key)
        return InspectPolicy()
    r.unknown_keys(value, _INSPECT_KEYS, f" in {key!r}")

    def ids(where: str, items: object) -> tuple[str, ...]:
        out = []
        for item in strings(r, where, items, key):
            if item not in RULES:
                import difflib

                close = difflib.get_close_matches(item, list(RULES), n=1)
                tip = f" (did you mean {close[0]!r}?)" if close else ""
                r.problem(f"{where!r}: {item!r} is not a scanner rule id{tip}", key, '"' + item)
            else:
                out.append(item)
        return tuple(dict.fromkeys(out))

    block = ids(f"{key}.block", value.get("block", []))
    warn = ids(f"{key}.warn", value.get("warn", []))
    for both in sorted(set(block) & set(warn)):
        r.problem(f"{key!r}: {both!r} is in both block and warn", key, '"' + both)
    allowed = value.get("allow", {})
    if not isinstance(allowed, dict):
        r.problem(f"'{key}.allow' must be a table of \"package\" = [rule ids]", key, "allow")
        allowed = {}
    allow = []
    for name, rules in allowed.items():
        if not _PROJECT_NAME.fullmatch(name):
            r.problem(f"'{key}.allow': {name!r} is not a package name", key, name)
            continue
        found = ids(f"{key}.allow.{name}", rules)
        if "startup-pth" in found:
            r.problem(
                f"'{key}.allow.{name}': start-up .pth files are allowed by the startup-files key "
                "(exact files: { owner, file, sha256 }), which verify applies too",
                key,
                '"startup-pth',
            )
            continue
        allow.append((canonicalize_name(name), found))
    return InspectPolicy(block, warn, tuple(allow))


_Converter = Callable[[Checker, str, Any], Any]
# policy key -> (Policy field, converter)
FIELDS: dict[str, tuple[str, _Converter]] = {
    "indexes": ("indexes", indexes),
    "find-links": ("find_links", find_links),
    "trusted-hosts": ("trusted_hosts", hosts),
    "allow": ("allow", _rules),
    "deny": ("deny", _rules),
    "sdists": ("sdists", _switch),
    "yanked": ("yanked", _yanked),
    "prereleases": ("prereleases", _switch),
    "min-release-age": ("min_release_age", _min_release_age),
    "licenses": ("licenses", _licenses),
    "environments": ("environments", _environments),
    "direct-references": ("direct_references", globs),
    "audit": ("audit_ignores", _audit),
    "same-versions": ("same_versions", flag),
    "startup-files": ("startup_files", _startup_files),
    "build-sandbox": ("build_sandbox", _sandbox),
    "inspect": ("inspect", _inspect),
}
# scalar keys a SAFEINSTALL_* variable may override (applied after the file)
ENV_OVERRIDES = {
    "SAFEINSTALL_MIN_RELEASE_AGE": "min-release-age",
    "SAFEINSTALL_SDISTS": "sdists",
    "SAFEINSTALL_PRERELEASES": "prereleases",
    "SAFEINSTALL_YANKED": "yanked",
}


def policy_from_table(
    table: Mapping[str, Any], source: str, text: str = "", start_line: int = 1
) -> Policy:
    """Validate a policy table (already parsed); ``text`` is the raw file, for line numbers."""
    r = Checker(source, text, start_line)
    r.unknown_keys(table, tuple(FIELDS), "")
    fields = {FIELDS[k][0]: FIELDS[k][1](r, k, v) for k, v in table.items() if k in FIELDS}
    r.raise_if_any()
    return Policy(source=source, **fields)


def apply_env_overrides(policy: Policy, environ: Mapping[str, str]) -> Policy:
    """Apply the SAFEINSTALL_* scalar overrides, validated like the file's keys."""
    changes: dict[str, Any] = {}
    r = Checker("environment")
    for var, key in ENV_OVERRIDES.items():
        raw = environ.get(var, "").strip()
        if not raw:
            continue
        value: object = raw
        if key in ("sdists", "prereleases") and raw not in ("deny", "allow"):
            value = [part.strip() for part in raw.split(",") if part.strip()]
        field, convert = FIELDS[key]
        changes[field] = convert(r, var, value)
    r.raise_if_any()
    return dataclasses.replace(policy, **changes) if changes else policy
