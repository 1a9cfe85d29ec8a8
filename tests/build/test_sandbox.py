"""The build sandbox, seen from inside: a hostile in-tree backend run through the real hooks.

The backend looks for what a build must not have (a token in the environment, ``~/.netrc``, the
real home, a loopback server) and writes what it found next to the metadata it returns. It runs
as every build does: a real subprocess, behind a real ``unshare --net``.
"""

from __future__ import annotations

import errno
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from safeinstall.build import hooks
from safeinstall.environment import sandbox
from safeinstall.errors import PolicyConfigError, PolicyError, TargetEnvironmentError
from safeinstall.policy.load import policy_from_text
from tests.support.seenbuild import build_seen

pytestmark = pytest.mark.skipif(
    sandbox.network_cut_prefix() is None,
    reason=f"this machine cannot cut a build's network: {sandbox.network_cut_unavailable()}",
)

OBSERVER = """\
import json, os, pathlib, socket, sys

def _observe():
    here = pathlib.Path(__file__).parent
    seen = {"env": dict(os.environ), "home": os.path.expanduser("~")}
    netrc = pathlib.Path(os.path.expanduser("~/.netrc"))
    seen["netrc"] = netrc.read_text() if netrc.exists() else None
    pathlib.Path(os.path.expanduser("~/planted")).write_text("written by a build")
    s = socket.socket()
    s.settimeout(5)
    try:
        s.connect(("127.0.0.1", int((here / "port.txt").read_text())))
        seen["connect"] = "connected"
    except OSError as exc:
        seen["connect"] = exc.errno
    finally:
        s.close()
    return seen

def prepare_metadata_for_build_wheel(directory, config_settings=None):
    seen = _observe()
    if os.path.exists("fail-after-network"):
        code = seen["connect"]
        raise SystemExit(f"no toolchain download: [Errno {code}] Network is unreachable")
    if os.path.exists("chatty"):
        for _ in range(40):
            sys.stderr.write("x" * 65536)
        sys.stderr.flush()
    pathlib.Path(directory, "seen.json").write_text(json.dumps(seen))
    dist = pathlib.Path(directory, "hostile-1.0.dist-info")
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\\nName: hostile\\nVersion: 1.0\\n\\n")
    return dist.name
"""
SECRETS = {
    "SAFEINSTALL_TEST_TOKEN": "s3cret-token",
    "GITHUB_TOKEN": "ghp_notreal",
    "AWS_SECRET_ACCESS_KEY": "aws-notreal",
    "HTTPS_PROXY": "http://user:pw@127.0.0.1:9",
    "PYTHONPATH": "/nowhere",
}


@pytest.fixture
def real_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "real-home"
    home.mkdir()
    (home / ".netrc").write_text("machine 127.0.0.1 login me password netrc-secret\n")
    monkeypatch.setenv("HOME", str(home))
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    return home


def _source(tmp_path: Path, port: int, *flags: str) -> Path:
    source = tmp_path / "src"
    (source / "backend").mkdir(parents=True)
    (source / "backend" / "observer.py").write_text(OBSERVER)
    (source / "backend" / "port.txt").write_text(str(port))
    for flag in flags:
        (source / flag).write_text("")
    return source


def _build(tmp_path: Path, source: Path, **kwargs: object) -> dict[str, object]:
    return build_seen(tmp_path, source, "observer", **kwargs)


def _accepted(server: socket.socket) -> bool:
    try:
        server.accept()[0].close()
    except BlockingIOError:
        return False
    return True


def test_a_build_has_no_network_no_secrets_and_no_real_home(
    tmp_path: Path, listener: socket.socket, real_home: Path
) -> None:
    seen = _build(tmp_path, _source(tmp_path, listener.getsockname()[1]))

    assert seen["connect"] == errno.ENETUNREACH  # not even loopback is up
    assert not _accepted(listener)
    env = seen["env"]
    assert isinstance(env, dict)
    assert not set(SECRETS) & set(env)
    assert not any(v in json.dumps(env) for v in SECRETS.values())
    assert set(env) <= {"PATH", "LANG", "LANGUAGE", "TZ", "SOURCE_DATE_EPOCH", "HOME", "TMPDIR"} | {
        "TEMP",
        "TMP",
        *sandbox.scrubbed_environment({}, home=tmp_path, temp=tmp_path),
        *(k for k in env if k.startswith(("LC_", "PIP_"))),
    }
    assert env["PIP_NO_INDEX"] == "1"  # a backend that runs pip gets no index
    assert seen["netrc"] is None
    home = Path(str(seen["home"]))
    assert home != real_home and not home.is_relative_to(real_home)
    assert not (real_home / "planted").exists()
    assert not home.exists()  # the private home is gone with what was written there


