"""When a scope's next call may start so that no counting method the service may use refuses it.

The client never knows when the server counts a call. It knows a bracket: the server sees a call
at some instant after its slot was granted and before its answer (or failure) came back. A
`CallLedger` keeps, for one scope (a connector or a tenant), the end of every recent call
and the number still in flight, and answers the earliest time a new call may start such that,
*wherever in its bracket each call lands*:

* the unfloored sliding-window counter accepts every call, for every alignment of its windows
  (the strictest of the usual methods: for a boundary ``b`` and a call seen at ``t`` in
  ``[b, b + T)``, the count of the window before ``b`` weighted by ``1 - (t - b) / T`` plus the
  count since ``b`` must stay at most ``N``);
* and hence at most ``N`` calls fall in any window of length ``T`` (the sliding log; the weighted
  count with ``t = b`` is exactly that window), which a fixed window, a token bucket of capacity
  ``N`` and GCRA with a burst of ``N`` also accept.

How: for a new call granted at ``g`` (it may be seen at any ``t >= g``), a boundary ``b`` in
``(g - T, g]`` is worst when every call that may be seen at or after ``b`` is (an in-flight call,
or one that ended at or after ``b``: weight 1) and every call that ended in ``[b - T, b)`` is
counted in the previous window (weight ``(b + T - g) / T`` at ``t = g``). Between the ends of
calls (and those ends plus ``T``) the worst count only grows with ``b``, so checking ``b`` at
those points and at ``g`` itself is exact. Each point gives the earliest ``g`` it allows in closed
form; the answer is the latest of them.

A call abandoned without an answer (a timeout, a cancellation) may still be on its way: it is
held as if it ended ``hold`` seconds after it was abandoned.

Cost: each boundary's bound is a line in one number, ``x`` = calls in flight + ends ever
recorded (``x`` never falls: a grant adds one, an end moves a call from one to the other). A
boundary's line matters for a range of ``x`` of its own (past it, the boundary cannot bind or
the sliding log already holds the call back longer), and boundaries with the same count of
earlier calls share a slope. Kept by slope, in the order they were made, the lines leave and
join each range in that order, so the best of each slope is the front of a queue: an answer
costs one step per slope in use (one or two when calls are evenly paced) and a few for the
newest ends, not one per end. An end recorded out of order (a call held after it was abandoned)
rebuilds the lines once, from the sorted ends.

No assumption about network delay or event-loop lateness enters: a late loop only makes the
recorded grant earlier than the real send and the recorded end later than the real answer, which
widens each bracket. The price is the calls in flight: an evenly loaded scope runs at about
``(N - 1 - in_flight) / T``.
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections import deque
from typing import Final

__all__ = ["CallLedger"]

#: Added to computed times so that float rounding never lands a call on a window's edge.
_MARGIN: Final = 1e-6
#: Counting boundaries are widened by this much, so that an end exactly one period before a
#: boundary (``b - T`` rounded up past it) is still counted: counting more is the safe side.
_SLACK: Final = 1e-7


class _Slope:
    """The boundary lines of one family (boundaries at ends, or at ends + T) and one count of
    earlier calls ``P``, in the order they were made: a line is ``(c, b)``, its bound
    ``b + T - T (c - x) / P``, and it matters while ``c - P < x <= c`` and ``b`` is in range.
    Lines are made with ``c`` and ``b`` never falling, so they join (``pending`` to ``active``)
    and leave in that order; ``active`` keeps only lines no later one beats (its front is the
    best)."""

    __slots__ = ("active", "family", "live", "pending", "size")

    def __init__(self, family: int, size: int) -> None:
        self.family = family
        self.size = size
        self.live = False  # asked on every answer (else waiting for its first line to join)
        self.pending: deque[tuple[int, float]] = deque()
        self.active: deque[tuple[int, float]] = deque()

    def best(self, x: int, lowest: float, period: float) -> float:
        """The latest bound of this slope's lines at ``x`` (``-inf``: none matters)."""
        size, pending, active = self.size, self.pending, self.active
        while pending and pending[0][0] - size < x:
            c, b = pending.popleft()
            if c < x or b <= lowest:
                continue  # it left its range before it was asked for
            # Same slope: the later line beats an earlier one at every x, and leaves after it.
            while active and b - active[-1][1] >= period * (c - active[-1][0]) / size:
                active.pop()
            active.append((c, b))
        while active and (active[0][0] < x or active[0][1] <= lowest):
            active.popleft()
        while pending and pending[0][1] <= lowest:  # out of range before they ever join
            pending.popleft()
        if not active:
            return -math.inf
        c, b = active[0]
        return b + period - period * (c - x) / size


