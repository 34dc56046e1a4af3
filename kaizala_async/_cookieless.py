"""The SDK's ``httpx.AsyncClient``: one that keeps no cookies.

The service sets none (no endpoint of its API reads or writes one). A jar would let any server
the client talks to plant cookies that are sent back on every later call and kept, one per
answer if it likes, for the client's whole life; and httpx reads every answer's headers into
its jar (a ``urllib`` request and an ``email`` message built per call: about a quarter of a
call's CPU over a fast transport).
"""

from __future__ import annotations

from typing import Any

import httpx

__all__ = ["CookielessClient"]


class _NoCookies(httpx.Cookies):
    """A cookie jar that keeps nothing and adds nothing to a request."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None

    def set_cookie_header(self, request: httpx.Request) -> None:
        return None

    def set(self, name: str, value: str, domain: str = "", path: str = "/") -> None:
        return None

    def update(self, cookies: Any = None) -> None:  # type: ignore[override]
        return None


class CookielessClient(httpx.AsyncClient):
    """An ``httpx.AsyncClient`` whose cookie jar keeps nothing (see the module's docstring)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._no_cookies = _NoCookies()  # this client's own, empty for good

    @property
    def cookies(self) -> httpx.Cookies:
        return self._no_cookies

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        raise AttributeError("the SDK's client keeps no cookies")
