"""The tenant step shared by processes (``_shared_tenant``) on its own, driven call by call
against a backend that answers what the test tells it, in virtual time: when a booking is made,
what each report carries, the hand-back of a booking to the lane it was made for, the fallback
share and its recovery, pauses, and what closing leaves behind."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from kaizala_async import BracketReport, Rate, SharedBudgetStats
from kaizala_async._budget import Budget
from kaizala_async._lane import Lane
from kaizala_async._shared_tenant import SharedTenant

from .vtime import run_virtual

TENANT = Rate(10, 6.0)


class Backend:
    """Answers each reservation with ``answer`` (wait, processes, booked), or raises ``error``;
    records every call."""

    tenant_key = "contoso"
    timeout = 0.5
    retry_every = 1.0
    errors: tuple[type[BaseException], ...] = (KeyError,)

    def __init__(self, *, share_connectors: bool = False, processes: int | None = None) -> None:
        self.share_connectors = share_connectors
        self.processes = processes
        self.stats = SharedBudgetStats()
        self.answer: tuple[float, int, bool] = (0.0, 2, True)
        self.error: BaseException | None = None
        self.delay = 0.01
        self.calls: list[dict[str, Any]] = []
        self.pauses: list[float] = []
        self.pause_error: BaseException | None = None
        self.closed = 0

    async def reserve(self, **kwargs: Any) -> tuple[float, int, bool]:
        self.calls.append(kwargs)
        await asyncio.sleep(self.delay)
        if self.error is not None:
            raise self.error
        return self.answer

    async def pause(self, *, tenant: Rate, seconds: float) -> None:
        if self.pause_error is not None:
            raise self.pause_error
        self.pauses.append(seconds)

    async def aclose(self) -> None:
        self.closed += 1


CONNECTOR = Rate(5, 6.0)


def _lane(connector: str | None = "app-1", rate: Rate | None = CONNECTOR) -> Lane:
    return Lane(Budget(rate, jitter=0.0, burst=1, precharge=False, now=0.0), rate, 0.0, connector)


def _run(
    backend: Backend, body: Callable[[SharedTenant, list[Lane], list[float]], Awaitable[None]],
    lanes: list[Lane] | None = None, jitter: float = 0.0,
) -> None:  # fmt: skip
    async def main() -> None:
        loop = asyncio.get_running_loop()
        woken: list[float] = []
        chosen = lanes if lanes is not None else [_lane()]
        tenant = SharedTenant(backend, TENANT, jitter, loop, chosen,
                              lambda: woken.append(loop.time()))  # fmt: skip
        await body(tenant, chosen, woken)

    run_virtual(main)


async def _settle() -> None:
    """Let a booking's round trip (10 ms) finish."""
    await asyncio.sleep(0.05)


def test_a_lane_is_granted_only_once_its_booking_is_back_and_each_grant_uses_one() -> None:
    backend = Backend()

    async def body(tenant: SharedTenant, lanes: list[Lane], woken: list[float]) -> None:
        loop = asyncio.get_running_loop()
        lane = lanes[0]
        assert tenant.ready_at(loop.time()) == -math.inf
        assert tenant.take(lane, loop.time()) is False  # nothing booked: a booking starts
        assert tenant.take(lane, loop.time()) is False  # ... one at a time
        await asyncio.sleep(0)  # the booking's task starts
        assert len(backend.calls) == 1
        backend.answer = (0.5, 3, True)
        await _settle()
        assert woken  # the dispatcher is told the booking is back
        booked_at = woken[0]
        assert tenant.ready_at(loop.time()) == pytest.approx(booked_at + 0.5)
        assert tenant.preferred() is None  # no connector in the booking: any lane may use it
        assert tenant.take(lane, loop.time() + 5.0) is True  # however late
        tenant.charge(loop.time())
        assert tenant.ready_at(loop.time()) == -math.inf  # used: nothing held
        assert backend.stats.reservations == 1 and backend.stats.round_trips == 1
        call = backend.calls[0]
        assert call["tenant"] == TENANT and call["connector"] is None
        assert call["call_id"] is not None and call["report"] == BracketReport()

    _run(backend, body)


