"""Policy loading: discovery, every key valid and invalid, one error listing all problems, env."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from packaging.version import Version

from safeinstall.errors import InputError, PolicyConfigError
from safeinstall.policy.duration import parse_duration
from safeinstall.policy.keys import policy_from_table
from safeinstall.policy.load import load_policy
from safeinstall.policy.model import ENV_OVERRIDES, IndexSpec, Policy
from safeinstall.policy.pipconfig import trusted_indexes


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def load_toml(tmp_path: Path, body: str) -> Policy:
    path = write(tmp_path / "safeinstall.toml", body)
    return load_policy(str(path), environ={})


def problems(tmp_path: Path, body: str) -> str:
    with pytest.raises(PolicyConfigError) as info:
        load_toml(tmp_path, body)
    return str(info.value)


# --- discovery -------------------------------------------------------------------------------


def test_no_policy_anywhere_is_the_builtin_default(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    assert load_policy(cwd=tmp_path, environ={}) == Policy()


def test_explicit_pyproject_uses_its_tool_table(tmp_path: Path) -> None:
    path = write(
        tmp_path / "pyproject.toml", '[project]\nname = "x"\n[tool.safeinstall]\nsdists = "allow"\n'
    )
    policy = load_policy(str(path), environ={})
    assert policy.sdists == ("*",)
    assert policy.source == str(path)


def test_explicit_path_is_relative_to_cwd(tmp_path: Path) -> None:
    write(tmp_path / "conf" / "strict.toml", 'prereleases = "allow"\n')
    policy = load_policy("conf/strict.toml", cwd=tmp_path, environ={})
    assert policy.prereleases == ("*",)


def test_explicit_path_missing_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyConfigError, match="does not exist"):
        load_policy(str(tmp_path / "nope.toml"), environ={})


def test_explicit_pyproject_without_table_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "pyproject.toml", '[project]\nname = "x"\n')
    with pytest.raises(PolicyConfigError, match=r"no \[tool.safeinstall\] table"):
        load_policy(str(path), environ={})


def test_env_policy_path_used_when_no_explicit_path(tmp_path: Path) -> None:
    path = write(tmp_path / "p.toml", 'sdists = ["legacy"]\n')
    write(tmp_path / "safeinstall.toml", 'sdists = "allow"\n')
    policy = load_policy(cwd=tmp_path, environ={"SAFEINSTALL_POLICY": str(path)})
    assert policy.sdists == ("legacy",)
    other = write(tmp_path / "o.toml", 'sdists = ["other"]\n')
    explicit = load_policy(str(other), cwd=tmp_path, environ={"SAFEINSTALL_POLICY": str(path)})
    assert explicit.sdists == ("other",)


def test_env_policy_path_missing_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyConfigError, match="SAFEINSTALL_POLICY names"):
        load_policy(cwd=tmp_path, environ={"SAFEINSTALL_POLICY": "missing.toml"})


def test_discovery_walks_up_to_the_first_policy(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    write(tmp_path / "pyproject.toml", '[tool.safeinstall]\nsdists = ["top"]\n')
    write(tmp_path / "pkg" / "pyproject.toml", '[project]\nname = "no-policy-here"\n')
    deep = tmp_path / "pkg" / "src" / "mod"
    deep.mkdir(parents=True)
    policy = load_policy(cwd=deep, environ={})
    assert policy.sdists == ("top",)
    assert policy.source == str((tmp_path / "pyproject.toml").resolve())


def test_discovery_prefers_safeinstall_toml_in_the_same_directory(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    write(tmp_path / "pyproject.toml", '[tool.safeinstall]\nsdists = ["py"]\n')
    write(tmp_path / "safeinstall.toml", 'sdists = ["own"]\n')
    assert load_policy(cwd=tmp_path, environ={}).sdists == ("own",)


def test_discovery_nearest_directory_wins(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    write(tmp_path / "safeinstall.toml", 'sdists = ["outer"]\n')
    write(tmp_path / "sub" / "pyproject.toml", '[tool.safeinstall]\nsdists = ["inner"]\n')
    assert load_policy(cwd=tmp_path / "sub", environ={}).sdists == ("inner",)


def test_discovery_stops_at_the_repository_root(tmp_path: Path) -> None:
    write(tmp_path / "safeinstall.toml", 'sdists = "allow"\n')  # outside the repository
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "src").mkdir()
    assert load_policy(cwd=repo / "src", environ={}) == Policy()


def test_discovery_reports_broken_pyproject(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    write(tmp_path / "pyproject.toml", "[tool.safeinstall\n")
    with pytest.raises(InputError, match="not valid TOML") as info:
        load_policy(cwd=tmp_path, environ={})
    assert info.value.location is not None
    assert info.value.location.line == 1


def test_invalid_utf8_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "safeinstall.toml"
    path.write_bytes(b'sdists = "deny"\n# \xff\n')
    with pytest.raises(InputError, match="UTF-8") as info:
        load_policy(str(path), environ={})
    assert info.value.location is not None
    assert info.value.location.line == 2


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "safeinstall.toml", "# " + "x" * (1 << 20) + "\n")
    with pytest.raises(InputError, match="larger than"):
        load_policy(str(path), environ={})


# --- keys ------------------------------------------------------------------------------------


def test_every_key_valid(tmp_path: Path) -> None:
    policy = load_toml(
        tmp_path,
        """
