"""The build sandbox's file walls, seen from inside: a hostile in-tree backend, the real hooks.

The backend is told (in a file of its source tree) where the real home and the build environment
are, and tries what a build must not do there by absolute path: read ``.netrc`` from the real
home, plant a file in it, rewrite it, poison the cached build environment; and it rewrites its
own source tree. What it managed is written next to the metadata it returns; in the ``strict``
variant it lets the first refusal fail the build, which must then say what was denied.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import pwd
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from safeinstall.build.hooks import run_hooks
from safeinstall.environment import mounts, sandbox
from safeinstall.errors import PolicyError, TargetEnvironmentError
from tests.support.paths import WHEELHOUSE
from tests.support.seenbuild import build_seen

pytestmark = pytest.mark.skipif(
    sandbox.network_cut_prefix() is None,
    reason=f"this machine cannot cut a build's network: {sandbox.network_cut_unavailable()}",
)

HOSTILE = """\
import json, os, pathlib

def _try(action):
    try:
        action()
        return "done"
    except OSError as exc:
        if os.path.exists("strict-write"):
            raise
        return exc.errno

def _read(path):
    try:
        return pathlib.Path(path).read_text()
    except OSError as exc:
        if os.path.exists("strict-read"):
            raise
        return None

def prepare_metadata_for_build_wheel(directory, config_settings=None):
    places = json.loads(pathlib.Path(__file__).with_name("places.json").read_text())
    home, env, root = pathlib.Path(places["home"]), pathlib.Path(places["env"]), pathlib.Path.cwd()
    seen = {
        "netrc": _read(home / ".netrc"),
        "plant": _try(lambda: (home / "planted").write_text("written by a build")),
        "rewrite": _try(lambda: (home / "kept.txt").write_text("rewritten by a build")),
        "poison": _try(lambda: (env / "zzz-poison.pth").write_text("import os\\n")),
        "pyproject": _try(lambda: (root / "pyproject.toml").write_text("[project]\\n")),
        "module": _try(lambda: (root / "backend" / "hostile.py").write_text("EVIL = 1\\n")),
        "new": _try(lambda: (root / "planted.py").write_text("EVIL = 1\\n")),
        "removed": _try(lambda: (root / "setup.py").unlink()),
        "build-dir": _try(lambda: (root / "build" / "lib").mkdir(parents=True)),
    }
    seen["source-view"] = (root / "pyproject.toml").read_text()
    # around the walls: through /proc, another process's root directory and environment
    others = [p for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]
    escape = (_read(f"/proc/{pid}/root{home}/.netrc") for pid in others)
    seen["escape"] = [text for text in escape if text is not None]
    environs = (_read(f"/proc/{pid}/environ") for pid in others)
    seen["environ"] = [text for text in environs if text and "SAFEINSTALL_TEST" in text]
    pathlib.Path(directory, "seen.json").write_text(json.dumps(seen))
    dist = pathlib.Path(directory, "hostile-1.0.dist-info")
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\\nName: hostile\\nVersion: 1.0\\n\\n")
    return dist.name
"""
NETRC = "machine 127.0.0.1 login me password netrc-secret\n"


@pytest.fixture
def real_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The real home of the user running safeinstall (``$HOME``), with a secret in it."""
    home = tmp_path / "real-home"
    home.mkdir()
    (home / ".netrc").write_text(NETRC)
    (home / "kept.txt").write_text("the user's own file\n")
    monkeypatch.setenv("HOME", str(home))
    return home


def _source(tmp_path: Path, home: Path, *flags: str) -> Path:
    source = tmp_path / "src"
    (source / "backend").mkdir(parents=True)
    (source / "backend" / "hostile.py").write_text(HOSTILE)
    places = {"home": str(home), "env": str(tmp_path / "env")}
    (source / "backend" / "places.json").write_text(json.dumps(places))
    (source / "pyproject.toml").write_text('[build-system]\nbuild-backend = "hostile"\n')
    (source / "setup.py").write_text("raise SystemExit('not this way')\n")
    for flag in flags:
        (source / flag).write_text("")
    return source


def _tree(root: Path) -> dict[str, str]:
    """Every path under ``root`` with the sha256 of its bytes ("dir" for a directory)."""
    return {
        str(p.relative_to(root)): "dir"
        if p.is_dir()
        else hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
    }


