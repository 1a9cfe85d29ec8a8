"""hooks/ci.sh and the CI job files that run it.

The script's steps are checked twice: with a stand-in safeinstall that records what it is asked
(fast: order, arguments, stopping at the first failure with its code), and for real, in a temp
project locked against the loopback index, with a fresh venv and an offline OSV database.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]  # types-PyYAML is not a dev dependency

from tests.support.builders import build_wheel
from tests.support.indexserver import IndexServer
from tests.support.installdata import make_venv, pip_env
from tests.support.osvdata import OSV_DIR, synthetic
from tests.support.paths import ROOT
from tests.support.snapshot import runtime_wheels_or_skip, snapshot_repo

HOOKS = ROOT / "hooks"
CI = HOOKS / "ci.sh"
FAKE = """#!/bin/sh
echo "$*" >> "$FAKE_LOG"
[ "$1" = "${FAKE_FAIL_AT:-}" ] && exit "$FAKE_FAIL_CODE"
exit 0
"""


def run_ci(cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(CI)], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def steps(stderr: str) -> list[str]:
    return re.findall(r"^==> (\w+):", stderr, re.MULTILINE)


@pytest.fixture
def fake(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A project with a lock and a stand-in safeinstall that logs its arguments."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "requirements.txt").write_text("# a lock\n")
    command = tmp_path / "fake-safeinstall"
    command.write_text(FAKE)
    command.chmod(0o755)
    env = {
        **pip_env(),
        "SAFEINSTALL": str(command),
        "FAKE_LOG": str(tmp_path / "log"),
        "VIRTUAL_ENV": "/venv",
    }
    # the suite's offline malware database would make the job audit offline: a job's setting
    env.pop("SAFEINSTALL_OSV_DB", None)
    return project, env


def logged(env: dict[str, str]) -> list[str]:
    log = Path(env["FAKE_LOG"])
    return log.read_text().splitlines() if log.exists() else []


def test_ci_runs_every_step_in_order(fake: tuple[Path, dict[str, str]]) -> None:
    project, env = fake
    done = run_ci(project, {**env, "SAFEINSTALL_OSV_DB": "/data/osv.zip"})
    assert done.returncode == 0, done.stderr
    assert steps(done.stderr) == ["check", "lock", "install", "verify", "audit"]
    assert logged(env) == [
        "check",
        "lock --check -o requirements.txt",
        "sync --python /venv/bin/python requirements.txt",
        "verify --python /venv/bin/python requirements.txt",
        "audit --db /data/osv.zip requirements.txt",
    ]
    assert "ci: all steps passed for requirements.txt" in done.stderr


def test_ci_asks_the_osv_api_without_an_offline_db(fake: tuple[Path, dict[str, str]]) -> None:
    project, env = fake
    assert run_ci(project, env).returncode == 0
    assert logged(env)[-1] == "audit requirements.txt"


@pytest.mark.parametrize(("fail_at", "code", "ran"), [("check", 2, 1), ("verify", 1, 4)])
def test_ci_stops_at_the_first_failure_with_its_exit_code(
    fake: tuple[Path, dict[str, str]], fail_at: str, code: int, ran: int
) -> None:
    project, env = fake
    done = run_ci(project, {**env, "FAKE_FAIL_AT": fail_at, "FAKE_FAIL_CODE": str(code)})
    assert done.returncode == code
    assert len(logged(env)) == ran
    assert logged(env)[-1].split()[0] == fail_at
    assert f"ci: step '{fail_at}' failed with exit code {code}" in done.stderr


def test_ci_settings_choose_lock_inputs_and_interpreter(fake: tuple[Path, dict[str, str]]) -> None:
    project, env = fake
    (project / "pylock.toml").write_text("")  # preferred over requirements.txt
    del env["VIRTUAL_ENV"]
    settings = {"SAFEINSTALL_PYTHON": "/py", "SAFEINSTALL_LOCK_ARGS": "pyproject.toml --extra web"}
    assert run_ci(project, {**env, **settings}).returncode == 0
    assert logged(env)[1:3] == [
        "lock --check pyproject.toml --extra web -o pylock.toml",
        "sync --python /py pylock.toml",
    ]


@pytest.mark.parametrize("missing", ["lock", "environment"])
def test_ci_refuses_to_start_without_a_lock_or_an_environment(
    fake: tuple[Path, dict[str, str]], missing: str
) -> None:
    project, env = fake
    if missing == "lock":
        (project / "requirements.txt").unlink()
    else:
        del env["VIRTUAL_ENV"]
    done = run_ci(project, env)
    assert done.returncode == 2
    assert logged(env) == []
    assert ("no lock found" if missing == "lock" else "no environment") in done.stderr


def job(name: str) -> tuple[dict[str, str], list[str]]:
    """(variables, shell commands) of a CI job file, as written; GitHub's `uses:` steps (check
    out, set up Python) are what the test's own project and interpreter stand in for."""
    data = yaml.safe_load((HOOKS / name).read_text())
    if name == "github-actions.yml":
        assert data["permissions"] == {"contents": "read"}
        steps = data["jobs"]["safeinstall"]["steps"]
        return dict(data["env"]), [s["run"] for s in steps if "run" in s]
    return dict(data["safeinstall"]["variables"]), list(data["safeinstall"]["script"])


