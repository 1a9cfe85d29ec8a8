"""Pooled HTTPS for index pages, metadata and artifacts (interface; implemented on branch 'index').

Contract used by index.py and metadata.py:

    @dataclass(frozen=True, slots=True)
    class Response:
        url: str                      # final URL after redirects, credentials stripped
        status: int
        headers: Mapping[str, str]    # lower-case names
        body: bytes

    class Http:
        def __init__(self, *, allowed: Callable[[str], bool], timeout: float = 15.0,
                     deadline: float = 120.0, retries: int = 3,
                     max_bytes: int = 64 * 1024 * 1024) -> None: ...
        def get(self, url: str, *, headers: Mapping[str, str] | None = None,
                max_bytes: int | None = None) -> Response:
            # Returns the response whatever its status (4xx are the caller's to judge; 5xx are
            # retried first). Raises IndexServerError on connection failure after bounded retries
            # with backoff, on a body larger than max_bytes, past the total deadline, on a
            # redirect to a URL `allowed` rejects, https->http, a loop or more than 10 hops.
            # Authorization is never sent to a host other than the one it belongs to. A Range
            # header is passed through; the caller handles 206 versus a full 200.
        def close(self) -> None: ...
"""
