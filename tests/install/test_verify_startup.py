"""`safeinstall verify` and start-up `.pth` files in real venvs, installed by real pip.

A start-up file passes only when its owner (per the installed RECORD), its bytes (that RECORD's
hash) and its content are the known ones; anything else that runs code is still `pth-exec`.
The editable case uses real setuptools (the wheel virtualenv embeds) and real `pip install -e`.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.builders import build_wheel, file_sha256
from tests.support.fixtures import Result
from tests.support.installdata import pip_env

SETUPTOOLS_PTH = (
    b"import os; var = 'SETUPTOOLS_USE_DISTUTILS'; enabled = os.environ.get(var, 'local') == "
    b"'local'; enabled and __import__('_distutils_hack').add_shim(); \n"
)
SITE = Path("lib") / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
Cli = Callable[..., Result]


class Venv:
    def __init__(self, root: Path) -> None:
        self.root, self.python, self.site = root, root / "bin" / "python", root / SITE

    def pip(self, *args: str | Path) -> None:
        command = [sys.executable, "-m", "pip", "--python", str(self.python), "install", "-q"]
        subprocess.run([*command, "--no-index", *map(str, args)], check=True, env=pip_env())


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("startup") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    return root


@pytest.fixture
def venv(template: Path, tmp_path: Path) -> Venv:
    shutil.copytree(template, tmp_path / "venv", symlinks=True)
    return Venv(tmp_path / "venv")


def setuptools_wheel(tmp_path: Path, name: str = "setuptools", pth: bytes = SETUPTOOLS_PTH) -> Path:
    """A wheel shipping distutils-precedence.pth as setuptools does."""
    files = {"_distutils_hack/__init__.py": b"def add_shim(): pass\n"}
    return build_wheel(
        tmp_path / "wheels", name, "99.0", files={**files, "distutils-precedence.pth": pth}
    )


def lock(tmp_path: Path, *wheels: Path) -> Path:
    lines = []
    for whl in wheels:
        name, version = whl.name.split("-")[:2]
        lines.append(f"{name}=={version} \\\n    --hash=sha256:{file_sha256(whl)}")
    path = tmp_path / "requirements.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def verify(
    cli: Cli, lock_file: Path, venv: Venv, *args: str | Path
) -> tuple[int, list[dict[str, str]]]:
    result = cli("verify", lock_file, "--python", venv.python, "--format", "json", *args)
    return result.code, json.loads(result.out)["problems"]


def policy(tmp_path: Path, body: str) -> Path:
    tmp_path.mkdir(exist_ok=True)
    path = tmp_path / "safeinstall.toml"
    path.write_text(body, encoding="utf-8")
    return path


@pytest.mark.slow
def test_setuptools_start_up_file_passes_by_the_default_and_the_key_governs_it(
    cli: Cli, venv: Venv, tmp_path: Path
) -> None:
    whl = setuptools_wheel(tmp_path)
    venv.pip(whl)
    locked = lock(tmp_path, whl)
    assert verify(cli, locked, venv) == (0, [])
    none = policy(tmp_path / "none", "startup-files = []\n")
    code, problems = verify(cli, locked, venv, "--policy", none)
    assert code == 1
    assert [(p["kind"], p["package"]) for p in problems] == [("pth-exec", "setuptools")]
    only_coverage = policy(tmp_path / "cov", 'startup-files = ["coverage"]\n')
    assert verify(cli, locked, venv, "--policy", only_coverage)[0] == 1
    default = policy(tmp_path / "default", 'startup-files = ["default"]\n')
    assert verify(cli, locked, venv, "--policy", default) == (0, [])


@pytest.mark.slow
def test_a_start_up_file_with_an_extra_import_line_is_reported(
    cli: Cli, venv: Venv, tmp_path: Path
) -> None:
    whl = setuptools_wheel(tmp_path, pth=SETUPTOOLS_PTH + b"import os; os.system('id')\n")
    venv.pip(whl)
    code, problems = verify(cli, lock(tmp_path, whl), venv)
    assert code == 1
    assert [(p["kind"], p["package"]) for p in problems] == [("pth-exec", "setuptools")]
    assert (
        "named like a known start-up file (setuptools), but its owner or content"
        in (problems[0]["message"])
    )


@pytest.mark.slow
def test_the_known_file_owned_by_another_package_is_reported(
    cli: Cli, venv: Venv, tmp_path: Path
) -> None:
    whl = setuptools_wheel(tmp_path, name="setuptools-helper")
    venv.pip(whl)
    code, problems = verify(cli, lock(tmp_path, whl), venv)
    assert code == 1
    assert [(p["kind"], p["package"]) for p in problems] == [("pth-exec", "setuptools-helper")]


@pytest.mark.slow
def test_the_known_file_with_no_owner_or_changed_after_install_is_reported(
    cli: Cli, venv: Venv, tmp_path: Path
) -> None:
    whl = setuptools_wheel(tmp_path)
    venv.pip(whl)
    (venv.site / "distutils-precedence.pth").unlink()  # the RECORD line now misses its file
    venv.site.joinpath("zz-precedence.pth").write_bytes(SETUPTOOLS_PTH)
    code, problems = verify(cli, lock(tmp_path, whl), venv)
    assert code == 1
    assert {(p["kind"], p["package"], Path(p["path"]).name) for p in problems} == {
        ("missing-file", "setuptools", "distutils-precedence.pth"),
        ("pth-exec", None, "zz-precedence.pth"),
    }
    venv.site.joinpath("zz-precedence.pth").unlink()
    (venv.site / "distutils-precedence.pth").write_bytes(SETUPTOOLS_PTH)
    assert verify(cli, lock(tmp_path, whl), venv) == (0, [])  # the same bytes: as installed
    (venv.site / "distutils-precedence.pth").write_bytes(SETUPTOOLS_PTH.replace(b"local", b"x!x!x"))
    code, problems = verify(cli, lock(tmp_path, whl), venv)
    assert {(p["kind"], Path(p["path"]).name) for p in problems} == {
        ("modified", "distutils-precedence.pth"),
        ("pth-exec", "distutils-precedence.pth"),  # its RECORD line fails: no known owner
    }


@pytest.mark.slow
def test_a_policy_entry_allows_one_more_exact_file(cli: Cli, venv: Venv, tmp_path: Path) -> None:
    hook = b"import acme_hooks; acme_hooks.start()\n"
    whl = build_wheel(
        tmp_path / "wheels",
        "acme-hooks",
        "1.0",
        files={"acme_hooks.py": b"def start(): pass\n", "acme.pth": hook},
    )
    venv.pip(whl)
    locked = lock(tmp_path, whl)
    sha = hashlib.sha256(hook).hexdigest()
    code, problems = verify(cli, locked, venv)
    assert code == 1
    assert problems[0]["message"].endswith(
        "if you trust it, allow it in the policy: startup-files = "
        f'["default", {{ owner = "acme-hooks", file = "acme.pth", sha256 = "{sha}" }}]'
    )
    entry = (
        f'startup-files = ["default", {{ owner = "acme-hooks", file = "acme.pth", '
        f'sha256 = "{sha}" }}]\n'
    )
    assert verify(cli, locked, venv, "--policy", policy(tmp_path, entry)) == (0, [])
    other = entry.replace("acme-hooks", "someone-else")
    assert verify(cli, locked, venv, "--policy", policy(tmp_path / "o", other))[0] == 1


# -- editable installs: real setuptools, real pip -e ---------------------------------------------
def embedded_setuptools() -> Path:
    virtualenv = pytest.importorskip("virtualenv")
    embed = Path(virtualenv.__file__).parent / "seed" / "wheels" / "embed"
    wheels = sorted(embed.glob("setuptools-*.whl"))
    if not wheels:
        pytest.skip(f"no setuptools wheel in {embed}")
    return wheels[-1]


@pytest.fixture
def editable(venv: Venv, tmp_path: Path) -> Path:
    """``my-proj`` (flat layout: setuptools installs it with a finder module) installed editable
    by pip; returns the project directory, which holds the project's (empty) lock."""
    project = tmp_path / "my-proj"
    (project / "my_proj").mkdir(parents=True)
    (project / "my_proj" / "__init__.py").write_text("WHERE = 'source'\n")
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "my-proj"\nversion = "1.0"\n\n'
        '[tool.setuptools]\npackages = ["my_proj"]\n'
    )
    (project / "requirements.txt").write_text("")
    venv.pip(embedded_setuptools())
    venv.pip("--no-build-isolation", "-e", project)
    return project


