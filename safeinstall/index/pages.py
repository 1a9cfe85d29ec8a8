"""Pure parsers of one project page: PEP 691 JSON and PEP 503 HTML into a validated ProjectPage.

Every file entry is checked before it becomes a DistFile (THREATS.md cases 30-39): a bare file name
that parses as a wheel or sdist of the project asked for, a URL on the index's host or one of its
file hosts whose last segment is that name, well-formed hashes, requires-python and upload time.
Entries that are not wheels or sdists (.egg, .exe, other projects' names) are skipped; anything
malformed or hostile fails the whole page (fail closed).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from itertools import chain
from typing import Any, TypeVar
from urllib.parse import unquote, urljoin, urlunsplit

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from safeinstall.digests import HEX_LENGTHS, is_hex
from safeinstall.errors import IndexServerError, IntegrityError, SafeinstallError
from safeinstall.files.cachedir import DerivedCache
from safeinstall.index import filenames as distname
from safeinstall.index import pagetext
from safeinstall.index.distfile import DistFile, ProjectPage, listed_versions, project_status
from safeinstall.index.filenames import FileFilter
from safeinstall.index.pagetext import FileObjects
from safeinstall.policy.hosts import index_allows, listed_file_origin
from safeinstall.policy.model import IndexSpec
from safeinstall.urls import split

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_TYPES = ("application/vnd.pypi.simple.v1+html", "text/html")
FUTURE_SLACK = timedelta(days=1)
_T = TypeVar("_T")

_ALGORITHM = re.compile(r"[a-z0-9_]{1,32}\Z")
# what an index may also send (kept, never trusted: only sha256 is pinned)
_DIGEST_HEX_LENGTHS = {"md5": 32, "sha1": 40, "sha224": 56} | HEX_LENGTHS
_Obj = dict[str, Any]  # a JSON object


def parse_page(
    body: bytes,
    content_type: str,
    *,
    page_url: str,
    project: str,
    index: IndexSpec,
    now: datetime | None = None,
    fits: FileFilter | None = None,
    memo: DerivedCache | None = None,
) -> ProjectPage:
    """Parse by the served Content-Type; no sniffing: an unknown type is an error.

    With ``fits``, files it refuses are dropped (of a release with nothing else, one is kept, to
    say why it has nothing usable): a lock for a few targets needs a few of the thousands of
    files listed. ``memo``: the parsed-page cache (JSON pages only; see ``pagetext.py``).
    The lock's helper splits it in two (``client.py``): ``thin_page`` there, ``built_page`` here.
    """
    where: dict[str, Any] = {"page_url": page_url, "project": project, "index": index}
    if _mime(content_type) == JSON_TYPE:
        return _json_page(body, memo, **where, now=now, fits=fits)[0]
    return built_page(body, content_type, **where, now=now, fits=fits)


def thin_page(
    body: bytes,
    content_type: str,
    *,
    page_url: str,
    project: str,
    index: IndexSpec,
    now: datetime | None = None,
    fits: FileFilter | None = None,
    memo: DerivedCache | None = None,
) -> dict[str, Any] | bytes:
    """A JSON page's object, checked whole (name, versions, status, every file's name), with only
    the file objects ``fits`` keeps; any other page's bytes. ``built_page`` checks what is left."""
    if _mime(content_type) != JSON_TYPE:
        return body
    where: dict[str, Any] = {"page_url": page_url, "project": project, "index": index}
    return _json_page(body, memo, **where, now=now, fits=fits)[1]


def _json_page(body: bytes, memo: DerivedCache | None, **where: Any) -> tuple[ProjectPage, _Obj]:
    """A PEP 691 v1 JSON page (PEP 592, 700, 714) and its object with only the kept files."""
    page_url, project, index, fits = (where[k] for k in ("page_url", "project", "index", "fits"))
    new = partial(_Builder, page_url, project, index, where["now"], fits=fits)
    try:
        text: str | None = body.decode("utf-8")
    except UnicodeDecodeError:
        text = None  # json.loads reads UTF-16 and -32 too
    key = ""  # of the parsed-page cache: set where there is one and the text is UTF-8
    if memo is not None and text is not None:
        key = pagetext.memo_key(body, page_url, project, index, fits)
        with contextlib.suppress(SafeinstallError):  # an entry that does not fit: parse anew
            if (rest := pagetext.read_remembered(text, memo.load(key))) is not None:
                builder = new()  # its kept files only
                return builder.json_page(rest.data)[0], {**rest.data, "files": builder.kept}
    # read with the places of its files (as fast as json.loads): the cache keeps those
    read = pagetext.read_json(text) if text is not None else None
    try:
        data = read.data if read is not None else json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise _bad(index, page_url, f"its JSON does not parse ({exc})") from None
    builder = new()
    page, kept = builder.json_page(data)
    if memo is not None and read is not None:  # its files are FileObjects
        memo.store(key, pagetext.remembered(read, kept))
    return page, {**data, "files": builder.kept}


