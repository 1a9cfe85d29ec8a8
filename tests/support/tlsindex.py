"""HTTPS on loopback with a throwaway CA the test makes (the ``openssl`` command line).

``make_ca(dir)`` writes a CA and issues certificates with it; ``TlsFront(backend, cert)``
terminates TLS on 127.0.0.1 and passes the bytes on to a plain loopback server (the index server,
the OSV server), so any of them can be served over https::

    ca = make_ca(tmp_path / "ca")
    with TlsFront(index_server.port, ca.issue("server")) as front:
        front.url("/a/simple/")          # https://127.0.0.1:PORT/a/simple/, trusted by ca.pem

``client_ca=ca.pem`` makes the front ask for a client certificate signed by that CA.
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

_DAYS = "2"


def _openssl(*args: str | Path, cwd: Path) -> None:
    subprocess.run(
        ["openssl", *map(str, args)], cwd=cwd, check=True, capture_output=True, timeout=60
    )


@dataclass(frozen=True)
class Issued:
    cert: Path  # the certificate alone
    key: Path
    combined: Path  # key and certificate in one PEM (pip's client-cert)


@dataclass(frozen=True)
class TestCA:
    __test__ = False  # not a test class
    dir: Path
    pem: Path
    key: Path

    def issue(self, name: str, *, client: bool = False) -> Issued:
        """A certificate for 127.0.0.1 and localhost (or a client certificate)."""
        ext = self.dir / f"{name}.ext"
        usage = "clientAuth" if client else "serverAuth"
        ext.write_text(
            "basicConstraints = critical, CA:FALSE\n"
            "keyUsage = critical, digitalSignature, keyEncipherment\n"
            f"extendedKeyUsage = {usage}\n"
            "subjectAltName = IP:127.0.0.1, DNS:localhost\n"
            "subjectKeyIdentifier = hash\n"
            "authorityKeyIdentifier = keyid\n"
        )
        key, csr, cert = (self.dir / f"{name}.{s}" for s in ("key", "csr", "pem"))
        _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key, cwd=self.dir)
        _openssl("req", "-new", "-key", key, "-subj", f"/CN={name}", "-out", csr, cwd=self.dir)
        _openssl(
            "x509", "-req", "-in", csr, "-CA", self.pem, "-CAkey", self.key,
            "-CAcreateserial", "-days", _DAYS, "-extfile", ext, "-out", cert, cwd=self.dir,
        )  # fmt: skip
        combined = self.dir / f"{name}-with-key.pem"
        combined.write_text(key.read_text() + cert.read_text())
        return Issued(cert, key, combined)


def make_ca(directory: Path, name: str = "safeinstall test CA") -> TestCA:
    directory.mkdir(parents=True, exist_ok=True)
    key, pem = directory / "ca.key", directory / "ca.pem"
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key, cwd=directory)
    _openssl(
        "req", "-x509", "-new", "-key", key, "-subj", f"/CN={name}", "-days", _DAYS,
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-addext", "subjectKeyIdentifier=hash",
        "-out", pem, cwd=directory,
    )  # fmt: skip
    return TestCA(directory, pem, key)


class TlsFront:
    """TLS on 127.0.0.1 (port 0) in front of the plain server at 127.0.0.1:``backend``."""

    def __init__(self, backend: int, server: Issued, *, client_ca: Path | None = None) -> None:
        self._backend = backend
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._context.load_cert_chain(server.cert, server.key)
        if client_ca is not None:
            self._context.verify_mode = ssl.CERT_REQUIRED
            self._context.load_verify_locations(client_ca)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.handshake_failures = 0

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    def url(self, path: str = "/") -> str:
        return f"https://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> TlsFront:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        self._listener.close()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._connection, args=(client,), daemon=True).start()

    def _connection(self, client: socket.socket) -> None:
        client.settimeout(10)
        try:
            secure = self._context.wrap_socket(client, server_side=True)
        except (ssl.SSLError, OSError):
            self.handshake_failures += 1
            client.close()
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", self._backend), timeout=10)
        except OSError:
            secure.close()
            return
        pipe(secure, upstream)


def pipe(a: socket.socket, b: socket.socket, *, idle: float = 10.0) -> None:
    """Copy bytes both ways until either side closes (or both are ``idle`` seconds), then close
    both. In one thread: an SSL socket read in one thread and written in another races inside
    OpenSSL (TLS 1.3 sends session tickets after the handshake), which stalled a response now
    and then until the client's read timeout."""
    ends = (a, b)
    try:
        while True:
            ready: list[socket.socket] = [
                s for s in ends if isinstance(s, ssl.SSLSocket) and s.pending()
            ]
            if not ready:
                ready, _, _ = select.select(ends, [], [], idle)
                if not ready:
                    return
            for src in ready:
                data = src.recv(65536)
                if not data:
                    return
                (b if src is a else a).sendall(data)
    except OSError:
        pass
    finally:
        for s in ends:
            with contextlib.suppress(OSError):
                s.close()
