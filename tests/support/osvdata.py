"""Real OSV records copied from the PyPA advisory database (tests/data/osv/) and a zip of them."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from tests.support.paths import DATA

OSV_DIR = DATA / "osv"


def record(ident: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((OSV_DIR / f"{ident}.json").read_text(encoding="utf-8"))
    return data


def make_zip(dest: Path) -> Path:
    """The copied records as OSV publishes them: one ``<ID>.json`` per advisory in a zip."""
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(OSV_DIR.glob("*.json")):
            archive.write(file, file.name)
    return dest


def synthetic(ident: str, name: str, *ranges: list[dict[str, str]], **extra: Any) -> dict[str, Any]:
    """A minimal OSV record for ``name`` with ECOSYSTEM ranges given as event lists."""
    affected: dict[str, Any] = {
        "package": {"ecosystem": "PyPI", "name": name},
        "ranges": [{"type": "ECOSYSTEM", "events": events} for events in ranges],
    }
    if "versions" in extra:
        affected["versions"] = extra.pop("versions")
    return {"id": ident, "summary": f"{ident} summary", "affected": [affected], **extra}
