"""Client-side pacing that never trips the service's throttle (DESIGN §4).

The service's counting method is unknown, so the only safe promise is: never more than N calls in
any window of length T *as the server sees them*. Each scope (a connector, a tenant) is a
:class:`_Budget` that, by default, spaces grants (T + J) / N apart, where J is a jitter allowance
covering network delay and the gap between granting and sending. Any N + 1 consecutive grants then
span at least T + J, so whatever delay in [0, J] each call picks up on the way, no window of
length T at the server holds more than N of them, under a fixed window, a sliding log, a
sliding-window counter or a token bucket alike.

Two limiters nested with ``async with`` break this once connectors compete for the tenant. So every
tenant has one :class:`TenantDispatcher`: a FIFO queue per connector ("lane"); the lane whose next
grant is earliest wins (least recently served on ties); both budgets are charged at the same
instant; one waiter is released. Only the dispatcher touches the budgets, and it needs no task of
its own: it runs synchronously whenever a waiter arrives or leaves, and from one timer otherwise.

A 429 pauses the tenant until a monotonic deadline (the later deadline wins; nothing clears it
early) and the rejected call queues first.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import weakref
from collections import deque
from typing import Any, Final

import attrs

from ._constants import (
    DEFAULT_CONNECTOR_LIMIT,
    DEFAULT_CONNECTOR_PERIOD,
    DEFAULT_TENANT_LIMIT,
    DEFAULT_TENANT_PERIOD,
    JITTER_FRACTION,
    JITTER_MAX,
)
from ._errors import ValidationError

__all__ = ["Rate", "RateLimiter", "RateLimits", "TenantDispatcher"]

#: Timer wake-ups may run this much before their deadline (asyncio's clock resolution).
_EPS: Final = 1e-6


def _check_rate(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    del instance
    if attribute.name == "limit" and (not isinstance(value, int) or value < 1):
        raise ValidationError("limit", f"must be a positive whole number of calls, not {value!r}")
    if attribute.name == "period" and (
        not isinstance(value, int | float) or not math.isfinite(value) or value <= 0
    ):
        raise ValidationError("period", f"must be a positive number of seconds, not {value!r}")


@attrs.frozen
class Rate:
    """``limit`` calls per ``period`` seconds, e.g. ``Rate(100, 60.0)``."""

    limit: int = attrs.field(validator=_check_rate)
    period: float = attrs.field(converter=float, validator=_check_rate)

    @property
    def per_second(self) -> float:
        """The rate as calls per second."""
        return self.limit / self.period


def _check_optional_rate(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    del instance
    if value is not None and not isinstance(value, Rate):
        raise ValidationError(attribute.name, f"must be a Rate or None, not {value!r}")


def _check_jitter(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    del instance, attribute
    if value is not None and (
        not isinstance(value, int | float) or not math.isfinite(value) or value < 0
    ):
        raise ValidationError(
            "jitter", f"must be None or a non-negative number of seconds, not {value!r}"
        )


def _check_burst(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    del instance, attribute
    if not isinstance(value, int) or value < 1:
        raise ValidationError("burst", f"must be a positive whole number, not {value!r}")


@attrs.frozen(kw_only=True)
class RateLimits:
    """The budgets a client paces itself by.

    * ``connector``: this client's own budget (default 100 calls / 60 s). ``None`` lifts it.
    * ``tenant``: the budget shared by every client with the same ``tenant_key`` in this process
      (default 300 calls / 60 s). With ``tenant_key=None`` the client has a tenant budget of its
      own. ``None`` lifts it.
    * ``jitter``: seconds added to each window to absorb network jitter; by default
      ``min(0.25, 0.005 * period)``, which keeps at least 99.5 % of the rate.
    * ``burst``: how many calls may go back to back (default 1: evenly spaced, safe under every
      counting method). A larger burst is still never more than N calls in any window of T + J.
    * ``precharge``: a new budget counts as just used, so a restarted process cannot double up on
      the previous process's last window. It delays the first call by one spacing (0.6 s).
    """

    connector: Rate | None = attrs.field(
        default=Rate(DEFAULT_CONNECTOR_LIMIT, DEFAULT_CONNECTOR_PERIOD),
        validator=_check_optional_rate,
    )
    tenant: Rate | None = attrs.field(
        default=Rate(DEFAULT_TENANT_LIMIT, DEFAULT_TENANT_PERIOD), validator=_check_optional_rate
    )
    tenant_key: str | None = None
    jitter: float | None = attrs.field(default=None, validator=_check_jitter)
    burst: int = attrs.field(default=1, validator=_check_burst)
    precharge: bool = True

    @classmethod
    def unlimited(cls) -> RateLimits:
        """No client-side pacing at all (for benchmarks and tests; the service still throttles)."""
        return cls(connector=None, tenant=None)

    def jitter_for(self, rate: Rate) -> float:
        """The jitter allowance, in seconds, used for ``rate``."""
        if self.jitter is not None:
            return float(self.jitter)
        return min(JITTER_MAX, JITTER_FRACTION * rate.period)


class _Budget:
    """One scope's ledger of grants. Pure bookkeeping: times come from the caller."""

    __slots__ = ("_log", "burst", "limit", "pause_until", "spacing", "tolerance", "window")

    def __init__(
        self, rate: Rate | None, *, jitter: float, burst: int, precharge: bool, now: float
    ):
        self.pause_until = -math.inf
        #: A grant this little after its scheduled time is booked at the scheduled time, so
        #: event-loop wake-up latency does not pile up into lost rate. A tenth of the jitter
        #: allowance: the rest still covers the network (see ``charge``).
        self.tolerance = 0.1 * jitter
        if rate is None:
            self.limit = 0
            self.window = self.spacing = 0.0
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

    def ready_at(self) -> float:
        """The earliest time the next grant may happen."""
        return max(self.pause_until, self._scheduled())

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

    def pause(self, deadline: float) -> None:
        # A deadline, not a flag: the later one wins and nothing can end a pause early.
        self.pause_until = max(self.pause_until, deadline)


