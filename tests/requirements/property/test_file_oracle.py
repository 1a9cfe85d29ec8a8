"""Our parser against pip's own (imported here as a test oracle only, never by safeinstall).

Hypothesis writes requirement files pip accepts (names, extras, specifiers, markers, hashes,
per-requirement and global options, comments, continuations, odd spacing) and both parsers
must agree on what every line means and on which line it starts.
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
from pip._internal.req.req_file import (
    RequirementsFileParser,
    get_line_parser,
)
from pip._internal.req.req_file import (
    parse_requirements as pip_parse_requirements,
)

from safeinstall.errors import InputError
from safeinstall.requirements.file import RequirementsFile, parse_requirements

NAME = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,6}[A-Za-z0-9])?", fullmatch=True)
VERSION = st.from_regex(
    r"[0-9]{1,2}(\.[0-9]{1,2}){1,2}((a|b|rc)[0-9]|\.post1|\.dev2)?", fullmatch=True
)
SPEC = st.tuples(st.sampled_from(["==", "!=", ">=", "<=", ">", "<", "~="]), VERSION).map("".join)
MARKER = st.sampled_from(
    [
        'python_version >= "3.8"',
        "sys_platform == 'linux'",
        'os_name != "nt" and platform_machine == "x86_64"',
        '(python_version < "3.12" or implementation_name == "cpython")',
        'extra == "test"',
    ]
)
HEX = st.text("0123456789abcdef", min_size=8, max_size=64)
HASH = st.tuples(st.sampled_from(["sha256", "sha384", "sha512"]), HEX).map(":".join)
# A space, or a continuation; a tab before an option makes both parsers refuse the line.
GAP = st.sampled_from([" ", "  ", " \\\n  ", " \\\n", " \\\n\t"])
COMMENT = st.sampled_from(["", "  # note", " #--hash=sha256:00 hidden", " # a \\ b"])
HOST = st.sampled_from(["example.com", "example.org:8080", "127.0.0.1"])
GLOBAL = st.one_of(
    HOST.map(lambda h: f"-i https://{h}/simple"),
    HOST.map(lambda h: f"--index-url=https://{h}/simple"),
    HOST.map(lambda h: f"--extra-index-url https://{h}/s"),
    HOST.map(lambda h: f"--trusted-host {h}"),
    HOST.map(lambda h: f"-f https://{h}/links"),
    st.sampled_from(["--no-index", "--pre", "--prefer-binary", "--require-hashes"]),
    st.sampled_from(["--only-binary :all:", "--no-binary=foo", "--use-feature fast-deps"]),
    st.sampled_from(["--find-links=./wheels", "--pre --no-index"]),
)


@st.composite
def requirement(draw: st.DrawFn) -> str:
    name = draw(NAME)
    text = name
    extras = draw(st.lists(NAME, max_size=2))
    if extras:
        text += "[" + ",".join(extras) + "]"
    if draw(st.booleans()):
        text += f" @ https://example.com/{name}-1.0.tar.gz"
        if draw(st.booleans()):
            text += " "  # packaging needs a space between a URL and ";"
    else:
        text += draw(st.sampled_from(["", " "])) + ",".join(draw(st.lists(SPEC, max_size=2)))
    if draw(st.booleans()):
        text += draw(st.sampled_from([";", " ; ", "; "])) + draw(MARKER)
    for hash_value in draw(st.lists(HASH, max_size=3)):
        text += draw(GAP) + draw(st.sampled_from(["--hash=", "--hash "])) + hash_value
    for key in draw(st.lists(NAME, max_size=1)):
        text += draw(GAP) + draw(st.sampled_from(["-C ", "--config-settings="])) + f"{key}=v"
    return text + draw(COMMENT)


URL_FORM = st.one_of(
    NAME.map(lambda n: f"https://example.com/p/{n}-1.0-py3-none-any.whl"),
    NAME.map(lambda n: f"https://example.com/p/x.tar.gz#egg={n}"),
    NAME.map(lambda n: f"git+https://example.com/r.git@v1#egg={n}"),
    NAME.map(lambda n: f"-e git+https://example.com/r.git#egg={n}"),
    NAME.map(lambda n: f"--editable=hg+https://example.com/r#egg={n}"),
    st.just('https://example.com/p/a.zip; sys_platform == "linux"'),
)
LINE = st.one_of(requirement(), URL_FORM, GLOBAL, st.just("# only a comment"), st.just(""))


def pip_view(path: Path) -> tuple[list[Any], list[Any]]:
    session = PipSession()
    requirements = []
    for parsed in pip_parse_requirements(str(path), session=session):
        ireq = install_req_from_parsed_requirement(parsed)
        options = parsed.options or {}
        requirements.append(
            (
                int((parsed.line_source or "").split()[1]),
                ireq.editable,
                canonicalize_name(ireq.req.name) if ireq.req else None,
                str(ireq.req.specifier) if ireq.req else "",
                # extras are a set of canonical names: [B,b] is one extra
                sorted({canonicalize_name(e) for e in ireq.req.extras}) if ireq.req else [],
                str(ireq.markers) if ireq.markers else None,
                ireq.link.url if ireq.link else None,
                {k: sorted(v) for k, v in options.get("hashes", {}).items()},
                options.get("config_settings") or {},
            )
        )
    option_lines = []
    for line in RequirementsFileParser(session, get_line_parser(None)).parse(str(path), False):
        if line.requirement is None:
            option_lines.append((line.lineno, _pip_options(line.opts)))
    return requirements, option_lines


def _pip_options(opts: Any) -> dict[str, Any]:
    found: dict[str, Any] = {
        "--index-url": [opts.index_url] if opts.index_url else [],
        "--extra-index-url": opts.extra_index_urls,
        "--find-links": opts.find_links,
        "--trusted-host": opts.trusted_hosts,
        # --use-feature is left out: pip's default list is shared, so values leak across lines.
        "--no-binary": sorted(opts.format_control.no_binary),
        "--only-binary": sorted(opts.format_control.only_binary),
    }
    for flag in ("no_index", "pre", "prefer_binary", "require_hashes"):
        found["--" + flag.replace("_", "-")] = bool(getattr(opts, flag))
    return found


def our_view(result: RequirementsFile) -> tuple[list[Any], list[Any]]:
    requirements = []
    for req in result.requirements:
        hashes: dict[str, list[str]] = {}
        for pin in req.hashes:
            hashes.setdefault(pin.algorithm, []).append(pin.digest)
        requirements.append(
            (
                req.location.line,
                req.editable,
                req.name,
                str(req.specifier),
                sorted(req.extras),
                str(req.marker) if req.marker else None,
                req.url,
                {k: sorted(v) for k, v in hashes.items()},
                dict(value.split("=", 1) for _, value in req.options),
            )
        )
    by_line: dict[int | None, list[tuple[str, str | None]]] = {}
    for option in result.options:
        by_line.setdefault(option.location.line, []).append((option.name, option.value))
    return requirements, [(line, _our_options(pairs)) for line, pairs in by_line.items()]


def _our_options(pairs: list[tuple[str, str | None]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name in ("--index-url", "--extra-index-url", "--find-links", "--trusted-host"):
        found[name] = [value for key, value in pairs if key == name]
    for name in ("--no-binary", "--only-binary"):
        values = [str(value) for key, value in pairs if key == name]
        found[name] = sorted({canonicalize_name(v) if v != ":all:" else v for v in values})
    for name in ("--no-index", "--pre", "--prefer-binary", "--require-hashes"):
        found[name] = any(key == name for key, _ in pairs)
    return found


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("oracle")


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(lines=st.lists(LINE, max_size=8), newline=st.sampled_from(["\n", "\r\n"]))
def test_same_meaning_as_pip(workdir: Path, lines: list[str], newline: str) -> None:
    path = workdir / "requirements.txt"
    path.write_bytes(("\n".join(lines) + "\n").replace("\n", newline).encode())
    try:
        expected = pip_view(path)
    except InstallationError:
        event("pip refused the file")
        with pytest.raises(InputError):
            parse_requirements(path)
        return
    event("pip accepted the file")
    assert our_view(parse_requirements(path)) == expected
