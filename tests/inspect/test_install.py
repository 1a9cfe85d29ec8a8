"""Inspect before install, end to end: real venvs, real pip, a loopback index.

Every hostile wheel (or sdist) that a rule blocks is refused by install, sync and download
after its bytes were verified against the lock and before pip runs: the venv is left exactly
as it was and nothing lands in the wheelhouse. Honest start-up files install for real.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from packaging.version import Version

from safeinstall.inspect.rules import RULES
from safeinstall.lock.model import LockedFile, LockedPackage
from tests.inspect.hostile import (
    BLOCKING_CASES,
    CODE,
    COVERAGE_PTH,
    MARKER_ENV,
    SETUP_PY,
    SETUPTOOLS_PTH,
    code_wheel,
    hostile_wheels,
    sdist,
    wheel,
)
from tests.support.fixtures import Result
from tests.support.indexserver import IndexServer
from tests.support.installdata import (
    installed,
    locked,
    make_venv,
    pip_env,
    snapshot,
    write_locks,
    write_policy,
)
from tests.support.sarif import assert_valid_sarif, located, results

Cli = Callable[..., Result]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def clean_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One venv for every refusal: each must leave it exactly as it was."""
    return make_venv(tmp_path_factory.mktemp("clean") / "venv")


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFEINSTALL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv(MARKER_ENV, str(tmp_path / "pwned"))


def serve(
    server: IndexServer, tmp_path: Path, files: Sequence[Path], policy_extra: str = ""
) -> tuple[Path, Path, Path]:
    """(policy, requirements.txt lock, pylock.toml) pinning ``files`` on the loopback index."""
    packages = [locked(server, f) if f.name.endswith(".whl") else _sdist(server, f) for f in files]
    txt, toml = write_locks(tmp_path / "lock", packages)
    policy = write_policy(tmp_path / "safeinstall.toml", server.index_url("a"))
    policy.write_text(policy.read_text() + policy_extra + "\n")
    return policy, txt, toml


def _sdist(server: IndexServer, path: Path) -> LockedPackage:
    server.add("a", path)
    data = path.read_bytes()
    name, version = path.name.removesuffix(".tar.gz").rsplit("-", 1)
    sha = hashlib.sha256(data).hexdigest()
    file = LockedFile(sha, path.name, server.file_url("a", path.name), len(data))
    url = server.index_url("a").rstrip("/")
    return LockedPackage(name.replace("_", "-"), Version(version), (file,), None, "a", url)  # type: ignore[arg-type]


def refused(cli: Cli, python: Path, command: str, *args: str | Path) -> Result:
    before = snapshot(python)
    result = cli(command, *args, "--python", python)
    assert result.code == 1, result.out + result.err
    assert "Traceback" not in result.err
    assert snapshot(python) == before
    return result


def rule_of(case: str) -> str:
    return next(r for r in RULES if case.startswith(r))


@pytest.mark.parametrize("case", BLOCKING_CASES)
def test_install_refuses_each_blocked_wheel_before_pip(
    cli: Cli, clean_venv: Path, index_server: IndexServer, tmp_path: Path, case: str
) -> None:
    policy, txt, _ = serve(index_server, tmp_path, hostile_wheels(tmp_path / "dists")[case])
    result = refused(cli, clean_venv, "install", "--policy", policy, "-r", txt)
    if case.startswith("meta-"):  # the lock's own reconciliation may see it first
        assert rule_of(case) in result.err or "metadata" in result.err.lower(), result.err
    else:
        assert "refusing to install: the policy blocks what inspecting" in result.err
        # two writers of one path: the later in install order is named, with the other
        offender = "victim" if case == "clobber-path" else "evil-pkg"
        assert f"[{rule_of(case)}] {offender}: " in result.err
        assert "nothing was installed" in result.err
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("rule", sorted(CODE))
def test_install_refuses_a_code_pattern_the_policy_blocks(
    cli: Cli, clean_venv: Path, index_server: IndexServer, tmp_path: Path, rule: str
) -> None:
    files = [code_wheel(tmp_path / "dists", rule)]
    policy, txt, _ = serve(index_server, tmp_path, files, f'inspect = {{ block = ["{rule}"] }}')
    result = refused(cli, clean_venv, "install", "--policy", policy, "-r", txt)
    assert f"[{rule}] evil-pkg: evil_pkg-1.0-py3-none-any.whl:evil_pkg/__init__.py:" in result.err


def test_an_allowed_sdist_whose_setup_py_downloads_is_refused_before_building(
    cli: Cli, clean_venv: Path, index_server: IndexServer, tmp_path: Path
) -> None:
    files = [sdist(tmp_path / "dists", "evil-build", {"setup.py": SETUP_PY})]
    extra = 'sdists = ["evil-build"]\ninspect = { block = ["code-setup-runs"] }'
    policy, txt, _ = serve(index_server, tmp_path, files, extra)
    result = refused(cli, clean_venv, "install", "--policy", policy, "-r", txt)
    assert "[code-setup-runs] evil-build: evil_build-1.0.tar.gz:setup.py:4:" in result.err


