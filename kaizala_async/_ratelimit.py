"""Client-side pacing that never trips the service's throttle (DESIGN §4).

The service's counting method is unknown, so the promise is: no call refused by any of the usual
counting methods (sliding log, fixed window, unfloored sliding-window counter, token bucket, GCRA)
*as the server sees the calls*, whatever the network delay and however late the event loop runs.
Each scope (a connector, a tenant) is a `Budget`. Its `CallLedger` holds
the bracket of every recent call (granted ... ended) and opens the next slot only when no
placement of the calls inside their brackets could be refused; that is the guarantee, and it needs
no allowance for delays. On top, grants are spaced (T + J) / N apart so the pace stays even.
Every granted slot is released when its call ends (`RateLimiter.release`); a call abandoned
without an answer keeps its place one period longer.

The scope's budget is ``_budget.Budget``; a tenant shared by several processes is
``_shared_tenant.SharedTenant``; this module holds the limits, the dispatcher and the
client's handle.

Two limiters nested with ``async with`` break this once connectors compete for the tenant. So every
tenant has one `TenantDispatcher`: a FIFO queue per connector ("lane"); the lane whose next
grant is earliest wins, and among lanes ready together the least recently served (`LaneOrder`
keeps them in that order); both budgets are charged at the same instant; one waiter is
released. Only the dispatcher touches the budgets, and it needs no task of its own: it runs
synchronously whenever a waiter arrives or leaves, and from one timer otherwise.

A 429 pauses the tenant until a monotonic deadline (the later deadline wins; nothing clears it
early) and the rejected call queues first (behind any that jumped the queue before it).
"""

from __future__ import annotations

import logging
import math
import weakref
from collections.abc import Iterable
from typing import TYPE_CHECKING, Final, cast

from ._budget import Budget, Rate
from ._errors import ClientClosedError, SlotWaitTimeoutError, ValidationError
from ._eventloop import (
    EventLoop,
    TimerHandle,
    Waiter,
    cancelled_exc,
    current_loop,
    fail_after,
    is_asyncio,
)

if TYPE_CHECKING:
    import asyncio
from ._lane import EPS, Lane, LaneOrder
from ._limits import RateLimits
from ._shared_tenant import BracketReport, SharedBudgetStats, SharedTenant, TenantBackend

__all__ = [
    "BracketReport",
    "Rate",
    "RateLimiter",
    "SharedBudgetStats",
    "TenantBackend",
    "TenantDispatcher",
]

log = logging.getLogger("kaizala_async.ratelimit")

#: With every slot held by calls in flight, the dispatcher waits for an end (``release``); it
#: still looks again this often, so a waiter is never parked on nothing.
_IDLE_RECHECK: Final = 1.0


