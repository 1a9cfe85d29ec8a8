"""Patterns measured on the most-downloaded projects' wheels (bench/scan_bench.py) that a code
rule flagged although they do nothing hostile, rebuilt in real wheels: each must pass, and the
hostile form next to it must still be found."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from safeinstall.inspect.rules import WARN
from tests.inspect.hostile import PAYLOAD, rewritten, wheel
from tests.inspect.test_rules import rules, scan

# numpy/_core/tests/test_arrayprint.py: a float parsed from hex in one test, and a repr
# evaluated back in another; the two ``a`` are different local variables
SEPARATE_FUNCTIONS = b"""import numpy as np

def test_float_from_hex():
    a = np.float64.fromhex('-1p-97')
    assert a < 0

def test_repr_round_trip():
    a = np.zeros(3)
    assert eval(repr(a), vars(np)) is not None
"""

DECODED = f"__import__('zlib').decompress(__import__('base64').b64decode('{PAYLOAD}'))"
HIDDEN_THROUGH_SCOPES = {
    "module name, used in a function": f"code = {DECODED}\n\ndef run():\n    exec(code)\n",
    "enclosing function's name": (
        f"def outer():\n    code = {DECODED}\n\n    def inner():\n        exec(code)\n\n"
        "    inner()\n"
    ),
    "same function": f"def run():\n    code = {DECODED}\n    exec(code)\n",
    "global set in one function, run in another": (
        f"def load():\n    global code\n    code = {DECODED}\n\ndef run():\n    exec(code)\n"
    ),
    "through a second name": (f"def run():\n    raw = {DECODED}\n    code = raw\n    exec(code)\n"),
}


def test_a_name_decoded_in_one_function_does_not_taint_another(tmp_path: Path) -> None:
    found = scan([wheel(tmp_path, "fp-numpy", {"fp_numpy/tests.py": SEPARATE_FUNCTIONS})])
    assert found.findings == ()


@pytest.mark.parametrize("case", sorted(HIDDEN_THROUGH_SCOPES))
def test_decoded_data_run_through_a_visible_name_is_found(tmp_path: Path, case: str) -> None:
    source = HIDDEN_THROUGH_SCOPES[case].encode()
    found = scan([wheel(tmp_path, "evil-pkg", {"evil_pkg/run.py": source})])
    assert rules(found) == {("code-exec-decoded", WARN)}


# botocore/session.py: the user agent names the AWS execution environment; pyarrow's test
# conftest reads where the AWS config file is. Neither is a secret.
AWS_SETTINGS = b"""import os
import socket

def user_agent():
    env = os.environ.get('AWS_EXECUTION_ENV')
    region = os.getenv('AWS_REGION')
    config = os.environ['AWS_CONFIG_FILE']
    return f'{env} {region} {config}'

def probe(host):
    return socket.create_connection((host, 443))
