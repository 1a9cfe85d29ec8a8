"""net.http against the loopback index: retries, limits, redirects, credentials, ranges."""

from __future__ import annotations

import base64
import io
import socket
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from safeinstall import __version__
from safeinstall.errors import IndexServerError, InputError
from safeinstall.net.http import Http
from safeinstall.net.redirects import MAX_REDIRECTS, next_hop
from tests.support.indexserver import IndexServer

MakeHttp = Callable[..., Http]


@pytest.fixture(autouse=True)
def no_user_netrc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The user's own ~/.netrc must not add credentials; tests that want one set NETRC."""
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))


@pytest.fixture
def make_http() -> Iterator[MakeHttp]:
    clients: list[Http] = []

    def make(**kwargs: Any) -> Http:
        options: dict[str, Any] = {
            "allowed": lambda url: True,
            "timeout": 2.0,
            "deadline": 5.0,
            "retries": 2,
            "backoff": 0.0,
        }
        options.update(kwargs)
        client = Http(**options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def wheel(index_server: IndexServer, wheel_factory: Callable[..., Path]) -> Path:
    path = wheel_factory("demo", "1.0")
    index_server.add("a", path)
    return path


def file_path(wheel: Path) -> str:
    return f"/a/files/{wheel.name}"


def basic(user_pass: str) -> str:
    return "Basic " + base64.b64encode(user_pass.encode()).decode()


# -- plain fetching ------------------------------------------------------------------------------


def test_get_returns_body_headers_and_sends_user_agent(
    index_server: IndexServer, wheel: Path, make_http: MakeHttp
) -> None:
    url = index_server.index_url("a") + "demo/"
    response = make_http().get(url, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    assert (response.url, response.status) == (url, 200)
    assert response.headers["content-type"] == "application/vnd.pypi.simple.v1+json"
    assert b'"name": "demo"' in response.body
    (request,) = index_server.requests
    assert request.headers["user-agent"] == f"safeinstall/{__version__}"
    assert "authorization" not in request.headers


def test_range_request_passes_through(
    index_server: IndexServer, wheel: Path, make_http: MakeHttp
) -> None:
    data = wheel.read_bytes()
    http = make_http()
    url = index_server.file_url("a", wheel.name)
    response = http.get(url, headers={"Range": "bytes=-22"})
    assert (response.status, response.body) == (206, data[-22:])
    assert response.headers["content-range"].startswith(f"bytes {len(data) - 22}-")
    index_server.misbehave(file_path(wheel), ignore_range=True)
    response = http.get(url, headers={"Range": "bytes=-22"})
    assert (response.status, response.body) == (200, data)


def test_connection_pool_reuses_connections(
    index_server: IndexServer, wheel: Path, make_http: MakeHttp
) -> None:
    http = make_http()
    for _ in range(3):
        http.get(index_server.index_url("a"))
    assert len(index_server.requests) == 3
    assert len({r.client_port for r in index_server.requests}) == 1


def test_concurrent_use_from_threads(
    index_server: IndexServer, wheel: Path, make_http: MakeHttp
) -> None:
    http = make_http()
    url = index_server.file_url("a", wheel.name)
    with ThreadPoolExecutor(max_workers=8) as pool:
        bodies = list(pool.map(lambda _: http.get(url).body, range(32)))
    assert bodies == [wheel.read_bytes()] * 32


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:99999/simple/", "http://[::1/simple/", "ftp://x/"]
)
def test_invalid_first_url_is_refused(make_http: MakeHttp, url: str) -> None:
    with pytest.raises(IndexServerError, match=r"not a valid URL|refusing to fetch"):
        make_http().get(url)


def test_redirect_to_an_invalid_url_is_refused(
    index_server: IndexServer, make_http: MakeHttp
) -> None:
    index_server.misbehave("/bad", redirect_to="http://127.0.0.1:99999/x")
    with pytest.raises(IndexServerError, match="redirected to an invalid URL"):
        make_http().get(index_server.url("/bad"))


# -- retries -------------------------------------------------------------------------------------


def test_retries_on_500_then_succeeds(
    index_server: IndexServer, wheel: Path, make_http: MakeHttp
) -> None:
    index_server.misbehave(file_path(wheel), times=2, status=500)
    response = make_http(retries=2).get(index_server.file_url("a", wheel.name))
    assert (response.status, response.body) == (200, wheel.read_bytes())
    assert len(index_server.requests) == 3


def test_persistent_500_is_returned_after_the_retries(
    index_server: IndexServer, wheel: Path, make_http: MakeHttp
) -> None:
    index_server.misbehave(file_path(wheel), status=503)
    response = make_http(retries=2).get(index_server.file_url("a", wheel.name))
    assert response.status == 503
    assert len(index_server.requests) == 3


@pytest.mark.parametrize("status", [401, 403, 404])
def test_no_retry_on_4xx(
    index_server: IndexServer, wheel: Path, make_http: MakeHttp, status: int
) -> None:
    index_server.misbehave(file_path(wheel), status=status)
    response = make_http(retries=3).get(index_server.file_url("a", wheel.name))
    assert response.status == status
    assert len(index_server.requests) == 1


def test_backoff_grows_exponentially(
    index_server: IndexServer, wheel: Path, make_http: MakeHttp
) -> None:
    index_server.misbehave(file_path(wheel), times=2, status=500)
    started = time.monotonic()
    make_http(retries=2, backoff=0.1).get(index_server.file_url("a", wheel.name))
    assert time.monotonic() - started >= 0.3  # 0.1 + 0.2


def test_reset_is_retried(index_server: IndexServer, wheel: Path, make_http: MakeHttp) -> None:
    index_server.misbehave(file_path(wheel), times=1, reset_after=10)
    response = make_http().get(index_server.file_url("a", wheel.name))
    assert response.body == wheel.read_bytes()
    assert len(index_server.requests) == 2


def test_persistent_reset_fails_with_hint(
    index_server: IndexServer, wheel: Path, make_http: MakeHttp
) -> None:
    index_server.misbehave(file_path(wheel), reset_after=10)
    url = index_server.file_url("a", wheel.name)
    with pytest.raises(IndexServerError) as caught:
        make_http(retries=2).get(url)
    assert caught.value.message.startswith(f"could not fetch {url}: ")
    assert caught.value.hint is not None
    assert "retried 2 times" in caught.value.hint
    assert len(index_server.requests) == 3


def test_connection_refused_fails_after_retries(make_http: MakeHttp) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(IndexServerError) as caught:
        make_http(retries=1).get(f"http://127.0.0.1:{port}/a/simple/")
    assert "refused" in caught.value.message
    assert caught.value.hint is not None
    assert "retried 1 times" in caught.value.hint


@pytest.mark.parametrize(("error", "asked"), [(socket.EAI_NONAME, 1), (socket.EAI_AGAIN, 3)])
def test_a_name_that_does_not_exist_is_not_asked_again(
    make_http: MakeHttp, monkeypatch: pytest.MonkeyPatch, error: int, asked: int
) -> None:
    """ "Name or service not known" stays so (no backoff spent on it); "temporary failure in
    name resolution" is retried like any connection error."""
    lookups: list[str] = []

    def getaddrinfo(host: str, *args: object, **kwargs: object) -> object:
        lookups.append(host)
        raise socket.gaierror(error, "from the test")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with pytest.raises(IndexServerError) as caught:
        make_http(retries=2).get("https://nowhere.test/simple/")
    assert "does not resolve" in caught.value.message
    assert lookups == ["nowhere.test"] * asked


# -- limits --------------------------------------------------------------------------------------


def test_truncated_body_is_incomplete(
    index_server: IndexServer, wheel: Path, make_http: MakeHttp
) -> None:
    index_server.misbehave(file_path(wheel), truncate_at=100)
    with pytest.raises(IndexServerError, match="incomplete"):
        make_http(retries=1).get(index_server.file_url("a", wheel.name))
    assert len(index_server.requests) == 2


def test_trickle_past_the_deadline(
    index_server: IndexServer, wheel: Path, make_http: MakeHttp
) -> None:
    index_server.misbehave(file_path(wheel), trickle=200)
    started = time.monotonic()
    with pytest.raises(IndexServerError, match=r"took longer than 0\.5 s"):
        make_http(deadline=0.5, timeout=1.0).get(index_server.file_url("a", wheel.name))
    assert time.monotonic() - started < 2.5
    assert len(index_server.requests) == 1  # the deadline covers retries: none after it


def test_declared_size_over_the_cap_is_refused_before_reading(
    index_server: IndexServer, wheel: Path, make_http: MakeHttp
) -> None:
    with pytest.raises(IndexServerError, match="more than 100 bytes"):
        make_http().get(index_server.file_url("a", wheel.name), max_bytes=100)
    assert len(index_server.requests) == 1


def test_endless_body_without_length_is_capped(
    index_server: IndexServer, wheel: Path, make_http: MakeHttp
) -> None:
    index_server.misbehave("/a/simple/*", oversize=5_000_000, no_content_length=True)
    with pytest.raises(IndexServerError, match="more than 200000 bytes"):
        make_http(max_bytes=200_000).get(index_server.index_url("a"))


# -- redirects -----------------------------------------------------------------------------------


def test_redirect_to_an_allowed_server(
    make_index_server: Callable[[], IndexServer],
    wheel_factory: Callable[..., Path],
    make_http: MakeHttp,
) -> None:
    first, second = make_index_server(), make_index_server()
    wheel = wheel_factory("demo", "1.0")
    second.add("b", wheel)
    target = second.file_url("b", wheel.name)
    first.misbehave("/a/files/*", redirect_to=target)
    response = make_http().get(first.file_url("a", wheel.name))
    assert (response.url, response.body) == (target, wheel.read_bytes())


def test_relative_redirect_is_resolved(
    index_server: IndexServer, wheel: Path, make_http: MakeHttp
) -> None:
    index_server.misbehave("/old/*", redirect_to=file_path(wheel), redirect_status=301)
    response = make_http().get(index_server.url("/old/x"))
    assert response.url == index_server.file_url("a", wheel.name)
    assert response.body == wheel.read_bytes()


def test_redirect_to_an_untrusted_host_is_refused(
    make_index_server: Callable[[], IndexServer],
    wheel_factory: Callable[..., Path],
    make_http: MakeHttp,
) -> None:
    first, second = make_index_server(), make_index_server()
    wheel = wheel_factory("demo", "1.0")
    second.add("b", wheel)
    first.misbehave("/a/files/*", redirect_to=second.file_url("b", wheel.name))
    http = make_http(allowed=lambda url: url.startswith(first.url("/")))
    with pytest.raises(IndexServerError, match="the policy does not trust"):
        http.get(first.file_url("a", wheel.name))
    assert second.requests == []


def test_untrusted_first_url_is_refused(index_server: IndexServer, make_http: MakeHttp) -> None:
    with pytest.raises(IndexServerError, match="refusing to fetch"):
        make_http(allowed=lambda url: False).get(index_server.index_url("a"))
    assert index_server.requests == []


def test_redirect_loop_is_detected(index_server: IndexServer, make_http: MakeHttp) -> None:
    index_server.misbehave("/loop/a", redirect_to="/loop/b")
    index_server.misbehave("/loop/b", redirect_to="/loop/a")
    with pytest.raises(IndexServerError, match="loops back"):
        make_http().get(index_server.url("/loop/a"))
    assert len(index_server.requests) == 2


def test_ten_hops_are_followed_eleven_are_too_many(
    index_server: IndexServer, wheel: Path, make_http: MakeHttp
) -> None:
    for hop in range(MAX_REDIRECTS + 1):
        index_server.misbehave(f"/hop/{hop}", redirect_to=f"/hop/{hop + 1}")
    index_server.misbehave(f"/hop/{MAX_REDIRECTS + 1}", redirect_to=file_path(wheel))
    http = make_http()
    assert http.get(index_server.url("/hop/2")).body == wheel.read_bytes()
    with pytest.raises(IndexServerError, match="more than 10 redirects"):
        http.get(index_server.url("/hop/1"))


def test_https_to_http_redirect_is_refused() -> None:
    with pytest.raises(IndexServerError, match="from https to plain http"):
        next_hop("https://example.com/simple/", "http://example.com/x", [], lambda url: True)


def test_redirect_to_another_scheme_is_refused() -> None:
    with pytest.raises(IndexServerError, match="not an http"):
        next_hop("https://example.com/", "javascript:alert(1)", [], lambda url: True)


def test_next_hop_drops_userinfo_and_fragment_from_location() -> None:
    hop = next_hop(
        "https://example.com/a/", "https://u:p@example.org/f.whl#x", [], lambda url: True
    )
    assert hop == "https://example.org/f.whl"


# -- credentials ---------------------------------------------------------------------------------


def test_credentials_go_to_their_host_only(
    make_index_server: Callable[[], IndexServer],
    wheel_factory: Callable[..., Path],
    make_http: MakeHttp,
) -> None:
    first, second = make_index_server(), make_index_server()
    wheel = wheel_factory("demo", "1.0")
    first.add("a", wheel)
    second.add("b", wheel)
    http = make_http()
    page = first.index_url("a").replace("http://", "http://al%40ice:pa%3Ass@")
    response = http.get(page)
    assert response.url == first.index_url("a")
    # later requests to the same origin (file URLs from the listing) carry them too
    http.get(first.file_url("a", wheel.name))
    assert [r.headers["authorization"] for r in first.requests] == [basic("al@ice:pa:ss")] * 2
    # a redirect to another port, or to the same server under another host name, does not
    first.misbehave("/x/other-port", redirect_to=second.file_url("b", wheel.name))
    first.misbehave("/x/other-host", redirect_to=first.url(file_path(wheel), host="localhost"))
    http.get(first.url("/x/other-port"), headers={"Authorization": "Bearer t"})
    http.get(first.url("/x/other-host"))
    assert all("authorization" not in r.headers for r in second.requests)
    (via_localhost,) = [r for r in first.requests if r.host.startswith("localhost")]
    assert "authorization" not in via_localhost.headers


def test_credentials_never_appear_in_errors(
    index_server: IndexServer, wheel: Path, make_http: MakeHttp
) -> None:
    index_server.misbehave(file_path(wheel), reset_after=1)
    url = index_server.file_url("a", wheel.name).replace("http://", "http://bob:hunter2@")
    with pytest.raises(IndexServerError) as caught:
        make_http(retries=0).get(url)
    text = f"{caught.value} {caught.value.hint}"
    assert "hunter2" not in text
    assert "bob" not in text
    with pytest.raises(IndexServerError) as caught:
        make_http().get("http://bob:hunter2@127.0.0.1:99999/simple/")
    assert "hunter2" not in str(caught.value)
    index_server.misbehave("/moved", redirect_to="http://eve:hunter2@127.0.0.1:99999/")
    with pytest.raises(IndexServerError) as caught:
        make_http().get(index_server.url("/moved"))
    assert "hunter2" not in str(caught.value)


def test_credentials_from_constructor(
    index_server: IndexServer, wheel: Path, make_http: MakeHttp
) -> None:
    configured = index_server.index_url("a").replace("http://", "http://u:p@")
    make_http(credentials=[configured]).get(index_server.file_url("a", wheel.name))
    assert index_server.requests[0].headers["authorization"] == basic("u:p")


def test_netrc_host_entry_is_used_default_is_not(
    make_index_server: Callable[[], IndexServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    make_http: MakeHttp,
) -> None:
    server = make_index_server()
    netrc_file = tmp_path / "netrc"
    netrc_file.write_text("machine 127.0.0.1 login n password pw\ndefault login d password dd\n")
    netrc_file.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc_file))
    http = make_http()
    http.get(server.index_url("a"))
    http.get(server.index_url("a", host="localhost"))
    first, second = server.requests
    assert first.headers["authorization"] == basic("n:pw")
    assert "authorization" not in second.headers