def test_a_full_tenant_is_asked_again_after_the_wait_it_names_and_not_before() -> None:
    backend = Backend()
    backend.answer = (2.0, 3, False)

    async def body(tenant: SharedTenant, lanes: list[Lane], woken: list[float]) -> None:
        loop = asyncio.get_running_loop()
        tenant.take(lanes[0], loop.time())
        await _settle()
        answered = woken[0]
        assert tenant.ready_at(loop.time()) == pytest.approx(answered + 2.0)
        assert tenant.take(lanes[0], loop.time()) is False
        assert len(backend.calls) == 1  # not before the wait is over
        await asyncio.sleep(2.0)
        assert woken[-1] == pytest.approx(answered + 2.0)  # a wake-up at the time named
        backend.answer = (0.0, 3, True)
        assert tenant.take(lanes[0], loop.time()) is False
        await asyncio.sleep(0)
        assert len(backend.calls) == 2
        await _settle()
        assert tenant.take(lanes[0], loop.time()) is True

    _run(backend, body)


def test_a_zero_wait_for_a_full_tenant_still_moves_the_retry_past_now() -> None:
    backend = Backend()
    backend.answer = (0.0, 3, False)

    async def body(tenant: SharedTenant, lanes: list[Lane], woken: list[float]) -> None:
        loop = asyncio.get_running_loop()
        tenant.take(lanes[0], loop.time())
        await _settle()
        assert tenant.ready_at(woken[0]) > woken[0]

    _run(backend, body)


def test_with_shared_connectors_a_booking_carries_its_lane_and_serves_no_other() -> None:
    backend = Backend(share_connectors=True)
    mine, other, anonymous = _lane("app-1", Rate(5, 6.0)), _lane("app-2"), _lane(None)

    async def body(tenant: SharedTenant, lanes: list[Lane], woken: list[float]) -> None:
        loop = asyncio.get_running_loop()
        tenant.take(mine, loop.time())
        await asyncio.sleep(0)
        assert backend.calls[0]["connector"] == ("app-1", Rate(5, 6.0), 0.0)
        await _settle()
        assert tenant.preferred() is mine
        held_id = backend.calls[0]["call_id"]
        assert tenant.take(other, loop.time()) is False  # not its booking: handed back
        assert tenant.preferred() is None
        await asyncio.sleep(0)
        assert backend.calls[1]["report"].ended[0][0] == held_id  # with the next booking
        assert backend.calls[1]["connector"][0] == "app-2"
        await _settle()
        assert tenant.take(other, loop.time()) is True
        tenant.charge(loop.time())
        tenant.take(anonymous, loop.time())  # a lane with no connector id books the tenant only
        await asyncio.sleep(0)
        assert backend.calls[2]["connector"] is None

    _run(backend, body, lanes=[mine, other, anonymous])


def test_without_shared_connectors_no_booking_names_a_connector() -> None:
    backend = Backend(share_connectors=False)

    async def body(tenant: SharedTenant, lanes: list[Lane], woken: list[float]) -> None:
        tenant.take(lanes[0], asyncio.get_running_loop().time())
        await asyncio.sleep(0)
        assert backend.calls[0]["connector"] is None

    _run(backend, body)


def test_a_lane_with_no_rate_books_the_tenant_only_even_when_connectors_are_shared() -> None:
    backend = Backend(share_connectors=True)
    unpaced = _lane("app-9", None)

    async def body(tenant: SharedTenant, lanes: list[Lane], woken: list[float]) -> None:
        tenant.take(unpaced, asyncio.get_running_loop().time())
        await asyncio.sleep(0)
        assert backend.calls[0]["connector"] is None

    _run(backend, body, lanes=[unpaced])


