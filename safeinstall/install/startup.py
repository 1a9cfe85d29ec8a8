"""Start-up ``.pth`` files: which ones are known, and allowed by the ``startup-files`` policy key.

``site`` runs every line of a ``*.pth`` file in site-packages that starts with ``import`` (or
``import`` and a tab) at every interpreter start-up. A few honest tools ship one, each with a
fixed text, and these are the built-in rules (the shipped default allows all three):

- ``setuptools``: ``distutils-precedence.pth``, owned by setuptools, with the text of setuptools
  49.3-50.0, 50.1-59, 60.1 (``ensure_shim``) or 60.0/60.2 and later (a fresh Python 3.11 venv);
- ``coverage``: ``a1_coverage.pth``, owned by coverage, with the text of coverage 7.13.0 or of
  7.13.1 and later (written LF, or CRLF by wheels built on Windows);
- ``editable``: ``__editable__.<name>-<version>.pth``, written by an editable install of a
  setuptools project: ``import F; F.install()`` where ``F`` is the finder module setuptools
  names after the ``.pth`` file (``__editable___<name>_<version>_finder``), owned by the same
  distribution, and that distribution is an editable install of a project being verified.

A policy entry ``{ owner, file, sha256 }`` allows one more file: ``owner``'s ``file`` with exactly
those bytes. In every case the file passes only if (a) its owner, the distribution whose RECORD
lists it, is the known one, (b) its bytes match that RECORD line and (c) its content is the
known one. (b) is the caller's part: only a file whose RECORD line checked out has an owner.
``known_startup_file`` is the one rule, for ``verify`` and for inspecting a wheel before install.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import NormalizedName, canonicalize_name

from safeinstall.policy.model import StartupFile

# what is read of a .pth file (in a wheel, or installed): more than this counts as code
MAX_PTH_BYTES = 1024 * 1024

_SETUPTOOLS_VAR = "import os; var = 'SETUPTOOLS_USE_DISTUTILS'; "
_SETUPTOOLS_TEXTS = (
    "import os; enabled = os.environ.get('SETUPTOOLS_USE_DISTUTILS') == 'local'; "
    "enabled and __import__('_distutils_hack').add_shim(); ",
    _SETUPTOOLS_VAR + "enabled = os.environ.get(var, 'stdlib') == 'local'; "
    "enabled and __import__('_distutils_hack').add_shim(); ",
    _SETUPTOOLS_VAR + "enabled = os.environ.get(var, 'local') == 'local'; "
    "enabled and __import__('_distutils_hack').ensure_shim(); ",
    _SETUPTOOLS_VAR + "enabled = os.environ.get(var, 'local') == 'local'; "
    "enabled and __import__('_distutils_hack').add_shim(); ",
)
_COVERAGE_CODE = (
    'import os\\n\\nif os.getenv("COVERAGE_PROCESS_START") or os.getenv("COVERAGE_PROCESS_CONFIG"):'
    "\\n try:\\n  import coverage\\n except:\\n  pass\\n else:"
    '\\n  coverage.process_startup(slug="pth")'
)
_COVERAGE_TEXTS = (
    f"import sys; exec('{_COVERAGE_CODE}')",
    f"import sys; exec('\\n\\n\\n\\n\\n\\n{_COVERAGE_CODE}\\n')",  # 7.13.0
)
MAX_DIRECT_URL_BYTES = 64 * 1024
_EDITABLE = re.compile(r"__editable__\.(?P<stem>[^/\\]+)\.pth")
_NOT_IDENTIFIER = re.compile(r"\W|^(?=\d)")


@dataclass(frozen=True, slots=True)
class StartupOwner:
    """The distribution whose RECORD lists a ``.pth`` file, and whose RECORD line for it held."""

    name: NormalizedName
    files: frozenset[str]  # its RECORD paths, as written there
    editable_project: bool = False  # an editable install of a project being verified


def startup_code(data: bytes) -> tuple[int, str] | None:
    """Where and why ``site`` may run code from a ``.pth`` file with these bytes (read with
    ``MAX_PTH_BYTES + 1`` at most): (line, reason), or None when it runs nothing.

    Read as every supported Python reads it: 3.13 and later drop a UTF-8 BOM and split lines at
    every break ``str.splitlines`` knows; 3.11 and 3.12 keep the BOM and split at universal
    newlines only (fewer lines: whatever they run, this finds too). A file that is not UTF-8 is
    read in the locale's encoding, where a line may start anywhere, and site reads a file to its
    end however long: both count as code, as no honest ``.pth`` file is either."""
    if len(data) > MAX_PTH_BYTES:
        return 1, f"it is larger than {MAX_PTH_BYTES // 1024 // 1024} MiB, and site reads it all"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return 1, "it is not UTF-8, so site reads it in the locale's encoding"
    for number, line in enumerate(text.removeprefix("\ufeff").splitlines(), 1):
        if line.startswith(("import ", "import\t")):
            return number, f"line {number} starts with import"
    return None


def known_startup_file(
    file: str, data: bytes, owner: StartupOwner | None, allowed: Sequence[str | StartupFile]
) -> bool:
    """Whether the start-up file ``file`` (its name in site-packages) with bytes ``data``, listed
    by ``owner``'s RECORD with a hash that matched (None: by no RECORD, or not matching), is one
    that ``allowed`` (a policy's ``startup_files``) lets run."""
    if owner is None:
        return False
    for entry in allowed:
        if isinstance(entry, StartupFile):
            if (entry.owner, entry.file) == (owner.name, file) and (
                hashlib.sha256(data).hexdigest() == entry.sha256
            ):
                return True
        elif (rule := RULES.get(entry)) is not None and rule(file, data, owner):
            return True
    return False


def advice(file: str, data: bytes, owner: str | None) -> str:
    """What to add to the report of a start-up file that failed the rule: that it is named
    after a built-in one, else the policy entry that allows these bytes, if trusted."""
    if file == "distutils-precedence.pth":
        rule = "setuptools"
    elif file == "a1_coverage.pth":
        rule = "coverage"
    elif _EDITABLE.fullmatch(file):
        rule = "editable"
    elif owner is not None:
        sha256 = hashlib.sha256(data).hexdigest()
        entry = f'{{ owner = "{owner}", file = "{file}", sha256 = "{sha256}" }}'
        return f'; if you trust it, allow it in the policy: startup-files = ["default", {entry}]'
    else:
        return ""
    return (
        f": it is named like a known start-up file ({rule}), but its owner or content is not "
        "the known one"
    )


def is_editable(meta_dir: Path) -> bool:
    """Whether an installer recorded the distribution of ``meta_dir`` (its ``.dist-info``) as
    an editable install, in its direct_url.json."""
    try:
        with open(meta_dir / "direct_url.json", "rb") as fh:
            direct = json.loads(fh.read(MAX_DIRECT_URL_BYTES))
    except (OSError, ValueError):
        return False
    info = direct.get("dir_info") if isinstance(direct, dict) else None
    return isinstance(info, dict) and info.get("editable") is True


def _text(data: bytes, texts: Collection[str]) -> bool:
    """``data`` is one of ``texts``, as one line with or without its line end."""
    return any(data in (t.encode(), f"{t}\n".encode(), f"{t}\r\n".encode()) for t in texts)


def _setuptools(file: str, data: bytes, owner: StartupOwner) -> bool:
    return (
        file == "distutils-precedence.pth"
        and owner.name == "setuptools"
        and _text(data, _SETUPTOOLS_TEXTS)
    )


def _coverage(file: str, data: bytes, owner: StartupOwner) -> bool:
    return file == "a1_coverage.pth" and owner.name == "coverage" and _text(data, _COVERAGE_TEXTS)


def _editable(file: str, data: bytes, owner: StartupOwner) -> bool:
    found = _EDITABLE.fullmatch(file)
    if found is None or not owner.editable_project:
        return False
    stem = found["stem"]  # <name>-<version> as the .dist-info directory spells them
    if canonicalize_name(stem.rpartition("-")[0]) != owner.name:
        return False
    finder = _NOT_IDENTIFIER.sub("_", f"__editable__.{stem}.finder")  # as setuptools names it
    return f"{finder}.py" in owner.files and _text(data, (f"import {finder}; {finder}.install()",))


RULES: Mapping[str, Callable[[str, bytes, StartupOwner], bool]] = {
    "setuptools": _setuptools,
    "coverage": _coverage,
    "editable": _editable,
}
