"""The TLS contexts of a run: the CA bundle that ``settings.py`` chooses (else the system's CAs,
or the system trust store through truststore when pip is set to use it) and pip's client
certificate.

Loading a CA bundle takes ~20 ms. A context is built once a run for each set of these settings
and each state of their files, and shared by the run's Http clients; ``prepare_tls`` builds the
default one ahead, in a thread.
"""

from __future__ import annotations

import importlib
import os
import ssl
import threading
from concurrent.futures import Future

from safeinstall.errors import InputError
from safeinstall.net.settings import NetSettings


def prepare_tls() -> None:
    """Start building the TLS context of the default settings (the system's CAs) in a thread:
    loading a CA bundle takes ~20 ms, mostly without the GIL, that a run can spend on its
    imports and on asking pip for its settings. A run whose settings turn out otherwise builds
    its own (``ssl_context``); this one is then not used."""
    key = _tls_key(NetSettings())
    made: Future[ssl.SSLContext] = Future()
    with _TLS_GUARD:
        if key in _TLS:
            return
        _TLS[key] = made
    threading.Thread(target=_build, args=(made, NetSettings()), daemon=True).start()


def ssl_context(settings: NetSettings) -> ssl.SSLContext:
    """The context of ``settings``' CA bundle (else the system's, or the system trust store
    through truststore when pip is set to use it) and pip's client certificate: built once per
    run for each set of them (and each state of their files), shared by its Http clients."""
    key = _tls_key(settings)
    with _TLS_GUARD:
        made = _TLS.get(key)
        first = made is None
        if made is None:
            _TLS[key] = made = Future()
    if first:
        _build(made, settings)
    return made.result()


# (CA file, its state, truststore, client certificate, its state) -> the context
_TLS: dict[tuple[object, ...], Future[ssl.SSLContext]] = {}
_TLS_GUARD = threading.Lock()


def _tls_key(settings: NetSettings) -> tuple[object, ...]:
    def state(path: str | None) -> tuple[int, ...] | None:
        try:
            info = os.stat(path) if path is not None else None
        except OSError:
            return None  # building from it fails, and says why
        return (info.st_ino, info.st_size, info.st_mtime_ns) if info is not None else None

    ca, cert = settings.ca_file, settings.client_cert
    return (ca, state(ca), settings.truststore, cert, state(cert))


def _build(made: Future[ssl.SSLContext], settings: NetSettings) -> None:
    try:
        made.set_result(_new_context(settings))
    except BaseException as exc:  # raised to each who asks, while the files stay as they are
        made.set_exception(exc)


def _new_context(settings: NetSettings) -> ssl.SSLContext:
    try:
        if settings.ca_file is not None:
            context = ssl.create_default_context(cafile=settings.ca_file)
        elif settings.truststore:
            context = _truststore_context()
        else:
            context = ssl.create_default_context()
    except (OSError, ssl.SSLError) as exc:
        raise InputError(
            f"the CA bundle {settings.ca_file} named by {settings.ca_source} cannot be read: "
            f"{getattr(exc, 'strerror', None) or exc}",
            hint=f"point {settings.ca_source} at a PEM file of CA certificates",
        ) from None
    if settings.client_cert is not None:
        try:
            context.load_cert_chain(settings.client_cert)
        except (OSError, ssl.SSLError) as exc:
            raise InputError(
                f"the client certificate {settings.client_cert} (pip's client-cert) cannot "
                f"be used: {getattr(exc, 'strerror', None) or exc}",
                hint="client-cert names one PEM file holding the private key and the certificate",
            ) from None
    return context


def _truststore_context() -> ssl.SSLContext:
    try:
        truststore = importlib.import_module("truststore")
    except ImportError:
        raise InputError(
            "pip is set to use the system trust store (use-feature = truststore), but the "
            "truststore package is not installed next to safeinstall",
            hint="install truststore into safeinstall's environment, or set pip's cert (or "
            "PIP_CERT) to your CA bundle instead",
        ) from None
    context: ssl.SSLContext = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    return context
