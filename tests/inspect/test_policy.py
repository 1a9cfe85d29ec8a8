"""The `inspect` policy key: validation, and that changing it makes a lock stale."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from safeinstall.errors import PolicyConfigError
from safeinstall.inspect.rules import RULES
from safeinstall.policy.load import load_policy
from safeinstall.policy.model import InspectPolicy, Policy
from tests.support.indexserver import IndexServer
from tests.support.lockproject import demo_project


def policy_of(tmp_path: Path, text: str) -> Policy:
    path = tmp_path / "safeinstall.toml"
    path.write_text(text)
    return load_policy(str(path))


def test_the_key_sets_block_warn_and_allow(tmp_path: Path) -> None:
    policy = policy_of(
        tmp_path,
        'inspect = { block = ["code-exec-decoded"], warn = ["clobber-path"], '
        'allow = { "My_Tool" = ["clobber-script", "code-import-time-call"] } }\n',
    )
    assert policy.inspect == InspectPolicy(
        block=("code-exec-decoded",),
        warn=("clobber-path",),
        allow=(("my-tool", ("clobber-script", "code-import-time-call")),),
    )


def test_the_default_blocks_start_up_code_and_clobbering_and_warns_on_code() -> None:
    defaults = {r.id: r.severity for r in RULES.values()}
    assert {i for i, s in defaults.items() if s == "block"} >= {
        "startup-pth",
        "startup-customize",
        "clobber-path",
        "clobber-package",
        "clobber-script",
    }
    assert all(s == "warn" for i, s in defaults.items() if i.startswith("code-"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('inspect = { block = ["startup-pht"] }', "'startup-pht' is not a scanner rule id"),
        ('inspect = { block = ["startup-pht"] }', "did you mean 'startup-pth'?"),
        ('inspect = { blok = ["startup-pth"] }', "unknown key 'blok'"),
        (
            'inspect = { block = ["clobber-path"], warn = ["clobber-path"] }',
            "'clobber-path' is in both block and warn",
        ),
        ('inspect = "strict"', "must be a table"),
        ('inspect = { allow = ["setuptools"] }', "must be a table of"),
        (
            'inspect = { allow = { "setuptools" = ["startup-pth"] } }',
            "start-up .pth files are allowed by the startup-files key",
        ),
    ],
)
def test_bad_values_are_refused_with_the_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(PolicyConfigError) as err:
        policy_of(tmp_path, f"# a policy\n{text}\n")
    assert message in str(err.value)
    assert err.value.location is not None and err.value.location.line == 2


def test_changing_the_inspect_key_makes_the_lock_stale(
    tmp_path: Path, index_server: IndexServer, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Allowances are part of the policy the lock's freshness digest covers."""
    proj = demo_project(tmp_path, index_server, cli, monkeypatch)
    assert proj.lock().code == 0
    assert proj.lock("--check").code == 0
    proj.write_policy('inspect = { allow = { "demo" = ["clobber-path"] } }')
    stale = proj.lock("--check")
    assert stale.code == 1 and "stale" in stale.out, stale.err
