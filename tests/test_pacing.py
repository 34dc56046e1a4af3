"""Slots held by calls until they end, ``max_wait``, the call ledger, the emulator's network model."""

from __future__ import annotations

import asyncio
import math
import random

import anyio
import httpx
import pytest
import respx
from hypothesis import given, settings
from hypothesis import strategies as st

from kaizala_async import (
    Rate,
    RateLimits,
    RequestTimeoutError,
    ServerError,
    SlotWaitTimeoutError,
    TransportError,
    ValidationError,
    max_wait,
)
from kaizala_async._ledger import CallLedger
from kaizala_async._ratelimit import RateLimiter
from kaizala_async.emulator import Emulator, EmulatorConfig, NetworkProfile
from kaizala_async.emulator._throttle import THROTTLE_METHODS, make_counter

from .examples import examples
from .test_transport import EP, client_for, token_route
from .vtime import run_virtual

# -- max_wait ----------------------------------------------------------------------------------


def test_max_wait_raises_in_time_and_uses_no_slot() -> None:
    """A waiter that gives up at max_wait leaves the schedule as if it never came."""

    async def main() -> tuple[float, float, int]:
        loop = asyncio.get_running_loop()
        limiter = RateLimiter(RateLimits(connector=Rate(2, 10.0), tenant=None, jitter=0.0))
        limiter.open()
        t0 = loop.time()
        first = await limiter.acquire()  # precharged: one spacing (5 s) in
        limiter.release()
        with pytest.raises(SlotWaitTimeoutError) as info:
            await limiter.acquire(max_wait=1.0)
        assert info.value.max_wait == 1.0
        gave_up = loop.time() - t0
        granted = limiter.granted
        second = await limiter.acquire()  # the slot nobody took
        limiter.release()
        limiter.close()
        return first - t0, gave_up, second - t0 - (first - t0) + 0 * granted

    first, gave_up, gap = run_virtual(main)
    assert first == pytest.approx(5.0)
    assert gave_up == pytest.approx(6.0, abs=1e-3)  # 5 s + max_wait, not later
    assert gap == pytest.approx(5.0, abs=1e-3)  # the next slot is one spacing after the first


def test_the_issue_example_a_web_handler_gives_up_after_max_wait() -> None:
    """12 concurrent sends at 10 per 10 s with ``max_wait(2.0)``: those that cannot go out within
    2 s raise SlotWaitTimeoutError at 2 s; the service sees only the others."""
    router = respx.Router(assert_all_called=False)
    token_route(router)
    sent = router.post(f"{EP}/v1/groups/g1/messages").respond(json={"referenceId": "m"})

    async def main() -> tuple[int, int, float]:
        loop = asyncio.get_running_loop()
        limits = RateLimits(connector=Rate(10, 10.0), tenant=None, precharge=False)
        async with client_for(router, limits=limits, timeout=1.0) as client:
            start = loop.time()

            async def one() -> bool:
                try:
                    await client.request("POST", "/groups/g1/messages", json={"message": "x"})
                except SlotWaitTimeoutError:
                    return False
                return True

            with max_wait(2.0):
                results = await asyncio.gather(*(one() for _ in range(12)))
            return sum(results), len(results) - sum(results), loop.time() - start

    ok, refused, elapsed = run_virtual(main)
    assert refused > 0 and ok + refused == 12
    assert sent.call_count == ok
    assert elapsed <= 2.0 + 1e-3


def test_client_wide_max_wait_and_a_per_call_override() -> None:
    router = respx.Router(assert_all_called=False)
    token_route(router)
    router.get(f"{EP}/v1/groups").respond(json={"groups": []})

    async def main() -> None:
        limits = RateLimits(connector=Rate(1, 60.0), tenant=None, max_wait=0.5)
        async with client_for(router, limits=limits) as client:
            # The token call took the precharged connector's first slot; the next is far away.
            with pytest.raises(SlotWaitTimeoutError):
                await client.request("GET", "/groups")
            with max_wait(None):  # lifted for this block: waits as long as it takes
                await client.request("GET", "/groups")
            with pytest.raises(SlotWaitTimeoutError):
                await client.request("GET", "/groups", max_wait=1.0)

    run_virtual(main)


@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf, "2", True])
def test_bad_max_wait_is_a_validation_error(bad: object) -> None:
    with pytest.raises(ValidationError, match="max_wait"):
        RateLimits(max_wait=bad)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="max_wait"), max_wait(bad):  # type: ignore[arg-type]
        pass


