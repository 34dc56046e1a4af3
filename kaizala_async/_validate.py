"""Input checks run before any request: each raises :class:`ValidationError` naming the argument."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from urllib.parse import quote

from ._converter import epoch_ms
from ._errors import ValidationError

__all__ = [
    "aware_epoch_ms",
    "check_bool",
    "check_count",
    "check_id",
    "check_limit",
    "check_text",
    "check_url",
    "optional_text",
    "phone_list",
    "segment",
    "validate_mobile_number",
]

_MOBILE_RE = re.compile(r"^\+[1-9][0-9]{6,14}$")


def _shown(value: object) -> str:
    return repr(value) if isinstance(value, str) and len(value) <= 32 else type(value).__name__


def validate_mobile_number(value: object, argument: str = "mobile_number") -> str:
    """A mobile number in E.164: ``+``, country code and number, 7 to 15 digits, no spaces."""
    if not isinstance(value, str) or not _MOBILE_RE.match(value):
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
    """Ids are opaque non-empty strings (never checked as GUIDs: the service's are not always)."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(argument, f"must be a non-empty id string, not {_shown(value)}")
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
    if not isinstance(value, str) or not re.match(r"^https?://[^\s/]+", value):
        raise ValidationError(argument, f"must be an http(s) URL, not {_shown(value)}")
    return value