class _Lane:
    __slots__ = ("budget", "granted", "queue", "served")

    def __init__(self, budget: _Budget) -> None:
        self.budget = budget
        self.queue: deque[asyncio.Future[float]] = deque()
        self.served = 0  # dispatch sequence number of the last grant (round-robin on ties)
        self.granted = 0


class TenantDispatcher:
    """Hands out slots for every connector (lane) of one tenant in one event loop."""

    def __init__(self, tenant: Rate | None, limits: RateLimits, loop: asyncio.AbstractEventLoop):
        self.rate = tenant
        self._loop = loop
        self._tenant = _Budget(
            tenant,
            jitter=limits.jitter_for(tenant) if tenant else 0.0,
            burst=limits.burst,
            precharge=limits.precharge,
            now=loop.time(),
        )
        self._lanes: list[_Lane] = []
        self._timer: asyncio.TimerHandle | None = None
        self._seq = 0

    @property
    def lanes(self) -> int:
        return len(self._lanes)

    def add_lane(self, rate: Rate | None, limits: RateLimits) -> _Lane:
        budget = _Budget(
            rate,
            jitter=limits.jitter_for(rate) if rate else 0.0,
            burst=limits.burst,
            precharge=limits.precharge,
            now=self._loop.time(),
        )
        lane = _Lane(budget)
        self._lanes.append(lane)
        return lane

    def remove_lane(self, lane: _Lane) -> None:
        if lane in self._lanes:
            self._lanes.remove(lane)
        while lane.queue:
            lane.queue.popleft().cancel()
        self._dispatch()

    async def acquire(self, lane: _Lane, *, first: bool = False) -> float:
        """Wait for a slot on ``lane``; returns the loop time it was granted at."""
        if self._timer is None and not lane.queue:
            # Nobody waits (a dispatch leaves either a timer or empty queues): a slot that is
            # ready now is granted without a future and a trip through the event loop.
            now = self._loop.time()
            when = max(lane.budget.ready_at(), self._tenant.ready_at())
            if when <= now + _EPS:
                return self._grant(lane, max(now, when))
        future: asyncio.Future[float] = self._loop.create_future()
        if first:
            lane.queue.appendleft(future)
        else:
            lane.queue.append(future)
        self._dispatch()
        try:
            return await future
        except asyncio.CancelledError:
            if not future.done() or future.cancelled():  # never granted: give the place up
                with contextlib.suppress(ValueError):
                    lane.queue.remove(future)
                self._dispatch()
            raise

    def pause(self, deadline: float) -> None:
        """No slot is handed out to any lane before ``deadline`` (loop time)."""
        self._tenant.pause(deadline)
        self._dispatch()

    def next_ready(self, lane: _Lane) -> float:
        """When ``lane`` could next be granted, ignoring other lanes' queues."""
        return max(lane.budget.ready_at(), self._tenant.ready_at())

    def _dispatch(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        now = self._loop.time()
        while True:
            tenant_ready = self._tenant.ready_at()
            best: _Lane | None = None
            best_key = (math.inf, 0)
            for lane in self._lanes:
                queue = lane.queue
                while queue and queue[0].done():  # cancelled while waiting
                    queue.popleft()
                if not queue:
                    continue
                key = (max(lane.budget.ready_at(), tenant_ready), lane.served)
                if best is None or key < best_key:
                    best, best_key = lane, key
            if best is None:
                return
            when = best_key[0]
            if when > now + _EPS:
                self._timer = self._loop.call_at(when, self._dispatch)
                return
            best.queue.popleft().set_result(self._grant(best, max(now, when)))

    def _grant(self, lane: _Lane, at: float) -> float:
        lane.budget.charge(at)
        self._tenant.charge(at)
        self._seq += 1
        lane.served = self._seq
        lane.granted += 1
        return at


_REGISTRY: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, TenantDispatcher]] = (
    weakref.WeakKeyDictionary()
)


