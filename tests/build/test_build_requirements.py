"""Build requirements: policy-approved, hash-verified wheels from the resolver's finder, or a
refusal that names the sdist and the requirement. pip never gets an index to fetch them from.

Two indexes on the loopback server: ``public`` (listed first) serves the attacker's ``buildreq``
9.0, whose import writes a marker file; ``private`` binds ``buildreq`` (and the other names) and
serves the honest 1.0. Building used the attacker's backend exactly when the marker exists.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from packaging.utils import canonicalize_name

from safeinstall.environment.pip import PipOptions, install_args
from safeinstall.errors import PolicyError
from safeinstall.policy.model import IndexSpec, Policy
from safeinstall.resolve.finder import open_finder
from tests.support.indexserver import IndexServer
from tests.support.lockproject import OLD, LockProject
from tests.support.paths import ROOT
from tests.support.sdists import backend_wheel, pkg_info, sdist_built_by, tar_gz

BOUND = ("buildreq", "helper", "app", "fetcher")


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "attacker-ran"


@pytest.fixture
def two_indexes(index_server: IndexServer, tmp_path: Path, marker: Path) -> IndexServer:
    index_server.add("public", backend_wheel(tmp_path / "public", "9.0", marker=marker))
    return index_server


def publish_honest(server: IndexServer, dest: Path, upload_time: datetime = OLD) -> None:
    server.add("private", backend_wheel(dest, "1.0"), upload_time=upload_time)


def publish_sdist(server: IndexServer, dest: Path, data: bytes, filename: str) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    (dest / filename).write_bytes(data)
    server.add("private", dest / filename, metadata=False)


def policy(server: IndexServer, sdists: tuple[str, ...]) -> Policy:
    public = IndexSpec("public", server.index_url("public").rstrip("/"))
    private = IndexSpec("private", server.index_url("private").rstrip("/"), packages=BOUND)
    return Policy(indexes=(public, private), sdists=sdists)


def app_metadata(server: IndexServer, sdists: tuple[str, ...], cache: Path) -> bytes:
    """What the resolver's finder reads for app 1.0 (its sdist, built)."""
    with open_finder(policy(server, sdists), cache=cache) as finder:
        file = finder.project(canonicalize_name("app")).files[0]
        metadata = finder.metadata(file)
    return f"Summary: {metadata.summary}\n".encode()


def attacker_requests(server: IndexServer) -> list[str]:
    return [r.path for r in server.requests if r.path.startswith("/public/")]


def test_a_build_requirement_bound_to_an_index_comes_from_it_only(
    two_indexes: IndexServer, tmp_path: Path, marker: Path
) -> None:
    publish_honest(two_indexes, tmp_path / "private")
    app = sdist_built_by("app", "1.0", ["buildreq"])
    publish_sdist(two_indexes, tmp_path / "dists", app, "app-1.0.tar.gz")
    summary = app_metadata(two_indexes, ("app",), tmp_path / "cache")
    assert summary == b"Summary: built by buildreq 1.0\n"
    assert not marker.exists()
    assert attacker_requests(two_indexes) == []  # not even the page of the bound name


@pytest.mark.parametrize("sdists", [("app",), ("app", "helper")], ids=["denied", "allowed"])
def test_a_build_requirement_with_only_an_sdist_is_refused_not_handed_to_pip(
    two_indexes: IndexServer, tmp_path: Path, marker: Path, sdists: tuple[str, ...]
) -> None:
    """The old fallback gave ``pip wheel`` both indexes: pip took buildreq 9.0 from the public
    one to build helper, and ran it."""
    dists = tmp_path / "dists"
    publish_honest(two_indexes, tmp_path / "private")
    publish_sdist(
        two_indexes, dists, sdist_built_by("helper", "1.0", ["buildreq"]), "helper-1.0.tar.gz"
    )
    app = sdist_built_by("app", "1.0", ["buildreq", "helper"])
    publish_sdist(two_indexes, dists, app, "app-1.0.tar.gz")
    with pytest.raises(PolicyError) as caught:
        app_metadata(two_indexes, sdists, tmp_path / "cache")
    assert caught.value.message == (
        "app-1.0.tar.gz needs helper to build, which the trusted indexes serve only as an sdist "
        "(helper-1.0.tar.gz), and build requirements are installed from wheels only"
    )
    assert "pin a version of helper that publishes a wheel" in (caught.value.hint or "")
    assert not marker.exists()
    assert attacker_requests(two_indexes) == []
    assert not (tmp_path / "cache" / "build-envs").exists() or not any(
        (tmp_path / "cache" / "build-envs").iterdir()
    )


