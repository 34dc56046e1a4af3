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
        await tenant.aclose()  # no booking left pending when the loop closes

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


async def _fail_over(tenant: SharedTenant, backend: Backend, lane: Lane) -> None:
    """Make the backend fail and let a booking find out."""
    backend.error = OSError("down")
    tenant.take(lane, asyncio.get_running_loop().time())
    await _settle()
    assert tenant._fallback is not None


def test_each_counter_counts_every_event_and_each_outage_logs_its_own_lines(
    caplog: pytest.LogCaptureFixture,
) -> None:
    backend = Backend()
    backend.answer = (0.0, 5, True)

    async def body(tenant: SharedTenant, lanes: list[Lane], woken: list[float]) -> None:
        loop = asyncio.get_running_loop()
        for _ in range(2):
            await _grant(tenant, lanes[0])
            await _grant(tenant, lanes[0])
            await _fail_over(tenant, backend, lanes[0])
            await asyncio.sleep(1.0)
            backend.error = None
            now = loop.time()
            tenant.take(lanes[0], tenant._next_probe)  # the probe, exactly when it is due
            await _settle()
            assert tenant._fallback is None and now >= 0
            tenant.charge(loop.time())
        stats = backend.stats
        assert (stats.outages, stats.recoveries, stats.failures) == (2, 2, 2)
        assert stats.reservations == 6 and stats.round_trips == 8

    with caplog.at_level(logging.WARNING, logger="kaizala_async.ratelimit"):
        _run(backend, body)
    assert [r.getMessage() for r in caplog.records if r.name == "kaizala_async.ratelimit"] == 2 * [
        "tenant 'contoso': shared budget unreachable (OSError); pacing this process by a local "
        "budget of 2 calls / 6 s until it returns",
        "tenant 'contoso': shared budget back; pacing by it again",
    ]


def test_many_processes_leave_each_at_least_one_call_a_window_on_the_fallback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    backend = Backend()
    backend.answer = (0.0, 20, True)  # 10 calls / 6 s among 20 processes

    async def body(tenant: SharedTenant, lanes: list[Lane], woken: list[float]) -> None:
        await _grant(tenant, lanes[0])
        await _fail_over(tenant, backend, lanes[0])

    with caplog.at_level(logging.WARNING, logger="kaizala_async.ratelimit"):
        _run(backend, body)
    assert "local budget of 1 calls / 6 s" in caplog.records[0].getMessage()


def test_the_process_count_given_at_start_sets_the_first_fallback_share(
    caplog: pytest.LogCaptureFixture,
) -> None:
    backend = Backend(processes=2)  # 10 / 2 = 5, not the connector's 3
    backend.error = OSError()

    async def body(tenant: SharedTenant, lanes: list[Lane], woken: list[float]) -> None:
        tenant.take(lanes[0], asyncio.get_running_loop().time())
        await _settle()

    with caplog.at_level(logging.WARNING, logger="kaizala_async.ratelimit"):
        _run(backend, body, lanes=[_lane("app-1", Rate(3, 6.0))])
    assert "local budget of 5 calls / 6 s" in caplog.records[0].getMessage()


