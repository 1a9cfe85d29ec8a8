from __future__ import annotations

import tomllib
from typing import cast

import pytest
from packaging.markers import Environment
from packaging.pylock import PackageWheel, Pylock

from safeinstall.errors import InputError, Location
from safeinstall.lock.pylock import read_pylock_toml, to_pylock_toml
from safeinstall.targets import Target
from tests.support.lockdata import TARGETS, sample_lock


def test_pylock_is_deterministic_and_validates() -> None:
    text = to_pylock_toml(sample_lock())
    assert text == to_pylock_toml(sample_lock())
    data = tomllib.loads(text)
    pylock = Pylock.from_dict(data)
    assert data["lock-version"] == "1.0"
    assert data["created-by"] == "safeinstall"
    assert data["requires-python"] == ">=3.12"
    assert data["tool"]["safeinstall"]["digest"].startswith("sha256:")
    assert [p.name for p in pylock.packages] == ["app", "colorama", "native"]
    assert "secret" not in text
    assert "[[packages.wheels]]" in text
    assert "[packages.sdist]" in text


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (
            TARGETS[0],
            {
                "app": "app-1.0-py3-none-any.whl",
                "native": "native-2.0-cp312-cp312-manylinux_2_17_x86_64.whl",
            },
        ),
        (
            TARGETS[1],
            {
                "app": "app-1.0-py3-none-any.whl",
                "colorama": "colorama-0.4.6-py3-none-any.whl",
                "native": "native-2.0-cp312-cp312-win_amd64.whl",
            },
        ),
    ],
)
def test_select_picks_the_right_wheels_per_environment(
    target: Target, expected: dict[str, str]
) -> None:
    pylock = Pylock.from_dict(tomllib.loads(to_pylock_toml(sample_lock())))
    # target.env() is a full marker environment, typed as a plain dict
    picked = pylock.select(environment=cast("Environment", target.env()), tags=target.tags)
    chosen = {}
    for package, dist in picked:
        assert isinstance(dist, PackageWheel), dist  # every expected file is a wheel
        chosen[package.name] = dist.filename
    assert chosen == expected


def test_pylock_round_trips() -> None:
    lock = sample_lock()
    text = to_pylock_toml(lock)
    back = read_pylock_toml(text, "pylock.toml")
    assert back == lock
    assert [p.license for p in back.packages] == ["MIT", None, "Apache-2.0 OR BSD-3-Clause"]
    native = tomllib.loads(text)["packages"][2]
    assert native["tool"]["safeinstall"]["license"] == "Apache-2.0 OR BSD-3-Clause"


def test_invalid_pylock_is_an_input_error() -> None:
    with pytest.raises(InputError, match=r"not a valid PEP 751 lock"):
        read_pylock_toml('lock-version = "1.0"\n', "pylock.toml")
    with pytest.raises(InputError, match=r"invalid TOML") as caught:
        read_pylock_toml("lock-version = ", "pylock.toml")
    assert caught.value.location == Location("pylock.toml")
