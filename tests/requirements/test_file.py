"""Whole files: bytes, encodings, size limits, includes, roots, symlinks, the text entry point."""

from __future__ import annotations

import codecs
import os
from pathlib import Path

import pytest

from safeinstall.errors import InputError, Location
from safeinstall.requirements.file import parse_requirements, parse_requirements_text
from safeinstall.requirements.syntax import MAX_FILE_BYTES, MAX_LINE_BYTES
from tests.support.reqfile import parse, refused, write


def names(result: object) -> list[str | None]:
    return [r.raw_name for r in result.requirements]  # type: ignore[attr-defined]


# -- bytes and encodings ---------------------------------------------------------------------


def test_utf8_bom_is_stripped(tmp_path: Path) -> None:
    assert names(parse(tmp_path, codecs.BOM_UTF8 + b"foo==1\n")) == ["foo"]


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32", "utf-32-le"])
def test_utf16_and_utf32_with_bom(tmp_path: Path, codec: str) -> None:
    data = "foo==1\nbar==2\n".encode(codec)
    if codec.endswith(("-be", "-le")):
        bom = {"utf-16-be": codecs.BOM_UTF16_BE, "utf-32-le": codecs.BOM_UTF32_LE}[codec]
        data = bom + data
    assert names(parse(tmp_path, data)) == ["foo", "bar"]


@pytest.mark.parametrize("header", ["# -*- coding: utf-8 -*-", "# vim: set fileencoding=UTF8 :"])
def test_utf8_coding_header_is_accepted(tmp_path: Path, header: str) -> None:
    assert names(parse(tmp_path, f"{header}\nfoo==1\n")) == ["foo"]


@pytest.mark.parametrize("declared", ["latin-1", "cp1252", "no-such-codec"])
def test_other_coding_header_is_refused(tmp_path: Path, declared: str) -> None:
    error = refused(tmp_path, f"#!x\n# coding: {declared}\nfoo==1\n".encode())
    assert f"declares encoding {declared!r}" in error.message
    assert error.location is not None
    assert error.location.line == 2


def test_coding_header_after_line_two_is_ignored_like_pip(tmp_path: Path) -> None:
    assert names(parse(tmp_path, "a==1\n\n# coding: latin-1\n")) == ["a"]


def test_invalid_utf8_names_the_line_of_the_first_bad_byte(tmp_path: Path) -> None:
    error = refused(tmp_path, b"a==1\nb==2\nc\xe9==3\n\xff\n")
    assert "not valid UTF-8" in error.message
    assert "0xe9" in error.message
    assert error.location is not None
    assert error.location.line == 3


def test_binary_data_is_refused(tmp_path: Path) -> None:
    data = bytes(range(1, 256)) * 8
    assert "not valid UTF-8" in refused(tmp_path, data).message


def test_nul_byte_is_refused_with_its_line(tmp_path: Path) -> None:
    error = refused(tmp_path, b"a==1\nb==2\x00\n")
    assert "NUL" in error.message
    assert error.location is not None
    assert error.location.line == 2


def test_nul_before_bad_utf8_is_reported_as_nul(tmp_path: Path) -> None:
    error = refused(tmp_path, b"a==1\n\x00\x01binary\xff\xfe\x00")
    assert "NUL" in error.message
    assert error.location is not None
    assert error.location.line == 2


def test_nul_in_utf16_is_refused(tmp_path: Path) -> None:
    assert "NUL" in refused(tmp_path, "a==1\x00\n".encode("utf-16")).message


def test_broken_utf16_is_refused(tmp_path: Path) -> None:
    assert "not valid UTF-16-LE" in refused(tmp_path, codecs.BOM_UTF16_LE + b"a\x00b").message


# -- sizes --------------------------------------------------------------------------------------


def test_file_over_16_mib_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    with path.open("wb") as stream:  # sparse: 200 MB on paper, nothing on disk
        stream.truncate(200 * 1024 * 1024)
    with pytest.raises(InputError, match="larger than 16 MiB"):
        parse_requirements(path)


