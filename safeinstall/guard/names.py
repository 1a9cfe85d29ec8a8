"""Project-name hygiene: the PEP 508 name rule, non-ASCII look-alikes and typosquat detection.

The popular names ship in ``data/popular-names.txt`` (made by ``bench/derive_popular_names.py``):
every listed name is known-legitimate and never flagged; the most downloaded ones, marked ``+``,
are protected: a name outside the list that imitates one of them is reported as a typosquat. The
lookup index over the protected names ships next to it, precomputed by the same script
(``data/popular-index.txt``, stamped with the names it was made from). Both are read lazily, once,
so importing this module costs nothing.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Sequence

from safeinstall.files.stamped import stamped, stamped_body
from safeinstall.frozen import Frozen, _set
from safeinstall.guard import popular
from safeinstall.guard.popular import (
    PopularNames,
    SortedLines,
    is_listed,
    parse_popular_names,
    popular_names,
)

# names.popular_names, names.parse_popular_names ... stay where callers know them
from safeinstall.requirements.pep508 import fold_lookalikes

__all__ = [
    "Imitation",
    "PopularNames",
    "edit_budget",
    "edit_distance",
    "find_imitation",
    "imitation_among_protected",
    "index_lines",
    "index_text",
    "is_listed",
    "max_edits",
    "parse_popular_names",
    "popular_names",
    "typosquat_of",
]

# ASCII look-alikes, applied after removing separators: "rn" reads as "m", "vv" as "w", and
# "1", "i", "l" (and "0", "o") are confused in many fonts.
_ASCII_CONFUSABLES = (("rn", "m"), ("vv", "w"), ("1", "l"), ("i", "l"), ("0", "o"))
_PREFIXES = ("python3-", "python-", "py3-", "py-")
_SUFFIXES = ("-python3", "-python", "-py3", "-py")
# Edit budgets, tuned on the popular list (see bench/names_false_positives.py): two edits from
# names at least this long; one edit from names at least (length) long and ranked below (rank).
_TWO_EDITS_FROM = 12
_ONE_EDIT = ((8, 5000), (6, 2000), (4, 500))
_VERSION_DIGITS_FROM = 100  # the names ranked above this are also guarded against version games
_DROP_DIGITS = str.maketrans("", "", "0123456789")
_LOOKS_THE_SAME = "looks the same apart from separators or look-alike letters"
_AFFIX = "adds a python/py prefix or suffix"


class Imitation(Frozen):
    """A name that imitates the popular project ``target``; ``how`` completes "it ..."."""

    __slots__ = ("how", "target")
    target: str
    how: str

    def __init__(self, target: str, how: str) -> None:
        _set(self, "target", target)
        _set(self, "how", how)


def typosquat_of(name: str, *, extra_known: Iterable[str] = ()) -> str | None:
    """The popular project ``name`` imitates, or None; never flags a listed or ``extra_known``
    name."""
    found = find_imitation(name, extra_known=extra_known)
    return None if found is None else found.target


def find_imitation(name: str, *, extra_known: Iterable[str] = ()) -> Imitation | None:
    """Like :func:`typosquat_of`, also saying how the name imitates its target."""
    from packaging.utils import canonicalize_name

    canon = canonicalize_name(name)
    if is_listed(canon) or canon in {canonicalize_name(n) for n in extra_known}:
        return None
    if not canon.isascii():
        folded = fold_lookalikes(canon)
        if folded is None:
            return None
        folded = canonicalize_name(folded)
        if folded in popular_names().known:
            return Imitation(folded, "uses non-ASCII look-alike letters")
        canon = folded
    return imitation_among_protected(canon)


def imitation_among_protected(canon: str) -> Imitation | None:
    """The protected name that the canonical name ``canon`` imitates, even if ``canon`` is known.

    This is the rule itself; :func:`find_imitation` first lets every known name through.
    """
    return _index().match(canon)


def max_edits(length: int, rank: int = 0) -> int:
    """How many edits from a protected name of this length and popularity rank (0 = the most
    downloaded) still make a typo of it.

    The shorter the name, the more unrelated names sit one edit away from it, so short names are
    only protected when they are very popular, and very short ones only by the other rules.
    """
    if length >= _TWO_EDITS_FROM:
        return 2
    for shortest, ranks in _ONE_EDIT:
        if length >= shortest and rank < ranks:
            return 1
    return 0


def edit_distance(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein (optimal string alignment) distance, or ``limit + 1`` if above it."""
    if not _within(a, b, limit):  # most pairs checked are far apart: answer those in one pass
        return limit + 1
    return next(distance for distance in range(limit + 1) if _within(a, b, distance))


