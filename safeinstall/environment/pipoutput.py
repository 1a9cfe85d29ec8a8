"""What pip said when it failed: its own lines, trimmed and redacted, and a hint that fits.

pip prints a failed build as a framed block (a cross, ``<step> did not run successfully.``,
``╰─> [N lines of output]``, the backend's lines, ``[end of output]``) and then its summary,
which points back with "See above for output". safeinstall captures pip's output, so the user
is shown pip's error lines and the last lines of each block (where a backend's exception is),
never a pointer to output that was not shown, never pip's own traceback frames, and every URL
with its credentials replaced (``urls.redact``): pip and a backend may echo an index URL.
"""

from __future__ import annotations

import re
import textwrap

from safeinstall import urls
from safeinstall.errors import TargetEnvironmentError

PROJECT = "install the project"  # the ``what`` of the user's own project (its build is theirs)

_BLOCK_TAIL = 12  # lines of a backend's output shown: its exception and the frames above it
_MOST = 30  # lines of pip's output shown in all
_BLOCK = re.compile(r"\[(\d+) lines? of output\]")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")
_STEP = "\N{MULTIPLICATION SIGN} "  # how pip starts the line naming a step that failed
_TRACEBACK = "Traceback (most recent call last):"
_FRAME = re.compile(r'\s*File "([^"]*)", line \d+')
_PIP_CODE = re.compile(r"[/\\]pip[/\\]_(?:vendor|internal)[/\\]")
_CHAINED = "During handling of the above exception, another exception occurred:"
_NOISE = (
    "see above for output",
    "see above for details",
    "note: this error originates from a subprocess",
    "note: this is an issue with the package mentioned above",
)
_MISSING = re.compile(r"(?:ModuleNotFoundError|ImportError): (No module named \S+)")
_BUILD_FAILED = (
    "subprocess-exited-with-error",
    "metadata-generation-failed",
    "Failed building",
    "Failed to build",
    "Could not build wheels",
)


def redacted(text: str) -> str:
    """``text`` with the credentials of every URL in it replaced by ``***``."""
    return _URL.sub(lambda m: urls.redact(m[0]), text)


def pip_said(output: str) -> tuple[str, ...]:
    """pip's own lines worth reading, in order: at most ``_MOST``, the last ones."""
    lines = [redacted(ln.rstrip()) for ln in output.splitlines()]
    shown: list[str] = []
    in_traceback = False
    i = 0
    while i < len(lines):
        line, text = lines[i], lines[i].strip()
        i += 1
        if in_traceback and line[:1].isspace():
            continue  # pip's own frames: the exception line that ends them says what failed
        in_traceback = False
        if not text or text == "ERROR: Exception:" or any(n in text.lower() for n in _NOISE):
            continue
        head, traceback, _ = text.partition(_TRACEBACK)
        if traceback:
            in_traceback = True
            text = head.rstrip(": ")
            if not text:
                continue
        block = _BLOCK.search(text)
        if block is None:
            shown.append(text)
            continue
        body = []
        while i < len(lines) and lines[i].strip() != "[end of output]":
            body.append(lines[i])
            i += 1
        i += 1
        kept = _backend_lines(textwrap.dedent("\n".join(body)).splitlines())
        tail = kept[-_BLOCK_TAIL:]
        some = f", {len(tail)} shown" if len(tail) < int(block[1]) else ""
        shown.append(text.replace(block[0], f"[{block[1]} lines of output{some}]"))
        shown += ["    " + b for b in tail]
    if len(shown) > _MOST:
        shown = [f"[{len(shown) - _MOST + 1} lines before]", *shown[-_MOST + 1 :]]
    return tuple(shown)


def _backend_lines(body: list[str]) -> list[str]:
    """A backend's output without what says nothing about its build: blank lines, traceback
    headers, carets, and the frames of pip's own hook runner (with their source lines)."""
    kept: list[str] = []
    skipping = -1  # the indentation of a skipped frame: its source lines are indented more
    for line in body:
        indent = len(line) - len(line.lstrip())
        if skipping >= 0 and indent > skipping:
            continue
        skipping = -1
        frame = _FRAME.match(line)
        if frame and _PIP_CODE.search(frame[1]):
            skipping = indent
            continue
        text = line.strip()
        if text and not text.startswith(_TRACEBACK) and text.strip("^~ ") and text != _CHAINED:
            kept.append(line)
    return kept


def failure(what: str, code: int, output: str) -> TargetEnvironmentError:
    """pip's failure to do ``what``: one sentence, pip's lines as the error's detail, and a hint
    for the cause (a missing build requirement, a build error, a hash mismatch, a full disk)."""
    said = pip_said(output)
    text = "\n".join(said)
    missing = _MISSING.findall(text)
    if missing and "BackendUnavailable" in output:
        return TargetEnvironmentError(
            f"pip could not {what}: its build backend is not in the target environment "
            f"({missing[-1]})",
            hint="safeinstall never fetches unhashed build dependencies: add the backend "
            "(e.g. setuptools) to your inputs so that it is locked, install it, then retry",
            detail=said,
        )
    if missing:
        return TargetEnvironmentError(
            f"pip failed to {what} (exit {code}): the build needs a module the target "
            f"environment does not have ({missing[-1]})",
            hint="add the package that provides it to the build's requirements ([build-system] "
            "requires, for your project) and to your inputs, so that it is locked and "
            "installed before the build: safeinstall never fetches unhashed build dependencies",
            detail=said,
        )
    return TargetEnvironmentError(
        f"pip failed to {what} (exit {code}): {_headline(said)}",
        hint=_hint(what, text),
        detail=said,
    )


def _headline(said: tuple[str, ...]) -> str:
    """pip's first ERROR line, else the step that failed, else its last line of its own."""
    errors = [ln for ln in said if ln.startswith("ERROR")]
    steps = [ln.removeprefix(_STEP).rstrip(".") for ln in said if ln.startswith(_STEP)]
    own = [ln for ln in said if not ln.startswith(" ")][-1:]
    return (errors or steps or own or ["no output"])[0]


def _hint(what: str, text: str) -> str:
    if "DO NOT MATCH THE HASHES" in text:
        return (
            "the file changed after safeinstall verified it (something wrote to its cache, or "
            "the disk is failing): find what changed it, then install again"
        )
    if "No space left on device" in text or "[Errno 28]" in text:
        return "free some disk space (the environment's and the temporary directory's), then retry"
    if "Permission denied" in text or "[Errno 13]" in text:
        return (
            "you may not write to the target environment: install into a virtual environment "
            "you own (--python), or with --user"
        )
    if "No module named pip" in text:
        return "the target interpreter has no working pip: run `python -m ensurepip` with it"
    if any(marker in text for marker in _BUILD_FAILED):
        if what == PROJECT:
            return "the project's build failed with the error shown above: fix it, then retry"
        return (
            "the build failed with the error shown above: pin a version that publishes a wheel "
            "for this interpreter, or fix the build"
        )
    return "fix what pip reports, then install again"
