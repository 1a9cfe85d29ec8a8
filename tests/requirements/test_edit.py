"""Finding the project and editing its input: pure bytes -> bytes, the rest kept byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.requirements import Requirement

from safeinstall.errors import InputError, UsageError
from safeinstall.requirements.edit import (
    add_to_pyproject,
    add_to_requirements_in,
    find_project,
    parse_wanted,
)


def reqs(*texts: str) -> list[Requirement]:
    return parse_wanted(texts)


def add_in(tmp_path: Path, data: bytes, *texts: str) -> bytes:
    path = tmp_path / "requirements.in"
    path.write_bytes(data)
    return add_to_requirements_in(data, str(path), reqs(*texts))


# --- requirements.in ---------------------------------------------------------------------------
def test_new_names_are_appended_and_the_rest_kept(tmp_path: Path) -> None:
    old = b"# top\r\nalpha-one  # why\r\n\r\n--only-binary :all:\r\nbeta-two"
    new = add_in(tmp_path, old, "gamma-three", "delta-four>=2")
    assert new == old + b"\r\ngamma-three\r\ndelta-four>=2\r\n"


def test_a_given_specifier_replaces_only_the_specifier(tmp_path: Path) -> None:
    old = b"Alpha_One >= 1, < 3 ; python_version >= '3'  # pinned for x\nbeta-two\n"
    new = add_in(tmp_path, old, "alpha-one>=2")
    assert new == b"Alpha_One >=2 ; python_version >= '3'  # pinned for x\nbeta-two\n"


def test_a_name_without_specifier_that_is_there_changes_nothing(tmp_path: Path) -> None:
    old = b"\xef\xbb\xbfalpha-one>=1 # keep\n"
    assert add_in(tmp_path, old, "ALPHA.one") == old


def test_extras_given_replace_the_requirement_and_keep_the_comment(tmp_path: Path) -> None:
    new = add_in(tmp_path, b"alpha-one>=1  # keep\n", "alpha-one[cli]>=2")
    assert new == b"alpha-one[cli]>=2  # keep\n"


def test_a_continued_line_is_not_rewritten(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="spans several lines"):
        add_in(tmp_path, b"alpha-one>=1 \\\n    ; python_version > '3'\n", "alpha-one>=2")


def test_a_name_from_an_included_file_is_changed_there(tmp_path: Path) -> None:
    (tmp_path / "base.in").write_text("alpha-one\n")
    with pytest.raises(UsageError, match=r"base.in:1, an included file"):
        add_in(tmp_path, b"-r base.in\n", "alpha-one>=2")


def test_non_utf8_input_is_not_edited(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not UTF-8"):
        add_in(tmp_path, b"caf\xe9\n", "alpha-one")


def test_urls_are_not_installed_by_name() -> None:
    with pytest.raises(UsageError, match="not URLs"):
        parse_wanted(["x @ https://example.com/x-1.0.tar.gz"])
    with pytest.raises(InputError, match="invalid requirement"):
        parse_wanted(["not a requirement!"])
    assert [str(r) for r in parse_wanted(["a>=1", "b", "A<3"])] == ["A<3", "b"]


# --- pyproject.toml ----------------------------------------------------------------------------
PYPROJECT = """\
[project]   # the app
name = "app"
version = "1"
dependencies = [
    "alpha-one>=1",   # core
    'beta-two',
]

[tool.other]
keep = {  a = 1 }
"""


def test_pyproject_dependencies_edited_with_formatting_kept() -> None:
    new = add_to_pyproject(PYPROJECT.encode(), "pyproject.toml", reqs("gamma-three", "alpha-one<3"))
    assert new.decode() == PYPROJECT.replace('"alpha-one>=1"', '"alpha-one<3"').replace(
        "    'beta-two',\n", "    'beta-two',\n    \"gamma-three\",\n"
    )


def test_pyproject_without_dependencies_gets_them() -> None:
    old = '[project]\nname = "app"\nversion = "1"\n\n[tool.x]\ny = 1\n'
    new = add_to_pyproject(old.encode(), "pyproject.toml", reqs("alpha-one"))
    assert new.decode() == old.replace('"1"\n', '"1"\ndependencies = ["alpha-one"]\n', 1)


def test_dynamic_dependencies_are_refused() -> None:
    old = b'[project]\nname = "app"\ndynamic = ["dependencies", "version"]\n'
    with pytest.raises(UsageError, match="dynamic"):
        add_to_pyproject(old, "pyproject.toml", reqs("alpha-one"))


# --- finding the project -----------------------------------------------------------------------
def test_find_project_walks_up_to_the_git_root(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "src" / "pkg").mkdir(parents=True)
    assert find_project(root / "src" / "pkg") is None
    (root / "pyproject.toml").write_text("[tool.safeinstall]\n")  # a policy, not a project
    assert find_project(root / "src") is None
    (root / "pyproject.toml").write_text('[project]\nname = "app"\n')
    project = find_project(root / "src" / "pkg")
    assert project is not None
    assert (project.input, project.lock) == (root / "pyproject.toml", root / "requirements.txt")
    (root / "requirements.in").write_text("x\n")
    (root / "pylock.toml").write_text("")
    project = find_project(root)
    assert project is not None
    assert (project.input.name, project.lock.name) == ("requirements.in", "pylock.toml")
    assert project.lock_command == "safeinstall lock requirements.in -o pylock.toml"
    (tmp_path / "requirements.in").write_text("above the git root\n")
    (root / "requirements.in").unlink()
    (root / "pyproject.toml").unlink()
    assert find_project(root) is None