# -- every slot is given back ------------------------------------------------------------------


@pytest.mark.parametrize("failure", ["500", "connect", "read-error", "timeout", "cancel"])
def test_a_failed_call_gives_its_slot_back(failure: str) -> None:
    """Three failed calls at N = 2 must not leave the connector stuck: every slot ends."""
    router = respx.Router(assert_all_called=False)
    token_route(router)
    route = router.get(f"{EP}/v1/groups")
    errors = {
        "500": httpx.Response(500),
        "connect": httpx.ConnectError("refused"),
        "read-error": httpx.ReadError("reset"),
        "timeout": httpx.ReadTimeout("slow"),
    }

    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    route.side_effect = hang if failure == "cancel" else errors[failure]

    async def main() -> int:
        limits = RateLimits(connector=Rate(2, 1.0), tenant=None)
        async with client_for(router, limits=limits, max_retries=0) as client:
            for _ in range(3):
                if failure == "cancel":
                    task = asyncio.create_task(client.request("GET", "/groups"))
                    await asyncio.sleep(0.5)
                    task.cancel()
                    with pytest.raises(asyncio.CancelledError):
                        await task
                else:
                    with pytest.raises((ServerError, TransportError, RequestTimeoutError)):
                        await client.request("GET", "/groups")
            route.side_effect = None
            route.return_value = httpx.Response(200, json={"groups": []})
            await asyncio.wait_for(client.request("GET", "/groups"), 60)
            ledger = client._limiter._lane.budget.ledger  # type: ignore[union-attr]
            assert ledger is not None
            return ledger.in_flight

    assert run_virtual(main) == 0


def test_an_abandoned_call_keeps_its_place_one_more_period() -> None:
    """A call that timed out may still reach the server: it counts for another period."""

    def next_grant(abandoned: bool) -> float:
        async def main() -> float:
            loop = asyncio.get_running_loop()
            limiter = RateLimiter(
                RateLimits(connector=Rate(1, 10.0), tenant=None, precharge=False, jitter=0.0)
            )
            limiter.open()
            t0 = loop.time()
            await limiter.acquire()
            await asyncio.sleep(1.0)
            limiter.release(abandoned=abandoned)
            at = await limiter.acquire()
            limiter.close()
            return at - t0

        return run_virtual(main)

    # N = 1: the next call waits 2T after the last end (see test_ratelimit); held one more T.
    assert next_grant(False) == pytest.approx(21.0, abs=1e-3)
    assert next_grant(True) == pytest.approx(31.0, abs=1e-3)


# -- the ledger against every counting method --------------------------------------------------


@settings(max_examples=examples(300), deadline=None)
@given(
    st.integers(1, 12),
    st.lists(st.tuples(st.floats(0, 2), st.floats(0, 2), st.floats(0, 0.5)), max_size=80),
    st.floats(0, 1),
)
def test_the_ledger_admits_no_call_any_counting_method_refuses(
    limit: int, calls: list[tuple[float, float, float]], phase: float
) -> None:
    """Grant greedily at the ledger's ready time; place each call anywhere in its bracket (here:
    a random point); every method, with its windows at a random phase, accepts all of them."""
    period = 1.0
    ledger = CallLedger(limit, period)
    now = 0.0
    pending: list[tuple[float, float]] = []  # (end, seen)
    seen_at: list[float] = []
    for up, down, gap in calls:
        now += gap
        while True:
            pending.sort()
            ready = ledger.ready_at(now)
            if pending and pending[0][0] <= max(now, ready):
                end, _ = pending.pop(0)
                now = max(now, end)
                ledger.end(end)
                continue
            if ready == math.inf:
                raise AssertionError("stuck with nothing in flight")
            now = max(now, ready)
            break
        ledger.start()
        seen = now + up
        seen_at.append(seen)
        pending.append((seen + down, seen))
    for method in THROTTLE_METHODS:
        counter = make_counter(method, Rate(limit, period))
        refused = [t for t in sorted(seen_at) if not counter.check(t + phase)[0]]
        assert refused == [], method


