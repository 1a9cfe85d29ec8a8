from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from safeinstall.errors import UsageError
from safeinstall.lock.ref import LockRef, parse_ref
from safeinstall.report.diff import diff_locks
from tests.support.fixtures import Result
from tests.support.locks import lock, package, write
from tests.support.sarif import assert_valid_sarif, located, results

Run = Callable[..., Result]

OLD = lock(
    package("app", "1.0", deps=["lib", "gone"], via=["requirements.in:1"]),
    package("lib", "2.0", via=["app"]),
    package("gone", "1.0", via=["app"]),
    package("old-thing", "3.0", via=["app"]),
    package("same", "1.0"),
)
NEW = lock(
    package("app", "1.1", deps=["lib", "fresh"], via=["requirements.in:1"]),
    package("lib", "1.9", via=["app"], license="GPL-3.0-only"),
    package("fresh", "0.1", via=["app"], files=["fresh-0.1.tar.gz"]),
    package("old-thing", "3.0", via=["app"], index="https://other.example.org/simple"),
    package("same", "1.0"),
)


def kinds(result: Result) -> list[tuple[str, str]]:
    return [(c["kind"], c["name"]) for c in json.loads(result.out)["changes"]]


def test_diff_reports_each_kind_of_change() -> None:
    result = diff_locks(OLD, NEW)
    assert [(c.kind, c.name, c.old, c.new) for c in result.changes] == [
        ("upgraded", "app", "1.0", "1.1"),
        ("added", "fresh", None, "0.1"),
        ("sdist", "fresh", None, "fresh-0.1.tar.gz"),
        ("removed", "gone", "1.0", None),
        ("downgraded", "lib", "2.0", "1.9"),
        ("license", "lib", "MIT", "GPL-3.0-only"),
        (
            "index",
            "old-thing",
            "https://pkgs.example.com/simple",
            "https://other.example.org/simple",
        ),
    ]
    assert not result.alarms


def test_identical_locks_have_no_changes(cli: Run, tmp_path: Path) -> None:
    a = write(tmp_path / "a.txt", OLD)
    result = cli("diff", a, a)
    assert (result.code, result.out, result.err.strip()) == (0, "", "no changes")


def test_same_file_name_with_new_bytes_is_an_alarm(cli: Run, tmp_path: Path) -> None:
    old = write(tmp_path / "pylock.toml", lock(package("lib", "2.0")))
    new = write(tmp_path / "pylock.new.toml", lock(package("lib", "2.0", salt="evil")))
    result = cli("diff", "--format", "json", old, new)
    assert result.code == 1
    data = json.loads(result.out)
    assert data["alarm"] is True
    assert kinds(result) == [("alarm", "lib")]
    assert "lib-2.0-py3-none-any.whl" in data["changes"][0]["detail"]
    text = cli("diff", old, new)
    assert text.code == 1
    assert "alarm" in text.out and "ALARM" in text.err


def test_requirements_txt_hash_swap_is_an_alarm(cli: Run, tmp_path: Path) -> None:
    old = write(tmp_path / "old.txt", lock(package("lib", "2.0")))
    new = write(tmp_path / "new.txt", lock(package("lib", "2.0", salt="evil")))
    assert kinds(cli("diff", "--format", "json", old, new)) == [("alarm", "lib")]
    assert cli("diff", old, new).code == 1


def test_added_wheel_for_a_new_target_is_not_an_alarm(cli: Run, tmp_path: Path) -> None:
    one = ["lib-2.0-py3-none-any.whl"]
    two = [*one, "lib-2.0-cp312-cp312-win_amd64.whl"]
    for old_name, new_name in (("old.txt", "new.txt"), ("pylock.old.toml", "pylock.toml")):
        old = write(tmp_path / old_name, lock(package("lib", "2.0", files=one)))
        new = write(tmp_path / new_name, lock(package("lib", "2.0", files=two)))
        result = cli("diff", "--format", "json", old, new)
        assert result.code == 0
        assert kinds(result) == [("files", "lib")]


def test_mixed_formats_compare(cli: Run, tmp_path: Path) -> None:
    old = write(tmp_path / "requirements.txt", OLD)
    new = write(tmp_path / "pylock.toml", NEW)
    result = cli("diff", "--format", "json", old, new)
    assert result.code == 0
    # requirements.txt records no index: an index change cannot be told, the rest can
    assert kinds(result) == [
        ("upgraded", "app"),
        ("added", "fresh"),
        ("sdist", "fresh"),
        ("removed", "gone"),
        ("downgraded", "lib"),
        ("license", "lib"),
    ]


