"""Write a requirements file into a temporary directory and parse it (or expect an InputError)."""

from __future__ import annotations

from pathlib import Path

import pytest

from safeinstall.errors import InputError
from safeinstall.requirements.file import ReqLine, RequirementsFile, parse_requirements


def write(folder: Path, text: str | bytes, name: str = "requirements.txt") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8", newline="")
    else:
        path.write_bytes(text)
    return path


def parse(folder: Path, text: str | bytes) -> RequirementsFile:
    return parse_requirements(write(folder, text))


def one(folder: Path, text: str) -> ReqLine:
    (req,) = parse(folder, text).requirements
    return req


def refused(folder: Path, text: str | bytes) -> InputError:
    path = write(folder, text)
    with pytest.raises(InputError) as info:
        parse_requirements(path)
    assert info.value.exit_code == 2
    assert info.value.location is not None
    assert info.value.hint
    return info.value
