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

No assumption about network delay or event-loop lateness enters: a late loop only makes the
recorded grant earlier than the real send and the recorded end later than the real answer, which
widens each bracket. The price is the calls in flight: an evenly loaded scope runs at about
``(N - 1 - in_flight) / T``.
"""

from __future__ import annotations

import bisect
import math
from typing import Final

__all__ = ["CallLedger"]

#: Added to computed times so that float rounding never lands a call on a window's edge.
_MARGIN: Final = 1e-6
#: Counting boundaries are widened by this much, so that an end exactly one period before a
#: boundary (``b - T`` rounded up past it) is still counted: counting more is the safe side.
_SLACK: Final = 1e-7


class CallLedger:
    """The recent calls of one scope: ends (sorted) and the number in flight."""

    __slots__ = ("_ends", "_horizon", "_ready", "in_flight", "limit", "period")

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period
        self.in_flight = 0
        self._ends: list[float] = []
        self._ready: float | None = None  # cached answer of ready_at; None when stale
        self._horizon = -math.inf  # ends before it are forgotten (some may still be listed)

    def start(self) -> None:
        """A call was granted (it now may be seen by the server at any time until it ends)."""
        self.in_flight += 1
        self._ready = None

    def end(self, at: float) -> None:
        """A call granted earlier ended at ``at`` (its answer or failure came back)."""
        if self.in_flight > 0:
            self.in_flight -= 1
        ends = self._ends
        if not ends or at >= ends[-1]:
            ends.append(at)
        else:
            bisect.insort(ends, at)
        self._ready = None

    def ends(self) -> list[float]:
        """The recorded ends (sorted), for handing on to the next process."""
        return self._ends[bisect.bisect_left(self._ends, self._horizon) :]

    def ready_at(self, now: float) -> float:
        """The earliest time a new call may be granted (``inf``: not before a call ends)."""
        if self._ready is None:
            self._ready = self._compute(now)
        return self._ready

    def _compute(self, now: float) -> float:
        limit, period, in_flight = self.limit, self.period, self.in_flight
        ends = self._ends
        # Ends older than 2T can bound no boundary in (g - T, g] for any g >= now, and nothing
        # below counts them (every boundary and every count starts past them). They are
        # dropped in batches, once they are half the list: deleting the front of a list moves
        # all the rest, and a budget of a high limit holds many ends.
        horizon = self._horizon = now - 2 * period
        if ends and ends[0] < horizon:
            stale = bisect.bisect_left(ends, horizon)
            if 2 * stale >= len(ends):
                del ends[:stale]
        n = len(ends)
        room = limit - in_flight - 1  # recorded ends the window before g may still hold
        if room < 0:
            return math.inf
        if n <= room:
            return -math.inf  # even all of them at weight 1 leave room
        # The boundary at g itself: at most `room` ends in [g - T, g).
        ready = ends[n - room - 1] + period + _MARGIN
        # Every other boundary b: C = calls seen at or after b (in flight, the new one, ends >= b),
        # P = ends in [b - T, b); E = C + P * (b + T - g) / T <= limit gives g >= g_b. The
        # boundaries are the ends and the ends plus T above `lowest` (lower ones are out of range
        # for every g >= now); each family is walked upwards with two cursors.
        lowest = now - period
        fixed = in_flight + 1 + n  # C = fixed - (index of the first end >= b)
        for shift in (0.0, period):
            i = bisect.bisect_right(ends, lowest - shift)
            first = bisect.bisect_left(ends, ends[i] + shift - _SLACK) if i < n else n
            older = bisect.bisect_left(ends, ends[i] + shift - period - _SLACK) if i < n else n
            for k in range(i, n):
                b = ends[k] + shift
                while first < n and ends[first] < b - _SLACK:
                    first += 1
                while older < n and ends[older] < b - period - _SLACK:
                    older += 1
                count = fixed - first
                if count > limit:
                    g = b + period
                else:
                    before = first - older
                    if before == 0:
                        continue
                    g = b + period - period * (limit - count) / before
                    if g <= b:
                        # A call granted before b is seen at b at the earliest, where all of
                        # `before` weigh 1: C + P <= limit then, so b never binds.
                        continue
                if g > ready:
                    ready = g + _MARGIN
        return ready
