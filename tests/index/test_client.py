"""IndexClient: the binding rule (dependency confusion), error handling and the page cache."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from safeinstall.errors import IndexServerError, InputError, ResolutionError
from safeinstall.index.client import MAX_PAGE_BYTES, IndexClient
from safeinstall.policy.model import IndexSpec
from tests.support.fakehttp import FakeHttp, Response

JSON = "application/vnd.pypi.simple.v1+json"
PRIVATE = IndexSpec(name="private", url="https://priv.example.com/simple", packages=("acme-*",))
FIRST = IndexSpec(name="first", url="https://one.example.com/simple")
SECOND = IndexSpec(name="second", url="https://two.example.org/simple")


def page(name: str, *versions: str) -> bytes:
    files = [
        {
            "filename": f"{name}-{v}.tar.gz",
            "url": f"{name}-{v}.tar.gz",
            "hashes": {"sha256": "a" * 64},
        }
        for v in versions
    ]
    return json.dumps({"meta": {"api-version": "1.0"}, "name": name, "files": files}).encode()


def serve(http: FakeHttp, index: IndexSpec, name: str, *versions: str, **headers: str) -> str:
    url = f"{index.url}/{name}/"
    # status given (its default) so that mypy does not match the str ``headers`` against it
    http.add(url, page(name, *versions), status=200, content_type=JSON, **headers)
    return url


def client(http: FakeHttp, *indexes: IndexSpec, **kwargs: Any) -> IndexClient:
    kwargs.setdefault("cache_dir", None)
    return IndexClient(indexes or (PRIVATE, FIRST, SECOND), http, **kwargs)


def test_bound_name_only_asks_its_index() -> None:
    http = FakeHttp()
    serve(http, PRIVATE, "acme-tools", "1.0")
    serve(http, FIRST, "acme-tools", "3.0")
    result = client(http).project("Acme_Tools")
    assert result.index == "private"
    assert [str(f.version) for f in result.files] == ["1.0"]
    assert http.urls() == ["https://priv.example.com/simple/acme-tools/"]


def test_bound_name_missing_is_an_error_not_a_fallback() -> None:
    http = FakeHttp()
    serve(http, FIRST, "acme-tools", "3.0")
    with pytest.raises(ResolutionError, match="binds it to"):
        client(http).project("acme-tools")
    assert http.urls() == ["https://priv.example.com/simple/acme-tools/"]


def test_open_indexes_in_order_first_with_the_project_wins() -> None:
    http = FakeHttp()
    serve(http, SECOND, "demo", "2.0")
    result = client(http).project("demo")
    assert result.index == "second"
    assert http.urls() == [f"{FIRST.url}/demo/", f"{SECOND.url}/demo/"]  # never the bound index

    http = FakeHttp()
    serve(http, FIRST, "demo", "1.0")
    serve(http, SECOND, "demo", "2.0")
    result = client(http).project("demo")
    assert [str(f.version) for f in result.files] == ["1.0"]  # never merged with the second
    assert http.urls() == [f"{FIRST.url}/demo/"]


def test_not_found_anywhere() -> None:
    with pytest.raises(ResolutionError, match="'first', 'second'"):
        client(FakeHttp()).project("demo")
    with pytest.raises(ResolutionError, match="none"):
        client(FakeHttp(), PRIVATE).project("demo")


@pytest.mark.parametrize("status", [401, 403, 500, 418])
def test_errors_stop_the_search(status: int) -> None:
    http = FakeHttp()
    http.add(f"{FIRST.url}/demo/", b"no", status=status)
    serve(http, SECOND, "demo", "2.0")
    with pytest.raises(IndexServerError, match=str(status)):
        client(http).project("demo")
    assert http.urls() == [f"{FIRST.url}/demo/"]


def test_transport_error_stops_the_search() -> None:
    http = FakeHttp(errors={f"{FIRST.url}/demo/": IndexServerError("connection reset")})
    serve(http, SECOND, "demo", "2.0")
    with pytest.raises(IndexServerError, match="connection reset"):
        client(http).project("demo")
    assert http.urls() == [f"{FIRST.url}/demo/"]


def test_request_headers_and_page_cap() -> None:
    http = FakeHttp()
    serve(http, FIRST, "demo", "1.0")
    client(http).project("demo")
    assert http.requests[0][1]["accept"].startswith(JSON)
    http.add(f"{FIRST.url}/huge/", b" " * (MAX_PAGE_BYTES + 1), content_type=JSON)
    with pytest.raises(IndexServerError, match="larger"):
        client(http).project("huge")


def test_wrong_content_type_is_an_error() -> None:
    http = FakeHttp()
    http.add(f"{FIRST.url}/demo/", b"<a href='demo-1.0.tar.gz'>demo-1.0.tar.gz</a>")
    with pytest.raises(IndexServerError, match="no content type"):
        client(http).project("demo")


def test_relative_links_resolve_against_the_final_url(monkeypatch: pytest.MonkeyPatch) -> None:
    http = FakeHttp()
    url = serve(http, FIRST, "demo", "1.0")
    status, reply_headers, body = http.routes[url]
    real = http.get

    def redirected(
        u: str, *, headers: Mapping[str, str] | None = None, max_bytes: int | None = None
    ) -> Response:
        reply = real(u, headers=headers, max_bytes=max_bytes)
        return type(reply)("https://one.example.com/other/demo/", status, reply_headers, body)

    monkeypatch.setattr(http, "get", redirected)
    result = client(http).project("demo")
    assert result.files[0].url == "https://one.example.com/other/demo/demo-1.0.tar.gz"


def test_invalid_name_is_refused_before_any_request() -> None:
    http = FakeHttp()
    with pytest.raises(ResolutionError, match="not a valid project name"):
        client(http).project("../etc")
    assert http.requests == []


def test_same_object_and_one_fetch_under_threads() -> None:
    http = FakeHttp()
    serve(http, FIRST, "demo", "1.0")
    idx = client(http)
    results: list[object] = []
    threads = [
        threading.Thread(target=lambda: results.append(idx.project("demo"))) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8
    assert all(r is results[0] for r in results)
    assert idx.project("DEMO") is results[0]
    assert len(http.requests) == 1


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def cached_client(http: FakeHttp, cache: Path, clock: Clock) -> IndexClient:
    return IndexClient((FIRST,), http, cache_dir=cache, clock=clock)


def test_cache_fresh_entry_is_reused_without_a_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    http, clock = FakeHttp(), Clock()
    serve(http, FIRST, "demo", "1.0", cache_control="max-age=600")
    synced: list[int] = []
    monkeypatch.setattr(os, "fsync", synced.append)
    first = cached_client(http, tmp_path, clock).project("demo")
    assert synced == []  # a cache entry checked when read is not worth a disk flush
    clock.now += 599
    again = cached_client(http, tmp_path, clock).project("demo")
    assert again == first
    assert len(http.requests) == 1
    entries = list((tmp_path / "pages").iterdir())
    assert len(entries) == 1
    assert len(entries[0].name) == 64  # a hash of the URL, not a server-chosen name
    assert (tmp_path / "pages").stat().st_mode & 0o777 == 0o700


def test_cache_revalidates_after_max_age_and_reuses_on_304(tmp_path: Path) -> None:
    http, clock = FakeHttp(), Clock()
    url = serve(
        http, FIRST, "demo", "1.0", cache_control="max-age=60", etag='"v1"', last_modified="Mon"
    )
    first = cached_client(http, tmp_path, clock).project("demo")
    clock.now += 61
    http.add(url, b"", status=304, cache_control="max-age=60")
    again = cached_client(http, tmp_path, clock).project("demo")
    assert again == first
    sent = http.requests[-1][1]
    assert sent["if-none-match"] == '"v1"'
    assert sent["if-modified-since"] == "Mon"
    clock.now += 30  # the 304 refreshed the entry's age
    cached_client(http, tmp_path, clock).project("demo")
    assert len(http.requests) == 2


def test_cache_replaced_by_a_new_page(tmp_path: Path) -> None:
    http, clock = FakeHttp(), Clock()
    serve(http, FIRST, "demo", "1.0", etag='"v1"')
    cached_client(http, tmp_path, clock).project("demo")
    serve(http, FIRST, "demo", "1.0", "2.0", etag='"v2"')
    newer = cached_client(http, tmp_path, clock).project("demo")
    assert len(newer.files) == 2
    assert http.requests[-1][1]["if-none-match"] == '"v1"'
    http.add(f"{FIRST.url}/demo/", b"", status=304)
    assert len(cached_client(http, tmp_path, clock).project("demo").files) == 2


def test_no_store_and_uncacheable_pages_are_not_written(tmp_path: Path) -> None:
    http, clock = FakeHttp(), Clock()
    serve(http, FIRST, "demo", "1.0", cache_control="no-store, max-age=600")
    serve(http, FIRST, "other", "1.0")
    idx = cached_client(http, tmp_path, clock)
    idx.project("demo")
    idx.project("other")
    assert list((tmp_path / "pages").iterdir()) == []


@pytest.mark.parametrize("damage", [b"garbage", b"flip", b"torn"])
def test_corrupt_cache_entry_is_discarded_and_refetched(tmp_path: Path, damage: bytes) -> None:
    http, clock = FakeHttp(), Clock()
    serve(http, FIRST, "demo", "1.0", cache_control="max-age=600")
    cached_client(http, tmp_path, clock).project("demo")
    (entry,) = (tmp_path / "pages").iterdir()
    data = entry.read_bytes()
    torn = data[: len(data) // 2]  # what a crash can leave: entries are written without fsync
    entry.write_bytes({b"flip": data[:-3] + b"2.0", b"torn": torn}.get(damage, damage))
    again = cached_client(http, tmp_path, clock).project("demo")
    assert [str(f.version) for f in again.files] == ["1.0"]
    assert len(http.requests) == 2
    assert entry.read_bytes() == data


def test_symlinked_cache_dir_is_refused(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir(mode=0o700)
    (tmp_path / "cache").mkdir(mode=0o700)
    (tmp_path / "cache" / "pages").symlink_to(tmp_path / "elsewhere")
    http = FakeHttp()
    serve(http, FIRST, "demo", "1.0")
    with pytest.raises(InputError, match="symbolic link") as info:
        cached_client(http, tmp_path / "cache", Clock()).project("demo")
    assert info.value.location is not None
    assert info.value.location.path.endswith("pages")


def test_group_writable_cache_dir_is_refused(tmp_path: Path) -> None:
    pages = tmp_path / "pages"
    pages.mkdir()
    os.chmod(pages, 0o770)
    http = FakeHttp()
    serve(http, FIRST, "demo", "1.0")
    with pytest.raises(InputError, match="writable by other users"):
        cached_client(http, tmp_path, Clock()).project("demo")


def test_cache_entry_with_ill_typed_fields_is_discarded(tmp_path: Path) -> None:
    http, clock = FakeHttp(), Clock()
    serve(http, FIRST, "demo", "1.0", cache_control="max-age=600")
    cached_client(http, tmp_path, clock).project("demo")
    (entry,) = (tmp_path / "pages").iterdir()
    header, _, body = entry.read_bytes().partition(b"\n")
    fields = json.loads(header)
    fields["stored_at"] = "soon"
    entry.write_bytes(json.dumps(fields).encode() + b"\n" + body)
    cached_client(http, tmp_path, clock).project("demo")
    assert len(http.requests) == 2


def test_the_client_loads_the_local_tree_reader_only_for_a_local_index() -> None:
    """Start-up: a lock against remote indexes never imports ``localdir.py``."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import safeinstall.index.client\n"
        "assert 'safeinstall.index.localdir' not in sys.modules, 'loaded'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])
