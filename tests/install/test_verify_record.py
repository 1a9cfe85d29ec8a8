"""`safeinstall verify` and wheels whose RECORD writes hashes in hex (some build backends did).

pip copies a wheel's RECORD lines as they are, so the installed RECORD says
``path,sha256=<64 hex>,size`` where the wheel format wants urlsafe base64. That is a malformed
RECORD of the wheel, reported as such (``malformed-record``, naming the locked wheel where it is
at hand), not tampering; a file that matches neither its hex hash nor the locked wheel's bytes
still is.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
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

SITE = Path("lib") / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
FILES = {"demo/__init__.py": b"VALUE = 1\n", "demo/core.py": b"def f():\n    return 1\n"}
Cli = Callable[..., Result]


def hex_record(lines: list[str]) -> list[str]:
    """RECORD's base64 hashes rewritten in hex, as a careless build backend wrote them."""
    out = []
    for line in lines:
        path, digest, size = line.rsplit(",", 2)
        if digest.startswith("sha256="):
            raw = base64.urlsafe_b64decode(digest[7:] + "=" * (-len(digest[7:]) % 4))
            digest = f"sha256={raw.hex()}"
        out.append(f"{path},{digest},{size}")
    return out


def padded_record(lines: list[str]) -> list[str]:
    """RECORD's base64 hashes with their ``=`` padding (a sha256 takes one)."""
    out = []
    for line in lines:
        path, digest, size = line.rsplit(",", 2)
        out.append(f"{path},{digest}{'=' if digest else ''},{size}")
    return out


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(venv, its lock, the wheelhouse): demo 1.0, whose RECORD is in hex, installed by pip."""
    base = tmp_path_factory.mktemp("hexrecord")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    wheel = build_wheel(base / "wheels", "demo", "1.0", files=FILES, record=hex_record)
    install(venv, wheel)
    lock = base / "requirements.txt"
    lock.write_text(f"demo==1.0 \\\n    --hash=sha256:{file_sha256(wheel)}\n", encoding="utf-8")
    return venv, lock, wheel.parent


def install(venv: Path, wheel: Path) -> None:
    command = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install"]
    subprocess.run(
        [*command, "-q", "--no-index", "--no-deps", str(wheel)], check=True, env=pip_env()
    )


@pytest.fixture
def venv(template: tuple[Path, Path, Path], tmp_path: Path) -> Path:
    return Path(shutil.copytree(template[0], tmp_path / "venv", symlinks=True))


def verify(cli: Cli, venv: Path, lock: Path, *args: str | Path) -> tuple[int, list[dict[str, str]]]:
    result = cli("verify", lock, "--python", venv / "bin" / "python", "--format", "json", *args)
    return result.code, json.loads(result.out)["problems"]


def rewrite(venv: Path, entry: str, data: bytes) -> None:
    """Change a file and its hex RECORD line with it, as an attacker would."""
    site = venv / SITE
    (site / entry).write_bytes(data)
    record = site / "demo-1.0.dist-info" / "RECORD"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in csv.reader(record.read_text().splitlines()):
        if row and row[0] == entry:
            writer.writerow([entry, f"sha256={hashlib.sha256(data).hexdigest()}", str(len(data))])
        else:
            writer.writerow(row)
    record.write_text(out.getvalue())


@pytest.mark.slow
def test_a_hex_record_is_malformed_not_tampering(
    cli: Cli, venv: Path, template: tuple[Path, Path, Path]
) -> None:
    code, problems = verify(cli, venv, template[1])
    assert code == 1
    assert [(p["kind"], p["package"], p["path"]) for p in problems] == [
        ("malformed-record", "demo", "demo-1.0.dist-info/RECORD")
    ]
    assert "writes 4 hashes in hex, not urlsafe base64" in problems[0]["message"]


@pytest.mark.slow
def test_with_the_locked_wheel_the_message_names_it(
    cli: Cli, venv: Path, template: tuple[Path, Path, Path]
) -> None:
    code, problems = verify(cli, venv, template[1], "--find-links", template[2])
    assert code == 1
    assert [(p["kind"], p["path"]) for p in problems] == [
        ("malformed-record", "demo-1.0.dist-info/RECORD")
    ]
    assert problems[0]["message"].startswith(
        "malformed RECORD in demo-1.0-py3-none-any.whl: it writes 4 hashes in hex"
    )


@pytest.mark.slow
def test_a_file_changed_with_its_hex_line_is_still_tampering(
    cli: Cli, venv: Path, template: tuple[Path, Path, Path]
) -> None:
    rewrite(venv, "demo/core.py", b"import os  # evil\n")
    code, problems = verify(cli, venv, template[1], "--find-links", template[2])
    assert code == 1
    assert {(p["kind"], p["path"]) for p in problems} == {
        ("not-as-locked", "demo/core.py"),
        ("malformed-record", "demo-1.0.dist-info/RECORD"),
    }


@pytest.mark.slow
def test_a_file_that_does_not_match_its_hex_hash_is_modified(
    cli: Cli, venv: Path, template: tuple[Path, Path, Path]
) -> None:
    (venv / SITE / "demo" / "core.py").write_bytes(b"def f():\n    return 2\n")  # same size
    code, problems = verify(cli, venv, template[1])
    assert code == 1
    assert {(p["kind"], p["path"]) for p in problems} == {
        ("modified", "demo/core.py"),
        ("malformed-record", "demo-1.0.dist-info/RECORD"),
    }


@pytest.mark.slow
def test_padded_base64_is_read_as_base64(
    cli: Cli, venv: Path, template: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    wheel = build_wheel(tmp_path, "padded", "1.0", record=padded_record)
    install(venv, wheel)
    lock = tmp_path / "requirements.txt"
    shutil.copy(template[1], lock)
    with lock.open("a", encoding="utf-8") as fh:
        fh.write(f"padded==1.0 \\\n    --hash=sha256:{file_sha256(wheel)}\n")
    code, problems = verify(cli, venv, lock)
    assert code == 1  # demo's hex RECORD, and only that
    assert [(p["kind"], p["package"]) for p in problems] == [("malformed-record", "demo")]
