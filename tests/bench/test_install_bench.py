"""bench/install_bench.py: its arguments, its table and ratios, and its reading of safeinstall's
SAFEINSTALL_TIMINGS file; the benchmark itself reaches the public index and is run by hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Protocol

import pytest

from tests.support.benchscript import load_bench

bench = load_bench("install_bench")


def test_arguments_default_to_one_run_of_every_tool_on_small() -> None:
    args = bench.parse_args([])
    assert args == bench.Args(("small",), 1, bench.TOOLS, None)
    args = bench.parse_args(
        ["--sets", "small", "treeherder", "--runs", "3", "--tools", "uv", "pip", "uv"]
    )
    assert args == bench.Args(("small", "treeherder"), 3, ("uv", "pip"), None)
    assert bench.parse_args(["--json", "out.json"]).json == Path("out.json")


@pytest.mark.parametrize("argv", [["--runs", "0"], ["--tools", "poetry"], ["--runs", "x"]])
def test_bad_arguments_are_refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        bench.parse_args(argv)
    assert exc.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_uv_compiles_bytecode_as_pip_and_safeinstall_do() -> None:
    lock, python, wheels = Path("lock.txt"), Path("venv/bin/python"), Path("wheels")
    argv = bench.commands([])["uv"](lock, python, wheels)
    assert argv[1:4] == ["pip", "sync", "-q"] and "--compile-bytecode" in argv
    pip = bench.commands([])["pip"](lock, python, wheels)
    assert "--no-compile" not in pip  # pip compiles by default


class SetResult(Protocol):
    """What these tests call on bench.SetResult: a script loaded by path is untyped here, and
    importing it by name for mypy would check bench/ under a second module name."""

    def median(self, tool: str, kind: str) -> float | None: ...

    def ratio(self, tool: str, kind: str, base: str) -> float | None: ...


def result(**overrides: object) -> SetResult:
    seconds = {
        ("safeinstall", "cold"): (9.0, 10.0, 30.0),  # median 10
        ("safeinstall", "warm"): (6.0,),
        ("pip", "cold"): (5.0,),
        ("pip", "warm"): (3.0,),
        ("uv", "cold"): (2.0,),
        ("uv", "warm"): (1.5,),
    }
    phases = {
        "cold": {"plan": (1.0, 2.0, 3.0), "download": (4.0,), bench.OUTSIDE: (0.25,)},
        "warm": {"plan": (1.5,), bench.OUTSIDE: (0.5,)},
    }
    fields: dict[str, object] = {
        "name": "small",
        "packages": 11,
        "runs": 3,
        "tools": ("safeinstall", "pip", "pip-local", "uv"),
        "seconds": seconds,
        "phases": phases,
        "failures": ("pip-local cold (run 1): exited 1: no wheel for mozlog",),
    }
    made: SetResult = bench.SetResult(**{**fields, **overrides})
    return made


def test_ratios_are_of_medians_to_uv_and_to_pip_and_absent_without_a_base() -> None:
    r = result()
    assert r.median("safeinstall", "cold") == 10.0
    assert r.ratio("safeinstall", "cold", "uv") == 5.0
    assert r.ratio("safeinstall", "warm", "pip") == 2.0
    assert r.ratio("pip-local", "cold", "uv") is None  # it failed: no number, no ratio
    assert (
        result(seconds={("safeinstall", "cold"): (1.0,)}).ratio("safeinstall", "cold", "uv") is None
    )


def test_the_table_gives_each_tool_its_ratios_safeinstalls_phases_and_the_failures() -> None:
    text = bench.table(result())
    lines = text.splitlines()
    assert lines[0].startswith("small (11 packages): median wall seconds of 3 runs")
    assert "uv --compile-bytecode" in lines[0]
    assert lines[1].split() == [
        "tool",
        "cold",
        "s",
        "warm",
        "s",
        *["cold/uv", "warm/uv", "cold/pip", "warm/pip"],
    ]
    assert lines[2].split() == ["safeinstall", "10.00", "6.00", "5.00x", "4.00x", "2.00x", "2.00x"]
    assert lines[3].split() == ["pip", "5.00", "3.00", "2.50x", "2.00x", "1.00x", "1.00x"]
    assert lines[4].split() == ["pip-local", "-", "-", "-", "-", "-", "-"]
    assert lines[5].split() == ["uv", "2.00", "1.50", "1.00x", "1.00x", "0.40x", "0.50x"]
    phases = text.split("safeinstall phases (median s)")[1].split("failures:")[0]
    assert [line.split()[:3] for line in phases.strip().splitlines()[1:]] == [
        ["plan", "2.00", "1.50"],
        ["download", "4.00", "-"],
        ["outside", "the", "phases"],
    ]
    assert phases.strip().splitlines()[-1].split()[-2:] == ["0.25", "0.50"]
    assert text.endswith("failures:\n  pip-local cold (run 1): exited 1: no wheel for mozlog")


def test_no_phases_no_failures_no_such_sections() -> None:
    text = bench.table(result(phases={}, failures=()))
    assert "phases" not in text and "failures" not in text


def test_the_json_holds_what_the_table_prints() -> None:
    document = bench.to_json([result()])
    json.dumps(document)  # JSON-able
    [small] = document["sets"]
    cold = small["tools"]["safeinstall"]["cold"]
    assert cold == {
        "median": 10.0,
        "seconds": [9.0, 10.0, 30.0],
        "ratio_to_uv": 5.0,
        "ratio_to_pip": 2.0,
    }
    assert small["tools"]["pip-local"]["warm"]["median"] is None
    assert small["safeinstall_phases"]["cold"] == {
        "plan": 2.0,
        "download": 4.0,
        bench.OUTSIDE: 0.25,
    }
    assert small["failures"] == ["pip-local cold (run 1): exited 1: no wheel for mozlog"]
    assert document["uv_flags"] == ["--compile-bytecode"]


def test_the_timings_file_is_read_with_what_is_outside_its_phases(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    document = {"version": 1, "ok": True, "total": 7.5, "phases": {"plan": 2.5, "pip": 5}}
    path.write_text(json.dumps(document))
    timings = bench.read_timings(path)
    assert timings == {"plan": 2.5, "pip": 5.0, "total": 7.5}
    assert bench.with_outside(timings, 8.0) == {"plan": 2.5, "pip": 5.0, bench.OUTSIDE: 0.5}
    assert bench.with_outside(timings, 7.0)[bench.OUTSIDE] == 0.0  # clocks differ: never below 0


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "[]",
        '{"version": 2, "ok": true, "total": 1, "phases": {}}',
        '{"version": 1, "ok": false, "total": 1, "phases": {"plan": 1}}',  # a failed install
        '{"version": 1, "ok": true, "phases": {"plan": 1}}',
        '{"version": 1, "ok": true, "total": 1, "phases": {"plan": -1}}',
        '{"version": 1, "ok": true, "total": 1, "phases": {"plan": true}}',
        '{"version": 1, "ok": true, "total": 1, "phases": {"plan": "1"}}',
        '{"version": 1, "ok": true, "total": 1, "phases": {"total": 1}}',
        '{"version": 1, "ok": true, "total": NaN, "phases": {}}',
        '{"version": 1, "ok": true, "total": 1, "phases": []}',
    ],
)
def test_a_timings_file_that_is_not_what_safeinstall_writes_is_no_timings(
    tmp_path: Path, text: str
) -> None:
    path = tmp_path / "t.json"
    path.write_text(text)
    assert bench.read_timings(path) is None


def test_a_missing_timings_file_is_no_timings(tmp_path: Path) -> None:
    assert bench.read_timings(tmp_path / "missing.json") is None


def test_what_safeinstall_writes_is_what_the_bench_reads(tmp_path: Path) -> None:
    from safeinstall.install.timings import Timings, write_timings

    path = tmp_path / "t.json"
    write_timings(path, Timings((("plan", 1.0), ("pip", 2.0)), 3.0, ok=True), print)
    assert bench.read_timings(path) == {"plan": 1.0, "pip": 2.0, "total": 3.0}
