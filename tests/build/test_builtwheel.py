"""Install time: the wheel a locked sdist builds must be the package the lock records. Its file
name and METADATA name the locked release, its tags fit the target, and each Requires-Dist that
applies there names a package the lock installs there, at a version it admits (pip installs with
``--no-deps``). Otherwise the install is refused before pip runs, naming the sdist and what
differs. Hostile builds come from ``built.txt`` (``buildsets.py``), real locks from the CLI."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.build.buildsets import app_sdist, build_project, publish
from tests.build.test_installbuild import built_records, install, without_content_digest
from tests.support.builders import build_wheel
from tests.support.indexserver import IndexServer

HOSTILE = [
    ("Name: evil", "its METADATA names evil 1.0, not app 1.0"),
    ("Version: 2.0", "its METADATA names app 2.0, not app 1.0"),
    ("File-Name: evil", "its file name names another project or version"),
    ("Requires-Dist: evil", "it requires evil, which the lock does not install here"),
    ("Requires-Dist: helper>=2", "it requires helper>=2, but the lock pins helper 1.0"),
    ("Drop-Requires: helper", "the lock records helper as its dependency, which its METADATA"),
    ("Tag: cp27-cp27mu-win32", "its tags (cp27-cp27mu-win32) do not fit the target"),
    ("Wheel-Tag: py2-none-any", "its WHEEL file says py2-none-any, its file name py3-none-any"),
]


@pytest.mark.parametrize("hostile", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_a_build_that_makes_another_package_than_the_locked_one_is_refused(
    tmp_path: Path,
    index_server: IndexServer,
    cli: Any,
    monkeypatch: pytest.MonkeyPatch,
    hostile: tuple[str, str],
) -> None:
    """The sdist's PKG-INFO (what the lock is made from) says app 1.0 needing helper; its build
    code makes something else. Nothing is installed and nothing is kept as a built wheel."""
    built, problem = hostile
    sdist = app_sdist(requires=("helper",), built=built)
    proj = build_project(tmp_path, index_server, cli, monkeypatch, sdist=sdist)
    publish(index_server, proj.dists, "private", build_wheel(proj.dists / "h", "helper", "1.0"))
    assert proj.lock().code == 0
    result = install(proj, tmp_path / "t")
    assert result.code == 1, result.err
    assert "error: building app-1.0.tar.gz made " in result.err
    assert ", which is not the package the lock records (app 1.0): " in result.err
    assert problem in result.err, result.err
    assert "nothing was installed" in result.err
    assert not (tmp_path / "t").exists() or not any((tmp_path / "t").iterdir())
    assert [r for r in built_records(tmp_path / "cache") if r.get("filename")] == []


def test_an_honest_build_with_locked_dependencies_installs(
    tmp_path: Path, index_server: IndexServer, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Requires-Dist the lock holds passes, and one whose marker is false on the target is
    not asked for; the built wheel and its locked dependency are installed."""
    sdist = app_sdist(requires=("helper>=1", 'evil ; python_version < "3"'))
    proj = build_project(tmp_path, index_server, cli, monkeypatch, sdist=sdist)
    publish(index_server, proj.dists, "private", build_wheel(proj.dists / "h", "helper", "1.0"))
    assert proj.lock("-o", "pylock.toml").code == 0
    result = install(proj, tmp_path / "t", lock="pylock.toml")
    assert result.code == 0, result.err
    assert "BUILT_BY = 'askreq'" in (tmp_path / "t" / "app" / "__init__.py").read_text()
    assert (tmp_path / "t" / "helper-1.0.dist-info").is_dir()


def test_a_cached_built_wheel_is_held_to_the_lock_installing_it(
    tmp_path: Path, index_server: IndexServer, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wheel built for one lock and cached is checked again against the next: a lock edited
    to drop the dependency it declares no longer gets it installed without that dependency."""
    sdist = app_sdist(requires=("helper>=1",))
    proj = build_project(tmp_path, index_server, cli, monkeypatch, sdist=sdist)
    publish(index_server, proj.dists, "private", build_wheel(proj.dists / "h", "helper", "1.0"))
    assert proj.lock().code == 0
    assert install(proj, tmp_path / "t").code == 0
    [record] = built_records(tmp_path / "cache")
    lock = proj.root / "requirements.txt"
    text = re.sub(r"\nhelper==1\.0 \\\n(    .*\n)+", "\n", lock.read_text())
    assert "helper==" not in text
    lock.write_text(without_content_digest(text))
    result = install(proj, tmp_path / "t2")
    assert result.code == 1, result.err
    assert f"made {record['filename']}, which is not the package the lock records" in result.err
    assert "it requires helper>=1, which the lock does not install here" in result.err
    assert not (tmp_path / "t2").exists() or not any((tmp_path / "t2").iterdir())
