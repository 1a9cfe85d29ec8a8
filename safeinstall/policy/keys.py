"""The policy's keys: each one's validation and its mapping onto the Policy dataclass.

Every problem is collected and reported at once, each with the file, the line where the key can be
found, what is wrong and, for a misspelt key, the closest valid one. Runs on the pre-commit hook
path: heavier parsers (markers, SPDX licenses) are imported only for keys that need them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from safeinstall.frozen import replace
from safeinstall.policy import gates
from safeinstall.policy.checker import (
    ALNUM,
    Checker,
    canonical_glob,
    flag,
    globs,
    kind_of,
    spelled,
    strings,
)
from safeinstall.policy.duration import parse_duration
from safeinstall.policy.locations import find_links, hosts, indexes
from safeinstall.policy.model import (
    ENV_OVERRIDES,
    AuditIgnore,
    PackageRule,
    Policy,
)

_RULE = re.compile(r"\s*([A-Za-z0-9*?._-]+)\s*(.*?)\s*")
_LICENSE_KEYS = ("allow",)
_AUDIT_KEYS = ("ignore",)
_IGNORE_KEYS = ("id", "reason", "until")
_ADVISORY_ID = ALNUM | frozenset("._:-")  # [A-Za-z0-9][A-Za-z0-9._:-]*
_AGE_KEYS = ("age", "exempt", "exempt-indexes")


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


class _ReleaseAge(tuple[Any, tuple[str, ...], tuple[str, ...]]):
    """min-release-age as its three Policy fields: the age, exempt packages, exempt indexes."""


def _release_age(r: Checker, key: str, value: object) -> _ReleaseAge:
    """``"7 days"``, or ``{ age = "7 days", exempt = ["acme-*"], exempt-indexes = ["corp"] }``."""
    if not isinstance(value, dict):
        return _ReleaseAge((_min_release_age(r, key, value), (), ()))
    r.unknown_keys(value, _AGE_KEYS, f" in {key!r}")
    age = _min_release_age(r, f"{key}.age", value.get("age", 0))
    exempt = globs(r, f"{key}.exempt", value.get("exempt", []), key)
    indexes = tuple(strings(r, f"{key}.exempt-indexes", value.get("exempt-indexes", []), key))
    return _ReleaseAge((age, exempt, indexes))


def _fields(table: Mapping[str, Any], r: Checker) -> dict[str, Any]:
    """The Policy fields of a validated table; min-release-age fills three of them."""
    fields = {FIELDS[k][0]: FIELDS[k][1](r, k, v) for k, v in table.items() if k in FIELDS}
    if (age := fields.pop("min_release_age", None)) is not None:
        fields["min_release_age"], fields["cooldown_exempt"] = age[0], age[1]
        fields["cooldown_exempt_indexes"] = age[2]
        names = {i.name for i in fields.get("indexes") or ()}
        for name in age[2] if "indexes" in fields else ():
            if name not in names:
                r.problem(
                    f"'min-release-age.exempt-indexes': no index is named {name!r}",
                    "min-release-age",
                    '"' + name,
                )
    return fields


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
    from safeinstall.policy.licenses import canonical_spdx  # only when set

    out = []
    for item in strings(r, f"{key}.allow", value["allow"], key):
        canonical = canonical_spdx(item)
        if canonical is None:
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
        if not isinstance(ident, str) or not spelled(ident, _ADVISORY_ID, first=ALNUM):
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
    from safeinstall.requirements.markers import marker_problem, simple_marker

    out = []
    for item in strings(r, key, value):
        if (simple := simple_marker(item)) is not None:  # packaging's answer, without it
            out.append(simple)
            continue
        from packaging.markers import InvalidMarker, Marker  # start-up time: rarely needed

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
    "min-release-age": ("min_release_age", _release_age),
    "licenses": ("licenses", _licenses),
    "environments": ("environments", _environments),
    "direct-references": ("direct_references", globs),
    "audit": ("audit_ignores", _audit),
    "same-versions": ("same_versions", flag),
    "startup-files": ("startup_files", gates.startup_files),
    "build-sandbox": ("build_sandbox", gates.build_sandbox),
    "keyring": ("keyring", gates.keyring),
    "malware": ("malware", gates.malware),
    "project-status": ("project_status", gates.project_status),
    "inspect": ("inspect", gates.inspect),
}


def policy_from_table(
    table: Mapping[str, Any], source: str, text: str = "", start_line: int = 1
) -> Policy:
    """Validate a policy table (already parsed); ``text`` is the raw file, for line numbers."""
    r = Checker(source, text, start_line)
    r.unknown_keys(table, tuple(FIELDS), "")
    fields = _fields(table, r)
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
        if isinstance(changes[field], _ReleaseAge):  # the age only: the file's exemptions hold
            changes[field] = changes[field][0]
    r.raise_if_any()
    return replace(policy, **changes) if changes else policy
