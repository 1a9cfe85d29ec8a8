"""Command line: ``main(argv) -> int`` and the one place errors become messages and exit codes.

Each command lives in ``safeinstall/commands/<name>.py`` and exposes ``HELP``, ``FORMATS``,
``add_arguments(parser)`` and ``run(args, ui) -> int``. Command modules import only what parsing
needs at module level, and a command's arguments are added only when the command line names it,
so the hook path (``check``) starts fast however many commands there are.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Sequence
from types import ModuleType
from typing import Any, cast

from safeinstall import __version__
from safeinstall.errors import SafeinstallError
from safeinstall.ui import UI

# The commands that work, in the order `--help` lists them.
COMMANDS: tuple[str, ...] = ("init", "check")

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


class _Commands(argparse._SubParsersAction):  # type: ignore[type-arg]
    """The COMMAND argument. Each command's parser is created with its help line (``--help``
    lists them all), and given its arguments only once the command line selects it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pending: dict[str, ModuleType] = {}

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        module = self.pending.pop(values[0], None) if values else None
        if module is not None:
            _add_command_arguments(self.choices[values[0]], module)
        super().__call__(parser, namespace, values, option_string)


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
        help="say more (repeatable)",
    )
    parser.add_argument(
        "-q",
        "--quiet",
        action="count",
        default=argparse.SUPPRESS if suppress else 0,
        help="say less (repeatable)",
    )
    parser.add_argument(
        "--policy",
        metavar="PATH",
        default=default,
        help="policy file (pyproject.toml with [tool.safeinstall], or safeinstall.toml); "
        "default: SAFEINSTALL_POLICY, else found from the current directory upwards",
    )


def build_parser() -> argparse.ArgumentParser:
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
    sub = cast(
        _Commands,
        parser.add_subparsers(dest="command", metavar="COMMAND", required=True, action=_Commands),
    )
    for name in COMMANDS:
        module = _command(name)
        sub.add_parser(
            name,
            help=module.HELP,
            description=getattr(module, "DESCRIPTION", module.HELP),
            formatter_class=_HelpFormatter,
        )
        sub.pending[name] = module
    return parser


def _add_command_arguments(cmd: argparse.ArgumentParser, module: ModuleType) -> None:
    _global_options(cmd, suppress=True)
    formats: tuple[str, ...] = module.FORMATS
    if len(formats) > 1:
        cmd.add_argument(
            "--format",
            choices=formats,
            default="text",
            help="output format (default: text)",
        )
    module.add_arguments(cmd)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # argparse: --help/--version exit 0, usage errors exit 2
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    fmt = getattr(args, "format", "text")
    ui = UI(fmt=fmt, verbosity=args.verbose - args.quiet)
    try:
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


def entry() -> None:
    sys.exit(main())
