"""pipconfig.pip_network: pip's proxy, cert, client-cert, keyring-provider and use-feature, read
from real pip in one run that the index lookup shares."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from safeinstall.policy.pipconfig import PipNetwork, configured_indexes, pip_network
from tests.policy.test_pipconfig import count_runs, pip_conf

CONF = (
    "[global]\n"
    "proxy = http://px:hunter2@proxy.corp:3128\n"
    "cert = /etc/corp/ca.pem\n"
    "client-cert = /etc/corp/me.pem\n"
    "keyring-provider = subprocess\n"
    "use-feature =\n    fast-deps\n    truststore\n"
    "extra-index-url = https://pkgs.corp/simple\n"
)


@pytest.fixture(autouse=True)
def no_pip_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("PIP_"):
            monkeypatch.delenv(name)


def test_pips_network_settings_come_from_its_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pip_conf(tmp_path, monkeypatch, CONF)
    runs = count_runs(monkeypatch)
    assert pip_network() == PipNetwork(
        proxy="http://px:hunter2@proxy.corp:3128",
        cert="/etc/corp/ca.pem",
        cert_source="cert in pip's configuration",
        client_cert="/etc/corp/me.pem",
        keyring_provider="subprocess",
        truststore=True,
    )
    assert configured_indexes()[0].url == "https://pkgs.corp/simple"
    assert pip_network().cert == "/etc/corp/ca.pem"
    assert len(runs) == 1  # one run of pip answers both, once per process


def test_pip_variables_win_and_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pip_conf(tmp_path, monkeypatch, CONF)
    monkeypatch.setenv("PIP_CERT", "/from/env.pem")
    monkeypatch.setenv("PIP_KEYRING_PROVIDER", "disabled")
    monkeypatch.setenv("PIP_USE_FEATURE", "fast-deps")
    found = pip_network()
    assert (found.cert, found.cert_source) == ("/from/env.pem", "PIP_CERT")
    assert found.keyring_provider == "disabled"
    assert not found.truststore
    assert found.proxy == "http://px:hunter2@proxy.corp:3128"  # still from the file


def test_with_no_configuration_file_pip_is_not_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_PROXY", "http://proxy.corp:3128")
    monkeypatch.setenv("PIP_CLIENT_CERT", "/me.pem")
    runs = count_runs(monkeypatch)
    found = pip_network()
    assert (found.proxy, found.client_cert, found.cert) == (
        "http://proxy.corp:3128",
        "/me.pem",
        None,
    )
    assert runs == []


def test_without_pip_the_variables_still_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """safeinstall installed without pip (a pip-less tool environment) still reaches the
    network as PIP_* says; there is no pip configuration file to read."""
    pip_conf(tmp_path, monkeypatch, CONF)
    monkeypatch.setenv("PIP_CERT", "/from/env.pem")
    found = pip_network(str(tmp_path / "no-python"))
    assert (found.cert, found.proxy, found.keyring_provider) == ("/from/env.pem", None, None)
