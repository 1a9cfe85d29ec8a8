"""Building an sdist's metadata without pip: real sdists, real wheels, a loopback index.

The build backends are small but real: a stand-in ``setuptools`` wheel whose
``build_meta:__legacy__`` runs ``setup.py`` (so the default build-system path is exercised without
the network), an in-tree backend (``backend-path``), and one whose
``get_requires_for_build_wheel`` asks for one more package.
"""

from __future__ import annotations

import subprocess
import tarfile
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from packaging.utils import canonicalize_name

from safeinstall.build.env import BuildContext
from safeinstall.build.hooks import run_hooks
from safeinstall.build.sdist import built_metadata
from safeinstall.environment import unpack
from safeinstall.environment.unpack import unpack_sdist
from safeinstall.errors import (
    IntegrityError,
    PolicyError,
    ResolutionError,
    TargetEnvironmentError,
)
from safeinstall.policy.model import IndexSpec, PackageRule, Policy
from safeinstall.resolve.finder import IndexFinder, open_finder
from tests.support.builders import build_wheel
from tests.support.indexserver import IndexServer
from tests.support.sdists import tar_gz, zip_bytes

# the stand-in setuptools: setup() records its arguments; the legacy backend runs setup.py
SETUPTOOLS = """\
captured = {}
def setup(**kwargs):
    captured.update(kwargs)
"""
BUILD_META = """\
import os, runpy, sys, zipfile
import setuptools

def _metadata():
    sys.path.insert(0, os.getcwd())
    runpy.run_path("setup.py", run_name="__main__")
    kw = setuptools.captured
    lines = ["Metadata-Version: 2.1", f"Name: {kw['name']}", f"Version: {kw['version']}",
             "Summary: built by the test backend"]
    lines += [f"Requires-Dist: {r}" for r in kw.get("install_requires", [])]
    return kw, "\\n".join(lines) + "\\n\\n"

class _Legacy:
    def get_requires_for_build_wheel(self, config_settings=None):
        return []

    def prepare_metadata_for_build_wheel(self, directory, config_settings=None):
        kw, text = _metadata()
        info = f"{kw['name']}-{kw['version']}.dist-info"
        os.makedirs(os.path.join(directory, info))
        with open(os.path.join(directory, info, "METADATA"), "w") as fh:
            fh.write(text)
        return info

    def build_wheel(self, directory, config_settings=None, metadata_directory=None):
        kw, text = _metadata()
        info = f"{kw['name']}-{kw['version']}.dist-info"
        name = f"{kw['name']}-{kw['version']}-py3-none-any.whl"
        with zipfile.ZipFile(os.path.join(directory, name), "w") as zf:
            zf.writestr(f"{info}/METADATA", text)
            zf.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\\nRoot-Is-Purelib: true\\n"
                        "Tag: py3-none-any\\n")
            zf.writestr(f"{info}/RECORD", "")
        return name

__legacy__ = _Legacy()
"""
SETUP_PY = (
    'from setuptools import setup\nsetup(name="legacy", version="1.0", install_requires={})\n'
)
IN_TREE = """\
import os
def prepare_metadata_for_build_wheel(directory, config_settings=None):
    os.makedirs(os.path.join(directory, "intree-2.0.dist-info"))
    with open(os.path.join(directory, "intree-2.0.dist-info", "METADATA"), "w") as fh:
        fh.write("Metadata-Version: 2.1\\nName: intree\\nVersion: 2.0\\nRequires-Dist: six\\n\\n")
    return "intree-2.0.dist-info"
"""
ASKS_MORE = """\
import os
def get_requires_for_build_wheel(config_settings=None):
    return ["helper>=1"]
def prepare_metadata_for_build_wheel(directory, config_settings=None):
    import helper  # only there when the second environment was made
    info = "needy-1.0.dist-info"
    os.makedirs(os.path.join(directory, info))
    with open(os.path.join(directory, info, "METADATA"), "w") as fh:
        fh.write("Metadata-Version: 2.1\\nName: needy\\nVersion: 1.0\\n")
        fh.write(f"Summary: {helper.WORD}\\n\\n")
    return info
"""


def legacy_sdist(requires: str = '["six"]') -> bytes:
    return tar_gz(
        {
            "legacy-1.0/PKG-INFO": b"Metadata-Version: 2.1\nName: legacy\nVersion: 1.0\n\n",
            "legacy-1.0/setup.py": SETUP_PY.format(requires).encode(),
        }
    )


