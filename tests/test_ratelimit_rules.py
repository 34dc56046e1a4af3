"""The finer rules of the rate limiter: what an earlier process's calls count for, the
arguments refused (argument and reason), the jitter allowance and a closed limiter's error."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from kaizala_async import Rate, RateLimits, ValidationError
from kaizala_async._ratelimit import RateLimiter

from .vtime import run_virtual

WALL = 1_800_000_000.0


@contextlib.contextmanager
def opened(limits: RateLimits) -> Iterator[RateLimiter]:
    """A limiter, open for the block (the loop must be running)."""
    limiter = RateLimiter(limits)
    limiter.open()
    try:
        yield limiter
    finally:
        limiter.close()  # "now" on the wall clock of the tests below


def exact(connector: Rate) -> RateLimits:
    """Only ``connector``'s limit, no jitter allowance, nothing pre-charged: slots at the exact
    times the rule gives."""
    return RateLimits(connector=connector, tenant=None, jitter=0.0, precharge=False)


def test_seeded_ends_are_kept_for_two_windows_and_handed_on() -> None:
    # window = period + jitter = 10 s; ends older than 2 windows, or in the future, are dropped
    ages = [-1.0, 0.0, 4.0, 20.0, 20.5]

    async def main() -> list[float]:
        with opened(RateLimits(connector=Rate(3, 10.0), tenant=None, jitter=0.0)) as limiter:
            limiter.seed([WALL - age for age in ages], WALL)
            return limiter.recent_ends_wall(WALL)

    assert run_virtual(main) == [WALL - 20.0, WALL - 4.0, WALL]


@pytest.mark.parametrize("scope", ["connector", "tenant"])
def test_an_earlier_process_calls_hold_back_the_first_call_of_each_scope(scope: str) -> None:
    # Two calls ended 1 s ago against a limit of 2 per 10 s: the next slot cannot open before
    # they leave the window, 9 s from now; without them (only the pre-charge) it would be 5 s.
    # (With a tenant limit only, the seed was once dropped: its horizon was the connector's.)
    rate = Rate(2, 10.0)
    limits = (RateLimits(connector=rate, tenant=None, jitter=0.0) if scope == "connector"
              else RateLimits(connector=None, tenant=rate, jitter=0.0))  # fmt: skip

    async def main() -> tuple[float, float]:
        loop = asyncio.get_running_loop()
        seeded, fresh = RateLimiter(limits), RateLimiter(limits)
        seeded.open()
        fresh.open()
        try:
            seeded.seed([WALL - 1.0, WALL - 1.0], WALL)
            start = loop.time()
            a, b = await asyncio.gather(seeded.acquire(), fresh.acquire())
            return a - start, b - start
        finally:
            seeded.close()
            fresh.close()

    seeded_wait, fresh_wait = run_virtual(main)
    assert 9.0 <= seeded_wait <= 15.0
    assert fresh_wait == pytest.approx(5.0, abs=0.01)  # one spacing of pre-charge


@pytest.mark.parametrize(
    ("kwargs", "argument", "reason"),
    [
        ({"jitter": -1.0}, "jitter", "must be None or a non-negative number of seconds, not -1.0"),
        (
            {"jitter": float("nan")},
            "jitter",
            "must be None or a non-negative number of seconds, not nan",
        ),
        ({"jitter": "1"}, "jitter", "must be None or a non-negative number of seconds, not '1'"),
        ({"burst": 0}, "burst", "must be a positive whole number, not 0"),
        ({"burst": 2.0}, "burst", "must be a positive whole number, not 2.0"),
        ({"connector": (100, 60)}, "connector", "must be a Rate or None, not (100, 60)"),
        ({"tenant": "300/60"}, "tenant", "must be a Rate or None, not '300/60'"),
        ({"backend": object()}, "backend", None),
    ],
)
def test_limits_refused_name_the_argument_and_say_why(
    kwargs: dict[str, Any], argument: str, reason: str | None
) -> None:
    with pytest.raises(ValidationError) as caught:
        RateLimits(**kwargs)
    assert caught.value.argument == argument
    if reason is not None:
        assert caught.value.reason == reason
    else:
        assert caught.value.reason.startswith("must be a tenant backend such as RedisTenantBudget")


class _Backend:
    tenant_key = "contoso"

    async def reserve(self, *args: object) -> None:  # pragma: no cover - never called
        return None


def test_a_shared_tenant_needs_a_tenant_rate_and_even_pacing() -> None:
    with pytest.raises(ValidationError) as caught:
        RateLimits(backend=_Backend(), tenant=None)  # type: ignore[arg-type]
    assert (caught.value.argument, caught.value.reason) == (
        "backend",
        "a shared tenant budget needs a tenant Rate",
    )
    with pytest.raises(ValidationError) as caught:
        RateLimits(backend=_Backend(), burst=2)  # type: ignore[arg-type]
    assert (caught.value.argument, caught.value.reason) == (
        "backend",
        "a shared tenant budget paces evenly: burst must be 1",
    )
    assert RateLimits(burst=3, jitter=0).burst == 3 and RateLimits(jitter=0).jitter == 0


def test_the_jitter_allowance() -> None:
    assert RateLimits().jitter_for(Rate(100, 60.0)) == 0.25  # capped
    assert RateLimits().jitter_for(Rate(10, 10.0)) == pytest.approx(0.05)  # 0.5 % of the period
    assert RateLimits(jitter=1).jitter_for(Rate(10, 10.0)) == 1.0
    assert type(RateLimits(jitter=1).jitter_for(Rate(10, 10.0))) is float
    unlimited = RateLimits.unlimited()
    assert (unlimited.connector, unlimited.tenant) == (None, None)
    defaults = RateLimits()
    assert (defaults.connector, defaults.tenant) == (Rate(100, 60.0), Rate(300, 60.0))
    assert (defaults.burst, defaults.precharge, defaults.max_wait) == (1, True, None)


def test_a_closed_limiter_says_to_use_the_client_inside_async_with() -> None:
    async def main() -> None:
        limiter = RateLimiter(RateLimits())
        assert not limiter.is_open and limiter.granted == 0
        with pytest.raises(RuntimeError, match=r"^the rate limiter is not open; use the client"):
            await limiter.acquire()
        with pytest.raises(RuntimeError):
            limiter.pause(1.0)
        limiter.release()  # nothing to give back: no error
        limiter.open()
        assert limiter.is_open
        await limiter.acquire()
        assert limiter.granted == 1
        limiter.close()
        limiter.close()  # twice is fine
        assert not limiter.is_open and limiter.granted == 0

    run_virtual(main)


def test_clients_sharing_a_tenant_key_that_disagree_are_told_the_rate_in_force() -> None:
    async def main() -> str:
        a = RateLimiter(RateLimits(tenant=Rate(300, 60.0), tenant_key="contoso"))
        b = RateLimiter(RateLimits(tenant=Rate(200, 60.0), tenant_key="contoso"))
        a.open()
        try:
            with pytest.raises(ValidationError) as caught:
                b.open()
            assert caught.value.argument == "limits"
            return caught.value.reason
        finally:
            a.close()

    reason = run_virtual(main)
    assert reason.startswith("tenant 'contoso' already runs at ")
    assert "300" in reason and reason.endswith("must give it the same tenant Rate")


def test_a_call_ending_lets_a_waiter_in_as_soon_as_the_ledger_allows() -> None:
    """Two calls in flight fill a 2-per-0.1 s budget; a third waits (no end in sight: it is
    parked on the 1 s idle re-check). When the first call ends, the waiter's slot is worked out
    at once: a quarter of a second later, not at the next re-check."""

    async def main() -> float:
        loop = asyncio.get_running_loop()
        with opened(exact(Rate(2, 0.1))) as limiter:
            start = loop.time()
            await limiter.acquire()
            await limiter.acquire()  # both in flight
            waiter = asyncio.ensure_future(limiter.acquire())
            await asyncio.sleep(0.3)
            limiter.release()  # the first call ends at 0.3 s
            return await waiter - start

    granted = run_virtual(main)
    assert 0.3 < granted < 0.9  # soon after the end at 0.3 s; the idle re-check is at 1 s


@pytest.mark.parametrize("scope", ["connector", "tenant"])
def test_an_abandoned_call_is_held_one_more_period_in_each_scope(scope: str) -> None:
    rate = Rate(1, 10.0)
    limits = (exact(rate)
              if scope == "connector"
              else RateLimits(connector=None, tenant=rate, jitter=0.0, precharge=False))  # fmt: skip

    def next_grant(abandoned: bool) -> float:
        async def main() -> float:
            loop = asyncio.get_running_loop()
            with opened(limits) as limiter:
                start = loop.time()
                await limiter.acquire()
                await asyncio.sleep(1.0)
                limiter.release(abandoned=abandoned)
                return await limiter.acquire() - start

        return run_virtual(main)

    assert next_grant(True) == pytest.approx(next_grant(False) + 10.0, abs=1e-3)


def test_connectors_waiting_on_their_tenant_are_served_in_turn() -> None:
    async def main() -> list[str]:
        limits = RateLimits(connector=None, tenant=Rate(2, 1.0), tenant_key="turns", jitter=0.0)
        a, b = RateLimiter(limits, "a"), RateLimiter(limits, "b")
        a.open()
        b.open()
        order: list[str] = []

        async def call(limiter: RateLimiter, name: str) -> None:
            await limiter.acquire()
            order.append(name)
            limiter.release()

        try:
            await asyncio.gather(*(call(a, "a") for _ in range(4)),
                                 *(call(b, "b") for _ in range(4)))  # fmt: skip
        finally:
            a.close()
            b.close()
        return order

    order = run_virtual(main)
    assert order[1:7] in (["b", "a"] * 3, ["a", "b"] * 3)  # alternating once both wait


def test_a_grant_among_many_waiting_connectors_looks_at_a_few_budgets_not_all() -> None:
    """300 connectors of one tenant wait at once, twice each: every grant asks a handful of
    budgets for their ready time (the dispatcher once asked every waiting lane's on every
    dispatch: hundreds per grant), and the connectors are still served in turn."""
    from kaizala_async._budget import Budget

    asked = 0
    real = Budget.ready_at

    def counting(self: Budget, now: float) -> float:
        nonlocal asked
        asked += 1
        return real(self, now)

    async def main() -> list[str]:
        limits = RateLimits(connector=None, tenant=Rate(30, 1.0), tenant_key="many",
                            jitter=0.0, precharge=False)  # fmt: skip
        limiters = [RateLimiter(limits, f"c{n}") for n in range(300)]
        for limiter in limiters:
            limiter.open()
        order: list[str] = []

        async def twice(limiter: RateLimiter) -> None:
            for _ in range(2):
                await limiter.acquire()
                order.append(str(limiter.connector_id))
                limiter.release()

        try:
            await asyncio.gather(*(twice(limiter) for limiter in limiters))
        finally:
            for limiter in limiters:
                limiter.close()
        return order

    Budget.ready_at = counting  # type: ignore[method-assign]
    try:
        order = run_virtual(main)
    finally:
        Budget.ready_at = real  # type: ignore[method-assign]
    assert len(order) == 600
    assert len(set(order[:300])) == 300  # each connector once before any twice
    assert asked / len(order) <= 12  # about 9; it was 901 when every lane was asked


def test_a_waiter_cancelled_before_its_slot_leaves_no_trace() -> None:
    """One call per 10 s: A ends at 1 s, so the next slot is at 21 s. B waits and is cancelled
    at 5 s; C then gets the 21 s slot, as if B had never asked."""

    async def main() -> float:
        loop = asyncio.get_running_loop()
        with opened(exact(Rate(1, 10.0))) as limiter:
            start = loop.time()
            await limiter.acquire()
            await asyncio.sleep(1.0)
            limiter.release()
            waiter = asyncio.ensure_future(limiter.acquire())
            await asyncio.sleep(4.0)
            waiter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await waiter
            return await limiter.acquire() - start

    assert run_virtual(main) == pytest.approx(21.0, abs=0.01)


def test_a_waiter_cancelled_just_after_its_grant_gives_the_slot_back() -> None:
    """Cancelled in the same loop turn as its grant (before it could use the slot), a waiter
    hands the slot back as a call that ended unused: the next call still gets one."""

    async def main() -> float:
        loop = asyncio.get_running_loop()
        with opened(exact(Rate(1, 10.0))) as limiter:
            start = loop.time()
            await limiter.acquire()
            limiter.release()
            waiter = asyncio.ensure_future(limiter.acquire())
            await asyncio.sleep(0)
            timer = limiter._dispatcher._timer  # type: ignore[union-attr]  # its grant's timer
            assert timer is not None
            loop.call_at(timer.when(), waiter.cancel)  # runs right after the grant
            with contextlib.suppress(asyncio.CancelledError):
                await waiter
            return await asyncio.wait_for(limiter.acquire(), 100.0) - start

    assert run_virtual(main) == pytest.approx(40.0, abs=0.01)  # 20 s after the unused slot


@pytest.mark.parametrize("scope", ["connector", "tenant"])
def test_each_scope_spaces_its_calls_by_its_window_with_the_jitter(scope: str) -> None:
    # 10 calls per 10 s with the default jitter (0.5 % of the period, 0.05 s): the pre-charged
    # first call waits one spacing, (10 + 0.05) / 10 s
    rate = Rate(10, 10.0)
    limits = (RateLimits(connector=rate, tenant=None) if scope == "connector"
              else RateLimits(connector=None, tenant=rate))  # fmt: skip

    async def main() -> float:
        loop = asyncio.get_running_loop()
        with opened(limits) as limiter:
            start = loop.time()
            return await limiter.acquire() - start

    assert run_virtual(main) == pytest.approx(1.005, abs=1e-6)


def test_a_tenant_key_is_held_while_any_client_uses_it_and_freed_by_the_last() -> None:
    async def main() -> None:
        def limiter(limit: int) -> RateLimiter:
            return RateLimiter(RateLimits(tenant=Rate(limit, 60.0), tenant_key="held"), "c")

        a, b = limiter(300), limiter(300)
        a.open()
        b.open()
        a.close()
        with pytest.raises(ValidationError):  # b still runs the tenant at 300
            limiter(200).open()
        b.close()
        c = limiter(200)  # the last client closed: the key is free for another rate
        c.open()
        assert c.is_open and c.connector_id == "c"
        c.close()

    run_virtual(main)


def _grant_order(script: list[str], max_wait: float | None = None) -> list[str]:
    """Waiters of one connector (one slot a second, the first held), granted in what order.

    ``script`` steps: ``"n1"`` queues a plain call, ``"f1"`` one that jumps the queue
    (``first=True``), ``"-f1"`` cancels that waiter, ``"tick"`` lets the next slot go.
    """

    async def main() -> list[str]:
        order: list[str] = []
        with opened(RateLimits(connector=Rate(1, 1.0), tenant=None, jitter=0.0)) as limiter:
            await limiter.acquire()  # the slot in use while the script queues
            limiter.release()
            waiters: dict[str, asyncio.Task[None]] = {}

            async def call(name: str) -> None:
                if name.startswith("f"):
                    await limiter.acquire(first=True, max_wait=max_wait)
                else:  # the default: in turn
                    await limiter.acquire(max_wait=max_wait)
                limiter.release()
                order.append(name)

            for step in script:
                if step == "tick":
                    count = len(order)
                    while len(order) == count:
                        await asyncio.sleep(0.1)
                elif step.startswith("-"):
                    waiters[step[1:]].cancel()
                else:
                    waiters[step] = asyncio.create_task(call(step))
                await asyncio.sleep(0)
            await asyncio.gather(*waiters.values(), return_exceptions=True)
        return order

    return run_virtual(main)


@pytest.mark.parametrize(
    ("script", "order"),
    [
        # Plain calls are served in turn; one that jumps the queue (a resend after a 429) goes
        # ahead of them ...
        ("n1 n2 n3 f1", "f1 n1 n2 n3"),
        # ... and several (resends, calls whose token went stale) go in their own order.
        ("n1 n2 f1 f2 f3", "f1 f2 f3 n1 n2"),
        # One that jumped and was served no longer counts: the next goes ahead of n1 still ...
        ("f1 n1 tick f2", "f1 f2 n1"),
        # ... and behind the others that jumped before it.
        ("f1 f2 n1 tick f3", "f1 f2 f3 n1"),
        # A plain call served leaves no place at the head: f1 goes before n2.
        ("n1 n2 n3 tick f1", "n1 f1 n2 n3"),
        # A waiter that jumped and gave up frees its place among those that jumped ...
        ("n1 f1 f2 -f1 f3", "f2 f3 n1"),
        ("n1 f1 f2 f3 -f1 f4", "f2 f3 f4 n1"),
        # ... and a plain one that gave up takes nothing from them.
        ("f1 n1 n2 -n1 f2", "f1 f2 n2"),
    ],
)
@pytest.mark.parametrize("max_wait", [None, 100.0])
def test_calls_that_jump_the_queue_keep_their_own_order(
    script: str, order: str, max_wait: float | None
) -> None:
    assert _grant_order(script.split(), max_wait) == order.split()


def test_a_slot_ready_now_is_granted_without_arming_a_max_wait_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``max_wait`` bounds a wait: a call that need not wait arms no timer for it."""
    from kaizala_async import _ratelimit

    armed: list[float] = []
    real = _ratelimit.fail_after

    def counting(loop: object, seconds: float) -> Any:
        armed.append(seconds)
        return real(loop, seconds)

    monkeypatch.setattr(_ratelimit, "fail_after", counting)

    async def main() -> list[float]:
        with opened(RateLimits(connector=Rate(2, 1.0), tenant=None, jitter=0.0, burst=2,
                               precharge=False)) as limiter:  # fmt: skip
            for _ in range(2):
                await limiter.acquire(max_wait=5.0)  # ready at once: no deadline
                limiter.release()
            assert armed == []
            await limiter.acquire(max_wait=5.0)  # the third must wait: bounded
            limiter.release()
        return armed

    assert run_virtual(main) == [5.0]


