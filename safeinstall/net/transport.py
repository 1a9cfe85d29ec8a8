"""The part of the Http contract (see ``http.py``) that ``index.py`` and ``metadata.py`` use.

A structural Protocol, so the real pooled ``Http`` fits without importing it and tests can pass
an in-memory fake.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class Reply(Protocol):
    @property
    def url(self) -> str: ...  # final URL after redirects, credentials stripped
    @property
    def status(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]: ...  # lower-case names
    @property
    def body(self) -> bytes: ...


class Getter(Protocol):
    def get(
        self, url: str, *, headers: Mapping[str, str] | None = None, max_bytes: int | None = None
    ) -> Reply: ...
