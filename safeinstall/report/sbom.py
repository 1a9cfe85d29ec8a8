"""A CycloneDX 1.6 JSON bill of materials for a lock.

One component per locked package (name and version; a package locked at one version under
several markers is one component): its purl (``pkg:pypi/name@version``, with
``repository_url`` when it comes from an index other than the default one), the sha256 of every
locked file (each file is also a ``distribution`` external reference with its own hash and URL,
when the lock knows it), its license (an SPDX ``license.id``, or an ``expression``), and the
index it was locked from as properties. ``dependencies`` is the lock's graph (``graph.py``).
The timestamp honours ``SOURCE_DATE_EPOCH``, which also makes the serial number reproducible.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from safeinstall import urls
from safeinstall.errors import UsageError
from safeinstall.lock.model import Lock, LockedPackage
from safeinstall.policy.licenses import canonical
from safeinstall.report.graph import build

SPEC_VERSION = "1.6"
SCHEMA = "http://cyclonedx.org/schema/bom-1.6.schema.json"


def timestamp(environ: Mapping[str, str]) -> datetime:
    """Now, or ``SOURCE_DATE_EPOCH`` (reproducible builds) when set."""
    raw = environ.get("SOURCE_DATE_EPOCH")
    if raw is None:
        return datetime.now(UTC).replace(microsecond=0)
    try:
        return datetime.fromtimestamp(int(raw), UTC)
    except (ValueError, OverflowError, OSError):
        raise UsageError(
            f"SOURCE_DATE_EPOCH={raw!r} is not a Unix time in seconds",
            hint="set it to an integer, e.g. $(git log -1 --format=%ct), or unset it",
        ) from None


def purl(pkg: LockedPackage, default_index: str | None) -> str:
    out = f"pkg:pypi/{pkg.name}@{quote(str(pkg.version), safe='')}"
    if pkg.index_url and (default_index is None or urls.normalize(pkg.index_url) != default_index):
        out += "?repository_url=" + quote(urls.strip_credentials(pkg.index_url), safe="")
    return out


def to_cyclonedx(
    lock: Lock,
    *,
    tool_version: str,
    when: datetime,
    default_index: str | None = None,
    reproducible: bool = False,
) -> dict[str, Any]:
    """The BOM as a JSON-able dict. ``default_index``: the index purls need not name (None:
    every purl names its index). ``reproducible``: a serial number derived from the content."""
    default = urls.normalize(default_index) if default_index else None
    graph = build(lock)
    refs = {name: {purl(p, default) for p in pkgs} for name, pkgs in graph.packages.items()}
    grouped: dict[str, list[LockedPackage]] = {}
    for pkg in lock.packages:  # one version under two markers: one component, all its files
        grouped.setdefault(purl(pkg, default), []).append(pkg)
    # what locked sdists build with (lock.builds): components outside the runtime graph
    built_for: dict[str, set[str]] = {}
    build_only: dict[str, list[LockedPackage]] = {}
    for built in lock.builds:
        for pkg in built.packages:
            ref = purl(pkg, default)
            built_for.setdefault(ref, set()).add(f"{built.name}=={built.version}")
            if ref not in grouped:
                build_only.setdefault(ref, []).append(pkg)
    dependencies = [
        {
            "ref": ref,
            "dependsOn": sorted({r for c in graph.children[pkgs[0].name] for r in refs[c]}),
        }
        for ref, pkgs in grouped.items()
    ]
    bom: dict[str, Any] = {
        "$schema": SCHEMA,
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": "",
        "version": 1,
        "metadata": {
            "timestamp": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tools": {
                "components": [
                    {"type": "application", "name": "safeinstall", "version": tool_version}
                ]
            },
            "properties": [{"name": "safeinstall:lock-digest", "value": lock.digest}]
            if lock.digest
            else [],
        },
        "components": [
            _component(ref, pkgs, built_for.get(ref, set()), build_only=ref in build_only)
            for ref, pkgs in sorted({**grouped, **build_only}.items())
        ],
        "dependencies": sorted(dependencies, key=lambda d: d["ref"]),
    }
    if reproducible:
        content = json.dumps(bom, sort_keys=True).encode()
        serial = uuid.UUID(bytes=hashlib.sha256(content).digest()[:16], version=4)
    else:
        serial = uuid.uuid4()
    bom["serialNumber"] = serial.urn
    return bom


def _component(
    ref: str, pkgs: list[LockedPackage], built_for: set[str], *, build_only: bool
) -> dict[str, Any]:
    """One component; ``built_for``: the locked sdists it is a build requirement of, and
    ``build_only`` when nothing installs it (CycloneDX ``scope`` ``excluded``: not at run time)."""
    first = pkgs[0]
    files = {f.sha256: f for pkg in pkgs for f in pkg.files}
    component: dict[str, Any] = {
        "type": "library",
        "bom-ref": ref,
        "name": first.name,
        "version": str(first.version),
        "purl": ref,
        "hashes": [_hash(h) for h in sorted(files)],
    }
    if build_only:
        component["scope"] = "excluded"
    license = canonical(first.license) if first.license else None
    if license is not None:
        single = " " not in license and "+" not in license and not license.startswith("LicenseRef-")
        component["licenses"] = (
            [{"license": {"id": license}}] if single else [{"expression": license}]
        )
    references = {
        f.url: {
            "type": "distribution",
            "url": urls.strip_credentials(f.url),
            "comment": f.filename,
            "hashes": [_hash(f.sha256)],
        }
        for f in files.values()
        if f.url
    }
    if references:
        component["externalReferences"] = [references[u] for u in sorted(references)]
    properties = [
        ("safeinstall:index-name", first.index_name),
        ("safeinstall:index", urls.strip_credentials(first.index_url) if first.index_url else None),
        *(("safeinstall:marker", p.marker) for p in pkgs),
        *(("safeinstall:build-requirement-of", sdist) for sdist in sorted(built_for)),
    ]
    component["properties"] = [{"name": k, "value": v} for k, v in properties if v]
    return component


def _hash(sha256: str) -> dict[str, str]:
    return {"alg": "SHA-256", "content": sha256}