find-links = ["https://Wheels.Example.com/links/", "./wheelhouse", "http://127.0.0.1:8000/x"]
trusted-hosts = ["Mirror.Example.com", "127.0.0.1:8080"]
allow = ["Django>=4.2,<6", "requests", "acme-*"]
deny = ["*-nightly", "urllib3<2"]
sdists = ["Legacy_Pkg"]
yanked = { "pkg==1.2" = "the fix is not released yet" }
prereleases = "allow"
min-release-age = "36h"
licenses = { allow = ["mit", "Apache-2.0"] }
environments = ["python_version >= '3.11' and sys_platform == 'linux'"]
direct-references = ["internal-*"]

[[indexes]]
name = "internal"
url = "https://PKGS.Example.com/simple/"
packages = ["Acme_*"]
file-hosts = ["Files.Example.com"]

[[indexes]]
name = "local"
url = "http://localhost:3141/root/simple"
""",
    )
    assert policy.indexes == (
        IndexSpec(
            "internal",
            "https://pkgs.example.com/simple",
            packages=("acme-*",),
            file_hosts=("files.example.com",),
        ),
        IndexSpec("local", "http://localhost:3141/root/simple"),
    )
    assert policy.find_links == (
        "https://Wheels.Example.com/links/",
        "./wheelhouse",
        "http://127.0.0.1:8000/x",
    )
    assert policy.trusted_hosts == ("mirror.example.com", "127.0.0.1:8080")
    assert policy.allow is not None
    assert [r.pattern for r in policy.allow] == ["django", "requests", "acme-*"]
    assert policy.is_allowed("django", Version("5.0"))
    assert not policy.is_allowed("django", Version("4.1"))
    assert policy.is_allowed("acme-core")
    assert not policy.is_allowed("flask")
    assert not policy.is_allowed("foo-nightly")
    assert not policy.is_allowed("urllib3", Version("1.26"))
    assert policy.allows_sdist("legacy.pkg")
    assert not policy.allows_sdist("other")
    assert policy.yanked_reason("pkg", Version("1.2")) == "the fix is not released yet"
    assert policy.yanked_reason("pkg", Version("1.3")) is None
    assert policy.allows_prerelease("anything")
    assert policy.min_release_age == timedelta(hours=36)
    assert policy.licenses == ("MIT", "Apache-2.0")
    assert policy.environments == ('python_version >= "3.11" and sys_platform == "linux"',)
    assert policy.allows_direct_reference("internal-tools")
    # the local folder among the find-links is a source too, before the indexes
    wheelhouse = IndexSpec("find-links-1", (tmp_path / "wheelhouse").as_uri(), flat=True)
    assert trusted_indexes(policy) == (wheelhouse, *policy.indexes)


def test_empty_policy_file_is_the_default_with_a_source(tmp_path: Path) -> None:
    policy = load_toml(tmp_path, "")
    assert policy == Policy(source=str(tmp_path / "safeinstall.toml"))


@pytest.mark.parametrize(
    ("value", "expected"),
    [('"deny"', ()), ('"allow"', ("*",)), ('["a", "B.c"]', ("a", "b-c")), ("[]", ())],
)
@pytest.mark.parametrize("key", ["sdists", "prereleases"])
def test_switch_keys(tmp_path: Path, key: str, value: str, expected: tuple[str, ...]) -> None:
    policy = load_toml(tmp_path, f"{key} = {value}\n")
    assert getattr(policy, key) == expected


@pytest.mark.parametrize("key", ["sdists", "prereleases"])
def test_switch_keys_invalid(tmp_path: Path, key: str) -> None:
    assert f'\'{key}\' must be "deny", "allow" or an array' in problems(
        tmp_path, f'{key} = "yes"\n'
    )
    assert "is not a package name" in problems(tmp_path, f'{key} = ["a b"]\n')


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7 days", timedelta(days=7)),
        ("36h", timedelta(hours=36)),
        ("90 minutes", timedelta(minutes=90)),
        ("0", timedelta(0)),
        ("1 day 12 hours", timedelta(days=1, hours=12)),
        ("2w", timedelta(weeks=2)),
        ("P7D", timedelta(days=7)),
        ("PT36H", timedelta(hours=36)),
        ("P1DT30M", timedelta(days=1, minutes=30)),
        ("p1w", timedelta(weeks=1)),
    ],
)
def test_min_release_age_valid(tmp_path: Path, text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected
    assert load_toml(tmp_path, f'min-release-age = "{text}"\n').min_release_age == expected


def test_min_release_age_zero_integer(tmp_path: Path) -> None:
    assert load_toml(tmp_path, "min-release-age = 0\n").min_release_age == timedelta(0)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('"soon"', "expected a duration"),
        ('"7 fortnights"', "unknown unit 'fortnights'"),
        ('"-3 days"', "expected a duration"),
        ('"P1M"', "years and months have no fixed length"),
        ('"PT"', "ISO-8601"),
        ("7", "must be a string with a unit"),
        ("true", "must be a string with a unit"),
    ],
)
def test_min_release_age_invalid(tmp_path: Path, value: str, message: str) -> None:
    text = problems(tmp_path, f"min-release-age = {value}\n")
    assert "'min-release-age'" in text
    assert message in text


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('"django>>4"', "is not a name (or name pattern) with an optional version"),
        ('"pkg[extra]"', "is not a name"),
        ('""', "must be an array of non-empty strings, not an empty or non-string entry"),
    ],
)
@pytest.mark.parametrize("key", ["allow", "deny"])
def test_rules_invalid(tmp_path: Path, key: str, entry: str, message: str) -> None:
    text = problems(tmp_path, f"{key} = [{entry}]\n")
    assert message in text
    assert f"'{key}'" in text


def test_rules_must_be_an_array(tmp_path: Path) -> None:
    assert "'deny' must be an array of non-empty strings, not a string" in problems(
        tmp_path, 'deny = "evil"\n'
    )


def test_empty_allow_list_allows_nothing(tmp_path: Path) -> None:
    policy = load_toml(tmp_path, "allow = []\n")
    assert policy.allow == ()
    assert not policy.is_allowed("requests")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('yanked = "allow"', 'must be "deny" or a table'),
        ('yanked = { "pkg>=1.2" = "x" }', "must be an exact pin"),
        ('yanked = { "pkg==1.*" = "x" }', "must be an exact pin"),
        ('yanked = { "acme-*==1.0" = "x" }', "must be an exact pin"),
        ('yanked = { "pkg==1.2" = "" }', "needs a reason"),
        ('yanked = { "pkg==1.2" = 3 }', "needs a reason"),
    ],
)
def test_yanked_invalid(tmp_path: Path, body: str, message: str) -> None:
    assert message in problems(tmp_path, body + "\n")


def test_yanked_deny(tmp_path: Path) -> None:
    assert load_toml(tmp_path, 'yanked = "deny"\n').yanked == ()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('licenses = { allow = ["Nope-1.0"] }', "'Nope-1.0' is not an SPDX license id"),
        ('licenses = { allow = ["MIT OR Apache-2.0"] }', "list each SPDX id on its own"),
        ('licenses = ["MIT"]', "must be a table like"),
        (
            'licenses = { allowed = ["MIT"] }',
            "unknown key 'allowed' in 'licenses' (did you mean 'allow'?)",
        ),
        ('licenses = { allow = "MIT" }', "'licenses.allow' must be an array"),
    ],
)
def test_licenses_invalid(tmp_path: Path, body: str, message: str) -> None:
    assert message in problems(tmp_path, body + "\n")


def test_licenses_with_exception_and_licenseref(tmp_path: Path) -> None:
    policy = load_toml(
        tmp_path,
        'licenses = { allow = ["GPL-2.0-only WITH Classpath-exception-2.0", "LicenseRef-Acme"] }\n',
    )
    assert policy.licenses == ("GPL-2.0-only WITH Classpath-exception-2.0", "LicenseRef-Acme")


def test_environments_invalid(tmp_path: Path) -> None:
    text = problems(tmp_path, "environments = [\"python_version >= '3.11'\", \"os.system('x')\"]\n")
    assert "\"os.system('x')\" is not a valid environment marker" in text


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('trusted-hosts = ["https://mirror.example.com"]', "is not a host name"),
        ('trusted-hosts = ["a b"]', "is not a host name"),
        ('trusted-hosts = ["' + "a" * 5000 + '!"]', "is not a host name"),  # no regex blow-up
        ('trusted-hosts = ["a..b"]', "is not a host name"),
        ('direct-references = ["./local"]', "is not a package name"),
        ('find-links = ["http://wheels.example.com/"]', "uses plain http"),
        ('find-links = ["https://u:secret@wheels.example.com/"]', "has credentials in it"),
        ('find-links = ["ftp://wheels.example.com/"]', "is not an https URL"),
        ('find-links = ["https://u:secret@wheels.example.com:99999/"]', "not a valid URL"),
    ],
)
def test_location_keys_invalid(tmp_path: Path, body: str, message: str) -> None:
    text = problems(tmp_path, body + "\n")
    assert message in text
    assert "secret" not in text


# --- indexes ---------------------------------------------------------------------------------


def index_problems(tmp_path: Path, *entries: str) -> str:
    return problems(tmp_path, "indexes = [\n" + ",\n".join(entries) + "\n]\n")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/simple",
        "http://127.1.2.3/simple",
        "http://[::1]:80/simple",
        "http://LOCALHOST/simple",
    ],
)
def test_index_plain_http_allowed_on_loopback(tmp_path: Path, url: str) -> None:
    policy = load_toml(tmp_path, f'indexes = [{{ name = "l", url = "{url}" }}]\n')
    assert policy.indexes is not None
    assert policy.indexes[0].url == url.lower()
    assert not policy.indexes[0].insecure


def test_index_plain_http_refused_elsewhere(tmp_path: Path) -> None:
    text = index_problems(tmp_path, '{ name = "m", url = "http://mirror.example.com/simple" }')
    assert "'indexes[0].url': 'http://mirror.example.com/simple' uses plain http" in text
    assert "insecure = true" in text


def test_index_plain_http_with_insecure(tmp_path: Path) -> None:
    policy = load_toml(
        tmp_path,
        'indexes = [{ name = "m", url = "http://mirror.example.com/simple", insecure = true }]\n',
    )
    assert policy.indexes == (IndexSpec("m", "http://mirror.example.com/simple", insecure=True),)


def test_index_credentials_refused_and_not_echoed(tmp_path: Path) -> None:
    text = index_problems(
        tmp_path, '{ name = "p", url = "https://bob:hunter2@pkgs.example.com/simple" }'
    )
    assert "has credentials in it" in text
    assert ".netrc or the environment" in text
    assert "hunter2" not in text
    assert "bob" not in text


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (['{ url = "https://a.example.com/simple" }'], "'indexes[0].name' must be a name"),
        (
            ['{ name = "a b", url = "https://a.example.com/simple" }'],
            "'indexes[0].name' must be a name",
        ),
        (['{ name = "a" }'], "'indexes[0].url' must be the index URL"),
        (['{ name = "a", url = "file://fileserver/srv/simple" }'], "is not an https URL"),
        (['{ name = "a", url = "file:simple" }'], "is not an https URL"),
        (['{ name = "a", url = "https:///simple" }'], "is not an https URL"),
        (
            ['{ name = "a", url = "https://a.example.com/s", insecure = "yes" }'],
            "must be true or false",
        ),
        (
            ['{ name = "a", url = "https://a.example.com/s", packages = "acme-*" }'],
            "'indexes[0].packages' must be an array",
        ),
        (
            ['{ name = "a", url = "https://a.example.com/s", file-hosts = ["https://f.example"] }'],
            "is not a host name",
        ),
        (
            ['{ name = "a", url = "https://a.example.com/s", pakages = [] }'],
            "unknown key 'pakages' in 'indexes[0]' (did you mean 'packages'?)",
        ),
        (
            [
                '{ name = "a", url = "https://a.example.com/s" }',
                '{ name = "a", url = "https://b.example.com/s" }',
            ],
            "the name 'a' is used by two indexes",
        ),
        (
            [
                '{ name = "a", url = "https://A.example.com/s/" }',
                '{ name = "b", url = "https://a.example.com/s" }',
            ],
            "'https://a.example.com/s' is listed twice",
        ),
        (
            [
                '{ name = "a", url = "https://a.example.com/s", packages = ["acme-*"] }',
                '{ name = "b", url = "https://b.example.com/s", packages = ["Acme_*"] }',
            ],
            "'acme-*' is bound to both 'a' and 'b'",
        ),
    ],
)
def test_index_invalid(tmp_path: Path, entries: list[str], message: str) -> None:
    assert message in index_problems(tmp_path, *entries)


def test_indexes_must_be_tables(tmp_path: Path) -> None:
    assert "'indexes' must be an array of tables" in problems(
        tmp_path, 'indexes = ["https://a.example.com/simple"]\n'
    )


def test_empty_indexes_trusts_nothing(tmp_path: Path) -> None:
    policy = load_toml(tmp_path, "indexes = []\n")
    assert trusted_indexes(policy) == ()


def test_index_serves_bound_names(tmp_path: Path) -> None:
    policy = load_toml(
        tmp_path,
        'indexes = [{ name = "i", url = "https://i.example.com/s", packages = ["acme-*"] }]\n',
    )
    assert policy.indexes is not None
    assert policy.indexes[0].serves("Acme_Core")
    assert not policy.indexes[0].serves("requests")


# --- reporting -------------------------------------------------------------------------------


def test_all_problems_reported_at_once_with_lines_and_suggestions(tmp_path: Path) -> None:
    body = """\
