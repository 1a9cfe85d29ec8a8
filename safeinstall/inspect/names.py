"""The names and strings the code rules (``code.py``) look for, and the test that tells a file
those rules cannot hit without parsing it.

Parsing is most of the scanner's cost, and most modules of a big wheel cannot hit any rule:
``may_hit`` lets a file be parsed only when the identifiers a hit needs are all in its text.
It reads the same tables the rules do, so the two cannot drift apart. Why it is sound: every
name a rule resolves (``subprocess.run``, ``os.exec*``, ``exec``) is built from identifiers
written in the source: a ``Name``, an attribute, or an import (``import subprocess as sp``
holds ``subprocess``; ``from os import system`` holds ``os`` and ``system``). The parser reads
identifiers in NFKC form (a full-width ``exec`` is ``exec``), so a text that is not ASCII is
read normalized too; and the text is the decoded source (``# coding: utf-7`` spells ``exec``
in bytes without those letters). Of the strings the rules read, only the start-up file names
are tested (the start-up rule needs them and ``open`` is everywhere), allowing for escapes and
for joined literals; the credential files and secret variables only ever add to a network
call, whose names are needed anyway. A network or process call needs more than its names: it
is written as ``_Module.dotted`` resolves it, the dotted chain from its first name (brackets,
line breaks and comments may stand between: ``(os) . system``), or through an import that
binds a name to a leading part (``import os as o``, ``from os import system``). So
``platform.system()`` beside ``import os`` is no ``os.system`` (``_written``).

A file ``may_hit`` skips is not parsed, so one that would not parse is not reported
``code-uninspectable``: no parse of its text, by any Python, could give a rule a hit (a rule's
name glued to a number, ``0b1exec``, never parses). The encoded-blob rule has its own test
(``text.may_hold_blob``).
"""

from __future__ import annotations

import re
import unicodedata