class _Lines:
    """Every slope's lines. Only the slopes with a line in its range are asked (``live``); the
    others wait in a heap keyed by the ``x`` at which their first line joins, so slopes of
    lines that cannot matter yet (a window filling up leaves one per count) cost nothing."""

    __slots__ = ("_live", "_seq", "_slopes", "_waiting")

    def __init__(self) -> None:
        self._slopes: dict[tuple[int, int], _Slope] = {}
        self._live: list[_Slope] = []
        self._waiting: list[tuple[int, int, _Slope]] = []  # (x it joins past, tie-break, slope)
        self._seq = 0

    def add(self, family: int, size: int, c: int, b: float) -> None:
        slope = self._slopes.get((family, size))
        if slope is None:
            slope = self._slopes[(family, size)] = _Slope(family, size)
        if not slope.live and not slope.pending:
            self._wait(slope, c - size)
        slope.pending.append((c, b))

    def best(self, x: int, lowest: float, period: float) -> float:
        """The latest bound of every line in its range at ``x``."""
        waiting, live = self._waiting, self._live
        while waiting and waiting[0][0] < x:
            joining = heapq.heappop(waiting)[2]
            joining.live = True
            live.append(joining)
        best = -math.inf
        kept = []
        for slope in live:
            best = max(best, slope.best(x, lowest, period))
            if slope.active:
                kept.append(slope)
                continue
            slope.live = False
            if slope.pending:
                self._wait(slope, slope.pending[0][0] - slope.size)
            else:
                del self._slopes[(slope.family, slope.size)]
        self._live = kept
        return best

    def _wait(self, slope: _Slope, joins_past: int) -> None:
        self._seq += 1
        heapq.heappush(self._waiting, (joins_past, self._seq, slope))


