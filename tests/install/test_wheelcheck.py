"""Every wheel is checked against the wheel format before pip sees it: real wheels, real pip.

A hostile wheel's hash is locked, so every earlier check passes; it must still be refused with
nothing installed (``pip freeze`` and the site-packages listing unchanged) and nothing copied.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from safeinstall.errors import IntegrityError
from safeinstall.install import wheelcheck
from safeinstall.install.wheelcheck import check_wheel, wheel_problems
from tests.support.builders import PTH_CONTENT, build_wheel
from tests.support.fixtures import Result
from tests.support.indexserver import IndexServer
from tests.support.installdata import locked, make_venv, snapshot, write_locks, write_policy

Cli = Callable[..., Result]
MODULE = {"hostile/__init__.py": b"x = 1\n"}
GHOST = "hostile/ghost.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0"


def _wrong_hash(lines: list[str]) -> list[str]:
    return [lines[0].replace("sha256=", "sha256=AAAA", 1), *lines[1:]]


def _without_pth(lines: list[str]) -> list[str]:
    return [line for line in lines if not line.startswith("hostile_init.pth,")]


HOSTILE: dict[str, tuple[dict[str, Any], str]] = {
    "traversal": ({"files": {**MODULE, "../evil": b"x"}}, "'../evil' is not a plain relative"),
    "absolute": ({"files": {**MODULE, "/abs/x.py": b"x"}}, "'/abs/x.py' is not a plain"),
    "drive": ({"files": {**MODULE, "C:/x.py": b"x"}}, "'C:/x.py' is not a plain"),
    "backslash": ({"files": {**MODULE, "hostile\\b.py": b"x"}}, "'hostile\\\\b.py' is not a"),
    "duplicate": (
        {"files": MODULE, "repeated": [("hostile/__init__.py", b"y = 2\n")]},
        "'hostile/__init__.py' is listed twice",
    ),
    "case-duplicate": (
        {"files": {**MODULE, "Hostile/__init__.py": b"y = 2\n"}},
        "'Hostile/__init__.py' is listed twice",
    ),
    "foreign-data": (
        {"files": {**MODULE, "other-1.0.data/purelib/x.py": b"x"}},
        "other-1.0.data/purelib/x.py is outside the wheel's own directories",
    ),
    "unknown-scheme": (
        {"files": {**MODULE, "hostile-1.0.data/bogus/x": b"x"}},
        "hostile-1.0.data/bogus/x is not under hostile-1.0.data/<scheme>/",
    ),
    "no-record": ({"files": MODULE, "record": lambda lines: None}, "it has no hostile-1.0"),
    "wrong-hash": (
        {"files": MODULE, "record": _wrong_hash},
        "hostile/__init__.py does not match its RECORD hash and size",
    ),
    "record-extra": (
        {"files": MODULE, "record": lambda lines: [*lines, GHOST]},
        "RECORD lists hostile/ghost.py, which the wheel does not hold",
    ),
    "unlisted": (
        {"files": {**MODULE, "hostile_init.pth": PTH_CONTENT}, "record": _without_pth},
        "hostile_init.pth is not listed in RECORD",
    ),
    "two-dist-info": (
        {"files": {**MODULE, "other-1.0.dist-info/METADATA": b"Name: other\n"}},
        "exactly one hostile-1.0.dist-info (found: hostile-1.0.dist-info, other-1.0.dist-info)",
    ),
    "dist-info-mismatch": (
        {"files": MODULE, "dist_info": "other-1.0.dist-info"},
        "exactly one hostile-1.0.dist-info (found: other-1.0.dist-info)",
    ),
    "symlink": (
        {"files": MODULE, "symlinks": {"hostile/link.py": "/etc/passwd"}},
        "hostile/link.py is a symbolic link",
    ),
    "wheel-version": ({"files": MODULE, "wheel_version": "2.0"}, "Wheel-Version 2.0"),
    "self-declared-editable": (
        {"files": {**MODULE, "hostile-1.0.dist-info/direct_url.json": b"{}"}},
        "direct_url.json is written by installers",
    ),
}


def hostile(dest: Path, case: str) -> tuple[Path, str]:
    kwargs, expected = HOSTILE[case]
    return build_wheel(dest, "hostile", "1.0", **kwargs), expected


# --- the checks themselves (no pip) ----------------------------------------------------------
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_each_hostile_wheel_is_refused(case: str, tmp_path: Path) -> None:
    wheel, expected = hostile(tmp_path, case)
    with pytest.raises(IntegrityError) as caught:
        check_wheel(wheel, wheel.name)
    assert expected in caught.value.message
    assert caught.value.message.startswith(f"refusing to install {wheel.name}: ")
    assert caught.value.hint is not None and "nothing was installed" in caught.value.hint


def test_well_formed_wheels_pass(tmp_path: Path) -> None:
    files = {
        **MODULE,
        "hostile-1.0.data/scripts/run": b"#!python\n",
        "hostile-1.0.data/purelib/extra.py": b"",
        "hostile-1.0.data/data/share/x": b"",
        "hostile-1.0.data/headers/h.h": b"",
    }
    for wheel in (
        build_wheel(tmp_path / "a", "hostile", "1.0", files=files),
        build_wheel(tmp_path / "b", "Hostile.Name", "2.0.post1", tag="py2.py3-none-any"),
        build_wheel(tmp_path / "c", "hostile", "1.0", wheel_version="1.9"),
    ):
        assert wheel_problems(wheel, wheel.name) == []


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    files = {**MODULE, "../evil": b"x", "hostile-1.0.data/bogus/x": b"x"}
    wheel = build_wheel(tmp_path, "hostile", "1.0", files=files, record=_wrong_hash)
    problems = wheel_problems(wheel, wheel.name)
    assert len(problems) == 3, problems
    with pytest.raises(IntegrityError) as caught:
        check_wheel(wheel, wheel.name)
    assert all(p in caught.value.message for p in problems)


def test_zip_bomb_is_refused_before_reading_a_member(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel = build_wheel(tmp_path, "hostile", "1.0", files={"hostile/big.bin": b"\0" * 4096})
    monkeypatch.setattr(wheelcheck, "MAX_UNPACKED_BYTES", 1024)
    (problem,) = wheel_problems(wheel, wheel.name)
    assert problem.startswith("it has 4 members unpacking to ") and "above the limits" in problem
    monkeypatch.setattr(wheelcheck, "MAX_MEMBERS", 3)
    assert "above the limits" in wheel_problems(wheel, wheel.name)[0]


def test_not_a_zip(tmp_path: Path) -> None:
    wheel = tmp_path / "hostile-1.0-py3-none-any.whl"
    wheel.write_bytes(b"PK\3\4 not really")
    assert "not a readable zip archive" in wheel_problems(wheel, wheel.name)[0]


# --- through the real install path -----------------------------------------------------------
@pytest.fixture(scope="module")
def clean_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_venv(tmp_path_factory.mktemp("clean") / "venv")


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_install_refuses_a_hostile_wheel_and_changes_nothing(
    case: str, cli: Cli, clean_venv: Path, index_server: IndexServer, tmp_path: Path
) -> None:
    wheel, expected = hostile(tmp_path / "dists", case)
    txt, _ = write_locks(tmp_path / "lock", [locked(index_server, wheel)])
    policy = write_policy(tmp_path / "safeinstall.toml", index_server.index_url("a"))
    before = snapshot(clean_venv)
    result = cli("install", "--policy", policy, "-r", txt, "--python", clean_venv)
    assert result.code == 1, result.err
    assert expected in result.err
    assert "Traceback" not in result.err
    assert snapshot(clean_venv) == before


@pytest.mark.slow
def test_download_refuses_a_hostile_wheel_and_copies_nothing(
    cli: Cli, index_server: IndexServer, tmp_path: Path
) -> None:
    good = locked(index_server, build_wheel(tmp_path / "dists", "alpha", "1.0"))
    bad, expected = hostile(tmp_path / "dists", "traversal")
    txt, _ = write_locks(tmp_path / "lock", [good, locked(index_server, bad)])
    policy = write_policy(tmp_path / "safeinstall.toml", index_server.index_url("a"))
    dest = tmp_path / "wheels"
    result = cli("download", "--policy", policy, txt, "-d", dest, "--python", sys.executable)
    assert result.code == 1
    assert expected in result.err
    assert not dest.exists() or not list(dest.iterdir())
