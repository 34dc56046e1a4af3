"""Client-side pacing that never trips the service's throttle (DESIGN §4).

The service's counting method is unknown, so the promise is: no call refused by any of the usual
counting methods (sliding log, fixed window, unfloored sliding-window counter, token bucket, GCRA)
*as the server sees the calls*, whatever the network delay and however late the event loop runs.
Each scope (a connector, a tenant) is a :class:`_Budget`. Its :class:`~._ledger.CallLedger` holds
the bracket of every recent call (granted ... ended) and opens the next slot only when no
placement of the calls inside their brackets could be refused; that is the guarantee, and it needs
no allowance for delays. On top, grants are spaced (T + J) / N apart so the pace stays even.
Every granted slot is released when its call ends (:meth:`RateLimiter.release`); a call abandoned
without an answer keeps its place one period longer.

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
import contextvars
import itertools
import logging
import math
import uuid
import weakref
from collections import deque
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, Final, Protocol

import attrs

from ._constants import (
    DEFAULT_CONNECTOR_LIMIT,
    DEFAULT_CONNECTOR_PERIOD,
    DEFAULT_TENANT_LIMIT,
    DEFAULT_TENANT_PERIOD,
    JITTER_FRACTION,
    JITTER_MAX,
)
from ._errors import SlotWaitTimeoutError, ValidationError
from ._ledger import CallLedger

__all__ = [
    "MAX_WAIT",
    "BracketReport",
    "Rate",
    "RateLimiter",
    "RateLimits",
    "TenantBackend",
    "TenantDispatcher",
    "max_wait",
]

log = logging.getLogger("kaizala_async.ratelimit")

#: Timer wake-ups may run this much before their deadline (asyncio's clock resolution).
_EPS: Final = 1e-6
#: With every slot held by calls in flight, the dispatcher waits for an end (``release``); it
#: still looks again this often, so a waiter is never parked on nothing.
_IDLE_RECHECK: Final = 1.0


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


@attrs.define
class SharedBudgetStats:
    """What a shared tenant budget did in this process (for monitoring, tests and benchmarks)."""

    reservations: int = 0  # slots booked in the backend
    round_trips: int = 0  # calls to the backend (bookings, reports sent alone, failed tries)
    failures: int = 0  # reservations that failed (unreachable, slow, error)
    outages: int = 0  # times this process fell back to its local budget
    recoveries: int = 0  # times it came back to the shared budget
    fallback_grants: int = 0  # calls paced by the local fallback budget


@attrs.frozen
class BracketReport:
    """What a process tells a shared tenant budget with a booking. Times are seconds before the
    report is sent (negative: after, for a call held a period past its abandonment)."""

    #: Booked calls that ended: (call id, how long ago it ended).
    ended: tuple[tuple[str, float], ...] = ()
    #: After an outage, calls made on the local fallback and still in flight: (call id, how long
    #: ago it started).
    adopted: tuple[tuple[str, float], ...] = ()
    #: After an outage, ends of calls made on the local fallback in the last two periods.
    anonymous: tuple[float, ...] = ()


class TenantBackend(Protocol):
    """A tenant budget kept outside the process (see :class:`~kaizala_async.RedisTenantBudget`).

    ``reserve`` records ``report`` and books the tenant's next slot for ``call_id`` (and the
    connector's, when connectors are shared; ``call_id=None``: report only). It answers how many
    seconds after its answer arrives the slot starts, how many processes use the tenant, and
    whether a slot was booked (if not, ask again after the seconds given). Raising one of
    ``errors`` (or ``OSError``/``TimeoutError``) sends the tenant to its local fallback budget
    until a later reservation succeeds.
    """

    tenant_key: str
    share_connectors: bool
    timeout: float
    retry_every: float
    processes: int | None
    errors: tuple[type[BaseException], ...]
    stats: SharedBudgetStats

    async def reserve(
        self,
        *,
        tenant: Rate,
        jitter: float,
        connector: tuple[str, Rate, float] | None,
        call_id: str | None,
        report: BracketReport,
    ) -> tuple[float, int, bool]: ...

    async def pause(self, *, tenant: Rate, seconds: float) -> None: ...

    async def aclose(self) -> None: ...


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
    the tasks it starts), whichever client makes it::

        with max_wait(2.0):
            await client.messages.send(group_id, "Door 3 is open")  # or SlotWaitTimeoutError

    ``None`` lifts the client's ``RateLimits.max_wait`` inside the block. A call that cannot get
    its slot in time raises :class:`~kaizala_async.SlotWaitTimeoutError`: nothing is sent and
    no slot is used. The bound applies to each wait for a slot (a resend after a 429 waits anew).
    """
    checked = check_max_wait("max_wait", seconds)
    token = MAX_WAIT.set(math.inf if checked is None else checked)
    try:
        yield
    finally:
        MAX_WAIT.reset(token)


