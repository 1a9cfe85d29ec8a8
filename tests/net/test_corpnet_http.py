"""net.http on a company network, with real parts on loopback: a CONNECT proxy that records what
went through it, an https index signed by a CA the test made, client certificates.

The policy judges the real destination (never the proxy), and neither the proxy's nor the
index's secrets appear in errors or reach anyone but their owner.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from safeinstall.errors import IndexServerError, InputError
from safeinstall.net import tls
from safeinstall.net.http import Http
from safeinstall.net.settings import NetSettings
from safeinstall.policy.hosts import HostPolicy
from safeinstall.policy.model import IndexSpec
from tests.net.conftest import INDEX_SECRET, PROXY_SECRET, proxy_url, tls_builds
from tests.support.indexserver import IndexServer
from tests.support.proxy import RecordingProxy
from tests.support.tlsindex import Issued, TestCA, TlsFront, make_ca

MakeHttp = Callable[..., Http]


@pytest.fixture(autouse=True)
def no_user_netrc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))


@pytest.fixture
def make_http() -> MakeHttp:
    def make(settings: NetSettings, **kwargs: object) -> Http:
        options: dict[str, object] = {"allowed": lambda url: True, "timeout": 3.0}
        options.update({"deadline": 8.0, "retries": 1, "backoff": 0.0, **kwargs})
        return Http(settings=settings, **options)  # type: ignore[arg-type]

    return make


@pytest.fixture
def page(index_server: IndexServer, wheel_factory: Callable[..., Path]) -> str:
    index_server.add("a", wheel_factory("demo", "1.0"))
    return "/a/simple/demo/"


def basic(user_pass: str) -> str:
    return "Basic " + base64.b64encode(user_pass.encode()).decode()


def test_https_goes_through_a_connect_tunnel_and_secrets_stay_with_their_owner(  # noqa: PLR0917
    test_ca: TestCA,
    https_index: TlsFront,
    index_server: IndexServer,
    proxy: RecordingProxy,
    page: str,
    make_http: MakeHttp,
) -> None:
    settings = NetSettings(https_proxy=proxy_url(proxy), ca_file=str(test_ca.pem))
    index_creds = https_index.url("/a/simple/").replace("//", f"//deploy:{INDEX_SECRET}@")
    http = make_http(settings, credentials=[index_creds])
    reply = http.get(https_index.url(page))
    wheel = https_index.url("/a/files/demo-1.0-py3-none-any.whl")
    ranged = http.get(wheel, headers={"Range": "bytes=0-9"})
    assert reply.status == 200 and b"demo-1.0" in reply.body
    assert ranged.status == 206 and ranged.body == b"PK\x03\x04" + ranged.body[4:]
    # the proxy saw one CONNECT to the real destination, with its own credentials only
    assert {s.method for s in proxy.seen} == {"CONNECT"}
    assert {s.target for s in proxy.seen} == {f"127.0.0.1:{https_index.port}"}
    seen = b"".join(s.raw for s in proxy.seen).decode()
    assert basic(f"px:{PROXY_SECRET}").split()[1] in seen
    assert INDEX_SECRET not in seen and "authorization: basic" not in seen.lower().replace(
        "proxy-authorization", ""
    )
    # the index got its credentials through the tunnel, and never the proxy's
    assert index_server.requests
    for request in index_server.requests:
        assert request.headers.get("authorization") == basic(f"deploy:{INDEX_SECRET}")
        assert "proxy-authorization" not in request.headers


def test_plain_http_is_forwarded_and_no_proxy_goes_direct(
    index_server: IndexServer, proxy: RecordingProxy, page: str, make_http: MakeHttp
) -> None:
    settings = NetSettings(http_proxy=proxy_url(proxy))
    assert make_http(settings).get(index_server.url(page)).status == 200
    assert proxy.targets() == [index_server.url(page)]
    assert all("proxy-authorization" not in r.headers for r in index_server.requests)
    direct = NetSettings(http_proxy=proxy_url(proxy), no_proxy=("127.0.0.1",))
    assert make_http(direct).get(index_server.url(page)).status == 200
    assert len(proxy.seen) == 1  # the second client went direct


def test_the_policy_judges_the_destination_never_the_proxy(
    index_server: IndexServer, proxy: RecordingProxy, page: str, make_http: MakeHttp
) -> None:
    # the proxy's own host:port is trusted by nothing; the index is
    allowed = HostPolicy([IndexSpec("a", index_server.index_url("a"))])
    http = make_http(NetSettings(http_proxy=proxy_url(proxy)), allowed=allowed)
    assert http.get(index_server.url(page)).status == 200
    with pytest.raises(IndexServerError, match="does not trust"):
        http.get(f"http://127.0.0.2:{index_server.port}{page}")
    with pytest.raises(IndexServerError, match="does not trust"):
        http.get(proxy.url + "/anything")
    assert proxy.targets() == [index_server.url(page)]  # the refused ones never left


def test_redirect_hops_are_judged_and_proxied_each(
    index_server: IndexServer,
    make_index_server: Callable[[], IndexServer],
    proxy: RecordingProxy,
    page: str,
    make_http: MakeHttp,
) -> None:
    other = make_index_server()
    index_server.misbehave("/a/simple/demo/", times=1, redirect_to=other.url("/b/simple/x/"))
    http = make_http(NetSettings(http_proxy=proxy_url(proxy)))
    reply = http.get(index_server.url(page))
    assert reply.status == 404 and reply.url == other.url("/b/simple/x/")
    assert proxy.targets() == [index_server.url(page), other.url("/b/simple/x/")]
    index_server.misbehave("/a/simple/demo/", times=1, redirect_to=other.url("/b/simple/x/"))
    strict = make_http(
        NetSettings(http_proxy=proxy_url(proxy)),
        allowed=HostPolicy([IndexSpec("a", index_server.index_url("a"))]),
    )
    with pytest.raises(IndexServerError, match="not trust"):
        strict.get(index_server.url(page))
    assert len(proxy.seen) == 3  # the refused hop was never asked for


def test_proxy_failures_never_show_the_proxy_password(
    index_server: IndexServer, proxy: RecordingProxy, page: str, make_http: MakeHttp
) -> None:
    wrong = proxy.url.replace("//", "//px:wrong-but-secret@")
    for settings in (
        NetSettings(http_proxy=wrong),
        NetSettings(https_proxy=wrong),
        NetSettings(http_proxy="http://px:wrong-but-secret@127.0.0.1:9"),  # nobody listens
        NetSettings(https_proxy="http://px:wrong-but-secret@127.0.0.1:9"),
    ):
        http = make_http(settings)
        target = index_server.url(page)
        if settings.https_proxy:
            target = target.replace("http://", "https://")
        with pytest.raises(IndexServerError) as caught:
            http.get(target)
        text = f"{caught.value} {caught.value.hint}"
        assert "wrong-but-secret" not in text and "px:" not in text
        if wrong in (settings.https_proxy, settings.http_proxy):
            assert "asks for other credentials (HTTP 407)" in text
            assert "HTTPS_PROXY" in text


def test_an_unknown_ca_is_one_sentence_naming_the_host_and_the_setting(
    https_index: TlsFront, page: str, make_http: MakeHttp, tmp_path: Path
) -> None:
    with pytest.raises(IndexServerError) as caught:
        make_http(NetSettings()).get(https_index.url(page))
    host = f"127.0.0.1:{https_index.port}"
    assert str(caught.value) == (
        f"the TLS certificate of {host} cannot be verified with the system's CA certificates"
    )
    assert "PIP_CERT" in (caught.value.hint or "") and "cert" in (caught.value.hint or "")
    other_ca = tmp_path / "other.pem"
    other_ca.write_text(Path("/etc/ssl/certs/ca-certificates.crt").read_text())
    settings = NetSettings(ca_file=str(other_ca), ca_source="REQUESTS_CA_BUNDLE")
    with pytest.raises(IndexServerError, match=f"of {host} cannot be verified with REQUESTS_CA"):
        make_http(settings).get(https_index.url(page))


def test_an_unreadable_ca_bundle_names_its_setting(tmp_path: Path) -> None:
    settings = NetSettings(ca_file=str(tmp_path / "missing.pem"), ca_source="PIP_CERT")
    with pytest.raises(InputError, match=r"missing\.pem named by PIP_CERT cannot be read"):
        Http(allowed=lambda url: True, settings=settings)


def test_client_certificate(
    test_ca: TestCA,
    server_cert: Issued,
    index_server: IndexServer,
    page: str,
    make_http: MakeHttp,
) -> None:
    me = test_ca.issue("me", client=True)
    with TlsFront(index_server.port, server_cert, client_ca=test_ca.pem) as front:
        without = NetSettings(ca_file=str(test_ca.pem))
        with pytest.raises(IndexServerError):
            make_http(without).get(front.url(page))
        settings = NetSettings(ca_file=str(test_ca.pem), client_cert=str(me.combined))
        assert make_http(settings).get(front.url(page)).status == 200
    with pytest.raises(InputError, match="client-cert"):
        Http(allowed=lambda url: True, settings=NetSettings(client_cert=str(me.cert)))


def test_truststore_asked_for_but_missing_is_said_not_silently_dropped() -> None:
    pytest.importorskip("ssl")
    try:
        __import__("truststore")
    except ImportError:
        pass
    else:
        pytest.skip("truststore is installed here")
    with pytest.raises(InputError) as caught:
        Http(allowed=lambda url: True, settings=NetSettings(truststore=True))
    assert "truststore package is not installed" in str(caught.value)
    assert "." not in str(caught.value)[-1:]


def test_https_index_through_the_environment(
    test_ca: TestCA,
    https_index: TlsFront,
    proxy: RecordingProxy,
    page: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Http() with no settings reads this run's: REQUESTS_CA_BUNDLE and HTTPS_PROXY."""
    for name in ("PIP_CERT", "CURL_CA_BUNDLE", "NO_PROXY", "no_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(test_ca.pem))
    monkeypatch.setenv("HTTPS_PROXY", proxy_url(proxy))
    with Http(allowed=lambda url: True, retries=0) as http:
        assert http.get(https_index.url(page)).status == 200
    assert proxy.targets() == [f"127.0.0.1:{https_index.port}"]


def _context(client: Http) -> object:
    return client._pool.connection_pool_kw["ssl_context"]


def test_the_http_clients_of_a_run_share_the_context_of_the_same_ca_file(
    test_ca: TestCA, https_index: TlsFront, page: str, make_http: MakeHttp, tmp_path: Path
) -> None:
    """Loading a CA bundle takes ~20 ms: it is done once a run for the same settings, and
    again when the file has changed since."""
    ca = tmp_path / "ca.pem"
    ca.write_bytes(test_ca.pem.read_bytes())
    settings = NetSettings(ca_file=str(ca), ca_source="PIP_CERT")
    first, second = make_http(settings), make_http(settings)
    assert _context(first) is _context(second)
    assert second.get(https_index.url(page)).status == 200
    ca.write_bytes(make_ca(tmp_path / "other", "another CA").pem.read_bytes())  # not the index's
    third = make_http(settings)
    assert _context(third) is not _context(first)
    with pytest.raises(IndexServerError, match="cannot be verified with PIP_CERT"):
        third.get(https_index.url(page))


def test_the_system_cas_load_ahead_in_a_thread_and_once(monkeypatch: pytest.MonkeyPatch) -> None:
    built = tls_builds(monkeypatch)
    tls.prepare_tls()
    tls.prepare_tls()
    clients = [Http(allowed=lambda url: True, settings=NetSettings()) for _ in range(2)]
    assert _context(clients[0]) is _context(clients[1])
    assert len(built) == 1
    assert built[0] != threading.main_thread().name
