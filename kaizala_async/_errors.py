"""Every error a call can raise.

    KaizalaError
     ├── ValidationError ............ bad input, raised before any request is sent (also ValueError)
     ├── SlotWaitTimeoutError ....... no rate-limit slot within max_wait; nothing was sent
     ├── ClientClosedError .......... the client closed before the call could go (also RuntimeError)
     ├── UnexpectedResponseError .. a 2xx answer whose body does not fit the documented shape
     ├── TransportError ............. the service could not be reached or did not answer
     │    └── RequestTimeoutError ... no answer within the timeout (the request may have arrived)
     └── APIError ................... the service answered with an error (status, code, message)
          ├── BadRequestError ....... 400 InvalidParameters, 415 unsupported media type
          ├── AuthenticationError ... 401: bad connector credentials, invalid or expired token
          ├── PermissionDeniedError . 403: the token lacks a permission
          ├── NotFoundError ......... 404: unknown group, action, webhook, bot
          ├── ThrottledError ........ 429 that the client did not absorb (retry_after too long)
          ├── EndpointMovedError .... 308 to a host outside the allow-list, or moved twice
          └── ServerError ........... 5xx

Messages never contain secrets: no token, PIN or application secret is ever put into one, and
whatever the service sends back (an error message that echoes a header, a ``Location``) is
redacted of every live secret before it is stored on an error.
"""

from __future__ import annotations

from ._secrets import redact

__all__ = [
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "EndpointMovedError",
    "KaizalaError",
    "NotFoundError",
    "PermissionDeniedError",
    "RequestTimeoutError",
    "ServerError",
    "SlotWaitTimeoutError",
    "ThrottledError",
    "TransportError",
    "UnexpectedResponseError",
    "ValidationError",
]


class KaizalaError(Exception):
    """Base class of every error raised by kaizala-async."""


class ValidationError(KaizalaError, ValueError):
    """An argument is invalid; raised before anything is sent.

    ``argument`` names the offending argument, ``reason`` says why.
    """

    def __init__(self, argument: str, reason: str) -> None:
        self.argument = argument
        self.reason = reason
        super().__init__(f"{argument}: {reason}")


class SlotWaitTimeoutError(KaizalaError, TimeoutError):
    """The call could not get a rate-limit slot within ``max_wait`` seconds.

    Nothing was sent and no slot was used: the call gave its place in the queue up. Raised only
    when a ``max_wait`` is set (``RateLimits(max_wait=...)``, `max_wait` or
    ``client.request(..., max_wait=...)``).
    """

    def __init__(self, max_wait: float) -> None:
        self.max_wait = max_wait
        super().__init__(f"no rate-limit slot within max_wait={max_wait:g} s; nothing was sent")


class ClientClosedError(KaizalaError, RuntimeError):
    """The client's ``async with`` ended before this call could go: it was waiting for a
    rate-limit slot, or was about to resend, when the client closed; or it was made after.

    Nothing more was sent after the close. A call already on the wire at the close fails as a
    `TransportError` instead (``request_sent`` tells whether it may have arrived).
    """

    def __init__(self, what: str = "the client is closed") -> None:
        super().__init__(f"{what}; use the client inside `async with KaizalaClient(...)`")


class UnexpectedResponseError(KaizalaError):
    """A 2xx answer could not be decoded into the documented model (the body is not quoted)."""

    def __init__(self, what: str, problems: list[str]) -> None:
        self.what = what
        self.problems = problems
        super().__init__(f"unexpected answer to {what}: " + "; ".join(problems[:5]))


class TransportError(KaizalaError):
    """The request failed below HTTP: connection refused or reset, DNS, TLS, protocol error.

    ``request_sent`` is False when the failure happened before the request left this process
    (such failures are always safe to retry and the client retries them itself).
    """

    def __init__(self, message: str, *, method: str, url: str, request_sent: bool) -> None:
        self.method = method
        self.url = url
        self.request_sent = request_sent
        super().__init__(f"{message} ({method} {url})")


class RequestTimeoutError(TransportError):
    """No answer within the timeout. The service may or may not have processed the request."""


class APIError(KaizalaError):
    """The service answered with an error status.

    ``status`` is the HTTP status; ``code`` and ``category`` are the body's ``errorCode`` and
    ``errorCategoryKey`` (empty strings when absent); ``message`` is the body's ``message``.
    """

    def __init__(
        self,
        status: int,
        code: str = "",
        message: str = "",
        *,
        category: str = "",
        method: str = "",
        url: str = "",
    ) -> None:
        # The service's text, redacted: a server may echo the request's headers back.
        code, message, category = redact(code), redact(message), redact(category)
        self.status = status
        self.code = code
        self.message = message
        self.category = category
        self.method = method
        self.url = url
        where = f" ({method} {url})" if method else ""
        detail = f" {code}" if code else ""
        text = f": {message}" if message else ""
        super().__init__(f"HTTP {status}{detail}{text}{where}")


class BadRequestError(APIError):
    """400 (``InvalidParameters``) or 415: the service rejected the request's content."""


class AuthenticationError(APIError):
    """401: wrong connector id/secret, an invalid refresh token, or an access token that stayed
    invalid after one refresh."""


class PermissionDeniedError(APIError):
    """403: the connector lacks the permission, or the user is not an admin of the group."""


class NotFoundError(APIError):
    """404: the group, action, webhook or bot does not exist (or is not visible to the token)."""


class ThrottledError(APIError):
    """429 that the client gave up on: ``retry_after`` (seconds) exceeded the configured cap, or
    the call was throttled more times than allowed. The request was not processed."""

    def __init__(self, retry_after: float | None, *, attempts: int = 1, **kwargs: str) -> None:
        self.retry_after = retry_after
        self.attempts = attempts
        wait = "unknown" if retry_after is None else f"{retry_after:g} s"
        super().__init__(
            429,
            kwargs.pop("code", "") or "TooManyRequests",
            kwargs.pop("message", "") or f"throttled {attempts} time(s); Retry-After {wait}",
            **kwargs,
        )


class EndpointMovedError(APIError):
    """308 that the client would not follow: the new endpoint is not on the allowed hosts, or the
    endpoint moved again on the resent request. ``location`` is the ``Location`` header."""

    def __init__(self, location: str, reason: str, **kwargs: str) -> None:
        location = redact(location)
        self.location = location
        self.reason = reason
        super().__init__(308, "EndpointMoved", f"{reason}: {location}", **kwargs)


class ServerError(APIError):
    """5xx: the service failed. Retried only for idempotent calls (or when opted in)."""