def test_a_call_end_that_leaves_the_next_slot_where_it_was_re_arms_no_timer() -> None:
    """The dispatcher keeps its timer when a dispatch finds the same next slot (a call's end
    while others wait is the common case), and still grants each waiter at its time."""

    async def main() -> tuple[list[float], list[float]]:
        loop = asyncio.get_running_loop()
        armed: list[float] = []
        real = loop.call_at

        def counting(when: float, callback: Any, *args: Any, **kw: Any) -> asyncio.TimerHandle:
            if "Dispatcher" in repr(callback):  # the dispatcher's own timer, not the test's
                armed.append(when - start)
            return real(when, callback, *args, **kw)

        with opened(RateLimits(connector=Rate(2, 10.0), tenant=None, jitter=0.0,
                               precharge=False)) as limiter:  # fmt: skip
            start = loop.time()
            loop.call_at = counting  # type: ignore[method-assign]
            await limiter.acquire()  # at once
            granted: list[float] = []

            async def waiter() -> None:
                await limiter.acquire()
                granted.append(loop.time() - start)

            task = asyncio.ensure_future(waiter())
            await asyncio.sleep(1.0)
            limiter.release()  # the first call ends: the waiter's slot is still at +5 s
            await task
            limiter.release()
            loop.call_at = real  # type: ignore[method-assign]
        return armed, granted

    armed, granted = run_virtual(main)
    assert granted == [pytest.approx(5.0, abs=1e-3)]
    assert [round(a, 3) for a in armed] == [5.0]  # armed once, not again on the call's end