def _worst_count_allows(
    limit: int, in_flight: int, ends: list[float], g: float, period: float = 1.0
) -> bool:
    """The rule the ledger implements, evaluated directly. A new call granted at ``g`` may be
    seen at any ``t >= g``; for a window boundary ``b`` in ``(t - T, t]`` the unfloored sliding
    window counts the calls that may be seen at or after ``b`` (in flight, the new one, ends
    >= b) plus the ends in ``[b - T, b)`` weighted by ``(b + T - t) / T``, at most ``limit``.
    For each ``b`` the worst ``t`` is the earliest, ``max(g, b)``. Between breakpoints (the
    ends and the ends + T) the count only grows with ``b``: each breakpoint, the instant just
    before it, and ``g`` itself are checked."""
    candidates = {g}
    for e in ends:
        for point in (e, e + period):
            candidates.update((point, point - 1e-9))
    for b in candidates:
        if b <= g - period:
            continue
        seen_after = in_flight + 1 + sum(e >= b for e in ends)
        before = sum(b - period <= e < b for e in ends)
        if seen_after + before * (b + period - max(g, b)) / period > limit + 1e-9:
            return False
    return True


#: How long ago calls ended, in periods: anywhere in the last 2.5, or on a grid of eighths (ends
#: that coincide, or lie exactly one period apart, are where an off-by-one would show).
_AGES = st.lists(
    st.one_of(st.floats(0.0, 2.5, allow_nan=False), st.integers(0, 20).map(lambda k: k / 8)),
    max_size=24,
)


@settings(max_examples=examples(5000), deadline=None)
@given(st.integers(1, 8), st.integers(0, 8), st.sampled_from([0.5, 1.0, 3.0]), _AGES)
def test_the_ledger_answers_the_earliest_safe_time_no_later(
    limit: int, in_flight: int, period: float, ages: list[float]
) -> None:
    """Safe is not enough: a ledger that answers later than it must wastes the budget. Its
    answer is safe under the rule evaluated directly, and 0.1 ms earlier is not (unless the
    answer is now, or never: no room while calls are in flight). Ends lie in the last 2.5
    periods, so some are old enough to be forgotten."""
    now = 10.0
    ends = [now - period * age for age in ages]
    ledger = CallLedger(limit, period)
    for _ in range(in_flight + len(ends)):
        ledger.start()
    for end in ends:  # in any order: the ledger keeps them sorted
        ledger.end(end)
    ready = ledger.ready_at(now)
    assert ledger.in_flight == in_flight
    if ready == math.inf:
        assert in_flight >= limit  # the new call itself finds no room before an end
        return
    assert in_flight < limit
    granted = max(ready, now)
    assert _worst_count_allows(limit, in_flight, ends, granted, period)
    if granted > now + 1e-4:
        assert not _worst_count_allows(limit, in_flight, ends, granted - 1e-4, period)
    assert ledger.ends() == sorted(e for e in ends if e >= now - 2 * period)


#: One step of a ledger's life: (what, gap before it in eighths of a period or at random, how
#: late the end is recorded: 0 for now, else a period later (a call held after it was abandoned)
#: or up to a period earlier (an end recorded out of order)).
_STEPS = st.lists(
    st.tuples(
        st.sampled_from(["start", "start", "end", "end", "seeded end", "ask"]),
        st.one_of(st.integers(0, 8).map(lambda k: k / 8), st.floats(0.0, 1.0)),
        st.sampled_from([0.0, 0.0, 0.0, 1.0, -0.3, -0.9]),
    ),
    min_size=1,
    max_size=120,
)


@settings(max_examples=examples(1500), deadline=None)
@given(st.integers(1, 8), st.sampled_from([0.5, 1.0, 3.0]), _STEPS)
def test_a_ledger_answers_the_earliest_safe_time_at_every_step_of_its_life(
    limit: int, period: float, steps: list[tuple[str, float, float]]
) -> None:
    """The ledger keeps its boundaries from one answer to the next (it does not walk every end
    again): across a life of grants, ends in order and out of order, ends held a period and ends
    of an earlier process, with its old ends forgotten on the way, every answer is safe under
    the rule evaluated directly and 0.1 ms earlier is not."""
    ledger = CallLedger(limit, period)
    now, ends = 0.0, []
    for what, gap, late in steps:
        now += gap * period
        if what == "start":
            ledger.start()
        elif what in {"end", "seeded end"} and (ledger.in_flight or what == "seeded end"):
            ledger.end(now + late * period)
            ends.append(now + late * period)
        ready = ledger.ready_at(now)
        if ready == math.inf:
            assert ledger.in_flight >= limit
            continue
        recent = [e for e in ends if e >= now - 2 * period]
        granted = max(ready, now)
        assert _worst_count_allows(limit, ledger.in_flight, recent, granted, period)
        if granted > now + 1e-4:
            assert not _worst_count_allows(limit, ledger.in_flight, recent, granted - 1e-4, period)


