"""``Frozen``: the base of the value types on the pre-commit hook path.

It gives what ``@dataclass(frozen=True, slots=True)`` gives (field-wise equality and hash, the
same repr, assignment raising ``FrozenInstanceError``, copy and pickle) without its cost at
import: Python 3.11 writes and compiles six methods with ``exec`` for every dataclass, about
1 ms each, a tenth of a ``safeinstall check`` run. A subclass lists its fields three times,
once each for the type checker (annotations), the layout (``__slots__``) and construction
(``__init__``, setting each field with ``_set``); mypy treats it as a frozen dataclass
(``dataclass_transform``), so it checks construction and flags assignment to a field.
Value types off the hook path stay plain dataclasses.
"""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import FrozenInstanceError
from typing import Any, ClassVar, TypeVar, cast, dataclass_transform

_set = object.__setattr__  # how a subclass's __init__ sets a field
_T = TypeVar("_T")


@dataclass_transform(frozen_default=True)
class Frozen:
    """Base class: subclasses annotate their fields, name them in ``__slots__`` and set them in
    ``__init__``; the annotations give their order (ruff sorts ``__slots__``)."""

    __slots__ = ()
    _field_names: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls) -> None:
        names = tuple(inspect.get_annotations(cls))  # own fields, in order
        if set(names) != set(cls.__dict__.get("__slots__", ())):
            raise TypeError(f"{cls.__qualname__}: __slots__ must name the annotated fields")
        cls._field_names = names

    def _fields(self) -> tuple[Any, ...]:
        return tuple([getattr(self, name) for name in self._field_names])

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._field_names)
        return f"{self.__class__.__qualname__}({fields})"

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __getstate__(self) -> tuple[Any, ...]:
        return self._fields()

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        for name, value in zip(self._field_names, state, strict=True):
            _set(self, name, value)


def replace(value: _T, /, **changes: Any) -> _T:
    """A copy of ``value`` with ``changes``, as ``dataclasses.replace`` makes one: through the
    class's ``__init__`` (it checks the fields), every field passed by name. A dataclass is
    handed to ``dataclasses.replace``: one call for values of either kind."""
    if not isinstance(value, Frozen):
        return cast("_T", dataclasses.replace(cast("Any", value), **changes))
    unknown = set(changes).difference(value._field_names)
    if unknown:
        raise TypeError(f"{value.__class__.__qualname__} has no field {min(unknown)!r}")
    fields = {name: getattr(value, name) for name in value._field_names}
    return value.__class__(**(fields | changes))
