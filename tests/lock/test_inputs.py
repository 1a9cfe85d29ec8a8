"""Reading a lock's inputs: `lock --check` reads them without building roots, and must get the
freshness digest `lock` records, and refuse what `lock` refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from safeinstall.errors import PolicyError
from safeinstall.lock.inputs import choose_targets, digest_for, read_inputs
from safeinstall.policy.load import load_policy

POLICY = 'indexes = [{ name = "local", url = "http://127.0.0.1:9/simple/" }]\ndeny = ["evil"]\n'
PYPROJECT = """[project]
name = "app"
version = "1.0"
dependencies = ["Requests[socks]>=2 ; python_version >= '3.9'", "idna"]
[project.optional-dependencies]
fast = ["ujson==5.*"]
[dependency-groups]
dev = ["pytest>=8", { include-group = "lint" }]
lint = ["ruff"]
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / "safeinstall.toml").write_text(POLICY)
    (tmp_path / "base.in").write_text("attrs>=23 ; sys_platform == 'linux'\n")
    (tmp_path / "requirements.in").write_text("-r base.in\nclick[x]==8.1.7\nsix\n")
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("inputs", "options"),
    [
        (["requirements.in"], {}),
        (["pyproject.toml"], {"extras": ["fast"], "groups": ["dev"]}),
        (["requirements.in", "pyproject.toml"], {"all_extras": True}),
    ],
)
def test_the_check_path_digests_the_inputs_as_lock_does(
    project: Path, inputs: list[str], options: dict[str, object]
) -> None:
    policy = load_policy(environ={})
    targets = choose_targets(policy, "3.12,3.13", "linux,windows")
    paths = [Path(i) for i in inputs]
    locking = read_inputs(paths, policy, **options)  # type: ignore[arg-type]
    checking = read_inputs(paths, policy, roots=False, **options)  # type: ignore[arg-type]
    assert locking.roots and checking.roots == ()
    assert checking.files == locking.files
    assert checking.digest_parts == locking.digest_parts
    assert digest_for(checking, policy, targets) == digest_for(locking, policy, targets)


def test_the_check_path_still_refuses_inputs_that_break_the_policy(project: Path) -> None:
    (project / "base.in").write_text("evil==1.0\n")
    policy = load_policy(environ={})
    for roots in (True, False):
        with pytest.raises(PolicyError, match="evil is denied"):
            read_inputs([Path("requirements.in")], policy, roots=roots)
