"""`safeinstall init`: a safe starter policy, the rest of the file kept byte for byte."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from safeinstall.policy import starter as initpolicy
from safeinstall.policy.load import load_policy
from safeinstall.policy.model import IndexSpec, Policy
from tests.support.fixtures import Result

Cli = Callable[..., Result]

EXISTING = """\
# My project.   (odd spacing and comments must survive)
[project]
name    = "demo"   # the name
dependencies = [
  "requests",   # http
]

[tool.ruff]
line-length=120
"""


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    # all three from the environment: no pip subprocess (tests that need pip unset one)
    monkeypatch.setenv("PIP_INDEX_URL", "https://main.example.com/simple")
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "")
    monkeypatch.setenv("PIP_NO_INDEX", "0")


def assert_safe(policy: Policy) -> None:
    assert policy.sdists == ()
    assert policy.yanked == ()
    assert policy.prereleases == ()
    assert policy.min_release_age == timedelta(days=7)


def test_creates_pyproject_when_missing(cli: Cli, tmp_path: Path) -> None:
    result = cli("init")
    assert result.code == 0, result.err
    assert "created pyproject.toml" in result.out
    policy = load_policy(str(tmp_path / "pyproject.toml"), environ={})
    assert_safe(policy)
    assert policy.indexes == (IndexSpec("pip-index", "https://main.example.com/simple"),)


def test_appends_and_keeps_every_existing_byte(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text(EXISTING)
    result = cli("init")
    assert result.code == 0, result.err
    assert "added a policy to pyproject.toml" in result.out
    new = path.read_text()
    assert new.startswith(EXISTING)
    assert new[len(EXISTING) :].lstrip("\n").startswith("[tool.safeinstall]\n")
    assert_safe(load_policy(str(path), environ={}))
    assert tomllib.loads(new)["tool"]["ruff"] == {"line-length": 120}


def test_appends_after_a_file_without_final_newline(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text('[project]\nname = "x"')
    assert cli("init").code == 0
    assert path.read_text().startswith('[project]\nname = "x"\n\n[tool.safeinstall]\n')


def test_starter_policy_explains_each_key(cli: Cli, tmp_path: Path) -> None:
    cli("init")
    text = (tmp_path / "pyproject.toml").read_text()
    for key in ("indexes", "sdists", "yanked", "prereleases", "min-release-age"):
        line = next(n for n, ln in enumerate(text.splitlines()) if ln.startswith(f"{key} ="))
        assert text.splitlines()[line - 1].startswith("#"), key
    for optional in ("allow", "deny", "licenses", "environments", "direct-references"):
        assert f"# {optional} = " in text


def test_every_optional_key_of_the_starter_is_valid_as_written(cli: Cli, tmp_path: Path) -> None:
    """Uncommented, the starter's optional lines are a policy that loads: every key a policy
    may set is shown, with a value it accepts."""
    from safeinstall.policy.keys import FIELDS

    cli("init", "--path", "safeinstall.toml")
    text = (tmp_path / "safeinstall.toml").read_text()
    shown = [ln[2:] for ln in text.splitlines() if re.match(r"# [a-z-]+ = ", ln)]
    keys = {ln.split(" = ", 1)[0] for ln in shown}
    active = {ln.split(" = ", 1)[0] for ln in text.splitlines() if " = " in ln and ln[0] != "#"}
    assert set(FIELDS) <= keys | active
    uncommented = "\n".join(ln for ln in text.splitlines() if ln and ln[0] != "#")
    uncommented += "\n" + "\n".join(ln for ln in shown if ln.split(" = ", 1)[0] not in active)
    (tmp_path / "all.toml").write_text(uncommented + "\n")
    load_policy(str(tmp_path / "all.toml"), environ={})


def test_refuses_an_existing_policy_without_force(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    original = EXISTING + '\n[tool.safeinstall]\nsdists = "allow"\n'
    path.write_text(original)
    result = cli("init")
    assert result.code == 2
    assert "there is a policy here already" in result.err
    assert "--force" in result.err
    assert path.read_text() == original


def test_force_replaces_only_the_policy_table(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    after = "[tool.other]   # stays\nkey = 'v'\n"
    path.write_text(EXISTING + '\n[tool.safeinstall]\nsdists = "allow"  # old\n\n' + after)
    result = cli("init", "--force")
    assert result.code == 0, result.err
    assert "replaced the policy in" in result.out
    new = path.read_text()
    assert new.startswith(EXISTING + "\n[tool.safeinstall]\n")
    assert new.endswith(after)
    assert "# old" not in new
    assert_safe(load_policy(str(path), environ={}))


def test_dry_run_prints_and_writes_nothing(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text(EXISTING)
    result = cli("init", "--dry-run")
    assert result.code == 0
    assert path.read_text() == EXISTING
    assert result.out.startswith("[tool.safeinstall]\n")
    table = tomllib.loads(result.out)["tool"]["safeinstall"]
    assert table["sdists"] == "deny"
    assert table["min-release-age"] == "7 days"
    assert not (tmp_path / "absent.toml").exists()
    assert cli("init", "--dry-run", "--path", "absent.toml").code == 0
    assert not (tmp_path / "absent.toml").exists()


def test_json_output(cli: Cli, tmp_path: Path) -> None:
    result = cli("init", "--format", "json")
    assert result.code == 0
    data = json.loads(result.out)
    assert data["path"] == "pyproject.toml"
    assert data["written"] is True
    assert data["created"] is True
    assert data["replaced"] is False
    assert tomllib.loads(data["policy"])["tool"]["safeinstall"]["yanked"] == "deny"
    assert data["policy"] in (tmp_path / "pyproject.toml").read_text()


def test_indexes_follow_pips_order_and_skip_untrustable(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIP_INDEX_URL", "https://bob:s3cret@main.example.com/simple")
    monkeypatch.setenv(
        "PIP_EXTRA_INDEX_URL",
        "http://plain.example.org/simple https://internal.example.com/simple file:///srv/idx",
    )
    result = cli("init")
    assert result.code == 0, result.err
    assert "http://plain.example.org/simple" in result.err
    assert "file:///srv/idx" not in result.err  # a local index is a policy's to trust
    assert "left out" in result.err
    text = (tmp_path / "pyproject.toml").read_text()
    assert "s3cret" not in text
    assert "bob" not in text
    policy = load_policy(str(tmp_path / "pyproject.toml"), environ={})
    assert policy.indexes == (
        IndexSpec("pip-extra-2", "https://internal.example.com/simple"),
        IndexSpec("pip-extra-3", "file:///srv/idx"),
        IndexSpec("pip-index", "https://main.example.com/simple"),
    )


def test_pips_default_index_gets_its_file_host(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PIP_INDEX_URL")
    assert cli("init").code == 0
    policy = load_policy(str(tmp_path / "pyproject.toml"), environ={})
    assert policy.indexes is not None
    (default,) = policy.indexes
    assert default.url.startswith("https://")
    assert len(default.file_hosts) == 1


def test_symlinked_pyproject_is_refused(cli: Cli, tmp_path: Path) -> None:
    real = tmp_path / "elsewhere.toml"
    real.write_text(EXISTING)
    (tmp_path / "pyproject.toml").symlink_to(real)
    result = cli("init")
    assert result.code == 2
    assert "symbolic link" in result.err
    assert real.read_text() == EXISTING
    assert (tmp_path / "pyproject.toml").is_symlink()


def test_inline_tool_table_cannot_take_the_policy(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    original = 'tool = { black = { line-length = 88 } }\n[project]\nname = "x"\n'
    path.write_text(original)
    result = cli("init")
    assert result.code == 2
    assert "could not add a policy to this file" in result.err
    assert "--dry-run" in result.err
    assert path.read_text() == original
    assert [p.name for p in tmp_path.iterdir()] == ["pyproject.toml"]


def test_invalid_toml_is_reported_and_untouched(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text("[project\n")
    result = cli("init")
    assert result.code == 2
    assert "pyproject.toml:1: this is not valid TOML" in result.err
    assert path.read_text() == "[project\n"


def test_file_changed_meanwhile_aborts(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text(EXISTING)
    real_check = initpolicy._check

    def editor_saves(*args: object, **kwargs: object) -> None:
        real_check(*args, **kwargs)  # type: ignore[arg-type]
        path.write_text(EXISTING + "# saved by an editor\n")

    monkeypatch.setattr(initpolicy, "_check", editor_saves)
    result = cli("init")
    assert result.code == 2
    assert "changed while safeinstall was working on it" in result.err
    assert path.read_text() == EXISTING + "# saved by an editor\n"


def test_path_option_for_safeinstall_toml(cli: Cli, tmp_path: Path) -> None:
    result = cli("init", "--path", "safeinstall.toml")
    assert result.code == 0, result.err
    text = (tmp_path / "safeinstall.toml").read_text()
    assert "[tool.safeinstall]" not in text
    assert_safe(load_policy(cwd=tmp_path, environ={}))
    again = cli("init", "--path", "safeinstall.toml")
    assert again.code == 2
    assert (tmp_path / "safeinstall.toml").read_text() == text
    assert cli("init", "--path", "safeinstall.toml", "--force").code == 0


def test_path_option_for_a_pyproject_elsewhere(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    assert cli("init", "--path", "sub/pyproject.toml").code == 0
    assert_safe(load_policy(str(tmp_path / "sub" / "pyproject.toml"), environ={}))
    assert not (tmp_path / "pyproject.toml").exists()


def test_written_policy_is_discovered(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text(EXISTING)
    assert cli("init").code == 0
    policy = load_policy(cwd=tmp_path, environ={})
    assert policy.source == str((tmp_path / "pyproject.toml").resolve())
    assert_safe(policy)


def test_file_mode_is_kept(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text(EXISTING)
    path.chmod(0o640)
    assert cli("init").code == 0
    assert path.stat().st_mode & 0o777 == 0o640
