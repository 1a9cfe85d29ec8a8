"""The start-up code rule against the real ``site`` module of each Python (a test oracle).

Whatever a ``.pth`` file makes ``site`` run, on any supported interpreter, ``startup_code`` must
find: a file it passes is installed and verified as harmless. Hundreds of files bend the line
that runs (a UTF-8 BOM, which 3.13 drops; every line break some reader knows; leading blanks and
comments; bytes that are not UTF-8; a file longer than what is read of it) and each interpreter's
own ``site.addsitedir`` processes them all; every file whose code ran must be one the rule flags.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import pytest

from safeinstall.install.startup import MAX_PTH_BYTES, startup_code
from tests.support.pythons import interpreter

PREFIXES = [b"", b"\xef\xbb\xbf", b"# a comment\n", b"\xff\xfe\n", b"some/dir\n"]
BREAKS = [b"\n", b"\r", b"\r\n", b"\x0c", b"\x0b", b"\x1c", b"\x85", b"\xc2\x85", b"\xe2\x80\xa8"]
LEADS = [b"import", b" import", b"#import", b"\xef\xbb\xbfimport", b"IMPORT"]
GAPS = [b" ", b"\t", b"\x0c", b""]


def corpus(mark: Path) -> dict[str, bytes]:
    """File name -> bytes; each file's code, if run, appends the file's name to ``mark``."""
    files = {}
    for number, (prefix, brk, lead, gap) in enumerate(
        itertools.product(PREFIXES, BREAKS, LEADS, GAPS)
    ):
        name = f"f{number:04d}.pth"
        code = f"os; open({str(mark)!r}, 'a').write({name!r} + chr(10))".encode()
        files[name] = prefix + b"x" + brk + lead + gap + code + b"\n"
    tail = f"import os; open({str(mark)!r}, 'a').write('long.pth' + chr(10))\n".encode()
    files["long.pth"] = b"\n" * MAX_PTH_BYTES + tail  # the line that runs lies past the cap
    return files


@pytest.mark.slow
@pytest.mark.parametrize("version", ["3.11", "3.12", "3.13"])
def test_every_pth_file_site_runs_is_flagged(tmp_path: Path, version: str) -> None:
    python = sys.executable if version == "3.11" else interpreter(version)
    mark = tmp_path / "ran.txt"
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    files = corpus(mark)
    for name, data in files.items():
        (site_dir / name).write_bytes(data)
    # each file on its own, as site.addsitedir reads it (a file it cannot decode stops the rest)
    script = (
        "import os, site, sys\n"
        "for name in sorted(os.listdir(sys.argv[1])):\n"
        "    try:\n"
        "        site.addpackage(sys.argv[1], name, set())\n"
        "    except Exception:\n"
        "        pass\n"
    )
    subprocess.run(
        [python, "-I", "-S", "-c", script, str(site_dir)],
        capture_output=True,  # site reports the lines that fail; those are not run
        env={"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"},
        check=False,
        timeout=300,
    )
    ran = set(mark.read_text().split()) if mark.exists() else set()
    assert len(ran) >= 20  # the corpus does run code: the comparison means something
    missed = sorted(name for name in ran if startup_code(files[name]) is None)
    assert missed == [], [files[name][:40] for name in missed]
    if version == "3.13":
        assert "long.pth" in ran and any(files[n].startswith(b"\xef\xbb\xbfx") for n in ran)


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"\xef\xbb\xbfimport os\n", "line 1 starts with import"),  # 3.13 drops the BOM
        (b"some/dir\x85import os\n", "not UTF-8"),  # NEL in a Latin-1 locale
        (b"some/dir\xc2\x85import os\n", "line 2 starts with import"),  # NEL in UTF-8
        (b"a\rimport\tos\n", "line 2 starts with import"),
        (b"\n" * MAX_PTH_BYTES + b"import os\n", "larger than 1 MiB"),
    ],
)
def test_code_however_it_is_hidden_is_found(data: bytes, why: str) -> None:
    found = startup_code(data)
    assert found is not None and why in found[1]


@pytest.mark.parametrize(
    "data", [b"", b"some/dir\n", b"# import os\n", b" import os\n", b"importos\n", b"../up\r\n"]
)
def test_paths_and_comments_run_nothing(data: bytes) -> None:
    assert startup_code(data) is None
