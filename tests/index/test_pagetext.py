"""read_json: the values ``json.loads`` gives, with the places the parsed-page cache keeps."""

from __future__ import annotations

import json
import pickle

import pytest

from safeinstall.index.pagetext import FileObjects, read_json

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
    loaded = json.loads(text)
    files = read.data.get("files")
    if isinstance(loaded.get("files"), list):  # read element by element, not kept
        assert isinstance(files, FileObjects)
        assert list(files) == [json.loads(text[a:b]) for a, b in files.spans] == loaded["files"]
        assert [json.loads(files.raw(at)) for at in range(len(files))] == loaded["files"]
        assert files.names == tuple(f.get("filename") if type(f) is dict else None for f in files)
        read.data["files"] = list(files)
    else:
        assert not isinstance(files, FileObjects)
    assert read.data == loaded
    for key, (start, end) in read.spans.items():
        assert json.loads(text[start:end]) == read.data[key]


def test_some_file_objects_are_kept_with_their_own_text_alone() -> None:
    """What the lock's helper sends of a page: the file objects kept, no byte of the others."""
    text = '{"files": [{"filename": "a-1.tar.gz", "x": [1]}, 7, {"filename": "a-2.tar.gz"}]}'
    read = read_json(text)
    assert read is not None
    kept = read.data["files"].only([2, 1])
    assert kept.text == '{"filename": "a-2.tar.gz"}7'
    assert list(kept) == [{"filename": "a-2.tar.gz"}, 7]
    assert kept.names == ("a-2.tar.gz", None)
    assert pickle.loads(pickle.dumps(kept)) == kept
    assert read.data["files"].only([]) == FileObjects("", (), ())


def test_a_files_list_nested_past_the_recursion_limit_is_left_to_json_loads() -> None:
    """It then fails the page with json.loads's reason, not the run with a RecursionError."""
    text = '{"files": [' + "[" * 100_000 + "]" * 100_000 + "]}"
    assert read_json(text) is None
    with pytest.raises(RecursionError):
        json.loads(text)


@pytest.mark.parametrize("text", NOT_ONE_PLAIN_OBJECT)
def test_anything_but_one_plain_object_is_left_to_json_loads(text: str) -> None:
    """Then the page is parsed by ``json.loads`` (and not cached): it says what is wrong."""
    assert read_json(text) is None
    try:
        value = json.loads(text)
    except ValueError:
        return
    assert not isinstance(value, dict)