class _CountedReads(list[float]):
    """A list that counts the items read from it (``bisect`` reads through ``__getitem__``)."""

    reads = 0

    def __getitem__(self, index):  # type: ignore[no-untyped-def]
        _CountedReads.reads += 1
        return super().__getitem__(index)


@pytest.mark.parametrize("limit", [100, 1000])
def test_an_answer_reads_a_few_ends_not_every_end_of_the_window(limit: int) -> None:
    """A budget evenly paced at its limit holds about 2N recent ends. An answer reads a few of
    them, however high the limit: before the ledger kept its boundaries, each answer visited
    every one (about 3N reads: 300 at N = 100, 3,000 at N = 1,000)."""
    period = 60.0
    ledger = CallLedger(limit, period)
    spacing = (period + 0.6) / limit
    now = 0.0
    for _ in range(3 * limit):  # three windows: the ledger binds, old ends are forgotten
        now = max(now + spacing, ledger.ready_at(now))
        ledger.start()
        ledger.end(now)
    ledger._ends = _CountedReads(ledger._ends)
    _CountedReads.reads = 0
    answers = 200
    for _ in range(answers):
        now = max(now + spacing, ledger.ready_at(now))
        ledger.start()
        ledger.ready_at(now)  # asked with the call in flight
        ledger.end(now)
        ledger.ready_at(now)
    assert _CountedReads.reads / (3 * answers) < 40


def test_a_ledger_with_room_to_spare_answers_without_reading_its_ends() -> None:
    """A tenant of one connector (300 calls a period, paced at 100) never binds: each answer
    reads the few ends a bisection needs, even while the forgotten ends it keeps until they are
    half the list would, counted with the recent ones, exceed its room. Before, it then made
    the lines of all of them (about 30 reads per answer)."""
    period = 60.0
    ledger = CallLedger(300, period)
    ledger._ends = _CountedReads()
    _CountedReads.reads = 0
    now, answers = 0.0, 0
    while now < 8 * period:
        now += period / 100
        assert ledger.ready_at(now) == -math.inf
        ledger.start()
        assert ledger.ready_at(now) == -math.inf
        ledger.end(now)
        answers += 2
    assert _CountedReads.reads / answers < 12


def _afresh(ledger: CallLedger) -> CallLedger:
    """A ledger made as a process taking the scope over makes it: seeded with ``ledger``'s
    recent ends, with as many calls in flight."""
    fresh = CallLedger(ledger.limit, ledger.period)
    fresh.seed(ledger.ends())
    for _ in range(ledger.in_flight):
        fresh.start()
    return fresh


class _CountingLedger(CallLedger):
    computed = 0

    def _compute(self, now: float) -> float:
        _CountingLedger.computed += 1
        return super()._compute(now)


def test_a_scope_that_does_not_bind_works_out_one_answer_a_call() -> None:
    """A connector held to 75 calls a minute by its tenant (its own limit 100) never binds, yet
    keeps more recent ends than its room. An answer at or before now stays "now" while calls
    only end, so it is worked out once a call (after the grant), not again after each end; and
    each answer is the one a ledger made afresh gives, as far as "now" goes."""
    period = 60.0
    ledger = _CountingLedger(100, period)
    now, calls = 0.0, 0
    _CountingLedger.computed = 0
    while now < 5 * period:
        now += period / 75
        ledger.start()
        assert ledger.ready_at(now) <= now
        ledger.end(now + 0.001)
        ready = ledger.ready_at(now + 0.002)
        fresh = _afresh(ledger)
        assert max(ready, now + 0.002) == max(fresh.ready_at(now + 0.002), now + 0.002)
        calls += 1
    assert _CountingLedger.computed <= calls + 1


def test_an_answer_is_worked_out_once_until_a_call_starts_or_ends() -> None:
    """Asked again and again with nothing new (a dispatcher looking at a waiting connector), a
    binding scope's ledger works its answer out once."""
    ledger = _CountingLedger(3, 1.0)
    for at in (0.0, 0.1, 0.2):
        ledger.start()
        ledger.end(at)
    _CountingLedger.computed = 0
    answers = {ledger.ready_at(0.3 + k / 1000) for k in range(20)}
    assert len(answers) == 1 and answers.pop() > 0.4
    assert _CountingLedger.computed == 1


