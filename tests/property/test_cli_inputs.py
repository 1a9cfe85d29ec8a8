"""Bad input is an input error, never an internal one: every reader, fed through the CLI.

Hypothesis writes requirement files, pyproject.toml, pylock.toml, requirements.txt locks and
policies from realistic lines, then mutates them (brackets, ports, NUL, look-alike letters, huge
numbers, stray brackets and braces, wrong TOML types). Whatever it writes, each command must end
with 0, 1 or 2 and no traceback: exit code 3 on an input is a bug (the CLI's contract).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tomlkit
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.support.fixtures import Result

HEX = "0123456789abcdef"
DIGEST = "a" * 64
POLICY = 'indexes = [{ name = "local", url = "https://127.0.0.1/simple" }]\n'

# Hosts and ports as written, and as mistyped: out-of-range and non-numeric ports, unclosed and
# invalid IPv6 brackets, characters that NFKC folds into URL delimiters.
GOOD_HOST = st.sampled_from(["127.0.0.1", "127.0.0.1:8080", "[::1]", "[::1]:8443", "localhost"])
BAD_HOST = st.sampled_from(
    [
        "127.0.0.1:99999",
        "127.0.0.1:x",
        "127.0.0.1:-1",
        "127.0.0.1:",
        "127.0.0.1:" + "9" * 30,
        "[::1",
        "::1]",
        "[zz]",
        "[]",
        "u:p@127.0.0.1",
        "u:p@127.0.0.1:99999",
        "u@[::1",
        "h\uff03x",
        "h\u2100",
        "\u0430.test",
        "",
    ]
)
HOST = st.one_of(GOOD_HOST, BAD_HOST)
GOOD_URL = st.builds(
    lambda h, p: f"https://{h}{p}", GOOD_HOST, st.sampled_from(["/simple", "/f/foo-1.0.tar.gz"])
)
SCHEME = st.sampled_from(["https", "http", "file", "git+https", "ftp", "HTTPS", "hg+ssh", "x"])
PATH = st.sampled_from(["/simple", "/", "", "/pkg-1.0-py3-none-any.whl", "/a#egg=x", "/%zz?q#f"])
URL = st.one_of(GOOD_URL, st.builds(lambda s, h, p: f"{s}://{h}{p}", SCHEME, HOST, PATH))
BAD_URL = st.builds(lambda h, p: f"https://{h}{p}", BAD_HOST, PATH)

# What a mutation inserts somewhere in a valid line or value.
FRAGMENT = st.one_of(
    st.sampled_from(
        [
            *("[", "]", "{", "}", ":99999", ":x", ":", "\x00", "\u0430", "\uff03", "9" * 40),
            *("@", "#", "\\", " ", "%", "\t", "//", "[::1", "\ufeff", "\r", ";", "'", '"'),
            *("==", "${X}", "*", "!", "\n", ",", "=", "-", "[[packages]]", "\\\n"),
        ]
    ),
    st.text(max_size=4),
)


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[str]) -> str:
    """A value from ``base``, half of the time with a fragment inserted or a slice replaced."""
    text = draw(base)
    if not text or draw(st.booleans()):
        return text
    start = draw(st.integers(0, len(text)))
    end = draw(st.integers(start, min(len(text), start + 3)))
    return text[:start] + draw(FRAGMENT) + text[end:]


GOOD_NAME = st.sampled_from(["foo", "Foo_Bar", "a.b", "x1", "demo", "bar"])
NAME = st.one_of(GOOD_NAME, st.sampled_from(["f\u043eo", "-x", "a" * 80, ""]))
GOOD_VERSION = st.sampled_from(["1.0", "2.0.0rc1", "1!2.0", "1.0+local", "1.0.post1"])
VERSION = st.one_of(GOOD_VERSION, st.sampled_from(["1.*", "9" * 30, "x", "", "1.0-"]))
GOOD_MARKER = st.sampled_from(
    [
        'python_version >= "3.8"',
        "sys_platform == 'linux'",
        "platform_machine == 'x86_64' or implementation_name == \"cpython\"",
    ]
)
MARKER = st.one_of(
    GOOD_MARKER,
    st.sampled_from(
        [
            'extra == "test"',
            "python_version >= '3.8' and",
            "os_name ==",
            "(",
            "python_version > '" + "9" * 40 + "'",
            "python_full_version == '3.11.*.*'",
            "python_version ~= '3'",
        ]
    ),
)
GOOD_HASH = st.just(f"--hash=sha256:{DIGEST}")
HASH = st.one_of(
    GOOD_HASH,
    st.builds(
        lambda a, d: f"--hash={a}:{d}",
        st.sampled_from(["sha256", "sha512", "md5", "SHA256", ""]),
        st.sampled_from([DIGEST, "b" * 128, "zz", "", "A" * 64]),
    ),
)

GOOD_DEPENDENCY = st.one_of(
    st.builds(lambda n, v: f"{n}=={v}", GOOD_NAME, GOOD_VERSION),
    st.builds(lambda n, m: f"{n}>=1 ; {m}", GOOD_NAME, GOOD_MARKER),
    st.builds(lambda n, u: f"{n} @ {u}", GOOD_NAME, GOOD_URL),
)
DEPENDENCY = st.one_of(
    st.builds(lambda n, v: f"{n}=={v}", NAME, VERSION),
    st.builds(lambda n, m: f"{n}>=1 ; {m}", NAME, MARKER),
    st.builds(lambda n, u: f"{n} @ {u}", NAME, URL),
)
REQUIREMENT_LINE = st.one_of(
    DEPENDENCY,
    st.builds(lambda n, v, h: f"{n}=={v} {h}", NAME, VERSION, HASH),
    URL,
    URL.map(lambda u: f"-i {u}"),
    URL.map(lambda u: f"--index-url={u}"),
    URL.map(lambda u: f"--extra-index-url {u}"),
    URL.map(lambda u: f"--find-links {u}"),
    URL.map(lambda u: f"-f {u}"),
    URL.map(lambda u: f"-e {u}"),
    HOST.map(lambda h: f"--trusted-host {h}"),
    st.sampled_from(
        [
            "# a comment",
            "",
            "-e ./local",
            "./local/pkg",
            "-e git+https://127.0.0.1/r.git#egg=r",
            "--no-binary :all:",
            "--pre",
            "-r missing.txt",
            "-c missing.txt",
            "foo[bar,baz]==1.0",
            "foo==1.0 \\",
            "--hash=sha256:" + DIGEST,
        ]
    ),
)


def requirements_text() -> st.SearchStrategy[str]:
    return st.lists(mutated(REQUIREMENT_LINE), min_size=1, max_size=6).map(
        lambda lines: "\n".join(lines) + "\n"
    )


# --- TOML documents: a valid document with one or two values replaced by odd ones ------------

ODD_VALUE = st.one_of(
    st.integers(-(2**70), 2**70),
    st.booleans(),
    st.builds(list),  # fresh containers: a shared one could be put inside itself
    st.builds(dict),
    st.builds(lambda: [1, "x"]),
    st.builds(lambda: {"a": 1}),
    st.just(1.5),
    st.text(max_size=6),
    BAD_URL,
    URL,
    MARKER,
    VERSION,
    NAME,
)


def _leaves(value: Any, out: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Every (container, key) of a document, containers included."""
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, inner in items:
        out.append((value, key))
        if isinstance(inner, dict | list):
            _leaves(inner, out)
    return out


