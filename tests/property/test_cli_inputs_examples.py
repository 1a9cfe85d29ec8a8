"""The crashes the property tests in test_cli_inputs.py found (and the review listed), one each:
every one an input error (exit 2) naming the file and line, with a hint, never exit 3."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.property.test_cli_inputs import DIGEST, POLICY
from tests.support.fixtures import Result

Cli = Callable[..., Result]
BAD_URLS = {
    "port out of range": ("https://127.0.0.1:99999/simple", "port '99999' is not a number"),
    "port not a number": ("https://127.0.0.1:x/simple", "port 'x' is not a number"),
    "unclosed bracket": ("https://[::1/simple", "[brackets] is not a closed IPv6 address"),
    "not an address": ("https://[zz]/simple", "[brackets] is not a closed IPv6 address"),
    "NFKC delimiter": ("https://h\uff03x/simple", "reads as '/', '?', '#', '@' or ':'"),
}
PARAMS = pytest.mark.parametrize(("url", "reason"), BAD_URLS.values(), ids=list(BAD_URLS))


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / "policy.toml").write_text(POLICY)
    (tmp_path / "out.txt").write_text("# safeinstall-digest: sha256:00\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def input_error(result: Result, where: str, *fragments: str) -> None:
    """Exit 2, one error naming ``where`` (file:line), a hint, no traceback."""
    assert result.code == 2, result.err
    assert f"error: {where}: " in result.err, result.err
    assert "hint: " in result.err
    assert "Traceback" not in result.err and "internal error" not in result.err
    for fragment in fragments:
        assert fragment in result.err


@PARAMS
@pytest.mark.parametrize(
    "line",
    ["-i {}", "--index-url={}", "--extra-index-url {}", "--find-links {}", "-f {}", "pkg @ {}"],
)
def test_bad_url_in_a_requirement_file(
    cli: Cli, project: Path, line: str, url: str, reason: str
) -> None:
    (project / "requirements.in").write_text("foo==1.0\n" + line.format(url) + "\n")
    for argv in (
        ("check", "requirements.in"),
        ("lock", "--check", "requirements.in", "-o", "out.txt"),
    ):
        input_error(cli(*argv, "--policy", "policy.toml"), "requirements.in:2", reason)


def test_bad_url_with_credentials_is_shown_redacted(cli: Cli, project: Path) -> None:
    (project / "requirements.in").write_text("-i https://user:secret@[::1/simple\n")
    result = cli("check", "--policy", "policy.toml", "requirements.in")
    input_error(result, "requirements.in:1", "***@")
    assert "secret" not in result.err


@PARAMS
def test_bad_url_in_pyproject_dependencies(cli: Cli, project: Path, url: str, reason: str) -> None:
    (project / "pyproject.toml").write_text(
        f'[project]\nname = "demo"\nversion = "1"\ndependencies = [\n  "pkg @ {url}",\n]\n'
    )
    for argv in (
        ("check", "pyproject.toml"),
        ("lock", "--check", "pyproject.toml", "-o", "out.txt"),
    ):
        input_error(cli(*argv, "--policy", "policy.toml"), "pyproject.toml:5", reason)


def pylock(index: str, url: str) -> str:
    return (
        'lock-version = "1.0"\ncreated-by = "safeinstall"\n\n'
        f'[[packages]]\nname = "foo"\nversion = "1.0"\nindex = "{index}"\n'
        f'wheels = [{{ name = "foo-1.0-py3-none-any.whl", url = "{url}", '
        f'hashes = {{ sha256 = "{DIGEST}" }} }}]\n'
    )


@PARAMS
@pytest.mark.parametrize("field", ["index", "url"])
def test_bad_url_in_pylock(cli: Cli, project: Path, field: str, url: str, reason: str) -> None:
    good = "https://127.0.0.1/simple"
    text = pylock(url, good + "/foo.whl") if field == "index" else pylock(good, url)
    (project / "pylock.toml").write_text(text)
    for command in ("check", "sbom", "tree"):
        input_error(cli(command, "--policy", "policy.toml", "pylock.toml"), "pylock.toml:4", reason)


def test_pylock_tool_table_of_another_type(cli: Cli, project: Path) -> None:
    text = pylock("https://127.0.0.1/simple", "https://127.0.0.1/f/foo-1.0-py3-none-any.whl")
    (project / "pylock.toml").write_text(text + "[packages.tool.safeinstall]\nvia = 0\n")
    for command in ("sbom", "tree"):
        result = cli(command, "--policy", "policy.toml", "pylock.toml")
        input_error(result, "pylock.toml:4", "packages[0].tool.safeinstall.via must be an array")


@PARAMS
@pytest.mark.parametrize("key", ["indexes", "find-links"])
def test_bad_url_in_the_policy(cli: Cli, project: Path, key: str, url: str, reason: str) -> None:
    body = (
        f'indexes = [{{ name = "a", url = "{url}" }}]'
        if key == "indexes"
        else f'find-links = ["{url}"]'
    )
    (project / "safeinstall.toml").write_text(f"# policy\n{body}\n")
    (project / "requirements.in").write_text("foo\n")
    result = cli("check", "--policy", "safeinstall.toml", "requirements.in")
    input_error(result, "safeinstall.toml:2", "not a valid URL", reason)


def test_policy_file_host_port_out_of_range(cli: Cli, project: Path) -> None:
    (project / "safeinstall.toml").write_text(
        'indexes = [\n  { name = "a", url = "https://127.0.0.1/s", file-hosts = ["h:99999"] },\n]\n'
    )
    (project / "requirements.in").write_text("foo\n")
    result = cli("check", "--policy", "safeinstall.toml", "requirements.in")
    input_error(result, "safeinstall.toml:1", "'h:99999' is not a host name")


def test_policy_duration_too_long(cli: Cli, project: Path) -> None:
    (project / "safeinstall.toml").write_text(f'min-release-age = "{"9" * 30} days"\n')
    (project / "requirements.in").write_text("foo\n")
    result = cli("check", "--policy", "safeinstall.toml", "requirements.in")
    input_error(result, "safeinstall.toml:1", "is too long (at most 999999999 days)")


GROUPS = {
    "cycle": ('dev = [{ include-group = "test" }]\ntest = [{ include-group = "dev" }]\n', "Cyclic"),
    "unknown include": ('dev = [{ include-group = "nope" }]\ntest = []\n', "'nope' not found"),
    "odd item": ('dev = [{ other = "x" }]\ntest = []\n', "Invalid dependency group item"),
    "same name twice": ("dev = []\nDev = []\ntest = []\n", "Duplicate dependency group names"),
}


@pytest.mark.parametrize(("groups", "reason"), GROUPS.values(), ids=list(GROUPS))
def test_dependency_groups_that_do_not_resolve(
    cli: Cli, project: Path, groups: str, reason: str
) -> None:
    (project / "pyproject.toml").write_text(
        f'[project]\nname = "demo"\nversion = "1"\n\n[dependency-groups]\n{groups}'
    )
    result = cli(
        "lock",
        "--policy",
        "policy.toml",
        "--check",
        "pyproject.toml",
        "-o",
        "out.txt",
        "--group",
        "dev",
    )
    input_error(result, "pyproject.toml:5", "invalid [dependency-groups]", reason)


@pytest.mark.parametrize(
    "table", ["project = 0", "dependency-groups = []", "[project]\noptional-dependencies = 1"]
)
def test_pyproject_table_of_another_type(cli: Cli, project: Path, table: str) -> None:
    (project / "pyproject.toml").write_text(table + "\n")
    for argv in (
        ("check", "pyproject.toml"),
        ("lock", "--check", "pyproject.toml", "-o", "out.txt"),
    ):
        result = cli(*argv, "--policy", "policy.toml")
        input_error(result, f"pyproject.toml:{table.count(chr(10)) + 1}", "must be a table")


@pytest.mark.parametrize(
    ("marker", "reason"),
    [
        ('python_version >= "3.8" and', "Expected a marker variable"),
        ('python_version ~= "3"', "compares with no version"),
    ],
)
def test_lock_environment_header_with_an_invalid_marker(
    cli: Cli, project: Path, marker: str, reason: str
) -> None:
    (project / "requirements.txt").write_text(
        f"# safeinstall-digest: sha256:{DIGEST}\n# environment: {marker}\n"
        f"foo==1.0 \\\n    --hash=sha256:{DIGEST}\n"
    )
    (project / "osv").mkdir()
    for argv in (
        ("tree", "requirements.txt"),
        ("sbom", "requirements.txt"),
        ("audit", "--db", "osv", "requirements.txt"),
        ("diff", "requirements.txt", "requirements.txt"),
    ):
        input_error(cli(*argv, "--policy", "policy.toml"), "requirements.txt:2", reason)


# A comparison packaging parses but cannot evaluate (``~=`` needs a version), behind an ``and``
# that only another platform reaches: refused by every reader, not left to crash there.
UNEVALUABLE = 'sys_platform == "nonesuch" and python_version ~= "3"'


def test_a_requirement_marker_packaging_cannot_evaluate(cli: Cli, project: Path) -> None:
    (project / "requirements.in").write_text(f"foo==1.0 ; {UNEVALUABLE}\n")
    for argv in (
        ("check", "requirements.in"),
        ("lock", "--check", "requirements.in", "-o", "out.txt"),
    ):
        input_error(cli(*argv, "--policy", "policy.toml"), "requirements.in:1", "compares with no")
    (project / "pyproject.toml").write_text(
        f'[project]\nname = "x"\nversion = "1"\ndependencies = [\'foo ; {UNEVALUABLE}\']\n'
    )
    input_error(cli("check", "--policy", "policy.toml", "pyproject.toml"), "pyproject.toml:4")


def test_a_lock_marker_packaging_cannot_evaluate(cli: Cli, project: Path) -> None:
    (project / "requirements.txt").write_text(
        f"# safeinstall-digest: sha256:{DIGEST}\n"
        f"foo==1.0 ; {UNEVALUABLE} \\\n    --hash=sha256:{DIGEST}\n"
    )
    (project / "pylock.toml").write_text(
        'lock-version = "1.0"\ncreated-by = "x"\n\n[[packages]]\nname = "foo"\n'
        f"version = \"1.0\"\nmarker = '{UNEVALUABLE}'\n"
        'wheels = [{ name = "foo-1.0-py3-none-any.whl", '
        'url = "https://pkgs.example.com/foo-1.0-py3-none-any.whl", '
        f'hashes = {{ sha256 = "{DIGEST}" }} }}]\n'
    )
    for lock, where in (
        ("requirements.txt", "requirements.txt:2"),
        ("pylock.toml", "pylock.toml:4"),
    ):
        for argv in (("tree", lock), ("sbom", lock)):
            input_error(cli(*argv, "--policy", "policy.toml"), where, "compares with no")


def test_a_policy_environment_packaging_cannot_evaluate(cli: Cli, project: Path) -> None:
    (project / "policy.toml").write_text(POLICY + f"environments = ['{UNEVALUABLE}']\n")
    (project / "requirements.in").write_text("foo==1.0\n")
    result = cli("check", "--policy", "policy.toml", "requirements.in")
    assert result.code == 2, result.err
    assert "compares with no version" in result.err and "Traceback" not in result.err
