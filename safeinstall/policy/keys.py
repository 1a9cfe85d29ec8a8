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

from safeinstall.errors import Location, PolicyConfigError
from safeinstall.policy.duration import parse_duration
from safeinstall.policy.model import AuditIgnore, IndexSpec, PackageRule, Policy
from safeinstall.urls import is_loopback, normalize, split, strip_credentials

_NAME_GLOB = re.compile(r"[A-Za-z0-9*?._-]+")
_RULE = re.compile(r"\s*([A-Za-z0-9*?._-]+)\s*(.*?)\s*")
_INDEX_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = re.compile(rf"(?:{_LABEL}(?:\.{_LABEL})*\.?|\[[0-9A-Fa-f:.]+\])(?::\d{{1,5}})?")
_INDEX_KEYS = ("name", "url", "packages", "file-hosts", "insecure")
_LICENSE_KEYS = ("allow",)
_AUDIT_KEYS = ("ignore",)
_IGNORE_KEYS = ("id", "reason", "until")
_ADVISORY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*")
_HINT = "fix the policy; `safeinstall init --dry-run` shows a commented example"


def canonical_glob(pattern: str) -> str:
    """A name glob in the canonical form names are matched in (``Acme_Lib*`` -> ``acme-lib*``)."""
    return re.sub(r"[-_.]+", "-", pattern).lower()


class Checker:
    """Collects problems, each with the line its key (or value) is on in the raw text."""

    def __init__(self, source: str, text: str = "", start_line: int = 1) -> None:
        self.source = source
        self.lines = text.splitlines()
        self.start = start_line - 1
        self.problems: list[tuple[int | None, str]] = []

    def problem(self, text: str, *needles: str) -> None:
        self.problems.append((self._line_of(needles), text))

    def _line_of(self, needles: tuple[str, ...]) -> int | None:
        """Find each needle (``key`` or ``"value``) in turn, each at or after the previous."""
        found: int | None = None
        pos = self.start
        for needle in needles:
            at = next((n for n in range(pos, len(self.lines)) if _has(self.lines[n], needle)), None)
            if at is None:
                break
            found, pos = at + 1, at
        return found

    def unknown_keys(self, table: Mapping[str, Any], valid: tuple[str, ...], where: str) -> None:
        for key in table:
            if key not in valid:
                import difflib  # only for a key that is wrong

                close = difflib.get_close_matches(key, valid, n=1)
                tip = f" (did you mean {close[0]!r}?)" if close else ""
                self.problem(f"unknown key {key!r}{where}{tip}", key)

    def raise_if_any(self) -> None:
        if not self.problems:
            return
        self.problems.sort(key=lambda problem: problem[0] or 0)
        if len(self.problems) == 1:
            line, text = self.problems[0]
            raise PolicyConfigError(text, location=Location(self.source, line), hint=_HINT)
        listing = "\n".join(
            f"  {Location(self.source, line)}: {text}" for line, text in self.problems
        )
        raise PolicyConfigError(
            f"the policy has {len(self.problems)} problems:\n{listing}",
            location=Location(self.source),
            hint=_HINT,
        )


def _has(line: str, needle: str) -> bool:
    if needle.startswith('"'):
        return f'"{needle[1:]}"' in line or f"'{needle[1:]}'" in line
    return re.search(rf"(^|[\s{{,.\[])[\"']?{re.escape(needle)}[\"']?\s*(=|\])", line) is not None


def _kind(value: object) -> str:
    names = {str: "a string", bool: "a boolean", int: "an integer", float: "a number"}
    names |= {list: "an array", dict: "a table"}
    return names.get(type(value), type(value).__name__)


