"""urls.split: the one way to take an input's URL apart; check and redact built on it."""

from __future__ import annotations

import pytest

from safeinstall import urls
from safeinstall.errors import InputError, Location


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://127.0.0.1:99999/", "its port '99999' is not a number from 0 to 65535"),
        ("https://127.0.0.1:x/", "its port 'x' is not a number from 0 to 65535"),
        ("https://[::1]:-1/", "its port '-1' is not a number from 0 to 65535"),
        ("https://u:p@h:70000/", "its port '70000' is not a number from 0 to 65535"),
        ("https://[::1/simple", "its host in [brackets] is not a closed IPv6 address"),
        ("https://[zz]/", "its host in [brackets] is not a closed IPv6 address"),
        ("https://h\uff03x/", "its host has a character that reads as"),
    ],
)
def test_split_refuses_what_urlsplit_or_its_port_cannot_read(url: str, reason: str) -> None:
    with pytest.raises(ValueError, match=r"^its ") as caught:
        urls.split(url)
    assert str(caught.value).startswith(reason)


@pytest.mark.parametrize(
    "url", ["https://127.0.0.1:8080/simple", "https://[::1]/", "./wheels", "https://h:/", ""]
)
def test_split_reads_a_url_whose_port_can_be_read(url: str) -> None:
    parts = urls.split(url)
    assert parts.port in (None, 8080)


def test_check_names_the_place_and_hides_credentials() -> None:
    where = Location("requirements.in", 3)
    with pytest.raises(InputError) as caught:
        urls.check("https://user:secret@[::1/simple", what="index", location=where)
    assert caught.value.location == where
    assert caught.value.hint is not None and "[brackets]" in caught.value.hint
    assert "secret" not in str(caught.value)
    assert "'https://***@[::1/simple' is not a valid URL" in str(caught.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://u:p@h:99999/x", "https://***@h:99999/x"),
        ("https://u:p@[::1/x", "https://***@[::1/x"),
        ("//a@b@[::1/x", "//***@[::1/x"),
        ("https://u:p@h/x", "https://***@h/x"),
        ("https://h:x/a@b", "https://h:x/a@b"),
    ],
)
def test_redact_never_raises(url: str, shown: str) -> None:
    assert urls.redact(url) == shown
