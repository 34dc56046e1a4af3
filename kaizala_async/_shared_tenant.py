"""The tenant step when the budget lives outside the process (Redis), shared by several
processes: the backend protocol, what a process reports with each booking, and the step itself."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import uuid
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any, Final, Protocol

import attrs

from . import _telemetry as telemetry
from ._budget import Budget, Rate
from ._lane import Lane

__all__ = ["BracketReport", "SharedBudgetStats", "SharedTenant", "TenantBackend"]

log = logging.getLogger("kaizala_async.ratelimit")

#: Timer wake-ups may run this much before their deadline (asyncio's clock resolution).
_EPS: Final = 1e-6


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
    """A tenant budget kept outside the process (see `RedisTenantBudget`).

    ``reserve`` records ``report`` and books the tenant's next slot for ``call_id`` (and the
    connector's, when connectors are shared; ``call_id=None``: report only). It answers how many
    seconds after its answer arrives the slot starts, how many processes use the tenant, and
    whether a slot was booked (if not, ask again after the seconds given). Raising one of
    ``errors`` (or ``OSError``/``TimeoutError``), or any other exception, sends the tenant to its
    local fallback budget until a later reservation succeeds: a backend that fails in a way
    nobody expected must not leave the tenant waiting for a booking that never comes.
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


class _Mine:
    """One of this process's calls on a shared tenant: its id there, start, and whether the
    backend knows it (a call made on the fallback is adopted when the backend returns)."""

    __slots__ = ("call_id", "registered", "started")

    def __init__(self, call_id: str, started: float, registered: bool) -> None:
        self.call_id = call_id
        self.started = started
        self.registered = registered


class SharedTenant:
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
        self, backend: TenantBackend, rate: Rate, jitter: float,
        loop: asyncio.AbstractEventLoop, lanes: list[Lane], wake: Callable[[], None],
    ) -> None:  # fmt: skip
        self.backend = backend
        self.rate = rate
        self.jitter = jitter
        self.window = rate.period + self.jitter
        self.pause_until = -math.inf
        #: A call's end may always matter here (its fallback's or cap's ledger, the bookings).
        self.ends_matter = True
        self._loop = loop
        self._lanes = lanes
        self._wake = wake
        self._held: tuple[float, Lane | None, str] | None = None
        self._fetching: asyncio.Task[None] | None = None
        self._notes: set[asyncio.Task[None]] = set()
        self._fallback: Budget | None = None
        self._next_probe = -math.inf
        self._retry_at = -math.inf  # every place was held: book again no earlier than this
        self._processes = backend.processes
        self._mine: deque[_Mine] = deque()  # this process's calls in flight, oldest first
        self._ended: list[tuple[str, float]] = []  # (call id, loop-time end) not yet reported
        self._fallback_ends: deque[float] = deque()  # ends of fallback calls not yet reported
        self._recent_ends: deque[float] = deque()  # ends of this process's shared calls, 2T
        #: After an outage, the fallback's share still caps this process until every process
        #: has had the time to find the backend again and report its own fallback calls.
        self._cap: Budget | None = None
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

    def preferred(self) -> Lane | None:
        """The lane a connector-bound booking belongs to (shared connectors only)."""
        return self._held[1] if self._held is not None else None

    def take(self, lane: Lane, now: float) -> bool:
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
            telemetry.record(
                "kaizala.client.budget_fallbacks", 1, {"kaizala.tenant": self.backend.tenant_key}
            )
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
        with contextlib.suppress(Exception):  # best effort, whatever the failure
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

    def _fetch(self, lane: Lane | None, now: float) -> None:
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
        self, owner: Lane | None, connector: tuple[str, Rate, float] | None,
        call_id: str | None, report: BracketReport, reported: int, adopted: list[_Mine],
    ) -> None:  # fmt: skip
        self.backend.stats.round_trips += 1
        try:
            async with asyncio.timeout(self.backend.timeout):
                wait, processes, booked = await self.backend.reserve(
                    tenant=self.rate, jitter=self.jitter, connector=connector,
                    call_id=call_id, report=report,
                )  # fmt: skip
        except Exception as exc:  # its own errors, a slow answer (TimeoutError), or a bug
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
                            self.backend.tenant_key,
                            extra={"kaizala_event": "kaizala.budget.recovered"})  # fmt: skip
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
        self._fallback = Budget(Rate(limit, self.rate.period), jitter=self.jitter, burst=1,
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
            extra={"kaizala_event": "kaizala.budget.fallback"},
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
            with contextlib.suppress(Exception):
                async with asyncio.timeout(self.backend.timeout):
                    await self.backend.reserve(tenant=self.rate, jitter=self.jitter,
                                               connector=None, call_id=None, report=report)  # fmt: skip
        await self.backend.aclose()
