"""net.settings: which proxy a URL goes through and which CA bundle is trusted, read as pip
reads them (environment variables, then pip's own settings)."""

from __future__ import annotations

import pytest

from safeinstall.errors import InputError
from safeinstall.net.settings import NetSettings, bypasses_proxy, settings_from
from safeinstall.policy.pipconfig import PipNetwork

NONE = PipNetwork()


def test_environment_proxies_lower_case_first_then_upper_case() -> None:
    env = {"HTTPS_PROXY": "http://upper:3128", "https_proxy": "http://lower:3128"}
    assert settings_from(env, NONE).https_proxy == "http://lower:3128"
    env = {"HTTPS_PROXY": "http://upper:3128", "HTTP_PROXY": "plain:8080"}
    settings = settings_from(env, NONE)
    assert settings.https_proxy == "http://upper:3128"
    assert settings.http_proxy == "http://plain:8080"  # no scheme: http, as requests does
    assert settings_from({"ALL_PROXY": "http://all:1"}, NONE).https_proxy == "http://all:1"


def test_http_proxy_set_by_a_cgi_request_header_is_ignored() -> None:
    env = {"HTTP_PROXY": "http://attacker:1", "REQUEST_METHOD": "GET"}
    assert settings_from(env, NONE).http_proxy is None


def test_pips_proxy_setting_wins_over_the_environment() -> None:
    pip = PipNetwork(proxy="http://pip-proxy:3128")
    settings = settings_from({"HTTPS_PROXY": "http://env:1"}, pip)
    assert settings.https_proxy == settings.http_proxy == "http://pip-proxy:3128"


def test_proxy_applies_by_scheme_and_no_proxy() -> None:
    settings = settings_from(
        {
            "HTTPS_PROXY": "http://u:p@proxy:3128",
            "NO_PROXY": "internal.corp, .svc ,10.0.0.0/8,127.0.0.1,pkgs.local:8443,tls.local:443",
        },
        NONE,
    )
    assert settings.proxy_for("https://files.example.org/x") == "http://u:p@proxy:3128"
    assert settings.proxy_for("http://files.example.org/x") is None  # no http proxy set
    for direct in (
        "https://internal.corp/simple/",
        "https://a.internal.corp/simple/",
        "https://b.svc/",
        "https://10.1.2.3/",
        "https://127.0.0.1:8080/",
        "https://pkgs.local:8443/",
        "https://tls.local/",  # the scheme's default port counts
    ):
        assert settings.proxy_for(direct) is None, direct
    for proxied in (
        "https://badinternal.corp/",  # a suffix only counts at a dot
        "https://11.0.0.1/",
        "https://localhost/",  # loopback is not bypassed unless listed (requests on Linux)
        "https://pkgs.local/",  # another port
    ):
        assert settings.proxy_for(proxied) is not None, proxied


@pytest.mark.parametrize(
    ("host", "port", "entries", "bypass"),
    [
        ("anything", 443, ("*",), True),
        ("::1", 443, ("[::1]",), True),
        ("::1", 8080, ("[::1]:8080",), True),
        ("::1", 443, ("::1",), True),
        ("fd00::5", 443, ("fd00::/8",), True),
        ("a.b.c", 443, ("*.b.c",), True),
        ("A.B.C.", 443, ("b.c",), True),
        ("b.c", 443, ("a.b.c",), False),
        ("1.2.3.4", 443, ("1.2.3.5",), False),
    ],
)
def test_no_proxy_entries(host: str, port: int, entries: tuple[str, ...], bypass: bool) -> None:
    assert bypasses_proxy(host, port, entries) is bypass


def test_a_proxy_that_is_not_http_is_a_clear_error_without_its_password() -> None:
    with pytest.raises(InputError) as caught:
        settings_from({"HTTPS_PROXY": "socks5://user:hunter2@proxy:1080"}, NONE)
    assert "hunter2" not in f"{caught.value} {caught.value.hint}"
    assert "socks5://***@proxy:1080" in str(caught.value)
    with pytest.raises(InputError):
        settings_from({"HTTPS_PROXY": "http://proxy:notaport"}, NONE)


def test_ca_bundle_precedence_is_pips() -> None:
    env = {
        "REQUESTS_CA_BUNDLE": "/r.pem",
        "CURL_CA_BUNDLE": "/c.pem",
        "SSL_CERT_FILE": "/s.pem",
    }
    pip = PipNetwork(cert="/pip.pem", cert_source="PIP_CERT")
    assert (settings_from(env, pip).ca_file, settings_from(env, pip).ca_source) == (
        "/pip.pem",
        "PIP_CERT",
    )
    assert settings_from(env, NONE).ca_file == "/r.pem"
    del env["REQUESTS_CA_BUNDLE"]
    assert settings_from(env, NONE).ca_file == "/c.pem"
    del env["CURL_CA_BUNDLE"]
    # SSL_CERT_FILE is OpenSSL's own: the default context reads it; it is named in messages
    assert (settings_from(env, NONE).ca_file, settings_from(env, NONE).ca_source) == (
        None,
        "SSL_CERT_FILE",
    )
    assert settings_from({}, NONE) == NetSettings()


def test_client_cert_truststore_and_keyring_come_from_pip() -> None:
    pip = PipNetwork(client_cert="/me.pem", truststore=True, keyring_provider="subprocess")
    settings = settings_from({}, pip)
    assert (settings.client_cert, settings.truststore, settings.keyring) == ("/me.pem", True, True)
    for provider in (None, "auto", "import", "disabled"):
        assert not settings_from({}, PipNetwork(keyring_provider=provider)).keyring
