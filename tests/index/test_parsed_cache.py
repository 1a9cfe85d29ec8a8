"""The parsed-page cache: a page byte for byte as parsed before is read from the cache, and no
entry of the cache, corrupt or forged, changes what a page lists (its files and their hashes).

A page is read with the places of its values and its entry written the first time it is met;
from then on it is read from the cache."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from packaging.tags import compatible_tags, cpython_tags
from packaging.version import Version

from safeinstall.files.cachedir import DerivedCache, url_key
from safeinstall.index import pagetext
from safeinstall.index.distfile import ProjectPage
from safeinstall.index.filenames import FileFilter
from safeinstall.index.pages import parse_json_page
from safeinstall.policy.model import IndexSpec

INDEX = IndexSpec(name="corp", url="https://pkgs.example.com/simple")
PAGE = "https://pkgs.example.com/simple/demo/"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
GOOD, EVIL = "ab" * 32, "ee" * 32
LINUX_313 = [
    *cpython_tags((3, 13), ["cp313"], ["manylinux_2_17_x86_64"]),
    *compatible_tags((3, 13), "cp313", ["manylinux_2_17_x86_64"]),
]
FITS = FileFilter(LINUX_313, lambda name: True)


def jfile(filename: str, sha256: str = GOOD) -> dict[str, Any]:
    url = f"https://pkgs.example.com/files/{filename}"
    return {"filename": filename, "url": url, "hashes": {"sha256": sha256}}


def body(*files: dict[str, Any], first: dict[str, Any] | None = None, **extra: Any) -> bytes:
    doc = {**(first or {}), "meta": {"api-version": "1.1"}, "name": "demo", "files": list(files)}
    return json.dumps({**doc, **extra}).encode()


HONEST = body(
    jfile("demo-1.0-py3-none-any.whl"),
    jfile("demo-1.0-cp313-cp313-win_amd64.whl"),
    jfile("demo-1.0.tar.gz"),
    jfile("demo-0.9.tar.gz"),
    versions=["0.9", "1.0"],
)


def parse(data: bytes, cache: Path | None, fits: FileFilter | None = FITS) -> ProjectPage:
    memo = DerivedCache(cache / "parsed") if cache is not None else None
    return parse_json_page(
        data, page_url=PAGE, project="demo", index=INDEX, now=NOW, fits=fits, memo=memo
    )


def cached(data: bytes, cache: Path, fits: FileFilter | None = FITS) -> ProjectPage:
    """Parse a page through the cache (its entry is written the first time)."""
    return parse(data, cache, fits)


def entries(cache: Path) -> list[Path]:
    return sorted((cache / "parsed").glob("*"))


def whole_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The lengths of the texts read whole (a cache hit reads only the page without its files)."""
    lengths: list[int] = []
    read = pagetext.read_json

    def spy(text: str) -> Any:
        lengths.append(len(text))
        return read(text)

    monkeypatch.setattr(pagetext, "read_json", spy)
    return lengths


def test_a_byte_identical_page_is_read_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = cached(HONEST, tmp_path)
    assert len(entries(tmp_path)) == 1
    reads = whole_reads(monkeypatch)
    again = parse(HONEST, tmp_path)
    assert len(HONEST) not in reads  # the files list was not parsed again
    assert again == first == parse(HONEST, None)
    assert [f.filename for f in again.files_of(Version("1.0"))] == [
        "demo-1.0-py3-none-any.whl",
        "demo-1.0.tar.gz",
    ]


