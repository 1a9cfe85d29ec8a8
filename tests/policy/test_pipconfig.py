"""pip's configured indexes, asked of a real pip in a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from safeinstall.errors import TargetEnvironmentError
from safeinstall.policy import pipconfig
from safeinstall.policy.model import IndexSpec, Policy
from safeinstall.policy.pipconfig import configured_indexes, parse_config_list, trusted_indexes


def pip_conf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    path = tmp_path / "pip.conf"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(path))


def count_runs(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The subprocesses run from now on (they still run)."""
    calls: list[object] = []
    real_run = subprocess.run

    def counting_run(*args: object, **kwargs: object) -> object:
        calls.append(args)
        return real_run(*args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(subprocess, "run", counting_run)
    return calls


def test_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_INDEX_URL", "https://Main.Example.com/simple/")
    monkeypatch.setenv(
        "PIP_EXTRA_INDEX_URL", "https://x1.example.org/simple https://x2.example.org/simple"
    )
    assert configured_indexes() == (
        IndexSpec("pip-extra-1", "https://x1.example.org/simple"),
        IndexSpec("pip-extra-2", "https://x2.example.org/simple"),
        IndexSpec("pip-index", "https://main.example.com/simple"),
    )


def test_config_file_extra_indexes_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pip_conf(
        tmp_path,
        monkeypatch,
        "[global]\n"
        "index-url = https://main.example.com/simple\n"
        "extra-index-url =\n"
        "    https://a.example.org/simple\n"
        "    https://b.example.org/simple\n",
    )
    assert [(s.name, s.url) for s in configured_indexes()] == [
        ("pip-extra-1", "https://a.example.org/simple"),
        ("pip-extra-2", "https://b.example.org/simple"),
        ("pip-index", "https://main.example.com/simple"),
    ]


def test_install_section_and_environment_override_global(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pip_conf(
        tmp_path,
        monkeypatch,
        "[global]\nindex-url = https://global.example.com/simple\n"
        "extra-index-url = https://g-extra.example.org/simple\n"
        "[install]\nextra-index-url = https://i-extra.example.org/simple\n",
    )
    assert [s.url for s in configured_indexes()] == [
        "https://i-extra.example.org/simple",
        "https://global.example.com/simple",
    ]
    monkeypatch.setenv("PIP_INDEX_URL", "https://env.example.com/simple")
    assert [s.url for s in configured_indexes()] == [
        "https://i-extra.example.org/simple",
        "https://env.example.com/simple",
    ]


def test_nothing_configured_is_pips_own_default() -> None:
    (spec,) = configured_indexes()
    assert spec.name == "pip-index"
    assert spec.url.startswith("https://")
    assert spec.url.endswith("/simple")
    assert len(spec.file_hosts) == 1
    assert "." in spec.file_hosts[0]
    assert "/" not in spec.file_hosts[0]


def test_extra_only_keeps_the_default_last(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "https://internal.example.com/simple")
    internal, default = configured_indexes()
    assert internal == IndexSpec("pip-extra-1", "https://internal.example.com/simple")
    assert default.name == "pip-index"
    assert default.file_hosts


def test_credentials_stripped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pip_conf(
        tmp_path,
        monkeypatch,
        "[global]\nindex-url = https://alice:s3cret@pkgs.example.com/simple/\n"
        "extra-index-url = https://__token__:abc@x.example.org/simple\n",
    )
    specs = configured_indexes()
    assert [s.url for s in specs] == [
        "https://x.example.org/simple",
        "https://pkgs.example.com/simple",
    ]
    assert "s3cret" not in repr(specs)
    assert "abc" not in repr(specs)


def test_no_index_means_no_index(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_INDEX_URL", "https://main.example.com/simple")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    assert configured_indexes() == ()


def test_same_url_twice_kept_once_in_the_first_position(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_INDEX_URL", "https://a.example.com/simple")
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "https://a.example.com/simple/")
    assert configured_indexes() == (IndexSpec("pip-extra-1", "https://a.example.com/simple"),)


def test_cached_per_process_and_per_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_INDEX_URL", "https://one.example.com/simple")
    first = configured_indexes()
    calls = count_runs(monkeypatch)
    assert configured_indexes() is first
    assert calls == []
    monkeypatch.setenv("PIP_INDEX_URL", "https://two.example.com/simple")
    assert configured_indexes()[-1].url == "https://two.example.com/simple"
    assert len(calls) == 1


def test_interpreter_that_cannot_run_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TargetEnvironmentError, match="could not run") as info:
        configured_indexes(str(tmp_path / "no-python"))
    assert info.value.hint is not None


def test_interpreter_without_pip_is_a_clear_error(tmp_path: Path) -> None:
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho 'No module named pip' >&2\nexit 1\n")
    fake.chmod(0o755)
    with pytest.raises(TargetEnvironmentError, match="No module named pip"):
        configured_indexes(str(fake))


def test_explicit_interpreter_is_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_INDEX_URL", "https://main.example.com/simple")
    assert configured_indexes(sys.executable)[-1].url == "https://main.example.com/simple"


def test_parse_config_list() -> None:
    output = (
        "global.index-url='https://a.example.com/simple'\n"
        "global.extra-index-url='\\nhttps://b.example.org/s\\nhttps://c.example.org/s'\n"
        "not a setting\n"
        "broken.value=oops(\n"
    )
    assert parse_config_list(output) == {
        "global.index-url": "https://a.example.com/simple",
        "global.extra-index-url": "\nhttps://b.example.org/s\nhttps://c.example.org/s",
    }


def test_trusted_indexes_falls_back_to_pip(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_INDEX_URL", "https://main.example.com/simple")
    assert trusted_indexes(Policy()) == (IndexSpec("pip-index", "https://main.example.com/simple"),)


def test_trusted_indexes_does_not_ask_pip_when_the_policy_lists_indexes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("pip was asked")

    monkeypatch.setattr(pipconfig, "configured_indexes", boom)
    spec = IndexSpec("own", "https://own.example.com/simple")
    assert trusted_indexes(Policy(indexes=(spec,))) == (spec,)


def test_everything_from_the_environment_needs_no_subprocess(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("pip was run")

    monkeypatch.setattr(subprocess, "run", boom)
    monkeypatch.setenv("PIP_INDEX_URL", "https://main.example.com/simple")
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "")
    monkeypatch.setenv("PIP_NO_INDEX", "off")
    assert configured_indexes() == (IndexSpec("pip-index", "https://main.example.com/simple"),)


def test_unusable_url_in_pips_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_INDEX_URL", "https://u:pw@main.example.com:99999/simple")
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "")
    monkeypatch.setenv("PIP_NO_INDEX", "0")
    with pytest.raises(TargetEnvironmentError, match="not valid") as info:
        configured_indexes()
    assert "pw" not in str(info.value)


def test_lookup_in_the_background_is_taken_by_the_next_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pip_conf(tmp_path, monkeypatch, "[global]\nindex-url = https://bg.example.com/simple\n")
    calls = count_runs(monkeypatch)
    pipconfig.look_up_in_background()
    assert configured_indexes()[-1].url == "https://bg.example.com/simple"
    assert len(calls) == 1  # pip asked once, by the background lookup or this call


def test_an_error_in_the_background_is_raised_by_the_next_call(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-python")
    pipconfig.look_up_in_background(missing)
    with pytest.raises(TargetEnvironmentError, match="could not run"):
        configured_indexes(missing)


def test_the_short_way_of_asking_pip_agrees_with_pip_config_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pip_conf(
        tmp_path,
        monkeypatch,
        "[global]\nindex-url = https://g.example.com/simple\ntimeout = 5\n"
        "[install]\nextra-index-url = https://i.example.org/simple\n",
    )
    monkeypatch.setenv("PIP_NO_INDEX", "0")
    cli = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, check=True
    )
    short = pipconfig._pip_config(sys.executable)
    defaults = {k: v for k, v in short.items() if k.startswith(":pip-default:")}
    assert {k: v for k, v in short.items() if k not in defaults} == parse_config_list(cli.stdout)
    assert defaults[":pip-default:.index-url"].startswith("https://")


def test_a_pip_whose_internals_moved_is_asked_through_its_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pip_conf(tmp_path, monkeypatch, "[global]\nextra-index-url = https://x.example.org/simple\n")
    monkeypatch.setattr(pipconfig, "_CONFIG_SCRIPT", "raise ImportError('moved')")
    specs = configured_indexes()
    assert specs[0].url == "https://x.example.org/simple"
    assert specs[-1].name == "pip-index" and specs[-1].file_hosts  # pip's default, asked apart


def test_a_pip_package_in_the_current_directory_is_never_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A repository under review can carry a `pip/` of its own; `python -c` puts the current
    # directory first on sys.path, so asking "pip" there ran the repository's code.
    marker = tmp_path / "ran"
    hostile = tmp_path / "repo" / "pip"
    hostile.mkdir(parents=True)
    (hostile / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    (hostile / "__main__.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    monkeypatch.chdir(hostile.parent)
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "https://extra.example.com/simple")
    specs = configured_indexes()
    assert specs[0].url == "https://extra.example.com/simple"
    pipconfig.default_index()
    assert not marker.exists()