def _check_max_wait(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    del instance
    check_max_wait(attribute.name, value)


def _check_backend(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    del instance, attribute
    if value is not None and not callable(getattr(value, "reserve", None)):
        raise ValidationError(
            "backend", f"must be a tenant backend such as RedisTenantBudget, not {value!r}"
        )


@attrs.frozen(kw_only=True)
class RateLimits:
    """The budgets a client paces itself by.

    * ``connector``: this client's own budget (default 100 calls / 60 s). ``None`` lifts it.
    * ``tenant``: the budget shared by every client with the same ``tenant_key`` in this process
      (default 300 calls / 60 s). With ``tenant_key=None`` the client has a tenant budget of its
      own. ``None`` lifts it.
    * ``jitter``: seconds added to each window to absorb network jitter; by default
      ``min(0.25, 0.005 * period)``, which keeps at least 99.5 % of the rate.
    * ``burst``: how many calls may go back to back (default 1: evenly spaced, safe under a
      fixed window, a sliding log and a token bucket). A larger burst is still never more than
      N calls in any window of T + J.
    * ``precharge``: a new budget counts as just used, so a restarted process cannot double up on
      the previous process's last window. It delays the first call by one spacing (0.6 s).
    * ``backend``: where the tenant budget lives when several processes share it, e.g.
      :class:`~kaizala_async.RedisTenantBudget`. ``None`` (default): in this process.
    * ``max_wait``: the longest a call waits for its slot before it raises
      :class:`~kaizala_async.SlotWaitTimeoutError` (nothing sent, no slot used). ``None``
      (default): it waits as long as it takes. A fan-out always waits.
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
    backend: TenantBackend | None = attrs.field(default=None, validator=_check_backend)
    max_wait: float | None = attrs.field(default=None, validator=_check_max_wait)

    @classmethod
    def unlimited(cls) -> RateLimits:
        """No client-side pacing at all (for benchmarks and tests; the service still throttles)."""
        return cls(connector=None, tenant=None)

    def __attrs_post_init__(self) -> None:
        if self.backend is not None and self.tenant is None:
            raise ValidationError("backend", "a shared tenant budget needs a tenant Rate")
        if self.backend is not None and self.burst != 1:
            raise ValidationError("backend", "a shared tenant budget paces evenly: burst must be 1")

    def jitter_for(self, rate: Rate) -> float:
        """The jitter allowance, in seconds, used for ``rate``."""
        if self.jitter is not None:
            return float(self.jitter)
        return min(JITTER_MAX, JITTER_FRACTION * rate.period)


class _Budget:
    """One scope's budget: an even schedule of grants and, unless ``exact=False``, the ledger of
    its calls' brackets that makes the window guarantee independent of delays (``_ledger``).
    Pure bookkeeping: times come from the caller."""

    __slots__ = (
        "_log", "burst", "hold", "ledger", "limit", "pause_until", "spacing", "tolerance", "window",
    )  # fmt: skip

    def __init__(
        self, rate: Rate | None, *, jitter: float, burst: int, precharge: bool, now: float,
        exact: bool = True,
    ) -> None:  # fmt: skip
        self.pause_until = -math.inf
        self.ledger: CallLedger | None = None
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
            self.hold = rate.period
            self.tolerance = 0.5 * self.spacing
        else:
            # The schedule carries the guarantee (a shared tenant's fallback): a tenth of the
            # jitter allowance for loop latency, the rest for the network (see ``charge``).
            self.tolerance = 0.1 * jitter

    def ready_at(self, now: float) -> float:
        """The earliest time the next grant may happen (``inf``: once a call ends)."""
        ready = max(self.pause_until, self._scheduled())
        if self.ledger is not None:
            ready = max(ready, self.ledger.ready_at(now))
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
            if self.ledger is not None:
                self.ledger.start()

    def finish(self, at: float, *, abandoned: bool = False) -> None:
        """A call granted by this budget ended at ``at``; ``abandoned``: without an answer, so it
        may still reach the server, and is held for one more period."""
        if self.ledger is not None:
            self.ledger.end(at + self.hold if abandoned else at)

    def pause(self, deadline: float) -> None:
        # A deadline, not a flag: the later one wins and nothing can end a pause early.
        self.pause_until = max(self.pause_until, deadline)

    def take(self, lane: _Lane, now: float) -> bool:
        """A local budget that is ready is always ready."""
        del lane, now
        return True

    def preferred(self) -> _Lane | None:
        return None


class _Mine:
    """One of this process's calls on a shared tenant: its id there, start, and whether the
    backend knows it (a call made on the fallback is adopted when the backend returns)."""

    __slots__ = ("call_id", "registered", "started")

    def __init__(self, call_id: str, started: float, registered: bool) -> None:
        self.call_id = call_id
        self.started = started
        self.registered = registered


class _SharedTenant:
    """The tenant step when the budget lives in a backend shared by several processes (Redis).

    The backend keeps the tenant's calls as brackets, like a local ledger. A slot is booked only
    once a lane is ready for it, at most one booking outstanding (being fetched or held) per
    process and tenant, and a booked slot is always used, however late the loop runs (starting
    late only widens a bracket), or handed back as ended. Each call's end is reported with the
    next booking, or after a quiet spell in a report of its own. Times in the backend's answers
    are relative to its own clock, so this process's clock never enters the budget.

    When the backend fails or is slow, the tenant is paced by a local ledger (the tenant limit
    divided among the processes last seen, or the connector limit before any was seen), logged
    once per outage; a booking is tried again every ``retry_every`` seconds, and the first that
    succeeds ends the outage, reporting the fallback's calls (ends, and those still in flight).
    """

    def __init__(
        self, backend: TenantBackend, rate: Rate, limits: RateLimits,
        loop: asyncio.AbstractEventLoop, lanes: list[_Lane], wake: Callable[[], None],
    ) -> None:  # fmt: skip
        self.backend = backend
        self.rate = rate
        self.jitter = limits.jitter_for(rate)
        self.window = rate.period + self.jitter
        self.pause_until = -math.inf
        self._loop = loop
        self._lanes = lanes
        self._wake = wake
        self._held: tuple[float, _Lane | None, str] | None = None
        self._fetching: asyncio.Task[None] | None = None
        self._notes: set[asyncio.Task[None]] = set()
        #: What counts as the backend failing (a slow answer is a TimeoutError).
        self._errors: tuple[type[BaseException], ...] = (*backend.errors, OSError, TimeoutError)
        self._fallback: _Budget | None = None
        self._next_probe = -math.inf
        self._retry_at = -math.inf  # every place was held: book again no earlier than this
        self._processes = backend.processes
        self._mine: deque[_Mine] = deque()  # this process's calls in flight, oldest first
        self._ended: list[tuple[str, float]] = []  # (call id, loop-time end) not yet reported
        self._fallback_ends: deque[float] = deque()  # ends of fallback calls not yet reported
        self._recent_ends: deque[float] = deque()  # ends of this process's shared calls, 2T
        #: After an outage, the fallback's share still caps this process until every process
        #: has had the time to find the backend again and report its own fallback calls.
        self._cap: _Budget | None = None
        self._cap_until = -math.inf
        self._ids = itertools.count()
        self._prefix = uuid.uuid4().hex[:10]
        self._flush: asyncio.TimerHandle | None = None
        #: Ends wait for the next booking this long at most before a report of their own.
        self._flush_after = 0.1 * rate.period

    def ready_at(self, now: float) -> float:
        if self._fallback is not None:
            return max(self.pause_until, self._fallback.ready_at(now))
        ready = max(self.pause_until, self._retry_at if self._held is None else self._held[0])
        if self._cap is not None:
            if now < self._cap_until:
                return max(ready, self._cap.ready_at(now))
            self._cap = None
        return ready

    def preferred(self) -> _Lane | None:
        """The lane a connector-bound booking belongs to (shared connectors only)."""
        return self._held[1] if self._held is not None else None

    def take(self, lane: _Lane, now: float) -> bool:
        """May ``lane`` be granted now? If not, a booking is under way and will re-dispatch."""
        if self._fallback is not None:
            if now >= self._next_probe and self._fetching is None:
                self._next_probe = now + self.backend.retry_every
                self._fetch(lane, now)
            return True
        if self._held is not None:
            _, owner, call_id = self._held
            if owner is None or owner is lane:
                return True  # however late: a late start only widens the bracket
            self._ended.append((call_id, now))  # another lane's: handed back, never sent
            self._held = None
        if self._fetching is None and now >= self._retry_at:
            self._fetch(lane, now)
        return False

    def charge(self, at: float) -> None:
        if self._fallback is not None:
            self._fallback.charge(at)
            self._mine.append(_Mine(self._new_id(), at, registered=False))
            self.backend.stats.fallback_grants += 1
        elif self._held is not None:
            self._mine.append(_Mine(self._held[2], at, registered=True))
            self._held = None
            if self._cap is not None:
                self._cap.charge(at)

    def finish(self, at: float, *, abandoned: bool = False) -> None:
        """One of this process's calls ended at ``at``. Calls are interchangeable for the
        budget, so the oldest is marked ended: the ones left started later, so their leases in
        the backend run longer, never shorter."""
        end = at + self.rate.period if abandoned else at
        for budget in (self._fallback, self._cap):
            if budget is not None:
                budget.finish(at, abandoned=abandoned)
        if not self._mine:
            return
        mine = self._mine.popleft()
        if mine.registered:
            self._ended.append((mine.call_id, end))
            recent = self._recent_ends
            recent.append(end)
            while recent and recent[0] < at - 2 * self.rate.period:
                recent.popleft()
            if self._flush is None and self._fetching is None:
                self._flush = self._loop.call_later(self._flush_after, self._report_alone)
        else:
            self._fallback_ends.append(end)

    def pause(self, deadline: float) -> None:
        self.pause_until = max(self.pause_until, deadline)
        if self._fallback is None:  # tell the other processes too; best effort
            seconds = deadline - self._loop.time()
            self._spawn(self._note_pause(seconds))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = self._loop.create_task(coro)
        self._notes.add(task)
        task.add_done_callback(self._notes.discard)

    async def _note_pause(self, seconds: float) -> None:
        with contextlib.suppress(*self._errors):
            async with asyncio.timeout(self.backend.timeout):
                await self.backend.pause(tenant=self.rate, seconds=seconds)

    def _new_id(self) -> str:
        return f"{self._prefix}:{next(self._ids)}"

    def _report(self, now: float) -> tuple[BracketReport, int, list[_Mine]]:
        """What to tell the backend now: ends, and after an outage the fallback's calls."""
        ended = tuple((call_id, now - end) for call_id, end in self._ended)
        adopted: list[_Mine] = []
        anonymous: tuple[float, ...] = ()
        if self._fallback is not None:
            adopted = [m for m in self._mine if not m.registered]
            horizon = now - 2 * self.rate.period
            anonymous = tuple(now - end for end in self._fallback_ends if end > horizon)
        report = BracketReport(
            ended=ended,
            adopted=tuple((m.call_id, now - m.started) for m in adopted),
            anonymous=anonymous,
        )
        return report, len(ended), adopted

    def _fetch(self, lane: _Lane | None, now: float) -> None:
        connector: tuple[str, Rate, float] | None = None
        if lane is not None and self.backend.share_connectors and lane.connector_id and lane.rate:
            connector = (lane.connector_id, lane.rate, lane.jitter)
        owner = lane if connector is not None else None
        call_id = self._new_id() if lane is not None else None
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        self._fetching = self._loop.create_task(
            self._book(owner, connector, call_id, *self._report(now))
        )

    def _report_alone(self) -> None:
        """Ends have waited long enough for a booking to carry them: report them alone."""
        self._flush = None
        if self._ended and self._fetching is None and self._fallback is None:
            self._fetch(None, self._loop.time())

    async def _book(
        self, owner: _Lane | None, connector: tuple[str, Rate, float] | None,
        call_id: str | None, report: BracketReport, reported: int, adopted: list[_Mine],
    ) -> None:  # fmt: skip
        self.backend.stats.round_trips += 1
        try:
            async with asyncio.timeout(self.backend.timeout):
                wait, processes, booked = await self.backend.reserve(
                    tenant=self.rate, jitter=self.jitter, connector=connector,
                    call_id=call_id, report=report,
                )  # fmt: skip
        except self._errors as exc:
            self.backend.stats.failures += 1
            self._fetching = None
            self._to_fallback(exc)
        else:
            self._fetching = None
            self._processes = processes or self._processes
            del self._ended[:reported]
            now = self._loop.time()
            if call_id is not None:
                if booked:
                    self.backend.stats.reservations += 1
                    self._held = (now + max(0.0, wait), owner, call_id)
                else:  # every place is held by calls in flight: ask again a little later
                    self._retry_at = now + max(wait, _EPS)
                    self._loop.call_at(self._retry_at, self._wake)
            if self._fallback is not None:
                for mine in adopted:
                    mine.registered = True
                self._fallback_ends.clear()
                self._cap, self._fallback = self._fallback, None
                self._cap_until = now + 2 * self.backend.retry_every
                self.backend.stats.recoveries += 1
                log.warning("tenant %r: shared budget back; pacing by it again",
                            self.backend.tenant_key)  # fmt: skip
            if self._ended and self._flush is None:
                self._flush = self._loop.call_later(self._flush_after, self._report_alone)
        self._wake()

    def _to_fallback(self, exc: BaseException) -> None:
        now = self._loop.time()
        self._next_probe = now + self.backend.retry_every
        if self._fallback is not None:
            return
        if self._processes:
            limit = max(1, self.rate.limit // self._processes)
        else:
            connectors = [lane.rate.limit for lane in self._lanes if lane.rate is not None]
            limit = min([self.rate.limit, *connectors])
        self._fallback = _Budget(Rate(limit, self.rate.period), jitter=self.jitter, burst=1,
                                 precharge=False, now=now)  # fmt: skip
        if self._held is not None:  # a booking not yet used is handed back with the next report
            self._ended.append((self._held[2], now))
            self._held = None
        ledger = self._fallback.ledger
        if ledger is not None:  # this process's recent calls count against its share
            for end in self._recent_ends:
                ledger.start()
                ledger.end(end)
            for _ in self._mine:
                ledger.start()
        self.backend.stats.outages += 1
        log.warning(
            "tenant %r: shared budget unreachable (%s); pacing this process by a local budget "
            "of %d calls / %g s until it returns",
            self.backend.tenant_key, type(exc).__name__, limit, self.rate.period,
        )  # fmt: skip

    async def aclose(self) -> None:
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        tasks = [t for t in (self._fetching, *self._notes) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._fetching = None
        if self._held is not None:
            self._ended.append((self._held[2], self._loop.time()))
            self._held = None
        if self._ended and self._fallback is None:  # best effort: free the places at once
            report, _, _ = self._report(self._loop.time())
            with contextlib.suppress(*self._errors):
                async with asyncio.timeout(self.backend.timeout):
                    await self.backend.reserve(tenant=self.rate, jitter=self.jitter,
                                               connector=None, call_id=None, report=report)  # fmt: skip
        await self.backend.aclose()


class _Lane:
    __slots__ = ("budget", "connector_id", "granted", "jitter", "queue", "rate", "served")

    def __init__(
        self, budget: _Budget, rate: Rate | None = None, jitter: float = 0.0,
        connector_id: str | None = None,
    ) -> None:  # fmt: skip
        self.budget = budget
        self.rate = rate
        self.jitter = jitter
        self.connector_id = connector_id
        self.queue: deque[asyncio.Future[float]] = deque()
        self.served = 0  # dispatch sequence number of the last grant (round-robin on ties)
        self.granted = 0


class TenantDispatcher:
    """Hands out slots for every connector (lane) of one tenant in one event loop."""

    def __init__(self, tenant: Rate | None, limits: RateLimits, loop: asyncio.AbstractEventLoop):
        self.rate = tenant
        self._loop = loop
        self._lanes: list[_Lane] = []
        self._tenant: _Budget | _SharedTenant
        if limits.backend is not None and tenant is not None:
            self._tenant = _SharedTenant(
                limits.backend, tenant, limits, loop, self._lanes, self._dispatch
            )
        else:
            self._tenant = _Budget(
                tenant,
                jitter=limits.jitter_for(tenant) if tenant else 0.0,
                burst=limits.burst,
                precharge=limits.precharge,
                now=loop.time(),
            )
        self._timer: asyncio.TimerHandle | None = None
        self._seq = 0

    @property
    def lanes(self) -> int:
        return len(self._lanes)

    @property
    def shared(self) -> _SharedTenant | None:
        return self._tenant if isinstance(self._tenant, _SharedTenant) else None

    def add_lane(
        self, rate: Rate | None, limits: RateLimits, connector_id: str | None = None
    ) -> _Lane:
        jitter = limits.jitter_for(rate) if rate else 0.0
        budget = _Budget(
            rate, jitter=jitter, burst=limits.burst, precharge=limits.precharge,
            now=self._loop.time(),
        )  # fmt: skip
        lane = _Lane(budget, rate, jitter, connector_id)
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
            when = max(lane.budget.ready_at(now), self._tenant.ready_at(now))
            if when <= now + _EPS and self._tenant.take(lane, now):
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
            else:  # granted, but the caller is gone before sending: the slot ends unused
                self.release(lane)
            raise

    def release(self, lane: _Lane, *, abandoned: bool = False) -> None:
        """A call granted on ``lane`` ended now (``abandoned``: without an answer)."""
        now = self._loop.time()
        lane.budget.finish(now, abandoned=abandoned)
        self._tenant.finish(now, abandoned=abandoned)
        if self._timer is not None:  # somebody waits: an end can only bring their slot nearer
            self._dispatch()

    async def aclose(self) -> None:
        """Stop a shared tenant's bookings (the dispatcher has no lanes left)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if isinstance(self._tenant, _SharedTenant):
            await self._tenant.aclose()

    def pause(self, deadline: float) -> None:
        """No slot is handed out to any lane before ``deadline`` (loop time)."""
        self._tenant.pause(deadline)
        self._dispatch()

    def next_ready(self, lane: _Lane) -> float:
        """When ``lane`` could next be granted, ignoring other lanes' queues."""
        now = self._loop.time()
        return max(lane.budget.ready_at(now), self._tenant.ready_at(now))

    def _dispatch(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        now = self._loop.time()
        while True:
            tenant_ready = self._tenant.ready_at(now)
            best: _Lane | None = None
            best_key = (math.inf, 0)
            for lane in self._lanes:
                queue = lane.queue
                while queue and queue[0].done():  # cancelled while waiting
                    queue.popleft()
                if not queue:
                    continue
                key = (max(lane.budget.ready_at(now), tenant_ready), lane.served)
                if best is None or key < best_key:
                    best, best_key = lane, key
            if best is None:
                return
            when = best_key[0]
            if when > now + _EPS:
                if when != math.inf:  # else a call's end dispatches again (``release``)
                    self._timer = self._loop.call_at(when, self._dispatch)
                else:
                    self._timer = self._loop.call_at(now + _IDLE_RECHECK, self._dispatch)
                return
            owner = self._tenant.preferred()
            if owner is not None and any(not f.done() for f in owner.queue):
                best = owner  # a booking made for a connector goes to that connector
            if not self._tenant.take(best, now):
                return  # a booking is under way; it dispatches again when it lands
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

    def __init__(self, limits: RateLimits, connector_id: str | None = None) -> None:
        self.limits = limits
        self.connector_id = connector_id
        self._dispatcher: TenantDispatcher | None = None
        self._lane: _Lane | None = None
        self._key: str | None = None

    @property
    def is_open(self) -> bool:
        return self._lane is not None

    def open(self) -> None:
        loop = asyncio.get_running_loop()
        limits = self.limits
        key = limits.tenant_key
        if key is None and limits.backend is not None:
            key = f"shared:{limits.backend.tenant_key}"  # one booking per process and tenant
        if key is None:
            dispatcher = TenantDispatcher(limits.tenant, limits, loop)
        else:
            shared = _REGISTRY.setdefault(loop, {})
            existing = shared.get(key)
            if existing is None:
                dispatcher = shared[key] = TenantDispatcher(limits.tenant, limits, loop)
            elif existing.rate != limits.tenant:
                raise ValidationError(
                    "limits",
                    f"tenant {key!r} already runs at {existing.rate}; "
                    f"clients sharing a tenant_key must give it the same tenant Rate",
                )
            else:
                dispatcher = existing
        self._dispatcher = dispatcher
        self._key = key
        self._lane = dispatcher.add_lane(limits.connector, limits, self.connector_id)

    def close(self) -> None:
        dispatcher, lane = self._dispatcher, self._lane
        self._dispatcher = self._lane = None
        if dispatcher is None or lane is None:
            return
        dispatcher.remove_lane(lane)
        if dispatcher.lanes == 0 and self._key is not None:
            shared = _REGISTRY.get(dispatcher._loop, {})
            if shared.get(self._key) is dispatcher:
                del shared[self._key]

    async def aclose(self) -> None:
        """``close``, then stop the tenant's shared bookings if this was its last client."""
        dispatcher = self._dispatcher
        self.close()
        if dispatcher is not None and dispatcher.lanes == 0:
            await dispatcher.aclose()

    def _parts(self) -> tuple[TenantDispatcher, _Lane]:
        if self._dispatcher is None or self._lane is None:
            raise RuntimeError("the rate limiter is not open; use the client inside `async with`")
        return self._dispatcher, self._lane

    async def acquire(self, *, first: bool = False, max_wait: float | None = None) -> float:
        """Wait for a slot; ``first=True`` jumps this client's queue (a resend after a 429).

        Every granted slot must be given back with :meth:`release` once its call has ended.
        With ``max_wait`` (seconds), give the place up and raise :class:`SlotWaitTimeoutError`
        if no slot comes in time; no slot is used.
        """
        dispatcher, lane = self._parts()
        if max_wait is None:
            return await dispatcher.acquire(lane, first=first)
        try:
            async with asyncio.timeout(max_wait):
                return await dispatcher.acquire(lane, first=first)
        except TimeoutError:
            raise SlotWaitTimeoutError(max_wait) from None

    def release(self, *, abandoned: bool = False) -> None:
        """The call of a slot granted by :meth:`acquire` ended now.

        ``abandoned``: it ended without an answer (a timeout or a cancellation after it started
        going out), so it may still reach the server; it keeps its place for one more period.
        """
        if self._dispatcher is not None and self._lane is not None:
            self._dispatcher.release(self._lane, abandoned=abandoned)

    def pause(self, seconds: float) -> None:
        """Pause the whole tenant for ``seconds`` from now (a 429's Retry-After)."""
        dispatcher, _ = self._parts()
        dispatcher.pause(dispatcher._loop.time() + seconds)

    @property
    def granted(self) -> int:
        """Slots granted to this client so far."""
        return self._lane.granted if self._lane else 0
