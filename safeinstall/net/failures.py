"""What a failed request is called: short reasons and hints, with no credentials in them."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from safeinstall.errors import IndexServerError
from safeinstall.urls import redact

NETWORK_HINT = "check the index URL or your network"


def describe(exc: Exception) -> str:
    """A short reason for a urllib3 failure, without its (possibly long) repr chain."""
    text = str(exc)
    for needle, reason in (
        ("IncompleteRead", "the download is incomplete (the connection closed early)"),
        ("reset", "the connection was reset"),
        ("Connection refused", "the connection was refused"),
        ("Read timed out", "the server stopped sending data"),
        ("timed out", "the connection timed out"),
        ("Failed to resolve", "the host name does not resolve"),
        ("CERTIFICATE_VERIFY_FAILED", "its TLS certificate cannot be verified"),
        ("Tunnel connection failed", "the proxy refused the tunnel"),
    ):
        if needle in text:
            return reason
    return f"the connection failed ({type(exc).__name__})"


def too_large(url: str, limit: int) -> IndexServerError:
    return IndexServerError(
        f"{url} sent more than {limit} bytes, the most safeinstall accepts for it",
        hint=server_hint(),
    )


def status_error(url: str, status: int) -> IndexServerError:
    hint = (
        "check the credentials for this index (in its URL, your netrc file, or the keyring "
        "with pip's keyring-provider = subprocess)"
        if status in (401, 403)
        else server_hint()
    )
    return IndexServerError(f"{url} answered HTTP {status}", hint=hint)


def server_hint() -> str:
    return f"{NETWORK_HINT}; the server's answer is not usable"


def shown(url: str) -> str:
    """A URL that does not even parse, without anything that looks like userinfo."""
    return re.sub(r"(?<=//)[^/?#]*@", "", url, count=1)


def proxy_refused(url: str, proxy: str) -> IndexServerError:
    return IndexServerError(
        f"could not fetch {url}: the proxy {redact(proxy)} asks for other credentials (HTTP 407)",
        hint="check the user and password in the proxy URL (HTTPS_PROXY, HTTP_PROXY or pip's "
        "proxy setting)",
    )


def tls_error(url: str, exc: Exception, ca_source: str) -> IndexServerError:
    """One sentence naming the host and, for a certificate that does not verify, the setting
    that chose the CAs; the hint names the settings to use."""
    parts = urlsplit(url)
    host = f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
    if "CERTIFICATE_VERIFY_FAILED" not in str(exc):
        return IndexServerError(
            f"the TLS connection to {host} failed: {describe(exc)}", hint=NETWORK_HINT
        )
    return IndexServerError(
        f"the TLS certificate of {host} cannot be verified with {ca_source}",
        hint="point pip's cert setting, PIP_CERT or REQUESTS_CA_BUNDLE at the CA bundle "
        "that signed it (your company's CA)",
    )