async def _grant(tenant: SharedTenant, lane: Lane) -> float:
    """Book, wait for the booking, take it and charge it; the grant's time."""
    loop = asyncio.get_running_loop()
    if not tenant.take(lane, loop.time()):
        await _settle()
        assert tenant.take(lane, loop.time())
    now = loop.time()
    tenant.charge(now)
    return now


def test_ends_ride_with_the_next_booking_or_go_alone_after_a_tenth_of_the_period() -> None:
    backend = Backend()

    async def body(tenant: SharedTenant, lanes: list[Lane], woken: list[float]) -> None:
        loop = asyncio.get_running_loop()
        await _grant(tenant, lanes[0])
        first_id = backend.calls[0]["call_id"]
        await asyncio.sleep(1.0)
        ended_at = loop.time()
        tenant.finish(ended_at)
        await asyncio.sleep(0.3)  # the next booking carries the end
        tenant.take(lanes[0], loop.time())
        await asyncio.sleep(0)
        report = backend.calls[1]["report"]
        assert [name for name, _ in report.ended] == [first_id]
        assert report.ended[0][1] == pytest.approx(0.3, abs=1e-3)  # seconds before the report
        await _settle()
        tenant.charge(loop.time())
        second_id = backend.calls[1]["call_id"]
        tenant.finish(loop.time(), abandoned=True)  # held for a period past its abandonment
        ended_at = loop.time()
        await asyncio.sleep(0.5)  # no booking comes: a report of its own after 0.6 s
        assert len(backend.calls) == 2
        await asyncio.sleep(0.2)
        alone = backend.calls[2]
        assert alone["call_id"] is None and alone["connector"] is None
        assert [name for name, _ in alone["report"].ended] == [second_id]
        reported_at = ended_at + 0.1 * TENANT.period
        assert alone["report"].ended[0][1] == pytest.approx(
            reported_at - (ended_at + TENANT.period), abs=1e-3
        )
        await _settle()
        tenant.take(lanes[0], loop.time())  # reported once: never again
        await asyncio.sleep(0)
        assert backend.calls[3]["report"].ended == ()

    _run(backend, body)


def test_an_end_with_nothing_booked_is_not_reported() -> None:
    backend = Backend()

    async def body(tenant: SharedTenant, lanes: list[Lane], woken: list[float]) -> None:
        tenant.finish(asyncio.get_running_loop().time())  # no call of ours in flight
        await asyncio.sleep(2.0)
        assert backend.calls == []

    _run(backend, body)


def test_calls_end_oldest_first_whatever_order_they_finish_in() -> None:
    backend = Backend()

    async def body(tenant: SharedTenant, lanes: list[Lane], woken: list[float]) -> None:
        loop = asyncio.get_running_loop()
        await _grant(tenant, lanes[0])
        await _grant(tenant, lanes[0])
        ids = [backend.calls[0]["call_id"], backend.calls[1]["call_id"]]
        assert ids[0] != ids[1]
        tenant.finish(loop.time())
        await asyncio.sleep(1.0)
        assert [name for name, _ in backend.calls[2]["report"].ended] == [ids[0]]

    _run(backend, body)


def test_a_pause_holds_the_tenant_and_is_told_to_the_backend_once() -> None:
    backend = Backend()

    async def body(tenant: SharedTenant, lanes: list[Lane], woken: list[float]) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        tenant.pause(now + 3.0)
        tenant.pause(now + 1.0)  # an earlier end never shortens a pause
        assert tenant.ready_at(now) == now + 3.0
        await asyncio.sleep(0)
        assert backend.pauses == [3.0, 1.0]
        backend.pause_error = KeyError("down")
        tenant.pause(now + 4.0)  # best effort: a failing backend is not an error here
        await asyncio.sleep(0.1)
        assert tenant.pause_until == now + 4.0

    _run(backend, body)


