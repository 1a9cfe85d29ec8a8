"""Finding and reading the policy file, then ``SAFEINSTALL_*`` overrides on top.

Discovery: an explicit path, else $SAFEINSTALL_POLICY, else (from the current directory up to the
repository root) the first ``safeinstall.toml`` or ``pyproject.toml`` with ``[tool.safeinstall]``;
none: the built-in default. Uses stdlib ``tomllib``: this runs on the pre-commit hook path.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from safeinstall.errors import InputError, Location, PolicyConfigError
from safeinstall.policy.model import ENV_OVERRIDES, Policy

POLICY_FILE = "safeinstall.toml"
PYPROJECT = "pyproject.toml"
POLICY_ENV = "SAFEINSTALL_POLICY"
MAX_POLICY_BYTES = 1 << 20


def policy_from_text(text: str, source: str, *, pyproject: bool) -> Policy:
    """The policy in a file's text: a pyproject's ``[tool.safeinstall]``, else the top level."""
    from safeinstall.policy.keys import policy_from_table  # only when there is a policy file

    data = parse_toml(text, source)
    if not pyproject:
        return policy_from_table(data, source, text)
    table = _tool_table(data)
    if not isinstance(table, dict):
        raise PolicyConfigError(
            "there is no [tool.safeinstall] table in this file",
            location=Location(source),
            hint="add one with `safeinstall init`, or point --policy at another file",
        )
    header = re.search(r"^\s*\[\s*tool\s*\.\s*[\"']?safeinstall[\"']?\s*\]", text, re.MULTILINE)
    start = text.count("\n", 0, header.start()) + 1 if header else 1
    return policy_from_table(table, source, text, start)


def _tool_table(data: Mapping[str, Any]) -> Any:
    tool = data.get("tool")
    return tool.get("safeinstall") if isinstance(tool, dict) else None


def parse_toml(text: str, source: str) -> dict[str, Any]:
    import tomllib  # start-up time: most hook runs read no TOML

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"at line (\d+)", str(exc))
        raise InputError(
            f"this is not valid TOML: {str(exc).split(' (at line')[0]}",
            location=Location(source, int(found[1]) if found else None),
            hint="fix the TOML syntax",
        ) from exc


def _read(path: Path) -> str:
    from safeinstall.files.capped import read_capped

    data = read_capped(
        path, MAX_POLICY_BYTES, what="the policy file", hint="check the path and its permissions"
    )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            "the file is not valid UTF-8",
            location=Location(str(path), data.count(b"\n", 0, exc.start) + 1),
            hint="save it as UTF-8",
        ) from exc


def is_pyproject(path: Path) -> bool:
    return path.name == PYPROJECT


def find_policy_file(cwd: Path) -> Path | None:
    """From ``cwd`` up to the repository root (the directory with ``.git``) or the filesystem root,
    the first ``safeinstall.toml``, or ``pyproject.toml`` with a ``[tool.safeinstall]`` table."""
    for directory in (cwd, *cwd.parents):
        if (directory / POLICY_FILE).is_file():
            return directory / POLICY_FILE
        pyproject = directory / PYPROJECT
        if (
            pyproject.is_file()
            and _tool_table(parse_toml(_read(pyproject), str(pyproject))) is not None
        ):
            return pyproject
        if (directory / ".git").exists():
            return None
    return None


def load_policy(
    path: str | None = None, *, cwd: Path | None = None, environ: Mapping[str, str] | None = None
) -> Policy:
    """The policy in force: ``path``, else $SAFEINSTALL_POLICY, else found upwards from ``cwd``,
    else the built-in default; then the SAFEINSTALL_* overrides."""
    env = os.environ if environ is None else environ
    base = Path.cwd() if cwd is None else cwd
    explicit = path or env.get(POLICY_ENV) or None
    if explicit is None:
        found = find_policy_file(base.resolve())
        policy = Policy() if found is None else _load_file(found, str(found))
    elif (base / explicit).is_file():
        policy = _load_file(base / explicit, explicit)
    else:
        raise PolicyConfigError(
            f"{'--policy' if path else POLICY_ENV} names a policy file that does not exist",
            location=Location(explicit),
            hint="check the path, or create a policy with `safeinstall init`",
        )
    if not any(var in ENV_OVERRIDES for var in env):
        return policy  # nothing to override: spare the hook path the key validators' import
    from safeinstall.policy.keys import apply_env_overrides

    return apply_env_overrides(policy, env)


def _load_file(file: Path, shown: str) -> Policy:
    return policy_from_text(_read(file), shown, pyproject=is_pyproject(file))
