"""The scan cache: results by artifact sha256 and rule-set version, never what lets a file in.

The attacker here can write the cache directory (a CI cache restored from a poisoned run) and
plants "nothing found" entries for hostile wheels.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from safeinstall.inspect import cache as scan_cache
from safeinstall.inspect.rules import RULESET_VERSION
from safeinstall.policy.model import InspectPolicy, Policy
from tests.inspect.hostile import code_wheel, hostile_wheels
from tests.inspect.test_rules import artifact, rules, scan


def entry(cache: Path, wheel: Path) -> Path:
    return cache / "inspect" / artifact(wheel).sha256


def forge(cache: Path, wheel: Path, **fields: object) -> None:
    """Write a well-formed "nothing found" entry for ``wheel``, as an attacker would."""
    data = {"sha256": artifact(wheel).sha256, "rules": RULESET_VERSION, "findings": [], **fields}
    path = entry(cache, wheel)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text(json.dumps(data))


def test_code_results_are_cached_by_sha256_and_used(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    wheel = code_wheel(tmp_path, "code-import-time-call")
    first = scan([wheel], cache=cache)
    saved = json.loads(entry(cache, wheel).read_text())
    assert saved["rules"] == RULESET_VERSION
    assert [f["rule"] for f in saved["findings"]] == ["code-import-time-call"]
    # the entry is what a second scan reports: change its message and see it come back
    saved["findings"][0]["message"] = "from the cache"
    entry(cache, wheel).write_text(json.dumps(saved))
    again = scan([wheel], cache=cache)
    assert [f.message for f in again.findings] == ["from the cache"]
    assert rules(first) == rules(again)


def test_a_forged_entry_cannot_pass_a_start_up_file(tmp_path: Path) -> None:
    """The blocking rules never come from the cache: they run afresh on every scan."""
    cache = tmp_path / "cache"
    [wheel] = hostile_wheels(tmp_path)["startup-pth"]
    forge(cache, wheel)
    assert [f.rule for f in scan([wheel], cache=cache).blocked] == ["startup-pth"]


def test_a_forged_entry_cannot_pass_a_code_rule_the_policy_blocks(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    wheel = code_wheel(tmp_path, "code-exec-decoded")
    forge(cache, wheel)
    strict = Policy(inspect=InspectPolicy(block=("code-exec-decoded",)))
    assert [f.rule for f in scan([wheel], strict, cache=cache).blocked] == ["code-exec-decoded"]


def _json(**fields: object) -> Callable[[str], bytes]:
    return lambda sha256: json.dumps(
        {"sha256": sha256, "rules": RULESET_VERSION, **fields}
    ).encode()


@pytest.mark.parametrize(
    "damage",
    [
        lambda sha256: b"{not json",
        lambda sha256: b"",
        lambda sha256: b"[]",
        lambda sha256: json.dumps({"sha256": "0" * 64, "rules": RULESET_VERSION}).encode(),
        _json(rules="0", findings=[]),  # another rule set
        _json(findings=[{"rule": "startup-pth"}]),  # not a finding
        _json(findings=[{"rule": "no-such-rule", "package": "x", "artifact": "x", "message": ""}]),
        _json(findings="none"),
    ],
    ids=[
        "truncated",
        "empty",
        "not-an-object",
        "other-sha256",
        "old-rules",
        "bad-finding",
        "unknown-rule",
        "no-list",
    ],
)
def test_a_corrupt_or_foreign_entry_is_ignored_and_replaced(
    tmp_path: Path, damage: Callable[[str], bytes]
) -> None:
    cache = tmp_path / "cache"
    wheel = code_wheel(tmp_path, "code-import-time-call")
    path = entry(cache, wheel)
    path.parent.mkdir(parents=True, mode=0o700)
    path.write_bytes(damage(artifact(wheel).sha256))
    report = scan([wheel], cache=cache)
    assert [f.rule for f in report.findings] == ["code-import-time-call"]
    assert scan_cache.load(cache, artifact(wheel).sha256, wheel.name) is not None  # rewritten


def test_an_entry_naming_another_artifact_is_ignored(tmp_path: Path) -> None:
    """A finding list copied from another file (other name) does not stand in for this one's."""
    cache = tmp_path / "cache"
    wheel = code_wheel(tmp_path, "code-import-time-call")
    scan([wheel], cache=cache)
    assert scan_cache.load(cache, artifact(wheel).sha256, "other-1.0-py3-none-any.whl") is None


def test_a_symlinked_entry_is_not_followed(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    wheel = code_wheel(tmp_path, "code-import-time-call")
    decoy = tmp_path / "decoy.json"
    decoy.write_text(json.dumps({"sha256": artifact(wheel).sha256, "rules": RULESET_VERSION}))
    path = entry(cache, wheel)
    path.parent.mkdir(parents=True, mode=0o700)
    path.symlink_to(decoy)
    assert [f.rule for f in scan([wheel], cache=cache).findings] == ["code-import-time-call"]