def test_a_failing_backend_paces_by_a_share_of_the_processes_last_seen(
    caplog: pytest.LogCaptureFixture,
) -> None:
    backend = Backend()
    backend.answer = (0.0, 5, True)  # five processes share the tenant

    async def body(tenant: SharedTenant, lanes: list[Lane], woken: list[float]) -> None:
        loop = asyncio.get_running_loop()
        await _grant(tenant, lanes[0])
        tenant.finish(loop.time())
        backend.error = KeyError("redis down")
        tenant.take(lanes[0], loop.time())
        await _settle()
        assert backend.stats.failures == 1 and backend.stats.outages == 1
        grants = 0
        start = loop.time()
        while loop.time() < start + TENANT.period:  # one period on the fallback
            now = loop.time()
            if tenant.ready_at(now) <= now and tenant.take(lanes[0], now):
                tenant.charge(now)
                tenant.finish(now)
                grants += 1
            await asyncio.sleep(0.01)
        # 10 / 5 = 2 a window, the call made before the outage counted against it.
        assert grants == 1
        assert backend.stats.fallback_grants == 1

    with caplog.at_level(logging.WARNING, logger="kaizala_async.ratelimit"):
        _run(backend, body)
    warnings = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(warnings) == 1 and "KeyError" in warnings[0].getMessage()
    assert "redis down" not in caplog.text
    assert "2 calls / 6 s" in warnings[0].getMessage()


def test_on_the_fallback_each_grant_may_probe_the_backend_once_a_retry_period() -> None:
    backend = Backend()
    backend.error = OSError()

    async def body(tenant: SharedTenant, lanes: list[Lane], woken: list[float]) -> None:
        loop = asyncio.get_running_loop()
        tenant.take(lanes[0], loop.time())
        await _settle()
        start = loop.time()
        while loop.time() < start + 3.5:
            tenant.take(lanes[0], loop.time())
            await asyncio.sleep(0.1)
        assert len(backend.calls) == 1 + 3  # one probe a second, not one a grant
        assert backend.stats.failures == 4 and backend.stats.outages == 1

    _run(backend, body)


def test_before_any_process_was_seen_the_fallback_is_the_tightest_connector_limit() -> None:
    backend = Backend()
    backend.error = TimeoutError()
    lanes = [_lane("app-1", Rate(4, 6.0)), _lane("app-2", Rate(3, 6.0)), _lane("app-3", None)]

    async def body(tenant: SharedTenant, lanes: list[Lane], woken: list[float]) -> None:
        loop = asyncio.get_running_loop()
        tenant.take(lanes[0], loop.time())
        await _settle()
        granted = []
        for _ in range(10):
            now = loop.time()
            if tenant.ready_at(now) <= now and tenant.take(lanes[0], now):
                tenant.charge(now)
                tenant.finish(now)
                granted.append(now)
            await asyncio.sleep(0.05)
        assert len(granted) == 1  # 3 calls / 6 s: evenly spaced, 2 s apart
        assert tenant.ready_at(loop.time()) == pytest.approx(granted[0] + 2.0)

    _run(backend, body, lanes=lanes)


def test_a_slow_backend_is_down_and_a_process_count_of_none_keeps_the_last_one() -> None:
    backend = Backend(processes=2)
    backend.delay = 5.0  # longer than the backend's timeout (0.5 s)

    async def body(tenant: SharedTenant, lanes: list[Lane], woken: list[float]) -> None:
        loop = asyncio.get_running_loop()
        tenant.take(lanes[0], loop.time())
        await asyncio.sleep(0.6)
        assert backend.stats.outages == 1
        now = loop.time()
        assert tenant.take(lanes[0], now) is True  # the fallback: 10 / 2 = 5 a window
        tenant.charge(now)
        assert tenant.ready_at(now) == pytest.approx(now + 6.0 / 5)

    _run(backend, body)


