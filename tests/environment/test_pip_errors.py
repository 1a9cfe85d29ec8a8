"""When pip fails, the user reads pip's own words and a hint that fits: real pip, real venvs.

The project (``install -e .``) builds with a tiny in-tree backend (``backend-path``), its one
dependency served by the loopback index; each test breaks its build in one way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from safeinstall.environment.pip import PipOptions, pip_install
from safeinstall.environment.pipoutput import failure as _failure
from safeinstall.errors import TargetEnvironmentError
from safeinstall.index.fetch import Artifact
from tests.support.builders import build_wheel
from tests.support.fixtures import Result
from tests.support.indexserver import IndexServer
from tests.support.installdata import installed, make_venv, write_policy

Cli = Callable[..., Result]

BACKEND = """\
import base64, hashlib, os, zipfile


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    BUILD_STEP
    dist = "myapp-0.1.dist-info"
    files = {
        "myapp.pth": os.path.abspath("src") + "\\n",
        f"{dist}/METADATA": "Metadata-Version: 2.1\\nName: myapp\\nVersion: 0.1\\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
    }
    lines = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        lines.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    files[f"{dist}/RECORD"] = "\\n".join([*lines, f"{dist}/RECORD,,"]) + "\\n"
    name = "myapp-0.1-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as zf:
        for path, text in files.items():
            zf.writestr(path, text)
    return name
"""

PYPROJECT = """\
[build-system]
requires = []
build-backend = "backend"
backend-path = ["."]

[project]
name = "myapp"
version = "0.1"
dependencies = ["alpha-one"]
"""


def project(root: Path, index_server: IndexServer, *, step: str, top: str = "") -> Path:
    """The user's project at ``root``; ``step`` runs first in its build, ``top`` on import."""
    index_server.add("a", build_wheel(root.parent / "dists", "alpha-one", "1.0"))
    (root / ".git").mkdir(parents=True)
    (root / "src" / "myapp").mkdir(parents=True)
    (root / "src" / "myapp" / "__init__.py").write_text("")
    (root / "backend.py").write_text(top + BACKEND.replace("BUILD_STEP", step))
    (root / "pyproject.toml").write_text(PYPROJECT)
    write_policy(root / "safeinstall.toml", index_server.index_url("a"))
    return root


@pytest.fixture
def broken(
    cli: Cli, index_server: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Result]:
    """``broken(step=..., top=...)``: lock the project, install it editable into a fresh venv."""

    def run(*, step: str = "pass", top: str = "", verbose: bool = False) -> Result:
        root = project(tmp_path / "app", index_server, step=step, top=top)
        monkeypatch.chdir(root)
        assert cli("lock").code == 0
        python = make_venv(tmp_path / "venv")
        result = cli("install", "-e", ".", "--python", python, *(["-v"] * verbose))
        assert "alpha-one==1.0" in installed(python)  # its dependencies went in first
        return result

    return run


def assert_nothing_points_at_nothing(err: str) -> None:
    """pip's "see above" is only ever shown with what it points at, and no traceback of ours."""
    lowered = err.lower()
    assert "see above" not in lowered
    assert "Traceback (most recent call last)" not in err


@pytest.mark.slow
def test_a_build_error_shows_what_the_backend_said(broken: Callable[..., Result]) -> None:
    result = broken(step="raise RuntimeError('the compiler is on fire')")
    assert result.code == 1
    assert "RuntimeError: the compiler is on fire" in result.err  # the backend's own words
    assert "raise RuntimeError('the compiler is on fire')" in result.err  # and where
    assert "pip failed to install the project (exit 1)" in result.err
    assert "hint: the project's build failed" in result.err
    assert_nothing_points_at_nothing(result.err)
    before_error = result.err.split("error: pip failed")[0]
    assert "the compiler is on fire" in before_error  # pip's words come first, then ours


@pytest.mark.slow
def test_a_missing_build_requirement_is_named_with_where_to_add_it(
    broken: Callable[..., Result],
) -> None:
    result = broken(step="import missing_helper")
    assert result.code == 1
    assert "No module named 'missing_helper'" in result.err
    assert "[build-system] requires" in result.err
    assert "lock" in result.err.split("hint:")[1]
    assert_nothing_points_at_nothing(result.err)


@pytest.mark.slow
def test_a_backend_that_cannot_be_imported_is_not_called_an_sdist(
    broken: Callable[..., Result],
) -> None:
    result = broken(top="import missing_helper\n")
    assert result.code == 1
    assert "its build backend is not in the target environment" in result.err
    assert "No module named 'missing_helper'" in result.err
    assert "sdist" not in result.err.split("hint:")[0]  # it is the user's project
    assert_nothing_points_at_nothing(result.err)


@pytest.mark.slow
def test_verbose_shows_pip_as_it_runs(broken: Callable[..., Result]) -> None:
    result = broken(verbose=True)
    assert result.code == 0, result.err
    pip_said, _, ours = result.err.partition("Successfully installed myapp-0.1")
    assert "Processing " in pip_said  # pip's own lines, handed on as pip wrote them
    assert "install 1 and myapp" in ours  # and our summary after them