def test_sync_and_download_refuse_too(
    cli: Cli, clean_venv: Path, index_server: IndexServer, tmp_path: Path
) -> None:
    policy, txt, toml = serve(index_server, tmp_path, hostile_wheels(tmp_path / "d")["startup-pth"])
    synced = refused(cli, clean_venv, "sync", "--policy", policy, toml)
    assert "[startup-pth] evil-pkg: evil_pkg-1.0-py3-none-any.whl:evil_init.pth:1:" in synced.err
    house = tmp_path / "house"
    got = cli("download", "--policy", policy, txt, "-d", house, "--python", clean_venv)
    assert got.code == 1, got.err
    assert "refusing to download" in got.err and "nothing was written" in got.err
    assert not house.exists() or list(house.iterdir()) == []


def test_scan_lists_findings_and_exits_by_what_blocks(
    cli: Cli, clean_venv: Path, index_server: IndexServer, tmp_path: Path
) -> None:
    files = hostile_wheels(tmp_path / "d")["clobber-package"]
    policy, txt, _ = serve(index_server, tmp_path, files)
    before = snapshot(clean_venv)
    text = cli("scan", "--policy", policy, txt, "--python", clean_venv)
    assert text.code == 1, text.err
    line = "blocked: [clobber-package] evil-pkg: evil_pkg-1.0-py3-none-any.whl:victim/hook.py"
    assert line in text.out
    assert "2 files inspected: 1 blocked, 0 warnings" in text.err
    as_json = cli("scan", "--policy", policy, txt, "--python", clean_venv, "--format", "json")
    report = json.loads(as_json.out)
    assert as_json.code == 1 and report["exit_code"] == 1 and report["blocked"] == 1
    assert report["findings"][0]["rule"] == "clobber-package"
    assert snapshot(clean_venv) == before  # scanning installs nothing
    allowed = 'inspect = { allow = { "evil-pkg" = ["clobber-package"] } }'
    policy.write_text(policy.read_text() + allowed + "\n")
    assert cli("scan", "--policy", policy, txt, "--python", clean_venv).code == 0


def test_scan_sarif_puts_each_finding_on_its_lock_line(
    cli: Cli,
    clean_venv: Path,
    index_server: IndexServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    files = hostile_wheels(tmp_path / "d")["clobber-package"]
    policy, txt, toml = serve(index_server, tmp_path, files)
    warns = tmp_path / "warns.toml"
    warns.write_text(policy.read_text() + 'inspect = { warn = ["clobber-package"] }\n')
    monkeypatch.chdir(tmp_path)
    member = "evil_pkg-1.0-py3-none-any.whl:victim/hook.py"
    for lock, chosen, code, level in [(txt, policy, 1, "error"), (toml, warns, 0, "warning")]:
        text = lock.read_text().splitlines()
        entry = 'name = "evil-pkg"' if lock is toml else "evil-pkg==1.0"
        line = next(n for n, t in enumerate(text, 1) if t.startswith(entry)) - (lock is toml)
        args = ["--policy", chosen, lock.relative_to(tmp_path), "--python", clean_venv]
        result = cli("scan", *args, "--format", "sarif")
        assert result.code == code, result.err  # as in text
        [found] = results(assert_valid_sarif(result.out))
        assert (found["ruleId"], found["level"]) == ("clobber-package", level)
        assert located(found) == (f"lock/{lock.name}", line)
        assert found["locations"][0]["logicalLocations"] == [{"fullyQualifiedName": member}]


# --- honest files install, warnings do not block -------------------------------------------
def _site_python_runs(python: Path) -> str:
    done = subprocess.run(
        [str(python), "-c", "print('ok')"],
        check=True,
        capture_output=True,
        text=True,
        env=pip_env(),
    )
    return done.stdout + done.stderr


def test_honest_start_up_files_install_and_verify_agrees(
    cli: Cli, index_server: IndexServer, tmp_path: Path
) -> None:
    venv = make_venv(tmp_path / "venv")
    shim = b"def add_shim():\n    pass\n"
    files = [
        wheel(
            tmp_path / "d",
            "setuptools",
            {"distutils-precedence.pth": SETUPTOOLS_PTH, "_distutils_hack/__init__.py": shim},
        ),
        wheel(tmp_path / "d", "coverage", {"a1_coverage.pth": COVERAGE_PTH}),
    ]
    policy, txt, _ = serve(index_server, tmp_path, files)
    result = cli("install", "--policy", policy, "-r", txt, "--python", venv)
    assert result.code == 0, result.err
    freeze = subprocess.run(
        [str(venv), "-m", "pip", "freeze", "--all"],
        check=True,
        capture_output=True,
        text=True,
        env=pip_env(),
    ).stdout.split()
    assert {"setuptools==1.0", "coverage==1.0"} <= set(freeze)
    assert _site_python_runs(venv).strip() == "ok"
    verify = cli("verify", "--policy", policy, txt, "--python", venv, "--allow-extra")
    assert "pth-exec" not in verify.out, verify.out


def test_a_warning_is_shown_and_the_install_goes_on(
    cli: Cli, index_server: IndexServer, tmp_path: Path
) -> None:
    venv = make_venv(tmp_path / "venv")
    policy, txt, _ = serve(
        index_server, tmp_path, [code_wheel(tmp_path / "d", "code-import-time-call")]
    )
    result = cli("install", "--policy", policy, "-r", txt, "--python", venv)
    assert result.code == 0, result.err
    assert "warning: [code-import-time-call] evil-pkg: " in result.err
    assert "evil-pkg==1.0" in installed(venv)