# -- through the CLI: refusals are one sentence, exit 1, nothing built or written ------------

INDEX_OPTIONS = ("--index-url", "--extra-index-url", "-i", "--find-links", "-f", "--pypi-url")


@pytest.fixture
def argvs(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The argv of every subprocess started (pip, build hooks, anything)."""
    started: list[list[str]] = []
    real = subprocess.Popen

    class Spy(real):  # type: ignore[misc,valid-type]
        def __init__(self, args: Any, *rest: Any, **kwargs: Any) -> None:
            started.append([str(a) for a in args])
            super().__init__(args, *rest, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", Spy)
    return started


def index_options(argvs: list[list[str]]) -> list[str]:
    return [a for argv in argvs for a in argv if a.split("=")[0] in INDEX_OPTIONS]


@pytest.fixture
def project(
    two_indexes: IndexServer, tmp_path: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> LockProject:
    """A project locking ``app`` (an sdist built by ``buildreq``), the policy written with
    ``proj.write_policy(extra, indexes=...)`` as by each test."""
    root = tmp_path / "proj"
    root.mkdir()
    monkeypatch.chdir(root)
    monkeypatch.setenv("SAFEINSTALL_CACHE_DIR", str(tmp_path / "cache"))
    proj = LockProject(root, two_indexes, tmp_path / "dists", cli, tmp_path / "policy.toml")
    app = sdist_built_by("app", "1.0", ["buildreq"])
    proj.dists.mkdir()
    (proj.dists / "app-1.0.tar.gz").write_bytes(app)
    two_indexes.add("private", proj.dists / "app-1.0.tar.gz", metadata=False, upload_time=OLD)
    (root / "requirements.in").write_text("app\n")
    return proj


def write_policy(proj: LockProject, extra: str) -> None:
    bound = ", ".join(f'"{n}"' for n in BOUND)
    proj.write_policy(
        extra,
        indexes=[
            ("public", proj.server.index_url("public"), ""),
            ("private", proj.server.index_url("private"), f"packages = [{bound}]"),
        ],
    )


def test_lock_for_another_python_builds_with_the_running_one_and_no_pip(
    project: LockProject, argvs: list[list[str]], marker: Path, tmp_path: Path
) -> None:
    """The lock targets 3.9; the sdist's metadata is what this interpreter builds (README)."""
    write_policy(project, 'sdists = ["app"]')
    publish_honest(project.server, tmp_path / "private")
    result = project.lock("--python-version", "3.9")
    assert result.code == 0, result.err
    assert "app==1.0" in (project.root / "requirements.txt").read_text()
    assert not marker.exists()
    assert attacker_requests(project.server) == []
    assert index_options(argvs) == []
    assert [a for a in argvs if "pip" in a] == []  # built by the hooks, never by pip
    assert any("-c" in a and sys.executable in a for a in argvs)  # the hooks did run


ONLY_SDIST = (
    "error: app-1.0.tar.gz needs buildreq to build, which the trusted indexes serve only as an "
    "sdist (buildreq-1.0.tar.gz), and build requirements are installed from wheels only"
)


@pytest.mark.parametrize(
    "case",  # (policy lines, how buildreq is published, the error line starts)
    [
        (
            'sdists = ["app"]\ndeny = ["buildreq"]',
            "wheel",
            "error: app-1.0.tar.gz needs buildreq to build, which the policy denies (buildreq)",
        ),
        (
            'sdists = ["app"]\nmin-release-age = "7 days"',
            "young",
            "error: app-1.0.tar.gz cannot be built: no version of its build requirements is one "
            "the policy allows (buildreq (from the build requirements of app-1.0.tar.gz) wants "
            "any version; buildreq 1.0: uploaded ",
        ),
        ('sdists = ["app"]', "sdist", ONLY_SDIST),
        (
            'sdists = ["app", "buildreq"]',
            "sdist",
            ONLY_SDIST,
        ),
    ],
    ids=["denied", "too-young", "sdist-not-allowed", "sdist-allowed"],
)
def test_a_refused_build_requirement_fails_the_lock_in_one_sentence(
    project: LockProject,
    argvs: list[list[str]],
    marker: Path,
    tmp_path: Path,
    case: tuple[str, str, str],
) -> None:
    extra, publish, expected = case
    write_policy(project, extra)
    if publish == "sdist":  # the honest backend, published as an sdist only
        data = sdist_built_by("buildreq", "1.0", [], backend="buildreq")
        publish_sdist(project.server, tmp_path / "bsdist", data, "buildreq-1.0.tar.gz")
    else:
        when = datetime.now(UTC) if publish == "young" else OLD
        publish_honest(project.server, tmp_path / "private", when)
    before = project.snapshot()
    result = project.lock()
    project.assert_failed_safely(result, before)
    assert result.code == 1
    errors = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.err
    assert errors[0].startswith(expected)
    assert "app-1.0.tar.gz" in errors[0] and "buildreq" in errors[0]
    assert not marker.exists()
    assert not (tmp_path / "cache" / "build-envs").exists() or not any(
        (tmp_path / "cache" / "build-envs").iterdir()
    )
    assert index_options(argvs) == []
    assert [a for a in argvs if "pip" in a] == []


# -- the second guard: no source hands pip an index ------------------------------------------

# where an index option may be spelled in safeinstall's sources, and why it is not given to pip
READS_OPTIONS = {
    "requirements/syntax.py": "the grammar of requirement files, which the user writes",
    "requirements/file.py": "checks that the URL each index option names splits",
    "guard/rules.py": "reports index options found in requirement files",
    "commands/install/__init__.py": "install accepts pip's spellings, to map or refuse them",
    "policy/pipconfig.py": "reads which indexes pip is configured with",
}
LOCAL_FIND_LINKS = {
    "commands/verify.py": "its own --find-links DIR option, a local wheelhouse",
    "commands/scan/__init__.py": "its own --find-links DIR option, a local wheelhouse",
    "environment/pip.py": "the staged directory of verified files, with --no-index",
}
SPELLINGS = (*INDEX_OPTIONS, "--trusted-host", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL")


def test_no_module_spells_an_index_option_except_those_that_read_them() -> None:
    found: set[tuple[str, str]] = set()
    package = ROOT / "safeinstall"
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                spelled = node.value.split("=")[0]
                if spelled in SPELLINGS:
                    found.add((path.relative_to(package).as_posix(), spelled))
    unexpected = sorted(
        (module, option)
        for module, option in found
        if module not in READS_OPTIONS
        and not (module in LOCAL_FIND_LINKS and option == "--find-links")
    )
    assert unexpected == []
    assert ("requirements/syntax.py", "--index-url") in found  # the scan does see them


def test_pip_gets_find_links_only_with_no_index(tmp_path: Path) -> None:
    args = install_args("python", tmp_path / "requirements.txt", PipOptions())
    assert "--no-index" in args
    assert args[args.index("--find-links") + 1] == str(tmp_path)


# -- a backend that runs pip itself (setuptools' setup_requires does) gets no index ----------

FETCHING_BACKEND = """\
import os, subprocess, sys
def prepare_metadata_for_build_wheel(directory, config_settings=None):
    url = open("index-url").read()
    args = [sys.executable, "-m", "pip", "download", "--no-deps", "-d", "fetched"]
    code = subprocess.run([*args, "--index-url", url, "buildreq"]).returncode
    info = "fetcher-1.0.dist-info"
    os.makedirs(os.path.join(directory, info))
    with open(os.path.join(directory, info, "METADATA"), "w") as fh:
        fh.write("Metadata-Version: 2.1\\nName: fetcher\\nVersion: 1.0\\n")
        fh.write(f"Summary: pip {code}\\n\\n")
    return info
"""


@pytest.mark.slow
def test_pip_run_by_a_build_backend_ignores_the_index_it_is_given(
    two_indexes: IndexServer, tmp_path: Path
) -> None:
    pyproject = '[build-system]\nrequires = []\nbuild-backend = "fetch"\nbackend-path = ["."]\n'
    sdist = tar_gz(
        {
            "fetcher-1.0/PKG-INFO": pkg_info("fetcher", "1.0"),
            "fetcher-1.0/pyproject.toml": pyproject.encode(),
            "fetcher-1.0/fetch.py": FETCHING_BACKEND.encode(),
            "fetcher-1.0/index-url": two_indexes.index_url("public").encode(),
        }
    )
    publish_sdist(two_indexes, tmp_path / "dists", sdist, "fetcher-1.0.tar.gz")
    with open_finder(policy(two_indexes, ("fetcher",)), cache=tmp_path / "cache") as finder:
        metadata = finder.metadata(finder.project(canonicalize_name("fetcher")).files[0])
    assert metadata.summary in {f"pip {code}" for code in range(1, 256)}  # pip ran and failed
    assert attacker_requests(two_indexes) == []


FETCHING_SDIST_BACKEND = (
    FETCHING_BACKEND
    + """\
def build_wheel(directory, config_settings=None, metadata_directory=None):
    import tempfile, zipfile
    prepared = tempfile.mkdtemp()
    info = prepare_metadata_for_build_wheel(prepared)  # runs pip, says how it went
    wheel = "fetcher-1.0-py3-none-any.whl"
    import base64, hashlib
    files = {f"{info}/METADATA": open(os.path.join(prepared, info, "METADATA"), "rb").read(),
             f"{info}/WHEEL": b"Wheel-Version: 1.0\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"}
    record = [f"{info}/RECORD,,"]
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    with zipfile.ZipFile(os.path.join(directory, wheel), "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        zf.writestr(f"{info}/RECORD", "\\n".join(record) + "\\n")  # a well-formed wheel
    return wheel
"""
)


@pytest.mark.slow
def test_pip_run_by_a_build_backend_at_install_time_ignores_the_index_it_is_given(
    two_indexes: IndexServer, tmp_path: Path, cli: Any
) -> None:
    """``install`` builds an allowed sdist from the lock's build set (here: nothing, its backend
    is in the tree); its backend runs pip against an index of its own choosing (as setuptools'
    ``setup_requires`` does): that pip gets ``PIP_NO_INDEX`` like every pip run safeinstall
    starts, so no request reaches it."""
    from packaging.version import Version

    from safeinstall.lock.model import (
        BuildSet,
        Lock,
        LockedFile,
        LockedPackage,
        to_requirements_txt,
    )
    from tests.support.builders import sha256_hex
    from tests.support.installdata import write_locks, write_policy

    pyproject = '[build-system]\nrequires = []\nbuild-backend = "fetch"\nbackend-path = ["."]\n'
    sdist = tar_gz(
        {
            "fetcher-1.0/PKG-INFO": pkg_info("fetcher", "1.0"),
            "fetcher-1.0/pyproject.toml": pyproject.encode(),
            "fetcher-1.0/fetch.py": FETCHING_SDIST_BACKEND.encode(),
            "fetcher-1.0/index-url": two_indexes.index_url("public").encode(),
        }
    )
    publish_sdist(two_indexes, tmp_path / "dists", sdist, "fetcher-1.0.tar.gz")
    url = two_indexes.file_url("private", "fetcher-1.0.tar.gz")
    file = LockedFile(sha256_hex(sdist), "fetcher-1.0.tar.gz", url, len(sdist))
    package = LockedPackage(canonicalize_name("fetcher"), Version("1.0"), (file,))
    txt, _ = write_locks(tmp_path / "lock", [package])
    built_from = BuildSet(package.name, package.version, file.sha256, ())  # requires = []
    lock = Lock((package,), "sha256:" + "0" * 64, builds=(built_from,))
    txt.write_text(to_requirements_txt(lock, "safeinstall lock requirements.in", "0"))
    policy = write_policy(tmp_path / "policy.toml", two_indexes.index_url("private"))
    policy.write_text(policy.read_text() + 'sdists = ["fetcher"]\n')
    target = tmp_path / "t"
    args = ("install", "--policy", policy, "-r", txt, "--python", sys.executable)
    result = cli(*args, "--target", target)
    assert result.code == 0, result.err
    metadata = (target / "fetcher-1.0.dist-info" / "METADATA").read_text()  # it was built
    assert any(f"Summary: pip {code}\n" in metadata for code in range(1, 256))  # pip ran, failed
    assert [r.path for r in two_indexes.requests if r.path.startswith("/private/")]
    assert attacker_requests(two_indexes) == []
