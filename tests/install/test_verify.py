"""`safeinstall verify` on real venvs built by the test: each kind of drift and tampering, against
RECORD and against the locked wheels in the artifact store."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from safeinstall.index.fetch import Store
from safeinstall.install.verify import Problem, probe, verify
from tests.support.builders import PTH_CONTENT, build_wheel, file_sha256
from tests.support.fixtures import Result
from tests.support.sarif import assert_valid_sarif, located, results

SITE = Path("lib") / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"


class Venv:
    def __init__(self, root: Path, wheels: Path, *, create: bool = True) -> None:
        self.root, self.wheels = root, wheels
        if create:
            subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
        self.python = root / "bin" / "python"
        self.site = root / SITE

    def copy(self, root: Path) -> Venv:
        """A copy (fast, unlike pip): RECORD paths are relative, pyvenv.cfg names no venv path."""
        shutil.copytree(self.root, root, symlinks=True)
        return Venv(root, self.wheels, create=False)

    def install(self, *wheels: Path) -> None:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "--python",
                str(self.python),
                "install",
                "-q",
                "--no-index",
                "--no-deps",
                *map(str, wheels),
            ],
            check=True,
        )


@pytest.fixture
def venv(tmp_path: Path) -> Venv:
    if os.name == "nt":
        pytest.skip("the venv layout here is POSIX")
    return Venv(tmp_path / "venv", tmp_path / "wheels")


def wheel(venv: Venv, name: str, version: str, **kw: object) -> Path:
    return build_wheel(venv.wheels, name, version, **kw)  # type: ignore[arg-type]


def lock_file(path: Path, pins: Sequence[tuple[str, str, Path]], marker: str = "") -> Path:
    lines = []
    for name, version, whl in pins:
        lines.append(f"{name}=={version}{marker} \\\n    --hash=sha256:{file_sha256(whl)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Venv, Path]:
    """A venv with demo 1.0 and util 2.0 installed, and the lock of exactly that."""
    base = tmp_path_factory.mktemp("template")
    venv = Venv(base / "venv", base / "wheels")
    files = {
        "demo/__init__.py": b"VALUE = 1\n",
        "demo/core.py": b"def f():\n    return 1\n",
    }
    demo_whl = wheel(venv, "demo", "1.0", files=files)
    util_whl = wheel(venv, "util", "2.0")
    venv.install(demo_whl, util_whl)
    pins = [("demo", "1.0", demo_whl), ("util", "2.0", util_whl)]
    return venv, lock_file(base / "requirements.txt", pins)


@pytest.fixture
def demo_venv(template: tuple[Venv, Path], tmp_path: Path) -> Venv:
    return template[0].copy(tmp_path / "demo-venv")


@pytest.fixture
def demo(template: tuple[Venv, Path]) -> Path:
    return template[1]


def kinds(venv: Venv, lock: Path, *, allow_extra: bool = False) -> list[tuple[str, str | None]]:
    from safeinstall.lock.read import read_lock_file

    report = verify(read_lock_file(lock), probe(str(venv.python)), allow_extra=allow_extra)
    return [(p.kind, p.package) for p in report.problems]


def test_clean_environment_passes(cli: Callable[..., Result], demo_venv: Venv, demo: Path) -> None:
    result = cli("verify", demo, "--python", demo_venv.python)
    assert result.code == 0, result.out + result.err
    assert result.out == ""
    assert "ok: 2 packages" in result.err


def test_venv_directory_is_accepted_for_python(demo_venv: Venv, demo: Path) -> None:
    env = probe(str(demo_venv.root))
    assert env.prefix == demo_venv.root.resolve()
    assert env.site_dirs == (demo_venv.site.resolve(),)


def test_file_edited_after_install_is_tampering(
    cli: Callable[..., Result], demo_venv: Venv, demo: Path
) -> None:
    (demo_venv.site / "demo" / "core.py").write_text("import os  # injected\n", encoding="utf-8")
    result = cli("verify", demo, "--python", demo_venv.python)
    assert result.code == 1
    assert "modified: demo/core.py of demo does not match its RECORD hash" in result.out


def test_same_size_edit_is_caught_by_the_hash(demo_venv: Venv, demo: Path) -> None:
    path = demo_venv.site / "demo" / "__init__.py"
    path.write_bytes(path.read_bytes().replace(b"1", b"2"))
    assert kinds(demo_venv, demo) == [("modified", "demo")]


def test_deleted_file(demo_venv: Venv, demo: Path) -> None:
    (demo_venv.site / "demo" / "core.py").unlink()
    assert kinds(demo_venv, demo) == [("missing-file", "demo")]


def test_extra_package_and_allow_extra(
    cli: Callable[..., Result], demo_venv: Venv, demo: Path
) -> None:
    demo_venv.install(wheel(demo_venv, "stowaway", "0.1"))
    result = cli("verify", demo, "--python", demo_venv.python)
    assert result.code == 1
    assert "extra: stowaway 0.1 is installed but not locked" in result.out
    assert cli("verify", demo, "--python", demo_venv.python, "--allow-extra").code == 0


def test_sarif_puts_each_problem_on_its_package_lock_line(
    cli: Callable[..., Result], demo_venv: Venv, demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (demo_venv.site / "demo" / "core.py").write_text("import os  # injected\n", encoding="utf-8")
    (demo_venv.site / "util" / "__init__.py").unlink()
    monkeypatch.chdir(demo.parent)
    result = cli("verify", demo.name, "--python", demo_venv.python, "--format", "sarif")
    assert result.code == 1  # as in text
    found = results(assert_valid_sarif(result.out))
    assert [(r["ruleId"], r["level"], located(r)) for r in found] == [
        ("modified", "error", ("requirements.txt", 1)),  # demo==1.0 \ (its hash on line 2)
        ("missing-file", "error", ("requirements.txt", 3)),  # util==2.0
    ]
    assert found[0]["locations"][0]["logicalLocations"] == [{"fullyQualifiedName": "demo/core.py"}]


def test_wrong_version(demo_venv: Venv, demo: Path) -> None:
    demo_venv.install(wheel(demo_venv, "util", "2.1"))
    assert kinds(demo_venv, demo) == [("wrong-version", "util")]


def test_missing_package_and_marker_that_does_not_apply(venv: Venv, tmp_path: Path) -> None:
    whl = wheel(venv, "absent", "1.0")
    lock = lock_file(tmp_path / "requirements.txt", [("absent", "1.0", whl)])
    assert kinds(venv, lock) == [("missing", "absent")]
    elsewhere = lock_file(
        tmp_path / "r2.txt", [("absent", "1.0", whl)], ' ; sys_platform == "win32"'
    )
    assert kinds(venv, elsewhere) == []


def test_code_executing_pth_owned_or_not(
    cli: Callable[..., Result], venv: Venv, tmp_path: Path
) -> None:
    files = {"evil/__init__.py": b"", "evil_init.pth": PTH_CONTENT}
    evil = wheel(venv, "evil", "1.0", files=files)
    venv.install(evil)
    (venv.site / "paths_only.pth").write_text("/some/dir\n", encoding="utf-8")
    (venv.site / "dropped.pth").write_text("/x\nimport sys\n", encoding="utf-8")
    lock = lock_file(tmp_path / "requirements.txt", [("evil", "1.0", evil)])
    result = cli("verify", lock, "--python", venv.python, "--format", "json")
    assert result.code == 1
    problems = json.loads(result.out)["problems"]
    assert [(p["kind"], p["package"], Path(p["path"]).name) for p in problems] == [
        ("pth-exec", None, "dropped.pth"),
        ("pth-exec", "evil", "evil_init.pth"),
    ]
    assert "not installed by any package" in problems[0]["message"]
    assert os.environ.get("SAFEINSTALL_PWNED") is None  # probing ran no .pth


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"\xef\xbb\xbfimport sys\n", "line 1 starts with import"),  # 3.13 drops the BOM
        (b"/x\n" * (2**20 // 3 + 1) + b"import sys\n", "larger than 1 MiB"),  # read to its end
    ],
)
def test_code_hidden_in_a_pth_file_is_found(
    cli: Callable[..., Result], venv: Venv, tmp_path: Path, data: bytes, why: str
) -> None:
    (venv.site / "hidden.pth").write_bytes(data)
    lock = lock_file(tmp_path / "requirements.txt", [])
    result = cli("verify", lock, "--python", venv.python, "--format", "json")
    assert result.code == 1
    [problem] = json.loads(result.out)["problems"]
    assert (problem["kind"], Path(problem["path"]).name) == ("pth-exec", "hidden.pth")
    assert why in problem["message"]


def test_record_paths_outside_the_environment_are_not_read(demo_venv: Venv, demo: Path) -> None:
    record = next(demo_venv.site.glob("demo-1.0.dist-info")) / "RECORD"
    outside = demo_venv.root.parent / "secret.txt"
    outside.write_text("secret", encoding="utf-8")
    rel = os.path.relpath(outside, demo_venv.site)
    with open(record, "a", encoding="utf-8") as fh:
        fh.write(f"{rel},sha256=AAAA,6\n../../../bin/tool,,\n")
    (demo_venv.root / "bin" / "tool").write_text("#!/bin/sh\n", encoding="utf-8")
    problems = kinds(demo_venv, demo)
    assert ("outside", "demo") in problems
    # ../../../bin/x from site-packages stays in the prefix: legal, but unhashed here
    assert ("unhashed", "demo") in problems
    assert ("modified", "demo") not in problems  # the outside file was never hashed


def test_unhashed_entries_except_record_and_pyc(demo_venv: Venv, demo: Path) -> None:
    record = next(demo_venv.site.glob("demo-1.0.dist-info")) / "RECORD"
    lines = record.read_text(encoding="utf-8").splitlines()
    stripped = [
        f"{ln.split(',')[0]},," if ln.split(",")[0].endswith((".pyc", "core.py")) else ln
        for ln in lines
    ]
    record.write_text("\n".join(stripped) + "\n", encoding="utf-8")
    from safeinstall.lock.read import read_lock_file

    report = verify(read_lock_file(demo), probe(str(demo_venv.python)))
    assert [(p.kind, p.path) for p in report.problems] == [("unhashed", "demo/core.py")]


def test_tooling_is_not_extra_but_its_files_are_checked(demo_venv: Venv, demo: Path) -> None:
    demo_venv.install(wheel(demo_venv, "pip", "99.0"))
    assert kinds(demo_venv, demo) == []
    (demo_venv.site / "pip" / "__init__.py").write_text("tampered\n", encoding="utf-8")
    assert kinds(demo_venv, demo) == [("modified", "pip")]


def test_deleted_record(demo_venv: Venv, demo: Path) -> None:
    (next(demo_venv.site.glob("util-2.0.dist-info")) / "RECORD").unlink()
    assert kinds(demo_venv, demo) == [("no-record", "util")]


def test_broken_interpreter_is_a_target_error(cli: Callable[..., Result], tmp_path: Path) -> None:
    lock = tmp_path / "requirements.txt"
    lock.write_text("", encoding="utf-8")
    result = cli("verify", lock, "--python", tmp_path / "nope" / "python")
    assert result.code == 1
    assert "cannot run the target interpreter" in result.err


def test_problem_json() -> None:
    assert Problem("extra", "m", "x").to_json() == {
        "kind": "extra",
        "package": "x",
        "path": None,
        "message": "m",
    }


def test_default_interpreter_is_the_active_venv(
    cli: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """$VIRTUAL_ENV, not the interpreter running safeinstall (whose own packages were once
    reported as 46 extra packages)."""
    lock = tmp_path / "requirements.txt"
    lock.write_text("", encoding="utf-8")
    monkeypatch.setenv("VIRTUAL_ENV", sys.prefix)  # the venv these tests run in
    result = cli("verify", lock, "--allow-extra", "--format", "json")
    report = json.loads(result.out)
    assert Path(report["prefix"]).resolve() == Path(sys.prefix).resolve()
    assert report["packages"] > 0 and report["files_checked"] > 0


# -- against the locked wheels kept in the artifact store (verifywheel.py) --------------------


@pytest.fixture
def stored(template: tuple[Venv, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The artifact store holding the wheels the demo lock pins, as `install` leaves it."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("SAFEINSTALL_CACHE_DIR", str(cache))
    store = Store(cache)
    for wheel in template[0].wheels.glob("*.whl"):
        store.add_file(wheel, file_sha256(wheel), wheel.name)
    return cache


def record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def rewrite_record(site: Path, dist_info: str, changes: dict[str, bytes | None]) -> None:
    """Edit files and make RECORD agree, as an attacker who knows RECORD would."""
    record = site / dist_info / "RECORD"
    rows = [row for row in csv.reader(record.read_text().splitlines()) if row]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        if row[0] in changes:
            data = changes.pop(row[0])
            if data is None:
                (site / row[0]).unlink()
                continue
            (site / row[0]).write_bytes(data)
            writer.writerow([row[0], record_hash(data), str(len(data))])
            continue
        writer.writerow(row)
    for path, data in changes.items():  # new files
        assert data is not None
        (site / path).write_bytes(data)
        writer.writerow([path, record_hash(data), str(len(data))])
    record.write_text(out.getvalue())


@pytest.mark.usefixtures("stored")
def test_clean_environment_is_checked_against_its_wheels(
    cli: Callable[..., Result], demo_venv: Venv, demo: Path
) -> None:
    result = cli("verify", demo, "--python", demo_venv.python)
    assert result.code == 0, result.out + result.err
    assert "ok: 2 packages (2 also against their locked wheels)" in result.err


@pytest.mark.usefixtures("stored")
def test_a_change_with_its_record_line_rewritten_is_caught(
    cli: Callable[..., Result], demo_venv: Venv, demo: Path
) -> None:
    rewrite_record(demo_venv.site, "demo-1.0.dist-info", {"demo/core.py": b"import os  # evil\n"})
    result = cli("verify", demo, "--python", demo_venv.python)
    assert result.code == 1
    assert "not-as-locked: demo/core.py of demo differs from the locked wheel" in result.out
    assert "modified" not in result.out  # RECORD itself agrees: only the wheel tells


@pytest.mark.usefixtures("stored")
def test_a_module_added_to_record_and_a_file_removed_from_it_are_caught(
    cli: Callable[..., Result], demo_venv: Venv, demo: Path
) -> None:
    rewrite_record(
        demo_venv.site,
        "demo-1.0.dist-info",
        {"demo/backdoor.py": b"import os\n", "demo/__init__.py": None},
    )
    result = cli("verify", demo, "--python", demo_venv.python, "--format", "json")
    assert result.code == 1
    problems = {(p["kind"], p["path"]) for p in json.loads(result.out)["problems"]}
    assert problems == {("not-in-wheel", "demo/backdoor.py"), ("missing-file", "demo/__init__.py")}


def test_without_the_wheels_in_the_store_only_record_is_checked(
    cli: Callable[..., Result], demo_venv: Venv, demo: Path
) -> None:
    rewrite_record(demo_venv.site, "demo-1.0.dist-info", {"demo/core.py": b"import os  # evil\n"})
    result = cli("verify", demo, "--python", demo_venv.python)
    assert result.code == 0  # what this check cannot see without the wheel: said in the summary
    assert "(0 also against their locked wheels)" in result.err


def test_a_wheelhouse_serves_where_the_cache_has_no_wheels(
    cli: Callable[..., Result], template: tuple[Venv, Path], demo_venv: Venv, demo: Path
) -> None:
    wheelhouse = template[0].wheels
    rewrite_record(demo_venv.site, "demo-1.0.dist-info", {"demo/core.py": b"import os  # evil\n"})
    result = cli("verify", demo, "--python", demo_venv.python, "--find-links", wheelhouse)
    assert result.code == 1
    assert "not-as-locked: demo/core.py of demo differs from the locked wheel" in result.out
    assert "(2 also against their locked wheels)" in result.err


def test_a_wheel_in_the_wheelhouse_that_the_lock_does_not_pin_is_not_used(
    cli: Callable[..., Result], demo_venv: Venv, demo: Path, tmp_path: Path
) -> None:
    impostor = build_wheel(tmp_path / "house", "demo", "1.0", files={"demo/core.py": b"x = 1\n"})
    result = cli("verify", demo, "--python", demo_venv.python, "--find-links", impostor.parent)
    assert result.code == 0, result.out
    assert "(0 also against their locked wheels)" in result.err


def test_a_locked_wheel_whose_metadata_adds_a_dependency_fails_verify(
    cli: Callable[..., Result], venv: Venv, tmp_path: Path
) -> None:
    """The installed files are exactly the wheel's, and the wheel is the one the lock pins, but
    its METADATA requires a package the lock does not record: installed from it, the package
    depends on what the lock never reviewed (``install`` refuses it before pip; ``verify`` of an
    environment installed elsewhere, as in a Docker image, says so)."""
    demo_whl = wheel(venv, "demo", "1.0", requires_dist=["sneaky-dep>=1"])
    venv.install(demo_whl)
    lock = lock_file(tmp_path / "requirements.txt", [("demo", "1.0", demo_whl)])
    assert cli("verify", lock, "--python", venv.python).code == 0  # RECORD alone cannot tell
    result = cli("verify", lock, "--python", venv.python, "--find-links", venv.wheels)
    assert result.code == 1, result.out + result.err
    assert "metadata-not-as-locked: the METADATA inside the wheel file demo-1.0" in result.out
    assert "it requires sneaky-dep>=1, which the lock does not install here" in result.out
    assert "(1 also against their locked wheels)" in result.err


def test_an_oversized_record_is_never_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a hostile environment can hold a RECORD of any size: verify and the removal check both
    # read it through record_text, which stops at the cap
    from safeinstall.errors import TargetEnvironmentError
    from safeinstall.install import verify as verify_module
    from safeinstall.install.verifywheel import record_rows

    record = tmp_path / "RECORD"
    record.write_text("pkg/__init__.py,sha256=x,1\n" * 100)
    monkeypatch.setattr(verify_module, "MAX_RECORD_BYTES", 1000)
    with pytest.raises(TargetEnvironmentError, match="larger than"):
        verify_module.record_text(record)
    with pytest.raises(TargetEnvironmentError):
        record_rows(record)
    record.write_text("pkg/__init__.py,sha256=x,1\n")
    assert record_rows(record) == [("pkg/__init__.py", "sha256=x")]
    assert verify_module.record_text(tmp_path / "missing") is None