class TenantDispatcher:
    """Hands out slots for every connector (lane) of one tenant in one event loop."""

    def __init__(self, tenant: Rate | None, limits: RateLimits, loop: EventLoop):
        self.rate = tenant
        self._loop = loop
        self._cancelled = cancelled_exc(loop)
        self._lanes: list[Lane] = []
        self._order = LaneOrder()  # the lanes with waiters, in serving order
        self._tenant: Budget | SharedTenant
        if limits.backend is not None and tenant is not None:
            self._tenant = SharedTenant(  # asyncio only: refused elsewhere (`open`)
                limits.backend, tenant, limits.jitter_for(tenant), cast("asyncio.AbstractEventLoop", loop),
                self._lanes, self._dispatch,
            )  # fmt: skip
        else:
            self._tenant = Budget(
                tenant,
                jitter=limits.jitter_for(tenant) if tenant else 0.0,
                burst=limits.burst,
                precharge=limits.precharge,
                now=loop.time(),
            )
        self._timer: TimerHandle | None = None
        self._timer_at = math.nan  # when ``_timer`` fires (nan: it fired or there is none)
        self._seq = 0

    @property
    def lanes(self) -> int:
        return len(self._lanes)

    @property
    def shared(self) -> SharedTenant | None:
        return self._tenant if isinstance(self._tenant, SharedTenant) else None

    def add_lane(
        self, rate: Rate | None, limits: RateLimits, connector_id: str | None = None
    ) -> Lane:
        jitter = limits.jitter_for(rate) if rate else 0.0
        budget = Budget(
            rate, jitter=jitter, burst=limits.burst, precharge=limits.precharge,
            now=self._loop.time(),
        )  # fmt: skip
        lane = Lane(budget, rate, jitter, connector_id)
        self._lanes.append(lane)
        return lane

    def remove_lane(self, lane: Lane) -> None:
        if lane in self._lanes:
            self._lanes.remove(lane)
        self._order.remove(lane)
        while lane.queue:
            waiter = lane.pop()
            if not waiter.done():  # the caller is told, not cancelled: nobody cancelled it
                waiter.set_exception(
                    ClientClosedError(
                        "the client was closed while this call waited for a rate-limit slot; "
                        "nothing was sent"
                    )
                )
        self._dispatch()

    def grant_now(self, lane: Lane) -> float | None:
        """The loop time of a slot granted on ``lane`` at once, if nobody waits and one is
        ready now (without a future and a trip through the event loop); else None."""
        if self._timer is None and not lane.queue:
            # Nobody waits (a dispatch leaves either a timer or empty queues).
            now = self._loop.time()
            when = max(lane.budget.ready_at(now), self._tenant.ready_at(now))
            if when <= now + EPS and self._tenant.take(lane, now):
                return self._grant(lane, max(now, when))
        return None

    async def wait(self, lane: Lane, *, first: bool) -> float:
        """Queue on ``lane`` and wait for a slot (once `grant_now` found none ready); returns
        the loop time it was granted at."""
        future: Waiter[float] = self._loop.create_future()
        lane.enqueue(future, first=first)
        # A lane that already had waiters is already in the order, and the armed timer already
        # serves it: another waiter of its changes no ready time, so there is nothing to redo.
        if self._order.waiting(lane, self._loop.time()) or self._timer is None:
            self._dispatch()
        try:
            return await future
        except self._cancelled:
            if not future.done() or future.cancelled():  # never granted: give the place up
                future.cancel()  # (trio's is not cancelled with the task that awaits it)
                lane.drop(future)
                self._dispatch()
            else:  # granted, but the caller is gone before sending: the slot ends unused
                self.release(lane, abandoned=False)
            raise

    def release(self, lane: Lane, *, abandoned: bool) -> None:
        """A call granted on ``lane`` ended now (``abandoned``: without an answer)."""
        now = self._loop.time()
        budget = lane.budget
        budget.finish(now, abandoned=abandoned)
        self._tenant.finish(now, abandoned=abandoned)
        if not (budget.ends_matter or self._tenant.ends_matter):
            return  # no ledger bound a ready time: the order and the armed timer stand
        self._order.ended(lane, now)
        if self._timer is not None:  # somebody waits: an end can only bring their slot nearer
            self._dispatch()

    async def aclose(self) -> None:
        """Stop a shared tenant's bookings (the dispatcher has no lanes left)."""
        self._disarm()
        if isinstance(self._tenant, SharedTenant):
            await self._tenant.aclose()

    def pause(self, deadline: float) -> None:
        """No slot is handed out to any lane before ``deadline`` (loop time)."""
        self._tenant.pause(deadline)
        self._dispatch()

    def _on_timer(self) -> None:
        self._timer, self._timer_at = None, math.nan
        self._dispatch()

    def _arm(self, at: float) -> None:
        """The next dispatch at ``at``: the armed timer is kept when it already fires then (a
        call's end that changes nothing re-arms nothing)."""
        if self._timer is not None:
            if at == self._timer_at:
                return
            self._timer.cancel()
        self._timer, self._timer_at = self._loop.call_at(at, self._on_timer), at

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer, self._timer_at = None, math.nan

    def _dispatch(self) -> None:
        now = self._loop.time()
        while True:
            at, best = self._order.next(now)
            if best is None:
                self._disarm()
                return
            when = max(at, self._tenant.ready_at(now))
            if when > now + EPS:
                if when != math.inf:  # else a call's end dispatches again (``release``)
                    self._arm(when)
                else:
                    self._arm(now + _IDLE_RECHECK)
                return
            owner = self._tenant.preferred()
            if owner is not None and any(not f.done() for f in owner.queue):
                best = owner  # a booking made for a connector goes to that connector
            if not self._tenant.take(best, now):
                self._disarm()
                return  # a booking is under way; it dispatches again when it lands
            best.pop().set_result(self._grant(best, max(now, when)))

    def _grant(self, lane: Lane, at: float) -> float:
        lane.budget.charge(at)
        self._tenant.charge(at)
        self._seq += 1
        lane.served = self._seq
        lane.granted += 1
        self._order.place(lane, at)  # its ready time moved: its place in the order too
        return at


