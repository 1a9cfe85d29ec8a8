"""Command line: ``main(argv) -> int`` and the one place errors become messages and exit codes.

Each command lives in ``safeinstall/commands/<name>.py`` and exposes ``HELP``, ``FORMATS``,
``add_arguments(parser)`` and ``run(args, ui) -> int``. Command modules import only what parsing
needs at module level, and a command line that starts with the command's name builds that
command's parser only, so the hook path (``check``) starts fast however many commands there are.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
import traceback
from collections.abc import Sequence
from types import ModuleType

from safeinstall import __version__
from safeinstall.errors import SafeinstallError
from safeinstall.ui import UI, live

# The commands that work, in the order `--help` lists them.
COMMANDS: tuple[str, ...] = (
    "init",
    "check",
    "lock",
    "install",
    "sync",
    "download",
    "scan",
    "verify",
    "audit",
    "sbom",
    "diff",
    "why",
    "tree",
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


def _command(name: str) -> ModuleType:
    return importlib.import_module(f"safeinstall.commands.{name}")


def _terminal_columns() -> int:
    """``shutil.get_terminal_size().columns``: argparse asks shutil, whose import (it loads the
    compression modules) costs the hook more than building the whole parser."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0 and sys.__stdout__ is not None:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (ValueError, OSError):
            columns = 0
    return columns or 80


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's own layout and width (the terminal's, less 2), measured without shutil."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=_terminal_columns() - 2)


def _global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """Options valid before and after the command name (pip style)."""
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="show tracebacks for errors",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=argparse.SUPPRESS if suppress else 0,
        help="say more: details, and pip's own output as it runs",
    )
    parser.add_argument(
        "-q",
        "--quiet",
        action="count",
        default=argparse.SUPPRESS if suppress else 0,
        help="say less: -q one summary line per command, -qq errors only",
    )
    parser.add_argument(
        "--policy",
        metavar="PATH",
        default=default,
        help="policy file (pyproject.toml with [tool.safeinstall], or safeinstall.toml); "
        "default: SAFEINSTALL_POLICY, else found from the current directory upwards",
    )


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser for every command, or, for a command line starting with ``command``, the same
    parser holding that command alone: argparse takes the first word as the command then, so it
    parses alike, and the other commands' modules and parsers are not built for nothing."""
    parser = argparse.ArgumentParser(
        prog="safeinstall",
        formatter_class=_HelpFormatter,
        description="Hash-pinned locks, verified installs and commit-time guards "
        "for Python dependencies.",
        epilog="Exit codes: 0 ok, 1 check/policy/integrity failure, 2 usage or input error, "
        "3 internal error.",
    )
    parser.add_argument("--version", action="version", version=f"safeinstall {__version__}")
    _global_options(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS if command is None else (command,):
        module = _command(name)
        cmd = sub.add_parser(
            name,
            help=module.HELP,
            description=getattr(module, "DESCRIPTION", module.HELP),
            formatter_class=_HelpFormatter,
        )
        _add_command_arguments(cmd, module)
    return parser


def _add_command_arguments(cmd: argparse.ArgumentParser, module: ModuleType) -> None:
    _global_options(cmd, suppress=True)  # what a parent parser would add, without building one
    formats: tuple[str, ...] = module.FORMATS
    if len(formats) > 1:
        cmd.add_argument(
            "--format",
            choices=formats,
            default="text",
            help="output format (default: text)",
        )
    module.add_arguments(cmd)


# the collector's thresholds while a long run runs (see ``_main``): a young collection every
# 50,000 allocations, a full one all but never
LONG_RUN_THRESHOLDS = (50_000, 20, 100)


def main(argv: Sequence[str] | None = None) -> int:
    return _main(argv, exiting=False)


def entry() -> None:
    sys.exit(_main(None, exiting=True))


def is_short_run(args: argparse.Namespace) -> bool:
    """The pre-commit hooks' commands, `check` and `lock --check`: they read a few files, print
    a verdict and end, in a fraction of a second."""
    return args.command == "check" or (args.command == "lock" and bool(args.check))


def _main(argv: Sequence[str] | None, *, exiting: bool) -> int:
    """``main``; ``exiting``: the process ends when this returns (the console script).

    A short run (``is_short_run``) turns Python's cycle collector off while it runs. That is
    safe: the run is bounded by the files it reads (a lock is capped at 32 MiB) and ends, and
    what it allocates is freed by reference counting (bench/locks/treeherder, 153 packages:
    peak memory 18.9 MB for `check`, 22.8 MB for `lock --check` with the collector off, 0.2 MB
    more than with it on). It saves the collections the reading sets off. Called in a process
    that goes on (tests, a caller), the collector is back on when this returns.
    (bench/check_bench.py --callgrind: about 25M instructions less a hook run.)

    Any other run collects cycles rarely (``LONG_RUN_THRESHOLDS``) while it runs: a lock or an
    install keeps the pages and metadata it parsed, millions of objects that the default
    thresholds have the collector walk again and again for nothing (a cold lock of
    bench/sets/airflow-google.in, 320 packages: 1,356 young, 123 middle and 9 full collections,
    ~1 s of its 6.6 s of CPU; the same peak memory with these). In a process that goes on, the
    default thresholds are back when this returns.

    When the process ends next (``exiting``), the objects of any run are frozen instead of
    collected once more: the interpreter's exit-time collection would walk them all to free
    nothing that the process exit does not, and so would the first collection at the default
    thresholds (a warm lock of airflow-google: ~0.15-0.3 s of its ~2 s, ended)."""
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(words[0] if words and words[0] in COMMANDS else None)
    try:
        args = parser.parse_args(words)
    except SystemExit as exc:  # argparse: --help/--version exit 0, usage errors exit 2
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if not is_short_run(args):
        before = gc.get_threshold()
        gc.set_threshold(*LONG_RUN_THRESHOLDS)
        try:
            return _run(args)
        finally:
            if exiting:
                gc.freeze()
            else:
                gc.set_threshold(*before)
    if not gc.isenabled():
        return _run(args)
    gc.disable()
    try:
        return _run(args)
    finally:
        if exiting:
            gc.freeze()
        else:
            gc.enable()


def _run(args: argparse.Namespace) -> int:
    fmt = getattr(args, "format", "text")
    ui = UI(fmt=fmt, verbosity=args.verbose - args.quiet)
    try:
        with live(ui):  # the live status of long steps (resolving, installing) on a terminal
            result: int = _command(args.command).run(args, ui)
    except SafeinstallError as exc:
        if args.debug:
            traceback.print_exc()
        ui.error(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        ui.error(SafeinstallError("interrupted"))
        return 130
    except BrokenPipeError:
        return EXIT_FAILED
    except Exception as exc:
        if args.debug:
            raise
        ui.error(
            SafeinstallError(
                f"internal error: {type(exc).__name__}: {exc}",
                hint="this is a bug in safeinstall; run again with --debug and report it",
            )
        )
        return EXIT_INTERNAL
    return result