def _build(tmp_path: Path, source: Path, **kwargs: object) -> dict[str, object]:
    return build_seen(tmp_path, source, "hostile", **kwargs)


def test_a_build_cannot_read_or_write_the_real_home_by_its_absolute_path(
    tmp_path: Path, real_home: Path
) -> None:
    seen = _build(tmp_path, _source(tmp_path, real_home))

    assert seen["netrc"] is None  # the real home is not there to read
    assert seen["escape"] == []  # not through /proc either
    assert seen["plant"] == errno.EROFS and seen["rewrite"] == errno.EROFS
    assert not (real_home / "planted").exists()
    assert (real_home / "kept.txt").read_text() == "the user's own file\n"
    assert (real_home / ".netrc").read_text() == NETRC


def test_a_build_cannot_poison_its_build_environment(tmp_path: Path, real_home: Path) -> None:
    """The build environment is cached and shared by every build of the same set."""
    seen = _build(tmp_path, _source(tmp_path, real_home))
    assert seen["poison"] == errno.EROFS
    assert list((tmp_path / "env").iterdir()) == []


def test_a_build_writes_in_its_own_copy_of_the_source_which_stays_as_unpacked(
    tmp_path: Path, real_home: Path
) -> None:
    """Copy-on-write: honest backends write build/, *.egg-info, generated files into the tree;
    what any backend writes there is its own, and the unpacked source is untouched."""
    source = _source(tmp_path, real_home)
    before = _tree(source)
    seen = _build(tmp_path, source)

    done = ("pyproject", "module", "new", "removed", "build-dir")
    assert {k: seen[k] for k in done} == dict.fromkeys(done, "done")  # in its view, it did
    assert seen["source-view"] == "[project]\n"
    assert _tree(source) == before  # byte-identical, nothing added, nothing removed


def test_a_build_that_fails_after_a_refused_write_says_what_was_denied(
    tmp_path: Path, real_home: Path
) -> None:
    source = _source(tmp_path, real_home, "strict-write")
    with pytest.raises(TargetEnvironmentError) as caught:
        _build(tmp_path, source)
    assert caught.value.message.startswith(
        "building hostile-1.0.tar.gz failed (exit 1) after it tried to write "
        f"{real_home}/planted, which the build sandbox keeps read-only: "
    )
    assert not (real_home / "planted").exists()


def test_a_build_that_fails_reading_the_hidden_home_says_so(
    tmp_path: Path, real_home: Path
) -> None:
    source = _source(tmp_path, real_home, "strict-read")
    with pytest.raises(TargetEnvironmentError) as caught:
        _build(tmp_path, source)
    assert (
        f"after it looked for {real_home}/.netrc, which the build sandbox hides"
        in caught.value.message
    )
    assert "netrc-secret" not in str(caught.value)


