"""`safeinstall check`: each finding kind with a file that triggers it and one that does not."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from packaging.utils import NormalizedName
from packaging.version import Version

from safeinstall.lock.model import Lock, LockedFile, LockedPackage, to_requirements_txt
from safeinstall.lock.pylock import to_pylock_toml
from tests.support.fixtures import Result
from tests.support.paths import DATA
from tests.support.sarif import assert_valid_sarif

H1 = "a" * 64
H2 = "b" * 64
H3 = "c" * 64

POLICY = """
indexes = [{ name = "internal", url = "https://pkgs.example.com/simple" }]
deny = ["pyyaml<6"]
direct-references = ["ourlib"]
find-links = ["https://pkgs.example.com/wheels/"]
"""

Run = Callable[..., Result]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    return write(tmp_path, "safeinstall.toml", POLICY)


def check(cli: Run, policy: Path, *files: Path | str) -> Result:
    return cli("check", "--policy", policy, "--format", "json", *files)


def rules(result: Result) -> list[tuple[str, int | None]]:
    return [(f["rule"], f["line"]) for f in json.loads(result.out)["findings"]]


def test_clean_lock_passes(cli: Run, tmp_path: Path, policy: Path) -> None:
    lock = write(
        tmp_path,
        "requirements.txt",
        f"# a comment\nrequests==2.32.3 \\\n    --hash=sha256:{H1} \\\n    --hash=sha256:{H2}\n"
        f"idna==3.10 --hash=sha256:{H3}  # via requests\n",
    )
    result = cli("check", "--policy", policy, lock)
    assert result.code == 0, result
    assert "ok: 1 file checked" in result.err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"requests>=2 --hash=sha256:{H1}\n", [("unpinned", 1)]),
        (f"requests==2.* --hash=sha256:{H1}\n", [("unpinned", 1)]),
        ("idna==3.10\n", [("missing-hash", 1)]),
        (f"idna==3.10 --hash=sha384:{'d' * 96}\n", [("missing-hash", 1)]),
        ("idna==3.10 --hash=md5:0123456789abcdef0123456789abcdef\n", None),
        (f"idna==3.10 --hash=sha256:{H1[:-1]}\n", None),
        (f"idna==3.10 --hash=sha256:{'g' * 64}\n", None),
        (f"idna==3.10 --hash=foo:{H1}\n", None),
    ],
)
def test_pins_and_hashes_in_locks(
    cli: Run, tmp_path: Path, policy: Path, text: str, expected: list[tuple[str, int]] | None
) -> None:
    result = check(cli, policy, write(tmp_path, "requirements.txt", text))
    assert result.code == 1
    found = rules(result)
    if expected is None:  # a bad hash: reported as bad, and there is no usable sha256 either
        assert ("bad-hash", 1) in found
        assert ("missing-hash", 1) in found
    else:
        assert found == expected


def test_inputs_may_be_loose_but_hashes_are_still_validated(
    cli: Run, tmp_path: Path, policy: Path
) -> None:
    loose = write(tmp_path, "requirements.in", "requests>=2\nidna\n")
    assert check(cli, policy, loose).code == 0
    bad = write(tmp_path, "dev.in", "idna --hash=sha1:" + "0" * 40 + "\n")
    assert rules(check(cli, policy, bad)) == [("bad-hash", 1)]


def test_mode_flags_override_the_file_name(cli: Run, tmp_path: Path, policy: Path) -> None:
    path = write(tmp_path, "requirements.in", "requests>=2\n")
    assert check(cli, policy, path).code == 0
    result = cli("check", "--policy", policy, "--format", "json", "--lock", path)
    assert rules(result) == [("unpinned", 1), ("missing-hash", 1)]


def test_conflicting_pins_and_disjoint_hashes(cli: Run, tmp_path: Path, policy: Path) -> None:
    lock = write(
        tmp_path,
        "requirements.txt",
        f"Foo_Bar==1 --hash=sha256:{H1}\n"
        f"foo-bar==2 --hash=sha256:{H1}\n"
        f"idna==3.10 --hash=sha256:{H1}\n"
        f"idna==3.10 --hash=sha256:{H2}\n",
    )
    assert rules(check(cli, policy, lock)) == [("hash-conflict", 2), ("hash-conflict", 4)]


def test_same_name_under_disjoint_markers_is_fine(cli: Run, tmp_path: Path, policy: Path) -> None:
    lock = write(
        tmp_path,
        "requirements.txt",
        f"idna==3.10 ; python_version >= '3.12' --hash=sha256:{H1}\n"
        f"idna==3.7 ; python_version < '3.12' --hash=sha256:{H2}\n",
    )
    assert check(cli, policy, lock).code == 0


@pytest.mark.parametrize(
    "line",
    [
        "-e .",
        "-e git+https://example.com/repo.git#egg=foo",
        "foo @ git+https://example.com/repo.git@main",
        "./vendor/foo",
        f"foo @ https://example.com/foo-1.0-py3-none-any.whl --hash=sha256:{H1}",
    ],
)
def test_direct_references_need_the_policy(
    cli: Run, tmp_path: Path, policy: Path, line: str
) -> None:
    result = check(cli, policy, write(tmp_path, "requirements.in", line + "\n"))
    assert ("unhashable", 1) in rules(result)


def test_allowed_direct_reference(cli: Run, tmp_path: Path, policy: Path) -> None:
    url = "ourlib @ https://pkgs.example.com/ourlib-1.0-py3-none-any.whl"
    assert check(cli, policy, write(tmp_path, "requirements.in", url + "\n")).code == 0
    locked = write(tmp_path, "requirements.txt", f"{url} --hash=sha256:{H1}\n")
    assert check(cli, policy, locked).code == 0
    # but a VCS checkout can never be pinned to bytes in a lock, allowed or not
    vcs = write(tmp_path, "l2.txt", "ourlib @ git+https://example.com/ourlib.git@v1\n")
    assert ("unhashable", 1) in rules(check(cli, policy, vcs))


@pytest.mark.parametrize(
    ("line", "rule"),
    [
        ("--index-url https://evil.example.org/simple", "untrusted-index"),
        ("--extra-index-url https://evil.example.org/simple", "untrusted-index"),
        ("-i https://evil.example.org/simple", "untrusted-index"),
        ("--find-links https://evil.example.org/wheels/", "untrusted-index"),
        ("--trusted-host pkgs.example.com", "untrusted-index"),
        ("--index-url http://pkgs.example.com/simple", "insecure-url"),
        ("--index-url https://user:s3cret@pkgs.example.com/simple", "credentials"),
        (f"foo @ https://example.com/${{AWS_SECRET_ACCESS_KEY}}.whl --hash=sha256:{H1}", "env-var"),
        (f"idna==3.10 --hash=sha256:{H1} --config-settings=x=y", "build-option"),
        (f"idna==3.10 --hash=sha256:{H1} --global-option=--x", "build-option"),
        ("--no-binary :all:", "build-option"),
    ],
)
def test_options_and_urls(cli: Run, tmp_path: Path, policy: Path, line: str, rule: str) -> None:
    result = check(cli, policy, write(tmp_path, "requirements.txt", line + "\n"))
    assert (rule, 1) in rules(result), result
    assert "s3cret" not in result.out + result.err


@pytest.mark.parametrize(
    "line",
    [
        "--index-url https://pkgs.example.com/simple/",
        "--index-url HTTPS://PKGS.example.com/simple",
        "--find-links https://pkgs.example.com/wheels/",
        "--only-binary :all:",
        "--require-hashes",
    ],
)
def test_trusted_options_pass(cli: Run, tmp_path: Path, policy: Path, line: str) -> None:
    result = check(cli, policy, write(tmp_path, "requirements.txt", line + "\n"))
    assert result.code == 0, result.out


def test_deny_allow_and_typosquat(cli: Run, tmp_path: Path) -> None:
    policy = write(tmp_path, "safeinstall.toml", 'allow = ["requests", "idna", "reqeusts"]\n')
    text = (
        f"requests==2.32.3 --hash=sha256:{H1}\n"
        f"flask==3.0.0 --hash=sha256:{H1}\n"
        f"reqeusts==1.0 --hash=sha256:{H1}\n"
    )
    result = check(cli, policy, write(tmp_path, "requirements.txt", text))
    assert rules(result) == [("not-allowed", 2)]  # reqeusts is on the allow list: deliberate
    nopolicy = write(tmp_path, "empty.toml", "")
    result = check(cli, nopolicy, write(tmp_path, "r2.txt", text))
    assert rules(result) == [("typosquat", 3)]
    assert "'requests'" in json.loads(result.out)["findings"][0]["message"]


def test_deny_with_a_version_range(cli: Run, tmp_path: Path, policy: Path) -> None:
    old = write(tmp_path, "requirements.txt", f"PyYAML==5.4 --hash=sha256:{H1}\n")
    assert rules(check(cli, policy, old)) == [("denied", 1)]
    new = write(tmp_path, "r2.txt", f"PyYAML==6.0.2 --hash=sha256:{H1}\n")
    assert check(cli, policy, new).code == 0


def test_real_lock_has_no_false_positives(cli: Run, tmp_path: Path) -> None:
    """A real project's pip-compile output (153 packages) passes under the default policy."""
    lock = shutil.copy(DATA / "treeherder.upstream.txt", tmp_path / "requirements.txt")
    result = cli("check", "--format", "json", lock)
    assert result.code == 0, result.out


