"""``max_wait``: how long a call may wait for its rate-limit slot, per call, task or client."""

from __future__ import annotations

import contextlib
import contextvars
import math
from collections.abc import Iterator
from typing import Any

from ._errors import ValidationError

__all__ = ["MAX_WAIT", "check_max_wait", "max_wait"]


def check_max_wait(name: str, value: Any) -> float | None:
    """``value`` as a maximum wait in seconds (None: no maximum), or a ValidationError."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ValidationError(name, f"must be None or a number of seconds >= 0, not {value!r}")
    if not math.isfinite(value):
        raise ValidationError(name, f"must be finite (None means no maximum), not {value!r}")
    return float(value)


#: The current task's bound on slot waits (None: the client's; ``inf``: no bound).
MAX_WAIT: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "kaizala_max_wait", default=None
)


@contextlib.contextmanager
def max_wait(seconds: float | None) -> Iterator[None]:
    """Bound the wait for a rate-limit slot of every call made inside the block (this task and
    the tasks it starts), whichever client makes it:

        with max_wait(2.0):
            await client.messages.send(group_id, "Door 3 is open")  # or SlotWaitTimeoutError

    ``None`` lifts the client's ``RateLimits.max_wait`` inside the block. A call that cannot get
    its slot in time raises `SlotWaitTimeoutError`: nothing is sent and
    no slot is used. The bound applies to each wait for a slot (a resend after a 429 waits anew).
    """
    checked = check_max_wait("max_wait", seconds)
    token = MAX_WAIT.set(math.inf if checked is None else checked)
    try:
        yield
    finally:
        MAX_WAIT.reset(token)
