"""pylock.toml is held to the rules of requirements.txt: the same thing is flagged in both."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.fixtures import Result

Run = Callable[..., Result]
H1 = "a" * 64
INDEX = "https://pkgs.example.com/simple"
POLICY = f"""
indexes = [{{ name = "internal", url = "{INDEX}", file-hosts = ["files.example.com"] }}]
direct-references = ["ourlib"]
"""
HEAD = 'lock-version = "1.0"\ncreated-by = "test"\n\n[[packages]]\n'


def findings(cli: Run, tmp_path: Path, name: str, text: str) -> list[tuple[str, str]]:
    (tmp_path / "safeinstall.toml").write_text(POLICY)
    path = tmp_path / name
    path.write_text(text)
    result = cli("check", "--policy", tmp_path / "safeinstall.toml", "--format", "json", path)
    assert result.code in (0, 1), result
    return [(f["rule"], f["message"]) for f in json.loads(result.out)["findings"]]


def wheel(url: str) -> str:
    return (
        HEAD + f'name = "idna"\nversion = "3.10"\nindex = "{INDEX}"\n'
        f'wheels = [{{ name = "idna-3.10-py3-none-any.whl", url = "{url}", '
        f'hashes = {{ sha256 = "{H1}" }} }}]\n'
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://pkgs.example.com/files/idna-3.10-py3-none-any.whl",
        "https://files.example.com/idna-3.10-py3-none-any.whl",
    ],
)
def test_files_on_the_index_or_its_file_hosts_pass(cli: Run, tmp_path: Path, url: str) -> None:
    assert findings(cli, tmp_path, "pylock.toml", wheel(url)) == []


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.net/idna-3.10-py3-none-any.whl",
        "https://pkgs.example.com:8443/idna-3.10-py3-none-any.whl",
        "https://files.example.com.evil.net/idna-3.10-py3-none-any.whl",
    ],
)
def test_a_file_url_on_another_host_is_flagged(cli: Run, tmp_path: Path, url: str) -> None:
    found = findings(cli, tmp_path, "pylock.toml", wheel(url))
    assert [rule for rule, _ in found] == ["untrusted-index"]
    assert "no trusted index serves files from" in found[0][1]


def archive(name: str) -> str:
    return HEAD + (
        f'name = "{name}"\nversion = "1.0"\n'
        f'[packages.archive]\nurl = "https://pkgs.example.com/x/{name}-1.0.tar.gz"\n'
        f'hashes = {{ sha256 = "{H1}" }}\n'
    )


VCS = HEAD + (
    'name = "ourlib"\nversion = "1.0"\n'
    '[packages.vcs]\ntype = "git"\nurl = "https://git.example.com/ourlib.git"\n'
    'commit-id = "0123456789abcdef0123456789abcdef01234567"\n'
)
DIRECTORY = HEAD + 'name = "ourlib"\nversion = "1.0"\n[packages.directory]\npath = "./ourlib"\n'
LOCAL_WHEEL = HEAD + (
    'name = "idna"\nversion = "3.10"\n'
    'wheels = [{ name = "idna-3.10-py3-none-any.whl", path = "wheels/idna-3.10-py3-none-any.whl", '
    f'hashes = {{ sha256 = "{H1}" }} }}]\n'
)


@pytest.mark.parametrize(
    ("pylock", "requirements", "expected"),
    [
        # a URL archive is a direct reference: allowed only when the policy names the project
        (
            archive("other"),
            f"other @ https://pkgs.example.com/x/other-1.0.tar.gz --hash=sha256:{H1}\n",
            ["unhashable"],
        ),
        (
            archive("ourlib"),
            f"ourlib @ https://pkgs.example.com/x/ourlib-1.0.tar.gz --hash=sha256:{H1}\n",
            [],
        ),
        # VCS and local paths cannot be pinned to bytes, whatever the policy says
        (VCS, "ourlib @ git+https://git.example.com/ourlib.git@0123456\n", ["unhashable"]),
        (DIRECTORY, "./ourlib\n", ["unhashable"]),
        (LOCAL_WHEEL, "./wheels/idna-3.10-py3-none-any.whl\n", ["unhashable"]),
    ],
)
def test_one_rule_set_for_both_formats(
    cli: Run, tmp_path: Path, pylock: str, requirements: str, expected: list[str]
) -> None:
    from_pylock = [rule for rule, _ in findings(cli, tmp_path, "pylock.toml", pylock)]
    from_txt = [rule for rule, _ in findings(cli, tmp_path, "requirements.txt", requirements)]
    assert from_pylock == expected
    assert from_txt == expected
