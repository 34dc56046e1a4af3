"""Rate limiting in virtual time: the window property, saturation, pauses, sharing (DESIGN §4)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence

import attrs
import pytest
from aiolimiter import AsyncLimiter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kaizala_async import Rate, RateLimits, ValidationError
from kaizala_async._ratelimit import RateLimiter

from .vtime import run_virtual


@attrs.frozen
class Request:
    arrival: float  # seconds after start
    cancel_after: float | None  # the caller gives up after this long, if not yet granted


@attrs.frozen
class Scenario:
    connector: Rate
    tenant: Rate
    jitter: float
    requests: tuple[tuple[Request, ...], ...]  # one tuple per connector
    delays: tuple[float, ...]  # network delay fractions in [0, 1], cycled over calls


# An acquire function takes the connector index and returns once the call may go out.
Acquire = Callable[[int], Awaitable[None]]
Factory = Callable[[Scenario], Awaitable[tuple[Acquire, Callable[[], None]]]]


async def ours(s: Scenario) -> tuple[Acquire, Callable[[], None]]:
    limits = RateLimits(connector=s.connector, tenant=s.tenant, tenant_key="t", jitter=s.jitter)
    limiters = [RateLimiter(limits) for _ in s.requests]
    for limiter in limiters:
        limiter.open()

    async def acquire(i: int) -> None:
        await limiters[i].acquire()

    def close() -> None:
        for limiter in limiters:
            limiter.close()

    return acquire, close


async def nested_aiolimiters(s: Scenario) -> tuple[Acquire, Callable[[], None]]:
    """What users write: one AsyncLimiter per connector nested with one for the tenant."""
    tenant = AsyncLimiter(s.tenant.limit, s.tenant.period)
    connectors = [AsyncLimiter(s.connector.limit, s.connector.period) for _ in s.requests]

    async def acquire(i: int) -> None:
        async with connectors[i], tenant:
            pass

    return acquire, lambda: None


def server_times(s: Scenario, factory: Factory) -> list[list[float]]:
    """Run the scenario; return, per connector, the times the server sees each call."""

    async def main() -> list[list[float]]:
        loop = asyncio.get_running_loop()
        acquire, close = await factory(s)
        start = loop.time()
        seen: list[list[float]] = [[] for _ in s.requests]
        counter = 0

        async def one(i: int, r: Request) -> None:
            nonlocal counter
            await asyncio.sleep(r.arrival)
            try:
                if r.cancel_after is None:
                    await acquire(i)
                else:
                    await asyncio.wait_for(acquire(i), r.cancel_after)
            except TimeoutError:
                return
            # Up to 90 % of the allowance goes to the network; loop iterations spend the rest.
            delay = s.delays[counter % len(s.delays)] * s.jitter * 0.9
            counter += 1
            seen[i].append(loop.time() - start + delay)

        await asyncio.gather(*(one(i, r) for i, rs in enumerate(s.requests) for r in rs))
        close()
        return [sorted(t) for t in seen]

    return run_virtual(main)


def violations(times: Sequence[float], rate: Rate) -> list[tuple[float, float]]:
    """Pairs (t_i, t_{i+N}) closer than T: N + 1 calls inside one window of length T."""
    n, t = rate.limit, rate.period
    return [
        (times[i], times[i + n])
        for i in range(len(times) - n)
        if times[i + n] - times[i] < t - 1e-9
    ]


def all_violations(s: Scenario, factory: Factory) -> list[tuple[float, float]]:
    per_connector = server_times(s, factory)
    found = [v for times in per_connector for v in violations(times, s.connector)]
    found += violations(sorted(t for times in per_connector for t in times), s.tenant)
    return found


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    period = draw(st.sampled_from([1.0, 6.0, 60.0]))
    n = draw(st.integers(2, 8))
    tenant_n = draw(st.integers(n, 3 * n))
    connectors = draw(st.integers(1, 6))
    request = st.builds(
        Request,
        arrival=st.floats(0, 3 * period, allow_nan=False),
        cancel_after=st.none() | st.floats(0, 2 * period, allow_nan=False),
    )
    requests = tuple(
        tuple(draw(st.lists(request, min_size=0, max_size=4 * n))) for _ in range(connectors)
    )
    return Scenario(
        connector=Rate(n, period),
        tenant=Rate(tenant_n, period),
        jitter=draw(st.sampled_from([0.002 * period, 0.005 * period, 0.01 * period])),
        requests=requests,
        delays=tuple(draw(st.lists(st.floats(0, 1), min_size=1, max_size=16))),
    )


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_no_window_ever_holds_more_than_the_limit(s: Scenario) -> None:
    assert all_violations(s, ours) == []


def test_the_property_catches_nested_aiolimiters() -> None:
    """The same property fails for two plain nested aiolimiters, so it can fail at all."""
    rng = random.Random(7)
    caught = 0
    for _ in range(20):
        n = rng.randint(2, 8)
        s = Scenario(
            connector=Rate(n, 1.0),
            tenant=Rate(rng.randint(n, 3 * n), 1.0),
            jitter=0.01,
            requests=tuple(
                tuple(Request(rng.uniform(0, 3), None) for _ in range(4 * n))
                for _ in range(rng.randint(1, 6))
            ),
            delays=(0.0,),
        )
        assert all_violations(s, ours) == []
        caught += bool(all_violations(s, nested_aiolimiters))
    assert caught >= 15  # leaky buckets admit up to 2N per window; nesting breaks the tenant


@pytest.mark.parametrize("order", ["connector-first", "tenant-first"])
def test_nesting_breaks_a_limit_in_either_order(order: str) -> None:
    """DESIGN §4: connector-first lets the tenant over; tenant-first too (2N per window)."""
    s = Scenario(
        connector=Rate(10, 1.0),
        tenant=Rate(20, 1.0),
        jitter=0.01,
        requests=tuple(tuple(Request(0.0, None) for _ in range(40)) for _ in range(4)),
        delays=(0.0,),
    )

    async def nested(sc: Scenario) -> tuple[Acquire, Callable[[], None]]:
        tenant = AsyncLimiter(sc.tenant.limit, sc.tenant.period)
        conns = [AsyncLimiter(sc.connector.limit, sc.connector.period) for _ in sc.requests]

        async def acquire(i: int) -> None:
            outer, inner = (conns[i], tenant) if order == "connector-first" else (tenant, conns[i])
            async with outer, inner:
                pass

        return acquire, lambda: None

    assert all_violations(s, nested)
    assert all_violations(s, ours) == []


def saturated_rate(
    connectors: int, connector: Rate, tenant: Rate, calls: int
) -> tuple[float, list[float]]:
    """Aggregate calls/s and per-connector calls/s when every connector always has work."""
    s = Scenario(
        connector=connector,
        tenant=tenant,
        jitter=0.005 * connector.period,
        requests=tuple(tuple(Request(0.0, None) for _ in range(calls)) for _ in range(connectors)),
        delays=(0.0,),
    )
    per = server_times(s, ours)
    merged = sorted(t for times in per for t in times)
    # Steady state: from the first grant to the last, (count - 1) intervals.
    aggregate = (len(merged) - 1) / (merged[-1] - merged[0])
    each = [(len(t) - 1) / (t[-1] - t[0]) for t in per]
    assert all_violations(s, ours) == []
    return aggregate, each


@pytest.mark.parametrize("connectors", [1, 2, 3, 4, 6])
def test_saturated_connectors_run_at_99_percent_of_the_binding_limit(connectors: int) -> None:
    connector, tenant = Rate(100, 60.0), Rate(300, 60.0)
    calls = 6000 // connectors  # an hour of virtual time at the binding limit
    aggregate, each = saturated_rate(connectors, connector, tenant, calls)
    binding = min(tenant.per_second, connectors * connector.per_second)
    assert aggregate >= 0.99 * binding
    assert aggregate <= binding
    # Fair: every connector gets its share of the binding limit.
    for rate in each:
        assert rate >= 0.99 * binding / connectors


def test_scaled_limits_keep_99_percent() -> None:
    """The benchmark profile, Rate(100, 6.0): 99.5 % of the limit with the default jitter."""
    aggregate, _ = saturated_rate(1, Rate(100, 6.0), Rate(300, 6.0), 2000)
    assert 0.99 * (100 / 6.0) <= aggregate <= 100 / 6.0


def test_pause_is_a_deadline_that_only_grows() -> None:
    async def main() -> list[float]:
        loop = asyncio.get_running_loop()
        limiter = RateLimiter(RateLimits(connector=None, tenant=None, precharge=False))
        limiter.open()
        t0 = loop.time()
        limiter.pause(10.0)
        limiter.pause(2.0)  # a shorter pause must not shorten the first
        granted = [await limiter.acquire() - t0]
        limiter.pause(1.0)
        granted.append(await limiter.acquire() - t0)
        limiter.close()
        return granted

    first, second = run_virtual(main)
    assert first == pytest.approx(10.0)
    assert second == pytest.approx(11.0)


def test_resend_after_429_goes_first() -> None:
    async def main() -> list[str]:
        limiter = RateLimiter(RateLimits(connector=Rate(1, 1.0), tenant=None, jitter=0.0))
        limiter.open()
        order: list[str] = []

        async def call(name: str, first: bool) -> None:
            await limiter.acquire(first=first)
            order.append(name)

        waiting = [asyncio.create_task(call(f"queued{i}", False)) for i in range(3)]
        await asyncio.sleep(0)
        await asyncio.gather(*waiting, call("resend", True))
        limiter.close()
        return order

    assert run_virtual(main)[0] == "resend"


def test_cancelled_waiters_give_their_place_up() -> None:
    async def main() -> tuple[float, float]:
        loop = asyncio.get_running_loop()
        limiter = RateLimiter(RateLimits(connector=Rate(1, 10.0), tenant=None, jitter=0.0))
        limiter.open()
        t0 = loop.time()
        await limiter.acquire()  # precharged: granted at 10 s
        doomed = asyncio.create_task(limiter.acquire())
        await asyncio.sleep(1)
        doomed.cancel()
        second = await limiter.acquire()  # takes the slot the cancelled waiter gave up
        limiter.close()
        return loop.time() - t0, second - t0

    now, second = run_virtual(main)
    assert second == pytest.approx(20.0)
    assert now == pytest.approx(20.0)


def test_clients_sharing_a_tenant_key_must_agree_on_the_tenant_rate() -> None:
    async def main() -> None:
        a = RateLimiter(RateLimits(tenant=Rate(300, 60.0), tenant_key="contoso"))
        b = RateLimiter(RateLimits(tenant=Rate(200, 60.0), tenant_key="contoso"))
        a.open()
        try:
            with pytest.raises(ValidationError, match="tenant"):
                b.open()
        finally:
            a.close()

    run_virtual(main)


def test_precharge_delays_the_first_call_by_one_spacing() -> None:
    async def main() -> tuple[float, float]:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        warm = RateLimiter(RateLimits(tenant=None, jitter=0.0))
        cold = RateLimiter(RateLimits(tenant=None, jitter=0.0, precharge=False))
        warm.open()
        cold.open()
        a, b = await asyncio.gather(warm.acquire(), cold.acquire())
        warm.close()
        cold.close()
        return a - t0, b - t0

    warm, cold = run_virtual(main)
    assert warm == pytest.approx(0.6)
    assert cold == pytest.approx(0.0, abs=1e-3)


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"connector": Rate(100, 60.0), "jitter": -1.0}, "jitter"),
        ({"burst": 0}, "burst"),
        ({"connector": (100, 60)}, "connector"),
    ],
)
def test_bad_limits_are_rejected_with_the_argument_named(
    kwargs: dict[str, object], argument: str
) -> None:
    with pytest.raises(ValidationError, match=argument):
        RateLimits(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("limit", "period"), [(0, 60.0), (100, 0.0), (100, float("inf")), (1.5, 60.0)]
)
def test_bad_rates_are_rejected(limit: int, period: float) -> None:
    with pytest.raises(ValidationError):
        Rate(limit, period)


@settings(max_examples=60, deadline=None)
@given(scenarios(), st.integers(2, 10))
def test_burst_mode_still_respects_every_window(s: Scenario, burst: int) -> None:
    async def bursty(sc: Scenario) -> tuple[Acquire, Callable[[], None]]:
        limits = RateLimits(
            connector=sc.connector, tenant=sc.tenant, tenant_key="b", jitter=sc.jitter, burst=burst
        )
        limiters = [RateLimiter(limits) for _ in sc.requests]
        for limiter in limiters:
            limiter.open()

        async def acquire(i: int) -> None:
            await limiters[i].acquire()

        return acquire, lambda: [limiter.close() for limiter in limiters] and None

    assert all_violations(s, bursty) == []
