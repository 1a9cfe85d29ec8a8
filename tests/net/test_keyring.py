"""The keyring command (pip's keyring-provider = subprocess), with a stand-in ``keyring`` on PATH:
asked like pip asks it, once per origin, its password sent to that origin only and shown nowhere;
a keyring that is missing, hangs or has no password is a clear error."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from safeinstall.errors import IndexServerError
from safeinstall.index.client import IndexClient
from safeinstall.net.http import Http
from safeinstall.net.keyring import Keyring
from safeinstall.net.settings import NetSettings
from safeinstall.policy.model import IndexSpec
from tests.net.conftest import INDEX_SECRET
from tests.support.indexserver import IndexServer
from tests.support.keyringstub import calls
from tests.support.planted import planted_venv, ran

KEYRING = NetSettings(keyring=True)


@pytest.fixture(autouse=True)
def no_user_netrc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))


def with_user(url: str, user: str = "deploy") -> str:
    return url.replace("//", f"//{user}@", 1)


def http(url: str, settings: NetSettings = KEYRING) -> Http:
    return Http(
        allowed=lambda u: True, credentials=[url], settings=settings, retries=0, timeout=5.0
    )


def expected(user: str = "deploy") -> str:
    return "Basic " + base64.b64encode(f"{user}:{INDEX_SECRET}".encode()).decode()


def test_the_index_url_and_user_are_asked_once_and_the_password_goes_to_that_origin(
    index_server: IndexServer,
    make_index_server: Callable[[], IndexServer],
    keyring_on_path: Callable[..., Path],
) -> None:
    index = index_server.index_url("a")
    bin_dir = keyring_on_path({(index, "deploy"): INDEX_SECRET})
    other = make_index_server()
    client = http(with_user(index))
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: client.get(index_server.url(f"/a/simple/p{n}/")), range(16)))
    client.get(other.url("/b/simple/"))
    assert calls(bin_dir) == [["get", index, "deploy"]]  # as pip: `keyring get URL USER`
    assert {r.headers.get("authorization") for r in index_server.requests} == {expected()}
    assert all("authorization" not in r.headers for r in other.requests)


def test_the_host_is_asked_when_the_index_url_has_no_entry(
    index_server: IndexServer, keyring_on_path: Callable[..., Path]
) -> None:
    index = index_server.index_url("a")
    host = f"127.0.0.1:{index_server.port}"
    bin_dir = keyring_on_path({(host, "ci"): INDEX_SECRET})
    http(with_user(index, "ci")).get(index)
    assert calls(bin_dir) == [["get", index, "ci"], ["get", host, "ci"]]
    assert index_server.requests[0].headers["authorization"] == expected("ci")


def test_no_password_in_the_keyring_is_an_error_that_says_how_to_store_one(
    index_server: IndexServer, keyring_on_path: Callable[..., Path]
) -> None:
    keyring_on_path({})
    index = index_server.index_url("a")
    with pytest.raises(IndexServerError) as caught:
        http(with_user(index)).get(index)
    assert "the keyring has no password for 'deploy'" in str(caught.value)
    assert f"keyring set {index} deploy" in (caught.value.hint or "")
    assert index_server.requests == []


def test_a_missing_keyring_command_is_a_clear_error(
    index_server: IndexServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    index = index_server.index_url("a")
    with pytest.raises(IndexServerError, match="keyring command 'keyring' is not on PATH"):
        http(with_user(index)).get(index)


def test_a_keyring_that_waits_for_input_is_stopped(
    index_server: IndexServer, keyring_on_path: Callable[..., Path]
) -> None:
    keyring_on_path({}, hang=True)
    with pytest.raises(IndexServerError, match="took longer than 1 s"):
        Keyring(timeout=1.0).password(index_server.index_url("a"), "host", "deploy")


def test_a_crashing_keyring_shows_nothing_it_printed(
    index_server: IndexServer, keyring_on_path: Callable[..., Path]
) -> None:
    keyring_on_path({}, fail=True)
    index = index_server.index_url("a")
    with pytest.raises(IndexServerError) as caught:
        http(with_user(index)).get(index)
    assert "exploded" not in f"{caught.value} {caught.value.hint}"


def test_without_keyring_provider_the_keyring_is_never_run(
    index_server: IndexServer, keyring_on_path: Callable[..., Path]
) -> None:
    index = index_server.index_url("a")
    bin_dir = keyring_on_path({(index, "deploy"): INDEX_SECRET})
    http(with_user(index), NetSettings()).get(index)
    assert calls(bin_dir) == []
    assert index_server.requests[0].headers["authorization"] == "Basic ZGVwbG95Og=="  # deploy:


def test_a_password_in_the_url_wins_over_the_keyring(
    index_server: IndexServer, keyring_on_path: Callable[..., Path]
) -> None:
    index = index_server.index_url("a")
    bin_dir = keyring_on_path({(index, "deploy"): "other"})
    http(index.replace("//", f"//deploy:{INDEX_SECRET}@")).get(index)
    assert calls(bin_dir) == []
    assert index_server.requests[0].headers["authorization"] == expected()


def test_the_refused_access_hint_is_the_way_that_works(
    index_server: IndexServer,
    keyring_on_path: Callable[..., Path],
    wheel_factory: Callable[..., Path],
) -> None:
    """The hint a 401 gives (index/client.py) names what safeinstall now does with a keyring."""
    index_server.add("a", wheel_factory("demo", "1.0"))
    index = index_server.index_url("a")
    index_server.misbehave("/a/simple/*", times=1, status=401)
    spec = IndexSpec("a", index.rstrip("/"))
    with pytest.raises(IndexServerError) as caught:
        IndexClient([spec], http(index, NetSettings()), cache_dir=None).project("demo")
    hint = caught.value.hint or ""
    assert "user in the index URL" in hint and "keyring-provider = subprocess" in hint
    # following it: the user in the URL, the password in the keyring
    bin_dir = keyring_on_path({(index, "deploy"): INDEX_SECRET})
    IndexClient([spec], http(with_user(index)), cache_dir=None).project("demo")
    assert calls(bin_dir) == [["get", index, "deploy"]]
    assert index_server.requests[-1].headers["authorization"] == expected()


# A package installed into the target environment may ship a `keyring` script; with the target
# active (or its bin/ on PATH) that script comes first. It must never be run.


def _first_on_path(monkeypatch: pytest.MonkeyPatch, *directories: Path) -> None:
    monkeypatch.setenv("PATH", os.pathsep.join([*map(str, directories), os.environ["PATH"]]))


def test_a_keyring_planted_in_the_active_venv_is_skipped_for_the_next_one_on_path(
    index_server: IndexServer,
    keyring_on_path: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    index = index_server.index_url("a")
    trusted = keyring_on_path({(index, "deploy"): INDEX_SECRET})
    venv = planted_venv(tmp_path / "venv")
    _first_on_path(monkeypatch, venv / "bin")
    monkeypatch.setenv("VIRTUAL_ENV", str(venv))
    http(with_user(index)).get(index)
    assert ran(venv) == []
    assert calls(trusted) == [["get", index, "deploy"]]
    assert index_server.requests[0].headers["authorization"] == expected()


@pytest.mark.parametrize("active", [True, False])
def test_a_keyring_only_in_the_target_venv_is_refused_naming_it(
    index_server: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, active: bool
) -> None:
    """Active ($VIRTUAL_ENV), or the target given by --python / the project's .venv with its
    bin/ on PATH and no $VIRTUAL_ENV: the same refusal, and nothing is sent."""
    venv = planted_venv(tmp_path / "venv")
    monkeypatch.setenv("PATH", os.pathsep.join([str(venv / "bin"), str(tmp_path / "empty")]))
    if active:
        monkeypatch.setenv("VIRTUAL_ENV", str(venv))
    else:
        monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    index = index_server.index_url("a")
    with pytest.raises(IndexServerError) as caught:
        http(with_user(index)).get(index)
    assert ran(venv) == []
    assert index_server.requests == []
    assert str(venv / "bin" / "keyring") in caught.value.message
    assert "pipx install keyring" in (caught.value.hint or "")


@pytest.mark.parametrize("entry", ["relative", "inside-cwd"])
def test_a_keyring_in_the_current_directory_is_never_run(
    index_server: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, entry: str
) -> None:
    """A checked-out repository is not trusted either: a PATH entry that is relative (or
    empty) or lies inside the current directory is skipped."""
    project = tmp_path / "project"
    tools = planted_venv(project / "tools", pyvenv_cfg=False)
    monkeypatch.chdir(project)
    where = "tools/bin" if entry == "relative" else str(tools / "bin")
    monkeypatch.setenv("PATH", os.pathsep.join([where, str(tmp_path / "empty")]))
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    index = index_server.index_url("a")
    with pytest.raises(IndexServerError, match="inside a Python environment or the current"):
        http(with_user(index)).get(index)
    assert ran(tools) == []
