"""Input checks run before any request: each raises `ValidationError` naming the argument."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from datetime import datetime
from urllib.parse import quote, unquote

from ._constants import MAX_RETRIES_LIMIT, MAX_RETRY_AFTER_LIMIT
from ._converter import epoch_ms
from ._errors import ValidationError

__all__ = [
    "aware_epoch_ms",
    "check_api_path",
    "check_seconds",
    "optional_seconds",
    "check_bool",
    "check_count",
    "check_id",
    "check_limit",
    "check_text",
    "check_url",
    "has_space_or_control",
    "optional_text",
    "phone_list",
    "segment",
    "validate_mobile_number",
]

_MOBILE_RE = re.compile(r"\+[1-9][0-9]{6,14}")
#: Dot segments: httpx (as any URL library) removes them, so an id "." or ".." would address
#: another resource than the one asked for.
_DOT_SEGMENTS = frozenset({".", ".."})
#: Whitespace and control characters: never part of a URL the service gives out.
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")


def _shown(value: object) -> str:
    return repr(value) if isinstance(value, str) and len(value) <= 32 else type(value).__name__


def validate_mobile_number(value: object, argument: str = "mobile_number") -> str:
    """A mobile number in E.164: ``+``, country code and number, 7 to 15 digits, no spaces."""
    if not isinstance(value, str) or not _MOBILE_RE.fullmatch(value):
        raise ValidationError(
            argument, f"must be an E.164 number such as '+911234567890', not {_shown(value)}"
        )
    return value


def phone_list(
    values: object, argument: str, *, allow_empty: bool = True, most: int | None = None
) -> list[str]:
    """A list of E.164 numbers (a single string is refused: it is almost always a mistake)."""
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise ValidationError(argument, "must be a list of phone numbers, not one string")
    numbers = [validate_mobile_number(v, f"{argument}[{i}]") for i, v in enumerate(values)]
    if not numbers and not allow_empty:
        raise ValidationError(argument, "must hold at least one phone number")
    if most is not None and len(numbers) > most:
        raise ValidationError(argument, f"holds {len(numbers)} numbers; at most {most} are allowed")
    return numbers


def check_id(value: object, argument: str) -> str:
    """Ids are opaque non-empty strings (never checked as GUIDs: the service's are not always),
    but never ``"."`` or ``".."``: as a path segment those address another resource."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(argument, f"must be a non-empty id string, not {_shown(value)}")
    if value in _DOT_SEGMENTS:
        raise ValidationError(argument, f"{value!r} is not an id (it is a relative path step)")
    return value


def segment(value: object, argument: str) -> str:
    """An id checked and escaped as one path segment (``@`` stays as it is, as the samples send it)."""
    return quote(check_id(value, argument), safe="@:+!$'()*,;=")


def check_text(value: object, argument: str, *, most: int | None = None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(argument, "must be a non-empty string")
    if most is not None and len(value) > most:
        raise ValidationError(
            argument, f"is {len(value)} characters long; the service takes at most {most}"
        )
    return value


def optional_text(value: object, argument: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError(argument, f"must be a string, not {type(value).__name__}")
    return value


def check_bool(value: object, argument: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(argument, f"must be True or False, not {_shown(value)}")
    return value


def check_count(value: object, argument: str, *, least: int = 1, most: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ValidationError(argument, f"must be a whole number of at least {least}")
    if most is not None and value > most:
        raise ValidationError(argument, f"must be at most {most}, not {value}")
    return value


def check_retries(value: object, argument: str = "max_retries") -> int:
    """A count of retries: a whole number from 0 to ``MAX_RETRIES_LIMIT``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(argument, f"must be a non-negative whole number, not {value!r}")
    if value > MAX_RETRIES_LIMIT:
        raise ValidationError(argument, f"must be at most {MAX_RETRIES_LIMIT}, not {value}")
    return value


def check_max_retry_after(value: object) -> float:
    """The longest 429 pause a client accepts: 0 to ``MAX_RETRY_AFTER_LIMIT`` seconds (the
    service must not pause a client for days)."""
    seconds = check_seconds(value, "max_retry_after", zero=True)
    if seconds > MAX_RETRY_AFTER_LIMIT:
        raise ValidationError(
            "max_retry_after", f"must be at most {MAX_RETRY_AFTER_LIMIT:g} seconds, not {seconds:g}"
        )
    return seconds


def check_json_body(value: object) -> None:
    """A raw call's JSON body: strict JSON (no NaN or Infinity, nothing JSON cannot hold)."""
    if value is None:
        return
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise ValidationError("json", f"must be strict JSON: {reason}") from None


def check_limit(value: object) -> int | None:
    """``limit=`` of a listing: None (everything) or a positive whole number."""
    if value is None:
        return None
    return check_count(value, "limit")


def aware_epoch_ms(value: object, argument: str) -> int:
    """A timezone-aware ``datetime`` as epoch milliseconds (a naive one is ambiguous)."""
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValidationError(argument, "must be a timezone-aware datetime")
    return epoch_ms(value)


def check_url(value: object, argument: str) -> str:
    """An absolute http(s) URL with a host, and no whitespace or control character anywhere."""
    if (
        not isinstance(value, str)
        or not re.match(r"https?://[^/?#@]+", value)
        or _SPACE_OR_CONTROL.search(value)
    ):
        raise ValidationError(argument, f"must be an http(s) URL, not {_shown(value)}")
    return value


def check_seconds(value: object, argument: str, *, zero: bool = False) -> float:
    """A finite number of seconds, > 0 (or >= 0 with ``zero``)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationError(argument, f"must be a finite number of seconds, not {_shown(value)}")
    if value < 0 or (value == 0 and not zero):
        least = "0 or more" if zero else "more than 0"
        raise ValidationError(argument, f"must be {least} seconds, not {value!r}")
    return float(value)


def optional_seconds(value: object, argument: str) -> float | None:
    """None, or `check_seconds`."""
    return None if value is None else check_seconds(value, argument)


def check_api_path(value: object) -> str:
    """A raw call's path: under ``/v1`` (left out), one segment per step, nothing to smuggle."""
    if not isinstance(value, str) or not value.startswith("/") or value.startswith("/v1/"):
        raise ValidationError(
            "path", f"must start with '/' and leave out '/v1', not {_shown(value)}"
        )
    # Checked as a server may read it: percent-decoded (as often as it decodes to something
    # new: a proxy may decode once more), with a backslash taken for a slash. "%2e%2e" is "..".
    path = value.split("?", 1)[0].split("#", 1)[0]
    for _ in range(4):
        decoded = unquote(path)
        if decoded == path:
            break
        path = decoded
    if (
        _SPACE_OR_CONTROL.search(value)
        or _SPACE_OR_CONTROL.search(path)
        or any(part in _DOT_SEGMENTS for part in path.replace("\\", "/").split("/"))
    ):
        raise ValidationError(
            "path",
            "must not hold whitespace, control characters or '.'/'..' segments "
            "(percent-encoded ones included)",
        )
    return value


def has_space_or_control(text: str) -> bool:
    """Whether ``text`` holds whitespace or a control character (never in a usable URL)."""
    return _SPACE_OR_CONTROL.search(text) is not None