def test_an_end_keeps_an_answer_that_binds_from_being_reused() -> None:
    """The reuse is only of answers at or before now: a scope that binds works its answer out
    again after an end, which may bring it earlier."""
    period = 1.0
    ledger = CallLedger(2, period)
    ledger.start()
    ledger.end(0.0)
    ledger.start()
    held = ledger.ready_at(0.1)  # one end and one call in flight: it binds
    assert held > 1.0
    ledger.end(0.2)
    assert 0.3 < ledger.ready_at(0.3) < held  # the end brought it earlier, still to come


def _long_life(seed: int) -> tuple[int, float, list[tuple[str, float]]]:
    """A ledger's life of up to 1,500 steps over tens of periods: grants (some at the ledger's
    answer, as a busy scope makes them), ends in order, held a period or out of order, and
    gaps long and short, so that old ends are forgotten many times over."""
    rng = random.Random(seed)
    limit = rng.choice([1, 2, 3, 5, 8, 13, 30, 100])
    period = rng.choice([0.5, 1.0, 3.0])
    steps: list[tuple[str, float]] = []
    for _ in range(rng.randint(200, 1500)):
        gap = rng.choice([0.0, rng.random(), rng.randint(0, 8) / 8, rng.random() / limit])
        what = rng.choice(["start", "paced start", "end", "end", "held end", "early end"])
        steps.append((what, gap * period))
    return limit, period, steps


@pytest.mark.parametrize("seed", range(examples(40)))
def test_a_long_lived_ledger_answers_as_a_new_one_handed_its_recent_ends(seed: int) -> None:
    """What a ledger keeps from one answer to the next (its boundary lines, the count of ends it
    forgot) never changes an answer: at every step of a long life, a ledger made afresh from
    ``ends()`` and the calls in flight (as a process taking over a scope makes it) answers the
    same time (or both answer now), and every few steps the answer is checked against the rule evaluated directly."""
    limit, period, steps = _long_life(seed)
    ledger = CallLedger(limit, period)
    now = 0.0
    for n, (what, gap) in enumerate(steps):
        now += gap
        if what == "paced start":
            now = max(now, ledger.ready_at(now)) if ledger.in_flight < limit else now
        if what.endswith("start") and ledger.in_flight < limit:
            ledger.start()
        elif what.endswith("end") and ledger.in_flight:
            late = {"end": 0.0, "held end": period, "early end": -0.4 * period}[what]
            ledger.end(now + late)
        ready = ledger.ready_at(now)
        recent = ledger.ends()
        fresh = _afresh(ledger)
        # Equal, but for the rounding margin (1 µs) a bound landing exactly on now may add.
        assert max(fresh.ready_at(now), now) == pytest.approx(max(ready, now), abs=2e-6), n
        if n % 50 == 0 and ready != math.inf and limit <= 30:
            granted = max(ready, now)
            assert _worst_count_allows(limit, ledger.in_flight, recent, granted, period)
            if granted > now + 1e-4:
                assert not _worst_count_allows(
                    limit, ledger.in_flight, recent, granted - 1e-4, period
                )


def test_a_ledger_that_runs_for_long_keeps_only_its_recent_ends() -> None:
    """Memory stays bounded however long a scope lives: the ends older than two periods are
    dropped once they are half of the list, so the list never holds more than twice the recent
    ones."""
    limit, period = 20, 1.0
    ledger = CallLedger(limit, period)
    now = 0.0
    while now < 200 * period:
        now = max(now + period / limit / 2, ledger.ready_at(now))
        ledger.start()
        ledger.end(now)
        ledger.ready_at(now)
        assert len(ledger._ends) <= 2 * len(ledger.ends()) + 1
    assert len(ledger.ends()) <= 2 * limit + 1


def test_an_end_with_no_call_in_flight_never_counts_below_zero() -> None:
    """A seeded end (an earlier process's call) arrives with no start here: the ledger never
    counts fewer than zero calls in flight, which would give it room it does not have."""
    ledger = CallLedger(2, 1.0)
    ledger.end(0.5)
    assert ledger.in_flight == 0
    ledger.start()
    ledger.start()
    assert ledger.ready_at(0.6) == math.inf  # two in flight, limit 2: no room before an end


def test_the_ledger_costs_one_call_and_those_in_flight() -> None:
    """Calls that end at once: N - 1 per window; each call in flight takes one more."""
    ledger = CallLedger(10, 1.0)
    now, granted = 0.0, 0
    while now < 100.0:
        now = max(now, ledger.ready_at(now))
        ledger.start()
        ledger.end(now)
        granted += 1
    assert 9 * 100 * 0.99 <= granted <= 9 * 100 + 10


