"""The policy's ``keyring`` key turns the keyring command on (``"subprocess"``) or off
(``"disabled"``), pip's names; it wins over pip's keyring-provider (pip.conf,
PIP_KEYRING_PROVIDER), which decides when the key is not set.

A real lock through the CLI against the loopback index, the user in PIP_INDEX_URL and the
password only in the stand-in keyring: asked only when the settings say so, and never shown or
written.
"""

from __future__ import annotations

import base64
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from safeinstall.errors import PolicyConfigError
from safeinstall.policy.load import policy_from_text
from tests.net.conftest import INDEX_SECRET
from tests.support.builders import build_wheel
from tests.support.fixtures import Result
from tests.support.indexserver import IndexServer
from tests.support.keyringstub import calls

Cli = Callable[..., Result]
WITH_KEYRING = "Basic " + base64.b64encode(f"deploy:{INDEX_SECRET}".encode()).decode()
WITHOUT = "Basic " + base64.b64encode(b"deploy:").decode()  # the user alone, as pip sends it


@pytest.fixture
def project(
    tmp_path: Path,
    index_server: IndexServer,
    monkeypatch: pytest.MonkeyPatch,
    keyring_on_path: Callable[..., Path],
) -> Callable[[str, str | None], Path]:
    """``project(policy key line, PIP_KEYRING_PROVIDER or None)``: the current directory, a
    project needing private-app from index "a", whose password only the stub keyring has;
    returns the stub's directory."""

    def make(key: str, pip_says: str | None) -> Path:
        index_server.add("a", build_wheel(tmp_path / "dists", "private-app", "1.0"))
        index = index_server.index_url("a")
        root = tmp_path / "project"
        (root / ".git").mkdir(parents=True)
        (root / "requirements.in").write_text("private-app\n")
        policy = f'indexes = [{{ name = "a", url = "{index}" }}]\n{key}\n'  # pip is not asked
        (root / "safeinstall.toml").write_text(policy)
        monkeypatch.chdir(root)
        monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
        monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
        monkeypatch.setenv("PIP_INDEX_URL", index.replace("//", "//deploy@"))
        monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
        if pip_says is None:
            monkeypatch.delenv("PIP_KEYRING_PROVIDER", raising=False)
        else:
            monkeypatch.setenv("PIP_KEYRING_PROVIDER", pip_says)
        return keyring_on_path({(index, "deploy"): INDEX_SECRET})

    return make


HERE = f"{sys.version_info.major}.{sys.version_info.minor}"
LOCK = ("lock", "requirements.in", "--python-version", HERE, "--platform", "linux")


@pytest.mark.parametrize(
    ("key", "pip_says", "asked"),
    [
        ('keyring = "subprocess"', None, True),
        ('keyring = "subprocess"', "disabled", True),  # the policy wins
        ('keyring = "disabled"', "subprocess", False),  # the policy wins
        ("", None, False),  # the default: no keyring
        ("", "subprocess", True),  # no key: pip's configuration decides, as before
    ],
)
def test_the_keyring_is_asked_only_when_the_settings_say_so(  # noqa: PLR0917
    project: Callable[[str, str | None], Path],
    index_server: IndexServer,
    cli: Cli,
    key: str,
    pip_says: str | None,
    asked: bool,
) -> None:
    stub = project(key, pip_says)
    index = index_server.index_url("a")

    result = cli(*LOCK)

    assert result.code == 0, result.err
    assert calls(stub) == ([["get", index, "deploy"]] if asked else [])
    sent = {r.headers.get("authorization") for r in index_server.requests}
    assert sent == {WITH_KEYRING if asked else WITHOUT}
    lock = Path("requirements.txt").read_text()
    assert "private-app==1.0" in lock
    assert INDEX_SECRET not in lock + result.out + result.err


def test_keyring_takes_pips_two_names_and_says_where_another_is() -> None:
    assert policy_from_text("", "s.toml", pyproject=False).keyring is None
    on = policy_from_text('keyring = "subprocess"\n', "s.toml", pyproject=False)
    assert on.keyring == "subprocess"
    with pytest.raises(PolicyConfigError) as caught:
        policy_from_text('sdists = "deny"\nkeyring = "import"\n', "s.toml", pyproject=False)
    assert "s.toml:2" in str(caught.value)
    assert "'keyring' must be \"subprocess\" or \"disabled\", not 'import'" in str(caught.value)


@pytest.mark.slow
def test_install_asks_the_keyring_when_the_policy_says_so(
    project: Callable[[str, str | None], Path],
    index_server: IndexServer,
    cli: Cli,
    tmp_path: Path,
) -> None:
    stub = project('keyring = "subprocess"', None)
    assert cli(*LOCK).code == 0
    before = len(index_server.requests)
    target = tmp_path / "target"
    install = ("install", "-r", "requirements.txt", "--python", sys.executable)
    result = cli(*install, "--target", target)
    assert result.code == 0, result.err
    assert (target / "private_app-1.0.dist-info").is_dir()
    assert len(calls(stub)) == 2  # once for the lock, once for the install: one per run
    wheel = [r for r in index_server.requests[before:] if r.path.endswith(".whl")]
    assert wheel and all(r.headers.get("authorization") == WITH_KEYRING for r in wheel)
    assert INDEX_SECRET not in result.out + result.err + Path("requirements.txt").read_text()
