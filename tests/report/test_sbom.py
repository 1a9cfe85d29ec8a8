from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no stubs installed; none to be added
import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version
from referencing import Registry, Resource

from safeinstall.errors import UsageError
from safeinstall.frozen import replace
from safeinstall.lock.model import BuildSet
from safeinstall.report.sbom import purl, timestamp, to_cyclonedx
from tests.support.fixtures import Result
from tests.support.locks import INDEX, lock, package, sha, write
from tests.support.paths import DATA

Run = Callable[..., Result]
SCHEMAS = DATA / "cyclonedx"
BASE = "http://cyclonedx.org/schema/"

LOCK = lock(
    package("app", "1.0", deps=["lib", "native"], via=["requirements.in:1"], license="MIT"),
    package("lib", "2.0+local.1", via=["app"], license="Apache-2.0 OR BSD-3-Clause"),
    package(
        "native",
        "3.0",
        via=["app"],
        files=["native-3.0-cp312-cp312-win_amd64.whl", "native-3.0.tar.gz"],
        license=None,
        index="https://other.example.org/simple",
    ),
)


def validator() -> jsonschema.Draft7Validator:
    registry: Registry[Any] = Registry()
    for path in SCHEMAS.glob("*.schema.json"):
        resource = Resource.from_contents(json.loads(path.read_text(encoding="utf-8")))
        registry = registry.with_resources(
            [(BASE + path.name, resource), (str(resource.id()), resource)]
        )
    schema = json.loads((SCHEMAS / "bom-1.6.SNAPSHOT.schema.json").read_text(encoding="utf-8"))
    return jsonschema.Draft7Validator(
        schema, registry=registry, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )


def bom(**kw: Any) -> dict[str, Any]:
    kw.setdefault("when", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    return to_cyclonedx(LOCK, tool_version="0.1.0", **kw)


def test_bom_validates_against_the_cyclonedx_1_6_schema() -> None:
    validator().validate(bom())


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("hashes", [{"alg": "SHA-257", "content": "00"}]),
        ("licenses", [{"license": {"id": "Nope"}}]),
    ],
)
def test_the_validator_rejects_an_invalid_bom(field: str, value: object) -> None:
    broken = bom()
    broken["components"][0][field] = value  # the license id is checked by spdx.schema.json
    with pytest.raises(jsonschema.ValidationError):
        validator().validate(broken)


def test_components_carry_purl_hashes_licenses_and_index() -> None:
    by_name = {c["name"]: c for c in bom(default_index=INDEX + "/")["components"]}
    app, lib, native = by_name["app"], by_name["lib"], by_name["native"]
    assert app["purl"] == app["bom-ref"] == "pkg:pypi/app@1.0"
    assert lib["purl"] == "pkg:pypi/lib@2.0%2Blocal.1"
    assert native["purl"] == (
        "pkg:pypi/native@3.0?repository_url=https%3A%2F%2Fother.example.org%2Fsimple"
    )
    assert app["licenses"] == [{"license": {"id": "MIT"}}]
    assert lib["licenses"] == [{"expression": "Apache-2.0 OR BSD-3-Clause"}]
    assert "licenses" not in native
    assert native["hashes"] == sorted(
        [
            {"alg": "SHA-256", "content": sha("native-3.0-cp312-cp312-win_amd64.whl")},
            {"alg": "SHA-256", "content": sha("native-3.0.tar.gz")},
        ],
        key=lambda h: h["content"],
    )
    refs = native["externalReferences"]
    assert [(r["type"], r["comment"]) for r in refs] == [
        ("distribution", "native-3.0-cp312-cp312-win_amd64.whl"),
        ("distribution", "native-3.0.tar.gz"),
    ]
    assert refs[1]["hashes"] == [{"alg": "SHA-256", "content": sha("native-3.0.tar.gz")}]
    assert {"name": "safeinstall:index", "value": "https://other.example.org/simple"} in native[
        "properties"
    ]


