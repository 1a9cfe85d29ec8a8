"""Credentials: scoped to one origin, from URL userinfo or netrc, never shown."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from safeinstall.errors import InputError
from safeinstall.net.credentials import Credentials
from safeinstall.urls import origin


def basic(user_pass: str) -> str:
    return "Basic " + base64.b64encode(user_pass.encode()).decode()


def test_origin_fills_in_default_ports() -> None:
    assert origin("https://Example.COM/simple/") == ("https", "example.com", 443)
    assert origin("http://example.com/") == ("http", "example.com", 80)
    assert origin("https://u:p@example.com:8443/") == ("https", "example.com", 8443)


def test_userinfo_is_scoped_to_its_origin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETRC", str(tmp_path / "missing"))
    store = Credentials(["https://al%40ice:pa%3Ass@example.com/simple/"])
    assert store.authorization("https://example.com/files/x.whl") == basic("al@ice:pa:ss")
    assert store.authorization("https://example.com:8443/simple/") is None
    assert store.authorization("http://example.com/simple/") is None
    assert store.authorization("https://files.example.com/x.whl") is None
    assert store.learn("https://t@example.org/simple/") == "https://example.org/simple/"
    assert store.authorization("https://example.org/") == basic("t:")


def test_netrc_machine_entries_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    netrc_file = tmp_path / "netrc"
    netrc_file.write_text("machine example.com login n password pw\ndefault login d password dd\n")
    monkeypatch.setenv("NETRC", str(netrc_file))
    store = Credentials()
    assert store.authorization("https://example.com/simple/") == basic("n:pw")
    assert store.authorization("https://example.org/simple/") is None


def test_userinfo_wins_over_netrc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    netrc_file = tmp_path / "netrc"
    netrc_file.write_text("machine example.com login n password pw\n")
    monkeypatch.setenv("NETRC", str(netrc_file))
    store = Credentials(["https://u:p@example.com/simple/"])
    assert store.authorization("https://example.com/simple/") == basic("u:p")


def test_broken_netrc_is_an_input_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    netrc_file = tmp_path / "netrc"
    netrc_file.write_text("machine example.com bogus x\n")
    monkeypatch.setenv("NETRC", str(netrc_file))
    with pytest.raises(InputError) as caught:
        Credentials().authorization("https://example.com/")
    assert caught.value.location is not None
    assert (caught.value.location.path, caught.value.location.line) == (str(netrc_file), 1)
    assert "bogus" in caught.value.message
