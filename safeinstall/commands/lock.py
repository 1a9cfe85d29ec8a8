"""`safeinstall lock`: resolve the inputs over the trusted indexes into a hash-pinned lock."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from safeinstall.errors import UsageError
from safeinstall.lock import recipe
from safeinstall.lock.recipe import default_inputs, default_output
from safeinstall.ui import UI

HELP = "resolve requirements into a hash-pinned lock (requirements.txt or pylock.toml)"
DESCRIPTION = (
    "Resolve requirement inputs (requirements.in files, pyproject.toml) over the policy's trusted "
    "indexes and write a lock that pins every package to exact bytes: requirements.txt with "
    "--hash lines, or PEP 751 pylock.toml when OUTPUT ends in .toml. Existing pins are kept "
    "unless --upgrade or -P asks otherwise. With --check, only tell whether the lock is up to date "
    "with its inputs and policy (offline; exit 1 when stale)."
)
FORMATS = ("text", "json")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    recipe.add_arguments(parser)  # one definition: audit --fix reads recorded commands with it


def _command_line(args: argparse.Namespace, inputs: list[Path], output: Path) -> str:
    words = ["safeinstall", "lock", *map(str, inputs), "-o", str(output)]
    for flag, value in (("--python-version", args.python_version), ("--platform", args.platform)):
        if value:
            words += [flag, value]
    words += [w for extra in args.extra for w in ("--extra", extra)]
    words += ["--all-extras"] if args.all_extras else []
    words += [w for group in args.group for w in ("--group", group)]
    return shlex.join(words)


def run(args: argparse.Namespace, ui: UI) -> int:
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
    if not args.check and policy.indexes is None:
        # pip's own indexes: ask it while the inputs are read (--check needs no index)
        from safeinstall.policy.pipconfig import look_up_in_background

        look_up_in_background()
    targets = choose_targets(policy, args.python_version, args.platform)
    inputs_read = read_inputs(
        inputs, policy, extras=args.extra, all_extras=args.all_extras, groups=args.group
    )
    if args.check:
        return _check(ui, output, digest_for(inputs_read, policy, targets), args)
    upgrade: bool | set[NormalizedName] = args.upgrade or {
        canonicalize_name(n) for n in args.upgrade_package
    }
    from safeinstall.lock.make import write_lock  # the resolver's side: not for --check

    ui.info(f"Resolving {len(inputs_read.roots)} requirements for {len(targets)} target(s)...")
    result = write_lock(
        output,
        inputs_read,
        policy,
        targets,
        command=_command_line(args, inputs, output),
        upgrade=upgrade,
        notify=ui.warn,
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


def _check(ui: UI, output: Path, digest: str, args: argparse.Namespace) -> int:
    from safeinstall.lock.read import read_lock_file

    if not output.is_file():
        raise UsageError(f"{output} does not exist", hint="run `safeinstall lock` to create it")
    fresh = read_lock_file(output).digest == digest
    if args.format == "json":
        ui.json({"output": str(output), "fresh": fresh, "digest": digest})
    elif fresh:
        ui.summary(f"{output}: up to date", stdout=True)
    else:
        ui.problem(f"{output}: stale (its inputs, policy or targets changed)")
        ui.info("hint: run `safeinstall lock` to update it")
    return 0 if fresh else 1
