"""The target interpreter describes itself; the plan is made from what it says."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from packaging.tags import sys_tags
from packaging.utils import canonicalize_name
from packaging.version import Version

from safeinstall.environment.probe import (
    Environment,
    Installed,
    SchemeDirs,
    probe,
    target_python,
)
from safeinstall.errors import TargetEnvironmentError, UsageError
from safeinstall.install.pipeline import make_plan
from safeinstall.lock.model import Lock, LockedFile, LockedPackage
from safeinstall.targets import current_target


def test_probe_of_this_interpreter_matches_packaging() -> None:
    env = probe(sys.executable)
    assert env.target.tags[:5] == tuple(sys_tags())[:5]
    assert env.installed[canonicalize_name("packaging")].version is not None
    assert env.prefix == Path(sys.prefix)


def test_probe_of_a_target_dir_lists_only_that_dir(tmp_path: Path) -> None:
    env = probe(sys.executable, "target", str(tmp_path))
    assert env.installed == {}
    assert env.lock_dir == tmp_path


def test_a_broken_interpreter_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TargetEnvironmentError, match="cannot run the target interpreter"):
        probe(str(tmp_path / "no-python"))


def test_default_python_is_the_active_venv(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python").touch()
    assert target_python(None, {"VIRTUAL_ENV": str(tmp_path)}) == str(tmp_path / "bin" / "python")
    (tmp_path / ".git").mkdir()
    with pytest.raises(UsageError, match="no target environment"):  # never the running one
        target_python(None, {}, tmp_path)


def pkg(name: str, version: str, marker: str | None = None) -> LockedPackage:
    return LockedPackage(canonicalize_name(name), Version(version), (LockedFile("a" * 64),), marker)


def env_with(*items: Installed) -> Environment:
    dirs = SchemeDirs(Path("/venv"), (), Path("/venv/bin"), ())
    return Environment("py", current_target(), Path("/venv"), dirs, {i.name: i for i in items})


def inst(name: str, version: str, editable: bool = False) -> Installed:
    return Installed(canonicalize_name(name), Version(version), editable)


LOCK = Lock(
    (pkg("a", "1.0"), pkg("b", "2.0"), pkg("winonly", "1.0", "sys_platform == 'win32'")), ""
)


def test_plan_skips_what_is_installed_at_the_locked_version() -> None:
    plan = make_plan(LOCK, env_with(inst("a", "1.0"), inst("b", "1.0")))
    assert [p.name for p in plan.install] == ["b"]
    assert [p.name for p in plan.skipped] == ["a"]
    assert [
        p.name for p in make_plan(LOCK, env_with(inst("a", "1.0")), reinstall=True).install
    ] == [
        "a",
        "b",
    ]


def test_sync_removes_unlisted_and_self_declared_editables_but_keeps_pip_and_safeinstall() -> None:
    env = env_with(
        inst("pip", "24"),
        inst("safeinstall", "0.1"),
        inst("mine", "0", True),
        inst("extra", "1"),
        inst("winonly", "1.0"),
    )
    plan = make_plan(LOCK, env, sync=True)
    # an editable's own direct_url.json says it is one: any distribution can claim that
    assert [i.name for i in plan.remove] == ["extra", "mine"]
    assert [i.name for i in plan.kept] == ["pip", "safeinstall"]


def test_a_lock_for_other_environments_is_refused() -> None:
    lock = Lock((), "", environments=("sys_platform == 'nonesuch'",))
    with pytest.raises(TargetEnvironmentError, match="not made for"):
        make_plan(lock, env_with())


@pytest.mark.slow
@pytest.mark.parametrize("scheme", ["target", "prefix", "root"])
def test_the_probe_says_where_pip_writes_for_each_scheme(tmp_path: Path, scheme: str) -> None:
    """The one scheme computation (the probe's) names the directories pip really writes into:
    the install footprint, the removal rules and the recovery all read them. ``--root`` under a
    venv's interpreter is the venv's own layout moved under DIR, as pip lays it out."""
    from safeinstall.environment.pip import PipOptions, pip_install
    from safeinstall.index.fetch import Artifact
    from tests.support.builders import build_wheel, file_sha256

    wheel = build_wheel(
        tmp_path / "w",
        "scheme-probe",
        "1.0",
        files={
            "scheme_probe/__init__.py": b"",
            "scheme_probe-1.0.data/scripts/scheme-probe-tool": b"#!python\nprint(1)\n",
        },
    )
    art = Artifact(
        canonicalize_name("scheme-probe"), Version("1.0"), wheel.name, file_sha256(wheel)
    )
    where = str(tmp_path / "dir")
    options = PipOptions(scheme=scheme, where=where, compile=False)  # type: ignore[arg-type]
    (tmp_path / "stage").mkdir()
    pip_install(sys.executable, [(art, wheel)], options, stage_in=tmp_path / "stage")
    env = probe(sys.executable, scheme, where)  # type: ignore[arg-type]
    assert canonicalize_name("scheme-probe") in env.installed
    assert any((site / "scheme_probe" / "__init__.py").is_file() for site in env.dirs.site)
    assert (env.dirs.scripts / "scheme-probe-tool").is_file()
    assert env.dirs.root == Path(where).resolve()
    assert all(site.is_relative_to(env.dirs.root) for site in env.dirs.site)


def test_the_runtime_list_is_pyprojects_dependencies() -> None:
    # sync and install protect these in safeinstall's own environment: a dependency added to
    # pyproject.toml and forgotten here would be removable there
    import tomllib

    from packaging.requirements import Requirement

    from safeinstall.environment.probe import RUNTIME
    from tests.support.paths import ROOT

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert sorted(RUNTIME) == sorted(Requirement(d).name for d in declared)