def test_closing_tells_each_waiting_call_why_and_a_closed_limiter_refuses_new_ones() -> None:
    from kaizala_async import ClientClosedError

    async def main() -> list[str]:
        limiter = RateLimiter(exact(Rate(1, 10.0)))
        limiter.open()
        await limiter.acquire()  # the slot in use: the next calls wait
        waiting = [asyncio.ensure_future(limiter.acquire()) for _ in range(3)]
        await asyncio.sleep(0)
        waiting[1].cancel()  # one gives up first: it stays cancelled, not told
        await asyncio.sleep(0)
        limiter.close()
        told = []
        for task in waiting:
            try:
                await task
            except ClientClosedError as exc:
                told.append(str(exc))
            except asyncio.CancelledError:
                told.append("cancelled")
        try:
            await limiter.acquire()
        except ClientClosedError as exc:
            told.append(str(exc))
        return told

    advice = "; use the client inside `async with KaizalaClient(...)`"
    waited = (
        "the client was closed while this call waited for a rate-limit slot; nothing was sent"
        + advice
    )
    assert run_virtual(main) == [
        waited, "cancelled", waited, "the client was closed before this call could go" + advice,
    ]  # fmt: skip


def test_a_limiter_says_whether_it_was_never_opened_or_closed_and_can_be_opened_again() -> None:
    from kaizala_async import ClientClosedError

    async def main() -> None:
        limiter = RateLimiter(exact(Rate(5, 1.0)))
        with pytest.raises(RuntimeError) as never:
            await limiter.acquire()
        assert str(never.value) == (
            "the rate limiter is not open; use the client inside `async with`"
        )
        limiter.open()
        limiter.close()
        with pytest.raises(ClientClosedError):
            await limiter.acquire()
        limiter.open()  # a client entered again
        await limiter.acquire()
        limiter.release()
        limiter.close()

    run_virtual(main)