def test_pyproject_dependencies(cli: Run, tmp_path: Path, policy: Path) -> None:
    pyproject = write(
        tmp_path,
        "pyproject.toml",
        '[project]\nname = "x"\nversion = "1"\ndependencies = [\n  "requests>=2",\n'
        '  "pyyaml==5.1",\n]\n[project.optional-dependencies]\ndev = ["reqeusts"]\n'
        '[dependency-groups]\ntest = ["pytest", {include-group = "lint"}, "foo @ git+https://example.com/f"]\n'
        'lint = ["ruff"]\n',
    )
    assert rules(check(cli, policy, pyproject)) == [
        ("denied", 6),
        ("typosquat", 9),
        ("unhashable", 11),
    ]


def test_clean_pyproject(cli: Run, tmp_path: Path, policy: Path) -> None:
    pyproject = write(
        tmp_path, "pyproject.toml", '[project]\nname = "x"\ndependencies = ["requests>=2"]\n'
    )
    assert check(cli, policy, pyproject).code == 0


def pylock(index: str, *, sdist: bool = False, hashes: str = f'{{ sha256 = "{H1}" }}') -> str:
    text = (
        'lock-version = "1.0"\ncreated-by = "test"\n\n[[packages]]\nname = "idna"\n'
        f'version = "3.10"\nindex = "{index}"\n'
        'wheels = [{ name = "idna-3.10-py3-none-any.whl", '
        f'url = "{index.replace("/simple", "")}/files/idna-3.10-py3-none-any.whl", '
        f"hashes = {hashes} }}]\n"
    )
    if sdist:
        text += (
            '[packages.sdist]\nname = "idna-3.10.tar.gz"\n'
            'url = "https://pkgs.example.com/files/idna-3.10.tar.gz"\n'
            f'hashes = {{ sha256 = "{H2}" }}\n'
        )
    return text