DECODERS = frozenset(
    {
        "b64decode",
        "b32decode",
        "b16decode",
        "b85decode",
        "a85decode",
        "urlsafe_b64decode",
        "standard_b64decode",
        "decodebytes",
        "decodestring",
        "decompress",
        "unhexlify",
        "a2b_base64",
        "a2b_hex",
        "fromhex",
    }
)
CODECS = re.compile(r"(?i)rot.?13|base.?64|hex|zlib|bz2|lzma|uu")
EXEC = frozenset({"exec", "eval", "compile", "builtins.exec", "builtins.eval", "builtins.compile"})
PROCESS = frozenset(
    {
        "subprocess.run",
        "subprocess.call",
        "subprocess.check_call",
        "subprocess.check_output",
        "subprocess.Popen",
        "subprocess.getoutput",
        "subprocess.getstatusoutput",
        "os.system",
        "os.popen",
        "os.startfile",
        "pty.spawn",
        "asyncio.create_subprocess_exec",
        "asyncio.create_subprocess_shell",
    }
)
PROCESS_PREFIXES = ("os.exec", "os.spawn", "os.posix_spawn")
NETWORK = frozenset(
    {
        "urllib.request.urlopen",
        "urllib.request.urlretrieve",
        "urllib.urlopen",
        "urllib2.urlopen",
        "http.client.HTTPConnection",
        "http.client.HTTPSConnection",
        "socket.socket",
        "socket.create_connection",
        "ftplib.FTP",
        "smtplib.SMTP",
        "smtplib.SMTP_SSL",
        "telnetlib.Telnet",
        "urllib3.PoolManager",
        "urllib3.request",
        "aiohttp.ClientSession",
    }
    | {f"requests.{m}" for m in ("get", "post", "put", "patch", "delete", "head", "request")}
    | {f"httpx.{m}" for m in ("get", "post", "put", "patch", "delete", "request", "Client")}
    | {"requests.Session", "httpx.AsyncClient"}
)
WRITES = frozenset(
    {
        "open",
        "io.open",
        "os.open",
        "shutil.copy",
        "shutil.copy2",
        "shutil.copyfile",
        "shutil.move",
        "os.rename",
        "os.replace",
        "os.symlink",
        "os.link",
    }
)
WRITE_METHODS = frozenset({"write_text", "write_bytes", "symlink_to", "hardlink_to"})
STARTUP_NAME = re.compile(r"[\w./\\-]*(?:\.pth|(?:site|user)customize(?:\.py)?)")  # a name
CREDENTIAL_FILE = re.compile(
    r"\.ssh(?:/|$)|id_rsa|id_ed25519|id_ecdsa|\.aws/credentials|\.netrc|\.pypirc|"
    r"\.git-credentials|\.docker/config\.json|\.kube/config|/etc/shadow|\.gnupg|"
    r"\.config/gcloud|Login Data|wallet\.dat"
)
SECRET_VAR = re.compile(r"(?i)token|secret|passw|api_?key|access_?key|credential|private_?key")


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_EXEC_NAMES = frozenset(n.rpartition(".")[2] for n in EXEC)
_DECODE_NAMES = DECODERS | {"decode"}  # an attribute ``.decode`` with a codec's name
_WRITE_NAMES = tuple(frozenset(n.split(".")) for n in WRITES)
_ESCAPE = re.compile(  # an escape in a literal, and what it spells (decoded in _spelled)
    r"\\(?:x([0-9A-Fa-f]{2})|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|([0-7]{1,3})|N\{([^}\n]*)\})"
)
_STARTUP_ENDS = (".pth", "sitecustomize", "usercustomize")
_STARTUP_CHARS = frozenset("".join(_STARTUP_ENDS) + ".py")
_STARTUP_TAIL = re.compile(  # a literal that is only a name's end (and ".py" or part of it)
    # joined to the literal before it: its closing quote, spaces, line ends, comments, a prefix
    "[\"'](?:[ \\t\\f\\r\\n\\\\]|#[^\\n]*+)*+[rRbBfFuUtT]{0,2}[\"'](?:"
    + "|".join(sorted({re.escape(n[i:]) for n in _STARTUP_ENDS for i in range(1, len(n))}))
    + ")(?:\\.(?:py?)?)?[\"'{]"  # { : an f-string's field follows
)
# What may stand between the tokens of ``a . b`` or ``from a import``: spaces, line ends
# (inside brackets), a backslash continuation, a comment; before a dot, a closing bracket too
_GAP = r"(?:[ \t\f\r\n\\]|#[^\n]*+)*+"  # possessive: a comment runs to its line's end
_GAP_DOT = r"(?:[ \t\f\r\n\\)]|#[^\n]*+)*+\." + _GAP
_END = r"(?![A-Za-z0-9_])"


def _word(name: str) -> str:
    """``name`` as a whole word; the look-behind after it, so the pattern starts with a plain
    string, which the regex engine finds fast."""
    return f"{re.escape(name)}(?<![A-Za-z0-9_]{re.escape(name)})"


def _written(parts: list[str], last: str) -> tuple[re.Pattern[str], ...]:
    """How a call to ``parts[0]. ... .parts[-1]`` (``last``: the last part's pattern) can be
    written, as ``_Module.dotted`` resolves it: in full from its first name (``os.system``,
    ``(os) . system``), or through an import that binds a name to a leading part of it
    (``import os as o``, ``from os import system``, ``from urllib import request``)."""
    heads = [_GAP_DOT.join([_word(parts[0]), *parts[1:j]]) for j in range(1, len(parts))]
    full = _GAP_DOT.join([_word(parts[0]), *parts[1:-1], last]) + _END
    aliased = [h + _GAP + "as" + _END for h in heads]
    imported = [_word("from") + _GAP + h + _GAP + "import" + _END for h in heads]
    return tuple(re.compile(p) for p in [full, *aliased, *imported])


_CALLS = tuple(  # (the names a call needs, how it must be written)
    (frozenset(name.split(".")), _written(name.split("."), re.escape(name.rpartition(".")[2])))
    for name in sorted(NETWORK | PROCESS)
)
_OS_PREFIXES = tuple(p.removeprefix("os.") for p in PROCESS_PREFIXES)
_BUILTINS = "(?:" + "|".join(sorted(_EXEC_NAMES)) + ")" + _END
_BUILTIN = re.compile(r"(?<![A-Za-z0-9_])" + _BUILTINS)
_BUILTIN_ATTRIBUTE = re.compile(r"\.[ \t\f]*" + _BUILTINS)
_OS_CALLS = tuple(  # os.exec*, os.spawn*, os.posix_spawn*
    w for p in _OS_PREFIXES for w in _written(["os", p], p + "[A-Za-z0-9_]*")
)


