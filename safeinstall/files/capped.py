"""Reading an input file with a size cap: bounded memory, and one clear error naming the file."""

from __future__ import annotations

from pathlib import Path

from safeinstall.errors import InputError, Location


def read_capped(path: Path, max_bytes: int, *, what: str, hint: str) -> bytes:
    """At most ``max_bytes`` of ``path`` (reading one more byte tells a larger file apart).

    ``what`` names the file in messages ("the lock", "the policy file"); ``hint`` says what to
    do when it cannot be read.
    """
    where = Location(str(path))
    try:
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except IsADirectoryError:
        raise InputError(f"{what} is a directory, not a file", location=where, hint=hint) from None
    except OSError as exc:
        raise InputError(
            f"cannot read {what}: {exc.strerror or exc}", location=where, hint=hint
        ) from None
    if len(data) > max_bytes:
        raise InputError(
            f"{what} is larger than {max_bytes} bytes",
            location=where,
            hint="check that this is the right file",
        )
    return data