@st.composite
def broken(draw: st.DrawFn, document: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any]:
    """A document from ``document`` with up to two values replaced by odd values or mutated."""
    doc = draw(document)
    for _ in range(draw(st.integers(0, 2))):
        container, key = draw(st.sampled_from(_leaves(doc, [])))
        old = container[key]
        if isinstance(old, str) and draw(st.booleans()):
            container[key] = draw(mutated(st.just(old)))
        else:
            container[key] = draw(ODD_VALUE)
    return doc


def toml_text(document: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[str]:
    def dumped(doc: dict[str, Any]) -> str:
        try:
            return tomlkit.dumps(doc)
        except (ValueError, TypeError):  # tomlkit refuses some mixes: keep it empty
            return ""

    docs = broken(document).map(dumped)
    return st.one_of(docs, mutated(docs))  # and the bytes themselves, broken anywhere


@st.composite
def pyproject_doc(draw: st.DrawFn) -> dict[str, Any]:
    dep = GOOD_DEPENDENCY
    groups = st.sampled_from(["dev", "test", "docs", "missing", "Dev"])
    group_item = st.one_of(dep, groups.map(lambda g: {"include-group": g}))
    return {
        "project": {
            "name": "demo",
            "version": "1.0",
            "dependencies": draw(st.lists(dep, max_size=3)),
            "optional-dependencies": {"extra1": draw(st.lists(dep, max_size=2))},
        },
        "dependency-groups": {
            "dev": draw(st.lists(group_item, max_size=3)),
            "test": draw(st.lists(group_item, max_size=3)),
        },
    }


def _file(url: str, name: str) -> dict[str, Any]:
    return {"name": name, "url": url, "size": 100, "hashes": {"sha256": DIGEST}}


@st.composite
def pylock_doc(draw: st.DrawFn) -> dict[str, Any]:
    name, version = draw(GOOD_NAME), draw(GOOD_VERSION)
    stem = f"{name.replace('-', '_')}-{version}"
    package = {
        "name": name,
        "version": version,
        "marker": draw(GOOD_MARKER),
        "index": "https://127.0.0.1/simple",
        "dependencies": [{"name": "bar"}],
        "wheels": [
            _file(f"https://127.0.0.1/f/{stem}-py3-none-any.whl", f"{stem}-py3-none-any.whl")
        ],
        "sdist": _file(f"https://127.0.0.1/f/{stem}.tar.gz", f"{stem}.tar.gz"),
        "tool": {
            "safeinstall": {
                "index-name": "local",
                "via": ["bar", "requirements.in:1"],
                "license": "MIT",
                "yanked-reason": "x",
            }
        },
    }
    bar = {
        "name": "bar",
        "version": "2.0",
        "index": "https://127.0.0.1/simple",
        "wheels": [
            _file("https://127.0.0.1/f/bar-2.0-py3-none-any.whl", "bar-2.0-py3-none-any.whl")
        ],
    }
    return {
        "lock-version": "1.0",
        "environments": [draw(GOOD_MARKER)],
        "requires-python": ">=3.8",
        "created-by": "safeinstall",
        "packages": [package, bar],
        "tool": {"safeinstall": {"digest": "sha256:" + DIGEST}},
    }


@st.composite
def policy_doc(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "indexes": [
            {"name": "local", "url": draw(GOOD_URL), "packages": ["acme-*"]},
            {"name": "other", "url": draw(GOOD_URL), "file-hosts": [draw(GOOD_HOST)]},
        ],
        "sdists": ["legacy-pkg"],
        "yanked": {"oldpkg==1.2": "pinned"},
        "prereleases": ["acme-*"],
        "min-release-age": draw(st.sampled_from(["7 days", "36h", "P7D"])),
        "allow": ["*", "django>=4.2"],
        "deny": ["*-nightly"],
        "licenses": {"allow": ["MIT", "Apache-2.0"]},
        "environments": [draw(GOOD_MARKER)],
        "direct-references": ["internal-*"],
        "find-links": [draw(GOOD_URL)],
        "trusted-hosts": [draw(GOOD_HOST)],
        "audit": {"ignore": [{"id": "GHSA-0000", "reason": "x", "until": "2099-01-01"}]},
    }


# --- requirements.txt locks: the header lines and comments the lock reader understands --------

LOCK_HEADER = st.one_of(
    st.just(f"# safeinstall-digest: sha256:{DIGEST}"),
    st.sampled_from(["# safeinstall-digest: ", "# safeinstall-digest: x"]),
    GOOD_MARKER.map(lambda m: f"# environment: {m}"),
    MARKER.map(lambda m: f"# environment: {m}"),
    st.sampled_from(["# This file was generated by safeinstall; do not edit it by hand.", "#"]),
)


@st.composite
def lock_package(draw: st.DrawFn) -> str:
    good = draw(st.booleans())
    hashes = draw(
        st.lists((GOOD_HASH if good else HASH).map(lambda h: f"    {h}"), min_size=1, max_size=2)
    )
    marker = draw(
        st.one_of(st.just(""), (GOOD_MARKER if good else MARKER).map(lambda m: f" ; {m}"))
    )
    name, version = draw(GOOD_NAME if good else NAME), draw(GOOD_VERSION if good else VERSION)
    lines = [f"{name}=={version}{marker} \\"]
    lines += [h + " \\" for h in hashes[:-1]] + hashes[-1:]
    lines += draw(
        st.lists(
            st.sampled_from(
                [
                    *("    # via bar, requirements.in:3", "    # via", "    # license: MIT"),
                    *("    # license: (", "    # yanked, allowed by the policy: x", "    # via ,"),
                    *("    # via foo", "    # license: MIT OR", "    # license: " + "x" * 300),
                ]
            ),
            max_size=2,
        )
    )
    return "\n".join(lines)


def lock_text() -> st.SearchStrategy[str]:
    lines = st.tuples(
        st.lists(mutated(LOCK_HEADER), max_size=3),
        st.lists(lock_package(), max_size=3),
    )
    text = lines.map(lambda parts: "\n".join(parts[0] + parts[1]) + "\n")
    return st.one_of(text, mutated(text))


# --- the harness ---------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty repository with a policy that names its index (no pip configuration asked)."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "policy.toml").write_text(POLICY)
    (tmp_path / "osv").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def assert_handled(result: Result, *argv: str) -> None:
    assert result.code in (0, 1, 2), (argv, result.code, result.err)
    assert "Traceback" not in result.err, (argv, result.err)
    assert "internal error" not in result.err, (argv, result.err)


Cli = Callable[..., Result]
SETTINGS = settings(
    max_examples=int(os.environ.get("SAFEINSTALL_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def write(path: Path, text: str) -> None:
    path.write_bytes(text.encode("utf-8", "surrogatepass"))


def run(cli: Cli, *argv: str) -> None:
    result = cli(*argv)
    event(f"{argv[0]}: exit {result.code}")
    assert_handled(result, *argv)


@SETTINGS
@given(text=requirements_text())
def test_requirement_files(cli: Cli, project: Path, text: str) -> None:
    write(project / "requirements.in", text)
    write(project / "requirements.txt", text)
    (project / "out.txt").write_text("# safeinstall-digest: sha256:00\n")
    run(cli, "check", "--policy", "policy.toml", "requirements.in", "requirements.txt")
    run(cli, "lock", "--policy", "policy.toml", "--check", "requirements.in", "-o", "out.txt")


@SETTINGS
@given(text=toml_text(pyproject_doc()), group=st.sampled_from(["", "dev", "test", "missing"]))
def test_pyproject(cli: Cli, project: Path, text: str, group: str) -> None:
    write(project / "pyproject.toml", text)
    (project / "out.txt").write_text("# safeinstall-digest: sha256:00\n")
    run(cli, "check", "--policy", "policy.toml", "pyproject.toml")
    groups = ["--group", group] if group else []
    run(
        cli,
        "lock",
        "--policy",
        "policy.toml",
        "--check",
        "pyproject.toml",
        "-o",
        "out.txt",
        *groups,
    )
    run(
        cli,
        "lock",
        "--policy",
        "policy.toml",
        "--check",
        "pyproject.toml",
        "-o",
        "out.txt",
        "--all-extras",
    )


@SETTINGS
@given(text=toml_text(pylock_doc()))
def test_pylock(cli: Cli, project: Path, text: str) -> None:
    write(project / "pylock.toml", text)
    run(cli, "check", "--policy", "policy.toml", "pylock.toml")
    run(cli, "sbom", "--policy", "policy.toml", "pylock.toml")
    run(cli, "tree", "--policy", "policy.toml", "pylock.toml")
    run(cli, "audit", "--policy", "policy.toml", "--db", "osv", "pylock.toml")


@SETTINGS
@given(text=toml_text(policy_doc()))
def test_policy(cli: Cli, project: Path, text: str) -> None:
    write(project / "safeinstall.toml", text)
    (project / "requirements.txt").write_text(f"foo==1.0 --hash=sha256:{DIGEST}\n")
    (project / "out.txt").write_text("# safeinstall-digest: sha256:00\n")
    (project / "requirements.in").write_text("foo\n")
    run(cli, "check", "--policy", "safeinstall.toml", "requirements.txt")
    run(cli, "lock", "--policy", "safeinstall.toml", "--check", "requirements.in", "-o", "out.txt")


@SETTINGS
@given(text=lock_text(), other=lock_text())
def test_requirements_txt_locks(cli: Cli, project: Path, text: str, other: str) -> None:
    write(project / "requirements.txt", text)
    write(project / "old.txt", other)
    run(cli, "tree", "--policy", "policy.toml", "requirements.txt")
    run(cli, "sbom", "--policy", "policy.toml", "requirements.txt")
    run(cli, "audit", "--policy", "policy.toml", "--db", "osv", "requirements.txt")
    run(cli, "diff", "--policy", "policy.toml", "old.txt", "requirements.txt")
    run(cli, "check", "--policy", "policy.toml", "requirements.txt")