def test_each_grant_on_the_fallback_is_counted_in_telemetry_by_tenant(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kaizala_async import _telemetry

    recorded: list[tuple[str, float, object]] = []
    monkeypatch.setattr(_telemetry, "record", lambda *args: recorded.append(args))
    backend = Backend()
    backend.error = OSError()

    async def body(tenant: SharedTenant, lanes: list[Lane], woken: list[float]) -> None:
        loop = asyncio.get_running_loop()
        tenant.take(lanes[0], loop.time())
        await _settle()
        for _ in range(2):
            now = max(loop.time(), tenant.ready_at(loop.time()))
            assert tenant.take(lanes[0], now)
            tenant.charge(now)
            tenant.finish(now)

    _run(backend, body)
    assert recorded == 2 * [("kaizala.client.budget_fallbacks", 1, {"kaizala.tenant": "contoso"})]


def test_the_fallback_calls_are_adopted_by_their_own_ids() -> None:
    backend = Backend()
    backend.retry_every = 100.0  # no probe until the test makes one

    async def body(tenant: SharedTenant, lanes: list[Lane], woken: list[float]) -> None:
        loop = asyncio.get_running_loop()
        await _fail_over(tenant, backend, lanes[0])
        for _ in range(2):
            await asyncio.sleep(max(0.0, tenant.ready_at(loop.time()) - loop.time()))
            assert tenant.take(lanes[0], loop.time())
            tenant.charge(loop.time())
        backend.error = None
        tenant.take(lanes[0], tenant._next_probe)
        await _settle()
        adopted = [name for name, _ in backend.calls[-1]["report"].adopted]
        assert len(adopted) == 2 and len(set(adopted)) == 2
        assert all(name.startswith(tenant._prefix + ":") for name in adopted)

    _run(backend, body)


def test_a_probe_books_a_slot_for_the_lane_that_made_it() -> None:
    backend = Backend(share_connectors=True)

    async def body(tenant: SharedTenant, lanes: list[Lane], woken: list[float]) -> None:
        await _fail_over(tenant, backend, lanes[0])
        backend.error = None
        assert tenant.take(lanes[0], tenant._next_probe) is True  # the fallback grants it
        await _settle()
        assert backend.calls[-1]["call_id"] is not None
        assert backend.calls[-1]["connector"] == ("app-1", CONNECTOR, 0.0)
        assert tenant.preferred() is lanes[0]  # the booking made by the probe is held

    _run(backend, body)


def test_a_grant_during_a_probe_in_flight_starts_no_other() -> None:
    backend = Backend()

    async def body(tenant: SharedTenant, lanes: list[Lane], woken: list[float]) -> None:
        loop = asyncio.get_running_loop()
        await _fail_over(tenant, backend, lanes[0])
        backend.delay = 0.3
        tenant.take(lanes[0], tenant._next_probe)
        for _ in range(5):
            await asyncio.sleep(0.05)
            assert tenant.take(lanes[0], loop.time()) is True
        await asyncio.sleep(0.5)
        assert len(backend.calls) == 2

    _run(backend, body)


def test_a_full_tenant_is_booked_again_exactly_at_the_retry_time() -> None:
    backend = Backend()
    backend.answer = (1.0, 3, False)

    async def body(tenant: SharedTenant, lanes: list[Lane], woken: list[float]) -> None:
        tenant.take(lanes[0], asyncio.get_running_loop().time())
        await _settle()
        assert tenant.take(lanes[0], tenant._retry_at) is False
        await asyncio.sleep(0)
        assert len(backend.calls) == 2

    _run(backend, body)


def test_the_recovery_cap_lasts_two_retry_periods_and_ends_exactly_then() -> None:
    backend = Backend()
    backend.retry_every = 0.5

    async def body(tenant: SharedTenant, lanes: list[Lane], woken: list[float]) -> None:
        loop = asyncio.get_running_loop()
        await _fail_over(tenant, backend, lanes[0])
        backend.error = None
        tenant.take(lanes[0], tenant._next_probe)
        await _settle()
        recovered = woken[-1]
        assert tenant._cap_until == pytest.approx(recovered + 1.0)
        tenant.charge(loop.time())
        tenant._held = (loop.time(), None, "next")
        assert tenant.ready_at(tenant._cap_until) == loop.time()  # "until": not at the end

    _run(backend, body)


def test_an_abandoned_call_holds_the_fallback_window_a_period_longer() -> None:
    ready: dict[bool, float] = {}
    for abandoned in (False, True):
        backend = Backend()
        backend.answer = (0.0, 5, True)  # a share of 2 calls / 6 s
        backend.retry_every = 100.0  # no probe meanwhile

        async def body(
            tenant: SharedTenant, lanes: list[Lane], woken: list[float], abandoned: bool = abandoned
        ) -> None:
            loop = asyncio.get_running_loop()
            await _grant(tenant, lanes[0])
            tenant.finish(loop.time())
            await _fail_over(tenant, tenant.backend, lanes[0])  # type: ignore[arg-type]
            await asyncio.sleep(7.0)  # that call is out of the window
            for _ in range(2):
                await asyncio.sleep(max(0.0, tenant.ready_at(loop.time()) - loop.time()))
                assert tenant.take(lanes[0], loop.time())
                tenant.charge(loop.time())
                tenant.finish(loop.time() + 0.1, abandoned=abandoned)
            ready[abandoned] = tenant.ready_at(loop.time()) - loop.time()

        _run(backend, body)
    assert ready[True] > ready[False] + 5.0


def test_recent_shared_calls_count_against_the_fallback_share() -> None:
    backend = Backend()
    backend.answer = (0.0, 5, True)  # a share of 2 calls / 6 s

    async def body(tenant: SharedTenant, lanes: list[Lane], woken: list[float]) -> None:
        loop = asyncio.get_running_loop()
        for _ in range(2):
            await _grant(tenant, lanes[0])
            await asyncio.sleep(0.5)
            tenant.finish(loop.time())
        await _fail_over(tenant, backend, lanes[0])
        now = loop.time()
        assert tenant.ready_at(now) > now + 3.0  # both ends are in the window: no room

    _run(backend, body)


def test_an_end_during_a_booking_is_reported_alone_a_tenth_of_a_period_after_it() -> None:
    backend = Backend()

    async def body(tenant: SharedTenant, lanes: list[Lane], woken: list[float]) -> None:
        loop = asyncio.get_running_loop()
        await _grant(tenant, lanes[0])
        backend.delay = 0.3
        tenant.take(lanes[0], loop.time())  # a booking under way for 0.3 s
        await asyncio.sleep(0.1)
        tenant.finish(loop.time())  # not in that booking's report
        await asyncio.sleep(0.6)
        assert len(backend.calls) == 2  # not 0.6 s after the end: after the booking's answer
        await asyncio.sleep(0.2)
        assert len(backend.calls) == 3 and backend.calls[2]["call_id"] is None

    _run(backend, body)


def test_an_end_during_an_outage_waits_for_the_probe_instead_of_reaching_the_backend() -> None:
    backend = Backend()

    async def body(tenant: SharedTenant, lanes: list[Lane], woken: list[float]) -> None:
        loop = asyncio.get_running_loop()
        await _grant(tenant, lanes[0])  # a shared call in flight
        await _fail_over(tenant, backend, lanes[0])
        calls = len(backend.calls)
        tenant.finish(loop.time())  # ends during the outage
        await asyncio.sleep(2.0)
        assert len(backend.calls) == calls  # no report of its own while the backend is down

    _run(backend, body)


def test_a_booking_held_when_a_report_fails_is_handed_back_and_told_on_recovery() -> None:
    backend = Backend()

    async def body(tenant: SharedTenant, lanes: list[Lane], woken: list[float]) -> None:
        loop = asyncio.get_running_loop()
        await _grant(tenant, lanes[0])
        tenant.take(lanes[0], loop.time())
        await _settle()  # a second booking held, unused
        held = backend.calls[-1]["call_id"]
        backend.error = OSError()
        tenant.finish(loop.time())  # its report, sent alone, fails
        await asyncio.sleep(1.0)
        assert tenant._fallback is not None and tenant._held is None
        assert tenant.ready_at(loop.time()) <= loop.time()
        backend.error = None
        tenant.take(lanes[0], tenant._next_probe)
        await _settle()
        assert held in [name for name, _ in backend.calls[-1]["report"].ended]

    _run(backend, body)


def test_a_pause_is_told_with_the_tenant_and_bounded_by_the_backend_timeout() -> None:
    backend = Backend()
    told: list[dict[str, Any]] = []

    async def hanging(**kwargs: Any) -> None:
        told.append(kwargs)
        await asyncio.sleep(3600)

    backend.pause = hanging  # type: ignore[method-assign]

    async def body(tenant: SharedTenant, lanes: list[Lane], woken: list[float]) -> None:
        loop = asyncio.get_running_loop()
        tenant.pause(loop.time() + 2.0)
        await asyncio.sleep(backend.timeout + 0.01)
        assert not tenant._notes  # given up after the backend's timeout
        assert told == [{"tenant": TENANT, "seconds": 2.0}]

    _run(backend, body)


def test_closing_with_a_report_pending_cancels_its_timer_and_drops_the_booking() -> None:
    backend = Backend()

    async def body(tenant: SharedTenant, lanes: list[Lane], woken: list[float]) -> None:
        loop = asyncio.get_running_loop()
        await _grant(tenant, lanes[0])
        tenant.take(lanes[0], loop.time())
        await _settle()  # a booking held
        tenant.finish(loop.time())  # a report alone due in 0.6 s
        assert tenant._flush is not None
        await tenant.aclose()
        assert tenant._flush is None and tenant.preferred() is None
        last = backend.calls[-1]
        assert (last["tenant"], last["jitter"], last["call_id"]) == (TENANT, 0.0, None)
        calls = len(backend.calls)
        await asyncio.sleep(1.0)
        assert len(backend.calls) == calls  # the timer went with the close

    _run(backend, body)


def test_closing_is_bounded_by_the_backend_timeout() -> None:
    backend = Backend()

    async def body(tenant: SharedTenant, lanes: list[Lane], woken: list[float]) -> None:
        loop = asyncio.get_running_loop()
        await _grant(tenant, lanes[0])
        tenant.finish(loop.time())
        backend.delay = 3600.0  # the closing report hangs
        start = loop.time()
        await tenant.aclose()
        assert loop.time() - start == pytest.approx(backend.timeout, abs=0.01)
        assert backend.closed == 1

    _run(backend, body)


@pytest.mark.parametrize("error", [ValueError("a bug in the backend"), RuntimeError("odd")])
def test_a_backend_failing_in_an_unexpected_way_sends_the_tenant_to_its_fallback(
    error: Exception,
) -> None:
    """Before: an exception outside the backend's ``errors`` ended the booking task, which was
    never cleared: no booking was ever made again and the tenant waited for good."""
    backend = Backend()

    async def body(tenant: SharedTenant, lanes: list[Lane], woken: list[float]) -> None:
        loop = asyncio.get_running_loop()
        backend.error = error
        backend.pause_error = error
        tenant.take(lanes[0], loop.time())
        await _settle()
        assert tenant._fallback is not None and tenant._fetching is None
        now = loop.time()
        assert tenant.take(lanes[0], now) is True  # paced by the fallback, not stuck
        tenant.pause(now + 1.0)  # a pause the backend fails to take: best effort
        await _settle()
        assert not tenant._notes
        backend.error = None
        tenant.take(lanes[0], tenant._next_probe)
        await _settle()
        assert tenant._fallback is None and backend.stats.recoveries == 1

    _run(backend, body)