@pytest.mark.slow
def test_the_editable_install_of_the_project_passes(
    cli: Cli, venv: Venv, editable: Path, tmp_path: Path
) -> None:
    [pth] = venv.site.glob("__editable__.*.pth")
    assert pth.read_text().startswith("import __editable___my_proj_1_0_finder;")  # setuptools'
    assert verify(cli, editable / "requirements.txt", venv) == (0, [])
    # the same environment against a lock that is not this project's: someone else's hook
    elsewhere = tmp_path / "elsewhere" / "requirements.txt"
    elsewhere.parent.mkdir()
    elsewhere.write_text("")
    code, problems = verify(cli, elsewhere, venv, "--allow-extra")
    assert code == 1
    assert [(p["kind"], p["package"], Path(p["path"]).name) for p in problems] == [
        ("pth-exec", "my-proj", pth.name)
    ]


@pytest.mark.slow
def test_an_editable_start_up_file_with_more_code_is_reported(
    cli: Cli, venv: Venv, editable: Path
) -> None:
    [pth] = venv.site.glob("__editable__.*.pth")
    pth.write_bytes(pth.read_bytes() + b"\nimport os; os.system('id')\n")
    code, problems = verify(cli, editable / "requirements.txt", venv)
    assert code == 1
    assert {(p["kind"], Path(p["path"]).name) for p in problems} == {
        ("modified", pth.name),
        ("pth-exec", pth.name),
    }
