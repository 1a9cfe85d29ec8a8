"""Patterns measured on the most-downloaded projects' wheels (bench/scan_bench.py) that a code
rule flagged although they do nothing hostile, rebuilt in real wheels: each must pass, and the
hostile form next to it must still be found."""

from __future__ import annotations

from pathlib import Path

import pytest

from safeinstall.inspect.rules import WARN
from tests.inspect.hostile import PAYLOAD, wheel
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
