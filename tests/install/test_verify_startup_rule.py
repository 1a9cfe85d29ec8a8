"""The start-up file rule (install/startup.py) and its policy key, `startup-files`.

The known texts are held to the sha256 of the files real releases install: setuptools'
``distutils-precedence.pth`` as a fresh Python 3.11 venv has it (setuptools 65.5) and as
setuptools 50.1-59 wrote it, coverage's ``a1_coverage.pth`` of 7.13.1 and later (LF, and CRLF as
its wheels built on Windows hold it).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from safeinstall.errors import PolicyConfigError
from safeinstall.install.startup import (
    RULES,
    StartupOwner,
    is_editable,
    known_startup_file,
    startup_code,
)
from safeinstall.policy.load import load_policy
from safeinstall.policy.model import STARTUP_BUILTINS, Policy, StartupFile

SETUPTOOLS = (
    b"import os; var = 'SETUPTOOLS_USE_DISTUTILS'; enabled = os.environ.get(var, 'local') == "
    b"'local'; enabled and __import__('_distutils_hack').add_shim(); \n"
)
SETUPTOOLS_59 = SETUPTOOLS.replace(b"(var, 'local')", b"(var, 'stdlib')")
COVERAGE = (
    b'import sys; exec(\'import os\\n\\nif os.getenv("COVERAGE_PROCESS_START") or '
    b'os.getenv("COVERAGE_PROCESS_CONFIG"):\\n try:\\n  import coverage\\n except:\\n  pass\\n '
    b'else:\\n  coverage.process_startup(slug="pth")\')\n'
)
FINDER = "__editable___my_proj_1_0_finder"
EDITABLE = f"import {FINDER}; {FINDER}.install()".encode()


def owner(name: str, *files: str, editable: bool = False) -> StartupOwner:
    return StartupOwner(name, frozenset(files), editable)  # type: ignore[arg-type]


SETUPTOOLS_OWNER = owner("setuptools", "distutils-precedence.pth")
EDITABLE_OWNER = owner("my-proj", "__editable__.my_proj-1.0.pth", f"{FINDER}.py", editable=True)


def known(file: str, data: bytes, by: StartupOwner | None, allowed: object = None) -> bool:
    rules = STARTUP_BUILTINS if allowed is None else allowed
    return known_startup_file(file, data, by, rules)  # type: ignore[arg-type]


def test_known_texts_are_those_real_releases_install() -> None:
    assert hashlib.sha256(SETUPTOOLS).hexdigest() == (
        "2638ce9e2500e572a5e0de7faed6661eb569d1b696fcba07b0dd223da5f5d224"
    )
    assert hashlib.sha256(SETUPTOOLS_59).hexdigest() == (
        "7ea7ffef3fe2a117ee12c68ed6553617f0d7fd2f0590257c25c484959a3b7373"
    )
    assert hashlib.sha256(COVERAGE).hexdigest() == (
        "ef2ed06d19867ec669c09a804060666a9cd5e383af0a9d11aa2de79b77d448e8"
    )
    crlf = COVERAGE.replace(b"\n", b"\r\n")
    assert hashlib.sha256(crlf).hexdigest() == (
        "f1498191b7f52180654ccdb6195233612805e26344100c093058343ea04afd36"
    )
    assert known("distutils-precedence.pth", SETUPTOOLS, SETUPTOOLS_OWNER)
    assert known("distutils-precedence.pth", SETUPTOOLS_59, SETUPTOOLS_OWNER)
    assert known("distutils-precedence.pth", SETUPTOOLS.rstrip(b"\n"), SETUPTOOLS_OWNER)
    assert known("a1_coverage.pth", COVERAGE, owner("coverage", "a1_coverage.pth"))
    assert known("a1_coverage.pth", crlf, owner("coverage", "a1_coverage.pth"))


def test_the_builtin_names_the_policy_knows_are_the_rules() -> None:
    assert set(RULES) == set(STARTUP_BUILTINS)
    assert Policy().startup_files == STARTUP_BUILTINS  # the shipped default: all of them


@pytest.mark.parametrize(
    "data",
    [
        SETUPTOOLS + b"import evil\n",  # an extra import line
        b"import evil\n" + SETUPTOOLS,
        SETUPTOOLS.replace(b"add_shim()", b"add_shim() or __import__('evil')"),
        SETUPTOOLS + b"\n",  # nothing runs, but it is not the known file either
        SETUPTOOLS.replace(b"\n", b"\x0cimport evil\n"),
    ],
)
def test_a_setuptools_file_with_other_content_is_not_known(data: bytes) -> None:
    assert startup_code(data) is not None
    assert not known("distutils-precedence.pth", data, SETUPTOOLS_OWNER)


def test_the_known_text_under_another_owner_or_name_or_none_is_not_known() -> None:
    assert not known("distutils-precedence.pth", SETUPTOOLS, owner("sneaky"))
    assert not known("distutils-precedence.pth", SETUPTOOLS, None)
    assert not known("zz-precedence.pth", SETUPTOOLS, owner("setuptools"))
    assert not known("a1_coverage.pth", COVERAGE, owner("setuptools"))


def test_an_editable_finder_of_a_verified_project() -> None:
    file = "__editable__.my_proj-1.0.pth"
    assert known(file, EDITABLE, EDITABLE_OWNER)
    assert not known(file, EDITABLE, owner("my-proj", f"{FINDER}.py"))  # not an editable install
    assert not known(file, EDITABLE, owner("other", f"{FINDER}.py", editable=True))
    assert not known(file, EDITABLE, owner("my-proj", editable=True))  # its finder is not its own
    assert not known(file, EDITABLE + b"; import evil", EDITABLE_OWNER)
    other = b"import evil; evil.install()"
    assert not known(file, other, owner("my-proj", "evil.py", editable=True))
    assert not known("__editable__.other-1.0.pth", EDITABLE, EDITABLE_OWNER)


@pytest.mark.parametrize(
    ("direct_url", "editable"),
    [
        ('{"url": "file:///p", "dir_info": {"editable": true}}', True),
        ('{"url": "file:///p", "dir_info": {"editable": "true"}}', False),
        ('{"url": "file:///p", "dir_info": {}}', False),
        ('{"url": "file:///p.whl", "archive_info": {}}', False),
        ('[{"dir_info": {"editable": true}}]', False),
        ("{not json", False),
        (None, False),
    ],
)
def test_an_editable_install_is_what_direct_url_json_says(
    tmp_path: Path, direct_url: str | None, editable: bool
) -> None:
    if direct_url is not None:
        (tmp_path / "direct_url.json").write_text(direct_url)
    assert is_editable(tmp_path) is editable


def test_policy_entries_replace_the_default() -> None:
    coverage = owner("coverage", "a1_coverage.pth")
    assert not known("distutils-precedence.pth", SETUPTOOLS, SETUPTOOLS_OWNER, ())
    assert not known("distutils-precedence.pth", SETUPTOOLS, SETUPTOOLS_OWNER, ("coverage",))
    assert known("a1_coverage.pth", COVERAGE, coverage, ("coverage",))
    data = b"import acme_hook\n"
    entry = StartupFile("acme", "acme.pth", hashlib.sha256(data).hexdigest())
    assert known("acme.pth", data, owner("acme", "acme.pth"), (entry,))
    assert not known("acme.pth", data + b"import evil\n", owner("acme", "acme.pth"), (entry,))
    assert not known("acme.pth", data, owner("other", "acme.pth"), (entry,))
    assert not known("acme.pth", data, None, (entry,))


# -- the `startup-files` key ---------------------------------------------------------------------
def load(tmp_path: Path, body: str) -> Policy:
    path = tmp_path / "safeinstall.toml"
    path.write_text(body, encoding="utf-8")
    return load_policy(str(path), environ={})


def test_key_default_extends_and_empty_allows_none(tmp_path: Path) -> None:
    sha = "AB" * 32
    entry = f'{{ owner = "Acme_Hooks", file = "acme.pth", sha256 = "{sha}" }}'
    body = f'startup-files = ["default", {entry}]'
    assert load(tmp_path, body).startup_files == (
        *STARTUP_BUILTINS,
        StartupFile("acme-hooks", "acme.pth", sha.lower()),
    )
    assert load(tmp_path, "startup-files = []").startup_files == ()
    assert load(tmp_path, 'startup-files = ["setuptools"]').startup_files == ("setuptools",)
    assert load(tmp_path, "").startup_files == STARTUP_BUILTINS


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('startup-files = "default"', "'startup-files' must be an array"),
        ('startup-files = ["setuptool"]', "'setuptool' is not \"default\", 'setuptools'"),
        ('startup-files = [{ owner = "a", file = "a.pth" }]', "'sha256' of a.pth must be 64 hex"),
        (
            f'startup-files = [{{ owner = "a", file = "../a.pth", sha256 = "{"a" * 64}" }}]',
            "'file' must be a .pth file name",
        ),
        (
            f'startup-files = [{{ owner = "a", file = "a.py", sha256 = "{"a" * 64}" }}]',
            "'file' must be a .pth file name",
        ),
        (
            f'startup-files = [{{ file = "a.pth", sha256 = "{"a" * 64}" }}]',
            "'owner' must be the name of the package",
        ),
        (
            f'startup-files = [{{ owner = "a", file = "a.pth", sha = "{"a" * 64}" }}]',
            "unknown key 'sha' in 'startup-files' (did you mean 'sha256'?)",
        ),
    ],
)
def test_key_problems_name_the_line(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(PolicyConfigError) as info:
        load(tmp_path, "\n" + body + "\n")
    assert message in str(info.value)
    where = info.value.location
    assert (where is not None and where.line == 2) or "safeinstall.toml:2: " in str(info.value)
