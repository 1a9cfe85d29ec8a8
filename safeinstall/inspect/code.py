"""Unsafe code patterns, read from the source with the AST: nothing is imported or run.

``inspect_source`` returns ``(rule, line, message)`` hits for one file:

- ``code-exec-decoded``: ``exec``/``eval``/``compile`` of an expression that decodes or
  decompresses (base64, hex, zlib/lzma/bz2, ``marshal.loads``, rot13), directly or through a
  name assigned from one where the call sees it (its function, an enclosing one, the module);
- ``code-import-time-call``: a network or subprocess call at the top level of a module (class
  bodies included, function bodies and ``if __name__ == "__main__":`` not);
- ``code-setup-runs``: such a call anywhere in an sdist's ``setup.py``;
- ``code-startup-write``: a module that writes files and names a ``.pth``, ``sitecustomize`` or
  ``usercustomize`` file;
- ``code-secrets-sent``: a module that talks to the network and reads a credential file or a
  secret-looking environment variable (or hands the whole environment to the network call);
- ``code-encoded-blob`` and ``code-hidden-chars`` (``text.py``); ``code-uninspectable``.

Names are resolved through the module's imports (``import subprocess as sp``; ``from os import
system``). Evasions through ``getattr`` and string-built names are beyond a static read: the
hits are warnings by default, and the start-up and clobbering rules do not depend on them.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import threading
import warnings
from collections.abc import Iterator

from safeinstall.inspect.names import (
    CODECS,
    CREDENTIAL_FILE,
    DECODERS,
    EXEC,
    NETWORK,
    PROCESS,
    PROCESS_PREFIXES,
    SECRET_VAR,
    STARTUP_NAME,
    WRITE_METHODS,
    WRITES,
    may_hit,
)
from safeinstall.inspect.text import blob_hit, hidden_chars, may_hold_blob

Hit = tuple[str, int | None, str]
# One parse at a time: in CPython 3.11 the AST constructor's recursion counter is shared by the
# interpreter's threads (the gh-95185 change; gh-106905), and concurrent parses fail at random
# with "SystemError: AST constructor recursion depth mismatch" (seen here, scanning the dev
# wheelhouse). Parsing holds the GIL anyway: the threads overlap on decompression and reads.
_PARSING = threading.Lock()
MAX_SOURCE_BYTES = 2 * 1024 * 1024  # a larger file is reported, not parsed
_PARSE_TRIES = 3


def _parse(text: str, file: str) -> ast.Module:
    """``ast.parse``, one at a time, tried again when CPython 3.11 reports its AST recursion
    counter out of step (gh-106905: it can be, even with parses serialized, and the next parse
    starts it afresh); SystemError when every try did. The warnings a parse gives (an invalid
    escape sequence) are not shown, nor made errors by a filter (-W error)."""
    for _ in range(_PARSE_TRIES - 1):
        with contextlib.suppress(SystemError), _PARSING, warnings.catch_warnings(action="ignore"):
            return ast.parse(text, file)
    with _PARSING, warnings.catch_warnings(action="ignore"):
        return ast.parse(text, file)


def inspect_source(
    data: bytes, file: str, *, setup: bool = False, module: bool = True, prefilter: bool = True
) -> list[Hit]:
    """The hits in the Python source ``data`` (the member ``file``). ``setup``: it is an sdist's
    setup.py; ``module``: it is importable (top-level calls run at import). ``prefilter``: skip
    the parse when no rule read from it can hit (``names.may_hit``, ``text.may_hold_blob``);
    off only in the test that checks the findings are the same either way."""
    if len(data) > MAX_SOURCE_BYTES:
        size = f"{len(data) / 2**20:.1f} MiB"
        limit = f"{MAX_SOURCE_BYTES // 2**20} MiB"
        return [("code-uninspectable", None, f"{file} is too large to inspect ({size} > {limit})")]
    try:
        text = importlib.util.decode_source(data)
        if prefilter and not may_hit(text) and not may_hold_blob(text):
            return hidden_chars(text, file)  # no rule below can hit: not worth a parse
        tree = _parse(text, file)
    except (SyntaxError, ValueError, UnicodeDecodeError, LookupError) as exc:
        why = exc.msg if isinstance(exc, SyntaxError) else str(exc)
        line = exc.lineno if isinstance(exc, SyntaxError) else None
        return [("code-uninspectable", line, f"{file} does not parse as Python ({why})")]
    except (RecursionError, MemoryError):
        return [("code-uninspectable", None, f"{file} is nested too deeply to inspect")]
    except SystemError as exc:  # see _parse: never an internal error for a file's content
        return [("code-uninspectable", None, f"{file} could not be parsed here ({exc})")]
    try:
        return hidden_chars(text, file) + _Module(tree, file).hits(setup=setup, module=module)
    except RecursionError:
        return [("code-uninspectable", None, f"{file} is nested too deeply to inspect")]


class _Module:
    def __init__(self, tree: ast.Module, file: str) -> None:
        self.tree = tree
        self.file = file
        self.aliases: dict[str, str] = {}
        self.nodes = _nodes(tree)
        self.calls: list[ast.Call] = []
        self.constants: list[ast.Constant] = []
        for node in self.nodes:  # one pass, by exact type (the parser makes no subclasses)
            kind = type(node)
            if kind is ast.Call:
                self.calls.append(node)  # type: ignore[arg-type]
            elif kind is ast.Constant:
                self.constants.append(node)  # type: ignore[arg-type]
            elif isinstance(node, ast.Import):
                for a in node.names:
                    top = a.name.split(".")[0]
                    self.aliases[a.asname or top] = a.name if a.asname else top
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for a in node.names:
                    self.aliases[a.asname or a.name] = f"{node.module}.{a.name}"
        self.kinds = {id(c): k for c in self.calls if (k := self._kind(c)) is not None}

    def dotted(self, node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id, node.id)
        if isinstance(node, ast.Attribute):
            base = self.dotted(node.value)
            return f"{base}.{node.attr}" if base else None
        return None

    def kind(self, call: ast.Call) -> str | None:
        """ "network", "process" or None for what ``call`` calls."""
        return self.kinds.get(id(call))

    def _kind(self, call: ast.Call) -> str | None:
        name = self.dotted(call.func)
        if name is None:
            return None
        if name in NETWORK:
            return "network"
        if name in PROCESS or name.startswith(PROCESS_PREFIXES):
            return "process"
        return None

    def hits(self, *, setup: bool, module: bool) -> list[Hit]:
        out = self._exec_decoded()
        if setup:
            out += [
                ("code-setup-runs", c.lineno, f"setup.py {self._what(c)} at build time")
                for c in self.calls
                if self.kind(c)
            ]
        elif module and self.kinds:
            out += [
                ("code-import-time-call", c.lineno, f"{self.file} {self._what(c)} when imported")
                for c in _top_level_calls(self.tree)
                if self.kind(c)
            ]
        out += self._startup_write() + self._secrets_sent()
        out += [hit for n in self.constants if (hit := blob_hit(n.value, n.lineno, self.file))]
        return out

    def _what(self, call: ast.Call) -> str:
        verb = "talks to the network" if self.kind(call) == "network" else "runs a program"
        return f"{verb} ({self.dotted(call.func)})"

    def _decodes(self, node: ast.AST, tainted: set[str]) -> bool:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and sub.id in tainted:
                return True
            if not isinstance(sub, ast.Call):
                continue
            name = self.dotted(sub.func) or ""
            # ``from base64 import b64decode`` resolves to ``base64.b64decode``: its last part
            attr = sub.func.attr if isinstance(sub.func, ast.Attribute) else name.rpartition(".")[2]
            if attr in DECODERS or name in ("marshal.loads", "codecs.decode"):
                return True
            if attr == "decode" and any(
                isinstance(a, ast.Constant) and isinstance(a.value, str) and CODECS.search(a.value)
                for a in sub.args
            ):
                return True
        return False

    def _exec_decoded(self) -> list[Hit]:
        if not any(self.dotted(c.func) in EXEC for c in self.calls):
            return []
        # A name is tainted in the function that assigns it (global/nonlocal: everywhere) and
        # seen in the functions inside it: a local of one function is not another's.
        scope = _scopes(self.tree)
        shared = {
            n for s in self.nodes if isinstance(s, ast.Global | ast.Nonlocal) for n in s.names
        }
        tainted: dict[tuple[int, ...], set[str]] = {}

        def seen(path: tuple[int, ...]) -> set[str]:
            return set().union(*(tainted.get(path[:n], ()) for n in range(len(path) + 1)))

        assigns = [n for n in self.nodes if isinstance(n, ast.Assign | ast.AnnAssign)]
        for _ in range(2):  # a name from a decoder, and a name from that name
            for node in assigns:
                if node.value is not None and self._decodes(node.value, seen(scope[id(node)])):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    for t in targets:
                        if isinstance(t, ast.Name):
                            where = () if t.id in shared else scope[id(node)]
                            tainted.setdefault(where, set()).add(t.id)
        return [
            (
                "code-exec-decoded",
                c.lineno,
                f"{self.file} runs decoded data with {self.dotted(c.func)}()",
            )
            for c in self.calls
            if self.dotted(c.func) in EXEC
            and any(
                self._decodes(a, seen(scope[id(c)]))
                for a in (*c.args, *(k.value for k in c.keywords))
            )
        ]

    def _startup_write(self) -> list[Hit]:
        writes = any(
            self.dotted(c.func) in WRITES
            or (isinstance(c.func, ast.Attribute) and c.func.attr in WRITE_METHODS)
            for c in self.calls
        )
        if not writes:
            return []
        names = [
            c
            for c in self.constants
            if isinstance(c.value, str) and STARTUP_NAME.fullmatch(c.value)
        ]
        if not names:
            return []
        why = f"{self.file} writes files and names the start-up file {names[0].value!r}"
        return [("code-startup-write", names[0].lineno, why)]

    def _secrets_sent(self) -> list[Hit]:
        network = [c for c in self.calls if self.kind(c) == "network"]
        if not network:
            return []
        for node in self.nodes:
            what = self._secret(node)
            if what is None:
                continue
            return [
                (
                    "code-secrets-sent",
                    getattr(node, "lineno", None),
                    f"{self.file} reads {what} and talks to the network "
                    f"(line {network[0].lineno}: {self.dotted(network[0].func)})",
                )
            ]
        for call in network:
            if any(
                self.dotted(n) == "os.environ" for n in ast.walk(call) if isinstance(n, ast.expr)
            ):
                return [
                    (
                        "code-secrets-sent",
                        call.lineno,
                        f"{self.file} sends the environment over the network",
                    )
                ]
        return []

    def _secret(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if len(node.value) < 512 and CREDENTIAL_FILE.search(node.value):
                return f"the credential file {node.value!r}"
            return None
        key: ast.expr | None = None
        if isinstance(node, ast.Subscript) and self.dotted(node.value) == "os.environ":
            key = node.slice
        elif isinstance(node, ast.Call) and node.args:
            name = self.dotted(node.func)
            if name in ("os.getenv", "os.environ.get", "os.environb.get"):
                key = node.args[0]
        if (
            isinstance(key, ast.Constant)
            and isinstance(key.value, str)
            and SECRET_VAR.search(key.value)
        ):
            return f"the environment variable {key.value}"
        return None


def _nodes(tree: ast.Module) -> list[ast.AST]:
    """Every node of ``tree`` in ``ast.walk``'s order (breadth first), at a fraction of its
    cost: the one walk over every node, on every parsed file."""
    nodes: list[ast.AST] = [tree]
    for node in nodes:  # the list grows as it is read
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, ast.AST):
                nodes.append(value)
            elif isinstance(value, list):
                nodes += [v for v in value if isinstance(v, ast.AST)]
    return nodes


def _scopes(tree: ast.Module) -> dict[int, tuple[int, ...]]:
    """id(node) -> the ids of the functions it is in, outermost first (a function's decorators
    and defaults count as inside it: more names seen, never fewer)."""
    out: dict[int, tuple[int, ...]] = {}
    stack: list[tuple[ast.AST, tuple[int, ...]]] = [(tree, ())]
    while stack:
        node, path = stack.pop()
        inner = (
            (*path, id(node)) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) else path
        )
        for child in ast.iter_child_nodes(node):
            out[id(child)] = inner
            stack.append((child, inner))
    return out


def _top_level_calls(tree: ast.Module) -> Iterator[ast.Call]:
    """The calls that run when the module is imported: not in function bodies (decorators and
    default values do run) nor under ``if __name__ == "__main__":``."""
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            stack += [*node.decorator_list, *node.args.defaults]
            stack += [d for d in node.args.kw_defaults if d is not None]
            continue
        if isinstance(node, ast.Lambda):
            continue
        if isinstance(node, ast.If) and _is_main_guard(node.test):
            stack += node.orelse
            continue
        if isinstance(node, ast.Call):
            yield node
        stack += ast.iter_child_nodes(node)


def _is_main_guard(test: ast.expr) -> bool:
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        return any(_is_main_guard(v) for v in test.values)
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators)
    )
