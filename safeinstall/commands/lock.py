"""`safeinstall lock`: resolve the inputs over the trusted indexes into a hash-pinned lock."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from safeinstall.errors import UsageError
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
    parser.add_argument(
        "inputs",
        nargs="*",
        type=Path,
        metavar="INPUT",
        help="requirement files and/or pyproject.toml "
        "(default: requirements.in, else pyproject.toml)",
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        help="the lock to write (default: requirements.txt, or INPUT with .txt for a single *.in)",
    )
    upgrade = parser.add_mutually_exclusive_group()
    upgrade.add_argument(
        "-U", "--upgrade", action="store_true", help="ignore the pins of the existing lock"
    )
    upgrade.add_argument(
        "-P",
        "--upgrade-package",
        action="append",
        default=[],
        metavar="PKG",
        help="let PKG move off its existing pin (repeatable)",
    )
    parser.add_argument("--python-version", metavar="X.Y", help="lock for this Python version")
    parser.add_argument(
        "--platform",
        metavar="P",
        help="lock for this platform: linux, linux-aarch64, macos, macos-x86_64, windows, "
        "windows-arm64, or a wheel platform tag such as manylinux_2_28_x86_64",
    )
    parser.add_argument(
        "--extra",
        action="append",
        default=[],
        metavar="NAME",
        help="include an optional dependency group of pyproject.toml (repeatable)",
    )
    parser.add_argument(
        "--all-extras", action="store_true", help="include every optional dependency group"
    )
    parser.add_argument(
        "--group",
        action="append",
        default=[],
        metavar="NAME",
        help="include a PEP 735 [dependency-groups] group (repeatable)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="do not resolve: exit 0 if the lock matches its inputs and policy, 1 if stale",
    )


def default_inputs() -> list[Path]:
    for name in ("requirements.in", "pyproject.toml"):
        if Path(name).is_file():
            return [Path(name)]
    raise UsageError(
        "no inputs given and neither requirements.in nor pyproject.toml is here",
        hint="name the inputs, e.g. `safeinstall lock requirements.in -o requirements.txt`",
    )


def default_output(inputs: list[Path]) -> Path:
    if len(inputs) == 1 and inputs[0].suffix == ".in":
        return inputs[0].with_suffix(".txt")
    return Path("requirements.txt")


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
    from safeinstall.lock.inputs import read_inputs
    from safeinstall.lock.make import choose_targets, digest_for, write_lock
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
        ui.line(f"{output}: {state}, {len(packages)} packages, {hashes} hashes")
    return 0


def _check(ui: UI, output: Path, digest: str, args: argparse.Namespace) -> int:
    from safeinstall.lock.read import read_lock_file

    if not output.is_file():
        raise UsageError(f"{output} does not exist", hint="run `safeinstall lock` to create it")
    fresh = read_lock_file(output).digest == digest
    if args.format == "json":
        ui.json({"output": str(output), "fresh": fresh, "digest": digest})
    elif fresh:
        ui.line(f"{output}: up to date")
    else:
        ui.line(f"{output}: stale (its inputs, policy or targets changed)")
        ui.info("hint: run `safeinstall lock` to update it")
    return 0 if fresh else 1
