"""The keys of the gates around an install: what may run at start-up (``startup-files``), the
build sandbox (``build-sandbox``), the keyring command (``keyring``), known malware
(``malware``), project status (``project-status``) and the artifact scanner (``inspect``).
``keys.py`` maps them onto the Policy with the others; they are validated the same way
(``checker.py``).
"""

from __future__ import annotations

from packaging.utils import canonicalize_name

from safeinstall.digests import is_sha256
from safeinstall.policy.checker import ALNUM, Checker, flag, kind_of, spelled, strings
from safeinstall.policy.model import (
    STARTUP_BUILTINS,
    STATUS_ACTIONS,
    STATUS_DEFAULTS,
    InspectPolicy,
    MalwareGate,
    StartupFile,
)

_LOWER = frozenset("abcdefghijklmnopqrstuvwxyz")
_STATUS = _LOWER | frozenset("0123456789-")
_NAME = ALNUM | frozenset("._-")
_STARTUP_KEYS = ("owner", "file", "sha256")
_MALWARE_KEYS = ("db", "api", "osv-url", "unreachable")
_INSPECT_KEYS = ("block", "warn", "allow")


def _project_name(text: str) -> bool:
    """``[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?``: PEP 508's name rule."""
    return spelled(text, _NAME, first=ALNUM) and text[-1] in ALNUM


def _pth_name(text: str) -> bool:
    r"""A file name ending ``.pth``, not hidden, no path: ``[^/\\\s.][^/\\\s]*\.pth``."""
    return (
        len(text) > 4
        and text.endswith(".pth")
        and text[0] != "."
        and not any(c in "/\\" or c.isspace() for c in text)
    )


def build_sandbox(r: Checker, key: str, value: object) -> str:
    """``"require"``: no build without its network cut; ``"warn"``: build anyway, and say so."""
    if value in ("require", "warn"):
        return str(value)
    r.problem(f'{key!r} must be "require" or "warn", not {value!r}', key)
    return "require"


def keyring(r: Checker, key: str, value: object) -> str | None:
    """pip's keyring-provider names: ``"subprocess"`` runs the keyring command for an index URL
    with a user and no password, ``"disabled"`` never does (pip's ``import`` and ``auto`` would
    load keyring's plug-ins into safeinstall: not offered)."""
    if value in ("subprocess", "disabled"):
        return str(value)
    r.problem(f'{key!r} must be "subprocess" or "disabled", not {value!r}', key)
    return None


def project_status(r: Checker, key: str, value: object) -> tuple[tuple[str, str], ...]:
    """``{ quarantined = "deny", archived = "warn", deprecated = "allow" }`` over the defaults."""
    if not isinstance(value, dict):
        r.problem(
            f'{key!r} must be a table like {{ archived = "deny" }}, not {kind_of(value)}', key
        )
        return STATUS_DEFAULTS
    out = dict(STATUS_DEFAULTS)
    for status, action in value.items():
        if not (spelled(status, _STATUS, first=_LOWER) and len(status) <= 32) or status == "active":
            r.problem(f"{key!r}: {status!r} is not a project status such as 'archived'", key)
        elif action not in STATUS_ACTIONS:
            r.problem(f'{key}.{status} must be "deny", "warn" or "allow", not {action!r}', key)
        else:
            out[status] = action
    return tuple(sorted(out.items()))


def startup_files(r: Checker, key: str, value: object) -> tuple[str | StartupFile, ...]:
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
    if not isinstance(owner, str) or not _project_name(owner):
        r.problem(f"{key!r}: 'owner' must be the name of the package that installs it", key, where)
    elif not isinstance(file, str) or not _pth_name(file):
        r.problem(f"{key!r}: 'file' must be a .pth file name like 'acme.pth', not {file!r}", key)
    elif not isinstance(sha256, str) or not is_sha256(sha256.lower()):
        r.problem(f"{key!r}: 'sha256' of {file} must be 64 hex digits", key, where)
    else:
        return StartupFile(canonicalize_name(owner), file, sha256.lower())
    return None


def malware(r: Checker, key: str, value: object) -> MalwareGate:
    """``{ db = "osv/PyPI.zip", api = true, osv-url = "https://…", unreachable = "fail" }``."""
    if not isinstance(value, dict):
        r.problem(f'{key!r} must be a table like {{ db = "osv.zip" }}, not {kind_of(value)}', key)
        return MalwareGate()
    r.unknown_keys(value, _MALWARE_KEYS, f" in {key!r}")
    db, url, unreachable = value.get("db"), value.get("osv-url"), value.get("unreachable", "fail")
    if db is not None and (not isinstance(db, str) or not db.strip()):
        r.problem(f"'{key}.db' must be the path of the OSV database zip or directory", key, "db")
        db = None
    if url is not None and not _api_url(url):
        r.problem(
            f"'{key}.osv-url' must be an https URL (http only for a loopback host), not {url!r}",
            key,
            "osv-url",
        )
        url = None
    if unreachable not in ("fail", "warn"):
        r.problem(f'\'{key}.unreachable\' must be "fail" or "warn", not {unreachable!r}', key)
        unreachable = "fail"
    api = flag(r, f"{key}.api", value["api"]) if "api" in value else True
    return MalwareGate(db.strip() if db else None, api, url, str(unreachable))


def _api_url(url: object) -> bool:
    from safeinstall.urls import is_loopback, split

    if not isinstance(url, str):
        return False
    try:
        parts = split(url)
    except ValueError:
        return False
    loopback = parts.scheme == "http" and is_loopback(parts.hostname or "")
    return bool(parts.hostname) and (parts.scheme == "https" or loopback) and not parts.username


def inspect(r: Checker, key: str, value: object) -> InspectPolicy:
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
        if not _project_name(name):
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
