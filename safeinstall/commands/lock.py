"""`safeinstall lock`: resolve the inputs over the trusted indexes into a hash-pinned lock."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from safeinstall.errors import UsageError
from safeinstall.lock import recipe
from safeinstall.lock.recipe import default_inputs, default_output
from safeinstall.ui import UI, Live, live_status

if TYPE_CHECKING:
    from collections.abc import Callable

    from safeinstall.lock.model import Lock

HELP = "resolve requirements into a hash-pinned lock (requirements.txt or pylock.toml)"
DESCRIPTION = (
    "Resolve requirement inputs (requirements.in files, pyproject.toml) over the policy's trusted "
    "indexes and write a lock that pins every package to exact bytes: requirements.txt with "
    "--hash lines, or PEP 751 pylock.toml when OUTPUT ends in .toml. Existing pins are kept "
    "unless --upgrade or -P asks otherwise. With --check, only tell whether the lock is as "
    "safeinstall wrote it and up to date with its inputs and policy (offline; exit 1 when it "
    "is stale, edited since, or not made by safeinstall)."
)
FORMATS = ("text", "json")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    recipe.add_arguments(parser)  # one definition: audit --fix reads recorded commands with it


def _command_line(args: argparse.Namespace, inputs: list[Path], output: Path) -> str:
    import shlex  # start-up time: `lock --check` on a fresh lock prints no command

    words = ["safeinstall", "lock", *map(str, inputs), "-o", str(output)]
    for flag, value in (("--python-version", args.python_version), ("--platform", args.platform)):
        if value:
            words += [flag, value]
    words += [w for extra in args.extra for w in ("--extra", extra)]
    words += ["--all-extras"] if args.all_extras else []
    words += [w for group in args.group for w in ("--group", group)]
    words += [w for name in args.allow_fresh for w in ("--allow-fresh", name)]
    words += ["--reason", args.reason] if args.allow_fresh else []
    return shlex.join(words)


def run(args: argparse.Namespace, ui: UI) -> int:
    from functools import partial

    from packaging.utils import NormalizedName, canonicalize_name

    from safeinstall.filekind import is_pylock
    from safeinstall.lock.inputs import choose_targets, digest_for, read_inputs
    from safeinstall.policy.load import load_policy

    inputs: list[Path] = args.inputs or default_inputs()
    output: Path = args.output or default_output(inputs)
    if output.suffix == ".toml" and not is_pylock(output):
        raise UsageError(
            f"a PEP 751 lock must be named pylock.toml or pylock.NAME.toml, not {output.name}"
        )
    if output in inputs:
        raise UsageError(f"{output} is both an input and the output")
    policy = load_policy(args.policy)
    if not args.check:  # --check needs no index
        from safeinstall.workers import one_malloc_arena

        one_malloc_arena()  # before any thread starts
        if policy.indexes is None:  # pip's own indexes: ask it while the inputs are read
            from safeinstall.policy.pipconfig import look_up_in_background

            look_up_in_background()
        from safeinstall.net.tls import prepare_tls

        prepare_tls()  # the CAs load meanwhile
    targets = choose_targets(policy, args.python_version, args.platform)
    inputs_read = read_inputs(
        inputs,
        policy,
        extras=args.extra,
        all_extras=args.all_extras,
        groups=args.group,
        roots=not args.check,  # the digest covers the inputs' bytes: --check needs no roots
    )
    if args.check:
        relock = partial(_command_line, args, inputs, output)
        return _check(ui, output, digest_for(inputs_read, policy, targets), args, relock)
    upgrade: bool | set[NormalizedName] = args.upgrade or {
        canonicalize_name(n) for n in args.upgrade_package
    }
    from safeinstall.lock.make import write_lock  # the resolver's side: not for --check

    if args.allow_fresh or args.reason is not None:
        from safeinstall.frozen import replace
        from safeinstall.lock.ref import git_user

        fresh = recipe.allow_fresh(args.allow_fresh, args.reason, git_user)
        policy = replace(policy, allow_fresh=fresh)

    ui.info(f"Resolving {len(inputs_read.roots)} requirements for {len(targets)} target(s)...")
    result = write_lock(
        output,
        inputs_read,
        policy,
        targets,
        command=_command_line(args, inputs, output),
        upgrade=upgrade,
        notify=partial(_warn, ui, live_status()),
    )
    packages = result.lock.packages
    hashes = sum(len(p.files) for p in packages)
    if args.format == "json":
        ui.json(
            {
                "output": str(output),
                "changed": result.changed,
                "packages": len(packages),
                "hashes": hashes,
                "targets": list(result.lock.environments),
                "digest": result.lock.digest,
            }
        )
    else:
        state = "wrote" if result.changed else "unchanged"
        ui.summary(f"{output}: {state}, {len(packages)} packages, {hashes} hashes", stdout=True)
    return 0


def _warn(ui: UI, status: Live, message: str) -> None:
    """A warning on a line of its own, not after the progress line (called from fetch threads
    too: ``status`` is the command's, which those threads do not see)."""
    with status.writing:
        status.clear()
        ui.warn(message)


# What `lock --check` finds, most serious first, with the line it prints after the file name.
_STATES = {
    "foreign": "not made by safeinstall (it records no safeinstall digest)",
    "edited": "edited since safeinstall wrote it (its packages, versions, markers, hashes or "
    "URLs are not what safeinstall recorded)",
    "unrecorded": "records no content digest (made by an older safeinstall, or the record "
    "was removed)",
    "stale": "stale (its inputs, policy or targets changed)",
    "fresh": "up to date",
}


def _check(
    ui: UI, output: Path, digest: str, args: argparse.Namespace, relock: Callable[[], str]
) -> int:
    """Offline: whose lock it is, whether it is what safeinstall wrote (its content digest), and
    whether it still matches its inputs, policy and targets (its freshness digest)."""
    from safeinstall.lock.content import content_digest
    from safeinstall.lock.read import made_by_another_tool, parse_lock, read_lock_bytes

    if not output.is_file():
        raise UsageError(f"{output} does not exist", hint="run `safeinstall lock` to create it")
    data = read_lock_bytes(output)
    if made_by_another_tool(data, output.name):
        state = "foreign"
    else:
        lock = parse_lock(data, output.name, str(output))
        if not lock.recorded_content:
            state = "unrecorded"
        elif lock.recorded_content != content_digest(lock):
            state = "edited"
        else:
            state = "fresh" if lock.digest == digest else "stale"
    if args.format == "json":
        ui.json(
            {"output": str(output), "fresh": state == "fresh", "state": state, "digest": digest}
        )
        return 0 if state == "fresh" else 1
    if state == "fresh":
        ui.summary(f"{output}: {_STATES[state]}", stdout=True)
        return 0
    ui.problem(f"{output}: {_STATES[state]}")
    line = relock()
    if state == "foreign":
        ui.info(f"hint: `lock --check` checks locks safeinstall made; make this one with `{line}`")
    elif state == "edited":
        names = _edited_since_head(output, lock)
        if names:
            ui.problem(f"{output}: edited entries (against HEAD's lock): {', '.join(names)}")
        ui.info(
            f"hint: see the edit with `git diff {output}` or "
            f"`safeinstall diff HEAD:{output} {output}`; a lock is changed by relocking: `{line}`"
        )
    else:
        ui.info(f"hint: run `{line}` to update it")
    return 1


def _edited_since_head(output: Path, lock: Lock) -> list[str]:
    """The packages an edit touched, named against HEAD's lock when git has one that is still
    what safeinstall wrote (its content digest holds); [] when there is none to compare with."""
    from safeinstall.errors import SafeinstallError
    from safeinstall.lock.content import changed_names, content_digest
    from safeinstall.lock.read import parse_lock
    from safeinstall.lock.ref import git_show_if_present

    try:
        data = git_show_if_present("HEAD", output)
        head = None if data is None else parse_lock(data, output.name, f"HEAD:{output}")
    except SafeinstallError:  # no git, no repository, no lock there: nothing to name
        return []
    if head is None or not head.recorded_content or head.recorded_content != content_digest(head):
        return []
    return changed_names(head, lock)
