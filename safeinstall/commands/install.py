"""`safeinstall install`: a drop-in `pip install` that installs only verified bytes from a lock."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from safeinstall.commands.installopts import add_python, progress_for, python_of, report
from safeinstall.errors import PolicyError, UsageError
from safeinstall.ui import UI

HELP = "install exactly what a lock pins, verified, through pip"
DESCRIPTION = (
    "Install a hashed lock (-r requirements.txt or --lock pylock.toml): every file is downloaded "
    "in parallel into a sha256-addressed cache and verified before pip (run with its "
    "configuration isolated, --no-index --no-deps --require-hashes) touches the environment. "
    "Packages already installed at the locked version are skipped. Options that weaken these "
    "guarantees are refused."
)
FORMATS = ("text", "json")
BY_NAME = "installing by name: use `safeinstall lock` then `install -r`"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("packages", nargs="*", metavar="PKG", help=argparse.SUPPRESS)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("-r", "--requirement", type=Path, metavar="FILE", help="a hashed lock")
    source.add_argument("--lock", type=Path, metavar="FILE", help="a pylock.toml lock")
    parser.add_argument("-e", "--editable", metavar="PATH", help=argparse.SUPPRESS)
    add_python(parser)
    parser.add_argument(
        "--reinstall",
        "--force-reinstall",
        action="store_true",
        help="reinstall packages even when the locked version is installed",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="show what would be installed; change nothing"
    )
    scheme = parser.add_mutually_exclusive_group()
    scheme.add_argument("--target", metavar="DIR", help="install into DIR (pip --target)")
    scheme.add_argument("--prefix", metavar="DIR", help="install under this prefix")
    scheme.add_argument("--user", action="store_true", help="install into the user site")
    scheme.add_argument("--root", metavar="DIR", help="install relative to this root")
    parser.add_argument("--no-compile", action="store_true", help="do not compile .pyc files")
    parser.add_argument(
        "--offline", action="store_true", help="use no network: only --find-links and the cache"
    )
    parser.add_argument(
        "--find-links",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help="a directory of files (from `safeinstall download`), matched by sha256",
    )
    # pip options accepted only to refuse them (or to check them against the policy)
    parser.add_argument("-i", "--index-url", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument(
        "--extra-index-url", action="append", default=[], metavar="URL", help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--trusted-host", action="append", default=[], metavar="HOST", help=argparse.SUPPRESS
    )
    parser.add_argument("--no-deps", action="store_true", help=argparse.SUPPRESS)


def install_requirements(requirements: Sequence[str], ui: UI) -> int:
    """Install by name (`safeinstall install httpx 'rich>=13'`, `.`, `-e .`): not built yet.

    The seam for the project-aware path: add to the project's input, relock, install the lock.
    """
    raise UsageError(BY_NAME, hint="e.g. `safeinstall lock requirements.in -o requirements.txt`")


def _refuse_weakening(args: argparse.Namespace, policy_indexes: Sequence[str]) -> None:
    from safeinstall import urls

    if args.trusted_host:
        raise PolicyError(
            f"--trusted-host {args.trusted_host[0]} would turn off TLS verification",
            hint="serve the index over verified https; safeinstall never skips verification",
        )
    for url in [args.index_url, *args.extra_index_url]:
        if url and urls.normalize(url) not in policy_indexes:
            raise PolicyError(
                f"{urls.redact(url)} is not a trusted index",
                hint="trusted indexes come from the policy's `indexes`; add it there if you "
                "trust it",
            )
    if args.no_deps and not (args.requirement or args.lock):
        raise PolicyError(
            "--no-deps without a lock would install packages whose dependencies nobody pinned",
            hint="lock first (`safeinstall lock`), then `safeinstall install -r requirements.txt`",
        )


def run(args: argparse.Namespace, ui: UI) -> int:
    from safeinstall import urls
    from safeinstall.finder import cache_root
    from safeinstall.install import Options, install_lock, read_lock
    from safeinstall.pipenv import PipOptions
    from safeinstall.policy import load_policy

    policy = load_policy(args.policy)
    if args.trusted_host or args.index_url or args.extra_index_url or args.no_deps:
        trusted = [urls.normalize(spec.url) for spec in policy.index_specs()]
        _refuse_weakening(args, trusted)
    lock_file: Path | None = args.requirement or args.lock
    if args.packages or args.editable:
        if lock_file is not None:
            raise UsageError("give either a lock or package names, not both")
        return install_requirements(
            [*args.packages, *([args.editable] if args.editable else [])], ui
        )
    if lock_file is None:
        raise UsageError(
            "nothing to install",
            hint="give a lock: `safeinstall install -r requirements.txt` or `--lock pylock.toml`",
        )
    if args.offline and not args.find_links:
        ui.debug("offline without --find-links: only files already in the cache can be used")
    scheme, where = "default", ""
    for name in ("target", "prefix", "root"):
        if getattr(args, name):
            scheme, where = name, str(Path(getattr(args, name)).resolve())
    if args.user:
        scheme = "user"
    python = python_of(args)
    options = Options(
        reinstall=args.reinstall,
        dry_run=args.dry_run,
        offline=args.offline,
        find_links=tuple(args.find_links),
        pip=PipOptions(
            scheme=scheme,  # type: ignore[arg-type]
            where=where,
            compile=not args.no_compile,
            reinstall=args.reinstall,
            verbosity=args.verbose - args.quiet,
        ),
    )
    lock = read_lock(lock_file, policy)
    outcome = install_lock(
        lock, policy, python, options, cache=cache_root(), progress=progress_for(ui)
    )
    report(ui, outcome, python)
    return 0
