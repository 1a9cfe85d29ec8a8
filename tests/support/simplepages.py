"""What the loopback index lists, and how it renders it: PEP 503 HTML and PEP 691 JSON pages.

HTML carries ``data-requires-python``, ``data-yanked``, ``data-dist-info-metadata`` and
``data-core-metadata`` (PEP 592/658/714), ``#sha256=`` fragments and the repository-version meta
tag; JSON carries ``hashes``, ``yanked``, ``core-metadata`` and the PEP 700 ``versions``/``size``/
``upload-time`` fields (api-version 1.1). A project given a PEP 792 status gets the JSON
``project-status`` object or the ``pypi:project-status``/``-reason`` meta tags (api-version 1.4).
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)

API_VERSION = "1.1"
STATUS_API_VERSION = "1.4"  # PEP 792
Status = tuple[str, str | None] | None  # (status, reason) of a project
JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_TYPE = "text/html; charset=utf-8"


@dataclass(frozen=True, slots=True)
class ServedFile:
    """One listed file: ``data`` is what a download returns, ``sha256`` what the listing claims."""

    project: str  # canonical name
    filename: str  # as listed (may be hostile on purpose)
    data: bytes
    sha256: str | None
    href: str | None = None  # None: ../../files/<filename>#sha256=...
    yanked: str | bool | None = None  # None/False: not yanked; True or a reason: yanked
    upload_time: datetime | None = None
    requires_python: str | None = None
    metadata: bytes | None = None  # the PEP 658 sidecar; None: not served
    metadata_sha256: str | None = None
    version: str | None = None  # for PEP 700 ``versions``; None: not parseable from the name

    def url(self) -> str:
        if self.href is not None:
            return self.href
        base = "../../files/" + quote(self.filename, safe="")
        return base + (f"#sha256={self.sha256}" if self.sha256 else "")


def project_and_version(filename: str) -> tuple[str, str | None]:
    """Canonical project name and version parsed from a wheel or sdist file name."""
    try:
        if filename.endswith(".whl"):
            name, version, _, _ = parse_wheel_filename(filename)
            return name, str(version)
        name, version = parse_sdist_filename(filename)
        return name, str(version)
    except (InvalidWheelFilename, InvalidSdistFilename):
        stem = filename.rsplit("/", 1)[-1].split("-", 1)[0]
        return canonicalize_name(stem or "unknown"), None


def _yanked_json(value: str | bool | None) -> str | bool:
    return value if isinstance(value, str) else bool(value)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def project_json(project: str, files: list[ServedFile], status: Status = None) -> bytes:
    entries = []
    for f in files:
        entry: dict[str, object] = {
            "filename": f.filename,
            "url": f.url(),
            "hashes": {"sha256": f.sha256} if f.sha256 else {},
            "yanked": _yanked_json(f.yanked),
            "size": len(f.data),
        }
        if f.requires_python is not None:
            entry["requires-python"] = f.requires_python
        if f.upload_time is not None:
            entry["upload-time"] = _iso(f.upload_time)
        meta: dict[str, str] | bool = False
        if f.metadata is not None:
            meta = {"sha256": f.metadata_sha256} if f.metadata_sha256 else {}
        entry["core-metadata"] = meta
        entry["dist-info-metadata"] = meta
        entries.append(entry)
    versions = sorted({f.version for f in files if f.version is not None})
    page: dict[str, object] = {
        "meta": {"api-version": API_VERSION if status is None else STATUS_API_VERSION},
        "name": project,
        "files": entries,
        "versions": versions,
    }
    if status is not None:
        marker = {"status": status[0]}
        page["project-status"] = marker if status[1] is None else {**marker, "reason": status[1]}
    return json.dumps(page, indent=1).encode()


def project_html(project: str, files: list[ServedFile], status: Status = None) -> bytes:
    version = API_VERSION if status is None else STATUS_API_VERSION
    lines = [
        "<!DOCTYPE html>",
        "<html><head>",
        f'<meta name="pypi:repository-version" content="{version}">',
    ]
    if status is not None:
        lines.append(f'<meta name="pypi:project-status" content="{html.escape(status[0])}">')
    if status is not None and status[1] is not None:
        lines.append(f'<meta name="pypi:project-status-reason" content="{html.escape(status[1])}">')
    lines += [
        f"<title>Links for {html.escape(project)}</title>",
        "</head><body>",
        f"<h1>Links for {html.escape(project)}</h1>",
    ]
    for f in files:
        attrs = [f'href="{html.escape(f.url())}"']
        if f.requires_python is not None:
            attrs.append(f'data-requires-python="{html.escape(f.requires_python)}"')
        if f.yanked not in (None, False):
            reason = f.yanked if isinstance(f.yanked, str) else ""
            attrs.append(f'data-yanked="{html.escape(reason)}"')
        if f.metadata is not None:
            value = f"sha256={f.metadata_sha256}" if f.metadata_sha256 else "true"
            attrs.append(f'data-dist-info-metadata="{value}"')
            attrs.append(f'data-core-metadata="{value}"')
        lines.append(f"<a {' '.join(attrs)}>{html.escape(f.filename)}</a><br>")
    lines.append("</body></html>")
    return ("\n".join(lines) + "\n").encode()


def root_json(projects: list[str]) -> bytes:
    page = {"meta": {"api-version": API_VERSION}, "projects": [{"name": p} for p in projects]}
    return json.dumps(page, indent=1).encode()


def root_html(projects: list[str]) -> bytes:
    lines = [
        "<!DOCTYPE html>",
        "<html><head>",
        f'<meta name="pypi:repository-version" content="{API_VERSION}">',
        "<title>Simple index</title>",
        "</head><body>",
    ]
    lines += [f'<a href="{quote(p)}/">{html.escape(p)}</a><br>' for p in projects]
    lines.append("</body></html>")
    return ("\n".join(lines) + "\n").encode()


def wants_json(accept: str | None) -> bool:
    """PEP 691 content negotiation, simplified: JSON when the client lists it with q > 0."""
    for part in (accept or "").split(","):
        media, *params = (p.strip() for p in part.split(";"))
        if media != JSON_TYPE:
            continue
        q = next((p[2:] for p in params if p.startswith("q=")), "1")
        try:
            return float(q) > 0
        except ValueError:
            return False
    return False