def _within(a: str, b: str, edits: int) -> bool:
    """Whether at most ``edits`` insertions, deletions, substitutions or adjacent transpositions
    turn ``a`` into ``b``: skip the common prefix, then try each edit at the first difference."""
    same = 0
    while same < len(a) and same < len(b) and a[same] == b[same]:
        same += 1
    a, b = a[same:], b[same:]
    if not a or not b:
        return len(a) + len(b) <= edits
    if edits == 0 or abs(len(a) - len(b)) > edits:
        return False
    rest = edits - 1
    return (
        _within(a[1:], b[1:], rest)
        or _within(a[1:], b, rest)
        or _within(a, b[1:], rest)
        or (a[:2] == b[1::-1] and _within(a[2:], b[2:], rest))
    )


def _skeleton(canon: str) -> str:
    """What a canonical name looks like to a reader: no separators, ASCII look-alikes merged."""
    text = canon.replace("-", "")
    for old, new in _ASCII_CONFUSABLES:
        text = text.replace(old, new)
    return text


def _core(canon: str) -> str:
    """A canonical name without one python/py prefix and one suffix (``python3-requests`` ->
    ``requests``)."""
    for prefix in _PREFIXES:
        if canon.startswith(prefix) and len(canon) > len(prefix):
            canon = canon[len(prefix) :]
            break
    for suffix in _SUFFIXES:
        if canon.endswith(suffix) and len(canon) > len(suffix):
            return canon[: -len(suffix)]
    return canon


def edit_budget(canon: str, target: str, rank: int) -> int:
    """How many edits may separate ``canon`` from ``target`` (of popularity ``rank``) for it to
    count as a typo of it.

    Tuned on the popular list, where many legitimate names sit one edit apart:

    - typos keep the first letter;
    - adding or changing a version number names a fork or sibling (``netifaces2``,
      ``elasticsearch7``, ``python3-memcached``), except next to the top names
      (``python3-dateutil``); dropping one is a typo (``urllib`` for ``urllib3``);
    - the budget is set by the part that differs once shared ``-`` words are put aside, so
      ``django-cms`` is not a typo of ``django-csp``.
    """
    if canon[:1] != target[:1]:
        return 0
    if (
        rank >= _VERSION_DIGITS_FROM
        and len(canon) >= len(target)
        and canon.translate(_DROP_DIGITS) == target.translate(_DROP_DIGITS)
    ):
        return 0
    words, target_words = canon.split("-"), target.split("-")
    while len(words) > 1 and len(target_words) > 1 and words[0] == target_words[0]:
        del words[0], target_words[0]
    while len(words) > 1 and len(target_words) > 1 and words[-1] == target_words[-1]:
        del words[-1], target_words[-1]
    return max_edits(len("-".join(target_words)), rank)


