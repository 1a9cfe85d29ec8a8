"""The one SARIF writer: valid against the OASIS schema, and where a package sits in a lock."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]  # no stubs installed; none to be added
import pytest

from safeinstall.lock.read import read_lock_bytes, read_lock_file
from safeinstall.sarif import Result, Rule, lock_lines, sarif_log, uri
from tests.support.locks import lock, package, write
from tests.support.sarif import assert_valid_sarif, located, results


def test_every_part_the_writer_can_write_validates() -> None:
    log = sarif_log(
        [Rule("r1", "one"), Rule("r2", "two", "do this", help_uri="https://example.org/r2")],
        [
            Result("r1", "error", "at a line", "requirements.txt", 3, inside="a.whl:a/x.py:7"),
            Result("r2", "note", "ignored", "pylock.toml", suppressed="accepted until May"),
            Result("r2", "warning", "nowhere in particular"),
            Result("r1", "error", "only inside", inside="installed/file.py"),
        ],
    )
    parsed = assert_valid_sarif(json.dumps(log))
    first, second, third, fourth = results(parsed)
    assert located(first) == ("requirements.txt", 3)
    assert first["locations"][0]["logicalLocations"] == [{"fullyQualifiedName": "a.whl:a/x.py:7"}]
    assert second["suppressions"] == [{"kind": "external", "justification": "accepted until May"}]
    assert "locations" not in third
    assert "physicalLocation" not in fourth["locations"][0]
    assert parsed["runs"][0]["tool"]["driver"]["rules"][1]["helpUri"] == "https://example.org/r2"


@pytest.mark.parametrize(
    ("part", "value"),
    [("level", "fatal"), ("message", "not an object"), ("ruleId", 7)],
)
def test_the_schema_rejects_what_is_not_sarif(part: str, value: object) -> None:
    log = sarif_log([Rule("r", "r")], [Result("r", "error", "m", "requirements.txt", 1)])
    log["runs"][0]["results"][0][part] = value
    with pytest.raises(jsonschema.ValidationError):
        assert_valid_sarif(json.dumps(log))


def test_uri_is_relative_and_percent_encoded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert uri(str(tmp_path / "sub" / "my lock.txt")) == "sub/my%20lock.txt"
    assert uri("requirements.txt") == "requirements.txt"
    assert uri("/elsewhere/pylock.toml") == "file:///elsewhere/pylock.toml"


@pytest.mark.parametrize("name", ["requirements.txt", "pylock.toml"])
def test_lock_lines_point_at_each_package_entry(tmp_path: Path, name: str) -> None:
    path = write(
        tmp_path / name,
        lock(
            package("alpha", "1.0", files=["alpha-1.0-py3-none-any.whl", "alpha-1.0.tar.gz"]),
            package("beta", "2.0"),
            package("beta", "3.0"),
        ),
    )
    text = path.read_text(encoding="utf-8").splitlines()
    lines = lock_lines(read_lock_bytes(path), name, str(path), read_lock_file(path))
    for pkg, version in [("alpha", "1.0"), ("beta", "2.0"), ("beta", "3.0")]:
        line = lines.line(pkg, version)
        assert line is not None
        entry = text[line - 1]
        if name == "pylock.toml":
            assert entry == "[[packages]]"
            assert text[line] == f'name = "{pkg}"' and text[line + 1] == f'version = "{version}"'
        else:
            assert entry.startswith(f"{pkg}=={version}")
    assert lines.line("Beta") == lines.line("beta", "2.0")  # by name: the first entry
    assert lines.line("gamma") is None
    assert lines.result("r", "error", "m", "beta", "3.0").line == lines.line("beta", "3.0")


def test_a_lock_changed_since_it_was_read_locates_nothing(tmp_path: Path) -> None:
    path = write(tmp_path / "requirements.txt", lock(package("alpha", "1.0")))
    read = read_lock_file(path)
    write(path, lock(package("alpha", "1.0"), package("aaa", "1.0")))  # a line shifts
    lines = lock_lines(read_lock_bytes(path), path.name, str(path), read)
    assert lines.line("alpha") is None
