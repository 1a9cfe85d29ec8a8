"""resolvelib's resolver, with its per-round pin check remembered.

At every round resolvelib asks, for every package already pinned, whether the pin still
satisfies every requirement on that package (``_is_current_pin_satisfying``): rounds x pins x
requirements calls of ``is_satisfied_by``, most of the CPU of a lock for several targets. A
criterion is never changed once made (resolvelib makes a new one for each new requirement, and
after each backtrack), so the answer is kept per (criterion, pin), each entry keeping both alive
so that an id is not reused while it is kept. Where resolvelib lacks the two internals this
relies on, ``resolver`` is its plain resolver: the same answers, without the memo.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from resolvelib import AbstractProvider, BaseReporter
from resolvelib import Resolver as PlainResolver
from resolvelib.resolvers import Criterion, Resolution
from resolvelib.resolvers import resolution as _internals


class _Resolution(Resolution):  # type: ignore[type-arg]
    def __init__(self, provider: AbstractProvider[Any, Any, Any], reporter: Any) -> None:
        super().__init__(provider, reporter)
        # by the criterion's id: the last pin checked against it, and the answer
        self._pin_checks: dict[int, tuple[object, object, bool]] = {}

    def _is_current_pin_satisfying(self, name: Any, criterion: Criterion[Any, Any]) -> bool:
        pin = self.state.mapping.get(name)
        if pin is None:
            return False
        hit = self._pin_checks.get(id(criterion))
        if hit is None or hit[1] is not pin:  # a criterion is checked against one pin, mostly
            answer = bool(super()._is_current_pin_satisfying(name, criterion))
            hit = self._pin_checks[id(criterion)] = (criterion, pin, answer)
        return hit[2]


class _MemoResolver(PlainResolver):  # type: ignore[type-arg]
    def resolve(  # type: ignore[override]  # as resolvelib's own Resolver.resolve
        self, requirements: Iterable[Any], max_rounds: int = 100
    ) -> Any:
        state = _Resolution(self.provider, self.reporter).resolve(requirements, max_rounds)
        return _internals._build_result(state)


MEMO = hasattr(Resolution, "_is_current_pin_satisfying") and hasattr(_internals, "_build_result")


def resolver(
    provider: AbstractProvider[Any, Any, Any], reporter: BaseReporter[Any, Any, Any]
) -> Any:
    """A resolvelib resolver over ``provider``, with the pin check remembered where possible."""
    return (_MemoResolver if MEMO else PlainResolver)(provider, reporter)
