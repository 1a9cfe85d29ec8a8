"""Register the assurance commands with the CLI for tests until cli.COMMANDS lists them."""

from __future__ import annotations

import pytest

from safeinstall import cli

NEW = ("verify", "audit")


def register(monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tuple(name for name in NEW if name not in cli.COMMANDS)
    if missing:
        monkeypatch.setattr(cli, "COMMANDS", (*cli.COMMANDS, *missing))
