"""Settling an action send whose answer was lost, by reading the group's actions back (C2).

A send that may have reached the service (a lost connection after the request left, a 500)
leaves its target unknown. For an action of a type the service lists (Job, Survey, Poll,
Let's Meet) the fan-out looks in the group for an action of that type with the same title (or
question) sent since the send began: found, the target is sent; not there, the request never
took effect and it is sent once more. Other payloads (text, announcements, media) stay unknown.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from ._models.actions import ActionBody

if TYPE_CHECKING:
    from ._client import KaizalaClient

__all__ = ["SETTLE_DELAY", "find_sent", "settleable"]

#: Which field of each listable action type identifies a send (its C2 summary carries it).
_KEYS = {"Job": "title", "Survey": "title", "Poll": "question", "LetsMeet": "title"}
#: Seconds to let a request that did arrive finish before reading the group back.
SETTLE_DELAY = 2.0
#: Read back from this long before the send began (clocks differ between us and the service).
_MARGIN = timedelta(minutes=10)


def settleable(payload: object) -> bool:
    """Whether a lost send of ``payload`` can be settled by reading the group back."""
    return _key(payload) is not None


def _key(payload: object) -> tuple[str, str, str] | None:
    if not isinstance(payload, ActionBody):
        return None
    kind = type(payload).action_type or ""
    field = _KEYS.get(kind)
    value = getattr(payload, field, None) if field else None
    return (kind, field, value) if field and isinstance(value, str) and value else None


async def find_sent(
    client: KaizalaClient, group_id: str, payload: ActionBody, began: datetime | None
) -> str | None:
    """The reference id of ``payload``'s action in the group if it is there (sent since
    ``began``, or ever when None), else None. Raises what the read raises."""
    key = _key(payload)
    if key is None:
        raise ValueError("this payload cannot be settled")
    kind, field, value = key
    since = (began - _MARGIN) if began is not None else None
    async for summary in client.actions.list(group_id, kind, since=since):
        if getattr(summary.action_body, field) == value:
            return summary.reference_id
    return None


def now() -> datetime:
    return datetime.now(UTC)