def test_broken_netrc_is_an_input_error(
    index_server: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_http: MakeHttp
) -> None:
    netrc_file = tmp_path / "netrc"
    netrc_file.write_text("machine 127.0.0.1 bogus x\n")
    monkeypatch.setenv("NETRC", str(netrc_file))
    with pytest.raises(InputError) as caught:
        make_http().get(index_server.index_url("a"))
    assert caught.value.location is not None
    assert (caught.value.location.path, caught.value.location.line) == (str(netrc_file), 1)
    assert "bogus" in caught.value.message
    assert index_server.requests == []


# -- streaming -----------------------------------------------------------------------------------


def test_stream_writes_to_the_sink(
    index_server: IndexServer, wheel: Path, make_http: MakeHttp
) -> None:
    sink = io.BytesIO()
    size = wheel.stat().st_size
    response = make_http().stream(
        index_server.file_url("a", wheel.name), sink, max_bytes=10**6, expected_size=size
    )
    assert (response.status, response.body) == (200, b"")
    assert sink.getvalue() == wheel.read_bytes()


def test_stream_retry_rewinds_the_sink(
    index_server: IndexServer, wheel: Path, make_http: MakeHttp
) -> None:
    index_server.misbehave(file_path(wheel), times=1, truncate_at=300)
    sink = io.BytesIO()
    make_http().stream(index_server.file_url("a", wheel.name), sink, max_bytes=10**6)
    assert sink.getvalue() == wheel.read_bytes()


