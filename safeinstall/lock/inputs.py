"""What a lock is made from: top-level requirements read from requirement files and pyproject.toml.

Inputs are checked with the same rules as `safeinstall check` (input mode) before anything is
resolved: an untrusted index line, a denied or look-alike name, an env-var reference or a direct
reference the policy does not allow stops the lock with the findings listed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from safeinstall import __version__
from safeinstall.errors import InputError, Location, PolicyError, UsageError
from safeinstall.frozen import Frozen, _set
from safeinstall.guard.findings import Finding
from safeinstall.lock.model import input_digest
from safeinstall.lock.recipe import Recipe
from safeinstall.policy.model import Policy
from safeinstall.targets import Target

if TYPE_CHECKING:
    from packaging.requirements import Requirement

    from safeinstall.requirements.pep508 import Root


class LockInputs(Frozen):
    """The roots read from the inputs, the files read and what the freshness digest covers."""

    __slots__ = ("digest_parts", "files", "roots")
    roots: tuple[Root, ...]  # empty when read with ``roots=False``
    files: tuple[str, ...]  # every file read, includes too
    digest_parts: tuple[bytes, ...]  # what the lock's freshness digest covers

    def __init__(
        self, roots: tuple[Root, ...], files: tuple[str, ...], digest_parts: tuple[bytes, ...]
    ) -> None:
        _set(self, "roots", roots)
        _set(self, "files", files)
        _set(self, "digest_parts", digest_parts)


def read_inputs(
    paths: Sequence[Path],
    policy: Policy,
    *,
    extras: Sequence[str] = (),
    all_extras: bool = False,
    groups: Sequence[str] = (),
    contents: Mapping[Path, bytes] | None = None,
    roots: bool = True,
) -> LockInputs:
    """The roots and freshness digest of ``paths``, refused when the policy finds a problem.

    ``contents`` maps a file (by resolved path) to bytes to use instead of what is on disk:
    `install PKG` resolves an edited input before it writes it. ``roots=False`` (`lock
    --check`): the inputs are checked and digested alike, but no root is built (the digest
    covers the files' bytes, not the roots), and ``roots`` is empty.
    """
    from safeinstall.filekind import file_kind
    from safeinstall.guard.rules import Rules
    from safeinstall.requirements.file import parse_requirements, parse_requirements_text
    from safeinstall.requirements.pep508 import Root, parse_pep508
    from safeinstall.requirements.syntax import decode

    def edited(path: Path | str) -> bytes | None:
        return contents.get(Path(path).resolve()) if contents else None

    checker = Rules(policy)
    wanted: list[Root] = []
    files: list[str] = []
    findings: list[Finding] = []
    for path in paths:
        kind = file_kind(path, mode="input")
        if kind == "pylock":
            raise UsageError(
                f"{path} is a lock, not an input",
                hint="lock from requirements.in or pyproject.toml",
            )
        if kind == "pyproject":
            findings += checker.pyproject(path, edited(path))
            requirements = _pyproject_requirements(path, extras, all_extras, groups, edited(path))
            for text, where in requirements if roots else ():
                wanted.append(Root(parse_pep508(text, where), str(where)))
            files.append(str(path))
            continue
        raw = edited(path)
        parsed = (
            parse_requirements(path)
            if raw is None
            else parse_requirements_text(decode(raw, str(path)), str(path))
        )
        findings += checker.requirements(parsed, locked=False)
        files += parsed.files
        for req in parsed.requirements:
            if req.constraint:
                raise InputError(
                    "constraint files (-c) are not supported by `safeinstall lock` yet",
                    location=req.location,
                    hint="move the pins into the requirements, or remove the -c line",
                )
            if req.kind == "named" and roots:
                wanted.append(Root(_as_requirement(req.line, req), str(req.location)))
    if findings:
        raise PolicyError(
            "the inputs break the policy:\n"
            + "\n".join(f"  {f.location}: {f.rule}: {f.message}" for f in findings),
            hint="fix them (see `safeinstall check`), then lock again",
        )
    parts = [_selection(extras, all_extras, groups).encode()]
    for name in dict.fromkeys(files):
        raw = edited(name)
        parts += [name.encode(), Path(name).read_bytes() if raw is None else raw]
    return LockInputs(tuple(wanted), tuple(dict.fromkeys(files)), tuple(parts))


def read_recipe_inputs(
    recipe: Recipe, policy: Policy, *, contents: Mapping[Path, bytes] | None = None
) -> LockInputs:
    """``read_inputs`` for the inputs and options a lock records it was made with."""
    return read_inputs(
        recipe.inputs,
        policy,
        extras=recipe.extras,
        all_extras=recipe.all_extras,
        groups=recipe.groups,
        contents=contents,
    )


def _selection(extras: Sequence[str], all_extras: bool, groups: Sequence[str]) -> str:
    return f"extras={sorted(extras)} all-extras={all_extras} groups={sorted(groups)}"


def _as_requirement(line: str, req: object) -> Requirement:
    # start-up time: `lock --check` builds no roots, and needs no PEP 508 parser
    from packaging.requirements import Requirement

    from safeinstall.requirements.file import ReqLine

    assert isinstance(req, ReqLine)
    extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
    marker = f" ; {req.marker}" if req.marker is not None else ""
    return Requirement(f"{req.raw_name}{extras}{req.specifier}{marker}")


def _pyproject_requirements(
    path: Path,
    extras: Sequence[str],
    all_extras: bool,
    groups: Sequence[str],
    raw: bytes | None = None,
) -> list[tuple[str, Location]]:
    from packaging.dependency_groups import resolve_dependency_groups

    from safeinstall.requirements.pyproject import read_pyproject

    project = read_pyproject(path, raw)  # refuses a [project] or a table in it that is no table
    located = {(d.group, d.text): d.location for d in project.requirements}
    optional = project.data.get("project", {}).get("optional-dependencies", {})
    wanted = set(optional) if all_extras else set(extras)
    unknown = sorted(wanted - set(optional))
    if unknown:
        raise UsageError(
            f"{path} has no optional dependencies named {', '.join(unknown)}",
            hint=f"known extras: {', '.join(sorted(optional)) or 'none'}",
        )
    out = [(d.text, d.location) for d in project.requirements if d.group == "project"]
    out += [
        (d.text, d.location)
        for d in project.requirements
        if d.group.startswith("optional:") and d.group.removeprefix("optional:") in wanted
    ]
    if groups:
        table = project.data.get("dependency-groups", {})
        missing = sorted(set(groups) - set(table))
        if missing:
            raise UsageError(
                f"{path} has no dependency group named {', '.join(missing)}",
                hint=f"known groups: {', '.join(sorted(table)) or 'none'}",
            )
        try:
            texts = resolve_dependency_groups(table, *groups)
        except (ValueError, TypeError, LookupError, ExceptionGroup) as exc:
            # packaging collects what is wrong (an include cycle, an unknown included group, an
            # invalid requirement) into an ExceptionGroup
            raise InputError(
                f"invalid [dependency-groups]: {'; '.join(_reasons(exc))}",
                location=project.table_location("dependency-groups"),
                hint="fix the group: each include-group names another group, without a cycle",
            ) from None
        for text in texts:
            where = next(
                (loc for (g, t), loc in located.items() if t == text and g.startswith("group:")),
                Location(str(path)),
            )
            out.append((text, where))
    return out


def _reasons(exc: BaseException) -> list[str]:
    """The message of ``exc``, or of each exception an ExceptionGroup holds (in order, once)."""
    if isinstance(exc, BaseExceptionGroup):
        return list(dict.fromkeys(r for inner in exc.exceptions for r in _reasons(inner)))
    text = str(exc.args[0]) if isinstance(exc, LookupError) and exc.args else str(exc)
    return [text.splitlines()[0] if text else type(exc).__name__]


# -- the freshness digest: what `lock --check` compares, offline -----------------------------


def choose_targets(
    policy: Policy, python_version: str | None = None, platform: str | None = None
) -> tuple[Target, ...]:
    """What `safeinstall lock` locks for: the one asked for, else the policy's, else this one."""
    from safeinstall.targets import current_target, targets_for, targets_from_markers

    if python_version or platform:
        return targets_for(python_version, platform)
    if policy.environments:
        return targets_from_markers(policy.environments, policy.source)
    return (current_target(),)


def policy_bytes(policy: Policy, contents: Mapping[Path, bytes] | None = None) -> bytes | None:
    """The policy file's bytes (``contents``: edited files not yet written, by resolved path)."""
    if policy.source is None:
        return None
    source = Path(policy.source)
    if contents and source.resolve() in contents:
        return contents[source.resolve()]
    try:
        return source.read_bytes()
    except OSError:
        return None


def digest_for(
    inputs: LockInputs,
    policy: Policy,
    targets: Sequence[Target],
    contents: Mapping[Path, bytes] | None = None,
) -> str:
    """The freshness digest; SAFEINSTALL_* policy overrides in force count as part of the policy."""
    from safeinstall.policy.model import ENV_OVERRIDES

    raw = policy_bytes(policy, contents)
    overrides = [f"{k}={os.environ[k].strip()}" for k in sorted(ENV_OVERRIDES) if _is_set(k)]
    if overrides:
        raw = (raw or b"") + ("\n# overrides\n" + "\n".join(overrides)).encode()
    return input_digest(inputs.digest_parts, raw, targets, __version__)


def _is_set(variable: str) -> bool:
    return bool(os.environ.get(variable, "").strip())