def test_dependencies_are_the_lock_graph() -> None:
    deps = {d["ref"]: d["dependsOn"] for d in bom(default_index=INDEX)["dependencies"]}
    native = "pkg:pypi/native@3.0?repository_url=https%3A%2F%2Fother.example.org%2Fsimple"
    assert deps == {
        "pkg:pypi/app@1.0": ["pkg:pypi/lib@2.0%2Blocal.1", native],
        "pkg:pypi/lib@2.0%2Blocal.1": [],
        native: [],
    }


def test_without_a_known_default_index_every_purl_names_its_index() -> None:
    assert purl(LOCK.packages[0], None).endswith(
        "?repository_url=https%3A%2F%2Fpkgs.example.com%2Fsimple"
    )


def test_source_date_epoch_makes_output_reproducible(
    cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "pylock.toml", LOCK)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    first, second = cli("sbom", path), cli("sbom", path)
    assert first.code == 0, first.err
    assert first.out == second.out
    data = json.loads(first.out)
    assert data["metadata"]["timestamp"] == "2023-11-14T22:13:20Z"
    validator().validate(data)
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    assert json.loads(cli("sbom", path).out)["serialNumber"] != data["serialNumber"]


def test_bad_source_date_epoch_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="SOURCE_DATE_EPOCH"):
        timestamp({"SOURCE_DATE_EPOCH": "yesterday"})


def test_requirements_txt_lock_and_output_file(
    cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "requirements.txt", LOCK)
    result = cli("sbom", "-o", "bom.json")  # the default lock in the current directory
    assert result.code == 0, result.err
    assert result.out == ""
    data = json.loads((tmp_path / "bom.json").read_text(encoding="utf-8"))
    validator().validate(data)
    by_name = {c["name"]: c for c in data["components"]}
    assert set(by_name) == {"app", "lib", "native"}
    assert by_name["lib"]["licenses"] == [{"expression": "Apache-2.0 OR BSD-3-Clause"}]
    assert "externalReferences" not in by_name["app"]  # requirements.txt knows hashes only
    deps = {d["ref"].partition("?")[0]: d["dependsOn"] for d in data["dependencies"]}
    assert len(deps["pkg:pypi/app@1.0"]) == 2  # from the `# via` comments


def test_an_existing_output_file_is_replaced(
    cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writing the bill again, as a CI job does on every run, replaces the file it wrote."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "requirements.txt", LOCK)
    (tmp_path / "bom.json").write_text("{}\n")
    result = cli("sbom", "-o", "bom.json")
    assert result.code == 0, result.err
    validator().validate(json.loads((tmp_path / "bom.json").read_text(encoding="utf-8")))
    assert cli("sbom", "-o", "bom.json").code == 0


def test_no_lock_is_a_usage_error(
    cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("sbom")
    assert result.code == 2
    assert "no lock found" in result.err


def test_build_requirements_are_build_time_components() -> None:
    """What a locked sdist builds with runs at install: it is in the bill, as a component outside
    the runtime graph (scope ``excluded``), naming the sdist it builds."""
    flit = package("flit-core", "3.12.0", files=["flit_core-3.12.0-py3-none-any.whl"])
    shared = package("lib", "2.0+local.1", files=["lib-2.0+local.1-py3-none-any.whl"])
    builds = (BuildSet(canonicalize_name("native"), Version("3.0"), sha("sdist"), (flit, shared)),)
    bill = to_cyclonedx(
        replace(LOCK, builds=builds), tool_version="0.1.0", when=datetime(2026, 1, 2, tzinfo=UTC)
    )
    validator().validate(bill)
    by_name = {c["name"]: c for c in bill["components"]}
    built_with = {"name": "safeinstall:build-requirement-of", "value": "native==3.0"}
    assert by_name["flit-core"]["scope"] == "excluded"
    assert built_with in by_name["flit-core"]["properties"]
    assert by_name["flit-core"]["hashes"] == [
        {"alg": "SHA-256", "content": sha("flit_core-3.12.0-py3-none-any.whl")}
    ]
    # a runtime package that also builds the sdist stays a runtime component, marked so
    assert "scope" not in by_name["lib"]
    assert built_with in by_name["lib"]["properties"]
    assert [c["name"] for c in bill["components"]].count("lib") == 1
    refs = {d["ref"] for d in bill["dependencies"]}
    assert by_name["flit-core"]["bom-ref"] not in refs  # not in the runtime graph