def test_a_page_is_cached_the_first_time_it_is_met(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first parse reads the page whole with its places and writes the entry (the next
    lock, often minutes later, meets the same bytes); the second reads the page without its
    files list, and the kept file objects from their places."""
    memo = DerivedCache(tmp_path / "parsed")
    key = pagetext.memo_key(HONEST, PAGE, "demo", INDEX, FITS)
    reads = whole_reads(monkeypatch)
    first = parse(HONEST, tmp_path)
    assert reads == [len(HONEST)]
    assert isinstance(memo.load(key), dict)
    assert len(entries(tmp_path)) == 1
    second = parse(HONEST, tmp_path)
    assert len(reads) == 2 and reads[1] < len(HONEST)  # the page without its files list
    assert first == second == parse(HONEST, None)


def test_a_forged_entry_in_place_before_the_first_parse_changes_nothing(tmp_path: Path) -> None:
    """An entry planted before the page was ever met is checked against the page as any is,
    and replaced by the page's own."""
    honest = parse(HONEST, None)
    key = pagetext.memo_key(HONEST, PAGE, "demo", INDEX, FITS)
    DerivedCache(tmp_path / "parsed").store(key, _evil_places({}))
    assert [parse(HONEST, tmp_path) for _ in range(3)] == [honest] * 3
    cached(HONEST, tmp_path / "clean")
    (clean,) = entries(tmp_path / "clean")
    assert (tmp_path / "parsed" / url_key(key)).read_bytes() == clean.read_bytes()


def test_a_changed_page_is_parsed_anew(tmp_path: Path) -> None:
    cached(HONEST, tmp_path)
    changed = body(jfile("demo-1.0-py3-none-any.whl", EVIL), versions=["1.0"])
    page = cached(changed, tmp_path)
    assert page == parse(changed, None)
    assert [f.sha256 for f in page.files] == [EVIL]
    assert len(entries(tmp_path)) == 2


def test_what_is_kept_of_a_page_is_part_of_the_key(tmp_path: Path) -> None:
    """An entry made for a lock of some targets is not used for all files, nor the reverse."""
    filtered = cached(HONEST, tmp_path)
    everything = cached(HONEST, tmp_path, fits=None)
    no_sdists = cached(HONEST, tmp_path, fits=FileFilter(LINUX_313, lambda name: False))
    assert len(everything.files) == 4
    assert len(filtered.files) == 3
    assert [f.filename for f in no_sdists.files] == ["demo-0.9.tar.gz", "demo-1.0-py3-none-any.whl"]
    assert len(entries(tmp_path)) == 3


def _forge_copy_of(tmp_path: Path, path: Path) -> None:
    """The entry of another page (listing an evil file) put in place of this page's."""
    evil = body(
        jfile("demo-1.0-py3-none-any.whl", EVIL),
        jfile("demo-2.0-py3-none-any.whl", EVIL),
        versions=["1.0", "2.0"],
    )
    cached(evil, tmp_path / "other")
    (other,) = entries(tmp_path / "other")
    path.write_bytes(other.read_bytes())


def _forged(value: Callable[[dict[str, Any]], Any]) -> Callable[[Path, Path], None]:
    """An entry that passes the cache's own check (a checksum that fits, the right key), with
    a value made from the honest one: what someone who can write the cache can do."""

    def forge(tmp_path: Path, path: Path) -> None:
        header, _, raw = path.read_bytes().partition(b"\n")
        memo = DerivedCache(tmp_path / "parsed")
        memo.store(json.loads(header)["key"], value(json.loads(raw)))

    return forge


def _flip_a_byte(tmp_path: Path, path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x01
    path.write_bytes(bytes(data))


def _inner_objects(value: dict[str, Any]) -> dict[str, Any]:
    """The place of a hashes object (inside the files list), not of a file object."""
    text = HONEST.decode()
    start = text.index('{"sha256"')
    return {**value, "kept": [start, text.index("}", start) + 1]}


def _files_list_elsewhere(value: dict[str, Any]) -> dict[str, Any]:
    text = HONEST.decode()
    start = text.index('"versions": ') + len('"versions": ')
    return {**value, "files": [start, text.index("]", start) + 1]}


def _evil_places(value: dict[str, Any]) -> dict[str, Any]:
    """Places copied from the entry of a page with an evil file: they fall on other bytes here."""
    evil = body(jfile("demo-2.0-py3-none-any.whl", EVIL), jfile("demo-1.0-py3-none-any.whl"))
    read = pagetext.read_json(evil.decode())
    assert read is not None
    return pagetext.remembered(read, [0, 1])


def _two_in_one(value: dict[str, Any]) -> dict[str, Any]:
    """One place over two file objects (``{...}, {...}``)."""
    return {**value, "kept": [value["kept"][0], value["kept"][3]]}


@pytest.mark.parametrize(
    "tamper",
    [
        _forge_copy_of,
        _flip_a_byte,
        _forged(lambda value: {"kept": "everything"}),
        _forged(lambda value: {**value, "kept": [*value["kept"], 5]}),
        _forged(lambda value: {**value, "kept": [0, len(HONEST)]}),
        _forged(lambda value: {**value, "kept": [True, 9]}),
        _forged(_inner_objects),
        _forged(_two_in_one),
        _forged(_files_list_elsewhere),
        _forged(_evil_places),
        _forged(lambda value: {**value, "files": [0, len(HONEST)]}),
    ],
    ids=[
        "another-pages-entry",
        "flipped-byte",
        "not-places",
        "odd-places",
        "whole-page-as-a-file",
        "not-numbers",
        "hashes-as-files",
        "two-in-one",
        "files-list-elsewhere",
        "evil-places",
        "whole-page-as-files-list",
    ],
)
def test_an_entry_that_does_not_fit_the_page_is_ignored(
    tmp_path: Path, tamper: Callable[[Path, Path], None]
) -> None:
    """Corrupt, misplaced or forged: the page is parsed anew, and lists what it lists."""
    honest = parse(HONEST, None)
    cached(HONEST, tmp_path)
    (path,) = entries(tmp_path)
    tamper(tmp_path, path)
    page = parse(HONEST, tmp_path)
    assert page == honest
    assert {(f.filename, f.sha256) for f in page.files} == {
        ("demo-1.0-py3-none-any.whl", GOOD),
        ("demo-1.0.tar.gz", GOOD),
        ("demo-0.9.tar.gz", GOOD),
    }
    assert parse(HONEST, tmp_path) == honest
    assert len(entries(tmp_path)) == 1


@pytest.mark.parametrize(
    "forge",
    [
        lambda value: {**value, "kept": value["kept"][:2]},
        lambda value: {**value, "kept": []},
        lambda value: {**value, "kept": value["kept"][2:] + value["kept"][:2]},
    ],
    ids=["files-left-out", "all-left-out", "reordered"],
)
def test_a_forged_entry_cannot_add_a_file_or_change_a_hash(
    tmp_path: Path, forge: Callable[[dict[str, Any]], Any]
) -> None:
    """Someone who can write the cache can leave files out of a page (the cache is only as
    safe as its directory), but every file still comes from the page's own bytes: none is
    added, none changes, and the page's status and versions are its own."""
    honest = parse(HONEST, None)
    cached(HONEST, tmp_path)
    (path,) = entries(tmp_path)
    _forged(forge)(tmp_path, path)
    page = parse(HONEST, tmp_path)
    assert all(file in honest.files for file in page.files)
    assert (page.status, page.versions) == (honest.status, honest.versions)


def _forge_files_list(tmp_path: Path, start: int, end: int) -> None:
    (path,) = entries(tmp_path)
    header, _, raw = path.read_bytes().partition(b"\n")
    value = {**json.loads(raw), "files": [start, end]}
    DerivedCache(tmp_path / "parsed").store(json.loads(header)["key"], value)


def test_a_forged_files_list_cannot_hide_the_project_status_before_it(tmp_path: Path) -> None:
    """The page without its files list is read whole on a hit: a files list drawn over the
    quarantine marker before it (to make it vanish from what is read) is refused."""
    quarantined = body(
        jfile("demo-1.0-py3-none-any.whl"),
        first={"project-status": {"status": "quarantined"}},
    )
    cached(quarantined, tmp_path)
    text = quarantined.decode()
    start = text.index('{"status"')
    _forge_files_list(tmp_path, start, text.index("]", start) + 1)
    page = parse(quarantined, tmp_path)
    assert page.status == "quarantined"
    assert page == parse(quarantined, None)


def test_a_forged_files_list_cannot_hide_the_keys_after_it(tmp_path: Path) -> None:
    """A files list drawn on to the end of the versions list would hide the quarantine marker
    and the versions (the page would read as active, every release listed): refused."""
    after: dict[str, Any] = {"project-status": {"status": "quarantined"}, "versions": ["1.0"]}
    quarantined = body(
        jfile("demo-1.0-py3-none-any.whl"), jfile("demo-2.0-py3-none-any.whl"), **after
    )
    honest = parse(quarantined, None)
    assert honest.status == "quarantined"
    assert honest.releases() == (Version("1.0"),)
    cached(quarantined, tmp_path)
    text = quarantined.decode()
    start = text.index("[", text.index('"files"'))
    _forge_files_list(tmp_path, start, text.index("]", text.index('"versions"')) + 1)
    page = parse(quarantined, tmp_path)
    assert page.status == "quarantined"
    assert page == honest


def test_a_page_that_is_not_plain_utf8_json_is_parsed_but_not_cached(tmp_path: Path) -> None:
    utf16 = HONEST.decode().encode("utf-16")
    page = cached(utf16, tmp_path)
    assert page == parse(HONEST, None)
    assert entries(tmp_path) == []


def test_the_page_key_changes_with_the_parser_and_safeinstall_versions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = pagetext.memo_key(HONEST, PAGE, "demo", INDEX, FITS)
    monkeypatch.setattr(pagetext, "PARSER_VERSION", "test")
    parser = pagetext.memo_key(HONEST, PAGE, "demo", INDEX, FITS)
    monkeypatch.setattr(pagetext, "__version__", "0.0.0-test")
    release = pagetext.memo_key(HONEST, PAGE, "demo", INDEX, FITS)
    assert len({before, parser, release}) == 3