def test_stream_refuses_another_size_than_expected(
    index_server: IndexServer, wheel: Path, make_http: MakeHttp
) -> None:
    size = wheel.stat().st_size
    url = index_server.file_url("a", wheel.name)
    with pytest.raises(IndexServerError, match=f"announced {size} bytes, but 10 were"):
        make_http().stream(url, io.BytesIO(), max_bytes=10**6, expected_size=10)
    index_server.misbehave(file_path(wheel), no_content_length=True)
    with pytest.raises(IndexServerError, match="more than 10 bytes"):
        make_http().stream(url, io.BytesIO(), max_bytes=10**6, expected_size=10)
    with pytest.raises(IndexServerError, match="incomplete"):
        make_http().stream(url, io.BytesIO(), max_bytes=10**6, expected_size=size + 1)


def test_stream_error_status_is_an_error(
    index_server: IndexServer, wheel: Path, make_http: MakeHttp
) -> None:
    index_server.misbehave(file_path(wheel), status=401)
    sink = io.BytesIO()
    with pytest.raises(IndexServerError, match="answered HTTP 401") as caught:
        make_http().stream(index_server.file_url("a", wheel.name), sink, max_bytes=10**6)
    assert caught.value.hint is not None
    assert "credentials" in caught.value.hint
    assert sink.getvalue() == b""