def test_a_build_that_fails_after_trying_the_network_says_so(
    tmp_path: Path, listener: socket.socket, real_home: Path
) -> None:
    source = _source(tmp_path, listener.getsockname()[1], "fail-after-network")
    with pytest.raises(TargetEnvironmentError) as caught:
        _build(tmp_path, source)
    assert "tried to reach the network, which the build sandbox cuts" in caught.value.message
    assert "hostile-1.0.tar.gz" in caught.value.message
    assert "s3cret" not in str(caught.value)


def test_a_build_that_prints_without_end_is_stopped(
    tmp_path: Path, listener: socket.socket, real_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hooks, "MAX_OUTPUT", 1 << 20)  # the backend prints 2.5 MiB
    source = _source(tmp_path, listener.getsockname()[1], "chatty")
    with pytest.raises(TargetEnvironmentError, match="printed more than 1 MiB and was stopped"):
        _build(tmp_path, source)


@pytest.fixture
def no_unshare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A machine without ``unshare`` (no util-linux, or not Linux): the system's directories
    (where it is looked for) and PATH lack it."""
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setattr(sandbox, "UNSHARE_DIRS", (str(empty),))
    sandbox._probe.cache_clear()
    yield
    sandbox._probe.cache_clear()


@pytest.mark.usefixtures("no_unshare")
def test_where_the_network_cannot_be_cut_the_build_is_refused_by_default(
    tmp_path: Path, listener: socket.socket, real_home: Path
) -> None:
    with pytest.raises(PolicyError) as caught:
        _build(tmp_path, _source(tmp_path, listener.getsockname()[1]))
    assert caught.value.message == (
        "cannot build hostile-1.0.tar.gz without network access: "
        "the `unshare` command (util-linux) is not installed"
    )
    assert 'build-sandbox = "warn"' in (caught.value.hint or "")
    assert not (tmp_path / "out" / "seen.json").exists()  # nothing of it ran


@pytest.mark.usefixtures("no_unshare")
def test_build_sandbox_warn_builds_with_the_rest_of_the_sandbox_and_says_so(
    tmp_path: Path, listener: socket.socket, real_home: Path
) -> None:
    warnings: list[str] = []
    seen = _build(
        tmp_path,
        _source(tmp_path, listener.getsockname()[1]),
        sandbox="warn",
        warn=warnings.append,
    )
    assert warnings == [
        "building hostile-1.0.tar.gz WITH network access and the real home, its source and the "
        "file system writable (the `unshare` command (util-linux) is not installed); the "
        'policy\'s build-sandbox is "warn". Its environment is scrubbed and its home is private'
    ]
    env = seen["env"]
    assert isinstance(env, dict) and not set(SECRETS) & set(env)
    assert seen["netrc"] is None and not (real_home / "planted").exists()


def test_build_sandbox_is_a_policy_key_with_two_values(tmp_path: Path) -> None:
    assert policy_from_text("", "s.toml", pyproject=False).build_sandbox == "require"
    warn = policy_from_text('build-sandbox = "warn"\n', "s.toml", pyproject=False)
    assert warn.build_sandbox == "warn"
    with pytest.raises(PolicyConfigError, match='build-sandbox\' must be "require" or "warn"'):
        policy_from_text('build-sandbox = "off"\n', "s.toml", pyproject=False)


def test_the_scrubbed_environment_keeps_only_what_a_build_needs(tmp_path: Path) -> None:
    environ = {**SECRETS, "PATH": "/usr/bin", "LANG": "C.UTF-8", "LC_ALL": "C", "HOME": "/root"}
    env = sandbox.scrubbed_environment(environ, home=tmp_path / "h", temp=tmp_path / "t")
    assert env["PATH"] == "/usr/bin" and env["LANG"] == "C.UTF-8" and env["LC_ALL"] == "C"
    assert env["HOME"] == str(tmp_path / "h") and env["TMPDIR"] == str(tmp_path / "t")
    assert not set(SECRETS) & set(env)
    assert os.environ.get("HOME") != env["HOME"]
