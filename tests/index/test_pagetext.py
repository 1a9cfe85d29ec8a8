"""read_json: the values ``json.loads`` gives, with the places the parsed-page cache keeps."""

from __future__ import annotations

import json

import pytest

from safeinstall.index.pagetext import read_json

SAME_AS_JSON_LOADS = [
    "{}",
    " {\t}\n",
    '{"files": []}',
    '{"files": [{"filename": "a-1.0.tar.gz"}, {"filename": "a-2.0.tar.gz"}], "name": "a"}',
    '{ "files" : [ {"a": [1, {"b": "]"}]} ,\n{"c": "}"} ] , "meta" : {"api-version": "1.1"} }',
    '{"files": [], "files": [1, 2]}',  # the last of a repeated key, as json.loads keeps it
    '{"files": [1, 2], "files": {"x": 1}}',
    '{"files": "none"}',
    '{"name": "\\u00e9\\"]", "files": ["\\"", "]"]}',
    '{"b": -Infinity, "c": 1e400, "d": 12345678901234567890}',
]

NOT_ONE_PLAIN_OBJECT = [
    "",
    " ",
    "[]",
    '"files"',
    "\ufeff{}",
    '{"a": 1,}',
    '{"a": 1}}',
    '{"a": 1} x',
    '{"a" 1}',
    "{,}",
    '{"files": [1,]}',
    '{"files": [1 2]}',
    '{"files": [1] ',
    '{"files": [}',
    '{"a": "\x01"}',  # a control character in a string, as json.loads refuses it
    "{'a': 1}",
]


@pytest.mark.parametrize("text", SAME_AS_JSON_LOADS)
def test_values_and_places_are_those_of_json_loads(text: str) -> None:
    read = read_json(text)
    assert read is not None
    assert read.data == json.loads(text)
    for key, (start, end) in read.spans.items():
        assert json.loads(text[start:end]) == read.data[key]
    files = read.data.get("files")
    if isinstance(files, list):
        assert read.files is not None
        assert [json.loads(text[a:b]) for a, b in read.files] == files
    else:
        assert read.files is None


@pytest.mark.parametrize("text", NOT_ONE_PLAIN_OBJECT)
def test_anything_but_one_plain_object_is_left_to_json_loads(text: str) -> None:
    """Then the page is parsed by ``json.loads`` (and not cached): it says what is wrong."""
    assert read_json(text) is None
    try:
        value = json.loads(text)
    except ValueError:
        return
    assert not isinstance(value, dict)