def test_a_shared_tenant_budget_is_refused_under_trio_with_the_reason() -> None:
    import anyio

    from kaizala_async import RedisTenantBudget

    limits = RateLimits(backend=RedisTenantBudget("redis://cache:6379/0", "contoso"))

    async def main() -> None:
        RateLimiter(limits).open()

    with pytest.raises(ValidationError) as caught:
        anyio.run(main, backend="trio")
    assert str(caught.value) == (
        "limits: a shared tenant budget (RedisTenantBudget) runs on asyncio only: redis-py's "
        "client is asyncio's; under trio, pace each process on its own limits"
    )


class Dispatches:
    """How many times the dispatchers ran a dispatch (the ``dispatches`` fixture)."""

    count = 0


@pytest.fixture
def dispatches(monkeypatch: pytest.MonkeyPatch) -> Dispatches:
    from kaizala_async._ratelimit import TenantDispatcher

    seen = Dispatches()
    real = TenantDispatcher._dispatch

    def counting(self: TenantDispatcher) -> None:
        seen.count += 1
        real(self)

    monkeypatch.setattr(TenantDispatcher, "_dispatch", counting)
    return seen


def test_a_waiter_joining_a_lane_that_already_waits_does_not_redo_the_dispatch(
    dispatches: Dispatches,
) -> None:
    """The armed timer already serves a lane with waiters: another waiter of its changes no
    ready time, so it is only queued (a dispatch per waiter was a third of a paced call's
    pacing work). The one placing the lane does dispatch, and every waiter is served in turn."""

    async def main() -> tuple[list[int], list[float]]:
        limits = RateLimits(connector=Rate(1, 1.0), tenant=None, jitter=0.0, precharge=False)
        limiter = RateLimiter(limits, "c")
        limiter.open()
        counts: list[int] = []
        granted: list[float] = []
        try:
            granted.append(await limiter.acquire())  # ready now: no dispatch, no waiter
            limiter.release()
            counts.append(dispatches.count)
            first = asyncio.ensure_future(limiter.acquire())
            await asyncio.sleep(0)
            counts.append(dispatches.count)  # the lane was placed: one dispatch, a timer armed
            second = asyncio.ensure_future(limiter.acquire())
            third = asyncio.ensure_future(limiter.acquire())
            await asyncio.sleep(0)
            counts.append(dispatches.count)  # two more waiters of that lane: nothing redone
            for waiter in (first, second, third):
                granted.append(await waiter)
                limiter.release()
        finally:
            limiter.close()
        return counts, granted

    counts, granted = run_virtual(main)
    assert counts[1] - counts[0] == 1
    assert counts[2] == counts[1]
    assert len(granted) == 4 and granted == sorted(set(granted))  # each waiter in turn, paced


