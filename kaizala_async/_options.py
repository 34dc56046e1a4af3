"""Per-call options (``client.with_options``) and raw answers (``client.raw``).

A view made by `KaizalaClient.with_options` is the same client with other defaults for
its calls: it shares the connection pool, the rate limits, the tokens and the lifecycle of the
client it came from. ``client.raw.<family>.<method>(...)`` makes the typed call and returns the
decoded model together with the ``httpx.Response`` it came from.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import attrs
import httpx

__all__ = ["CallOptions", "RawClient", "RawResponse", "capture_response"]

T = TypeVar("T")

#: The responses of the typed call under way in this task, when ``client.raw`` asked for them.
_CAPTURE: contextvars.ContextVar[list[httpx.Response] | None] = contextvars.ContextVar(
    "kaizala_raw_capture", default=None
)


@attrs.frozen
class CallOptions:
    """Defaults a client view gives its calls (None: the client's own)."""

    timeout: float | None = None
    max_retries: int | None = None
    max_wait: float | None = None


def capture_response(response: httpx.Response) -> None:
    """Called with each answer of a typed call: kept when ``client.raw`` is listening."""
    captured = _CAPTURE.get()
    if captured is not None:
        captured.append(response)


@attrs.frozen
class RawResponse(Generic[T]):
    """A typed call's decoded result (``parsed``) and the HTTP answer it came from."""

    parsed: T
    http: httpx.Response = attrs.field(repr=False)

    @property
    def status_code(self) -> int:
        return self.http.status_code

    @property
    def headers(self) -> httpx.Headers:
        """The answer's headers (``Date``, the service's request id if it sent one, ...)."""
        return self.http.headers


class _RawFamily:
    def __init__(self, family: object, name: str) -> None:
        self._family = family
        self._name = name

    def __repr__(self) -> str:
        return f"<raw {self._name}>"

    def __getattr__(self, name: str) -> Callable[..., Awaitable[RawResponse[Any]]]:
        method = getattr(self._family, name)
        if name.startswith("_") or not callable(method):
            raise AttributeError(name)

        @functools.wraps(method)
        async def call(*args: Any, **kwargs: Any) -> RawResponse[Any]:
            captured: list[httpx.Response] = []
            token = _CAPTURE.set(captured)
            try:
                result = method(*args, **kwargs)
                if not isinstance(result, Awaitable):
                    raise TypeError(
                        f"{self._name}.{name} returns a paginator, not one answer: "
                        "iterate it on the client itself"
                    )
                parsed = await result
            finally:
                _CAPTURE.reset(token)
            return RawResponse(parsed, captured[-1])

        return call


class RawClient:
    """``client.raw.groups.get(group_id)`` → `RawResponse` (model + ``httpx.Response``)."""

    def __init__(self, client: object) -> None:
        self._client = client

    def __repr__(self) -> str:
        return "<raw client>"

    def __getattr__(self, name: str) -> _RawFamily:
        family = getattr(self._client, name)
        if name.startswith("_") or not hasattr(family, "_send"):
            raise AttributeError(f"{name!r} is not a resource family of the client")
        return _RawFamily(family, name)
