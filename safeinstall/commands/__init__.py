"""One module per command; shared argument definitions live here."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_lock_argument(parser: argparse.ArgumentParser, *, git: bool = False) -> None:
    """The optional LOCK positional; with ``git``, ``REV:path`` names a lock as git has it."""
    parser.add_argument(
        "lock",
        nargs="?",
        type=str if git else Path,
        metavar="LOCK",
        help="the lock (default: pylock.toml, else requirements.txt)"
        + ("; REV:path reads it from git" if git else ""),
    )
