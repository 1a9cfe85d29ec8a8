"""`safeinstall install`: a drop-in `pip install` that installs only verified bytes from a lock."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from safeinstall.commands.install.options import add_python, progress_for, python_of, report
from safeinstall.errors import PolicyError, UsageError
from safeinstall.ui import UI

if TYPE_CHECKING:
    from safeinstall.commands.install.byname import Request
    from safeinstall.install.pipeline import Options

HELP = "install exactly what a lock pins, verified, through pip"
DESCRIPTION = (
    "Install a hashed lock (-r requirements.txt or --lock pylock.toml): every file is downloaded "
    "in parallel into a sha256-addressed cache and verified before pip (run with its "
    "configuration isolated, --no-index --no-deps --require-hashes) touches the environment. "
    "Packages already installed at the locked version are skipped. Options that weaken these "
    "guarantees are refused. Package names: inside a project (requirements.in or pyproject.toml) "
    "they are added to its input, the project is relocked and the lock installed; outside one "
    "they are resolved through the trusted indexes and installed with hashes (--save FILE keeps "
    "the lock). `-e .` / `.`: the project's dependencies from its lock, then the project itself."
)
FORMATS = ("text", "json")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "packages",
        nargs="*",
        metavar="PKG",
        help="requirements to add (inside a project) or to resolve and install; `.` for the "
        "project here",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("-r", "--requirement", type=Path, metavar="FILE", help="a hashed lock")
    source.add_argument("--lock", type=Path, metavar="FILE", help="a pylock.toml lock")
    parser.add_argument(
        "-e",
        "--editable",
        metavar="PATH",
        help="install the project at PATH editable: its dependencies from its lock",
    )
    parser.add_argument(
        "--save",
        type=Path,
        metavar="FILE",
        help="outside a project: write the lock of the named packages to FILE "
        "(requirements.txt, or pylock.toml)",
    )
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


def install_requirements(requirements: Sequence[str], request: Request, ui: UI) -> int:
    """Install by name (`safeinstall install httpx 'rich>=13'`) or a local project (`.`)."""
    from safeinstall.commands.install.byname import install_names
    from safeinstall.commands.install.ownproject import install_project

    paths = [r for r in requirements if _is_path(r)]
    if not paths:
        return install_names(requirements, request, ui)
    if len(requirements) > 1:
        raise UsageError(
            "give either package names or one project directory, not both",
            hint="run `safeinstall install` once for each",
        )
    if not Path(paths[0]).is_dir():
        raise UsageError(
            f"{paths[0]} is not a project directory; local files are never installed unverified",
            hint="publish it on a trusted index and lock it, or give the project's directory",
        )
    return install_project(Path(paths[0]), request, ui, editable=False)


def _is_path(text: str) -> bool:
    """Whether a PKG argument names a local path, as pip would take it."""
    return text.startswith((".", "/", "~")) or "/" in text or text.endswith((".whl", ".zip"))


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
    from safeinstall.install.timings import phase_timings

    with phase_timings(os.environ, ui.warn):  # SAFEINSTALL_TIMINGS=PATH: seconds per phase
        return _install(args, ui)


def _install(args: argparse.Namespace, ui: UI) -> int:
    from safeinstall import urls
    from safeinstall.files.cachedir import cache_root
    from safeinstall.install.pipeline import install_lock, read_lock
    from safeinstall.policy.load import load_policy

    policy = load_policy(args.policy)
    if args.trusted_host or args.index_url or args.extra_index_url or args.no_deps:
        from safeinstall.policy.pipconfig import trusted_indexes

        trusted = [urls.normalize(spec.url) for spec in trusted_indexes(policy)]
        _refuse_weakening(args, trusted)
    lock_file: Path | None = args.requirement or args.lock
    if args.offline and not args.find_links:
        ui.debug("offline without --find-links: only files already in the cache can be used")
    python = python_of(args)
    python = str(Path(python).absolute()) if "/" in python else python  # steps run elsewhere
    options = _options(args, ui)
    if args.packages or args.editable:
        if lock_file is not None:
            raise UsageError("give either a lock or package names, not both")
        from safeinstall.commands.install.byname import Request

        save = args.save.absolute() if args.save else None
        if save is not None and not save.parent.is_dir():
            raise UsageError(f"cannot save the lock to {args.save}: no directory {save.parent}")
        request = Request(policy, python, options, save)
        if args.editable:
            from safeinstall.commands.install.ownproject import install_project

            if args.packages:
                raise UsageError("give either package names or -e PATH, not both")
            return install_project(Path(args.editable), request, ui, editable=True)
        return install_requirements(args.packages, request, ui)
    if lock_file is None:
        raise UsageError(
            "nothing to install",
            hint="give a lock: `safeinstall install -r requirements.txt` or `--lock pylock.toml`",
        )
    if args.save:
        raise UsageError("--save writes the lock of named packages; this lock is already saved")
    lock = read_lock(lock_file, policy)
    outcome = install_lock(
        lock, policy, python, options, cache=cache_root(), progress=progress_for(ui)
    )
    report(ui, outcome, python)
    return 0


def _options(args: argparse.Namespace, ui: UI) -> Options:
    from safeinstall.environment.pip import PipOptions
    from safeinstall.install.pipeline import Options

    scheme, where = "default", ""
    for name in ("target", "prefix", "root"):
        if getattr(args, name):
            scheme, where = name, str(Path(getattr(args, name)).resolve())
    if args.user:
        scheme = "user"
    return Options(
        reinstall=args.reinstall,
        dry_run=args.dry_run,
        offline=args.offline,
        find_links=tuple(p.absolute() for p in args.find_links),
        pip=PipOptions(
            scheme=scheme,  # type: ignore[arg-type]
            where=where,
            compile=not args.no_compile,
            reinstall=args.reinstall,
            verbosity=ui.verbosity,
            echo=ui.tool_output,
            warn=ui.warn,
        ),
    )
