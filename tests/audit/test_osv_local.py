"""The offline OSV database: the per-ecosystem zip or a directory of records."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from safeinstall.audit.osv_local import LocalDatabase
from safeinstall.errors import InputError
from tests.support.osvdata import OSV_DIR, make_zip

DJANGO = [(canonicalize_name("django"), Version("3.2.18"))]


def test_zip_and_directory_give_the_same_candidates(tmp_path: Path) -> None:
    from_zip = LocalDatabase(make_zip(tmp_path / "osv-pypi.zip")).advisories(DJANGO)
    from_dir = LocalDatabase(OSV_DIR).advisories(DJANGO)
    assert sorted(a.id for a in from_zip) == sorted(a.id for a in from_dir)
    # every Django record is a candidate (matching happens in audit), nothing else is
    assert len(from_zip) == 8
    assert all(a.names() == {"django"} for a in from_zip)


def test_directory_is_searched_recursively_and_skips_other_files(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "PYSEC-2024-47.json").write_bytes(
        (OSV_DIR / "PYSEC-2024-47.json").read_bytes()
    )
    (tmp_path / "README.md").write_text("not a record", encoding="utf-8")
    assert [a.id for a in LocalDatabase(tmp_path).advisories(DJANGO)] == ["PYSEC-2024-47"]


def test_a_broken_record_is_an_error_naming_it(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "db.zip")
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr("BROKEN-1.json", "{not json")
    with pytest.raises(InputError, match=r"BROKEN-1\.json is not a valid OSV record"):
        LocalDatabase(archive).advisories(DJANGO)


def test_a_malformed_record_for_a_wanted_package_is_an_error(tmp_path: Path) -> None:
    bad = {
        "id": "X-1",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "django"},
                "ranges": [{"type": "ECOSYSTEM", "events": ["1.0"]}],
            }
        ],
    }
    (tmp_path / "X-1.json").write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(InputError, match=r"X-1\.json is not a valid OSV record"):
        LocalDatabase(tmp_path).advisories(DJANGO)


@pytest.mark.parametrize("content", [None, b"plain text, not a zip"])
def test_missing_or_unreadable_database(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "db.zip"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match="cannot read the OSV database") as info:
        LocalDatabase(path).advisories(DJANGO)
    assert info.value.hint


def test_oversized_member_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("safeinstall.audit.osv_local.MAX_RECORD_BYTES", 100)
    with pytest.raises(InputError, match="larger than 100 bytes"):
        LocalDatabase(make_zip(tmp_path / "db.zip")).advisories(DJANGO)
