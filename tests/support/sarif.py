"""Every SARIF log the suite produces is checked against the OASIS SARIF 2.1.0 schema, offline."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no stubs installed; none to be added
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource

from tests.support.paths import DATA

SCHEMA = DATA / "sarif" / "sarif-schema-2.1.0.json"


def _refuse(uri: str) -> Resource[Any]:
    # offline: the schema names only its own definitions. ``ref`` is NoSuchResource's one attrs
    # field, passed positionally: mypy does not see referencing's attrs-generated __init__.
    raise NoSuchResource(uri)


@cache
def validator() -> jsonschema.Draft4Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"  # what it declares
    jsonschema.Draft4Validator.check_schema(schema)
    # ``retrieve`` is a real keyword of Registry's attrs-generated __init__ (an alias of the
    # ``_retrieve`` field), which mypy cannot see through referencing's custom dataclass transform.
    registry: Registry[Any] = Registry(retrieve=_refuse)  # type: ignore[call-arg]
    return jsonschema.Draft4Validator(
        schema, registry=registry, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    )


def assert_valid_sarif(text: str) -> dict[str, Any]:
    """The SARIF log ``text`` (a command's stdout), parsed, once it validates against the schema."""
    log: dict[str, Any] = json.loads(text)
    validator().validate(log)
    assert log["version"] == "2.1.0"
    return log


def results(log: dict[str, Any]) -> list[dict[str, Any]]:
    """The results of a log's one run."""
    (run,) = log["runs"]
    found: list[dict[str, Any]] = run["results"]
    return found


def located(result: dict[str, Any]) -> tuple[str, int | None]:
    """(artifact URI, start line) of a result's one physical location."""
    (location,) = result["locations"]
    physical = location["physicalLocation"]
    return physical["artifactLocation"]["uri"], physical.get("region", {}).get("startLine")
