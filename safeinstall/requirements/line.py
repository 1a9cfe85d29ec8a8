"""What one requirement in a requirements file names: a project, a URL, a VCS URL or a path.

pip decides some of this by looking at the disk (``./x`` is a project directory only if it
exists); this module decides from the text alone, so a parse means the same on every machine:
a word that looks like a path (has ``/`` or starts with ``.``) or an archive file name is a path.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import TYPE_CHECKING, Literal

from packaging.specifiers import SpecifierSet
from packaging.utils import (
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_wheel_filename,
)

from safeinstall import urls
from safeinstall.errors import InputError, Location
from safeinstall.frozen import Frozen, _set

if TYPE_CHECKING:  # imported where used: packaging's PEP 508 parser is most of a hook's start-up
    from packaging.markers import Marker
    from packaging.requirements import Requirement

Kind = Literal["named", "url", "vcs", "path"]

VCS_SCHEMES = frozenset(
    {
        *(f"git+{s}" for s in ("http", "https", "ssh", "git", "file")),
        *(f"hg+{s}" for s in ("file", "http", "https", "ssh", "static-http")),
        *(f"svn+{s}" for s in ("ssh", "http", "https", "svn", "file")),
        *(f"bzr+{s}" for s in ("http", "https", "ssh", "sftp", "ftp", "lp", "file")),
    }
)
URL_SCHEMES = frozenset({"http", "https", "file", "ftp"}) | VCS_SCHEMES
_VCS_NAMES = ("git", "hg", "svn", "bzr")
_ARCHIVES = (
    *(".whl", ".zip", ".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tbz"),
    *(".tar.xz", ".txz", ".tlz", ".tar.lz", ".tar.lzma"),
)
# compiled on first use (re's cache): only a word ending in "]" (a path with extras) needs it
_EXTRAS_RE = r"^(.+)(\[[^\]]+\])$"
# Patterns of the rarer lines (URLs, full PEP 508 parses): compiled on first use, through re's
# cache, so that a lock's pins do not pay for them (start-up time).
_EGG = r"[#&]egg=([^&]*)"
_NAME = r"[A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9]"
_LEADING_WORD = r"\s*([^\s\[\](){}<>=!~;@,]+)"
# What a lock line is made of: NAME==VERSION, the version in PEP 440's normalized spelling; and
# what an input pins alike with extras: NAME[EXTRA,EXTRA]==VERSION, each extra a valid name, no
# spaces (its pattern is compiled on first use: a lock has no extras). This subset reads the
# same through packaging's PEP 508 parser (tests/property prove it), so it skips that parser;
# anything else, however close, takes the full path.
_PIN_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_PIN_VERSION = (
    r"(?:[0-9]+!)?[0-9]+(?:\.[0-9]+)*(?:(?:a|b|rc)[0-9]+)?(?:\.post[0-9]+)?(?:\.dev[0-9]+)?"
    r"(?:\+[a-z0-9]+(?:\.[a-z0-9]+)*)?"
)
_PINNED_RE = re.compile(f"({_PIN_NAME})==({_PIN_VERSION})")
_PINNED_EXTRAS = rf"({_PIN_NAME})\[({_PIN_NAME}(?:,{_PIN_NAME})*)\]==({_PIN_VERSION})"


def simple_pin(text: str) -> tuple[str, str, str] | None:
    """(name, extras as written or "", version) of ``text`` when it is a pin in the subset above,
    which packaging's PEP 508 parser reads alike; None: the full parser must read it. The one
    fast path for pins, of requirement files and of the lock reader alike."""
    pinned = _PINNED_RE.fullmatch(text)
    if pinned is not None:
        return pinned[1], "", pinned[2]
    pinned = re.fullmatch(_PINNED_EXTRAS, text) if "[" in text else None
    return None if pinned is None else (pinned[1], pinned[2], pinned[3])


class ParsedRequirement(Frozen):
    """What the requirement part of a line names (``interpret``'s result)."""

    __slots__ = ("extras", "kind", "marker", "name", "raw_name", "specifier", "url")
    kind: Kind
    name: NormalizedName | None
    raw_name: str | None
    specifier: SpecifierSet
    extras: frozenset[NormalizedName]
    marker: Marker | None
    url: str | None

    def __init__(
        self,
        *,
        kind: Kind,
        name: NormalizedName | None,
        raw_name: str | None,
        specifier: SpecifierSet,
        extras: frozenset[NormalizedName],
        marker: Marker | None,
        url: str | None,
    ) -> None:
        _set(self, "kind", kind)
        _set(self, "name", name)
        _set(self, "raw_name", raw_name)
        _set(self, "specifier", specifier)
        _set(self, "extras", extras)
        _set(self, "marker", marker)
        _set(self, "url", url)


def interpret(arg: str, *, editable: bool, location: Location) -> ParsedRequirement:
    """Read the requirement part of a line (or an ``-e`` value) as pip would, from text only.

    A URL (or path) it names splits (``urls.split``): whatever reads it later can take it apart."""
    parsed = _interpret(arg, editable=editable, location=location)
    if parsed.url is not None:
        check_url(parsed.url, location)
    return parsed


def check_url(url: str, location: Location) -> None:
    """InputError unless ``url`` splits (``urls.split``): a port that is a number from 0 to 65535,
    a closed IPv6 bracket."""
    try:
        urls.split(url)
    except ValueError as exc:
        raise InputError(
            f"malformed URL {urls.redact(url)!r}: {exc}",
            location=location,
            hint="fix the URL: a port is a number from 0 to 65535, an IPv6 host is written "
            "in [brackets]",
        ) from None


def _interpret(arg: str, *, editable: bool, location: Location) -> ParsedRequirement:
    if editable:
        return _editable(arg, location)
    if _is_url(arg, location):
        head, marker = _split_marker(arg, "; ", location)
        url = head.strip()
        raw_name, specifier = _name_from_link(url, location)
        return _made(url_kind(url), raw_name, specifier, extras=frozenset(), marker=marker, url=url)
    head, marker = _split_marker(arg, ";", location)
    head = head.strip()
    path, extras = _strip_extras(head, location)
    pathish = _looks_like_path(head) or path.lower().endswith(_ARCHIVES)
    if pathish and not ("@" in head and not _looks_like_path(head.split("@", 1)[0])):
        raw_name, specifier = _name_from_link(path, location)
        return _made("path", raw_name, specifier, extras=extras, marker=marker, url=path)
    pinned = simple_pin(head)
    if pinned is not None:
        name, written, version = pinned
        extras = frozenset(canonicalize_name(e) for e in written.split(",") if e)
        specifier = SpecifierSet(f"=={version}")
        return _made("named", name, specifier, extras=extras, marker=marker, url=None)
    req = _pep508(head, location)
    kind: Kind = "named" if req.url is None else url_kind(req.url)
    extras = frozenset(canonicalize_name(e) for e in req.extras)
    return _made(kind, req.name, req.specifier, extras=extras, marker=marker, url=req.url)


def url_kind(url: str) -> Kind:
    """``vcs`` for git+/hg+/svn+/bzr+ URLs, ``path`` without a scheme, else ``url``."""
    scheme = url.partition(":")[0].lower() if ":" in url else ""
    if scheme in VCS_SCHEMES or ("+" in scheme and scheme.partition("+")[0] in _VCS_NAMES):
        return "vcs"
    if not re.fullmatch(r"[a-z][a-z0-9+.-]+", scheme):  # no scheme (or a drive letter)
        return "path"
    return "url"


def _editable(arg: str, location: Location) -> ParsedRequirement:
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        req = Requirement(arg)
    except InvalidRequirement:
        req = None
    if req is not None and req.url is not None:
        kind = url_kind(req.url)
        if kind == "url" and not req.url.lower().startswith("file:"):
            raise _not_editable(arg, location)
        extras = frozenset(canonicalize_name(e) for e in req.extras)
        return _made(kind, req.name, req.specifier, extras=extras, marker=req.marker, url=req.url)
    path, extras = _strip_extras(arg, location)
    if path.lower().startswith("file:"):
        raw_name, _ = _name_from_link(path, location, wheels=False)
        return _made("url", raw_name, SpecifierSet(), extras=extras, marker=None, url=path)
    prefixed = next((f"{v}+{arg}" for v in _VCS_NAMES if arg.lower().startswith(f"{v}:")), arg)
    if _is_url(prefixed, location):
        if url_kind(prefixed) != "vcs":
            raise _not_editable(arg, location)
        raw_name, _ = _name_from_link(prefixed, location, wheels=False)
        if raw_name is None:
            raise InputError(
                f"editable VCS requirement {arg!r} does not name its project",
                location=location,
                hint="write -e 'NAME @ git+https://...' or add #egg=NAME",
            )
        return _made("vcs", raw_name, SpecifierSet(), extras=frozenset(), marker=None, url=arg)
    return _made("path", None, SpecifierSet(), extras=extras, marker=None, url=path)


def _not_editable(arg: str, location: Location) -> InputError:
    return InputError(
        f"{arg!r} cannot be installed in editable mode",
        location=location,
        hint="use -e with a local project directory or a VCS URL (git+, hg+, svn+, bzr+)",
    )


def _made(
    kind: Kind,
    raw_name: str | None,
    specifier: SpecifierSet,
    *,
    extras: frozenset[NormalizedName],
    marker: Marker | None,
    url: str | None,
) -> ParsedRequirement:
    name = canonicalize_name(raw_name) if raw_name is not None else None
    return ParsedRequirement(
        kind=kind,
        name=name,
        raw_name=raw_name,
        specifier=specifier,
        extras=extras,
        marker=marker,
        url=url,
    )


def _is_url(text: str, location: Location) -> bool:
    if ":" not in text and "/" not in text:  # no scheme, and no "//" for urlsplit to refuse
        return False
    check_url(text, location)
    return urllib.parse.urlsplit(text).scheme in URL_SCHEMES


def _looks_like_path(text: str) -> bool:
    return "/" in text or text.startswith(".")


def _split_marker(arg: str, sep: str, location: Location) -> tuple[str, Marker | None]:
    head, found, marker_text = arg.partition(sep)
    if not found or not marker_text.strip():
        return head, None
    from packaging.markers import InvalidMarker, Marker

    from safeinstall.requirements.markers import marker_problem

    try:
        marker = Marker(marker_text.strip())
        problem = marker_problem(marker)
    except InvalidMarker as exc:
        problem = _first_line(exc)
    if problem is None:
        return head, marker
    raise InputError(
        f"invalid environment marker {marker_text.strip()!r} on {head.strip()!r}: {problem}",
        location=location,
        hint='write a PEP 508 marker such as python_version >= "3.11"',
    )


def _strip_extras(text: str, location: Location) -> tuple[str, frozenset[NormalizedName]]:
    # ("$" matches before a final newline too)
    found = re.match(_EXTRAS_RE, text) if text.endswith(("]", "]\n")) else None
    if found is None:
        return text, frozenset()
    extras = _pep508("placeholder" + found.group(2).lower(), location).extras
    return found.group(1).rstrip(), frozenset(canonicalize_name(e) for e in extras)


def _name_from_link(
    url: str, location: Location, *, wheels: bool = True
) -> tuple[str | None, SpecifierSet]:
    """Project name (and ``==version`` for a wheel) a bare URL or path names, as pip reads it."""
    without_fragment = url.partition("#")[0].partition("?")[0]
    filename = urllib.parse.unquote(without_fragment.rstrip("/").rpartition("/")[2])
    if wheels and filename.lower().endswith(".whl"):
        try:
            _, version, _, _ = parse_wheel_filename(filename)
        except InvalidWheelFilename as exc:
            raise InputError(
                f"invalid wheel file name {filename!r}: {_first_line(exc)}",
                location=location,
                hint="wheel names are NAME-VERSION(-BUILD)-PYTHON-ABI-PLATFORM.whl",
            ) from None
        return filename.partition("-")[0], SpecifierSet(f"=={version}")
    egg = re.search(_EGG, url)
    if egg is None:
        return None, SpecifierSet()
    _check_ascii(egg.group(1), location)
    if not re.fullmatch(_NAME, egg.group(1), re.IGNORECASE | re.ASCII):
        raise InputError(
            f"#egg={egg.group(1)} is not a valid project name",
            location=location,
            hint="write #egg=NAME with the project's name only, or use 'NAME @ URL'",
        )
    return egg.group(1), SpecifierSet()


def _pep508(text: str, location: Location) -> Requirement:
    from packaging.requirements import InvalidRequirement, Requirement

    word = re.match(_LEADING_WORD, text)
    if word is not None:
        _check_ascii(word.group(1), location)
    try:
        return Requirement(text)
    except InvalidRequirement as exc:
        raise InputError(
            f"invalid requirement {text!r}: {_first_line(exc)}",
            location=location,
            hint='write a PEP 508 requirement, e.g. name[extra]==1.0 ; python_version >= "3.11"',
        ) from None


def _check_ascii(name: str, location: Location) -> None:
    odd = [c for c in dict.fromkeys(name) if not c.isascii()]
    if odd:
        import unicodedata

        described = ", ".join(f"U+{ord(c):04X} {unicodedata.name(c, 'unnamed')}" for c in odd)
        raise InputError(
            f"project name {name!r} contains non-ASCII characters ({described}); "
            "project names are ASCII only",
            location=location,
            hint="retype the name with ASCII letters, digits, '.', '-' and '_'; "
            "a look-alike letter may point at a different project",
        )


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0].rstrip(".") if str(exc) else type(exc).__name__
