"""Protocol decisions as pure functions: no I/O, no clock of their own (the gidgethub way).

Parsing ``Retry-After``, reading error bodies, deciding retries, reading a 308's ``Location``
and checking hosts against the allow-list all live here and are tested without a network.
"""

from __future__ import annotations

import email.utils
import math
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

import attrs
import httpx

from ._constants import API_VERSION_PREFIX
from ._errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    PermissionDeniedError,
    ServerError,
    UnexpectedResponseError,
    ValidationError,
)

__all__ = [
    "IDEMPOTENT_METHODS",
    "HostPolicy",
    "base_from_location",
    "error_from_response",
    "error_fields",
    "is_invalid_token",
    "join_url",
    "json_body",
    "json_or_none",
    "parse_retry_after",
]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def parse_retry_after(value: str | None, *, now: float, date: str | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: integer or decimal seconds, or an HTTP date.

    An HTTP date is measured against the response's own ``Date`` header when there is one (so the
    local clock's skew does not matter), else against ``now`` (epoch seconds). Returns ``None``
    when the value is missing or unreadable, and never a negative number.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    reference = now
    if date:
        try:
            reference = email.utils.parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            reference = now
    return max(0.0, when - reference)


def _lower_keys(body: object) -> Mapping[str, Any]:
    if isinstance(body, Mapping):
        return {str(k).lower(): v for k, v in body.items()}
    return {}


def error_fields(body: object) -> tuple[str, str, str]:
    """``(errorCode, message, errorCategoryKey)`` from an error body, keys matched in any case."""
    fields = _lower_keys(body)

    def text(key: str) -> str:
        value = fields.get(key)
        return value if isinstance(value, str) else ""

    return text("errorcode"), text("message"), text("errorcategorykey")


def is_invalid_token(status: int, body: object) -> bool:
    """True when the answer says the access token is invalid or expired (API reference: decide by
    ``errorCode`` ``InvalidToken`` at any status; a bare 401 on a resource call counts too)."""
    code, _, _ = error_fields(body)
    if code.lower() == "invalidtoken":
        return True
    return status == 401 and code.lower() not in {"unauthenticated"}


_ERRORS: Mapping[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    415: BadRequestError,
}


def json_body(response: httpx.Response, what: str) -> object:
    """The JSON of a 2xx answer, or `UnexpectedResponseError` (not JSON, nested too deep:
    ``RecursionError`` is what a hostile server's 100k-deep document would raise)."""
    try:
        return response.json()
    except (ValueError, RecursionError) as exc:
        problem = "nested too deep" if isinstance(exc, RecursionError) else "not JSON"
        raise UnexpectedResponseError(what, [problem]) from None


def json_or_none(response: httpx.Response) -> object:
    """The JSON of an answer, or None when it is not JSON (or nested too deep)."""
    try:
        return response.json()
    except (ValueError, RecursionError):
        return None


def error_from_response(status: int, body: object, *, method: str, url: str) -> APIError:
    """The typed error for a failed answer (status first, then ``errorCode``)."""
    code, message, category = error_fields(body)
    if code.lower() == "invalidtoken":
        cls: type[APIError] = AuthenticationError
    elif status >= 500:
        cls = ServerError
    else:
        cls = _ERRORS.get(status, APIError)
    return cls(status, code, message, category=category, method=method, url=url)


def join_url(base: str, path: str) -> str:
    """``rstrip(base, "/") + "/v1" + path`` (API reference, "Base URLs"): never ``//v1``."""
    return base.rstrip("/") + API_VERSION_PREFIX + path


_VERSION_SEGMENT = API_VERSION_PREFIX.strip("/")


def base_from_location(location: str, current: str) -> str:
    """The new endpoint base named by a 308's ``Location``: scheme + host (+ any path prefix
    before ``/v1``). Accepts a bare base or a full request URL; a relative ``Location`` is
    resolved against ``current``."""
    parts = urlsplit(urljoin(current, location.strip()))
    path = parts.path
    segments = path.split("/")
    lowered = [s.lower() for s in segments]
    if _VERSION_SEGMENT in lowered:
        path = "/".join(segments[: lowered.index(_VERSION_SEGMENT)])
    return f"{parts.scheme}://{parts.netloc}{path.rstrip('/')}"


@attrs.frozen
class HostPolicy:
    """Which origins the access token may be sent to.

    ``patterns`` are host names (``api.example.com``), wildcard suffixes (``*.kaiza.la``) or full
    origins (``http://127.0.0.1:8080``). Bare hosts and wildcards allow https only; an origin
    allows exactly its scheme, host and port. Matching is case-insensitive.
    """

    patterns: tuple[str, ...]

    @classmethod
    def build(cls, patterns: Iterable[str], *trusted_origins: str) -> HostPolicy:
        cleaned: list[str] = []
        for pattern in [*patterns, *trusted_origins]:
            if not isinstance(pattern, str) or not pattern.strip():
                raise ValidationError(
                    "allowed_hosts", f"entries must be non-empty strings, not {pattern!r}"
                )
            cleaned.append(pattern.strip().lower().rstrip("/"))
        return cls(tuple(cleaned))

    def allows(self, url: str) -> bool:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if not parts.hostname or scheme not in {"http", "https"}:
            return False
        host = parts.hostname.lower()
        port = parts.port or (443 if scheme == "https" else 80)
        for pattern in self.patterns:
            if "://" in pattern:
                allowed = urlsplit(pattern)
                a_scheme = allowed.scheme
                a_port = allowed.port or (443 if a_scheme == "https" else 80)
                if (a_scheme, allowed.hostname, a_port) == (scheme, host, port):
                    return True
            elif scheme == "https" and (
                host == pattern or (pattern.startswith("*.") and host.endswith(pattern[1:]))
            ):
                return True
        return False
