"""An offline OSV database for air-gapped CI (``safeinstall audit --db PATH``).

``PATH`` is either the zip OSV publishes per ecosystem (one ``<ID>.json`` per advisory) or a
directory of such files (searched recursively). Nothing is extracted: members are read in memory,
so member names never become local paths. A record that cannot be read is an error naming it: an
audit that silently skipped records would pass for the wrong reason.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from packaging.utils import NormalizedName
from packaging.version import Version

from safeinstall.audit.advisories import Advisory, MalformedAdvisory, mentions, parse_advisory
from safeinstall.errors import InputError, Location

MAX_RECORD_BYTES = 16 * 1024 * 1024  # the largest real record is a few hundred KiB
_HINT = "use the OSV database zip for PyPI, or a directory of its .json files"


class LocalDatabase:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def advisories(self, packages: Sequence[tuple[NormalizedName, Version]]) -> list[Advisory]:
        names = frozenset(name for name, _ in packages)
        found = []
        for where, raw in self._records():
            try:
                data = json.loads(raw)
                if mentions(data, names):
                    found.append(parse_advisory(data))
            except (ValueError, MalformedAdvisory) as exc:
                detail = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
                raise InputError(
                    f"{where} is not a valid OSV record: {detail}",
                    location=Location(str(self.path)),
                    hint="re-download the database, or remove that file",
                ) from exc
        return found

    def _records(self) -> Iterator[tuple[str, bytes]]:
        """(name for messages, bytes) of every .json record."""
        if self.path.is_dir():
            for file in sorted(self.path.rglob("*.json")):
                if file.is_file():
                    yield str(file.relative_to(self.path)), _read_limited(file)
            return
        try:
            archive = zipfile.ZipFile(self.path)
        except (OSError, zipfile.BadZipFile) as exc:
            reason = getattr(exc, "strerror", None) or "not a zip file or a directory"
            raise InputError(
                f"cannot read the OSV database: {reason}",
                location=Location(str(self.path)),
                hint=_HINT,
            ) from exc
        with archive:
            for info in archive.infolist():
                if info.is_dir() or not info.filename.endswith(".json"):
                    continue
                if info.file_size > MAX_RECORD_BYTES:
                    raise InputError(
                        f"{info.filename} is larger than {MAX_RECORD_BYTES} bytes",
                        location=Location(str(self.path)),
                        hint=_HINT,
                    )
                with archive.open(info) as member:
                    yield info.filename, member.read(MAX_RECORD_BYTES + 1)[:MAX_RECORD_BYTES]


def _read_limited(file: Path) -> bytes:
    with open(file, "rb") as fh:
        data = fh.read(MAX_RECORD_BYTES + 1)
    if len(data) > MAX_RECORD_BYTES:
        raise InputError(
            f"{file.name} is larger than {MAX_RECORD_BYTES} bytes",
            location=Location(str(file)),
            hint=_HINT,
        )
    return data