def test_text_output_lists_changes(cli: Run, tmp_path: Path) -> None:
    result = cli(
        "diff", write(tmp_path / "pylock.a.toml", OLD), write(tmp_path / "pylock.toml", NEW)
    )
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0] == " ^ upgraded   app 1.0 -> 1.1"
    assert " - removed    gone 1.0" in lines
    assert any(line.startswith(" ! sdist      fresh fresh-0.1.tar.gz") for line in lines)


def git(repo: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    subprocess.run(["git", "-C", str(repo), *args], check=True, env=env, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    (root / "sub").mkdir(parents=True)
    git(root, "init", "-q")
    write(root / "sub" / "requirements.txt", OLD)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "old")
    write(root / "sub" / "requirements.txt", NEW)
    git(root, "commit", "-qam", "new")
    write(root / "sub" / "requirements.txt", lock(*NEW.packages, package("extra", "1.0")))
    monkeypatch.chdir(root / "sub")
    return root


def test_git_revisions(cli: Run, repo: Path) -> None:
    result = cli("diff", "--format", "json", "HEAD~1:requirements.txt", "HEAD:requirements.txt")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["old"] == "HEAD~1:requirements.txt"
    assert ("removed", "gone") in kinds(result)
    # against the working copy
    assert kinds(cli("diff", "--format", "json", "HEAD:requirements.txt", "requirements.txt")) == [
        ("added", "extra")
    ]


def test_git_errors_are_input_errors(cli: Run, repo: Path) -> None:
    result = cli("diff", "nosuchrev:requirements.txt", "requirements.txt")
    assert result.code == 2
    assert "nosuchrev:requirements.txt: git cannot read it" in result.err
    outside = cli("diff", "HEAD:../../elsewhere.txt", "requirements.txt")
    assert outside.code == 2
    assert "outside the git repository" in outside.err


@pytest.mark.parametrize("text", ["--output=x", "-p", "--upload-pack=x:y", "HEAD:-x"])
def test_anything_like_an_option_is_refused(text: str) -> None:
    with pytest.raises(UsageError):
        parse_ref(text)


def test_parse_ref_prefers_an_existing_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a:b.txt").write_text("")
    assert parse_ref("a:b.txt") == LockRef(Path("a:b.txt"))
    assert parse_ref("HEAD:b.txt") == LockRef(Path("b.txt"), "HEAD")
    assert parse_ref("plain.txt") == LockRef(Path("plain.txt"))


def entry_line(path: Path, name: str) -> int:
    """The 1-based line of ``name``'s entry: its pin, or its ``[[packages]]`` header."""
    text = path.read_text(encoding="utf-8").splitlines()
    if path.suffix == ".toml":
        return text.index(f'name = "{name}"')
    return next(n for n, line in enumerate(text, 1) if line.startswith(f"{name}=="))


def test_sarif_reports_the_risky_changes_on_the_new_lock_lines(
    cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    old = write(tmp_path / "pylock.old.toml", OLD)
    swapped = [p for p in NEW.packages if p.name != "same"] + [package("same", "1.0", salt="x")]
    new = write(tmp_path / "pylock.toml", lock(*swapped))
    result = cli("diff", "--format", "sarif", old.name, new.name)
    assert result.code == 1  # the alarm, as in text
    found = results(assert_valid_sarif(result.out))
    assert [(r["ruleId"], r["level"], located(r)) for r in found] == [
        (kind, level, ("pylock.toml", entry_line(new, name)))
        for kind, level, name in [
            ("sdist", "warning", "fresh"),
            ("downgraded", "note", "lib"),
            ("license", "note", "lib"),
            ("index", "warning", "old-thing"),
            ("alarm", "error", "same"),
        ]
    ]


def test_sarif_of_git_revisions_locates_in_the_revision(cli: Run, repo: Path) -> None:
    result = cli("diff", "--format", "sarif", "HEAD~1:requirements.txt", "HEAD:requirements.txt")
    assert result.code == 0, result.err
    head = write(repo / "head.txt", NEW)  # HEAD's text: the working copy has one more package
    found = results(assert_valid_sarif(result.out))
    assert [(r["ruleId"], located(r)) for r in found] == [  # requirements.txt: no file names
        ("downgraded", ("requirements.txt", entry_line(head, "lib"))),
        ("license", ("requirements.txt", entry_line(head, "lib"))),
    ]