class CallLedger:
    """The recent calls of one scope: ends (sorted) and the number in flight."""

    __slots__ = (
        "_bound", "_dropped", "_ends", "_horizon", "_lines", "_made", "_ready", "_unsettled",
        "in_flight", "limit", "period",
    )  # fmt: skip

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period
        self.in_flight = 0
        self._ends: list[float] = []
        self._ready: float | None = None  # cached answer of ready_at; None when stale
        self._bound = False  # `_ready` is only an upper bound: calls ended since it was made
        self._horizon = -math.inf  # ends before it are forgotten (some may still be listed)
        #: The boundary lines; None: make them again (an end came out of order).
        self._lines: _Lines | None = _Lines()
        self._dropped = 0  # ends forgotten from the front: absolute index = list index + this
        self._made = 0  # ends (list index) whose lines are made
        self._unsettled = 0  # first end (list index) with no end yet at or past its end + T

    def start(self) -> None:
        """A call was granted (it now may be seen by the server at any time until it ends)."""
        self.in_flight += 1
        self._ready = None

    def end(self, at: float) -> None:
        """A call granted earlier ended at ``at`` (its answer or failure came back)."""
        if self.in_flight > 0:
            self.in_flight -= 1
            # A call that ends counts for no more than it did in flight (weight 1 at every
            # boundary): the last answer stays an upper bound of the next one.
            self._bound = True
        else:
            self._ready = None  # an end of no call in flight (a seeded one) only adds
        ends = self._ends
        if not ends or at >= ends[-1]:
            ends.append(at)
        else:
            bisect.insort(ends, at)
            self._lines = None  # the lines assume ends come in order: made again once

    def seed(self, ends: list[float]) -> None:
        """Count calls made elsewhere (another process of this scope) that ended at ``ends``."""
        for end in sorted(ends):
            self.start()
            self.end(end)

    def ends(self) -> list[float]:
        """The recorded ends (sorted), for handing on to the next process."""
        return self._ends[bisect.bisect_left(self._ends, self._horizon) :]

    def ready_at(self, now: float) -> float:
        """The earliest time a new call may be granted (``inf``: not before a call ends).

        Any answer at or before ``now`` means "now": once an answer is, the calls that end
        after it (which only bring the next answer earlier) need no new one. A scope that does
        not bind thus answers once a call, not once per grant and once per end."""
        ready = self._ready
        if ready is None or (self._bound and ready > now):
            ready = self._ready = self._compute(now)
            self._bound = False
        return ready

    def _compute(self, now: float) -> float:
        limit, period, in_flight = self.limit, self.period, self.in_flight
        ends = self._ends
        # Ends older than 2T can bound no boundary in (g - T, g] for any g >= now, and nothing
        # below counts them (every boundary and every count starts past them). They are
        # dropped in batches, once they are half the list: deleting the front of a list moves
        # all the rest, and a budget of a high limit holds many ends.
        horizon = self._horizon = now - 2 * period
        stale = 0
        if ends and ends[0] < horizon:
            stale = bisect.bisect_left(ends, horizon)
            if 2 * stale >= len(ends):
                del ends[:stale]
                self._dropped += stale
                self._made = max(0, self._made - stale)
                self._unsettled = max(0, self._unsettled - stale)
                stale = 0
        n = len(ends)
        room = limit - in_flight - 1  # recorded ends the window before g may still hold
        if room < 0:
            return math.inf
        if n - stale <= room:
            # Even all the recent ends at weight 1 leave room (the forgotten ones count
            # nowhere): a scope that never binds, such as a tenant of one connector, answers
            # here and makes no line.
            return -math.inf
        # The boundary at g itself needs no term of its own: when more than `room` ends lie in
        # [g - T, g), the boundary at the first of them + T (C >= in flight + 1, P > room) holds
        # g back further.
        # Every boundary b: C = calls seen at or after b (in flight, the new one, ends >= b),
        # P = ends in [b - T, b); E = C + P * (b + T - g) / T <= limit gives g >= g_b, and
        # C = x + 1 - f, where f is the index of the first end >= b. Boundaries are the ends and
        # the ends plus T above `lowest` (lower ones are out of range for every g >= now).
        if self._lines is None:
            self._lines = _Lines()
            self._made = self._unsettled = 0
        while self._made < n:
            self._make(self._made)
            self._made += 1
        x = in_flight + n + self._dropped
        lowest = now - period
        best = self._lines.best(x, lowest, period)
        # Boundaries at ends + T with no end at or past them yet: C = in flight + 1, and P = the
        # ends from it on. They bind only while P > room, so only the few oldest of them count.
        k = max(self._unsettled, bisect.bisect_right(ends, lowest - period))
        while k < n:
            older = bisect.bisect_left(ends, ends[k] - _SLACK, 0, k + 1)
            if older >= n - room:
                break  # P <= room here and for every later end
            best = max(best, ends[k] + 2 * period - period * room / (n - older))
            k += 1
        return best + _MARGIN

    def _make(self, i: int) -> None:
        """Make the lines the end at list index ``i`` brings (ends before it are made)."""
        ends, period, lines = self._ends, self.period, self._lines
        assert lines is not None
        e, top = ends[i], self.limit - 1 + self._dropped
        # Boundaries at earlier ends + T that this end is the first at or past: f = i.
        k = self._unsettled
        while k < i and ends[k] + period - _SLACK <= e:
            older = bisect.bisect_left(ends, ends[k] - _SLACK, 0, k + 1)
            lines.add(1, i - older, top + i, ends[k] + period)
            k += 1
        self._unsettled = k
        # The boundary at this end: f = the first end >= e, o = the first end >= e - T.
        first = bisect.bisect_left(ends, e - _SLACK, 0, i + 1)
        older = bisect.bisect_left(ends, e - period - _SLACK, 0, i + 1)
        if first > older:
            lines.add(0, first - older, top + first, e)