def built_page(
    thin: dict[str, Any] | bytes,
    content_type: str,
    *,
    page_url: str,
    project: str,
    index: IndexSpec,
    now: datetime | None = None,
    fits: FileFilter | None = None,
) -> ProjectPage:
    """The page of what ``thin_page`` gave for a page served as ``content_type``."""
    if isinstance(thin, dict):
        return _Builder(page_url, project, index, now, fits=fits).json_page(thin)[0]
    if (mime := _mime(content_type)) in HTML_TYPES:
        return _html_page(thin, page_url=page_url, project=project, index=index, now=now, fits=fits)
    raise IndexServerError(
        f"index {index.name!r} served {page_url} as {mime or 'no content type'!r}, "
        "which is not a simple-repository page",
        hint="check the index URL in the policy; it must point at a PEP 503/691 simple index",
    )


def _mime(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def parse_json_page(body: bytes, **where: Any) -> ProjectPage:
    """A PEP 691 v1 JSON project page (with PEP 592, 700 and 714 fields): ``parse_page``."""
    return parse_page(body, JSON_TYPE, **where)


def _html_page(body: bytes, **where: Any) -> ProjectPage:
    """A PEP 503 HTML project page (with PEP 592, 629, 658 and 714 attributes)."""
    page_url, project, index = (where[k] for k in ("page_url", "project", "index"))
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _bad(index, page_url, "its HTML is not UTF-8") from None
    html = pagetext.read_anchors(text)
    if html.repository_version is not None:
        _check_api_version(html.repository_version, index, page_url)
    try:
        base = urljoin(page_url, html.base) if html.base is not None else page_url
        split(base)
    except ValueError as exc:
        raise _bad(index, page_url, f"its <base href> is not a valid URL: {exc}") from None
    builder = _Builder(base, project, index, where["now"], fits=where["fits"])
    builder.add(html.entries)
    return builder.page(*_field(project_status, html.project_status, index, page_url))


class _Builder:
    """Groups a page's entries by release; validates a release's entries when it is asked for.

    Entries are PEP 691 file objects (HTML anchors are turned into the same shape). Only what
    grouping needs is looked at up front: that each entry is an object whose file name is bare
    (a hostile name anywhere fails the page) and the version the name carries. Everything else
    is checked when the release is asked for, and most never are.
    """

    def __init__(
        self,
        base_url: str,
        project: str,
        index: IndexSpec,
        now: datetime | None,
        *,
        fits: FileFilter | None,
    ) -> None:
        self.base_url = base_url
        self.fits = fits
        self.project = canonicalize_name(project)
        self.index = index
        self.now = now or datetime.now(UTC)
        self.versions: tuple[Version, ...] | None = None
        self._listed: frozenset[Version] = frozenset()  # per release: a set, not a scan
        self.pending: dict[Version, list[range]] = {}  # places in ``self.kept``
        self.kept: FileObjects | list[Any] = []  # the entries kept (what the helper sends)
        self._origins: dict[tuple[str, str], str] = {}  # (scheme, netloc) -> trusted netloc

    def page(self, status: str, reason: str | None) -> ProjectPage:
        lazy = (self.pending.keys(), self._release)
        page = ProjectPage(self.project, self.index.name, (), self.versions, lazy=lazy)
        page.status, page.status_reason = status, reason
        return page

    def json_page(self, data: object) -> tuple[ProjectPage, list[int]]:
        """The page, and the places in ``data["files"]`` of the file objects kept (by release)."""
        if not isinstance(data, dict):
            raise self._error("its JSON is not an object")
        meta = data.get("meta")
        api = meta.get("api-version") if isinstance(meta, dict) else None
        _check_api_version(api, self.index, self.base_url)
        name = data.get("name")
        if not isinstance(name, str) or canonicalize_name(name) != self.project:
            raise self._error(f"it names project {name!r} instead of {self.project!r}")
        files = data.get("files")
        if not isinstance(files, list | FileObjects):
            raise self._error("it has no 'files' list")
        self.versions = _field(listed_versions, data.get("versions"), self.index, self.base_url)
        self._listed = frozenset(self.versions or ())
        kept = self.add(files)
        status = _field(project_status, data.get("project-status", {}), self.index, self.base_url)
        return self.page(*status), kept

    def add(self, entries: list[Any] | FileObjects) -> list[int]:
        """Groups ``entries`` (once a page); returns the places of those kept, release by
        release. Of ``FileObjects``, the page keeps their text, decoded when asked for."""
        groups: dict[str, list[int]] = {}
        unfit: dict[str, int] = {}  # version text -> one file dropped
        wheel_fits = self.fits.wheel if self.fits is not None else None
        sdist_fits = self.fits is None or self.fits.sdist(self.project)
        if isinstance(entries, FileObjects):
            names: Sequence[Any] = entries.names
            if len(names) != len(entries):  # not as read_json makes them: not from a page
                raise self._error("its file objects and their names do not match")
        else:
            names = [*map(pagetext.name, entries)]
        if (fault := pagetext.name_fault(names, entries)) is not None:
            raise self._error(fault)
        for at, filename in enumerate(names):  # the hot loop of a lock: up to 10,000 a page
            if filename.endswith(".whl"):
                parts = filename.split("-", 2)
                if len(parts) != 3:
                    continue
                text, fits = parts[1], wheel_fits is None or wheel_fits(parts[2])
            elif filename.endswith(".tar.gz"):
                text, fits = filename[:-7].rpartition("-")[2], sdist_fits
            elif filename.endswith(".zip"):
                text, fits = filename[:-4].rpartition("-")[2], sdist_fits
            else:
                continue  # .egg, .exe, ...: ignored, as installers do
            if fits:
                groups.setdefault(text, []).append(at)
            elif text not in unfit or filename.endswith(".whl"):
                unfit[text] = at  # a wheel says more: "no wheel for this target"
        for text, at in unfit.items():
            groups.setdefault(text, [at])  # only for a release with nothing else
        kept: list[int] = []
        for text, group in groups.items():
            try:
                version = distname.version(text)
            except InvalidVersion:
                continue  # not a wheel or sdist name installers accept: ignored, as they do
            if self.versions is not None and version not in self._listed:
                continue  # PEP 700: a version the index does not list is never a candidate
            self.pending.setdefault(version, []).append(range(len(kept), len(kept) + len(group)))
            kept.extend(group)
        if isinstance(entries, FileObjects):  # one text, not a string for each
            whole = kept == [*range(len(entries))] and entries.compact()  # a thin page's
            self.kept = entries if whole else entries.only(kept)
        else:
            self.kept = [entries[at] for at in kept]
        return kept

    def _release(self, version: Version) -> tuple[DistFile, ...]:
        files: dict[str, DistFile] = {}
        for at in chain.from_iterable(self.pending.get(version, [])):
            self._file(version, files, self._entry(at))  # an error leaves them: raised again
        self.pending.pop(version, None)
        return tuple(files.values())

    def _entry(self, at: int) -> Mapping[str, Any]:
        """The kept entry at ``at``: of ``FileObjects``, decoded again, and the one named."""
        if not isinstance(self.kept, FileObjects):
            return self.kept[at]  # type: ignore[no-any-return]
        if (entry := pagetext.file_object(self.kept, at)) is None:
            name = self.kept.names[at]
            raise self._error(f"the file entry of {name!r} is not one for that file")
        return entry

    def _file(self, version: Version, files: dict[str, DistFile], entry: Mapping[str, Any]) -> None:
        filename, href = entry["filename"], entry.get("url")
        if not isinstance(href, str):
            raise self._error(f"the file entry of {filename!r} lacks a 'url' string")
        parsed = distname.parse_dist(filename)
        if parsed is None or parsed[0] != self.project or parsed[1] != version:
            return  # not a wheel or sdist of this project: ignored, as installers do
        kind, tags = parsed[2], parsed[3]
        hashes = entry.get("hashes", {})
        if not isinstance(hashes, dict):
            raise self._error(f"the hashes of {filename!r} are not an object")
        requires_python = entry.get("requires-python")
        if requires_python is not None and not isinstance(requires_python, str):
            raise self._error(f"the requires-python of {filename!r} is not a string")
        yanked = entry.get("yanked", False)
        if not isinstance(yanked, bool | str):
            raise self._error(f"the yanked value of {filename!r} is not a boolean or a string")
        size = entry.get("size")
        if size is not None and (type(size) is not int or size < 0):
            raise self._error(f"the size of {filename!r} is not a non-negative integer")
        upload_time = entry.get("upload-time")
        if upload_time is not None and not isinstance(upload_time, str):
            raise self._error(f"the upload-time of {filename!r} is not a string")
        metadata = entry.get("core-metadata", entry.get("dist-info-metadata", False))
        metadata_hashes: dict[str, str] | None = None
        if metadata is True:
            metadata_hashes = {}
        elif isinstance(metadata, dict):
            metadata_hashes = self._hashes(filename, metadata)
        dist = DistFile(
            project=self.project,
            version=version,
            filename=filename,
            url=self._url(filename, href),
            index=self.index.name,
            kind=kind,
            hashes=self._hashes(filename, hashes),
            tags=tags,
            requires_python=self._requires_python(filename, requires_python),
            yanked=None if yanked is False else "" if yanked is True else yanked,
            upload_time=self._upload_time(filename, upload_time),
            size=size,
            metadata_hashes=metadata_hashes,
        )
        if (known := files.get(filename)) is None:
            files[filename] = dist
        elif known.hashes != dist.hashes:
            raise IntegrityError(
                f"index {self.index.name!r} lists {filename} twice with different hashes",
                hint="the index is inconsistent or tampered with; report it to its operator",
            )
        elif known != dist:
            raise self._error(f"it lists {filename} twice with different details")

    def _url(self, filename: str, href: str) -> str:
        href = href.strip()
        try:
            absolute = href if href.startswith("https://") else urljoin(self.base_url, href)
            parts = split(absolute)
        except ValueError as exc:  # a bad port or bracket: the server's data, not our bug
            raise self._error(f"the URL of {filename} is not valid: {exc}") from None
        netloc = self._origins.get((parts.scheme, parts.netloc))
        if parts.scheme == "file" and not index_allows(self.index, absolute):
            netloc = None  # a local tree: every file is checked (paths, not one host)
        if netloc is None:
            netloc = listed_file_origin(self.index, filename, parts)
            self._origins[(parts.scheme, parts.netloc)] = netloc
        path = parts.path
        if "%" in path or "/." in path or not path.endswith("/" + filename):
            segments = [unquote(s) for s in path.split("/")]
            if any(s in (".", "..") for s in segments) or segments[-1] != filename:
                raise self._error(f"the URL of {filename} does not end with that file name")
        return urlunsplit((parts.scheme, netloc, path, parts.query, ""))

    def _hashes(self, filename: str, raw: Mapping[Any, Any]) -> dict[str, str]:
        result: dict[str, str] = {}
        for algorithm, digest in raw.items():
            name = str(algorithm).strip().lower()
            value = digest.strip().lower() if isinstance(digest, str) else ""
            expected = _DIGEST_HEX_LENGTHS.get(name, len(value))
            if not _ALGORITHM.match(name) or not is_hex(value) or len(value) != expected:
                raise self._error(f"the {name} hash of {filename} is malformed")
            result[name] = value
        return result

    def _requires_python(self, filename: str, raw: str | None) -> SpecifierSet | None:
        if raw is None or not raw.strip():
            return None
        try:
            return distname.specifier(raw)
        except InvalidSpecifier:
            raise self._error(f"the requires-python {raw!r} of {filename} is malformed") from None

    def _upload_time(self, filename: str, raw: str | None) -> datetime | None:
        if raw is None:
            return None
        try:
            when = datetime.fromisoformat(raw)
        except ValueError:
            raise self._error(f"the upload-time {raw!r} of {filename} is malformed") from None
        if when.tzinfo is None:
            raise self._error(f"the upload-time {raw!r} of {filename} has no time zone")
        if when > self.now + FUTURE_SLACK:
            raise self._error(f"the upload-time {raw} of {filename} lies in the future")
        return when

    def _error(self, why: str) -> IndexServerError:
        return _bad(self.index, self.base_url, why)


def _field(read: Callable[[object], _T], raw: object, index: IndexSpec, page_url: str) -> _T:
    """``read(raw)``, a page-level field (``distfile``); its ValueError fails the page."""
    try:
        return read(raw)
    except ValueError as exc:
        raise _bad(index, page_url, str(exc)) from None


def _check_api_version(raw: object, index: IndexSpec, page_url: str) -> None:
    major = raw.split(".", 1)[0].strip() if isinstance(raw, str) else None
    if major != "1":
        raise _bad(index, page_url, f"it uses repository API version {raw!r}; only 1.x is known")


def _bad(index: IndexSpec, page_url: str, why: str) -> IndexServerError:
    return IndexServerError(
        f"index {index.name!r} served an unusable page at {page_url}: {why}",
        hint="check the index URL in the policy, or report the problem to the index's operator",
    )
