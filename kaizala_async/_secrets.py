"""Secret values that never show themselves, and a logging filter that redacts them."""

from __future__ import annotations

import hmac
import logging
import re
import weakref
from typing import Final

from ._constants import SECRET_HEADERS

__all__ = ["REDACTED", "Secret", "SecretsFilter", "install_log_redaction"]

REDACTED: Final = "***"


class Secret:
    """A string that is never shown by ``repr``, ``str`` or ``format``.

    Call `reveal` at the one place that must send the value. Equality is constant-time.
    """

    __slots__ = ("__weakref__", "_value")

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("a secret must be a string")
        self._value = value
        _KNOWN[id(self)] = self

    def reveal(self) -> str:
        """The secret value itself. Never log or print it."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({REDACTED!r})"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("secrets are not picklable")


#: Every live Secret, so the filter can scrub their values wherever they appear. Keyed by
#: identity: a set would keep only the first of two equal secrets (a token re-issued with the
#: same value), and forget the value once that first one is gone while the second lives on.
_KNOWN: weakref.WeakValueDictionary[int, Secret] = weakref.WeakValueDictionary()

_HEADER_RE = re.compile(
    r"(?P<key>(?:" + "|".join(re.escape(h) for h in sorted(SECRET_HEADERS)) + r")['\"]?\s*[:=]\s*"
    r"(?:b?['\"])?)(?:Bearer\s+)?(?P<value>[^\s'\",}\]]+)",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """``text`` with known secret values and secret-header values replaced by ``***``.

    Every occurrence of every live secret is found in the original text first and overlapping
    ones are merged, so a secret that contains (or overlaps) another is hidden whole: replacing
    one value at a time would leave the rest of the longer one around the first ``***``.
    Secret headers go first: a live secret that happens to spell part of a header's name
    (``refresh``) must not hide the name from the pattern and leave the value shown.
    """
    text = _HEADER_RE.sub(lambda m: m.group("key") + REDACTED, text)
    spans: list[tuple[int, int]] = []
    # Shorter values are too short to tell from ordinary text.
    for value in {v for v in (s.reveal() for s in list(_KNOWN.values())) if len(v) >= 4}:
        start = text.find(value)
        while start >= 0:
            spans.append((start, start + len(value)))
            start = text.find(value, start + 1)
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:  # overlaps or touches the one before
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    for start, end in reversed(merged):  # from the end, so earlier offsets stay valid
        text = text[:start] + REDACTED + text[end:]
    return text


class SecretsFilter(logging.Filter):
    """Rewrites each record so no secret header value or known secret appears in it.

    Installed on the ``kaizala_async``, ``httpx`` and ``httpcore`` loggers by every client;
    add it to your own handlers too if you log requests yourself.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken record is the logging module's business, not ours
            return True
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg = cleaned
            record.args = None
        if record.exc_info and not record.exc_text:
            # Formatted once here, redacted; formatters use exc_text when it is set.
            record.exc_text = redact(_FORMATTER.formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


_LOGGERS: Final = (
    "kaizala_async",
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
)
_FILTER: Final = SecretsFilter()
_OURS: Final = "kaizala_async."


_FORMATTER: Final = logging.Formatter()


def install_log_redaction() -> None:
    """Attach the shared `SecretsFilter` to the SDK's and httpx's loggers (idempotent).

    A logger's filters see only the records made on that very logger, not its children's, so
    the filter goes on every logger of the SDK (``kaizala_async.transport``, ``.auth``, ...).
    """
    names = {*_LOGGERS, *(n for n in logging.root.manager.loggerDict if n.startswith(_OURS))}
    for name in names:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