def _strings(r: Checker, key: str, value: object, *needles: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        got = "an empty or non-string entry" if isinstance(value, list) else _kind(value)
        r.problem(f"{key!r} must be an array of non-empty strings, not {got}", *needles, key)
        return []
    return [v.strip() for v in value]


def _globs(r: Checker, key: str, value: object, *needles: str) -> tuple[str, ...]:
    out = []
    for item in _strings(r, key, value, *needles):
        if _NAME_GLOB.fullmatch(item):
            out.append(canonical_glob(item))
        else:
            r.problem(
                f"{key!r}: {item!r} is not a package name or name pattern like 'acme-*'",
                *needles,
                key,
                '"' + item,
            )
    return tuple(out)


def _hosts(r: Checker, key: str, value: object, *needles: str) -> tuple[str, ...]:
    out = []
    for item in _strings(r, key, value, *needles):
        if _HOST.fullmatch(item) and int(item.rpartition("]")[2].partition(":")[2] or 0) < 65536:
            out.append(item.lower().rstrip("."))
        else:
            r.problem(
                f"{key!r}: {item!r} is not a host name (give host or host:port, no scheme or path)",
                *needles,
                key,
                '"' + item,
            )
    return tuple(out)


def _switch(r: Checker, key: str, value: object) -> tuple[str, ...]:
    """``"deny"`` -> (), ``"allow"`` -> ("*",), or an array of name globs."""
    if value == "deny":
        return ()
    if value == "allow":
        return ("*",)
    if isinstance(value, list):
        return _globs(r, key, value)
    r.problem(f'{key!r} must be "deny", "allow" or an array of package names, not {value!r}', key)
    return ()


def _rules(r: Checker, key: str, value: object) -> tuple[PackageRule, ...]:
    out = []
    for item in _strings(r, key, value):
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
        r.problem(f'{key!r} must be a string with a unit such as "7 days", not {_kind(value)}', key)
        return parse_duration("0")
    try:
        return parse_duration(value)
    except ValueError as exc:
        r.problem(f"{key!r}: {exc}", key)
        return parse_duration("0")


def _licenses(r: Checker, key: str, value: object) -> tuple[str, ...] | None:
    if not isinstance(value, dict):
        r.problem(f'{key!r} must be a table like {{ allow = ["MIT"] }}, not {_kind(value)}', key)
        return None
    r.unknown_keys(value, _LICENSE_KEYS, f" in {key!r}")
    if "allow" not in value:
        return None
    from packaging.licenses import (  # only when set: slow to import
        InvalidLicenseExpression,
        canonicalize_license_expression,
    )

    out = []
    for item in _strings(r, f"{key}.allow", value["allow"], key):
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
        r.problem(f"{key!r} must be a table like {{ ignore = [...] }}, not {_kind(value)}", key)
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

    from safeinstall.requirements.pep508 import marker_problem

    out = []
    for item in _strings(r, key, value):
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


def _check_url(r: Checker, key: str, url: str, *, insecure: bool, needles: tuple[str, ...]) -> str:
    """Validate a trusted location's URL; return it normalized."""
    try:
        split(url)
    except ValueError as exc:
        r.problem(f"{key!r}: not a valid URL, {exc} (check the host and port)", *needles)
        return url
    bare = strip_credentials(url)
    parts = split(bare)
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    normalized = normalize(bare)
    if bare != url:
        r.problem(
            f"{key!r}: {bare!r} has credentials in it; remove them and supply them "
            "through .netrc or the environment",
            *needles,
        )
    if scheme not in ("https", "http") or not host:
        r.problem(f"{key!r}: {bare!r} is not an https URL", *needles)
    elif scheme == "http" and not is_loopback(host) and not insecure:
        r.problem(
            f"{key!r}: {bare!r} uses plain http; use https (http is accepted only for "
            "loopback hosts, or with insecure = true on that index)",
            *needles,
        )
    return normalized


def _indexes(r: Checker, key: str, value: object) -> tuple[IndexSpec, ...]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        r.problem(f"{key!r} must be an array of tables with name and url, not {_kind(value)}", key)
        return ()
    specs: list[IndexSpec] = []
    bound: dict[str, str] = {}
    for n, entry in enumerate(value):
        where = f"{key}[{n}]"
        r.unknown_keys(entry, _INDEX_KEYS, f" in {where!r}")
        name, url, insecure = entry.get("name"), entry.get("url"), entry.get("insecure", False)
        if not isinstance(name, str) or not _INDEX_NAME.fullmatch(name):
            r.problem(
                f"'{where}.name' must be a name of letters, digits, '.', '_' or '-', not {name!r}",
                key,
                "name",
            )
            name = f"#{n}"
        elif any(s.name == name for s in specs):
            r.problem(f"'{where}.name': the name {name!r} is used by two indexes", key, '"' + name)
        if not isinstance(insecure, bool):
            r.problem(f"'{where}.insecure' must be true or false", key, "insecure")
            insecure = False
        if not isinstance(url, str) or not url.strip():
            r.problem(f"'{where}.url' must be the index URL (a string)", key, '"' + name)
            continue
        url = _check_url(r, f"{where}.url", url, insecure=insecure, needles=(key, '"' + url))
        if any(s.url == url for s in specs):
            r.problem(f"'{where}.url': {url!r} is listed twice", key, '"' + url)
        packages = _globs(r, f"{where}.packages", entry.get("packages", []), key)
        for pattern in packages:
            if pattern in bound:
                r.problem(
                    f"'{where}.packages': {pattern!r} is bound to both "
                    f"{bound[pattern]!r} and {name!r}",
                    key,
                    '"' + pattern,
                )
            bound.setdefault(pattern, name)
        hosts = _hosts(r, f"{where}.file-hosts", entry.get("file-hosts", []), key)
        specs.append(
            IndexSpec(name=name, url=url, packages=packages, file_hosts=hosts, insecure=insecure)
        )
    return tuple(specs)


def _find_links(r: Checker, key: str, value: object) -> tuple[str, ...]:
    out = []
    for item in _strings(r, key, value):
        if "://" in item and not item.lower().startswith("file:"):
            _check_url(r, key, item, insecure=False, needles=(key, '"' + item))
        out.append(item)  # as written: requirement files are compared against it
    return tuple(out)


_Converter = Callable[[Checker, str, Any], Any]
# policy key -> (Policy field, converter)
FIELDS: dict[str, tuple[str, _Converter]] = {
    "indexes": ("indexes", _indexes),
    "find-links": ("find_links", _find_links),
    "trusted-hosts": ("trusted_hosts", _hosts),
    "allow": ("allow", _rules),
    "deny": ("deny", _rules),
    "sdists": ("sdists", _switch),
    "yanked": ("yanked", _yanked),
    "prereleases": ("prereleases", _switch),
    "min-release-age": ("min_release_age", _min_release_age),
    "licenses": ("licenses", _licenses),
    "environments": ("environments", _environments),
    "direct-references": ("direct_references", _globs),
    "audit": ("audit_ignores", _audit),
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
