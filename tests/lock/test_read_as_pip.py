"""The requirements.txt lock reader against pip's own parser (a test oracle only).

`install` takes its packages from the lock reader; `pip install -r requirements.txt` in a
Dockerfile, and `verify`, `audit`, `sbom` and `diff` on the same file, must mean the same packages.
Hypothesis writes locks the way a hand (or an attacker) might bend them: continuations with and
without a space before the backslash, comment lines inside a continued line, trailing comments,
blank lines, CRLF, a BOM, a coding header. Whenever the lock reader accepts a file, pip reads the
same packages from it: the same names, versions, markers and hashes, in the same order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from packaging.utils import canonicalize_name
from pip._internal.exceptions import InstallationError
from pip._internal.network.session import PipSession
from pip._internal.req.constructors import install_req_from_parsed_requirement
from pip._internal.req.req_file import parse_requirements as pip_parse_requirements
from pip._vendor.packaging.specifiers import Specifier

from safeinstall.errors import InputError
from safeinstall.lock.read import read_lock_file

NAMES = st.sampled_from(["demo", "Other_Pkg", "zope.interface", "a"])
VERSIONS = st.sampled_from(["1.0", "2.31.0", "0.1rc1", "1!2.0"])
MARKERS = st.sampled_from(["", ' ; python_version >= "3.8"', "; sys_platform == 'linux'"])
DIGESTS = st.sampled_from(["a" * 64, "b" * 64, "c" * 64, "0123456789" * 6 + "abcd"])
# what may stand between two parts of an entry: a space, or a continuation of either kind
GAP = st.sampled_from([" ", " \\\n    ", "\\\n    ", " \\\n", "\\\n"])
# what may be put on a line of its own between two parts of a continued entry
INSIDE = st.sampled_from(["", "# a comment\n", "    # indented \\\n", "\n"])
TRAILING = st.sampled_from(["", "  # trailing", " #--hash=sha256:" + "d" * 64])
BETWEEN = st.sampled_from(["", "\n", "# via demo\n", "    # license: MIT\n", "# note \\\n"])
HEAD = st.sampled_from(["", "\ufeff", "# -*- coding: utf-8 -*-\n", "# coding: latin-1\n"])


@st.composite
def entry(draw: st.DrawFn) -> str:
    text = draw(NAMES) + "==" + draw(VERSIONS) + draw(MARKERS)
    for digest in draw(st.lists(DIGESTS, min_size=1, max_size=3, unique=True)):
        gap = draw(GAP)
        if gap.endswith("\n") or gap.endswith("    "):
            gap = gap.replace("\n", "\n" + draw(INSIDE), 1)
        text += gap + draw(st.sampled_from(["--hash=", "--hash "])) + "sha256:" + digest
    return text + draw(TRAILING) + "\n" + draw(BETWEEN)


def pip_view(path: Path) -> list[tuple[Any, ...]]:
    out = []
    for parsed in pip_parse_requirements(str(path), session=PipSession()):
        ireq = install_req_from_parsed_requirement(parsed)
        assert ireq.req is not None
        specs: list[Specifier | None] = [*ireq.req.specifier] or [None]
        [spec] = specs
        hashes = (parsed.options or {}).get("hashes", {})
        out.append(
            (
                canonicalize_name(ireq.req.name),
                spec.version if spec is not None and spec.operator == "==" else None,
                str(ireq.markers) if ireq.markers else None,
                sorted(hashes.get("sha256", [])),
                sorted(k for k in hashes if k != "sha256"),
            )
        )
    return out


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("as-pip")


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    head=HEAD,
    entries=st.lists(entry(), min_size=1, max_size=4),
    newline=st.sampled_from(["\n", "\r\n"]),
)
def test_what_the_lock_reader_accepts_pip_reads_alike(
    workdir: Path, head: str, entries: list[str], newline: str
) -> None:
    path = workdir / "requirements.txt"
    text = head + "".join(entries)
    path.write_bytes(text.replace("\n", newline).encode("latin-1" if "latin" in head else "utf-8"))
    try:
        lock = read_lock_file(path)
    except InputError:
        event("the lock reader refused")
        return
    event("the lock reader accepted")
    ours: list[tuple[str, str, str | None, list[str], list[str]]] = [
        (p.name, str(p.version), p.marker, sorted(f.sha256 for f in p.files), [])
        for p in lock.packages
    ]
    try:
        theirs = pip_view(path)
    except InstallationError as exc:
        raise AssertionError(f"pip refuses what the lock reader read as {ours}: {exc}") from None
    assert ours == [(n, v, m, h, other) for n, v, m, h, other in theirs]


def test_a_comment_line_ends_a_continued_entry_as_it_does_for_pip(tmp_path: Path) -> None:
    """pip reads `demo==1.0` unhashed here (the `--hash` line is an option line of its own, which
    it ignores): the lock reader used to skip the comment and join the hash to the pin."""
    path = tmp_path / "requirements.txt"
    path.write_text(f"demo==1.0 \\\n# a comment\n    --hash=sha256:{'a' * 64}\n")
    with pytest.raises(InputError, match="demo has no hash"):
        read_lock_file(path)


def test_a_lock_that_pip_would_decode_otherwise_is_refused(tmp_path: Path) -> None:
    """In UTF-7, `+AAo-` is a line break: pip would read a second package from this comment."""
    path = tmp_path / "requirements.txt"
    hidden = f"# coding: utf-7\n# note +AAo-evil==1.0 --hash=sha256:{'b' * 64}\n"
    path.write_bytes((hidden + f"demo==1.0 --hash=sha256:{'a' * 64}\n").encode())
    assert len(pip_view(path)) == 2
    with pytest.raises(InputError, match="declares encoding 'utf-7'"):
        read_lock_file(path)


def test_a_bom_and_trailing_comments_read_as_pip_reads_them(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    text = f"demo==1.0 \\\n    --hash=sha256:{'a' * 64}  # why\n"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    [pkg] = read_lock_file(path).packages
    assert (pkg.name, [f.sha256 for f in pkg.files]) == ("demo", ["a" * 64])