def identifiers(text: str) -> frozenset[str]:
    """The identifiers of the source ``text`` as the parser reads them (and more: the words
    in its strings and comments)."""
    found = set(_IDENTIFIER.findall(text))
    if not text.isascii():
        found.update(_IDENTIFIER.findall(unicodedata.normalize("NFKC", text)))
    return frozenset(found)


def may_hit(text: str) -> bool:
    """False when no code rule read from the AST can hit the source ``text``: its identifiers
    lack every name a hit needs (the encoded-blob rule aside)."""
    words = identifiers(text)
    if (
        not words.isdisjoint(_EXEC_NAMES)
        and (not words.isdisjoint(_DECODE_NAMES) or {"marshal", "loads"} <= words)
        and ("builtins" in words or _may_call_builtin(text))
    ):
        return True  # code-exec-decoded: exec/eval/compile of a decoder's result
    if _may_call(text, words):
        return True  # a network or process call: import-time, setup.py, secrets sent
    writes = any(name <= words for name in _WRITE_NAMES) or not words.isdisjoint(WRITE_METHODS)
    return writes and _may_name_startup_file(text)  # code-startup-write


def _may_call_builtin(text: str) -> bool:
    """False when every ``exec``, ``eval`` and ``compile`` of ``text`` is an attribute
    (``re.compile``): a dot before it on its line, spaces between. A name after a dot on the
    same line is an attribute or does not parse (a number, string or comment cannot end in a
    dot there and be followed by a name); ``builtins.exec`` is the caller's to allow for."""
    texts = [text] if text.isascii() else [text, unicodedata.normalize("NFKC", text)]
    return any(len(_BUILTIN.findall(t)) > len(_BUILTIN_ATTRIBUTE.findall(t)) for t in texts)


def _may_call(text: str, words: frozenset[str]) -> bool:
    """False when no call in ``text`` can resolve to a network or process function: for each,
    its names are not all there, or not written the way ``_written`` says a call to it must
    be (``platform.system()`` beside ``import os`` is no ``os.system``). The text is read as
    written and, when it is not ASCII, as the parser reads names (NFKC)."""
    needed = {w for names, written in _CALLS if names <= words for w in written}
    if "os" in words and any(w.startswith(_OS_PREFIXES) for w in words):
        needed.update(_OS_CALLS)
    if not needed:
        return False
    texts = [text] if text.isascii() else [text, unicodedata.normalize("NFKC", text)]
    return any(w.search(t) for w in needed for t in texts)


def _may_name_startup_file(text: str) -> bool:
    """False when no string constant of ``text`` can end in a start-up file's name (what
    ``STARTUP_NAME`` matches): without an escape that spells one of that end's characters
    (``_spelled``), they are written in order in its literals (a backslash at a line's end
    dropped), so the end is written whole, or it is split over joined literals and the last
    of them holds only its end (``"sitecusto" "mize.py"``, ``f"{d}/.p" f"th{n}"``), right
    after the literal before it: a lone ``"e"`` is no name's end."""
    if any(_spelled(m) for m in _ESCAPE.finditer(text)):
        return True
    joined = text.replace("\\\n", "")
    return any(name in joined for name in _STARTUP_ENDS) or bool(_STARTUP_TAIL.search(joined))


def _spelled(escape: re.Match[str]) -> bool:
    """Whether the escape ``escape`` may spell a character of a start-up file name's end."""
    hex2, hex4, hex8, octal, name = escape.groups()
    try:
        if name is not None:
            char = unicodedata.lookup(name)
        else:
            char = chr(int(octal, 8) if octal is not None else int(hex2 or hex4 or hex8, 16))
    except (KeyError, ValueError, OverflowError):
        return True  # not a character: the file will not parse, say it may
    return char in _STARTUP_CHARS
