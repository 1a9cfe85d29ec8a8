"""How this machine reaches the network: proxies, the CA bundle, a client certificate, the
system trust store and the keyring, read as pip reads them.

- Proxies: pip's ``proxy`` setting (``--proxy``, ``PIP_PROXY``, pip.conf), else ``https_proxy`` /
  ``http_proxy`` / ``all_proxy`` (lower case first, then upper case; ``HTTP_PROXY`` is ignored
  under CGI, where a request header can set it). ``no_proxy`` / ``NO_PROXY`` lists hosts reached
  directly: ``*``, a host or domain (``.corp`` or ``corp`` covers ``a.corp``), ``host:port``,
  an IP address or a CIDR range. Loopback is not bypassed unless listed (as requests does on
  Linux). The policy always judges the real destination, never the proxy.
- CA bundle, first found: pip's ``cert`` (``PIP_CERT``, then pip.conf), ``REQUESTS_CA_BUNDLE``,
  ``CURL_CA_BUNDLE``; else the system's CAs (OpenSSL's, which ``SSL_CERT_FILE`` and
  ``SSL_CERT_DIR`` point elsewhere).
- pip's ``client-cert``: one PEM file with the key and the certificate.
- pip's ``use-feature = truststore``: the system trust store through the truststore package.
- pip's ``keyring-provider = subprocess``: passwords from the ``keyring`` command (keyring.py).
  The policy's ``keyring`` key (``"subprocess"`` or ``"disabled"``), when set, wins over pip's
  configuration.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from safeinstall.errors import InputError
from safeinstall.policy.pipconfig import PipNetwork, pip_network
from safeinstall.urls import redact

SYSTEM_CAS = "the system's CA certificates"


@dataclass(frozen=True, slots=True)
class NetSettings:
    """The defaults reach every host directly and trust the system's CAs."""

    http_proxy: str | None = None  # for http:// URLs
    https_proxy: str | None = None  # for https:// URLs (a CONNECT tunnel)
    no_proxy: tuple[str, ...] = ()
    ca_file: str | None = None
    ca_source: str = SYSTEM_CAS  # which setting chose ca_file, for messages
    client_cert: str | None = None
    truststore: bool = False
    keyring: bool = False
    keyring_command: str = field(default="keyring", compare=False)

    def proxy_for(self, url: str) -> str | None:
        """The proxy URL (with any credentials) that ``url`` goes through, or None."""
        parts = urlsplit(url)
        https = parts.scheme.lower() == "https"
        proxy = self.https_proxy if https else self.http_proxy
        port = parts.port or (443 if https else 80)
        if proxy is None or bypasses_proxy(parts.hostname or "", port, self.no_proxy):
            return None
        return proxy


def current_settings(
    env: Mapping[str, str] | None = None, *, keyring: str | None = None
) -> NetSettings:
    """The settings of this run: the environment (default ``os.environ``) and pip's
    configuration for this interpreter (read once per process, see pipconfig). ``keyring``:
    the policy's ``keyring`` key, which wins over pip's keyring-provider; None: not set."""
    environ = os.environ if env is None else env
    return settings_from(environ, pip_network(), keyring=keyring)


def settings_from(
    env: Mapping[str, str], pip: PipNetwork, *, keyring: str | None = None
) -> NetSettings:
    lower = {name.lower(): value for name, value in env.items() if name.islower() and value}
    upper = {name.lower(): value for name, value in env.items() if name.isupper() and value}
    if "REQUEST_METHOD" in env:  # CGI: a client's "Proxy:" header arrives as HTTP_PROXY
        upper.pop("http_proxy", None)

    def variable(name: str) -> str | None:
        return lower.get(name) or upper.get(name)

    every = pip.proxy or variable("all_proxy")
    https_proxy = pip.proxy or variable("https_proxy") or every
    http_proxy = pip.proxy or variable("http_proxy") or every
    no_proxy = variable("no_proxy") or ""
    ca_file, ca_source = pip.cert, pip.cert_source if pip.cert else SYSTEM_CAS
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        if ca_file is None and env.get(name):
            ca_file, ca_source = env[name], name
    if ca_file is None and env.get("SSL_CERT_FILE"):
        ca_source = "SSL_CERT_FILE"
    return NetSettings(
        http_proxy=_proxy_url(http_proxy),
        https_proxy=_proxy_url(https_proxy),
        no_proxy=tuple(e for e in no_proxy.replace(" ", "").lower().split(",") if e),
        ca_file=ca_file,
        ca_source=ca_source,
        client_cert=pip.client_cert,
        truststore=pip.truststore,
        keyring=(keyring or pip.keyring_provider) == "subprocess",
    )


def _proxy_url(value: str | None) -> str | None:
    if value is None:
        return None
    url = value.strip() if "://" in value else f"http://{value.strip()}"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is no number
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InputError(
            f"the proxy {redact(url)} is not an http(s) proxy URL safeinstall can use",
            hint="set HTTPS_PROXY / HTTP_PROXY or pip's proxy setting to "
            "http://[user:password@]host:port",
        )
    return url


def bypasses_proxy(host: str, port: int, no_proxy: tuple[str, ...]) -> bool:
    """Whether ``no_proxy`` entries send ``host`` (port ``port``) around the proxy."""
    host = host.lower().strip("[]").rstrip(".")
    address = _address(host)
    for entry in no_proxy:
        if entry == "*":
            return True
        name, want_port = _entry(entry)
        if want_port is not None and want_port != port:
            continue
        if address is not None:
            network = _network(name)
            if network is not None and address in network:
                return True
        elif name and (host == name or host.endswith("." + name)):
            return True
    return False


def _entry(entry: str) -> tuple[str, int | None]:
    """``no_proxy`` entry -> (host, domain or network; port or None)."""
    entry = entry.lstrip("*").lstrip(".")
    if entry.startswith("["):  # [::1] or [::1]:8080
        name, _, rest = entry[1:].partition("]")
        port = rest.removeprefix(":")
        return name, int(port) if port.isdigit() else None
    name, sep, port = entry.rpartition(":")
    if sep and port.isdigit() and ":" not in name:
        return name.rstrip("."), int(port)
    return entry.rstrip("."), None


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _network(name: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(name, strict=False)
    except ValueError:
        return None
