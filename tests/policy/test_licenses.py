from __future__ import annotations

from typing import Any

import pytest
from packaging.metadata import Metadata

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
