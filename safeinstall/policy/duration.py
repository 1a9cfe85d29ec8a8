"""Durations as people write them in config: ``"7 days"``, ``"36h"``, ``"P7D"``."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), timedelta(seconds=1)),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), timedelta(minutes=1)),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), timedelta(hours=1)),
    **dict.fromkeys(("d", "day", "days"), timedelta(days=1)),
    **dict.fromkeys(("w", "week", "weeks"), timedelta(weeks=1)),
}
_NUMBER = r"\d+(?:\.\d+)?"
# compiled on first use (re's cache): only a policy's min-release-age is read with them
_PART = rf"({_NUMBER})\s*([a-z]+)\s*,?\s*"
_HUMAN = rf"(?:{_NUMBER}\s*[a-z]+\s*,?\s*)+"
# likewise, and later still: most policies write "7 days"
_ISO = (
    rf"P(?:({_NUMBER})W)?(?:({_NUMBER})D)?(?:T(?:({_NUMBER})H)?(?:({_NUMBER})M)?(?:({_NUMBER})S)?)?"
)
_ISO_UNITS = (timedelta(weeks=1), timedelta(days=1), timedelta(hours=1), timedelta(minutes=1))

EXAMPLES = '"7 days", "36h", "90 minutes", "0" or "P7D"'


def parse_duration(text: str) -> timedelta:
    """Parse a non-negative duration; ValueError says what is wrong."""
    try:
        return _parse(text)
    except OverflowError:  # more days than timedelta holds (999999999)
        raise ValueError(f"{text.strip()[:40]!r} is too long (at most 999999999 days)") from None


def _parse(text: str) -> timedelta:
    raw = text.strip()
    if raw == "0":
        return timedelta(0)
    if raw[:1] in ("P", "p"):
        return _parse_iso(raw.upper())
    lowered = raw.lower()
    if not re.fullmatch(_HUMAN, lowered):
        raise ValueError(f"expected a duration such as {EXAMPLES}, got {text!r}")
    total = timedelta(0)
    for number, unit in re.findall(_PART, lowered):
        if unit not in _UNITS:
            raise ValueError(
                f"unknown unit {unit!r} in {text!r}; use seconds, minutes, hours, days or weeks"
            )
        total += float(number) * _UNITS[unit]
    return total


def _parse_iso(raw: str) -> timedelta:
    match = re.fullmatch(_ISO, raw)
    if match is None or raw in ("P", "PT") or raw.endswith("T"):
        hint = (
            " (years and months have no fixed length; use days)"
            if re.search(r"\d[YM]", raw.split("T", maxsplit=1)[0])
            else ""
        )
        raise ValueError(f"expected an ISO-8601 duration such as P7D or PT36H, got {raw!r}{hint}")
    weeks, days, hours, minutes, seconds = match.groups()
    total = timedelta(seconds=float(seconds or 0))
    for value, unit in zip((weeks, days, hours, minutes), _ISO_UNITS, strict=True):
        total += float(value or 0) * unit
    return total