_REGISTRY: weakref.WeakKeyDictionary[EventLoop, dict[str, TenantDispatcher]] = (
    weakref.WeakKeyDictionary()
)


class RateLimiter:
    """One client's handle on its tenant's dispatcher."""

    def __init__(self, limits: RateLimits, connector_id: str | None = None) -> None:
        self.limits = limits
        self.connector_id = connector_id
        self._dispatcher: TenantDispatcher | None = None
        self._lane: Lane | None = None
        self._key: str | None = None
        self._closed = False

    @property
    def is_open(self) -> bool:
        return self._lane is not None

    def open(self) -> None:
        self._closed = False
        loop = current_loop()
        limits = self.limits
        if limits.backend is not None and not is_asyncio(loop):
            raise ValidationError(
                "limits",
                "a shared tenant budget (RedisTenantBudget) runs on asyncio only: redis-py's "
                "client is asyncio's; under trio, pace each process on its own limits",
            )
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
        self._closed = True
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

    def _parts(self) -> tuple[TenantDispatcher, Lane]:
        if self._dispatcher is None or self._lane is None:
            if self._closed:
                raise ClientClosedError("the client was closed before this call could go")
            raise RuntimeError("the rate limiter is not open; use the client inside `async with`")
        return self._dispatcher, self._lane

    async def acquire(self, *, first: bool = False, max_wait: float | None = None) -> float:
        """Wait for a slot; ``first=True`` jumps this client's queue (a resend after a 429),
        behind the waiters that jumped it earlier.

        Every granted slot must be given back with `release` once its call has ended.
        With ``max_wait`` (seconds), give the place up and raise `SlotWaitTimeoutError`
        if no slot comes in time; no slot is used.
        """
        dispatcher, lane = self._parts()
        granted = dispatcher.grant_now(lane)  # a slot ready now needs no deadline timer
        if granted is not None:
            return granted
        if max_wait is None:
            return await dispatcher.wait(lane, first=first)
        try:
            async with fail_after(dispatcher._loop, max_wait):
                return await dispatcher.wait(lane, first=first)
        except TimeoutError:
            raise SlotWaitTimeoutError(max_wait) from None

    def release(self, *, abandoned: bool = False) -> None:
        """The call of a slot granted by `acquire` ended now.

        ``abandoned``: it ended without an answer (a timeout or a cancellation after it started
        going out), so it may still reach the server; it keeps its place for one more period.
        """
        if self._dispatcher is not None and self._lane is not None:
            self._dispatcher.release(self._lane, abandoned=abandoned)

    def seed(self, ends_wall: Iterable[float], wall_now: float) -> None:
        """Count the calls an earlier process of this connector made (their ends, seconds since
        the epoch): pacing continues from the truth instead of a pre-charged spacing."""
        dispatcher, lane = self._parts()
        now = dispatcher._loop.time()
        budgets = [lane.budget]
        if isinstance(dispatcher._tenant, Budget):
            budgets.append(dispatcher._tenant)
        horizon = 2 * max(budget.window for budget in budgets)
        ends = [now - (wall_now - e) for e in ends_wall if 0 <= wall_now - e <= horizon]
        for budget in budgets:
            budget.seed(ends)

    def recent_ends_wall(self, wall_now: float) -> list[float]:
        """This client's recent call ends as seconds since the epoch (for the token store)."""
        dispatcher, lane = self._parts()
        now = dispatcher._loop.time()
        return [wall_now - (now - e) for e in lane.budget.recent_ends() if e <= now]

    def pause(self, seconds: float) -> None:
        """Pause the whole tenant for ``seconds`` from now (a 429's Retry-After)."""
        dispatcher, _ = self._parts()
        dispatcher.pause(dispatcher._loop.time() + seconds)

    @property
    def granted(self) -> int:
        """Slots granted to this client so far."""
        return self._lane.granted if self._lane else 0
