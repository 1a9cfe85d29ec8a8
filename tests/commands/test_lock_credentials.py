"""Credentials in pip's configured index URL: used for that index's origin, never shown or written.

The most common private-index setup is ``PIP_INDEX_URL=https://user:token@host/simple`` (or the
same in pip.conf) and no policy file: the lock must authenticate to that index, send the secret
nowhere else, and never print it or write it into the lock.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from safeinstall.policy.model import IndexSpec, Policy
from safeinstall.policy.pipconfig import index_credentials
from tests.support.builders import build_wheel
from tests.support.fixtures import Result
from tests.support.indexserver import IndexServer

SECRET = "s3cr3t-t0ken"


def with_userinfo(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"deploy:{SECRET}@{parts.netloc}"))


def test_lock_authenticates_with_pips_index_url_and_never_shows_the_secret(
    tmp_path: Path,
    index_server: IndexServer,
    make_index_server: Callable[[], IndexServer],
    cli: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    other = make_index_server()  # the extra index: no credentials of its own
    dists = tmp_path / "dists"
    index_server.add("a", build_wheel(dists, "private-app", "1.0", requires_dist=["shared"]))
    other.add("b", build_wheel(dists, "shared", "2.0"))
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    (project / "requirements.in").write_text("private-app\n")
    monkeypatch.chdir(project)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    monkeypatch.setenv("PIP_INDEX_URL", with_userinfo(index_server.index_url("a")))
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", other.index_url("b"))

    result = cli("lock", "requirements.in", "--python-version", "3.12", "--platform", "linux")

    assert result.code == 0, result
    expected = "Basic " + base64.b64encode(f"deploy:{SECRET}".encode()).decode()
    asked = [r for r in index_server.requests if r.path.startswith("/a/")]
    assert asked and all(r.headers.get("authorization") == expected for r in asked)
    assert all("authorization" not in r.headers for r in other.requests)
    lock = (project / "requirements.txt").read_text()
    assert "private-app==1.0" in lock and "shared==2.0" in lock
    assert SECRET not in lock + result.out + result.err


def test_only_configured_urls_of_a_trusted_origin_lend_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PIP_INDEX_URL", f"https://u:{SECRET}@pkgs.example.com/simple")
    monkeypatch.setenv(
        "PIP_EXTRA_INDEX_URL",
        f"https://u:{SECRET}@evil.example.net/simple https://u:x@pkgs.example.com:99999/simple",
    )
    policy = Policy(indexes=(IndexSpec("corp", "https://pkgs.example.com/simple"),))
    assert index_credentials(policy) == (f"https://u:{SECRET}@pkgs.example.com/simple",)
    assert index_credentials(Policy(indexes=())) == ()