# -- the emulator's network model ---------------------------------------------------------------


def test_network_profiles_parse_and_draw() -> None:
    rng = random.Random(1)
    uniform = NetworkProfile.parse("uniform:0-0.03")
    assert all(0 <= uniform.draw(rng) <= 0.03 for _ in range(200))
    spikes = NetworkProfile.parse("spikes:0.002,0.5,0.1-0.3")
    draws = [spikes.draw(rng) for _ in range(400)]
    assert {d == 0.002 for d in draws} == {True, False}
    assert all(d == 0.002 or 0.1 <= d <= 0.3 for d in draws)
    assert NetworkProfile.parse("fixed:0.01").draw(rng) == 0.01
    for bad in ["uniform:0.03", "gauss:1", "spikes:0.002,2,0.1-0.3", "fixed:-1"]:
        with pytest.raises(ValueError, match=r"network profile|spike_rate|base|seconds"):
            NetworkProfile.parse(bad)


async def test_the_emulator_delays_calls_on_the_way_in_and_back() -> None:
    network = NetworkProfile.fixed(0.05)
    async with Emulator(EmulatorConfig(network=network)) as emu, emu.client() as client:
        loop = asyncio.get_running_loop()
        start = loop.time()
        await client.groups.list().collect()
        elapsed = loop.time() - start
    assert elapsed >= 0.1  # 50 ms each way


async def _burst_through_delays(method: str, calls: int) -> None:
    """``calls`` sends at once at the connector's limit through 0-40 ms delays each way."""
    config = EmulatorConfig(
        connector_limit=Rate(5, 0.5),
        tenant_limit=Rate(15, 0.5),
        throttle=method,  # type: ignore[arg-type]
        network=NetworkProfile.uniform(0.0, 0.04),
    )
    async with Emulator(config) as emu:
        group = emu.create_groups(1)[0]
        async with emu.client() as client:
            async with anyio.create_task_group() as sends:  # asyncio or trio
                for i in range(calls):
                    sends.start_soon(client.messages.send, group, f"m{i}")
            assert client.stats.throttled == 0
        stats = emu.stats()
    assert all(c["throttled"] == 0 for c in stats["connectors"].values())
    assert stats["messagesPerGroup"][group] == calls


@pytest.mark.parametrize("method", THROTTLE_METHODS)
def test_no_429_from_the_emulator_under_network_spikes(method: str) -> None:
    """Every counting method, in virtual time (60 calls, 6 windows): no call refused."""
    run_virtual(lambda: _burst_through_delays(method, 60))


@pytest.mark.parametrize("method", THROTTLE_METHODS)
def test_no_429_from_the_emulator_under_network_spikes_on_trio(method: str) -> None:
    """The same on trio, in trio's virtual time (``MockClock``): the client, its limiter and
    the in-process emulator run there as on asyncio."""
    from trio.testing import MockClock

    clock = MockClock(autojump_threshold=0)
    anyio.run(_burst_through_delays, method, 60, backend="trio", backend_options={"clock": clock})
    assert clock.current_time() > 5 * 0.5  # paced over the windows, in virtual time


async def test_no_429_under_network_spikes_on_the_real_clock() -> None:
    """The strictest counting method once on the real clock, where the loop's own lateness
    and the machine's scheduling add to the drawn delays."""
    await _burst_through_delays("sliding-log", 20)


def test_the_loopback_emulator_takes_a_network_profile() -> None:
    """``--network fixed:0.1`` on loopback: a raw call takes at least the two delays."""
    import time

    from tests.emulator.helpers import loopback_emulator

    with loopback_emulator("--network", "fixed:0.1") as (credentials, root):
        headers = {
            "applicationId": credentials["applicationId"],
            "applicationSecret": credentials["applicationSecret"],
            "refreshToken": credentials["refreshToken"],
        }
        start = time.monotonic()
        answer = httpx.get(f"{root}/v1/accessToken", headers=headers, timeout=10)
        elapsed = time.monotonic() - start
        control = time.monotonic()
        httpx.get(f"{root}/_emulator/stats", timeout=10)  # control routes are not delayed
        control = time.monotonic() - control
    assert answer.status_code == 200
    assert elapsed >= 0.2
    assert control < 0.1