def test_a_booking_held_when_the_backend_fails_is_handed_back_on_recovery() -> None:
    backend = Backend(share_connectors=True)
    first, second = _lane("app-1"), _lane("app-2")

    async def body(tenant: SharedTenant, lanes: list[Lane], woken: list[float]) -> None:
        loop = asyncio.get_running_loop()
        tenant.take(first, loop.time())
        await _settle()
        held = backend.calls[0]["call_id"]
        backend.error = OSError("gone")
        tenant.take(second, loop.time())  # hands the first's booking back, books again: fails
        await _settle()
        assert backend.stats.outages == 1 and tenant.preferred() is None
        await asyncio.sleep(1.0)
        backend.error = None
        now = loop.time()
        assert tenant.take(first, now) is True  # the fallback grants, and probes the backend
        await _settle()
        assert backend.stats.recoveries == 1
        assert held in [name for name, _ in backend.calls[-1]["report"].ended]

    _run(backend, body, lanes=[first, second])


def test_on_recovery_the_fallbacks_calls_are_reported_and_its_share_caps_for_a_while(
    caplog: pytest.LogCaptureFixture,
) -> None:
    backend = Backend()
    backend.answer = (0.0, 2, True)

    async def body(tenant: SharedTenant, lanes: list[Lane], woken: list[float]) -> None:
        loop = asyncio.get_running_loop()
        lane = lanes[0]
        await _grant(tenant, lane)
        tenant.finish(loop.time())
        backend.error = ConnectionError("down")  # an OSError: counts as the backend failing
        tenant.take(lane, loop.time())
        await _settle()
        assert backend.stats.outages == 1
        # On the fallback (10 / 2 = 5 a window): one call ends, one is still in flight.
        await asyncio.sleep(6.0)
        now = loop.time()
        assert tenant.take(lane, now)
        tenant.charge(now)
        tenant.finish(now)
        ended_on_fallback = now
        await asyncio.sleep(1.5)
        now = loop.time()
        assert tenant.take(lane, now)
        tenant.charge(now)
        started_on_fallback = now
        await _settle()  # that grant's probe failed too
        backend.error = None
        await asyncio.sleep(1.0)
        probe_at = loop.time()
        tenant.take(lane, probe_at)  # the next probe reaches the backend
        await _settle()
        assert backend.stats.recoveries == 1
        report = backend.calls[-1]["report"]
        assert report.anonymous == (pytest.approx(probe_at - ended_on_fallback),)
        assert [ago for _, ago in report.adopted] == [pytest.approx(probe_at - started_on_fallback)]
        # Recovered: the shared budget books again, capped by the fallback's share for two
        # retry periods, after which only the backend's bookings pace.
        now = loop.time()
        tenant._held = (now, None, "next")  # a booking ready now, used now
        tenant.charge(now)
        tenant._held = (now, None, "after")  # and the next one ready at once
        assert tenant.ready_at(now) > now + 0.5  # the cap's spacing (6 / 5 s) still holds
        assert tenant.ready_at(now + 2.5) == now  # two retry periods on, the cap is gone
        assert tenant.ready_at(now) == now
        # The adopted call now ends as a registered one: reported by id.
        tenant._held = None
        tenant.finish(loop.time())
        await asyncio.sleep(1.0)
        adopted_id = report.adopted[0][0]
        assert adopted_id in [name for name, _ in backend.calls[-1]["report"].ended]

    with caplog.at_level(logging.WARNING, logger="kaizala_async.ratelimit"):
        _run(backend, body)
    assert [r.kaizala_event for r in caplog.records] == [  # type: ignore[attr-defined]
        "kaizala.budget.fallback", "kaizala.budget.recovered",
    ]  # fmt: skip


