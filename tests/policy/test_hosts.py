"""The one host rule, asked by the index client, the HTTP layer, install and check."""

from __future__ import annotations

import pytest

from safeinstall.policy.hosts import HostPolicy, index_allows
from safeinstall.policy.model import IndexSpec

SECURE = IndexSpec("corp", "https://pkgs.example.com/simple", file_hosts=("files.example.com",))
LOCAL = IndexSpec("local", "http://127.0.0.1:8080/simple", file_hosts=("127.0.0.2:9000",))


@pytest.mark.parametrize(
    ("index", "url", "allowed"),
    [
        (SECURE, "https://pkgs.example.com/f/a-1.whl", True),
        (SECURE, "https://PKGS.example.com:443/f/a-1.whl", True),
        (SECURE, "https://pkgs.example.com:8443/f/a-1.whl", False),  # another origin
        (SECURE, "https://files.example.com/a-1.whl", True),
        (SECURE, "https://files.example.com:444/a-1.whl", False),
        (SECURE, "http://files.example.com/a-1.whl", False),  # downgrade
        (SECURE, "http://pkgs.example.com/f/a-1.whl", False),
        (SECURE, "https://evil.example.net/a-1.whl", False),
        (SECURE, "https://pkgs.example.com.evil.net/a-1.whl", False),
        (SECURE, "ftp://pkgs.example.com/a-1.whl", False),
        (SECURE, "https://pkgs.example.com:99999/a-1.whl", False),  # port out of range
        (SECURE, "https://pkgs.example.com:x/a-1.whl", False),
        (SECURE, "https:///a-1.whl", False),
        (LOCAL, "http://127.0.0.1:8080/f/a-1.whl", True),
        (LOCAL, "http://127.0.0.1:8081/f/a-1.whl", False),
        (LOCAL, "http://127.0.0.2:9000/a-1.whl", True),
        (LOCAL, "http://127.0.0.2/a-1.whl", False),
    ],
)
def test_index_allows(index: IndexSpec, url: str, allowed: bool) -> None:
    assert index_allows(index, url) is allowed


def test_host_policy_trusts_any_listed_index_and_nothing_else() -> None:
    rule = HostPolicy([SECURE, LOCAL])
    assert rule("https://files.example.com/a-1.whl")
    assert rule("http://127.0.0.1:8080/a-1.whl")
    assert not rule("https://127.0.0.1:8080/a-1.whl")  # the local index is http
    assert not HostPolicy([])("https://pkgs.example.com/a-1.whl")