def test_file_of_exactly_16_mib_is_read(tmp_path: Path) -> None:
    line = b"# " + b"x" * 1000 + b"\n"
    body = b"foo==1\n" + line * ((MAX_FILE_BYTES - 7) // len(line))
    body += b"#" * (MAX_FILE_BYTES - len(body))
    assert len(body) == MAX_FILE_BYTES
    assert names(parse(tmp_path, body)) == ["foo"]


def test_ten_megabyte_line_is_refused(tmp_path: Path) -> None:
    error = refused(tmp_path, "a==1\nfoo==1 " + "x" * 10_000_000 + "\n")
    assert "longer than 1024 KiB" in error.message
    assert error.location is not None
    assert error.location.line == 2


def test_long_line_built_from_continuations_is_refused(tmp_path: Path) -> None:
    chunk = "x" * 100_000 + " \\\n"
    error = refused(tmp_path, "foo==1 \\\n" + chunk * 12 + "end\n")
    assert "longer than" in error.message


def test_multibyte_line_is_measured_in_bytes(tmp_path: Path) -> None:
    text = "# " + "\u00e9" * (MAX_LINE_BYTES // 2) + "\n"  # fewer chars than the limit, more bytes
    assert "longer than" in refused(tmp_path, text).message


# -- the file itself ----------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist") as info:
        parse_requirements(tmp_path / "nope.txt")
    assert info.value.location == Location(str(tmp_path / "nope.txt"))


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a directory"):
        parse_requirements(tmp_path)


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "foo==1\n")

    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "open", denied)  # chmod 0 does not stop root, who runs CI here
    with pytest.raises(InputError, match="cannot be read: Permission denied"):
        parse_requirements(path)


def test_remote_top_file_is_refused() -> None:
    with pytest.raises(InputError, match="remote requirements file"):
        parse_requirements("https://example.com/requirements.txt")


def test_path_is_kept_as_given_in_locations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "foo==1\n", "reqs/base.txt")
    monkeypatch.chdir(tmp_path)
    result = parse_requirements("reqs/base.txt")
    assert result.path == "reqs/base.txt"
    assert result.requirements[0].location == Location("reqs/base.txt", 1)


# -- includes -----------------------------------------------------------------------------------


def test_includes_are_expanded_in_place_relative_to_the_including_file(tmp_path: Path) -> None:
    write(tmp_path, "b==1\n-c ../constraints.txt\nc==1\n", "sub/b.txt")
    write(tmp_path, "pin==1\n", "constraints.txt")
    top = write(tmp_path, "a==1\n-r sub/b.txt\n--requirement=sub/b.txt\nz==1\n")
    result = parse_requirements(top)
    assert names(result) == ["a", "b", "pin", "c", "b", "pin", "c", "z"]
    assert [r.constraint for r in result.requirements] == [0, 0, 1, 0, 0, 1, 0, 0]
    pin = result.requirements[2]
    assert pin.location == Location(os.path.join(str(tmp_path), "sub", "../constraints.txt"), 1)
    assert result.files == (
        str(top),
        os.path.join(str(tmp_path), "sub/b.txt"),
        os.path.join(str(tmp_path), "sub", "../constraints.txt"),
    )


def test_requirement_include_inside_a_constraints_file_is_not_a_constraint(tmp_path: Path) -> None:
    # pip installs what a -c file pulls in with -r, so it is reported as a requirement.
    write(tmp_path, "x<2\n-r r.txt\n-c c2.txt\n", "c.txt")
    write(tmp_path, "installed==1\n", "r.txt")
    write(tmp_path, "limited<3\n", "c2.txt")
    result = parse(tmp_path, "-c c.txt\n")
    assert [(r.raw_name, r.constraint) for r in result.requirements] == [
        ("x", True),
        ("installed", False),
        ("limited", True),
    ]


def test_missing_include_names_the_including_line(tmp_path: Path) -> None:
    error = refused(tmp_path, "a==1\n-r missing.txt\n")
    assert "does not exist" in error.message
    assert error.location == Location(str(tmp_path / "requirements.txt"), 2)


@pytest.mark.parametrize(
    "include",
    ["-r https://example.com/x.txt", "-c http://example.com/c.txt", "-r file:///etc/passwd"],
)
def test_remote_include_is_refused(tmp_path: Path, include: str) -> None:
    error = refused(tmp_path, include + "\n")
    assert "remote requirements file" in error.message


def test_include_cycle_is_named(tmp_path: Path) -> None:
    write(tmp_path, "-r b.txt\n", "a.txt")
    write(tmp_path, "x==1\n-r a.txt\n", "b.txt")
    with pytest.raises(InputError, match="cycle") as info:
        parse_requirements(tmp_path / "a.txt")
    assert f"{tmp_path}/a.txt -> {tmp_path}/b.txt -> {tmp_path}/a.txt" in info.value.message
    assert info.value.location == Location(f"{tmp_path}/b.txt", 2)


