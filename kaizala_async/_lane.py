"""A connector's lane at its tenant's dispatcher (DESIGN §4).

The pacing stack reads bottom-up: `Rate` and `CallLedger` (``_ledger``), `Budget`
(``_budget``), the lane (here), the tenant shared by processes (``_shared_tenant``) and the
dispatcher that serves the lanes (``_ratelimit``). Each module imports only the ones below it.
"""

from __future__ import annotations

import contextlib
from collections import deque

from ._budget import Budget, Rate
from ._eventloop import Waiter

__all__ = ["Lane"]


class Lane:
    """One connector's queue of waiters at its tenant's dispatcher, with the connector's own
    budget and the sequence number of its last grant (least recently served wins ties)."""

    __slots__ = ("ahead", "budget", "connector_id", "granted", "jitter", "queue", "rate", "served")

    def __init__(
        self, budget: Budget, rate: Rate | None = None, jitter: float = 0.0,
        connector_id: str | None = None,
    ) -> None:  # fmt: skip
        self.budget = budget
        self.rate = rate
        self.jitter = jitter
        self.connector_id = connector_id
        self.queue: deque[Waiter[float]] = deque()
        #: How many of the queue's first waiters jumped it (``first=True``): they keep their
        #: own order, so several resends (or calls whose token went stale) go in turn.
        self.ahead = 0
        self.served = 0  # dispatch sequence number of the last grant (round-robin on ties)
        self.granted = 0

    def enqueue(self, future: Waiter[float], *, first: bool) -> None:
        if first:
            self.queue.insert(self.ahead, future)
            self.ahead += 1
        else:
            self.queue.append(future)

    def pop(self) -> Waiter[float]:
        self.ahead = max(0, self.ahead - 1)
        return self.queue.popleft()

    def drop(self, future: Waiter[float]) -> None:
        """Take a waiter that gave up out of the queue (if it is still there)."""
        with contextlib.suppress(ValueError):
            index = self.queue.index(future)
            del self.queue[index]
            if index < self.ahead:
                self.ahead -= 1
