"""The parts of a request over the SDK's own httpx client that do not change from call to call,
made once: the client's default headers, and each endpoint's parsed origin.

httpx's ``build_request`` re-reads and re-normalises the client's default headers on every call,
and ``httpx.Request`` parses the whole URL string again (about a tenth of a fast call's CPU
each). A URL whose path httpx's parser would keep exactly as it is gets the origin parsed once
and the path set beside it; any other URL (a query, an escape, a dot segment, a character to
quote) is handed to httpx as a string, so what is sent never differs from what httpx builds.
"""

from __future__ import annotations

import re
from typing import Final

import httpx

__all__ = ["DefaultHeaders", "Urls"]

#: A path httpx keeps as written: segments of RFC 3986's unreserved and sub-delimiter
#: characters, ":" and "@"; no "%" (escapes are normalised), no "." or ".." segment (removed),
#: no query or fragment.
_PLAIN_PATH: Final = re.compile(r"(?:/(?!\.\.?(?:/|$))[A-Za-z0-9\-._~!$&'()*+,;=:@]*)*")
#: The origins kept (an endpoint base and the few a 308 may move it to); past this, forgotten.
_ORIGINS: Final = 16


class DefaultHeaders:
    """A client's default headers, read once, merged into each request's own as
    ``httpx.Headers.update`` merges them: the defaults a request header does not name (in any
    case), then the request's headers in their order."""

    __slots__ = ("_items",)

    def __init__(self, defaults: httpx.Headers) -> None:
        code = defaults.encoding
        self._items = [
            (name.decode(code).lower(), (name.decode(code), value.decode(code)))
            for name, value in defaults.raw  # the names as given (``items()`` lowers them)
        ]

    def merge(self, headers: dict[str, str]) -> list[tuple[str, str]]:
        named = {name.lower() for name in headers}
        merged = [default for low, default in self._items if low not in named]
        merged.extend(headers.items())
        return merged


class Urls:
    """httpx URLs for request URL strings: the origin (``scheme://host[:port]``) parsed by httpx
    once, a plain path set beside it; anything else left as the string."""

    __slots__ = ("_origins",)

    def __init__(self) -> None:
        self._origins: dict[str, httpx.URL] = {}

    def url(self, url: str) -> httpx.URL | str:
        slash = url.find("/", url.find("://") + 3)
        if slash < 0 or not _PLAIN_PATH.fullmatch(url, slash):
            return url
        origin = url[:slash]
        parsed = self._origins.get(origin)
        if parsed is None:
            parsed = httpx.URL(origin + "/")
            if parsed.query or parsed.fragment or parsed.raw_path != b"/" or not _DIRECT:
                return url  # not a bare origin (an odd URL): httpx parses it all
            if len(self._origins) >= _ORIGINS:
                self._origins.clear()
            self._origins[origin] = parsed
        return _with_path(parsed, url[slash:])


def _with_path(origin: httpx.URL, path: str) -> httpx.URL:
    """``origin`` with ``path`` (plain, checked by the caller), without parsing it again."""
    made = httpx.URL.__new__(httpx.URL)
    made._uri_reference = origin._uri_reference._replace(path=path)
    return made


def _works() -> bool:
    """Whether the installed httpx keeps a URL's parts as this module expects (a private
    attribute): if not, every URL goes to httpx as a string."""
    try:
        probe = "https://Example.COM:443/v1/groups/a-b_c~d/messages"
        made = _with_path(httpx.URL("https://example.com/"), probe[probe.index("/v1") :])
        return made == httpx.URL(probe) and made.raw_path == httpx.URL(probe).raw_path
    except Exception:  # any change in httpx's internals means: do not use them
        return False


_DIRECT: Final = _works()
