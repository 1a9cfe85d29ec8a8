"""Lines, comments, continuations, options: as pip 26.3 reads them, stricter where it ignores."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safeinstall.errors import InputError, Location
from safeinstall.requirements.file import HashPin
from safeinstall.requirements.syntax import logical_lines, split_line, split_words, strip_comment
from tests.support.reqfile import one, parse, refused

H1 = "sha256:" + "a" * 64
H2 = "sha256:" + "b" * 64


def lines(text: str) -> list[tuple[int, str]]:
    return list(logical_lines(text, "r.txt"))


def test_comments_and_blank_lines_are_dropped() -> None:
    assert lines("# top\n\n  \nfoo==1  # why\nbar#not-a-comment\n") == [
        (4, "foo==1"),
        (5, "bar#not-a-comment"),
    ]


def test_continuation_takes_the_first_line_number() -> None:
    assert lines("a\nfoo==1 \\\n  --hash=x \\\n  --hash=y\nb\n") == [
        (1, "a"),
        (2, "foo==1   --hash=x   --hash=y"),
        (5, "b"),
    ]


def test_comment_line_ends_a_continuation_like_pip() -> None:
    # pip joins the comment line into the logical line, then strips it as a comment.
    assert lines("foo==1 \\\n# --hash=x\n--pre\n") == [(1, "foo==1"), (3, "--pre")]


def test_comment_before_backslash_swallows_the_next_line(tmp_path: Path) -> None:
    # "foo # c \" is joined with the next line, and the comment then eats it: the hash is
    # gone, exactly as pip sees it, so the requirement is reported without a hash.
    req = one(tmp_path, f"foo==1 # note \\\n    --hash={H1}\n")
    assert req.hashes == ()


def test_backslash_at_end_of_file_still_yields_the_line() -> None:
    assert lines("foo==1 \\") == [(1, "foo==1")]


def test_hash_glued_to_a_comment_hides_nothing(tmp_path: Path) -> None:
    # "#" not after whitespace is not a comment: the hash is read.
    req = one(tmp_path, f"foo==1 --hash={H1}#x\n")
    assert req.hashes == (HashPin("sha256", "a" * 64 + "#x"),)


def test_crlf_and_old_mac_newlines(tmp_path: Path) -> None:
    result = parse(tmp_path, "a==1\r\nb==2\rc==3\r\n")
    assert [(r.raw_name, r.location.line) for r in result.requirements] == [
        ("a", 1),
        ("b", 2),
        ("c", 3),
    ]


def test_strip_comment_is_linear_on_long_blank_runs() -> None:
    assert strip_comment("x" + " " * 500_000 + "y") == "x" + " " * 500_000 + "y"
    assert strip_comment("a \t# b # c") == "a"
    assert strip_comment("#x") == ""


@pytest.mark.parametrize(
    ("text", "name", "value"),
    [
        ("-i https://example.com/s", "--index-url", "https://example.com/s"),
        ("-ihttps://example.com/s", "--index-url", "https://example.com/s"),
        ("--index-url=https://example.com/s", "--index-url", "https://example.com/s"),
        ("--index-url https://example.com/s", "--index-url", "https://example.com/s"),
        ("--pypi-url https://example.com/s", "--index-url", "https://example.com/s"),
        ("--extra-index-url https://example.org/s", "--extra-index-url", "https://example.org/s"),
        ("--extra=https://example.org/s", "--extra-index-url", "https://example.org/s"),
        ("--no-index", "--no-index", None),
        ("-f ./wheels", "--find-links", "./wheels"),
        ("--find-links=https://example.com/l", "--find-links", "https://example.com/l"),
        ("--no-binary :all:", "--no-binary", ":all:"),
        ("--only-binary=:all:", "--only-binary", ":all:"),
        ("--prefer-binary", "--prefer-binary", None),
        ("--require-hashes", "--require-hashes", None),
        ("--no-require-hashes", "--no-require-hashes", None),
        ("--pre", "--pre", None),
        ("--all-releases foo", "--all-releases", "foo"),
        ("--only-final :all:", "--only-final", ":all:"),
        ("--trusted-host example.com", "--trusted-host", "example.com"),
        ("--use-feature fast-deps", "--use-feature", "fast-deps"),
        ("-i '--pre'", "--index-url", "--pre"),  # optparse takes the next word as the value
    ],
)
def test_global_options(tmp_path: Path, text: str, name: str, value: str | None) -> None:
    result = parse(tmp_path, f"# header\n{text}\n")
    ((option),) = result.options
    assert (option.name, option.value, option.location.line) == (name, value, 2)
    assert result.requirements == ()


def test_several_options_on_one_line(tmp_path: Path) -> None:
    result = parse(tmp_path, "--pre --no-index -f ./w\n")
    assert [(o.name, o.value) for o in result.options] == [
        ("--pre", None),
        ("--no-index", None),
        ("--find-links", "./w"),
    ]


def test_options_keep_env_var_names_unexpanded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOKEN", "secret")
    (option,) = parse(tmp_path, "-i https://u:${TOKEN}@example.com/s\n").options
    assert option.value == "https://u:${TOKEN}@example.com/s"
    assert option.env_vars == ("TOKEN",)


def test_env_var_rule_matches_pip(tmp_path: Path) -> None:
    req = one(tmp_path, "foo @ https://example.com/${A_1}/${lower}/$B/${C}.whl\n")
    assert req.env_vars == ("A_1", "C")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("--frobnicate", "unknown option --frobnicate"),
        ("-x foo", "unknown option -x"),
        ("--pr", "ambiguous"),
        ("--pre=1", "takes no value"),
        ("--index-url", "needs a value"),
        ("--index-url 'unclosed", "cannot split"),
        ("--src ./s", "unknown option --src"),
        ("--no-deps", "unknown option --no-deps"),
    ],
)
def test_bad_options_are_refused(tmp_path: Path, text: str, fragment: str) -> None:
    error = refused(tmp_path, f"ok==1\n{text}\n")
    assert fragment in error.message
    assert error.location == Location(str(tmp_path / "requirements.txt"), 2)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        # pip would drop each of these silently; a user would think they apply.
        (f"--hash={H1}", "--hash has no effect on a line without a requirement"),
        ("-C k=v", "--config-settings has no effect on a line without"),
        ("foo==1 --index-url https://example.com/s", "--index-url has no effect on a req"),
        ("foo==1 --pre", "--pre has no effect"),
        ("foo==1 -r other.txt", "--requirement has no effect"),
        ("-r a.txt --pre", "--pre has no effect next to -r/-c"),
        ("-r a.txt -r b.txt", "--requirement has no effect next to -r/-c"),
        (f"--hash={H1} foo==1", "unexpected 'foo==1' after the options"),
        (f"foo==1 --hash={H1} bar==2", "unexpected 'bar==2'"),
        ("--pre -- foo", "unexpected 'foo'"),
        ("foo -e ./x", "one requirement or one -e"),
        ("-e ./x -e ./y", "one requirement or one -e"),
    ],
)
def test_what_pip_ignores_is_refused(tmp_path: Path, text: str, fragment: str) -> None:
    assert fragment in refused(tmp_path, text + "\n").message


def test_split_line_cuts_at_the_first_dash_word_only() -> None:
    split = split_line('foo; python_version < "3" --hash=sha256:x', Location("r"))
    assert split.args == 'foo; python_version < "3"'
    assert [(s.name, v) for s, v in split.options] == [("--hash", "sha256:x")]


def test_tab_before_an_option_is_not_a_separator(tmp_path: Path) -> None:
    # pip splits on spaces only, so this is one (invalid) requirement, not a hashed one.
    assert "invalid requirement" in refused(tmp_path, f"foo==1\t--hash={H1}\n").message


def test_hashes_on_continuation_lines(tmp_path: Path) -> None:
    req = one(tmp_path, f"foo==1 \\\n    --hash={H1} \\\n    --hash {H2}\n")
    assert req.hashes == (HashPin("sha256", "a" * 64), HashPin("sha256", "b" * 64))
    assert req.location.line == 1


WORDS = ["foo==1", "a-b", "", "\t-x", "x\t", "-", "--pre", "--hash=sha256:ab", "-r", "--", "-i"]


@given(st.lists(st.sampled_from(WORDS), max_size=7).map(" ".join))
def test_split_line_cuts_before_the_first_word_starting_with_a_dash(line: str) -> None:
    tokens = line.split(" ")  # pip's own cut, word by word
    cut = next((i for i, token in enumerate(tokens) if token.startswith("-")), len(tokens))
    try:
        split = split_line(line, Location("r"))
    except InputError:
        return  # -r or -i without a value
    assert split.args == " ".join(tokens[:cut])


@given(st.text(alphabet=" \t\n\r\x0b\x0cab=-:'\"\\#\u00a0\u2003", max_size=40))
def test_split_words_is_shlex_split(text: str) -> None:
    try:
        expected = shlex.split(text)
    except ValueError:
        with pytest.raises(ValueError):
            split_words(text)
        return
    assert split_words(text) == expected
