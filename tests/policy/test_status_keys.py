"""The `project-status` key (PEP 792 statuses to deny/warn/allow) and the table form of
`min-release-age` (exempt packages and indexes); the string form keeps working."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from packaging.version import Version

from safeinstall.errors import PolicyConfigError
from safeinstall.policy.keys import apply_env_overrides
from safeinstall.policy.load import load_policy
from safeinstall.policy.model import PackageRule, Policy

INDEXES = 'indexes = [{ name = "corp", url = "https://corp.example.com/simple" }]\n'


def load(tmp_path: Path, body: str) -> Policy:
    path = tmp_path / "safeinstall.toml"
    path.write_text(body, encoding="utf-8")
    return load_policy(str(path), environ={})


def problem(tmp_path: Path, body: str) -> str:
    with pytest.raises(PolicyConfigError) as info:
        load(tmp_path, body)
    return str(info.value)


def test_the_default_denies_quarantined_and_warns_on_archived_and_deprecated() -> None:
    policy = Policy()
    assert policy.status_action("quarantined") == "deny"
    assert policy.status_action("archived") == "warn"
    assert policy.status_action("deprecated") == "warn"
    assert policy.status_action("active") == "allow"
    assert policy.status_action("some-future-status") == "deny"  # fail closed


def test_project_status_overrides_the_defaults_it_names(tmp_path: Path) -> None:
    policy = load(tmp_path, 'project-status = { archived = "deny", future-x = "allow" }\n')
    assert policy.status_action("archived") == "deny"
    assert policy.status_action("future-x") == "allow"
    assert policy.status_action("quarantined") == "deny"
    assert policy.status_action("deprecated") == "warn"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('project-status = "deny"', "must be a table"),
        ('project-status = { archived = "block" }', 'must be "deny", "warn" or "allow"'),
        ('project-status = { active = "deny" }', "is not a project status"),
        ('project-status = { "Bad Status" = "deny" }', "is not a project status"),
    ],
)
def test_a_bad_project_status_is_refused(tmp_path: Path, body: str, message: str) -> None:
    assert message in problem(tmp_path, body + "\n")


def test_the_string_form_of_min_release_age_still_works(tmp_path: Path) -> None:
    policy = load(tmp_path, 'min-release-age = "7 days"\n')
    assert policy.min_release_age == timedelta(days=7)
    assert policy.cooldown_applies("anything", "corp")


def test_min_release_age_exempts_packages_and_indexes(tmp_path: Path) -> None:
    body = INDEXES + (
        'min-release-age = { age = "7 days", exempt = ["Acme_*"], exempt-indexes = ["corp"] }\n'
    )
    policy = load(tmp_path, body)
    assert policy.min_release_age == timedelta(days=7)
    assert not policy.cooldown_applies("acme-tools", "other")  # names are canonicalized
    assert not policy.cooldown_applies("requests", "corp")
    assert policy.cooldown_applies("requests", "other")
    assert policy.cooldown_applies("requests")


def test_an_exempt_index_must_be_one_of_the_policys_indexes(tmp_path: Path) -> None:
    body = INDEXES + 'min-release-age = { age = "1 day", exempt-indexes = ["crop"] }\n'
    assert "no index is named 'crop'" in problem(tmp_path, body)


def test_an_unknown_key_in_the_min_release_age_table_is_refused(tmp_path: Path) -> None:
    assert "exemptions" in problem(tmp_path, 'min-release-age = { exemptions = ["a"] }\n')


def test_the_environment_override_keeps_the_files_exemptions(tmp_path: Path) -> None:
    policy = load(tmp_path, 'min-release-age = { age = "7 days", exempt = ["acme"] }\n')
    changed = apply_env_overrides(policy, {"SAFEINSTALL_MIN_RELEASE_AGE": "30 days"})
    assert changed.min_release_age == timedelta(days=30)
    assert changed.cooldown_exempt == ("acme",)


def test_allow_fresh_lifts_the_window_for_that_package_only() -> None:
    rule = PackageRule("demo", "demo")
    policy = Policy(min_release_age=timedelta(days=7), allow_fresh=((rule, "CVE fix (by a)"),))
    assert not policy.cooldown_applies("demo", None, Version("2.0"))
    assert policy.fresh_reason("demo") == "CVE fix (by a)"
    assert policy.cooldown_applies("dep")
    assert not Policy().cooldown_applies("demo")  # no window at all