class RateLimiter:
    """One client's handle on its tenant's dispatcher."""

    def __init__(self, limits: RateLimits) -> None:
        self.limits = limits
        self._dispatcher: TenantDispatcher | None = None
        self._lane: _Lane | None = None

    @property
    def is_open(self) -> bool:
        return self._lane is not None

    def open(self) -> None:
        loop = asyncio.get_running_loop()
        limits = self.limits
        if limits.tenant_key is None:
            dispatcher = TenantDispatcher(limits.tenant, limits, loop)
        else:
            shared = _REGISTRY.setdefault(loop, {})
            existing = shared.get(limits.tenant_key)
            if existing is None:
                dispatcher = shared[limits.tenant_key] = TenantDispatcher(
                    limits.tenant, limits, loop
                )
            elif existing.rate != limits.tenant:
                raise ValidationError(
                    "limits",
                    f"tenant {limits.tenant_key!r} already runs at {existing.rate}; "
                    f"clients sharing a tenant_key must give it the same tenant Rate",
                )
            else:
                dispatcher = existing
        self._dispatcher = dispatcher
        self._lane = dispatcher.add_lane(limits.connector, limits)

    def close(self) -> None:
        dispatcher, lane = self._dispatcher, self._lane
        self._dispatcher = self._lane = None
        if dispatcher is None or lane is None:
            return
        dispatcher.remove_lane(lane)
        if dispatcher.lanes == 0 and self.limits.tenant_key is not None:
            shared = _REGISTRY.get(dispatcher._loop, {})
            if shared.get(self.limits.tenant_key) is dispatcher:
                del shared[self.limits.tenant_key]

    def _parts(self) -> tuple[TenantDispatcher, _Lane]:
        if self._dispatcher is None or self._lane is None:
            raise RuntimeError("the rate limiter is not open; use the client inside `async with`")
        return self._dispatcher, self._lane

    async def acquire(self, *, first: bool = False) -> float:
        """Wait for a slot; ``first=True`` jumps this client's queue (a resend after a 429)."""
        dispatcher, lane = self._parts()
        return await dispatcher.acquire(lane, first=first)

    def pause(self, seconds: float) -> None:
        """Pause the whole tenant for ``seconds`` from now (a 429's Retry-After)."""
        dispatcher, _ = self._parts()
        dispatcher.pause(dispatcher._loop.time() + seconds)

    @property
    def granted(self) -> int:
        """Slots granted to this client so far."""
        return self._lane.granted if self._lane else 0
