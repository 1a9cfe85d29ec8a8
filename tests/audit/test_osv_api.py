"""The online OSV source: a fake API on loopback, and one opt-in test against the real API."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import date
from urllib.parse import urlsplit

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from safeinstall.audit.advisories import audit, fix_suggestions
from safeinstall.audit.osv_api import DEFAULT_URL, OsvApi, osv_http
from safeinstall.errors import IndexServerError
from tests.support.osvdata import OSV_DIR, record
from tests.support.osvserver import OsvServer

DJANGO = [(canonicalize_name("django"), Version("3.2.18"))]


@pytest.fixture
def server() -> Iterator[OsvServer]:
    records = [record(p.stem) for p in sorted(OSV_DIR.glob("*.json"))]
    srv = OsvServer(records).start()
    yield srv
    srv.stop()


def api(server: OsvServer) -> OsvApi:
    return OsvApi(osv_http(server.url), server.url + "/")


def test_batch_query_then_each_record_by_id(server: OsvServer) -> None:
    packages = [*DJANGO, (canonicalize_name("py"), Version("1.11.0"))]
    report = audit(packages, api(server), today=date(2025, 1, 1))
    ids = [f.advisory.id for f in report.findings]
    assert "PYSEC-2024-47" in ids and "PYSEC-2022-42969" in ids
    assert "PYSEC-2022-304" not in ids  # a candidate the server sent, re-matched locally
    assert fix_suggestions(report.findings) == {"django": Version("3.2.25")}
    posts = [r for r in server.requests if r[0] == "POST"]
    assert posts[0][1] == "/v1/querybatch"
    assert posts[0][2]["queries"][0] == {
        "package": {"name": "django", "ecosystem": "PyPI"},
        "version": "3.2.18",
    }
    # one id per page: later pages re-ask only the queries that have a next page
    assert len(posts) == 8 and posts[-1][2]["queries"][0]["page_token"] == "7"
    gets = sorted(r[1] for r in server.requests if r[0] == "GET")
    assert len(gets) == 9 and len(set(gets)) == 9  # each record fetched once


def test_transient_failures_are_retried(server: OsvServer) -> None:
    server.fail_next = 2
    assert len(api(server).advisories(DJANGO)) == 8


def test_a_failing_api_is_an_index_server_error(server: OsvServer) -> None:
    server.fail_next = 100
    with pytest.raises(IndexServerError, match="answered HTTP 503") as info:
        OsvApi(osv_http(server.url), server.url).advisories(DJANGO)
    assert "--db" in (info.value.hint or "")


def test_a_redirected_query_is_refused(server: OsvServer) -> None:
    server.redirect_batch = True
    with pytest.raises(IndexServerError, match="POST request with a redirect"):
        api(server).advisories(DJANGO)


def test_a_record_for_another_id_is_refused(server: OsvServer) -> None:
    server.wrong_id = True
    with pytest.raises(IndexServerError, match="sent the record of OTHER-1"):
        api(server).advisories(DJANGO)


class StubHttp:
    def __init__(self, batch: bytes) -> None:
        self.batch = batch

    def post(self, url: str, body: bytes, **kw: object) -> object:
        return _Reply(url, self.batch)

    def get(self, url: str, **kw: object) -> object:
        raise AssertionError(f"no record should be fetched: {url}")


class _Reply:
    def __init__(self, url: str, body: bytes) -> None:
        self.headers: dict[str, str] = {}
        self.url, self.status, self.body = url, 200, body


@pytest.mark.parametrize(
    ("batch", "message"),
    [
        (b"not json", "not JSON"),
        (b"[]", "not a JSON object"),
        (b'{"results": []}', "one result per query"),
        (b'{"results": [{"vulns": [{"id": "../../etc/passwd"}]}]}', "invalid advisory id"),
    ],
)
def test_unusable_batch_answers(batch: bytes, message: str) -> None:
    with pytest.raises(IndexServerError, match=message):
        OsvApi(StubHttp(batch), "https://osv.example.org").advisories(DJANGO)  # type: ignore[arg-type]


def test_the_client_reaches_only_the_api_origin(server: OsvServer) -> None:
    http = osv_http(server.url)
    with pytest.raises(IndexServerError, match="does not trust"):
        http.get("http://127.0.0.2:1/v1/vulns/X")


@pytest.mark.network
def test_real_osv_api_reports_old_django() -> None:
    host = urlsplit(DEFAULT_URL).hostname or ""
    try:
        socket.getaddrinfo(host, 443)
    except OSError:
        pytest.skip(f"{host} does not resolve from here (no route to the OSV API)")
    for attempt in range(3):
        try:
            with osv_http(DEFAULT_URL) as http:
                report = audit(DJANGO, OsvApi(http), today=date.today())
            break
        except IndexServerError:
            if attempt == 2:
                raise
            time.sleep(5 * (attempt + 1))
    ids = {f.advisory.id for f in report.findings} | {
        a for f in report.findings for a in f.advisory.aliases
    }
    assert "CVE-2024-27351" in ids  # PYSEC-2024-47 / its GHSA twin, fixed in 3.2.25