@functools.cache
def _piece_bounds(length: int, edits: int) -> tuple[tuple[int, int], ...]:
    """Split a length into 2 * edits + 1 pieces; ``edits`` edits (a transposition across a boundary
    touches two pieces) leave at least one piece intact, shifted by at most ``edits``."""
    count = 2 * edits + 1
    cuts = [length * k // count for k in range(count + 1)]
    return tuple(itertools.pairwise(cuts))


def _piece_key(length: int, first: str, piece: int, text: str) -> str:
    """The index key of piece ``piece`` (``text``) of a name of this length and first letter."""
    return f"{length}/{first}/{piece}/{text}"


_SKELETON_KEY = "="  # "=" + a skeleton; piece keys start with a digit


def index_lines(protected: Sequence[str]) -> list[str]:
    """The look-alike index of ``protected`` (most downloaded first), as sorted lines
    ``KEY RANK ...`` (``RANK``: a position in ``protected``).

    ``KEY`` is ``=`` + a name's skeleton (the most downloaded such name only), or a piece key of
    the pigeonhole index for the edit-distance rule. A space sorts below every character of a
    key, so ``KEY `` finds its line by bisection. bench/derive_popular_names.py ships these lines
    (data/popular-index.txt) so that the hook path reads them instead of computing them.
    """
    keys: dict[str, list[str]] = {}
    for rank, name in enumerate(protected):  # most downloaded first: the skeleton keeps it
        keys.setdefault(_SKELETON_KEY + _skeleton(name), [str(rank)])
        edits = max_edits(len(name))  # an upper bound of edit_budget(_, name)
        for piece, (start, end) in enumerate(_piece_bounds(len(name), edits) if edits else ()):
            key = _piece_key(len(name), name[0], piece, name[start:end])
            keys.setdefault(key, []).append(str(rank))
    return sorted(f"{key} {' '.join(ranks)}" for key, ranks in keys.items())


class _Index(Frozen):
    """Lookup structures over the protected names, read (or built) once on first use."""

    __slots__ = ("lines", "protected")
    protected: Sequence[str]  # most downloaded first: a position is a rank
    lines: SortedLines  # index_lines(protected)

    def __init__(self, protected: Sequence[str], lines: SortedLines) -> None:
        _set(self, "protected", protected)
        _set(self, "lines", lines)

    def rank_of(self, name: str) -> int | None:
        """The rank of the protected name ``name`` (0 for the most downloaded), None if it is
        none: a scan, for the rare name with a python/py affix (a rank table costs every run)."""
        try:
            return self.protected.index(name)
        except ValueError:
            return None

    def ranks(self, key: str) -> list[int]:
        """The ranks the index holds under ``key``."""
        line = self.lines.find(key + " ")
        return [] if line is None else [int(rank) for rank in line[len(key) + 1 :].split()]

    def match(self, canon: str) -> Imitation | None:
        """The most downloaded protected name that ``canon`` imitates by any rule."""
        core = _core(canon)  # adding an affix is flagged; dropping one (ffmpeg-python) is not
        same = self.ranks(_SKELETON_KEY + _skeleton(canon))
        found = [
            (rank, Imitation(self.protected[rank], how))
            for rank, how in (
                (same[0] if same else None, _LOOKS_THE_SAME),
                (self.rank_of(core) if core != canon else None, _AFFIX),
                *self._near(canon),
            )
            if rank is not None and self.protected[rank] != canon
        ]
        return min(found, key=lambda ranked: ranked[0])[1] if found else None

    def _near(self, canon: str) -> list[tuple[int, str]]:
        """The rank of the nearest protected name within its edit budget (ties: the most
        downloaded) and how ``canon`` imitates it, if there is one."""
        candidates: set[int] = set()
        size = len(canon)
        for length in range(size - 2, size + 3):
            edits = max_edits(length)
            if edits == 0 or abs(length - size) > edits:
                continue
            for piece, (start, end) in enumerate(_piece_bounds(length, edits)):
                for at in range(max(0, start - edits), min(start + edits, size - end + start) + 1):
                    key = _piece_key(length, canon[:1], piece, canon[at : at + end - start])
                    candidates.update(self.ranks(key))
        best: tuple[int, int, str] | None = None
        letters = set(canon)
        for rank in candidates:
            target = self.protected[rank]
            if target == canon:
                continue
            edits = max_edits(len(target), rank)
            # An edit changes at most two letters of the set of letters used: a quick first test.
            if len(letters.symmetric_difference(target)) > 2 * edits:
                continue
            if not _within(canon, target, edits):
                continue
            budget = edit_budget(canon, target, rank)
            if budget and (distance := edit_distance(canon, target, budget)) <= budget:
                entry = (distance, rank, target)
                best = entry if best is None else min(best, entry)
        if best is None:
            return []
        distance, rank, _ = best
        return [(rank, "is one edit away" if distance == 1 else "is two edits away")]


_INDEX_FILE = "popular-index.txt"


def index_text(protected: Sequence[str]) -> str:
    """data/popular-index.txt for the protected names ``protected``: a header, a stamp line
    (CRC-32 of the names, one a line, and of the lines below it) and :func:`index_lines`."""
    body = "".join(line + "\n" for line in index_lines(protected))
    header = (
        "# Look-alike index of the protected names of popular-names.txt, made from it by\n"
        "# bench/derive_popular_names.py. Sorted lines KEY RANK...: KEY is '=' + a skeleton or a\n"
        "# piece LENGTH/FIRST/NUMBER/TEXT; a RANK is a protected name's position, 0 the top one.\n"
        "# Do not edit by hand: re-run the script.\n"
    )
    return stamped(header, "\n".join(protected).encode(), body)


def _load_index(protected: Sequence[str]) -> _Index | None:
    """The shipped index of ``protected``, or None unless its stamp says it is exactly
    :func:`index_text` of these names (then the caller builds it: never a stale index)."""
    body = stamped_body(popular.read_data(_INDEX_FILE), "\n".join(protected).encode())
    return None if body is None else _Index(protected, SortedLines(body.decode("ascii")))


@functools.cache
def _index() -> _Index:
    """The look-alike index: the shipped one (a read and a split of ~20,000 lines), or, if it
    does not match the shipped names, the same built from them (~30 ms)."""
    shipped = _load_index(popular.protected_names())
    if shipped is not None:
        return shipped
    protected = popular_names().protected
    return _Index(protected, SortedLines("".join(line + "\n" for line in index_lines(protected))))