def setuptools_wheel(tmp_path: Path, version: str = "80.0") -> Path:
    files: dict[str, str | bytes] = {
        "setuptools/__init__.py": SETUPTOOLS.encode(),
        "setuptools/build_meta.py": BUILD_META,
    }
    return build_wheel(tmp_path / "dists", "setuptools", version, files=_encoded(files))


def _encoded(files: Mapping[str, str | bytes]) -> dict[str, bytes]:
    return {k: v.encode() if isinstance(v, str) else v for k, v in files.items()}


def policy_for(server: IndexServer, **kwargs: object) -> Policy:
    return Policy(indexes=(IndexSpec("a", server.index_url("a").rstrip("/")),), **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def served(index_server: IndexServer, tmp_path: Path) -> IndexServer:
    index_server.add("a", setuptools_wheel(tmp_path))
    return index_server


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def finder(served: IndexServer, cache: Path) -> Iterator[IndexFinder]:
    with open_finder(policy_for(served, sdists=("*",)), cache=cache) as found:
        yield found


def fast(finder: IndexFinder, sdist: bytes, filename: str) -> bytes:
    assert finder.http is not None
    assert finder.cache is not None
    context = BuildContext(finder.policy, finder, finder.http, finder.cache)
    return built_metadata(sdist, filename, context)


@pytest.fixture
def no_pip(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Fails any subprocess that runs pip; returns every argv started (the hooks' included)."""
    started: list[list[str]] = []
    real = subprocess.Popen

    class Refusing(real):  # type: ignore[misc,valid-type]
        def __init__(self, args: Any, *rest: Any, **kwargs: Any) -> None:
            started.append([str(a) for a in args])
            if "pip" in started[-1]:
                raise AssertionError(f"a build ran pip: {started[-1]}")
            super().__init__(args, *rest, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", Refusing)
    return started


def file_requests(server: IndexServer) -> list[str]:
    return [r.path for r in server.requests if "/files/" in r.path]


# -- the fast path ---------------------------------------------------------------------------


@pytest.mark.usefixtures("no_pip")
def test_setup_py_only_sdist_builds_with_the_default_backend_from_the_index(
    finder: IndexFinder, served: IndexServer
) -> None:
    metadata = fast(finder, legacy_sdist('["six", "idna>=3"]'), "legacy-1.0.tar.gz")
    assert b"Summary: built by the test backend" in metadata  # not the interpreter's setuptools
    assert b"Requires-Dist: six\nRequires-Dist: idna>=3\n" in metadata
    assert any("setuptools-80.0" in path for path in file_requests(served))


@pytest.mark.usefixtures("no_pip")
def test_the_interpreters_own_packages_are_not_importable(finder: IndexFinder) -> None:
    backend = "def prepare_metadata_for_build_wheel(d, c=None):\n    import resolvelib\n"
    sdist = tar_gz(
        {
            "leak-1.0/pyproject.toml": PYPROJECT_IN_TREE.encode(),
            "leak-1.0/backend/inner.py": backend.encode(),
        }
    )
    with pytest.raises(TargetEnvironmentError, match="No module named 'resolvelib'"):
        fast(finder, sdist, "leak-1.0.tar.gz")


PYPROJECT_IN_TREE = """\
[build-system]
requires = []
build-backend = "inner"
backend-path = ["backend"]
"""


@pytest.mark.usefixtures("no_pip")
def test_in_tree_backend_from_backend_path(finder: IndexFinder, served: IndexServer) -> None:
    sdist = tar_gz(
        {
            "intree-2.0/pyproject.toml": PYPROJECT_IN_TREE.encode(),
            "intree-2.0/backend/inner.py": IN_TREE.encode(),
        }
    )
    metadata = fast(finder, sdist, "intree-2.0.tar.gz")
    assert metadata.startswith(b"Metadata-Version: 2.1\nName: intree\nVersion: 2.0\n")
    assert file_requests(served) == []  # nothing to fetch for an empty requires


def test_backend_path_leaving_the_tree_is_refused(finder: IndexFinder) -> None:
    pyproject = PYPROJECT_IN_TREE.replace('["backend"]', '["../.."]')
    sdist = tar_gz({"out-1.0/pyproject.toml": pyproject.encode()})
    with pytest.raises(TargetEnvironmentError, match=r"out-1\.0\.tar\.gz.*leaves the source tree"):
        fast(finder, sdist, "out-1.0.tar.gz")


@pytest.mark.parametrize(
    "pyproject",
    ["[build-system\n", "[build-system]\nrequires = 'setuptools'\n", "[build-system]\nx = 1\n"],
)
def test_malformed_build_system_names_the_sdist(finder: IndexFinder, pyproject: str) -> None:
    sdist = tar_gz({"bad-1.0/pyproject.toml": pyproject.encode()})
    with pytest.raises(TargetEnvironmentError, match=r"cannot build bad-1\.0\.tar\.gz: its pyproj"):
        fast(finder, sdist, "bad-1.0.tar.gz")


@pytest.mark.usefixtures("no_pip")
def test_requirements_asked_for_by_the_backend_make_a_second_environment(
    finder: IndexFinder, served: IndexServer, tmp_path: Path, cache: Path
) -> None:
    served.add(
        "a",
        build_wheel(tmp_path / "dists", "helper", "1.5", files={"helper.py": b"WORD = 'helped'\n"}),
    )
    pyproject = PYPROJECT_IN_TREE.replace('"inner"', '"asks"')
    sdist = tar_gz(
        {
            "needy-1.0/pyproject.toml": pyproject.encode(),
            "needy-1.0/backend/asks.py": ASKS_MORE.encode(),
        }
    )
    metadata = fast(finder, sdist, "needy-1.0.tar.gz")
    assert b"Summary: helped\n" in metadata
    assert len(list((cache / "build-envs").iterdir())) == 2  # without helper, then with it


def test_a_failing_hook_is_one_sentence_with_its_last_error_line(finder: IndexFinder) -> None:
    backend = (
        "def prepare_metadata_for_build_wheel(d, c=None):\n    raise ValueError('no compiler')\n"
    )
    sdist = tar_gz(
        {
            "fails-1.0/pyproject.toml": PYPROJECT_IN_TREE.encode(),
            "fails-1.0/backend/inner.py": backend.encode(),
        }
    )
    with pytest.raises(TargetEnvironmentError) as caught:
        fast(finder, sdist, "fails-1.0.tar.gz")
    assert (
        caught.value.message == "building fails-1.0.tar.gz failed (exit 1): ValueError: no compiler"
    )


def test_build_environment_is_reused_without_the_network(
    served: IndexServer, finder: IndexFinder, cache: Path
) -> None:
    first = fast(finder, legacy_sdist(), "legacy-1.0.tar.gz")
    fetched = file_requests(served)
    assert fetched
    assert fast(finder, legacy_sdist('["idna"]'), "legacy-1.0.tar.gz") != first
    assert file_requests(served) == fetched  # the same run: nothing fetched again
    with open_finder(finder.policy, cache=cache) as later:  # a later run
        fast(later, legacy_sdist(), "legacy-1.0.tar.gz")
    assert file_requests(served) == fetched
    assert len(list((cache / "build-envs").iterdir())) == 1


def test_a_denied_build_requirement_is_an_error_not_a_fallback(
    served: IndexServer, cache: Path, no_pip: None
) -> None:
    rule = PackageRule(raw="setuptools", pattern="setuptools")
    policy = policy_for(served, deny=(rule,))
    with open_finder(policy, cache=cache) as finder, pytest.raises(PolicyError) as caught:
        fast(finder, legacy_sdist(), "legacy-1.0.tar.gz")
    assert caught.value.message == (
        "legacy-1.0.tar.gz needs setuptools>=40.8.0 to build, which the policy denies (setuptools)"
    )


def test_a_build_requirement_refused_by_a_versioned_rule_names_the_rule(
    served: IndexServer, cache: Path, no_pip: None
) -> None:
    from packaging.specifiers import SpecifierSet

    rule = PackageRule(raw="setuptools>=70", pattern="setuptools", specifier=SpecifierSet(">=70"))
    denied = r"setuptools 80\.0: denied by the policy \(setuptools>=70\)"
    policy = policy_for(served, deny=(rule,))
    with open_finder(policy, cache=cache) as finder, pytest.raises(ResolutionError, match=denied):
        fast(finder, legacy_sdist(), "legacy-1.0.tar.gz")


def test_the_finder_builds_allowed_sdists_through_the_fast_path(
    served: IndexServer, tmp_path: Path, cache: Path, no_pip: None
) -> None:
    sdist = tmp_path / "dists" / "legacy-1.0.tar.gz"
    sdist.write_bytes(legacy_sdist())
    served.add("a", sdist, metadata=False)
    with open_finder(policy_for(served, sdists=("legacy",)), cache=cache) as finder:
        file = finder.project(canonicalize_name("legacy")).files[0]
        metadata = finder.metadata(file)
    assert [str(r) for r in metadata.requires_dist or ()] == ["six"]
    assert (cache / "build-envs").is_dir()


# -- no fallback ---------------------------------------------------------------------------


def test_a_build_requirement_with_only_an_sdist_is_refused_not_built_by_pip(
    served: IndexServer, finder: IndexFinder, tmp_path: Path, no_pip: list[list[str]]
) -> None:
    """It used to fall back to ``pip wheel`` with every trusted index: pip then chose the build
    requirements itself, past the policy (see test_build_requirements.py)."""
    helper = tmp_path / "dists" / "helper-1.0.tar.gz"
    setup = SETUP_PY.replace("legacy", "helper").format("[]")
    helper.write_bytes(tar_gz({"helper-1.0/setup.py": setup.encode()}))
    served.add("a", helper)
    pyproject = '[build-system]\nrequires = ["setuptools", "helper"]\n'
    sdist = tar_gz(
        {
            "legacy-1.0/pyproject.toml": pyproject.encode(),
            "legacy-1.0/setup.py": SETUP_PY.format('["six"]').encode(),
        }
    )
    with pytest.raises(PolicyError) as caught:
        fast(finder, sdist, "legacy-1.0.tar.gz")  # the policy lets helper build: still refused
    assert caught.value.message == (
        "legacy-1.0.tar.gz needs helper to build, which the trusted indexes serve only as an "
        "sdist (helper-1.0.tar.gz), and build requirements are installed from wheels only"
    )
    assert no_pip == []  # nothing ran: no pip, no hooks
    assert not any(p.endswith("helper-1.0.tar.gz") for p in file_requests(served))


# -- unpacking -----------------------------------------------------------------------------


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


@pytest.mark.parametrize(
    ("members", "why"),
    [
        ({"/abs/evil": b"x"}, "unsafe member"),
        ({"pkg-1.0/../../evil": b"x"}, "unsafe member"),
        ({"pkg-1.0/evil": _link("pkg-1.0/evil", "../../evil")}, "unsafe member"),
        ({"pkg-1.0/evil": _link("pkg-1.0/evil", "/etc/passwd", tarfile.LNKTYPE)}, "unsafe member"),
        ({"pkg-1.0/dev": _link("pkg-1.0/dev", "", tarfile.CHRTYPE)}, "unsafe member"),
        ({"a-1.0/x": b"x", "b-1.0/y": b"y"}, "exactly one top-level directory"),
        ({"setup.py": b"x"}, "exactly one top-level directory"),
    ],
)
def test_hostile_tar_sdists_are_refused_and_nothing_is_written_outside(
    tmp_path: Path, members: Mapping[str, bytes | tarfile.TarInfo], why: str
) -> None:
    dest = tmp_path / "a" / "b" / "dest"
    dest.mkdir(parents=True)
    with pytest.raises(IntegrityError, match=f"refusing to unpack pkg-1.0.tar.gz: it .*{why}"):
        unpack_sdist(tar_gz(members), "pkg-1.0.tar.gz", dest)
    assert not (tmp_path / "a" / "evil").exists()
    assert not (tmp_path / "evil").exists()


@pytest.mark.parametrize(
    "name", ["/abs/evil", "pkg-1.0/../../evil", "C:/evil", "pkg-1.0\\..\\evil"]
)
def test_hostile_zip_sdists_are_refused(tmp_path: Path, name: str) -> None:
    dest = tmp_path / "a" / "dest"
    dest.mkdir(parents=True)
    with pytest.raises(IntegrityError, match="unsafe member"):
        unpack_sdist(zip_bytes({"pkg-1.0/setup.py": b"", name: b"x"}), "pkg-1.0.zip", dest)
    assert list(dest.iterdir()) == []
    assert not (tmp_path / "evil").exists()


def test_a_bomb_stops_at_the_size_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(unpack, "MAX_UNPACKED_BYTES", 10_000)
    bomb = tar_gz({"pkg-1.0/zeros": bytes(20_000)})
    with pytest.raises(IntegrityError, match="unpacks to more than"):
        unpack_sdist(bomb, "pkg-1.0.tar.gz", tmp_path)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(IntegrityError, match="unpacks to more than"):
        unpack_sdist(zip_bytes({"pkg-1.0/zeros": bytes(20_000)}), "pkg-1.0.zip", tmp_path)


def test_too_many_members_stop_at_the_count_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(unpack, "MAX_MEMBERS", 5)
    many = {f"pkg-1.0/f{i}": b"" for i in range(6)}
    for archive, filename in ((tar_gz(many), "pkg-1.0.tar.gz"), (zip_bytes(many), "pkg-1.0.zip")):
        with pytest.raises(IntegrityError, match="more than 5 members"):
            unpack_sdist(archive, filename, tmp_path)


def test_a_good_sdist_unpacks_with_links_inside_the_tree(tmp_path: Path) -> None:
    sdist = tar_gz({"pkg-1.0/a.txt": b"A", "pkg-1.0/b.txt": _link("pkg-1.0/b.txt", "a.txt")})
    source = unpack_sdist(sdist, "pkg-1.0.tar.gz", tmp_path)
    assert source == tmp_path / "pkg-1.0"
    assert (source / "b.txt").read_bytes() == b"A"
    zipped = unpack_sdist(zip_bytes({"zpkg-1.0/a.txt": b"Z"}), "zpkg-1.0.zip", tmp_path / "z")
    assert (zipped / "a.txt").read_bytes() == b"Z"


def test_a_hook_that_hangs_is_stopped_at_the_timeout(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "slow.py").write_text("import time\ntime.sleep(60)\n")
    with pytest.raises(TargetEnvironmentError, match=r"building slow-1\.0\.tar\.gz took longer"):
        run_hooks(
            tmp_path / "src",
            "slow",
            [tmp_path / "src"],
            tmp_path / "env",
            tmp_path,
            proceed=lambda requires: True,
            what="slow-1.0.tar.gz",
            timeout=1,
        )


def test_wheels_unpack_their_importable_trees_only(tmp_path: Path) -> None:
    files = {
        "pkg/__init__.py": b"",
        "pkg-1.0.data/purelib/extra.py": b"",
        "pkg-1.0.data/scripts/tool": b"#!/bin/sh\n",
    }
    unpack.unpack_wheel(build_wheel(tmp_path, "pkg", "1.0", files=files), tmp_path / "env")
    assert sorted(p.name for p in (tmp_path / "env").iterdir()) == [
        "extra.py",
        "pkg",
        "pkg-1.0.dist-info",
    ]


def test_sdists_built_at_the_same_time_make_their_shared_environment_once(
    served: IndexServer, finder: IndexFinder
) -> None:
    with ThreadPoolExecutor(2) as pool:
        built = list(
            pool.map(
                lambda deps: fast(finder, legacy_sdist(deps), "legacy-1.0.tar.gz"),
                ['["six"]', '["idna"]'],
            )
        )
    assert b"Requires-Dist: six" in built[0] and b"Requires-Dist: idna" in built[1]
    setuptools = [
        p for p in file_requests(served) if p.endswith("setuptools-80.0-py3-none-any.whl")
    ]
    assert len(setuptools) == 1  # one download, one environment, for both builds


def test_a_backend_that_keeps_asking_for_more_is_stopped(
    finder: IndexFinder, served: IndexServer, tmp_path: Path
) -> None:
    for name in ("helper", "other"):
        served.add("a", build_wheel(tmp_path / "dists", name, "1.0"))
    # what it writes into its tree is gone after each run (the source is copy-on-write): it
    # asks for more once it is given helper
    greedy = (
        "import importlib.util\n"
        "def get_requires_for_build_wheel(config_settings=None):\n"
        "    asked = importlib.util.find_spec('helper') is not None\n"
        "    return ['other'] if asked else ['helper']\n"
        "def prepare_metadata_for_build_wheel(d, c=None):\n"
        "    raise AssertionError('never reached')\n"
    )
    sdist = tar_gz(
        {
            "greedy-1.0/pyproject.toml": PYPROJECT_IN_TREE.encode(),
            "greedy-1.0/backend/inner.py": greedy.encode(),
        }
    )
    with pytest.raises(TargetEnvironmentError, match="keeps asking for build requirements"):
        fast(finder, sdist, "greedy-1.0.tar.gz")