def test_pylock_clean_and_untrusted(cli: Run, tmp_path: Path, policy: Path) -> None:
    good = write(tmp_path, "pylock.toml", pylock("https://pkgs.example.com/simple"))
    assert check(cli, policy, good).code == 0
    evil = write(tmp_path, "a/pylock.toml", pylock("https://evil.example.org/simple"))
    assert rules(check(cli, policy, evil)) == [("untrusted-index", 4)]
    sdist = write(tmp_path, "b/pylock.toml", pylock("https://pkgs.example.com/simple", sdist=True))
    assert rules(check(cli, policy, sdist)) == [("sdist", 4)]
    md5 = write(
        tmp_path,
        "c/pylock.toml",
        pylock("https://pkgs.example.com/simple", hashes='{ md5 = "' + "0" * 32 + '" }'),
    )
    assert {r for r, _ in rules(check(cli, policy, md5))} == {"bad-hash", "missing-hash"}


def test_invalid_pylock_is_an_input_error(cli: Run, tmp_path: Path, policy: Path) -> None:
    text = 'lock-version = "1.0"\ncreated-by = "x"\n[[packages]]\nversion = "1"\n'
    bad = write(tmp_path, "pylock.toml", text)
    result = cli("check", "--policy", policy, bad)
    assert result.code == 2
    assert "pylock.toml:3" in result.err and "name" in result.err
    assert "Traceback" not in result.err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x00\x01\x02binary\xff\xfe\x00", "NUL"),
        (b"requests==1.0\n\xc3\x28\n", "UTF-8"),
        (b"requests==1.0\x00\n", "NUL"),
        (b"a" * (10 * 1024 * 1024) + b"\n", "long"),
        ("r\u0435quests==1.0\n".encode(), "CYRILLIC"),
        (b"requests==1.0 ; os.system('x')\n", "requests"),
        (b"--no-such-option\n", "--no-such-option"),
    ],
)
def test_malformed_files_are_input_errors(
    cli: Run, tmp_path: Path, policy: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "requirements.txt"
    path.write_bytes(content)
    result = cli("check", "--policy", policy, path)
    assert result.code == 2
    assert "requirements.txt" in result.err
    assert message in result.err
    assert "Traceback" not in result.err


def test_include_problems(cli: Run, tmp_path: Path, policy: Path) -> None:
    write(tmp_path, "a.txt", "-r b.txt\n")
    write(tmp_path, "b.txt", "-r a.txt\n")
    result = cli("check", "--policy", policy, tmp_path / "a.txt")
    assert result.code == 2 and "cycle" in result.err.lower()
    write(tmp_path, "c.txt", "-r missing.txt\n")
    result = cli("check", "--policy", policy, tmp_path / "c.txt")
    assert result.code == 2 and "c.txt:1" in result.err
    outside = tmp_path.parent / f"{tmp_path.name}-outside.txt"
    outside.write_text("requests\n")
    (tmp_path / ".git").mkdir()
    (tmp_path / "link.txt").symlink_to(outside)
    write(tmp_path, "d.txt", "-r link.txt\n")
    result = cli("check", "--policy", policy, tmp_path / "d.txt")
    assert result.code == 2 and "d.txt:1" in result.err


def test_missing_file_and_other_files_still_checked(cli: Run, tmp_path: Path, policy: Path) -> None:
    bad = write(tmp_path, "requirements.txt", "idna==3.10\n")
    result = cli("check", "--policy", policy, "--format", "json", tmp_path / "nope.txt", bad)
    assert result.code == 2  # an unreadable file wins over findings
    data = json.loads(result.out)
    assert [e["path"] for e in data["errors"]] == [str(tmp_path / "nope.txt")]
    assert [f["rule"] for f in data["findings"]] == ["missing-hash"]


def test_sarif_output(
    cli: Run, tmp_path: Path, policy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "requirements.txt", "idna==3.10\n")
    result = cli("check", "--policy", policy, "--format", "sarif", "requirements.txt")
    assert result.code == 1
    sarif = assert_valid_sarif(result.out)
    run = sarif["runs"][0]
    assert "missing-hash" in {r["id"] for r in run["tool"]["driver"]["rules"]}
    (res,) = run["results"]
    assert res["ruleId"] == "missing-hash" and res["level"] == "error"
    loc = res["locations"][0]["physicalLocation"]
    assert loc == {"artifactLocation": {"uri": "requirements.txt"}, "region": {"startLine": 1}}


def test_sarif_output_of_a_file_that_cannot_be_read_validates(
    cli: Run, tmp_path: Path, policy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "requirements.txt", "# header\nidna==3.10\n")
    result = cli("check", "--policy", policy, "--format", "sarif", "requirements.txt", "nope.txt")
    assert result.code == 2  # as in text: an unreadable file wins over findings
    (run,) = assert_valid_sarif(result.out)["runs"]
    found = [(r["ruleId"], r["locations"][0]["physicalLocation"]) for r in run["results"]]
    assert found == [
        (
            "missing-hash",
            {"artifactLocation": {"uri": "requirements.txt"}, "region": {"startLine": 2}},
        ),
        ("invalid-input", {"artifactLocation": {"uri": "nope.txt"}}),
    ]


def test_text_output_names_file_line_and_fix(cli: Run, tmp_path: Path, policy: Path) -> None:
    path = write(tmp_path, "requirements.txt", "# header\nidna==3.10\n")
    result = cli("check", "--policy", policy, path)
    assert result.code == 1
    assert f"{path}:2: missing-hash: idna has no sha256 hash" in result.out
    assert "fix: regenerate the lock with `safeinstall lock`" in result.out
    assert "1 problem in 1 file" in result.err


def test_default_files_and_no_files(
    cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("check")
    assert result.code == 2 and "no files to check" in result.err
    write(tmp_path, "requirements.txt", "idna==3.10\n")
    assert cli("check").code == 1


def test_unknown_file_kind(cli: Run, tmp_path: Path, policy: Path) -> None:
    path = write(tmp_path, "deps.cfg", "idna\n")
    result = cli("check", "--policy", policy, path)
    assert result.code == 2 and "--lock or --input" in result.err


LICENSE_POLICY = POLICY + 'licenses = { allow = ["MIT", "Apache-2.0"] }\n'


def licensed_lock() -> Lock:
    def pkg(name: str, license: str | None) -> LockedPackage:
        file = LockedFile(H1, f"{name}-1.0-py3-none-any.whl", f"https://pkgs.example.com/{name}")
        return LockedPackage(
            NormalizedName(name),
            Version("1.0"),
            (file,),
            index_url="https://pkgs.example.com/simple",
            license=license,
        )

    packages = (pkg("alpha", "MIT"), pkg("beta", "GPL-3.0-only"), pkg("gamma", None))
    return Lock(packages, "sha256:" + H2)


def test_license_rule_on_a_requirements_lock(cli: Run, tmp_path: Path) -> None:
    policy = write(tmp_path, "safeinstall.toml", LICENSE_POLICY)
    lock = write(tmp_path, "requirements.txt", to_requirements_txt(licensed_lock(), "x", "0"))
    result = check(cli, policy, lock)
    found = json.loads(result.out)["findings"]
    lines = lock.read_text().splitlines()
    beta, gamma = (1 + next(i for i, t in enumerate(lines) if t.startswith(n)) for n in "bg")
    assert [(f["rule"], f["line"]) for f in found] == [("license", beta), ("license", gamma)]
    assert "beta is licensed GPL-3.0-only" in found[0]["message"]
    assert "gamma records no license" in found[1]["message"]
    assert result.code == 1
    # without a license list the same lock is clean
    assert check(cli, write(tmp_path, "plain.toml", POLICY), lock).code == 0


def test_comments_under_pins_are_read_with_the_parsers_line_numbers(
    cli: Run, tmp_path: Path
) -> None:
    # one reading of the comments under a pin (license, allow-fresh): CRLF line ends and form
    # feeds (line breaks to the parser) must not shift a comment onto another package's entry
    policy = write(tmp_path, "safeinstall.toml", LICENSE_POLICY)
    text = to_requirements_txt(licensed_lock(), "x", "0")
    text = text.replace("beta==1.0", "# note\x0c#\x0c#\x0c#\x0c# more\nbeta==1.0")
    text = text.replace("GPL-3.0-only\n", "GPL-3.0-only\n    # allow-fresh: by ann: needed\n")
    lock = tmp_path / "requirements.txt"
    lock.write_bytes(text.replace("\n", "\r\n").encode())
    result = check(cli, policy, lock)
    found = json.loads(result.out)
    lines = text.splitlines()
    beta, gamma = (1 + next(i for i, t in enumerate(lines) if t.startswith(n)) for n in "bg")
    assert [(f["line"], f["message"]) for f in found["findings"]] == [
        (beta, "beta is licensed GPL-3.0-only, which is not on the policy's licenses.allow"),
        (gamma, "gamma records no license, and the policy allows only listed licenses"),
    ]
    note = f"{lock}: beta==1.0 is inside min-release-age, allowed: by ann: needed"
    assert found["notes"] == [note]


def test_license_rule_on_a_pylock(cli: Run, tmp_path: Path) -> None:
    policy = write(tmp_path, "safeinstall.toml", LICENSE_POLICY)
    lock = write(tmp_path, "pylock.toml", to_pylock_toml(licensed_lock()))
    found = json.loads(check(cli, policy, lock).out)["findings"]
    assert [f["rule"] for f in found] == ["license", "license"]
    assert "beta is licensed GPL-3.0-only" in found[0]["message"]
    assert "gamma records no license" in found[1]["message"]
    assert check(cli, write(tmp_path, "plain.toml", POLICY), lock).code == 0


def test_readme_examples(cli: Run) -> None:
    """The example files the README points to behave as it says."""
    examples = DATA / "examples"
    assert cli("check", examples / "requirements.txt").code == 0
    result = cli("check", "--format", "json", examples / "bad-requirements.txt")
    assert result.code == 1
    assert rules(result) == [
        ("untrusted-index", 2),
        ("untrusted-index", 3),
        ("unpinned", 4),
        ("missing-hash", 4),
        ("missing-hash", 5),
        ("typosquat", 6),
        ("bad-hash", 7),
        ("missing-hash", 7),
        ("unhashable", 8),
    ]
