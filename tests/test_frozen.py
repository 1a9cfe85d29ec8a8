"""Frozen value types behave as @dataclass(frozen=True, slots=True) ones do."""

from __future__ import annotations

import copy
import pickle
from dataclasses import FrozenInstanceError, dataclass

import pytest

from safeinstall.frozen import Frozen, _set
from safeinstall.requirements.file import HashPin


class Pair(Frozen):
    __slots__ = ("digits", "word")  # not in field order: the annotations give it
    word: str
    digits: tuple[int, ...]

    def __init__(self, word: str, digits: tuple[int, ...] = ()) -> None:
        _set(self, "word", word)
        _set(self, "digits", digits)


@dataclass(frozen=True, slots=True)
class DataPair:
    word: str
    digits: tuple[int, ...] = ()


def test_equality_and_hash_are_field_wise() -> None:
    assert Pair("a", (1,)) == Pair("a", (1,))
    assert Pair("a", (1,)) != Pair("a", (2,))
    assert hash(Pair("a", (1,))) == hash(Pair("a", (1,)))
    assert len({Pair("a"), Pair("a"), Pair("b")}) == 2


def test_not_equal_to_another_type_with_the_same_fields() -> None:
    assert Pair("a") != DataPair("a")
    assert Pair("a") != ("a", ())


def test_repr_is_the_dataclass_repr() -> None:
    assert repr(Pair("a", (1,))) == repr(DataPair("a", (1,))).replace("DataPair", "Pair")


def test_fields_cannot_be_assigned_deleted_or_added() -> None:
    pair = Pair("a")
    with pytest.raises(FrozenInstanceError):
        pair.word = "b"  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        del pair.word
    with pytest.raises(FrozenInstanceError):
        pair.third = 3
    assert pair == Pair("a")


def test_no_instance_dict() -> None:
    assert not hasattr(Pair("a"), "__dict__")
    assert not hasattr(HashPin("sha256", "00"), "__dict__")


def test_copy_and_pickle_round_trip() -> None:
    pin = HashPin("sha256", "ab" * 32)
    assert copy.copy(pin) == pin
    assert copy.deepcopy(Pair("a", (1, 2))) == Pair("a", (1, 2))
    assert pickle.loads(pickle.dumps(pin)) == pin


def test_slots_must_name_the_annotated_fields() -> None:
    with pytest.raises(TypeError, match="__slots__ must name the annotated fields"):

        class Missing(Frozen):
            __slots__ = ("word",)
            word: str
            digits: str


def test_replace_makes_a_changed_copy_through_init() -> None:
    from safeinstall.frozen import replace

    pair = Pair("a", (1,))
    assert replace(pair, digits=(2,)) == Pair("a", (2,))
    assert pair == Pair("a", (1,))  # the original is untouched
    with pytest.raises(TypeError, match="no field 'colour'"):
        replace(pair, colour="red")


def test_replace_hands_a_dataclass_to_dataclasses_replace() -> None:
    from safeinstall.frozen import replace

    assert replace(DataPair("a"), digits=(3,)) == DataPair("a", (3,))


def test_a_lock_is_compared_without_the_content_digest_it_records() -> None:
    # Lock is Frozen (start-up time of `lock --check`); its recorded content digest is what the
    # file says, not the lock's content, so equality and hash leave it out, as before
    from safeinstall.frozen import replace
    from safeinstall.lock.model import Lock

    lock = Lock((), "sha256:" + "0" * 64, environments=("x",))
    recorded = replace(lock, recorded_content="sha256:" + "1" * 64)
    assert recorded == lock
    assert hash(recorded) == hash(lock)
    assert recorded.recorded_content != lock.recorded_content
    assert replace(lock, notes=("n",)) != lock
    assert pickle.loads(pickle.dumps(recorded)).recorded_content == recorded.recorded_content
