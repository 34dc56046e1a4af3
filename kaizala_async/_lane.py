"""A connector's lane at its tenant's dispatcher (DESIGN §4).

The pacing stack reads bottom-up: `Rate` and `CallLedger` (``_ledger``), `Budget`
(``_budget``), the lane (here), the tenant shared by processes (``_shared_tenant``) and the
dispatcher that serves the lanes (``_ratelimit``). Each module imports only the ones below it.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import math
from collections import deque
from typing import TypeVar

from ._budget import Budget, Rate
from ._eventloop import Waiter

__all__ = ["Lane", "LaneOrder"]

#: Timer wake-ups may run this much before their deadline (asyncio's clock resolution).
EPS = 1e-6


class Lane:
    """One connector's queue of waiters at its tenant's dispatcher, with the connector's own
    budget and the sequence number of its last grant (least recently served wins ties)."""

    __slots__ = (
        "ahead", "budget", "connector_id", "granted", "jitter", "mark", "queue", "rate", "served",
        "state",
    )  # fmt: skip

    def __init__(
        self, budget: Budget, rate: Rate | None, jitter: float, connector_id: str | None
    ) -> None:
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
        #: Where `LaneOrder` keeps the lane (_OUT, _LATER, _READY), and the mark its one valid
        #: heap entry carries (older entries are skipped when they surface).
        self.state = _OUT
        self.mark = 0

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


_OUT, _LATER, _READY = 0, 1, 2
_K = TypeVar("_K", int, float)  # a heap's key: a ready time, or a last grant
#: Entries the later heap holds at least before obsolete ones are swept out.
_COMPACT_AT = 64


class LaneOrder:
    """The lanes of one tenant that have waiters, in the order the dispatcher serves them.

    The lane served next is the one whose own budget is ready first, and among the lanes ready
    now the least recently served (round-robin when the tenant's budget is what binds). Two heaps
    keep that order: lanes not ready yet by their ready time, lanes ready now by their last
    grant. A lane is placed when it gains its first waiter, is granted, or a call of its ends
    (the only events that move its ready time), so a grant costs O(log lanes) and never a pass
    over every lane; entries a later placement made obsolete are skipped when they surface.
    """

    __slots__ = ("_count", "_later", "_ready", "_room")

    def __init__(self) -> None:
        self._later: list[tuple[float, int, Lane]] = []  # (ready at, tie-break, lane)
        self._ready: list[tuple[int, int, Lane]] = []  # (served, tie-break, lane)
        self._count = itertools.count()
        self._room = _COMPACT_AT  # entries the later heap may hold before it is compacted

    def place(self, lane: Lane, now: float) -> None:
        """(Re)place ``lane``: it gained a waiter, was granted, or a call of its ended."""
        lane.mark = mark = next(self._count)
        if not lane.queue:
            lane.state = _OUT
            return
        lane.state = _LATER
        heapq.heappush(self._later, (lane.budget.ready_at(now), mark, lane))
        if len(self._later) > self._room:
            self._compact()

    def _compact(self) -> None:
        """Drop the entries later placements made obsolete. They leave a heap only when they
        reach its top, and one placed at ``inf`` (no room before a call ends) may never get
        there: a client living for weeks would pile them up. The heap is swept once it holds
        twice what the last sweep left (64 entries at least): O(1) amortised per placement."""
        self._later = [entry for entry in self._later if entry[1] == entry[2].mark]
        heapq.heapify(self._later)
        self._room = max(_COMPACT_AT, 2 * len(self._later))

    def waiting(self, lane: Lane, now: float) -> bool:
        """``lane`` gained a waiter: placed if it was not. Whether it was placed now (a lane
        already placed keeps its place: another waiter changes nothing in the order)."""
        if lane.state == _OUT:
            self.place(lane, now)
            return True
        return False

    def ended(self, lane: Lane, now: float) -> None:
        """A call of ``lane`` ended: its ready time may be earlier now."""
        if lane.state == _LATER:
            self.place(lane, now)

    def remove(self, lane: Lane) -> None:
        lane.mark, lane.state = next(self._count), _OUT

    def next(self, now: float) -> tuple[float, Lane | None]:
        """The lane to serve next and the earliest time its own budget allows it (``inf``: not
        before a call ends); ``(inf, None)`` when no lane has a waiter."""
        later, ready = self._later, self._ready
        while later and later[0][0] <= now + EPS:
            _, mark, lane = heapq.heappop(later)
            if mark == lane.mark:
                lane.state = _READY
                heapq.heappush(ready, (lane.served, mark, lane))
        while (top := self._top(ready)) is not None:
            lane = top[2]
            at = lane.budget.ready_at(now)
            if at <= now + EPS:
                return at, lane
            heapq.heappop(ready)  # not ready after all: back among the later ones
            self.place(lane, now)
        found = self._top(later)
        return (math.inf, None) if found is None else (found[0], found[2])

    def _top(self, heap: list[tuple[_K, int, Lane]]) -> tuple[_K, int, Lane] | None:
        """``heap``'s first entry still valid; obsolete entries, and lanes whose waiters all
        gave up, are dropped on the way."""
        while heap:
            entry = heap[0]
            _, mark, lane = entry
            if mark == lane.mark and _live(lane):
                return entry
            heapq.heappop(heap)
            if mark == lane.mark:
                self.remove(lane)
        return None


def _live(lane: Lane) -> bool:
    """Whether ``lane`` has a waiter still waiting (those cancelled meanwhile are dropped)."""
    queue = lane.queue
    while queue and queue[0].done():
        lane.pop()
    return bool(queue)
