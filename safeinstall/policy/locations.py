"""The policy's keys that name places: ``indexes`` (name, url, packages, file-hosts, insecure),
``find-links`` and ``trusted-hosts``; every URL split and every host checked."""

from __future__ import annotations

import re

from safeinstall.policy.checker import ALNUM, Checker, globs, kind_of, spelled, strings
from safeinstall.policy.model import IndexSpec
from safeinstall.urls import is_loopback, normalize, split, strip_credentials

_INDEX_NAME = ALNUM | frozenset("._-")  # [A-Za-z0-9][A-Za-z0-9._-]*


_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"


# compiled on first use (re's cache): only a policy that names hosts is read with it
_HOST = rf"(?:{_LABEL}(?:\.{_LABEL})*\.?|\[[0-9A-Fa-f:.]+\])(?::\d{{1,5}})?"


_INDEX_KEYS = ("name", "url", "packages", "file-hosts", "insecure")


def hosts(r: Checker, key: str, value: object, *needles: str) -> tuple[str, ...]:
    out = []
    for item in strings(r, key, value, *needles):
        if (
            re.fullmatch(_HOST, item)
            and int(item.rpartition("]")[2].partition(":")[2] or 0) < 65536
        ):
            out.append(item.lower().rstrip("."))
        else:
            r.problem(
                f"{key!r}: {item!r} is not a host name (give host or host:port, no scheme or path)",
                *needles,
                key,
                '"' + item,
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
    if scheme == "file" and host in ("", "localhost") and parts.path.startswith("/"):
        return normalized  # a local index: a directory tree (see policy/hosts.py)
    if scheme not in ("https", "http") or not host:
        r.problem(f"{key!r}: {bare!r} is not an https URL (or a file:// directory)", *needles)
    elif scheme == "http" and not is_loopback(host) and not insecure:
        r.problem(
            f"{key!r}: {bare!r} uses plain http; use https (http is accepted only for "
            "loopback hosts, or with insecure = true on that index)",
            *needles,
        )
    return normalized


def indexes(r: Checker, key: str, value: object) -> tuple[IndexSpec, ...]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        r.problem(
            f"{key!r} must be an array of tables with name and url, not {kind_of(value)}", key
        )
        return ()
    specs: list[IndexSpec] = []
    bound: dict[str, str] = {}
    for n, entry in enumerate(value):
        where = f"{key}[{n}]"
        r.unknown_keys(entry, _INDEX_KEYS, f" in {where!r}")
        name, url, insecure = entry.get("name"), entry.get("url"), entry.get("insecure", False)
        if not isinstance(name, str) or not spelled(name, _INDEX_NAME, first=ALNUM):
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
        packages = globs(r, f"{where}.packages", entry.get("packages", []), key)
        for pattern in packages:
            if pattern in bound:
                r.problem(
                    f"'{where}.packages': {pattern!r} is bound to both "
                    f"{bound[pattern]!r} and {name!r}",
                    key,
                    '"' + pattern,
                )
            bound.setdefault(pattern, name)
        file_hosts = hosts(r, f"{where}.file-hosts", entry.get("file-hosts", []), key)
        specs.append(
            IndexSpec(
                name=name, url=url, packages=packages, file_hosts=file_hosts, insecure=insecure
            )
        )
    return tuple(specs)


def find_links(r: Checker, key: str, value: object) -> tuple[str, ...]:
    out = []
    for item in strings(r, key, value):
        if "://" in item and not item.lower().startswith("file:"):
            _check_url(r, key, item, insecure=False, needles=(key, '"' + item))
        out.append(item)  # as written: requirement files are compared against it
    return tuple(out)
