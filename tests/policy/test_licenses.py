from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from packaging.metadata import Metadata

from safeinstall.policy import licenses
from safeinstall.policy.licenses import allowed, canonical, from_classifiers, license_of


def meta(**fields: Any) -> Metadata:
    raw = {"metadata_version": "2.4", "name": "pkg", "version": "1.0", **fields}
    return Metadata.from_raw(raw, validate=False)  # type: ignore[arg-type]


def test_license_expression_is_normalized() -> None:
    assert license_of(meta(license_expression="mit or apache-2.0")) == "MIT OR Apache-2.0"


def test_license_expression_wins_over_classifiers_and_license_field() -> None:
    m = meta(
        license_expression="BSD-3-Clause",
        classifiers=["License :: OSI Approved :: MIT License"],
        license="GPL-3.0-only",
    )
    assert license_of(m) == "BSD-3-Clause"


def test_invalid_license_expression_is_unknown() -> None:
    assert license_of(meta(license_expression="Some Custom Thing")) is None


def test_classifier_maps_to_spdx_id() -> None:
    m = meta(
        classifiers=["Programming Language :: Python", "License :: OSI Approved :: MIT License"]
    )
    assert license_of(m) == "MIT"


def test_several_license_classifiers_are_alternatives() -> None:
    classifiers = [
        "License :: OSI Approved :: Apache Software License",
        "License :: OSI Approved :: MIT License",
        "License :: OSI Approved",
    ]
    assert from_classifiers(classifiers) == "Apache-2.0 OR MIT"


def test_an_ambiguous_classifier_falls_back_to_the_license_field() -> None:
    m = meta(
        classifiers=[
            "License :: OSI Approved :: BSD License",
            "License :: OSI Approved :: MIT License",
        ],
        license="BSD-3-Clause",
    )
    assert license_of(m) == "BSD-3-Clause"


def test_license_field_that_is_not_spdx_is_unknown() -> None:
    assert license_of(meta(license="BSD")) is None
    assert license_of(meta(license="Permission is hereby granted, free of charge...\n" * 5)) is None
    assert license_of(meta()) is None


def test_license_field_that_is_spdx_is_used() -> None:
    assert license_of(meta(license="apache-2.0")) == "Apache-2.0"


def test_canonical_rejects_blank() -> None:
    assert canonical("  ") is None


ALLOW = ["MIT", "Apache-2.0", "BSD-3-Clause"]


@pytest.mark.parametrize(
    ("expression", "ok"),
    [
        ("MIT", True),
        ("mit", True),
        ("GPL-3.0-only", False),
        ("MIT OR GPL-3.0-only", True),
        ("GPL-3.0-only OR MIT", True),
        ("MIT AND GPL-3.0-only", False),
        ("MIT AND Apache-2.0", True),
        ("(MIT OR GPL-3.0-only) AND BSD-3-Clause", True),
        ("(MIT OR GPL-3.0-only) AND LGPL-2.1-only", False),
        ("GPL-2.0-only OR MIT AND BSD-3-Clause", True),  # AND binds tighter than OR
        ("GPL-2.0-only AND MIT OR LGPL-2.1-only", False),
        ("Apache-2.0 WITH LLVM-exception", True),
        ("GPL-2.0-only WITH Classpath-exception-2.0", False),
        (None, False),
        ("(MIT", False),
        ("MIT OR", False),
        ("MIT WITH (", False),
        ("", False),
    ],
)
def test_allowed(expression: str | None, ok: bool) -> None:
    assert allowed(expression, ALLOW) is ok


def test_allowed_with_exception_listed_whole() -> None:
    assert allowed(
        "GPL-2.0-only WITH Classpath-exception-2.0", ["GPL-2.0-only WITH Classpath-exception-2.0"]
    )


def test_the_shipped_spdx_ids_are_made_from_the_installed_packaging() -> None:
    # bench/derive_spdx_ids.py writes it; after a packaging upgrade this fails until re-run
    shipped = Path(licenses.__file__).parent / "data" / "spdx-ids.txt"
    assert shipped.read_text("ascii") == licenses.spdx_ids_text()
    assert licenses._spdx_ids() is not None
    assert {"MIT", "Apache-2.0", "PSF-2.0"} <= (licenses._spdx_ids() or set())


@pytest.mark.parametrize(
    "change",
    [
        lambda t: t + "Not-A-License\n",  # an id added by hand
        lambda t: t.replace("# stamp: ", "# stamp: 0", 1),  # made from another packaging
        lambda t: "",
    ],
    ids=["edited", "other-packaging", "empty"],
)
def test_spdx_ids_that_are_not_packagings_own_are_not_used(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, change: Callable[[str], str]
) -> None:
    edited = tmp_path / "spdx-ids.txt"
    edited.write_text(change(licenses.spdx_ids_text()), encoding="ascii")
    monkeypatch.setattr(licenses, "_SPDX_FILE", str(edited))
    licenses._spdx_ids.cache_clear()
    try:
        assert licenses._spdx_ids() is None
        assert licenses.canonical_spdx("Not-A-License") is None  # packaging answers
        assert licenses.canonical_spdx("MIT") == "MIT"
        assert licenses.canonical_spdx("mit") == "MIT"
    finally:
        licenses._spdx_ids.cache_clear()


def test_policy_license_ids_without_packagings_table() -> None:
    code = (
        "import sys\n"
        "from safeinstall.policy.keys import policy_from_table\n"
        "p = policy_from_table({'licenses': {'allow': ['MIT', 'BSD-3-Clause']}}, 'x.toml')\n"
        "assert p.licenses == ('MIT', 'BSD-3-Clause')\n"
        "assert 'packaging.licenses' not in sys.modules\n"
        "p = policy_from_table({'licenses': {'allow': ['mit']}}, 'x.toml')\n"
        "assert p.licenses == ('MIT',)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