@pytest.mark.parametrize("name", ["github-actions.yml", "gitlab-ci.yml"])
def test_ci_job_files_install_safeinstall_at_a_pinned_commit_and_run_the_script(
    name: str,
) -> None:
    variables, commands = job(name)
    assert commands[0].startswith(
        'sh hooks/install-safeinstall.sh "$SAFEINSTALL_REPO" "$SAFEINSTALL_REV" '
    )
    assert variables["SAFEINSTALL_REV"] == ""  # the user's to set: no default commit
    assert commands[-1] == "sh hooks/ci.sh"
    script = "\n".join(commands)
    assert "VIRTUAL_ENV=" in script and "SAFEINSTALL=" in script
    installer = (HOOKS / "install-safeinstall.sh").read_text()
    assert "pip install -q --require-hashes --only-binary :all: -r" in installer
    assert "pip install -q --no-deps --no-build-isolation" in installer


# --- for real: a project locked against the loopback index ------------------------------------


@pytest.fixture
def real(tmp_path: Path, index_server: IndexServer) -> tuple[Path, dict[str, str], Path]:
    """(project, environment, site-packages): locked, with a fresh venv and an offline OSV db."""
    for name in ("alpha-one", "beta-two"):
        index_server.add("a", build_wheel(tmp_path / "dists", name, "1.0"))
    project = tmp_path / "project"
    project.mkdir()
    (project / "requirements.in").write_text("alpha-one\nbeta-two\n")
    (project / "pyproject.toml").write_text(
        f'[tool.safeinstall]\nindexes = [{{ name = "a", url = "{index_server.index_url("a")}" }}]\n'
    )
    db = tmp_path / "osv"
    shutil.copytree(OSV_DIR, db)  # real advisories, none about these packages
    shim = tmp_path / "safeinstall"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m safeinstall "$@"\n')
    shim.chmod(0o755)
    venv = tmp_path / "venv"
    make_venv(venv)
    env = {
        **pip_env(),
        "PYTHONPATH": str(ROOT),
        "SAFEINSTALL": str(shim),
        "VIRTUAL_ENV": str(venv),
        "SAFEINSTALL_OSV_DB": str(db),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    locked = subprocess.run(
        [str(shim), "lock"], cwd=project, env=env, capture_output=True, text=True, check=False
    )
    assert locked.returncode == 0, locked.stderr
    site = next((venv / "lib").glob("python3*/site-packages"))
    return project, env, site


@pytest.mark.slow
def test_ci_passes_a_clean_project(real: tuple[Path, dict[str, str], Path]) -> None:
    project, env, site = real
    done = run_ci(project, env)
    assert done.returncode == 0, done.stderr
    assert steps(done.stderr) == ["check", "lock", "install", "verify", "audit"]
    assert (site / "alpha_one" / "__init__.py").is_file()


@pytest.mark.slow
def test_ci_stops_at_the_lock_step_when_the_lock_is_stale(
    real: tuple[Path, dict[str, str], Path],
) -> None:
    project, env, site = real
    (project / "requirements.in").write_text("alpha-one\n")
    done = run_ci(project, env)
    assert done.returncode == 1
    assert steps(done.stderr) == ["check", "lock"]
    assert "requirements.txt: stale" in done.stdout
    assert not (site / "alpha_one").exists()  # nothing was installed


@pytest.mark.slow
def test_ci_stops_at_the_audit_step_on_a_vulnerable_pin(
    real: tuple[Path, dict[str, str], Path],
) -> None:
    project, env, _ = real
    record = synthetic("PYSEC-0000-1", "beta-two", [{"introduced": "0"}, {"fixed": "1.1"}])
    (Path(env["SAFEINSTALL_OSV_DB"]) / "PYSEC-0000-1.json").write_text(json.dumps(record))
    done = run_ci(project, env)
    assert done.returncode == 1
    assert steps(done.stderr)[-1] == "audit"
    assert "vulnerable: beta-two 1.0: PYSEC-0000-1" in done.stdout


@pytest.mark.slow
def test_ci_repairs_a_changed_file_and_stops_at_the_verify_step_on_planted_code(
    real: tuple[Path, dict[str, str], Path],
) -> None:
    project, env, site = real
    assert run_ci(project, env).returncode == 0
    module = site / "alpha_one" / "__init__.py"
    original = module.read_text()
    module.write_text(original + "import os  # injected\n")
    # the install step finds alpha-one not as locked (its files differ from the locked wheel)
    # and installs the locked wheel again
    assert run_ci(project, env).returncode == 0
    assert module.read_text() == original
    # what no package owns is not the install step's to remove: verify reports it
    (site / "zz_planted.pth").write_text("import os; os.getcwd()\n")
    done = run_ci(project, env)
    assert done.returncode == 1
    assert steps(done.stderr) == ["check", "lock", "install", "verify"]
    assert "zz_planted.pth" in done.stdout


# --- the job files as written: safeinstall installed from a repository at a commit -------------


@pytest.fixture(scope="module")
def safeinstall_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    repo = tmp_path_factory.mktemp("safeinstall-repo")
    return repo, snapshot_repo(repo)


def run_job(
    name: str, project: Path, env: dict[str, str], work: Path
) -> subprocess.CompletedProcess[str]:
    """Run a job file's commands in ``project`` as the CI service would: GitHub runs each
    `run:` step with bash -e and carries $GITHUB_ENV lines into the next steps; GitLab runs the
    script lines in one shell. /opt is the job's own directory ``work``."""
    variables, commands = job(name)
    # the file's variables, but SAFEINSTALL_REPO/REV as the user sets them (the test: ``env``)
    env = {**env, **variables, **{k: v for k, v in env.items() if k.startswith("SAFEINSTALL_R")}}
    if name == "gitlab-ci.yml":
        script = "\n".join(commands).replace("/opt/", f"{work}/")
        return subprocess.run(
            ["sh", "-ec", script], cwd=project, env=env, capture_output=True, text=True, check=False
        )
    github_env = work / "github-env"
    github_env.touch()
    env.update(RUNNER_TEMP=str(work), GITHUB_ENV=str(github_env))
    for command in commands:
        done = subprocess.run(
            ["bash", "-ec", command],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            return done
        for line in github_env.read_text().splitlines():
            key, value = line.split("=", 1)
            env[key] = value
    return done


@pytest.mark.slow
@pytest.mark.parametrize("name", ["github-actions.yml", "gitlab-ci.yml"])
def test_ci_job_file_runs_as_written(
    name: str,
    real: tuple[Path, dict[str, str], Path],
    safeinstall_repo: tuple[Path, str],
    tmp_path: Path,
) -> None:
    project, env, _ = real
    (project / "hooks").mkdir()
    for script in ("ci.sh", "install-safeinstall.sh"):  # copied as the job file says
        shutil.copy(HOOKS / script, project / "hooks" / script)
    repo, sha = safeinstall_repo
    bin_dir = tmp_path / "bin"  # what setup-python or the image provides: python on PATH
    bin_dir.mkdir()
    for alias in ("python", "python3"):
        (bin_dir / alias).symlink_to(sys.executable)
    env = {k: v for k, v in env.items() if k not in ("SAFEINSTALL", "VIRTUAL_ENV", "PYTHONPATH")}
    env.update(runtime_wheels_or_skip(), SAFEINSTALL_REPO=str(repo), SAFEINSTALL_REV=sha)
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    work = tmp_path / "work"
    work.mkdir()
    done = run_job(name, project, env, work)
    assert done.returncode == 0, done.stdout + done.stderr
    assert steps(done.stderr) == ["check", "lock", "install", "verify", "audit"]
    tool = work / "safeinstall" / "bin" / "safeinstall"
    assert tool.is_file()  # the job ran the safeinstall it installed, not this checkout
    site = next((project / ".venv" / "lib").glob("python3*/site-packages"))
    assert (site / "alpha_one" / "__init__.py").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("rev", ["", "main", "HEAD~0"])
def test_install_script_refuses_anything_but_a_commit_hash(
    rev: str, safeinstall_repo: tuple[Path, str], tmp_path: Path
) -> None:
    repo, _ = safeinstall_repo
    venv = tmp_path / "venv"
    done = subprocess.run(
        ["sh", str(HOOKS / "install-safeinstall.sh"), str(repo), rev, str(venv)],
        env=pip_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "COMMIT must be a full 40-character commit hash" in done.stderr
    assert not venv.exists()
