"""Source-text rules: characters that make code read otherwise than it runs, and encoded blobs.

- ``code-hidden-chars``: an explicit bidirectional control (embedding, override, isolate)
  anywhere, comments and strings included (the Trojan Source class, CVE-2021-42574: it reorders
  how the code displays); a directional mark (LRM, RLM, ALM) outside strings and comments (in
  them it is how right-to-left text is written, as Unicode's UTS #55 recommends, and it reorders
  nothing around it); or an invisible character (Hangul filler, zero-width...) in a name, where
  two names that look the same are different. Elsewhere an invisible character changes nothing
  that runs (zero-width joiners are how emoji sequences are written), so it passes.
- ``code-encoded-blob``: a string or bytes literal of at least ``BLOB_CHARS`` characters, all
  (whitespace aside) from the base64 or hex alphabet, in runs of 60 or more between spaces
  (base64 wraps at 64 or 76, a word list does not look like that): how payloads ride in a module.
"""

from __future__ import annotations

import io
import re
import tokenize

BLOB_CHARS = 8 * 1024
_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_BIDI = _CONTROLS + "\u200e\u200f\u061c"  # the controls and the marks
_INVISIBLE = "\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad\u180e\u3164\uffa0"
_ANY = re.compile(f"[{_BIDI}{_INVISIBLE}]")
_BIDI_RE = re.compile(f"[{_BIDI}]")
_CONTROLS_RE = re.compile(f"[{_CONTROLS}]")
_TEXT = {tokenize.STRING, tokenize.COMMENT, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}
_ENCODED = re.compile(rb"[A-Za-z0-9+/=_\-\s]+")
_MIN_RUN = 60  # base64 is wrapped at 64 or 76 characters a line, if at all
# The characters a blob literal is written with: the alphabet and whitespace, the characters
# of an escape (\x41, \101, \u0041, \N{LATIN CAPITAL LETTER A}, \ at a line's end) and of
# the joint between two literals the parser joins ("AAA" # note <newline> rb"BBB": quotes,
# prefixes; the comments to the line's end are taken out first, ``_COMMENT``).
_LITERAL = r"""A-Za-z0-9+/=_\-\\{}"'\s"""
_COMMENT = re.compile(r"#[^\n]*")
# BLOB_CHARS of them in a row, from the start of a run (the look-behind: each run is read once)
_LONG_STRETCH = re.compile(f"(?<![{_LITERAL}])[{_LITERAL}]{{{BLOB_CHARS}}}")


def hidden_chars(text: str, file: str) -> list[tuple[str, int | None, str]]:
    """At most one hit per file: the first hidden character, and how many there are."""
    if text.isascii() or _ANY.search(text.lstrip("\ufeff")) is None:
        return []
    found: list[tuple[int, str]] = []
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text.lstrip("\ufeff")).readline))
    except (tokenize.TokenError, SyntaxError):
        tokens = []
    for tok in tokens:
        pattern = (
            _ANY if tok.type == tokenize.NAME else _CONTROLS_RE if tok.type in _TEXT else _BIDI_RE
        )
        for match in pattern.finditer(tok.string):
            line = tok.start[0] + tok.string.count("\n", 0, match.start())
            found.append((line, match.group()))
    if not found:
        return []
    line, char = found[0]
    kind = "bidirectional-control" if char in _BIDI else "invisible"
    more = f" ({len(found)} in the file)" if len(found) > 1 else ""
    return [
        (
            "code-hidden-chars",
            line,
            f"{file} has the {kind} character U+{ord(char):04X} in its code{more}",
        )
    ]


def blob_hit(value: object, line: int, file: str) -> tuple[str, int | None, str] | None:
    """A hit when the literal ``value`` is a very long base64 or hex string."""
    if not isinstance(value, str | bytes) or len(value) < BLOB_CHARS:
        return None
    raw = value.encode("latin-1", "replace") if isinstance(value, str) else value
    if _ENCODED.fullmatch(raw) is None:
        return None
    words = raw.split()
    dense = b"".join(words)
    if len(dense) < BLOB_CHARS or dense.isalpha() or dense.isdigit():
        return None
    if len(dense) / len(words) < _MIN_RUN:  # a word list, not wrapped base64
        return None
    return (
        "code-encoded-blob",
        line,
        f"{file} holds a {len(dense)}-character encoded string literal",
    )


def may_hold_blob(text: str) -> bool:
    """False when the source ``text`` cannot hold a literal ``blob_hit`` would report, so it
    need not be parsed for one. Such a literal's value has at least ``BLOB_CHARS`` characters
    besides whitespace, each written in the source as itself or as an escape (one character
    of ``_LITERAL`` or more); and everything from its first quote to its last (the joined
    literals, the joints between them) is ``_LITERAL`` characters and comments. Without its
    comments, the text then has ``BLOB_CHARS`` such characters in a row."""
    if len(text) < BLOB_CHARS:
        return False
    return _LONG_STRETCH.search(_COMMENT.sub("", text)) is not None
