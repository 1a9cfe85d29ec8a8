"""What one requirement names: PEP 508 requirements and pip's URL, VCS, path and -e forms."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.specifiers import SpecifierSet

from safeinstall.requirements.file import HashPin
from tests.support.reqfile import one, refused

H1 = "sha256:" + "a" * 64


def test_named_requirement_fields(tmp_path: Path) -> None:
    req = one(tmp_path, f'Foo_Bar[Socks, Sec.Urity]>=1,<2 ; python_version >= "3.8" --hash={H1}\n')
    assert req.kind == "named"
    assert (req.name, req.raw_name) == ("foo-bar", "Foo_Bar")
    assert req.specifier == SpecifierSet(">=1,<2")
    assert req.extras == frozenset({"socks", "sec-urity"})
    assert req.marker == Marker('python_version >= "3.8"')
    assert req.url is None
    assert not req.editable
    assert not req.constraint
    assert req.hashes == (HashPin("sha256", "a" * 64),)
    assert req.options == ()
    assert req.line == f'Foo_Bar[Socks, Sec.Urity]>=1,<2 ; python_version >= "3.8" --hash={H1}'


def test_plain_name_has_empty_specifier_and_no_marker(tmp_path: Path) -> None:
    req = one(tmp_path, "requests\n")
    assert (req.specifier, req.marker, req.extras) == (SpecifierSet(), None, frozenset())


def test_hash_algorithm_is_lowercased_not_judged(tmp_path: Path) -> None:
    req = one(tmp_path, "foo==1 --hash=SHA256:ABC --hash=md5:x --hash=foo:\n")
    assert req.hashes == (HashPin("sha256", "ABC"), HashPin("md5", "x"), HashPin("foo", ""))


def test_hash_without_colon_is_refused(tmp_path: Path) -> None:
    assert "has no ':'" in refused(tmp_path, "foo==1 --hash=abcdef\n").message


@pytest.mark.parametrize(
    ("text", "option"),
    [
        ("foo==1 --config-settings k=v", ("--config-settings", "k=v")),
        ("foo==1 -C k=v", ("--config-settings", "k=v")),
        ("foo==1 --config=k=v", ("--config-settings", "k=v")),
        ("foo==1 --global-option=--x", ("--global-option", "--x")),
        ("foo==1 --install-option --prefix=/x", ("--install-option", "--prefix=/x")),
    ],
)
def test_per_requirement_options_are_recorded(
    tmp_path: Path, text: str, option: tuple[str, str]
) -> None:
    assert one(tmp_path, text + "\n").options == (option,)


def test_config_settings_needs_key_value(tmp_path: Path) -> None:
    assert "KEY=VALUE" in refused(tmp_path, "foo==1 -C novalue\n").message


@pytest.mark.parametrize(
    ("text", "kind", "name", "url"),
    [
        (
            "foo @ https://example.com/foo-1.tar.gz",
            "url",
            "foo",
            "https://example.com/foo-1.tar.gz",
        ),
        ("foo@file:///src/foo", "url", "foo", "file:///src/foo"),
        (
            "foo @ git+https://example.com/f.git@main",
            "vcs",
            "foo",
            "git+https://example.com/f.git@main",
        ),
        (
            "https://example.com/x.tar.gz#egg=Bar_B",
            "url",
            "bar-b",
            "https://example.com/x.tar.gz#egg=Bar_B",
        ),
        ("https://example.com/a/b.zip", "url", None, "https://example.com/a/b.zip"),
        ("file:///src/dir", "url", None, "file:///src/dir"),
        (
            "git+https://example.com/r.git@v1#egg=r",
            "vcs",
            "r",
            "git+https://example.com/r.git@v1#egg=r",
        ),
        ("hg+https://example.com/r", "vcs", None, "hg+https://example.com/r"),
        ("svn+svn://example.com/r#egg=s", "vcs", "s", "svn+svn://example.com/r#egg=s"),
        ("bzr+lp:proj#egg=b", "vcs", "b", "bzr+lp:proj#egg=b"),
        ("./dir", "path", None, "./dir"),
        ("../up/dir", "path", None, "../up/dir"),
        ("/abs/dir", "path", None, "/abs/dir"),
        ("sub/dir", "path", None, "sub/dir"),
        ("foo-1.0.tar.gz", "path", None, "foo-1.0.tar.gz"),
    ],
)
def test_url_vcs_and_path_forms(
    tmp_path: Path, text: str, kind: str, name: str | None, url: str
) -> None:
    req = one(tmp_path, text + "\n")
    assert (req.kind, req.name, req.url, req.editable) == (kind, name, url, False)


def test_wheel_url_names_project_and_version_like_pip(tmp_path: Path) -> None:
    req = one(tmp_path, "https://example.com/p/Foo_Bar-1.2-py3-none-any.whl\n")
    assert (req.kind, req.name, req.raw_name) == ("url", "foo-bar", "Foo_Bar")
    assert req.specifier == SpecifierSet("==1.2")


def test_wheel_path_and_bad_wheel_name(tmp_path: Path) -> None:
    assert one(tmp_path, "./w/foo-2.0-py3-none-any.whl\n").specifier == SpecifierSet("==2.0")
    assert "invalid wheel file name" in refused(tmp_path, "./w/not-a-wheel.whl\n").message


def test_url_marker_needs_semicolon_space(tmp_path: Path) -> None:
    req = one(tmp_path, 'https://example.com/x.zip; sys_platform == "linux"\n')
    assert (req.url, req.marker) == ("https://example.com/x.zip", Marker('sys_platform == "linux"'))


def test_path_with_extras_and_marker(tmp_path: Path) -> None:
    req = one(tmp_path, './dir[a,B] ; os_name == "posix"\n')
    assert (req.kind, req.url, req.extras) == ("path", "./dir", frozenset({"a", "b"}))
    assert req.marker == Marker('os_name == "posix"')


@pytest.mark.parametrize(
    ("text", "kind", "name", "url"),
    [
        ("-e .", "path", None, "."),
        ("-e ./dir[x]", "path", None, "./dir"),
        ("--editable=./dir", "path", None, "./dir"),
        (
            "-e git+https://example.com/r.git#egg=r",
            "vcs",
            "r",
            "git+https://example.com/r.git#egg=r",
        ),
        ("-e git://example.com/r.git#egg=r", "vcs", "r", "git://example.com/r.git#egg=r"),
        ("-e 'r @ git+https://example.com/r.git'", "vcs", "r", "git+https://example.com/r.git"),
        ("-e file:///src/p#egg=p", "url", "p", "file:///src/p#egg=p"),
    ],
)
def test_editable_forms(tmp_path: Path, text: str, kind: str, name: str | None, url: str) -> None:
    req = one(tmp_path, text + "\n")
    assert (req.kind, req.name, req.url, req.editable) == (kind, name, url, True)


def test_editable_config_settings(tmp_path: Path) -> None:
    assert one(tmp_path, "-e . -C a=b\n").options == (("--config-settings", "a=b"),)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("-e https://example.com/x.tar.gz", "cannot be installed in editable mode"),
        ("-e 'x @ https://example.com/x.tar.gz'", "cannot be installed in editable mode"),
        ("-e git+https://example.com/r.git", "does not name its project"),
        ("https://example.com/x.zip#egg=a/b", "not a valid project name"),
        ("foo[ex tra]==1", "invalid requirement"),
        ("foo = 1", "invalid requirement"),
        ("foo==1 ; os.system('x')", "invalid environment marker"),
        ("https://example.com/x.zip; os.system('x')", "invalid environment marker"),
        ("http://[::1/x.zip", "malformed URL"),
    ],
)
def test_malformed_requirements(tmp_path: Path, text: str, fragment: str) -> None:
    error = refused(tmp_path, "ok==1\n" + text + "\n")
    assert fragment in error.message
    assert error.location is not None
    assert error.location.line == 2


def test_marker_error_names_the_requirement(tmp_path: Path) -> None:
    error = refused(tmp_path, "requests==1.0 ; os.system('x')\n")
    assert "\"os.system('x')\" on 'requests==1.0'" in error.message


def test_non_ascii_name_names_each_character(tmp_path: Path) -> None:
    error = refused(tmp_path, "r\u0435qu\u0435sts==2.32.3\n")  # Cyrillic small ie, twice
    assert "U+0435 CYRILLIC SMALL LETTER IE" in error.message
    assert error.message.count("U+0435") == 1
    assert "ASCII only" in error.message


def test_non_ascii_in_egg_name(tmp_path: Path) -> None:
    error = refused(tmp_path, "https://example.com/x.zip#egg=\u0440ip\n")
    assert "U+0440 CYRILLIC SMALL LETTER ER" in error.message


def test_editable_in_constraints_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "c.txt").write_text("-e ./x\n")
    error = refused(tmp_path, "-c c.txt\n")
    assert "not allowed in a constraints file" in error.message
    assert error.location is not None
    assert error.location.path.endswith("c.txt")
