"""Shared fixtures: a hermetic environment for every test, the CLI runner, the network switch."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

NETWORK_ENV = "SAFEINSTALL_NETWORK_TESTS"
MALWARE_DB = Path(__file__).parent / "data" / "osv-malicious"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--network",
        action="store_true",
        default=False,
        help="run tests marked 'network' (they reach the public index)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--network") or os.environ.get(NETWORK_ENV) == "1":
        return
    skip = pytest.mark.skip(reason=f"reaches the public index: use --network or {NETWORK_ENV}=1")
    for item in items:
        if "network" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def hermetic_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No PIP_*/UV_*/SAFEINSTALL_* variable, no pip config file, private cache and config dirs.

    This machine's global pip config adds extra indexes and constraints; none of it may leak in.
    """
    for name in list(os.environ):
        if name.startswith(("PIP_", "UV_", "SAFEINSTALL_")) and name != NETWORK_ENV:
            monkeypatch.delenv(name)
    # the known-malware gate reads real MAL- records offline: no test asks the public OSV API
    monkeypatch.setenv("SAFEINSTALL_OSV_DB", str(MALWARE_DB))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("FORCE_COLOR", raising=False)


pytest_plugins = ["tests.support.fixtures"]  # index_server, wheel_factory, ...
