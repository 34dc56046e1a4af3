"""One scope's budget (a connector, a tenant): an even schedule of grants, and the ledger of
its calls' brackets (``_ledger``) that carries the guarantee. Pure bookkeeping: times come from
the caller. ``Rate`` lives here too, as the one thing every pacing module shares."""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import attrs

from ._errors import ValidationError
from ._ledger import CallLedger

__all__ = ["Budget", "Rate"]


def _check_rate(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    del instance
    if attribute.name == "limit" and (
        isinstance(value, bool) or not isinstance(value, int) or value < 1
    ):
        raise ValidationError("limit", f"must be a positive whole number of calls, not {value!r}")
    if attribute.name == "period" and (
        not isinstance(value, float) or not math.isfinite(value) or value <= 0
    ):
        raise ValidationError("period", f"must be a positive number of seconds, not {value!r}")


def _as_float(value: Any) -> Any:
    """Numbers become floats; anything else is left for the validator to refuse by name."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value


@attrs.frozen
class Rate:
    """``limit`` calls per ``period`` seconds, e.g. ``Rate(100, 60.0)``."""

    limit: int = attrs.field(validator=_check_rate)
    period: float = attrs.field(converter=_as_float, validator=_check_rate)

    @property
    def per_second(self) -> float:
        """The rate as calls per second."""
        return self.limit / self.period


class Budget:
    """One scope's budget: an even schedule of grants and, unless ``exact=False``, the ledger of
    its calls' brackets that makes the window guarantee independent of delays (``_ledger``).
    Pure bookkeeping: times come from the caller."""

    __slots__ = (
        "_log", "_paced", "burst", "ends_matter", "hold", "ledger", "limit", "pause_until", "spacing",
        "tolerance", "window",
    )  # fmt: skip

    def __init__(
        self, rate: Rate | None, *, jitter: float, burst: int, precharge: bool, now: float,
        exact: bool = True,
    ) -> None:  # fmt: skip
        self.pause_until = -math.inf
        #: max(pause_until, the schedule's next slot), kept until a grant, a pause or a seed
        #: changes it (the dispatcher asks every queued lane's budget on every dispatch).
        self._paced: float | None = None
        self.ledger: CallLedger | None = None
        #: Whether a call's end may bring the next grant forward: the ledger bound the last
        #: ready time asked for (or a grant or a seed came since). When not, an end changes no
        #: ready time and the dispatcher need not look again (see ``ready_at``).
        self.ends_matter = False
        self.hold = 0.0
        if rate is None:
            self.limit = 0
            self.window = self.spacing = self.tolerance = 0.0
            self.burst = 1
            self._log: deque[float] = deque(maxlen=1)
            return
        self.limit = rate.limit
        self.window = rate.period + jitter
        self.spacing = self.window / rate.limit
        self.burst = min(burst, rate.limit)
        self._log = deque(maxlen=rate.limit if self.burst > 1 else 1)
        if precharge:
            self._log.extend([now] * self.burst)
        if exact:
            # The ledger carries the guarantee; the schedule only keeps the pace even, so a grant
            # up to half a spacing late keeps its place and loop latency costs no rate.
            self.ledger = CallLedger(rate.limit, rate.period)
            self.ends_matter = True
            self.hold = rate.period
            self.tolerance = 0.5 * self.spacing
        else:
            # The schedule carries the guarantee (a shared tenant's fallback): a tenth of the
            # jitter allowance for loop latency, the rest for the network (see ``charge``).
            self.tolerance = 0.1 * jitter

    def ready_at(self, now: float) -> float:
        """The earliest time the next grant may happen (``inf``: once a call ends)."""
        ready = self._paced
        if ready is None:
            ready = self._paced = max(self.pause_until, self._scheduled())
        if self.ledger is not None:
            # The ledger's ready time only moves earlier with an end, and later with a grant:
            # below the schedule's now, an end cannot move this budget's ready time at all.
            bound = self.ledger.ready_at(now)
            self.ends_matter = bound > ready
            ready = max(ready, bound)
        return ready

    def _scheduled(self) -> float:
        ready = -math.inf
        if self.limit == 0:
            return ready
        log, burst = self._log, self.burst
        if len(log) >= burst:
            ready = max(ready, log[-burst] + burst * self.spacing)
        if burst > 1 and len(log) >= self.limit:
            ready = max(ready, log[0] + self.window)
        return ready

    def charge(self, when: float) -> None:
        """Book a grant made at ``when``.

        A grant late by at most ``tolerance`` (the loop woke a little after the timer) is booked
        at its scheduled time. Actual calls then lie within ``tolerance`` after an evenly spaced
        schedule of ``(T + J) / N``, so any N + 1 of them span at least ``T + J - tolerance``:
        the remaining 0.9 J still absorbs network delay.
        """
        if self.limit:
            scheduled = self._scheduled()
            if scheduled < when <= scheduled + self.tolerance:
                when = scheduled
            self._log.append(when)
            self._paced = None
            if self.ledger is not None:
                self.ledger.start()
                self.ends_matter = True  # until the next ready_at says otherwise

    def seed(self, ends: list[float]) -> None:
        """Calls an earlier process made that ended at ``ends`` (loop time): counted in the
        ledger. Knowing them, a budget that has granted nothing yet drops its pre-charge."""
        if self.ledger is None:
            return
        self.ends_matter = True
        self.ledger.seed(ends)
        if self.ledger.in_flight == 0 and len(self.ledger.ends()) == len(ends):
            self._log.clear()  # nothing granted here yet: the pre-charge was only a guess
            self._paced = None

    def recent_ends(self) -> list[float]:
        """Ends of the recent calls (loop time), oldest first."""
        return self.ledger.ends() if self.ledger is not None else []

    def finish(self, at: float, *, abandoned: bool = False) -> None:
        """A call granted by this budget ended at ``at``; ``abandoned``: without an answer, so it
        may still reach the server, and is held for one more period."""
        if self.ledger is not None:
            self.ledger.end(at + self.hold if abandoned else at)

    def pause(self, deadline: float) -> None:
        # A deadline, not a flag: the later one wins and nothing can end a pause early.
        self.pause_until = max(self.pause_until, deadline)
        self._paced = None

    def take(self, lane: object, now: float) -> bool:
        """A local budget that is ready is always ready (for any lane: it knows none)."""
        del lane, now
        return True

    def preferred(self) -> None:
        """No booking belongs to a lane here (see ``SharedTenant.preferred``)."""
        return