def test_fallback_ends_older_than_two_periods_are_not_reported() -> None:
    backend = Backend()
    backend.answer = (0.0, 1, True)

    async def body(tenant: SharedTenant, lanes: list[Lane], woken: list[float]) -> None:
        loop = asyncio.get_running_loop()
        backend.error = OSError()
        tenant.take(lanes[0], loop.time())
        await _settle()
        now = loop.time()
        assert tenant.take(lanes[0], now)
        tenant.charge(now)
        tenant.finish(now)
        await asyncio.sleep(2 * TENANT.period + 0.5)
        backend.error = None
        tenant.take(lanes[0], loop.time())
        await _settle()
        assert backend.stats.recoveries == 1
        assert backend.calls[-1]["report"].anonymous == ()

    _run(backend, body)


def test_closing_hands_back_what_it_holds_reports_ends_and_closes_the_backend() -> None:
    backend = Backend()

    async def body(tenant: SharedTenant, lanes: list[Lane], woken: list[float]) -> None:
        loop = asyncio.get_running_loop()
        await _grant(tenant, lanes[0])
        tenant.finish(loop.time())
        tenant.take(lanes[0], loop.time())
        await _settle()  # a booking held, unused
        held = backend.calls[1]["call_id"]
        ended = backend.calls[0]["call_id"]
        tenant.pause(loop.time() + 1)
        await tenant.aclose()
        last = backend.calls[-1]
        assert last["call_id"] is None
        assert {name for name, _ in last["report"].ended} == {held}
        assert ended in [name for name, _ in backend.calls[1]["report"].ended]
        assert backend.closed == 1
        assert tenant._flush is None and tenant._fetching is None and not tenant._notes

    _run(backend, body)


def test_closing_during_a_booking_cancels_it_and_on_the_fallback_reports_nothing() -> None:
    backend = Backend()
    backend.delay = 0.3

    async def body(tenant: SharedTenant, lanes: list[Lane], woken: list[float]) -> None:
        loop = asyncio.get_running_loop()
        tenant.take(lanes[0], loop.time())
        await asyncio.sleep(0.1)
        await tenant.aclose()
        assert len(backend.calls) == 1 and backend.closed == 1

    _run(backend, body)

    down = Backend()
    down.error = OSError()

    async def on_fallback(tenant: SharedTenant, lanes: list[Lane], woken: list[float]) -> None:
        loop = asyncio.get_running_loop()
        tenant.take(lanes[0], loop.time())
        await _settle()
        now = loop.time()
        tenant.take(lanes[0], now)
        tenant.charge(now)
        tenant.finish(now)
        calls = len(down.calls)
        await tenant.aclose()
        assert len(down.calls) == calls and down.closed == 1

    _run(down, on_fallback)


def test_a_failed_closing_report_still_closes_the_backend() -> None:
    backend = Backend()

    async def body(tenant: SharedTenant, lanes: list[Lane], woken: list[float]) -> None:
        await _grant(tenant, lanes[0])
        backend.error = KeyError("down")
        await tenant.aclose()  # the held call's end cannot be told: nothing raised
        assert backend.closed == 1

    _run(backend, body)


def test_each_call_id_is_this_process_prefix_and_a_counter() -> None:
    backend = Backend()

    async def body(tenant: SharedTenant, lanes: list[Lane], woken: list[float]) -> None:
        await _grant(tenant, lanes[0])
        await _grant(tenant, lanes[0])
        ids = [c["call_id"] for c in backend.calls]
        prefixes = {i.split(":")[0] for i in ids}
        assert len(prefixes) == 1 and len(next(iter(prefixes))) == 10
        assert [int(i.split(":")[1]) for i in ids] == [0, 1]

    _run(backend, body)


def test_the_window_and_jitter_are_the_rates_period_and_the_allowance() -> None:
    backend = Backend()

    async def body(tenant: SharedTenant, lanes: list[Lane], woken: list[float]) -> None:
        assert tenant.window == TENANT.period + 0.25
        tenant.take(lanes[0], asyncio.get_running_loop().time())
        await asyncio.sleep(0)
        assert backend.calls[0]["jitter"] == 0.25

    _run(backend, body, jitter=0.25)
