"""What every route shares: the parsed request, the error answer, and the service's leniencies."""

from __future__ import annotations

import json
import re
from typing import Any

import attrs

__all__ = [
    "BAD_CONNECTOR",
    "INVALID_TOKEN",
    "MOBILE",
    "Answer",
    "HTTPError",
    "Request",
    "bad",
    "not_found",
    "numbers",
    "ok",
    "too_many",
    "truthy",
]

#: (status, JSON payload or None, extra headers).
Answer = tuple[int, Any, dict[str, str]]

INVALID_TOKEN = {
    "message": "Invalid token. Failure reason:Token validation failed due to unknown reason!",
    "errorCode": "InvalidToken",
    "errorCategoryKey": "AuthException",
}
BAD_CONNECTOR = {
    "message": "Dont have correct applicationId and secret in header!",
    "errorCode": "Unauthenticated",
    "errorCategoryKey": "AuthException",
}
MOBILE = re.compile(r"^\+[1-9][0-9]{6,14}\Z")


class HTTPError(Exception):
    """An error answer: raised by a handler, turned into the response by the app."""

    def __init__(
        self, status: int, body: dict[str, str] | None, headers: dict[str, str] | None = None
    ):
        self.status = status
        self.body = body
        self.headers = headers or {}


def ok(payload: Any) -> Answer:
    return 200, payload, {}


def bad(message: str) -> HTTPError:
    return HTTPError(
        400,
        {"message": message, "errorCode": "InvalidParameters", "errorCategoryKey": "Validation"},
    )


def not_found(what: str) -> HTTPError:
    return HTTPError(
        404,
        {"message": f"{what} not found", "errorCode": "NotFound", "errorCategoryKey": "Resource"},
    )


def too_many() -> dict[str, str]:
    return {
        "message": "Too many requests",
        "errorCode": "TooManyRequests",
        "errorCategoryKey": "Throttling",
    }


def truthy(value: Any) -> bool:
    """Booleans arrive as JSON booleans or as "true"/"false" strings (API reference leniency)."""
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def numbers(data: dict[str, Any], key: str) -> list[str]:
    value = data.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise bad(f"{key} must be a non-empty list of phone numbers")
    return value


def _lower(value: Any) -> Any:
    """Request keys matched case-insensitively (API reference: the service's binder was)."""
    if isinstance(value, dict):
        return {str(k).lower(): _lower(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lower(v) for v in value]
    return value


_UNQUOTED_KEY = re.compile(r"([{,]\s*)([A-Za-z_][A-Za-z0-9_]*)\s*:")


def _relaxed_json(raw: bytes) -> Any:
    """The Postman collection's relaxed JSON: unquoted or single-quoted keys (API reference: accepted)."""
    text = raw.decode("utf-8", "replace")
    text = re.sub(r"'([^'\\]*)'", lambda m: json.dumps(m.group(1)), text)
    text = _UNQUOTED_KEY.sub(lambda m: f'{m.group(1)}"{m.group(2)}":', text)
    try:
        return json.loads(text)
    except ValueError:
        raise bad("the body is not JSON") from None


@attrs.define
class Request:
    method: str
    path: str  # without the endpoint prefix
    headers: dict[str, str]
    query: dict[str, str]
    body: bytes
    #: Filled in by the app once known: the route's id and the calling connector (call log).
    route_id: str | None = None
    application_id: str | None = None

    def json(self) -> dict[str, Any]:
        """The body as a JSON object with lower-cased keys (strict or relaxed JSON)."""
        if not self.body:
            return {}
        try:
            data = json.loads(self.body)
        except ValueError:
            data = _relaxed_json(self.body)
        if not isinstance(data, dict):
            raise bad("the body must be a JSON object")
        return _lower(data)  # type: ignore[no-any-return]