"""


def test_aws_settings_that_are_not_secrets_are_not_secrets(tmp_path: Path) -> None:
    found = scan([wheel(tmp_path, "fp-aws", {"fp_aws/session.py": AWS_SETTINGS})])
    assert found.findings == ()


@pytest.mark.parametrize(
    "variable", ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID"]
)
def test_aws_credentials_sent_are_still_found(tmp_path: Path, variable: str) -> None:
    source = AWS_SETTINGS.replace(b"AWS_REGION", variable.encode())
    found = scan([wheel(tmp_path, "evil-pkg", {"evil_pkg/session.py": source})])
    assert rules(found) == {("code-secrets-sent", WARN)}


# PyQt5 ships its Qt libraries and its sip module as the wheels PyQt5-Qt5 and PyQt5-sip, which
# install into PyQt5/, the package PyQt5 owns; PyQt5 requires both (the treeherder lock).
def qt_wheels(tmp_path: Path, requires: tuple[str, ...]) -> list[Path]:
    owner = wheel(
        tmp_path / "o",
        "pyqt5",
        {"PyQt5/__init__.py": b"", "PyQt5/QtCore.abi3.so": b"\x7fELF"},
        requires_dist=requires,
    )
    qt = wheel(tmp_path / "q", "pyqt5-qt5", {"PyQt5/Qt5/lib/libQt5Core.so.5": b"\x7fELF"})
    sip = wheel(tmp_path / "s", "pyqt5-sip", {"PyQt5/sip.cpython-311-x86_64-linux-gnu.so": b""})
    return [owner, qt, sip]


def test_wheels_the_package_owner_requires_may_write_into_it(tmp_path: Path) -> None:
    requires = ("PyQt5-sip (>=12.15, <13)", "PyQt5-Qt5 (>=5.15.2, <5.16.0)")
    assert scan(qt_wheels(tmp_path, requires)).findings == ()


def test_a_wheel_the_owner_does_not_require_still_clobbers(tmp_path: Path) -> None:
    found = scan(qt_wheels(tmp_path, ("PyQt5-sip (>=12.15, <13)",)))
    assert [(f.rule, f.package) for f in found.blocked] == [("clobber-package", "pyqt5-qt5")]


def test_a_requirement_hidden_in_a_header_value_lets_no_wheel_write_into_it(
    tmp_path: Path,
) -> None:
    """After a form feed, "Requires-Dist: PyQt5-Qt5" is part of the owner's Summary for the
    email parser: the owner does not require that wheel, which still clobbers."""
    owner, qt, sip = qt_wheels(tmp_path, ("PyQt5-sip (>=12.15, <13)",))
    meta = next(n for n in zipfile.ZipFile(owner).namelist() if n.endswith("/METADATA"))
    old = zipfile.ZipFile(owner).read(meta)
    new = old.replace(b"\nName:", b"\nSummary: Qt\x0cRequires-Dist: PyQt5-Qt5\nName:", 1)
    assert new != old
    found = scan([rewritten(owner, "METADATA", old, new), qt, sip])
    assert [(f.rule, f.package) for f in found.blocked] == [("clobber-package", "pyqt5-qt5")]


def test_requiring_the_owner_does_not_let_a_wheel_write_into_it(tmp_path: Path) -> None:
    owner = wheel(tmp_path / "o", "victim", {"victim/__init__.py": b""})
    evil = wheel(tmp_path / "e", "evil-pkg", {"victim/hook.py": b""}, requires_dist=("victim",))
    found = scan([owner, evil])
    assert [(f.rule, f.package) for f in found.blocked] == [("clobber-package", "evil-pkg")]


# django/conf/locale/fa/formats.py (the treeherder lock): a right-to-left mark in a date format
# string, as Unicode's UTS #55 recommends for RTL text in literals. The marks (LRM, RLM, ALM) set
# no embedding or override: only the explicit controls reorder code (Trojan Source).
RTL_FORMATS = 'SHORT_DATETIME_FORMAT = "Y/n/j\u060c\u200f G:i"\nLABEL = "\u200eA"  # \u061c\n'


def test_directional_marks_in_strings_and_comments_pass(tmp_path: Path) -> None:
    source = RTL_FORMATS.encode()
    found = scan([wheel(tmp_path, "fp-django", {"fp_django/formats.py": source})])
    assert found.findings == ()


@pytest.mark.parametrize(
    "source",
    [
        'FORMAT = "Y/n/j\u202e G:i"\n',  # an override in a string
        'FORMAT = "Y"  # \u2067 isolate\n',  # an isolate in a comment
        'FORMAT\u200f = "Y"\n',  # a mark in a name: two names that look the same
    ],
)
def test_explicit_controls_anywhere_and_marks_in_names_are_found(
    tmp_path: Path, source: str
) -> None:
    found = scan([wheel(tmp_path, "evil-pkg", {"evil_pkg/formats.py": source.encode()})])
    assert rules(found) == {("code-hidden-chars", WARN)}


# passlib/tests/test_apache.py (the dev wheelhouse): an invalid escape sequence is a warning
# when parsed, which a warnings filter set to "error" (pytest's here, -W error for a user) would
# turn into "does not parse".
def test_a_warning_while_parsing_is_not_a_parse_failure(tmp_path: Path) -> None:
    source = b'import re\nPATTERN = re.compile("\\(x\\)")\nexec(compile("1", "f", "eval"))\n'
    found = scan([wheel(tmp_path, "fp-escape", {"fp_escape/test_apache.py": source})])
    assert found.findings == ()
