"""The loopback index and the builders behave as documented (other tests rely on them)."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from packaging.metadata import Metadata

from tests.support.builders import (
    PTH_MEMBER,
    TRAVERSAL_MEMBER,
    build_hostile_wheel,
    build_sdist,
    build_wheel,
    read_core_metadata,
)
from tests.support.indexserver import IndexServer, parse_range
from tests.support.simplepages import JSON_TYPE, wants_json

JSON_ACCEPT = {"Accept": JSON_TYPE}


def fetch(
    server: IndexServer, path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


# -- builders ------------------------------------------------------------------------------------


def test_wheel_is_deterministic_and_record_matches(tmp_path: Path) -> None:
    first = build_wheel(tmp_path / "1", "Demo.Pkg", "1.0", requires_dist=["dep>=1"])
    second = build_wheel(tmp_path / "2", "Demo.Pkg", "1.0", requires_dist=["dep>=1"])
    assert first.name == "demo_pkg-1.0-py3-none-any.whl"
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as archive:
        assert archive.testzip() is None
        record = archive.read("demo_pkg-1.0.dist-info/RECORD").decode().splitlines()
        for line in record:
            path, digest, size = line.rsplit(",", 2)
            if path.endswith("RECORD"):
                assert (digest, size) == ("", "")
                continue
            data = archive.read(path)
            assert int(size) == len(data)
            expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            assert digest == "sha256=" + expected.decode()
        metadata = archive.read("demo_pkg-1.0.dist-info/METADATA").decode()
    parsed = Metadata.from_email(metadata, validate=True)
    assert (parsed.metadata_version, parsed.name, str(parsed.version)) == ("2.4", "Demo.Pkg", "1.0")
    assert [str(r) for r in parsed.requires_dist or []] == ["dep>=1"]


def test_wheel_options_reach_metadata_and_wheel_file(tmp_path: Path) -> None:
    path = build_wheel(
        tmp_path,
        "demo",
        "2.0",
        requires_python=">=3.11",
        license_expression="MIT",
        tag="py2.py3-none-any",
        files={"demo/x.py": b"x = 1\n"},
        extra_metadata=[("Provides-Extra", "fast")],
    )
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        metadata = archive.read("demo-2.0.dist-info/METADATA").decode()
        wheel = archive.read("demo-2.0.dist-info/WHEEL").decode()
    assert "demo/x.py" in names
    assert "demo/__init__.py" not in names
    assert "License-Expression: MIT" in metadata
    assert "Requires-Python: >=3.11" in metadata
    assert "Provides-Extra: fast" in metadata
    assert "Tag: py2-none-any\nTag: py3-none-any\n" in wheel


def test_hostile_wheel_has_traversal_and_pth(tmp_path: Path) -> None:
    path = build_hostile_wheel(tmp_path)
    with zipfile.ZipFile(path) as archive:
        assert TRAVERSAL_MEMBER in archive.namelist()
        assert archive.read(PTH_MEMBER).startswith(b"import ")


def test_sdist_is_deterministic_with_pkg_info(tmp_path: Path) -> None:
    first = build_sdist(
        tmp_path / "1", "Demo-Pkg", "1.0", requires_dist=["dep"], dynamic=["Requires-Dist"]
    )
    second = build_sdist(
        tmp_path / "2", "Demo-Pkg", "1.0", requires_dist=["dep"], dynamic=["Requires-Dist"]
    )
    assert first.name == "demo_pkg-1.0.tar.gz"
    assert first.read_bytes() == second.read_bytes()
    with tarfile.open(first) as archive:
        assert sorted(archive.getnames()) == [
            "demo_pkg-1.0/PKG-INFO",
            "demo_pkg-1.0/demo_pkg/__init__.py",
            "demo_pkg-1.0/pyproject.toml",
        ]
    pkg_info = read_core_metadata(first)
    assert pkg_info is not None
    parsed = Metadata.from_email(pkg_info, validate=True)
    assert parsed.metadata_version == "2.2"
    assert parsed.dynamic == ["requires-dist"]


# -- listings ------------------------------------------------------------------------------------


def test_json_project_page(index_server: IndexServer, wheel_factory: Callable[..., Path]) -> None:
    wheel = wheel_factory("demo", "1.0")
    uploaded = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    index_server.add("a", wheel, upload_time=uploaded, requires_python=">=3.8", yanked="broken")
    status, headers, body = fetch(index_server, "/a/simple/demo/", JSON_ACCEPT)
    assert status == 200
    assert headers["content-type"] == JSON_TYPE
    page = json.loads(body)
    assert page["meta"] == {"api-version": "1.1"}
    assert page["versions"] == ["1.0"]
    (entry,) = page["files"]
    assert entry["filename"] == wheel.name
    assert entry["hashes"] == {"sha256": hashlib.sha256(wheel.read_bytes()).hexdigest()}
    assert entry["size"] == wheel.stat().st_size
    assert entry["upload-time"] == "2024-01-02T03:04:05.000000Z"
    assert entry["requires-python"] == ">=3.8"
    assert entry["yanked"] == "broken"
    metadata = read_core_metadata(wheel)
    assert metadata is not None
    assert entry["core-metadata"] == {"sha256": hashlib.sha256(metadata).hexdigest()}
    assert entry["dist-info-metadata"] == entry["core-metadata"]


def test_html_project_page(index_server: IndexServer, wheel_factory: Callable[..., Path]) -> None:
    wheel = wheel_factory("demo", "1.0")
    index_server.add("a", wheel, requires_python="<4,>=3.8", yanked=True)
    status, headers, body = fetch(index_server, "/a/simple/demo/")
    assert status == 200
    assert headers["content-type"].startswith("text/html")
    text = body.decode()
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert '<meta name="pypi:repository-version" content="1.1">' in text
    assert f'href="../../files/{wheel.name}#sha256={digest}"' in text
    assert 'data-requires-python="&lt;4,&gt;=3.8"' in text
    assert 'data-yanked=""' in text
    assert 'data-dist-info-metadata="sha256=' in text
    assert 'data-core-metadata="sha256=' in text


def test_root_listing_and_separate_indexes(
    index_server: IndexServer, wheel_factory: Callable[..., Path]
) -> None:
    index_server.add("a", wheel_factory("one", "1.0"))
    index_server.add("b", wheel_factory("two", "1.0"))
    _, _, body = fetch(index_server, "/a/simple/", JSON_ACCEPT)
    assert json.loads(body)["projects"] == [{"name": "one"}]
    _, _, body = fetch(index_server, "/b/simple/")
    assert b'href="two/"' in body
    assert fetch(index_server, "/b/simple/one/")[0] == 404
    assert fetch(index_server, "/c/simple/")[0] == 404


def test_non_canonical_project_name_redirects(
    index_server: IndexServer, wheel_factory: Callable[..., Path]
) -> None:
    index_server.add("a", wheel_factory("demo-pkg", "1.0"))
    status, headers, _ = fetch(index_server, "/a/simple/Demo_Pkg/")
    assert (status, headers["location"]) == (301, "/a/simple/demo-pkg/")


def test_metadata_sidecar_served_stripped_or_lying(
    index_server: IndexServer, wheel_factory: Callable[..., Path]
) -> None:
    wheel = wheel_factory("demo", "1.0")
    other = wheel_factory("other", "1.0")
    lying = wheel_factory("liar", "1.0")
    index_server.add("a", wheel)
    index_server.add("a", other, metadata=False)
    index_server.add("a", lying, metadata=b"Metadata-Version: 2.4\nName: liar\nVersion: 1.0\n")
    status, _, body = fetch(index_server, f"/a/files/{wheel.name}.metadata")
    assert (status, body) == (200, read_core_metadata(wheel))
    assert fetch(index_server, f"/a/files/{other.name}.metadata")[0] == 404
    _, _, page = fetch(index_server, "/a/simple/other/", JSON_ACCEPT)
    assert json.loads(page)["files"][0]["core-metadata"] is False
    assert b"data-core-metadata" not in fetch(index_server, "/a/simple/other/")[2]
    assert fetch(index_server, f"/a/files/{lying.name}.metadata")[2].startswith(b"Metadata-")


def test_hostile_listing_entries(
    index_server: IndexServer, wheel_factory: Callable[..., Path]
) -> None:
    wheel = wheel_factory("demo", "1.0")
    index_server.add("a", wheel, filename="../x.whl")
    index_server.add("a", wheel, href="javascript:alert(1)")
    index_server.add("a", wheel, href="https://other.example.com/demo-1.0-py3-none-any.whl")
    index_server.add("a", wheel, sha256="0" * 64)
    _, _, body = fetch(index_server, "/a/simple/demo/")
    text = body.decode()
    assert ">../x.whl</a>" in text
    assert 'href="javascript:alert(1)"' in text
    assert 'href="https://other.example.com/' in text
    digests = {
        f["hashes"]["sha256"]
        for f in json.loads(fetch(index_server, "/a/simple/demo/", JSON_ACCEPT)[2])["files"]
    }
    assert len(digests) == 2


# -- files and ranges ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-9", (0, 9)),
        ("bytes=5-", (5, 99)),
        ("bytes=-10", (90, 99)),
        ("bytes=90-500", (90, 99)),
        ("bytes=200-", None),
        ("bytes=-0", None),
    ],
)
def test_parse_range(header: str, expected: tuple[int, int] | None) -> None:
    assert parse_range(header, 100) == expected


def test_file_download_and_ranges(
    index_server: IndexServer, wheel_factory: Callable[..., Path]
) -> None:
    wheel = wheel_factory("demo", "1.0")
    data = wheel.read_bytes()
    index_server.add("a", wheel)
    path = f"/a/files/{wheel.name}"
    status, headers, body = fetch(index_server, path)
    assert (status, body, headers["accept-ranges"]) == (200, data, "bytes")
    status, headers, body = fetch(index_server, path, {"Range": "bytes=-22"})
    assert (status, body) == (206, data[-22:])
    assert headers["content-range"] == f"bytes {len(data) - 22}-{len(data) - 1}/{len(data)}"
    status, _, body = fetch(index_server, path, {"Range": "bytes=0-3"})
    assert (status, body) == (206, b"PK\x03\x04")
    status, headers, _ = fetch(index_server, path, {"Range": f"bytes={len(data)}-"})
    assert (status, headers["content-range"]) == (416, f"bytes */{len(data)}")
    index_server.misbehave(path, ignore_range=True)
    assert fetch(index_server, path, {"Range": "bytes=0-3"})[:3:2] == (200, data)


# -- misbehaviour --------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [401, 403, 404, 500])
def test_status_knob_runs_out(
    index_server: IndexServer, wheel_factory: Callable[..., Path], code: int
) -> None:
    index_server.add("a", wheel_factory("demo", "1.0"))
    index_server.misbehave("/a/simple/*", times=1, status=code)
    status, headers, _ = fetch(index_server, "/a/simple/demo/")
    assert status == code
    assert ("www-authenticate" in headers) == (code == 401)
    assert fetch(index_server, "/a/simple/demo/")[0] == 200


def test_wrong_content_type_tamper_and_oversize(
    index_server: IndexServer, wheel_factory: Callable[..., Path]
) -> None:
    wheel = wheel_factory("demo", "1.0")
    index_server.add("a", wheel)
    index_server.misbehave("/a/simple/demo/", times=1, content_type="text/plain")
    assert fetch(index_server, "/a/simple/demo/", JSON_ACCEPT)[1]["content-type"] == "text/plain"
    index_server.misbehave("/a/files/*", times=1, tamper=True)
    tampered = fetch(index_server, f"/a/files/{wheel.name}")[2]
    assert len(tampered) == wheel.stat().st_size
    assert tampered != wheel.read_bytes()
    index_server.misbehave("/a/simple/demo/", times=1, oversize=1_000_000)
    _, _, body = fetch(index_server, "/a/simple/demo/", JSON_ACCEPT)
    assert len(body) == 1_000_000
    assert json.loads(body)["name"] == "demo"  # padding keeps the page valid


def test_truncated_body(index_server: IndexServer, wheel_factory: Callable[..., Path]) -> None:
    wheel = wheel_factory("demo", "1.0")
    index_server.add("a", wheel)
    index_server.misbehave("/a/files/*", truncate_at=100)
    with pytest.raises(http.client.IncompleteRead) as caught:
        fetch(index_server, f"/a/files/{wheel.name}")
    assert len(caught.value.partial) == 100


def test_reset_after_bytes(index_server: IndexServer, wheel_factory: Callable[..., Path]) -> None:
    wheel = wheel_factory("demo", "1.0")
    index_server.add("a", wheel)
    index_server.misbehave("/a/files/*", reset_after=10)
    with pytest.raises((ConnectionResetError, http.client.IncompleteRead)):
        fetch(index_server, f"/a/files/{wheel.name}")


def test_no_content_length_ends_at_close(
    index_server: IndexServer, wheel_factory: Callable[..., Path]
) -> None:
    wheel = wheel_factory("demo", "1.0")
    index_server.add("a", wheel)
    index_server.misbehave("/a/files/*", no_content_length=True)
    _, headers, body = fetch(index_server, f"/a/files/{wheel.name}")
    assert "content-length" not in headers
    assert body == wheel.read_bytes()


def test_trickle_is_slow_and_bounded(
    index_server: IndexServer, wheel_factory: Callable[..., Path]
) -> None:
    wheel = wheel_factory("demo", "1.0")
    index_server.add("a", wheel)
    index_server.misbehave("/a/files/*", trickle=100, trickle_for=0.3)
    started = time.monotonic()
    with pytest.raises(http.client.IncompleteRead) as caught:
        fetch(index_server, f"/a/files/{wheel.name}")
    assert 0.25 < time.monotonic() - started < 3
    assert 0 < len(caught.value.partial) < 100


def test_redirects_and_recorded_requests(
    make_index_server: Callable[[], IndexServer], wheel_factory: Callable[..., Path]
) -> None:
    first, second = make_index_server(), make_index_server()
    wheel = wheel_factory("demo", "1.0")
    second.add("b", wheel)
    first.misbehave("/a/files/*", redirect_to=second.file_url("b", wheel.name))
    first.misbehave("/loop", redirect_to="/loop", redirect_status=301)
    status, headers, _ = fetch(first, f"/a/files/{wheel.name}", {"X-Test": "1"})
    assert (status, headers["location"]) == (302, second.file_url("b", wheel.name))
    assert fetch(first, "/loop")[1]["location"] == "/loop"
    (recorded, _) = first.requests
    assert recorded.method == "GET"
    assert recorded.path == f"/a/files/{wheel.name}"
    assert recorded.headers["x-test"] == "1"
    assert recorded.host == f"127.0.0.1:{first.port}"
    assert first.url("/x", host="localhost") == f"http://localhost:{first.port}/x"
    assert second.requests == []


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, False),
        ("text/html", False),
        (JSON_TYPE, True),
        (f"{JSON_TYPE};q=0", False),
        (f"text/html;q=0.1, {JSON_TYPE}", True),
    ],
)
def test_content_negotiation(accept: str | None, expected: bool) -> None:
    assert wants_json(accept) is expected


def test_stop_ends_a_trickle(wheel_factory: Callable[..., Path]) -> None:
    server = IndexServer().start()
    wheel = wheel_factory("demo", "1.0")
    server.add("a", wheel)
    server.misbehave("*", trickle=2, trickle_for=60)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request("GET", f"/a/files/{wheel.name}")
        response = conn.getresponse()
        started = time.monotonic()
        server.stop()
        with pytest.raises(http.client.IncompleteRead):
            response.read()
        assert time.monotonic() - started < 3
    finally:
        conn.close()


def test_pip_accepts_the_index(
    index_server: IndexServer, wheel_factory: Callable[..., Path], tmp_path: Path
) -> None:
    """pip, as an outside oracle, resolves through our JSON pages and PEP 658 sidecars."""
    index_server.add("a", wheel_factory("demo", "1.0", requires_dist=["dep-x>=1"]))
    index_server.add("a", wheel_factory("dep_x", "1.2"))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--isolated",
            "--no-cache-dir",
            "-q",
            "--only-binary",
            ":all:",
            "--index-url",
            index_server.index_url("a"),
            "-d",
            str(tmp_path / "out"),
            "demo",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "demo-1.0-py3-none-any.whl",
        "dep_x-1.2-py3-none-any.whl",
    ]
    paths = [r.path for r in index_server.requests]
    assert "/a/files/demo-1.0-py3-none-any.whl.metadata" in paths