sdists = "deny"
min-release-ages = "7 days"
prerelease = "deny"
allow = [
    "requests",
    "django>>4",
]
[[indexes]]
name = "corp"
url = "http://pkgs.example.com/simple"
"""
    with pytest.raises(PolicyConfigError) as info:
        load_toml(tmp_path, body)
    text = str(info.value)
    path = tmp_path / "safeinstall.toml"
    assert "the policy has 4 problems" in text
    assert f"{path}:2: unknown key 'min-release-ages' (did you mean 'min-release-age'?)" in text
    assert f"{path}:3: unknown key 'prerelease' (did you mean 'prereleases'?)" in text
    assert f"{path}:6: 'allow': 'django>>4'" in text
    assert f"{path}:10: 'indexes[0].url'" in text
    assert info.value.hint is not None
    assert info.value.exit_code == 2


def test_single_problem_has_its_location(tmp_path: Path) -> None:
    path = write(
        tmp_path / "pyproject.toml", '[project]\nname = "x"\n\n[tool.safeinstall]\nsdist = "deny"\n'
    )
    with pytest.raises(PolicyConfigError) as info:
        load_policy(str(path), environ={})
    assert info.value.location is not None
    assert info.value.location.line == 5
    assert info.value.message == "unknown key 'sdist' (did you mean 'sdists'?)"


def test_unknown_key_without_close_match(tmp_path: Path) -> None:
    text = problems(tmp_path, "colour = 1\n")
    assert "unknown key 'colour'" in text
    assert "did you mean" not in text


def test_snake_case_key_suggests_kebab_case(tmp_path: Path) -> None:
    assert "(did you mean 'min-release-age'?)" in problems(tmp_path, 'min_release_age = "1d"\n')


# --- environment overrides -------------------------------------------------------------------


def test_env_overrides_apply_after_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "safeinstall.toml", 'sdists = "deny"\nmin-release-age = "7 days"\n')
    env = {
        "SAFEINSTALL_MIN_RELEASE_AGE": "0",
        "SAFEINSTALL_SDISTS": "legacy-pkg, Other_Pkg",
        "SAFEINSTALL_PRERELEASES": "allow",
        "SAFEINSTALL_YANKED": "deny",
    }
    policy = load_policy(str(path), environ=env)
    assert policy.min_release_age == timedelta(0)
    assert policy.sdists == ("legacy-pkg", "other-pkg")
    assert policy.prereleases == ("*",)
    assert policy.source == str(path)


def test_env_overrides_apply_to_the_default(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    policy = load_policy(cwd=tmp_path, environ={"SAFEINSTALL_MIN_RELEASE_AGE": "P2D"})
    assert policy == Policy(min_release_age=timedelta(days=2))


def test_empty_env_override_is_ignored(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    assert load_policy(cwd=tmp_path, environ={"SAFEINSTALL_SDISTS": " "}) == Policy()


def test_env_overrides_validated_and_all_reported(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    env = {
        "SAFEINSTALL_MIN_RELEASE_AGE": "soon",
        "SAFEINSTALL_YANKED": "allow",
        "SAFEINSTALL_SDISTS": "a b",
    }
    with pytest.raises(PolicyConfigError) as info:
        load_policy(cwd=tmp_path, environ=env)
    text = str(info.value)
    assert "3 problems" in text
    assert "'SAFEINSTALL_MIN_RELEASE_AGE': expected a duration" in text
    assert "'SAFEINSTALL_YANKED' must be \"deny\"" in text
    assert "'SAFEINSTALL_SDISTS': 'a b' is not a package name" in text


def test_env_reads_process_environment_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".git").mkdir()
    monkeypatch.setenv("SAFEINSTALL_SDISTS", "allow")
    assert load_policy(cwd=tmp_path).sdists == ("*",)


def test_policy_from_table_is_the_shared_validator() -> None:
    with pytest.raises(PolicyConfigError, match="unknown key 'x'"):
        policy_from_table({"x": 1}, "somewhere")


def test_every_override_variable_is_seen_without_a_policy_file(tmp_path: Path) -> None:
    # policyload imports the key validators only when a SAFEINSTALL_* variable is set
    (tmp_path / ".git").mkdir()
    assert all(var.startswith("SAFEINSTALL_") for var in ENV_OVERRIDES)
    policy = load_policy(cwd=tmp_path, environ={"SAFEINSTALL_MIN_RELEASE_AGE": "3d"})
    assert policy.min_release_age == timedelta(days=3)
    with pytest.raises(PolicyConfigError):
        load_policy(cwd=tmp_path, environ={"SAFEINSTALL_MIN_RELEASE_AGE": "soon"})


def test_other_safeinstall_variables_do_not_load_the_key_validators(tmp_path: Path) -> None:
    """Only an override variable makes the hook path import the validators: the malware gate's
    database or the cache directory, set for a whole CI job, do not."""
    (tmp_path / ".git").mkdir()
    code = (
        "import sys; from pathlib import Path; from safeinstall.policy.load import load_policy;"
        f"load_policy(cwd=Path({str(tmp_path)!r})); print('safeinstall.policy.keys' in sys.modules)"
    )
    env = {**os.environ, "SAFEINSTALL_OSV_DB": str(tmp_path), "SAFEINSTALL_CACHE_DIR": "x"}
    for var in ENV_OVERRIDES:
        env.pop(var, None)
    done = subprocess.run(
        [sys.executable, "-c", code], check=False, env=env, capture_output=True, text=True
    )
    assert done.stdout.strip() == "False", done.stderr