def test_self_include_is_a_cycle(tmp_path: Path) -> None:
    assert "cycle" in refused(tmp_path, "-r ./requirements.txt\n").message


def test_diamond_includes_are_not_a_cycle(tmp_path: Path) -> None:
    write(tmp_path, "d==1\n", "d.txt")
    write(tmp_path, "-r d.txt\n", "b.txt")
    write(tmp_path, "-r d.txt\n", "c.txt")
    assert names(parse(tmp_path, "-r b.txt\n-r c.txt\n")) == ["d", "d"]


def test_include_explosion_is_bounded(tmp_path: Path) -> None:
    for level in range(12):  # 2**12 reads without the bound
        write(tmp_path, f"-r f{level + 1}.txt\n-r f{level + 1}.txt\n", f"f{level}.txt")
    write(tmp_path, "x==1\n", "f12.txt")
    with pytest.raises(InputError, match="more than 1000"):
        parse_requirements(tmp_path / "f0.txt")


def test_include_escaping_the_repository_is_refused(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    write(tmp_path, "evil==1\n", "outside.txt")
    write(repo, "ok==1\n", "sub/inner.txt")
    top = write(repo, "-r inner.txt\n-r ../../outside.txt\n", "sub/requirements.txt")
    with pytest.raises(InputError, match="outside") as info:
        parse_requirements(top)
    assert info.value.location == Location(str(top), 2)


def test_include_up_to_the_repository_root_is_allowed(tmp_path: Path) -> None:
    (tmp_path / ".git").write_text("gitdir: elsewhere\n")  # a worktree's .git is a file
    write(tmp_path, "base==1\n", "base.txt")
    top = write(tmp_path, "-r ../base.txt\n", "sub/requirements.txt")
    assert names(parse_requirements(top)) == ["base"]


def test_without_git_the_root_is_the_top_file_directory(tmp_path: Path) -> None:
    write(tmp_path, "up==1\n", "up.txt")
    top = write(tmp_path, "-r ../up.txt\n", "sub/requirements.txt")
    with pytest.raises(InputError, match="outside"):
        parse_requirements(top)
    assert names(parse_requirements(top, root=tmp_path)) == ["up"]


def test_symlinked_include_escaping_root_is_refused(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    write(tmp_path, "evil==1\n", "outside.txt")
    (repo / "link.txt").symlink_to(tmp_path / "outside.txt")
    error = refused(repo, "-r link.txt\n")
    assert "resolves to" in error.message
    assert str(tmp_path / "outside.txt") in error.message


def test_symlinked_include_inside_root_is_followed(tmp_path: Path) -> None:
    write(tmp_path, "real==1\n", "real/r.txt")
    (tmp_path / "link.txt").symlink_to(tmp_path / "real" / "r.txt")
    assert names(parse(tmp_path, "-r link.txt\n")) == ["real"]


def test_symlink_loop_is_refused(tmp_path: Path) -> None:
    (tmp_path / "loop.txt").symlink_to(tmp_path / "loop.txt")
    assert "symlink loop" in refused(tmp_path, "-r loop.txt\n").message


def test_symlinked_top_file_pointing_outside_root_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "evil==1\n", "elsewhere/r.txt")
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "requirements.txt").symlink_to(tmp_path / "elsewhere" / "r.txt")
    with pytest.raises(InputError, match="outside"):
        parse_requirements(repo / "requirements.txt")


# -- text entry point ---------------------------------------------------------------------------


def test_parse_text_uses_the_given_name_and_anchors_includes(tmp_path: Path) -> None:
    write(tmp_path, "inc==1\n", "inc.txt")
    result = parse_requirements_text(
        "top==1\n-r inc.txt\n", str(tmp_path / "virtual.txt"), root=tmp_path
    )
    assert names(result) == ["top", "inc"]
    assert result.requirements[0].location == Location(str(tmp_path / "virtual.txt"), 1)
    assert result.files == (str(tmp_path / "virtual.txt"), str(tmp_path / "inc.txt"))


def test_parse_text_defaults_to_stdin_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = parse_requirements_text("foo==1\n")
    assert (result.path, result.requirements[0].location) == ("-", Location("-", 1))


def test_parse_text_refuses_nul_and_long_lines() -> None:
    with pytest.raises(InputError, match="NUL"):
        parse_requirements_text("a==1\x00\n")
    with pytest.raises(InputError, match="longer than"):
        parse_requirements_text("a" * (MAX_LINE_BYTES + 1))