def test_an_end_that_moves_no_ready_time_does_not_redo_the_dispatch(
    dispatches: Dispatches,
) -> None:
    """A call's end re-runs the dispatch only when a ledger bound a ready time (the end may
    bring a grant forward); when the even schedule binds, nothing moved and the armed timer
    stands. The waiter is granted on the schedule all the same."""

    async def main() -> tuple[int, float, float]:
        limits = RateLimits(connector=Rate(2, 1.0), tenant=None, jitter=0.0, precharge=False)
        limiter = RateLimiter(limits, "c")
        limiter.open()
        try:
            start = await limiter.acquire()
            waiter = asyncio.ensure_future(limiter.acquire())
            await asyncio.sleep(0)
            before = dispatches.count
            limiter.release()  # the schedule, not the ledger, binds the waiter's slot
            after = dispatches.count
            second = await waiter
            limiter.release()
        finally:
            limiter.close()
        return after - before, start, second

    redone, start, second = run_virtual(main)
    assert redone == 0
    assert second - start == pytest.approx(0.5)


def test_a_connector_ready_now_is_served_at_once_while_another_waits_on_a_timer() -> None:
    """Connector a waits a second for its own budget (a timer is armed for it); connector b of
    the same tenant, with room now, joins: its lane is placed ahead of the armed timer, so the
    dispatch runs at once and b goes now, not when a's timer fires."""

    async def main() -> float:
        loop = asyncio.get_running_loop()
        limits = RateLimits(connector=Rate(1, 1.0), tenant=Rate(100, 1.0), tenant_key="one-tenant",
                            jitter=0.0, precharge=False)  # fmt: skip
        a, b = RateLimiter(limits, "a"), RateLimiter(limits, "b")
        a.open()
        b.open()
        try:
            start = loop.time()
            await a.acquire()
            a.release()
            waiting = asyncio.ensure_future(a.acquire())  # a's next slot: a second from now
            await asyncio.sleep(0.01)
            assert not waiting.done()
            await b.acquire()
            served = loop.time() - start
            b.release()
            await waiting
            a.release()
            return served
        finally:
            a.close()
            b.close()

    assert run_virtual(main) < 0.1
