"""MetadataReader: sidecars, ranged wheel reads, downloads, sdists, cache and cross-checks."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import tarfile
import threading
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from packaging.metadata import Metadata
from packaging.utils import NormalizedName

from safeinstall.errors import IndexServerError, InputError, IntegrityError
from safeinstall.index import metadata as metadata_module
from safeinstall.index.coremeta import NeedsBuild, header_block, parse_metadata
from safeinstall.index.distfile import DistFile
from safeinstall.index.metadata import MetadataReader
from safeinstall.index.remotezip import TAIL_BYTES
from tests.support.distbuild import dist, metadata_text, sdist_bytes, to_zip64, wheel_bytes
from tests.support.fakehttp import FakeHttp, Response

WHEEL = "demo-1.0-py3-none-any.whl"


def serve(http: FakeHttp, body: bytes, filename: str = WHEEL) -> str:
    url = f"https://files.example.org/d/{filename}"
    http.add(url, body)
    return url


def served_versions(http: FakeHttp, *versions: str) -> list[DistFile]:
    """A wheel of each version of demo, served."""
    files = []
    for version in versions:
        body = wheel_bytes(metadata_text("demo", version), dist_info=f"demo-{version}.dist-info")
        filename = f"demo-{version}-py3-none-any.whl"
        serve(http, body, filename)
        files.append(dist(body, filename))
    return files


def noise(n: int) -> bytes:
    """Incompressible bytes, to place METADATA far from the end of a zip."""
    return hashlib.shake_256(b"x").digest(n)


def test_small_wheel_costs_one_ranged_request() -> None:
    http = FakeHttp()
    body = wheel_bytes(metadata_text("demo", "1.0", "Requires-Dist: idna>=3"))
    serve(http, body)
    meta = MetadataReader(http, cache_dir=None).read(dist(body))
    assert meta.name == "demo"
    assert [str(r) for r in meta.requires_dist or []] == ["idna>=3"]
    assert len(http.requests) == 1
    assert http.requests[0][1]["range"] == f"bytes=-{TAIL_BYTES}"


def test_a_read_tells_the_watcher_set_when_it_looked_even_if_unset_meanwhile() -> None:
    """``on_read`` is unset (the lock's resolution is over) while reads started ahead still
    end on other threads: each read looks at it once, and calls what it saw."""
    told: list[str] = []

    class Unsetting(MetadataReader):
        looked = 0

        @property
        def on_read(self) -> Any:
            self.looked += 1
            return (lambda file, zf: told.append(file.filename)) if self.looked == 1 else None

        @on_read.setter
        def on_read(self, value: Any) -> None:
            pass

    http = FakeHttp()
    body = wheel_bytes(metadata_text("demo", "1.0"))
    serve(http, body)
    Unsetting(http, cache_dir=None).read(dist(body))
    assert told == [WHEEL]


def test_metadata_outside_the_tail_costs_a_second_exact_range() -> None:
    http = FakeHttp()
    body = wheel_bytes(after=[("demo/blob.bin", noise(300_000))])
    serve(http, body)
    meta = MetadataReader(http, cache_dir=None).read(dist(body))
    assert str(meta.version) == "1.0"
    assert len(http.requests) == 2
    start, end = http.requests[1][1]["range"].removeprefix("bytes=").split("-")
    assert int(end) - int(start) < 1000  # only METADATA's local header and data


def test_central_directory_larger_than_the_tail() -> None:
    http = FakeHttp()
    many = [(f"demo/{'m' * 180}{i}.py", b"") for i in range(600)]
    body = wheel_bytes(after=many)
    serve(http, body)
    assert str(MetadataReader(http, cache_dir=None).read(dist(body)).version) == "1.0"
    assert len(http.requests) == 3  # tail, the rest of the central directory, METADATA


def test_zip64_end_records() -> None:
    http = FakeHttp()
    body = to_zip64(wheel_bytes(after=[("demo/blob.bin", noise(100_000))]))
    assert zipfile.ZipFile(io.BytesIO(body)).read("demo-1.0.dist-info/METADATA")  # valid zip64
    serve(http, body)
    assert MetadataReader(http, cache_dir=None).read(dist(body)).name == "demo"


def test_stored_members_and_zip64_member_fields() -> None:
    http = FakeHttp()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        with zf.open("demo-1.0.dist-info/METADATA", "w", force_zip64=True) as fh:
            fh.write(metadata_text())
        zf.writestr("demo-1.0.dist-info/WHEEL", "")
    body = buf.getvalue()
    serve(http, body)
    assert MetadataReader(http, cache_dir=None).read(dist(body)).name == "demo"


def test_zip_bomb_by_declared_size() -> None:
    http = FakeHttp()
    body = wheel_bytes(metadata_text() + b" " * (5 * 1024 * 1024))
    serve(http, body)
    with pytest.raises(IndexServerError, match="larger than"):
        MetadataReader(http, cache_dir=None).read(dist(body))


def test_zip_bomb_with_a_lying_size_is_cut_off() -> None:
    http = FakeHttp()
    honest = wheel_bytes(metadata_text() + b" " * (5 * 1024 * 1024))
    cd = honest.rfind(b"PK\x01\x02", 0, honest.rfind(b"PK\x01\x02", 0, honest.rfind(b"PK\x01\x02")))
    lying = bytearray(honest)
    lying[cd + 24 : cd + 28] = (1000).to_bytes(4, "little")  # uncompressed size in the CD entry
    body = bytes(lying)
    serve(http, body)
    with pytest.raises(IndexServerError, match="inflates beyond"):
        MetadataReader(http, cache_dir=None).read(dist(body))


def test_server_ignoring_range_gives_the_whole_verified_file() -> None:
    http = FakeHttp(ignore_range=True)
    body = wheel_bytes()
    serve(http, body)
    assert MetadataReader(http, cache_dir=None).read(dist(body)).name == "demo"
    assert len(http.requests) == 1
    with pytest.raises(IntegrityError, match="sha256"):
        MetadataReader(http, cache_dir=None).read(dist(body, sha256="0" * 64))


class BadRanges(FakeHttp):
    """Answers ranges with a Content-Range that does not match (a broken proxy)."""

    def get(self, url: str, **kwargs: Any) -> Response:
        reply = super().get(url, **kwargs)
        if reply.status == 206:
            return Response(url, 206, {"content-range": "bytes 0-1/2"}, reply.body)
        return reply


def test_unusable_range_answers_fall_back_to_a_verified_download() -> None:
    http = BadRanges()
    body = wheel_bytes()
    serve(http, body)
    assert MetadataReader(http, cache_dir=None).read(dist(body)).name == "demo"
    assert [h.get("range") for _, h in http.requests] == [f"bytes=-{TAIL_BYTES}", None]
    with pytest.raises(IntegrityError, match="no sha256"):
        MetadataReader(http, cache_dir=None).read(dist(body, sha256=None))


def test_sidecar_is_used_and_checked() -> None:
    http = FakeHttp()
    body, meta = wheel_bytes(), metadata_text()
    url = serve(http, body)
    http.add(url + ".metadata", meta)
    good = {"sha256": hashlib.sha256(meta).hexdigest()}
    assert (
        MetadataReader(http, cache_dir=None).read(dist(body, metadata_hashes=good)).name == "demo"
    )
    assert http.urls() == [url + ".metadata"]
    with pytest.raises(IntegrityError, match="metadata file"):
        MetadataReader(http, cache_dir=None).read(dist(body, metadata_hashes={"sha256": "0" * 64}))


def test_missing_sidecar_falls_back_to_the_wheel() -> None:
    http = FakeHttp()
    body = wheel_bytes()
    url = serve(http, body)
    assert MetadataReader(http, cache_dir=None).read(dist(body, metadata_hashes={})).name == "demo"
    assert http.urls() == [url + ".metadata", url]


def test_compare_with_wheel_catches_a_sidecar_that_adds_a_dependency(tmp_path: Path) -> None:
    http = FakeHttp()
    body = wheel_bytes()
    url = serve(http, body)
    http.add(url + ".metadata", metadata_text("demo", "1.0", "Requires-Dist: evil"))
    wheel = tmp_path / WHEEL
    wheel.write_bytes(body)
    reader = MetadataReader(http, cache_dir=tmp_path / "cache")
    file = dist(body, metadata_hashes={})
    reader.read(file)
    with pytest.raises(IntegrityError, match="differs"):
        reader.compare_with_wheel(file, wheel)
    assert not list((tmp_path / "cache" / "metadata").glob("*/*"))  # the bad entry is gone


def test_compare_with_wheel_accepts_identical_metadata(tmp_path: Path) -> None:
    http = FakeHttp()
    body = wheel_bytes()
    url = serve(http, body)
    http.add(url + ".metadata", metadata_text())
    wheel = tmp_path / WHEEL
    wheel.write_bytes(body)
    file = dist(body, metadata_hashes={})
    MetadataReader(http, cache_dir=tmp_path).read(file)
    MetadataReader(http, cache_dir=tmp_path).compare_with_wheel(file, wheel)  # from the cache
    MetadataReader(http, cache_dir=None).compare_with_wheel(file, wheel)  # nothing read: no-op


def test_name_or_version_mismatch_is_an_integrity_error() -> None:
    http = FakeHttp()
    for meta in (metadata_text("other", "1.0"), metadata_text("demo", "2.0")):
        body = wheel_bytes(meta)
        serve(http, body)
        with pytest.raises(IntegrityError, match="names"):
            MetadataReader(http, cache_dir=None).read(dist(body))


def test_identity_is_checked_on_every_read_even_for_the_same_bytes(tmp_path: Path) -> None:
    http = FakeHttp()
    body = wheel_bytes()
    serve(http, body)
    reader = MetadataReader(http, cache_dir=tmp_path)
    reader.read(dist(body))
    relabelled = replace(
        dist(body), project=NormalizedName("evil"), filename="evil-1.0-py3-none-any.whl"
    )
    with pytest.raises(IntegrityError, match="names"):
        reader.read(relabelled)
    with pytest.raises(IntegrityError, match="names"):
        MetadataReader(http, cache_dir=tmp_path).read(relabelled)


def test_the_same_metadata_bytes_are_parsed_once_and_checked_against_each_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Platform wheels of one release mostly carry identical METADATA: one parse a run, but
    each file is still checked to be the release its name says."""
    parsed: list[bytes] = []
    real = parse_metadata

    def parse_once_counted(file: DistFile, raw: bytes) -> Metadata:
        parsed.append(raw)
        return real(file, raw)

    monkeypatch.setattr(metadata_module, "parse_metadata", parse_once_counted)
    http = FakeHttp()
    reader = MetadataReader(http, cache_dir=None)
    files = []
    for n in range(1, 4):  # three wheels (different bytes), the same METADATA
        body = wheel_bytes(before=[(f"demo/m{n}.py", b"")])
        filename = f"demo-1.0-{n}-py3-none-any.whl"
        serve(http, body, filename)
        files.append(dist(body, filename))
    assert [reader.read(f).name for f in files] == ["demo"] * 3
    assert len(parsed) == 1
    other = wheel_bytes(metadata_text("demo", "2.0"), dist_info="demo-2.0.dist-info")
    serve(http, other, "demo-2.0-py3-none-any.whl")
    assert str(reader.read(dist(other, "demo-2.0-py3-none-any.whl")).version) == "2.0"
    assert len(parsed) == 2  # other bytes, parsed
    meta = metadata_text()  # the bytes parsed first, served as a sidecar of another release
    url = serve(http, b"other wheel", "demo-9.0-py3-none-any.whl")
    http.add(url + ".metadata", meta)
    sidecar = {"sha256": hashlib.sha256(meta).hexdigest()}
    relabelled = dist(b"other wheel", "demo-9.0-py3-none-any.whl", metadata_hashes=sidecar)
    with pytest.raises(IntegrityError, match="names"):
        reader.read(relabelled)
    assert len(parsed) == 2


def test_dist_info_directory_must_be_single_and_match() -> None:
    http = FakeHttp()
    other = wheel_bytes(dist_info="other-1.0.dist-info")
    serve(http, other)
    with pytest.raises(IntegrityError, match="another release"):
        MetadataReader(http, cache_dir=None).read(dist(other))
    two = wheel_bytes(before=[("extra-2.0.dist-info/METADATA", b"")])
    serve(http, two)
    with pytest.raises(IndexServerError, match=r"2 \.dist-info"):
        MetadataReader(http, cache_dir=None).read(dist(two))


def test_duplicate_metadata_entries_are_refused() -> None:
    http = FakeHttp()
    with pytest.warns(UserWarning, match="Duplicate name"):
        body = wheel_bytes(before=[("demo-1.0.dist-info/METADATA", metadata_text())])
    serve(http, body)
    with pytest.raises(IndexServerError, match=r"2 demo-1\.0\.dist-info/METADATA"):
        MetadataReader(http, cache_dir=None).read(dist(body))


def test_invalid_metadata_is_refused() -> None:
    http = FakeHttp()
    body = wheel_bytes(b"Metadata-Version: 2.1\nName: demo\nVersion: not-a-version\n")
    serve(http, body)
    with pytest.raises(IndexServerError, match="invalid"):
        MetadataReader(http, cache_dir=None).read(dist(body))


@pytest.mark.parametrize("end", [b"\n", b"\r\n", b"\r"])
def test_the_header_block_ends_at_the_first_empty_line_whatever_the_line_ends(end: bytes) -> None:
    head = end.join([b"Metadata-Version: 2.1", b"Name: demo", b"Version: 1.0", b""])
    raw = head + end + b"Requires-Dist: evil" + end + end + b"more" + end
    assert header_block(raw) == head
    assert header_block(head) == head  # no description: all of it


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"])
def test_requires_dist_in_the_description_is_no_dependency(end: str) -> None:
    """The fields come from the header block: what the description says, header-like or not,
    valid UTF-8 or not, is neither parsed nor trusted."""
    http = FakeHttp()
    head = end.join(["Metadata-Version: 2.1", "Name: demo", "Version: 1.0", "Requires-Dist: a"])
    text = head + end * 2 + end.join(["Requires-Dist: evil", "Version: 6.6.6", ""])
    body = wheel_bytes(text.encode() + b"\xff\xfe not UTF-8" + end.encode())
    serve(http, body)
    meta = MetadataReader(http, cache_dir=None).read(dist(body))
    assert [str(r) for r in meta.requires_dist or []] == ["a"]
    assert str(meta.version) == "1.0"


def test_cache_hit_costs_no_request_and_is_keyed_by_sha256(tmp_path: Path) -> None:
    http = FakeHttp()
    body = wheel_bytes()
    serve(http, body)
    file = dist(body)
    MetadataReader(http, cache_dir=tmp_path).read(file)
    assert file.sha256 is not None
    entry = tmp_path / "metadata" / file.sha256[:2] / file.sha256
    assert entry.is_file()
    assert (tmp_path / "metadata").stat().st_mode & 0o777 == 0o700
    assert MetadataReader(http, cache_dir=tmp_path).read(file).name == "demo"
    assert len(http.requests) == 1


@pytest.mark.parametrize("damage", ["edited", "torn"])
def test_corrupt_cache_entry_is_discarded_and_refetched(tmp_path: Path, damage: str) -> None:
    """Edited, or torn as a crash can leave it (entries are written without fsync)."""
    http = FakeHttp()
    body = wheel_bytes()
    serve(http, body)
    file = dist(body)
    MetadataReader(http, cache_dir=tmp_path).read(file)
    assert file.sha256 is not None
    entry = tmp_path / "metadata" / file.sha256[:2] / file.sha256
    good = entry.read_bytes()
    bad = good.replace(b"Name: demo", b"Name: evil") if damage == "edited" else good[:-40]
    entry.write_bytes(bad)
    assert MetadataReader(http, cache_dir=tmp_path).read(file).name == "demo"
    assert len(http.requests) == 2
    assert entry.read_bytes() == good


def test_world_writable_metadata_cache_is_refused(tmp_path: Path) -> None:
    (tmp_path / "metadata").mkdir()
    os.chmod(tmp_path / "metadata", 0o777)
    http = FakeHttp()
    body = wheel_bytes()
    serve(http, body)
    with pytest.raises(InputError, match="writable"):
        MetadataReader(http, cache_dir=tmp_path).read(dist(body))


def test_cache_entries_are_not_synced_and_their_directories_are_made_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    made: list[str] = []
    real = os.mkdir
    monkeypatch.setattr(os, "fsync", synced.append)

    def mkdir(
        path: str | os.PathLike[str], mode: int = 0o777, *, dir_fd: int | None = None
    ) -> None:
        made.append(str(path))
        real(path, mode, dir_fd=dir_fd)

    monkeypatch.setattr(os, "mkdir", mkdir)
    http = FakeHttp()
    files = []
    for n in range(1, 4):  # three builds of one release: three files, three entries
        body = wheel_bytes(before=[(f"demo/m{n}.py", b"")])
        filename = f"demo-1.0-{n}-py3-none-any.whl"
        serve(http, body, filename)
        files.append(dist(body, filename))
    for file in files:
        MetadataReader(http, cache_dir=tmp_path).read(file)
    shards = {f.sha256[:2] for f in files if f.sha256}
    assert synced == []
    assert sorted(made) == sorted(
        [str(tmp_path / "metadata"), *(str(tmp_path / "metadata" / s) for s in shards)]
    )
    for file in files:  # read again, from the cache: no directory made or fsynced
        MetadataReader(http, cache_dir=tmp_path).read(file)
    assert len(made) == 1 + len(shards)
    assert synced == []


def test_only_the_last_versions_read_of_a_project_keep_their_zip_for_the_listing() -> None:
    """A resolver stepping back through many releases locks one of them: the member lists of
    the older ones are not held in memory (a backtracking lock held 63 MiB of them)."""
    http = FakeHttp()
    reader = MetadataReader(http, cache_dir=None)
    files = served_versions(http, "4.0", "3.0", "2.0", "1.0")
    for file in files:  # newest first, as a resolver steps back
        reader.read(file)
    assert len(http.requests) == 4
    assert len(reader.listing(files[-1]).members) == 3  # still held: no request
    assert len(reader.listing(files[-2]).members) == 3
    assert len(http.requests) == 4
    assert len(reader.listing(files[0]).members) == 3  # dropped: read again with a range
    assert len(http.requests) == 5
    assert metadata_module.HELD_PER_PROJECT == 2


def test_a_cache_entry_that_cannot_be_written_costs_only_a_later_fetch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(metadata_module, "write_entry", full_disk)  # what its cache writes with
    http = FakeHttp()
    body = wheel_bytes()
    serve(http, body)
    assert MetadataReader(http, cache_dir=tmp_path).read(dist(body)).name == "demo"
    assert MetadataReader(http, cache_dir=tmp_path).read(dist(body)).name == "demo"
    assert len(http.requests) == 2  # nothing kept: fetched again, no error


def test_a_zip_over_the_memory_cap_takes_no_place_of_those_held(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Held: the last two versions read whose zips fit; one that did not fit is not one."""
    http = FakeHttp()
    reader = MetadataReader(http, cache_dir=None)
    files = served_versions(http, "3.0", "2.0", "1.0", "0.9")
    reader.read(files[0])
    reader.read(files[1])
    with monkeypatch.context() as patch:
        patch.setattr(metadata_module, "MAX_HELD_BYTES", 0)  # 1.0 finds no room
        reader.read(files[2])
    reader.read(files[3])
    assert len(http.requests) == 4
    reader.listing(files[1])
    reader.listing(files[3])
    assert len(http.requests) == 4  # 2.0 and 0.9 still held


def test_a_zip_released_is_held_no_more_and_gives_back_its_room(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The lock's helper listed it from the spans it was given: this process drops its copy."""
    http = FakeHttp()
    reader = MetadataReader(http, cache_dir=None)
    files = served_versions(http, "2.0", "1.0")
    reader.read(files[0])
    assert reader.holds(files[0])
    room = reader._held_bytes * 3 // 2  # for one of them, not two
    monkeypatch.setattr(metadata_module, "MAX_HELD_BYTES", room)
    reader.release(files[0])
    assert not reader.holds(files[0])
    reader.read(files[1])
    assert reader.holds(files[1])  # the room it gave back
    reader.listing(files[0])
    assert len(http.requests) == 3  # its listing is read again


SDIST = "demo-1.0.tar.gz"


@pytest.mark.parametrize("kind", ["tar.gz", "zip"])
def test_sdist_with_static_metadata(kind: str) -> None:
    http = FakeHttp()
    body = sdist_bytes(metadata_text("demo", "1.0", "Requires-Dist: idna", mv="2.2"), kind=kind)
    filename = f"demo-1.0.{kind}"
    serve(http, body, filename)
    meta = MetadataReader(http, cache_dir=None).read(dist(body, filename, kind="sdist"))
    assert [str(r) for r in meta.requires_dist or []] == ["idna"]
    assert http.requests[0][1] == {}  # a plain full download


@pytest.mark.parametrize(
    "pkg_info",
    [
        metadata_text("demo", "1.0", "Dynamic: Requires-Dist", mv="2.2"),
        metadata_text("demo", "1.0", "Dynamic: requires-python", mv="2.3"),
        metadata_text("demo", "1.0", "Requires-Dist: idna", mv="2.1"),
    ],
)
def test_sdist_with_dynamic_or_old_metadata_needs_a_build(tmp_path: Path, pkg_info: bytes) -> None:
    http = FakeHttp()
    body = sdist_bytes(pkg_info)
    serve(http, body, SDIST)
    file = dist(body, SDIST, kind="sdist")
    with pytest.raises(NeedsBuild, match="building it runs its code"):
        MetadataReader(http, cache_dir=tmp_path).read(file)
    with pytest.raises(NeedsBuild):  # from the cache, same verdict, no new download
        MetadataReader(http, cache_dir=tmp_path).read(file)
    assert len(http.requests) == 1


def test_sdist_hash_mismatch() -> None:
    http = FakeHttp()
    body = sdist_bytes(metadata_text(mv="2.2"))
    serve(http, body, SDIST)
    with pytest.raises(IntegrityError, match="sha256"):
        MetadataReader(http, cache_dir=None).read(dist(body, SDIST, kind="sdist", sha256="1" * 64))


def test_sdist_pkg_info_must_be_a_single_regular_file() -> None:
    http = FakeHttp()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        link = tarfile.TarInfo("demo-1.0/PKG-INFO")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    body = buf.getvalue()
    serve(http, body, SDIST)
    with pytest.raises(IndexServerError, match="PKG-INFO"):
        MetadataReader(http, cache_dir=None).read(dist(body, SDIST, kind="sdist"))
    none = sdist_bytes(metadata_text(mv="2.2"), top="demo-1.0/sub")
    serve(http, none, SDIST)
    with pytest.raises(IndexServerError, match="0 top-level PKG-INFO"):
        MetadataReader(http, cache_dir=None).read(dist(none, SDIST, kind="sdist"))


def test_sdist_gzip_bomb_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metadata_module, "MAX_SDIST_UNPACKED_BYTES", 100_000)
    http = FakeHttp()
    body = sdist_bytes(metadata_text(mv="2.2") + b" " * 300_000)
    serve(http, body, SDIST)
    with pytest.raises(IndexServerError, match="allowed size"):
        MetadataReader(http, cache_dir=None).read(dist(body, SDIST, kind="sdist"))


def test_concurrent_reads_of_one_file_fetch_once() -> None:
    http = FakeHttp()
    body = wheel_bytes()
    serve(http, body)
    reader, file = MetadataReader(http, cache_dir=None), dist(body)
    threads = [threading.Thread(target=reader.read, args=(file,)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(http.requests) == 1


def test_size_from_content_range_must_match_the_listing() -> None:
    http = FakeHttp()
    body = wheel_bytes()
    serve(http, body)
    with pytest.raises(IntegrityError, match="bytes, not the"):
        MetadataReader(http, cache_dir=None).read(replace(dist(body), size=len(body) + 1))


def test_fields_newer_than_the_metadata_version_are_tolerated() -> None:
    """Real wheels carry License-File under Metadata-Version 2.1; pip and uv accept them."""
    from safeinstall.index.coremeta import parse_metadata

    raw = (
        b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nLicense-File: LICENSE\n"
        b"Requires-Dist: idna>=3\n"
    )
    meta = parse_metadata(dist(b""), raw)
    assert [str(r) for r in meta.requires_dist or ()] == ["idna>=3"]


def test_unparsable_dependency_is_still_an_error() -> None:
    from safeinstall.index.coremeta import parse_metadata

    raw = b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nRequires-Dist: idna>=>3\n"
    with pytest.raises(IndexServerError, match="invalid"):
        parse_metadata(dist(b""), raw)


def test_metadata_version_2_0_is_accepted_as_pip_does() -> None:
    from safeinstall.index.coremeta import parse_metadata

    meta = parse_metadata(dist(b""), b"Metadata-Version: 2.0\nName: demo\nVersion: 1.0\n")
    assert meta.requires_dist is None