@pytest.fixture
def no_mount_namespace(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A kernel that gives a network namespace but refuses a mount namespace (the setup step
    inside it fails as a refused mount(2) does)."""
    monkeypatch.setattr(mounts, "SETUP", "raise PermissionError(1, 'Operation not permitted')")
    sandbox._mount_probe.cache_clear()
    yield
    sandbox._mount_probe.cache_clear()


@pytest.mark.usefixtures("no_mount_namespace")
def test_where_no_mount_namespace_can_be_made_the_build_is_refused_by_default(
    tmp_path: Path, real_home: Path
) -> None:
    with pytest.raises(PolicyError) as caught:
        _build(tmp_path, _source(tmp_path, real_home))
    assert caught.value.message == (
        "cannot build hostile-1.0.tar.gz with the file system walled off: the kernel refused "
        "a mount namespace (PermissionError: [Errno 1] Operation not permitted)"
    )
    assert 'build-sandbox = "warn"' in (caught.value.hint or "")
    assert not (tmp_path / "out" / "seen.json").exists()  # nothing of it ran


@pytest.mark.usefixtures("no_mount_namespace")
def test_build_sandbox_warn_builds_without_the_file_walls_and_says_so(
    tmp_path: Path, real_home: Path
) -> None:
    warnings: list[str] = []
    seen = _build(tmp_path, _source(tmp_path, real_home), sandbox="warn", warn=warnings.append)
    assert warnings == [
        "building hostile-1.0.tar.gz WITH the real home, its source and the file system "
        "writable (the kernel refused a mount namespace (PermissionError: [Errno 1] Operation "
        'not permitted)); the policy\'s build-sandbox is "warn". It has no network, its '
        "environment is scrubbed and its HOME is private"
    ]
    assert seen["plant"] == "done"  # what the missing wall lets through, as the warning says


def test_the_hidden_places_are_the_homes_and_the_shared_temporary_directories(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The real home is the account's (pwd) and $HOME's; the system's directories are never
    hidden, even when $HOME names one."""
    monkeypatch.setenv("HOME", str(tmp_path))
    read_only, scratch = mounts.hidden_places()
    assert Path(pwd.getpwuid(os.getuid()).pw_dir).resolve() in read_only
    assert tmp_path.resolve() in read_only
    assert Path("/tmp").resolve() in scratch

    def no_account(uid: int) -> pwd.struct_passwd:
        raise KeyError(f"getpwuid(): uid not found: {uid}")

    monkeypatch.setattr(pwd, "getpwuid", no_account)  # a container's arbitrary uid
    assert mounts.hidden_places()[0][0] == tmp_path.resolve()
    monkeypatch.setenv("HOME", "/usr")
    assert Path("/usr") not in mounts.hidden_places()[0]
    monkeypatch.setenv("HOME", "/")
    assert Path("/") not in mounts.hidden_places()[0]


# a real backend and the wheels it runs from, taken from the test wheelhouse when it holds them
HONEST = {
    "setuptools.build_meta": ("setuptools",),
    "flit_core.buildapi": ("flit_core",),
    "hatchling.build": ("hatchling", "packaging", "pathspec", "pluggy", "trove_classifiers"),
}
HONEST_SOURCE = {
    "pyproject.toml": '[project]\nname = "honest"\nversion = "1.0"\ndescription = "honest"\n',
    "honest/__init__.py": '"""an honest package"""\n',
    "setup.py": "from setuptools import setup\nsetup(packages=['honest'])\n",
}


@pytest.mark.parametrize("backend", sorted(HONEST))
@pytest.mark.parametrize("want", ["metadata", "wheel"])
def test_honest_backends_build_and_leave_the_source_as_unpacked(
    tmp_path: Path, real_home: Path, backend: str, want: str
) -> None:
    """setuptools writes build/ and honest.egg-info/ into the tree: into its own copy."""
    env = tmp_path / "env"
    for name in HONEST[backend]:
        found = sorted(WHEELHOUSE.glob(f"{name}-*.whl"))
        if not found:
            pytest.skip(f"no {name} wheel in {WHEELHOUSE} to build with")
        with zipfile.ZipFile(found[-1]) as zf:
            zf.extractall(env)
    source = tmp_path / "src"
    for name, text in HONEST_SOURCE.items():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text(text)
    before = _tree(source)
    out = tmp_path / "out"
    out.mkdir()
    result = run_hooks(
        source, backend, [], env, out, proceed=lambda r: True, what="honest-1.0.tar.gz", want=want
    )
    assert result.output is not None and result.output.parent == out
    if want == "wheel":
        with zipfile.ZipFile(result.output) as zf:
            assert "honest/__init__.py" in zf.namelist()
    else:
        assert "Name: honest" in (result.output / "METADATA").read_text()
    assert _tree(source) == before
    assert sorted(p.name for p in real_home.iterdir()) == [".netrc", "kept.txt"]


@pytest.fixture
def as_a_user(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Not root: the namespaces come with a user namespace (``--user --map-root-user``), the
    overlay with ``userxattr``."""
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    sandbox._probe.cache_clear()
    sandbox._mount_probe.cache_clear()
    yield
    sandbox._probe.cache_clear()
    sandbox._mount_probe.cache_clear()


@pytest.mark.usefixtures("as_a_user")
def test_the_walls_stand_in_a_user_namespace_too(tmp_path: Path, real_home: Path) -> None:
    prefix, (walled, why) = sandbox.network_cut_prefix(), sandbox._mount_probe()
    if prefix is None or not walled:
        pytest.skip(f"no user namespace here: {why or sandbox.network_cut_unavailable()}")
    assert "--user" in prefix
    source = _source(tmp_path, real_home)
    before = _tree(source)
    seen = _build(tmp_path, source)
    assert seen["netrc"] is None
    assert (seen["plant"], seen["rewrite"], seen["poison"]) == (errno.EROFS,) * 3
    assert seen["pyproject"] == "done" and _tree(source) == before
    assert sorted(p.name for p in real_home.iterdir()) == [".netrc", "kept.txt"]


def test_a_build_cannot_read_the_environment_of_the_process_that_started_it(
    tmp_path: Path, real_home: Path
) -> None:
    """The scrubbed environment is its own; safeinstall's, tokens and all, is in /proc: the
    hooks are run here by a process started with a token in its environment."""
    source = _source(tmp_path, real_home)
    (tmp_path / "env").mkdir()
    (tmp_path / "out").mkdir()
    run = (
        "import sys; from pathlib import Path; from safeinstall.build.hooks import run_hooks\n"
        "src, env, out = map(Path, sys.argv[1:])\n"
        "run_hooks(src, 'hostile', [src / 'backend'], env, out, proceed=lambda r: True, what='x')"
    )
    paths = [str(p) for p in (source, tmp_path / "env", tmp_path / "out")]
    environ = {**os.environ, "SAFEINSTALL_TEST_TOKEN": "s3cret-token"}
    subprocess.run([sys.executable, "-c", run, *paths], env=environ, check=True, timeout=60)
    seen = json.loads((tmp_path / "out" / "seen.json").read_text())
    assert seen["environ"] == []


LINGERER = """\
import os, pathlib, subprocess, sys, time

LATER = "import pathlib, sys, time; time.sleep(2); pathlib.Path(sys.argv[1]).write_text('x')"

def prepare_metadata_for_build_wheel(directory, config_settings=None):
    marker = str(pathlib.Path(directory, "lingered"))
    subprocess.Popen([sys.executable, "-c", LATER, marker], start_new_session=True)
    if os.path.exists("hang"):
        time.sleep(60)
    dist = pathlib.Path(directory, "lingerer-1.0.dist-info")
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\\nName: lingerer\\nVersion: 1.0\\n\\n")
    return dist.name
"""


@pytest.mark.parametrize("hang", [False, True])
def test_nothing_a_build_started_outlives_it(tmp_path: Path, real_home: Path, hang: bool) -> None:
    """A process the backend leaves behind (its own session, so not in its process group)
    ends with the build, whether the build returns or is stopped at its time limit."""
    source = tmp_path / "src"
    source.mkdir()
    (source / "lingerer.py").write_text(LINGERER)
    if hang:
        (source / "hang").write_text("")
    out, env = tmp_path / "out", tmp_path / "env"
    out.mkdir()
    env.mkdir()
    run = partial(run_hooks, source, "lingerer", [source], env, out, proceed=lambda r: True)
    if hang:
        with pytest.raises(TargetEnvironmentError, match="took longer than 1 s"):
            run(what="lingerer-1.0.tar.gz", timeout=1.0)
    else:
        assert run(what="lingerer-1.0.tar.gz").output == out / "lingerer-1.0.dist-info"
    time.sleep(3)
    assert not (out / "lingered").exists()


def test_a_place_named_through_a_link_in_the_hidden_home_is_still_there(
    tmp_path: Path, real_home: Path
) -> None:
    """The cache (and so the build environment) may be reached through a link in the home,
    which is hidden: each place is bound where it is named, as well as where it is."""
    (tmp_path / "elsewhere" / "env").mkdir(parents=True)
    (tmp_path / "elsewhere" / "env" / "from_env.py").write_text("NAME = 'honest'\n")
    (real_home / ".cache").symlink_to(tmp_path / "elsewhere")
    source = tmp_path / "src"
    source.mkdir()
    (source / "linked.py").write_text(
        "import pathlib, from_env\n"
        "def prepare_metadata_for_build_wheel(directory, config_settings=None):\n"
        "    dist = pathlib.Path(directory, f'{from_env.NAME}-1.0.dist-info')\n"
        "    dist.mkdir()\n"
        "    (dist / 'METADATA').write_text('Name: ' + from_env.NAME)\n"
        "    return dist.name\n"
    )
    out = tmp_path / "out"
    out.mkdir()
    env = real_home / ".cache" / "env"
    result = run_hooks(
        source, "linked", [source], env, out, proceed=lambda r: True, what="linked-1.0.tar.gz"
    )
    assert result.output == out / "honest-1.0.dist-info"