@pytest.mark.slow
def test_pip_is_not_heard_by_default(broken: Callable[..., Result]) -> None:
    result = broken()
    assert result.code == 0, result.err
    assert "Processing " not in result.err
    assert "Successfully installed" not in result.err


@pytest.mark.slow
def test_a_hash_mismatch_says_the_file_changed(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "dists", "lib", "1.0")
    wrong = hashlib.sha256(b"not the wheel").hexdigest()
    artifact = Artifact(canonicalize_name("lib"), Version("1.0"), wheel.name, wrong)
    python = make_venv(tmp_path / "venv")
    with pytest.raises(TargetEnvironmentError) as caught:
        pip_install(str(python), [(artifact, wheel)], PipOptions(), stage_in=tmp_path)
    err = caught.value
    assert "DO NOT MATCH THE HASHES" in err.message
    assert any(wrong in line for line in err.detail)  # pip's lines, kept for the user
    assert err.hint is not None
    assert "changed after" in err.hint
    assert "lib==1.0" not in installed(python)


def test_pip_output_is_trimmed_and_credentials_redacted() -> None:
    backend_lines = "\n".join(f"      line {n} of the build" for n in range(200))
    output = (
        "  error: subprocess-exited-with-error\n"
        "  \n"
        "  \N{MULTIPLICATION SIGN} Building editable for myapp (pyproject.toml) did not run "
        "successfully.\n"
        "  │ exit code: 1\n"
        "  ╰─> [201 lines of output]\n"
        f"{backend_lines}\n"
        "      fetching https://user:s3cret@127.0.0.1:9/simple/ failed\n"
        "      [end of output]\n"
        "  \n"
        "  note: This error originates from a subprocess, and is likely not a problem with pip.\n"
        "  ERROR: Failed building editable for myapp\n"
        "ERROR: Could not build wheels for myapp, which is required to install pyproject.toml\n"
        "╰─> See above for output.\n"
        "hint: See above for details.\n"
    )
    err = _failure("install the project", 1, output)
    shown = "\n".join(err.detail)
    assert "s3cret" not in shown + err.message
    assert "https://***@127.0.0.1:9/simple/" in shown
    assert "line 199 of the build" in shown
    assert "line 0 of the build" not in shown
    assert len(err.detail) <= 30
    assert "see above" not in shown.lower()
    assert "ERROR: Failed building editable for myapp" in shown


@pytest.mark.parametrize(
    ("output", "hint"),
    [
        (
            "ERROR: Could not install packages due to an OSError: [Errno 28] No space left on "
            "device\n",
            "free some disk space",
        ),
        (
            "ERROR: Could not install packages due to an OSError: [Errno 13] Permission denied: "
            "'/usr/lib/x'\n",
            "may not write",
        ),
        ("/venv/bin/python: No module named pip\n", "ensurepip"),
    ],
)
def test_the_hint_fits_the_failure(output: str, hint: str) -> None:
    err = _failure("install", 1, output)
    assert err.hint is not None
    assert hint in err.hint
    assert err.detail  # pip's words


BUILD_FAILED = """\
  error: subprocess-exited-with-error

  \N{MULTIPLICATION SIGN} Preparing editable metadata (pyproject.toml) did not run successfully.
  │ exit code: 1
  ╰─> [12 lines of output]
      Traceback (most recent call last):
        File "/venv/lib/python3.11/site-packages/pip/_vendor/pyproject_hooks/_in_process/_in_process.py", line 353, in <module>
          main()
          ^^^^^^
        File "/venv/lib/python3.11/site-packages/pip/_vendor/pyproject_hooks/_in_process/_in_process.py", line 176, in prepare_metadata_for_build_editable
          whl_basename = build_hook(metadata_directory, config_settings)
                         ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
        File "/work/app/backend.py", line 5, in build_editable
          raise RuntimeError('the compiler is on fire')
      RuntimeError: the compiler is on fire
      [end of output]

  note: This error originates from a subprocess, and is likely not a problem with pip.
error: metadata-generation-failed

\N{MULTIPLICATION SIGN} Encountered error while generating package metadata.
╰─> See above for output.

note: This is an issue with the package mentioned above, not pip.
hint: See above for details.
"""  # noqa: E501  (pip 23's own words, as it writes them)


def test_a_build_error_shows_the_backend_frames_not_pips() -> None:
    err = _failure("install the project", 1, BUILD_FAILED)
    assert err.detail == (
        "error: subprocess-exited-with-error",
        "\N{MULTIPLICATION SIGN} Preparing editable metadata (pyproject.toml) did not run "
        "successfully.",
        "│ exit code: 1",
        "╰─> [12 lines of output, 3 shown]",
        '      File "/work/app/backend.py", line 5, in build_editable',
        "        raise RuntimeError('the compiler is on fire')",
        "    RuntimeError: the compiler is on fire",
        "error: metadata-generation-failed",
        "\N{MULTIPLICATION SIGN} Encountered error while generating package metadata.",
    )
    assert err.message == (
        "pip failed to install the project (exit 1): Preparing editable metadata "
        "(pyproject.toml) did not run successfully"
    )
    assert err.hint is not None
    assert err.hint.startswith("the project's build failed")
