"""The tenant budget shared by processes (DESIGN §4): the booking protocol with a scripted backend
in virtual time, then RedisTenantBudget against a real redis-server and OS processes."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import logging
import math
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from benchmarks._common import loopback_emulator
from benchmarks._redis_server import redis_server
from benchmarks._shared_child import launch
from benchmarks._shared_child import reports as fleet_reports
from kaizala_async import (
    BracketReport,
    Credentials,
    KaizalaClient,
    Rate,
    RateLimits,
    RedisTenantBudget,
    SharedBudgetStats,
    ValidationError,
)
from kaizala_async._ledger import CallLedger

from .conftest import make_client
from .fake_service import REFRESH, FakeKaizala
from .vtime import run_virtual


class ScriptedBackend:
    """A backend that keeps a GCRA and a bracket ledger like the Lua script, on its own clock
    (loop time + skew), and can be made to fail or to hang."""

    share_connectors = False
    timeout = 0.25
    retry_every = 1.0
    errors: tuple[type[BaseException], ...] = (ConnectionError,)

    def __init__(self, *, processes: int | None = None, skew: float = 0.0) -> None:
        self.tenant_key = "contoso"
        self.processes = processes
        self.stats = SharedBudgetStats()
        self.skew = skew
        self.tat: float | None = None
        self.failing = False
        self.hanging = False
        self.in_flight = 0
        self.most_in_flight = 0
        self.reports: list[BracketReport] = []
        self.ledger: CallLedger | None = None
        self.flight: set[str] = set()
        self.bookings = 0
        self.pauses: list[float] = []
        self.closed = 0

    def now(self) -> float:
        return asyncio.get_running_loop().time() + self.skew

    async def reserve(
        self,
        *,
        tenant: Rate,
        jitter: float,
        connector: object,
        call_id: str | None,
        report: BracketReport,
    ) -> tuple[float, int, bool]:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.001)  # a round trip
            if self.hanging:
                await asyncio.sleep(10)
            if self.failing:
                raise ConnectionError("redis is down")
            now = self.now()
            if self.ledger is None:
                self.ledger = CallLedger(tenant.limit, tenant.period)
            self.reports.append(report)
            for name, ago in report.ended:
                if name in self.flight:
                    self.flight.discard(name)
                    self.ledger.end(now - ago)
            for name, _ in report.adopted:
                self.flight.add(name)
                self.ledger.start()
            for ago in report.anonymous:
                self.ledger.start()
                self.ledger.end(now - ago)
            if call_id is None:
                return 0.0, 4, False
            ready = self.ledger.ready_at(now)
            spacing = (tenant.period + jitter) / tenant.limit
            if ready == math.inf:
                return spacing, 4, False
            tat = now + spacing if self.tat is None else self.tat
            slot = max(now, tat, ready)
            self.tat = slot + spacing
            self.flight.add(call_id)
            self.ledger.start()
            self.bookings += 1
            return slot - now, 4, True
        finally:
            self.in_flight -= 1

    async def pause(self, *, tenant: Rate, seconds: float) -> None:
        self.pauses.append(seconds)

    async def aclose(self) -> None:
        self.closed += 1


def _most_in_any_window(times: list[float], period: float) -> int:
    times = sorted(times)
    most, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - period:
            start += 1
        most = max(most, end - start + 1)
    return most


async def _hammer(client: KaizalaClient, callers: int, until: float, sent: list[float]) -> None:
    loop = asyncio.get_running_loop()

    async def caller() -> None:
        while loop.time() < until:
            await client.request("GET", "/groups")
            sent.append(loop.time())

    await asyncio.gather(*(caller() for _ in range(callers)))


def test_one_booking_at_a_time_and_one_per_granted_call(fake: FakeKaizala) -> None:
    backend = ScriptedBackend(skew=12_345.0)  # the backend's clock is far from ours
    tenant = Rate(30, 6.0)

    async def main() -> tuple[list[float], list[int]]:
        sent: list[float] = []
        limits = RateLimits(connector=Rate(100, 6.0), tenant=tenant, backend=backend)
        clients = [make_client(fake, limits=limits) for _ in range(3)]
        async with clients[0], clients[1], clients[2]:
            until = asyncio.get_running_loop().time() + 60
            await asyncio.gather(*(_hammer(c, 5, until, sent) for c in clients))
            granted = [c._limiter.granted for c in clients]
        return sent, granted

    sent, granted = run_virtual(main)
    assert backend.most_in_flight == 1  # never two bookings outstanding in one process
    assert _most_in_any_window(sent, 6.0) <= tenant.limit
    assert sum(granted) >= 0.98 * 60 / 6 * tenant.limit  # the budget is used, not wasted
    # One booking per granted call: a booked slot is never thrown away, however late the loop.
    assert backend.stats.reservations <= sum(granted) + 1
    # Round trips: bookings plus reports sent alone.
    assert len(backend.reports) <= 1.5 * sum(granted)
    assert backend.closed == 1  # the last client out closed the backend


def test_a_failing_backend_falls_back_to_a_share_logs_once_and_recovers(
    fake: FakeKaizala, caplog: pytest.LogCaptureFixture
) -> None:
    backend = ScriptedBackend()
    tenant = Rate(300, 6.0)

    async def main() -> tuple[list[float], list[float], float]:
        loop = asyncio.get_running_loop()
        sent: list[float] = []
        limits = RateLimits(connector=Rate(300, 6.0), tenant=tenant, backend=backend)
        async with make_client(fake, limits=limits) as client:
            start = loop.time()
            await _hammer(client, 4, start + 12, sent)  # shared budget: 4 processes seen
            backend.failing = True
            outage = len(sent)
            await _hammer(client, 4, start + 42, sent)
            backend.failing = False
            back = loop.time()
            await _hammer(client, 4, start + 60, sent)
        return sent[outage:], sent, back

    with caplog.at_level(logging.WARNING, logger="kaizala_async.ratelimit"):
        during, everything, back = run_virtual(main)
    unreachable = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(unreachable) == 1  # logged once for the whole 30 s outage
    assert "redis is down" not in caplog.text  # the error's type, not its text
    stats = backend.stats
    assert stats.outages == 1 and stats.recoveries == 1
    # Retried about once a second whenever it had a call to make, never given up. It had none
    # at first: this process alone made the tenant's 300 calls of the window before the
    # failure, which its fallback share (75) counts, so it waits about one window.
    assert stats.failures >= 20
    # Paced, never unlimited: the share of 4 known processes, 300 / 4 per window.
    outage_calls = [t for t in during if t < back]
    assert _most_in_any_window(outage_calls, 6.0) <= 75 + 1
    assert stats.fallback_grants >= 0.95 * (30 - 6) / 6 * 74
    # On recovery the fallback's calls of the last two windows are reported with their ends.
    assert max(len(r.anonymous) for r in backend.reports) >= 60
    assert _most_in_any_window(everything, 6.0) <= tenant.limit
    # ... and the tenant is back at full rate at once: the window after recovery is busy.
    recovered = [t for t in everything if t >= back]
    assert _most_in_any_window(recovered, 6.0) >= 0.9 * tenant.limit


def test_a_slow_backend_counts_as_down(fake: FakeKaizala) -> None:
    backend = ScriptedBackend(processes=2)
    backend.hanging = True

    async def main() -> int:
        limits = RateLimits(connector=Rate(100, 6.0), tenant=Rate(300, 6.0), backend=backend)
        async with make_client(fake, limits=limits) as client:
            for _ in range(5):
                await client.request("GET", "/groups")
            return client._limiter.granted

    assert run_virtual(main) == 6  # the token call and five calls, none waiting on the hang
    assert backend.stats.outages == 1
    assert backend.stats.fallback_grants >= 5


def test_a_429_pauses_the_shared_budget(fake: FakeKaizala) -> None:
    backend = ScriptedBackend()
    fake.throttle.append("3")

    async def main() -> None:
        limits = RateLimits(connector=Rate(100, 6.0), tenant=Rate(300, 6.0), backend=backend)
        async with make_client(fake, limits=limits) as client:
            await client.request("GET", "/groups")

    run_virtual(main)
    assert backend.pauses and 2.9 <= backend.pauses[0] <= 3.0


def test_arguments_are_checked_before_anything_connects() -> None:
    with pytest.raises(ValidationError) as bad_url:
        RedisTenantBudget("http://cache:6379", "contoso")
    assert bad_url.value.argument == "url"
    with pytest.raises(ValidationError) as bad_key:
        RedisTenantBudget("redis://cache", "con{toso}")
    assert bad_key.value.argument == "tenant_key"
    with pytest.raises(ValidationError):
        RedisTenantBudget("redis://cache", "contoso", timeout=0)
    with pytest.raises(ValidationError):
        RateLimits(tenant=None, backend=RedisTenantBudget("redis://cache", "contoso"))
    with pytest.raises(ValidationError):
        RateLimits(burst=3, backend=RedisTenantBudget("redis://cache", "contoso"))
    with pytest.raises(ValidationError):
        RateLimits(backend="redis://cache")  # type: ignore[arg-type]
    budget = RedisTenantBudget("redis://:hunter2-secret@cache.internal:6379/0", "contoso")
    assert "hunter2" not in repr(budget) and "cache.internal" in repr(budget)


def test_bookings_use_redis_time_hash_tagged_keys_and_expire(redis_url: str) -> None:
    import redis.asyncio

    tenant = Rate(100, 1.0)  # 10 ms apart (jitter 5 ms: spacing 10.05 ms)

    async def main() -> tuple[list[int], int, dict[str, int]]:
        budget = RedisTenantBudget(redis_url, "tags-test")
        tats = []
        async with redis.asyncio.Redis.from_url(redis_url) as r:
            for n in range(20):
                ended = ((f"c{n - 1}", 0.0),) if n else ()
                _, _, booked = await budget.reserve(
                    tenant=tenant, jitter=0.005, connector=None, call_id=f"c{n}",
                    report=BracketReport(ended=ended),
                )  # fmt: skip
                assert booked
                tats.append(int(await r.get("kaizala:{tags-test}:tat")))
            seconds, micros = await r.time()
            await budget.aclose()
            keys = [k.decode() async for k in r.scan_iter("kaizala:{tags-test}:*")]
            ttls = {k: int(await r.pttl(k)) for k in keys}
        return tats, int(seconds) * 1_000_000 + int(micros), ttls

    tats, redis_now, ttls = asyncio.run(main())
    # The slots are kept on Redis's clock (µs since the epoch), read back from the script's own
    # record rather than from this machine's clock after a round trip (a busy machine blurs that):
    # each booking lands at least (T + J) / N after the one before, however fast they come.
    assert abs(tats[-1] - redis_now) < 2_000_000
    gaps = [b - a for a, b in itertools.pairwise(tats)]
    assert min(gaps) >= 10_050 - 1
    assert sorted(ttls) == [
        "kaizala:{tags-test}:ends",
        "kaizala:{tags-test}:flight",
        "kaizala:{tags-test}:processes",
        "kaizala:{tags-test}:tat",
    ]
    # Gone a few windows after use (the ends and calls in flight: two periods and the lease).
    assert all(0 < ttl <= 183_100 for ttl in ttls.values())


LIMITS = ("100/3", "300/3")
#: Four children, the emulator and Redis share two cores here: a scheduling delay can exceed the
#: default allowance of a 3-second window (15 ms), so the children give the network 100 ms.
JITTER = 0.1


def test_four_processes_one_with_a_shifted_clock_never_exceed_the_tenant(redis_url: str) -> None:
    options = ("--connector-limit", LIMITS[0], "--tenant-limit", LIMITS[1])
    with (
        loopback_emulator(*options, connectors=4) as emu,
        tempfile.TemporaryDirectory() as folder,
    ):
        groups = emu.create_groups(400)
        children = launch(emu.root, emu.credentials, groups, redis_url, Path(folder),
                          limits=LIMITS, shifts={0: 7.0, 1: -5.0}, jitter=JITTER)  # fmt: skip
        reports = fleet_reports(children)
        stats = emu.stats()
    tenant = next(iter(stats["tenants"].values()))
    assert tenant["throttled"] == 0
    assert all(c["throttled"] == 0 for c in stats["connectors"].values())
    assert tenant["maxInWindow"] <= 300
    assert sorted(set(stats["messagesPerGroup"].values())) == [1]
    assert sum(stats["messagesPerGroup"].values()) == 400 == sum(r["sent"] for r in reports)
    granted = sum(r["granted"] for r in reports)
    assert sum(r["reservations"] for r in reports) <= 1.5 * granted
    assert all(r["outages"] == 0 for r in reports)


def test_redis_killed_mid_run_the_fleet_finishes_on_its_fallback() -> None:
    options = ("--connector-limit", LIMITS[0], "--tenant-limit", LIMITS[1])
    with (
        redis_server() as (url, server),
        loopback_emulator(*options, connectors=4) as emu,
        tempfile.TemporaryDirectory() as folder,
    ):
        groups = emu.create_groups(400)
        children = launch(emu.root, emu.credentials, groups, url, Path(folder), limits=LIMITS,
                          jitter=JITTER)  # fmt: skip
        while sum(emu.stats()["messagesPerGroup"].values()) < 150:
            time.sleep(0.05)
        server.kill()
        reports = fleet_reports(children)
        stats = emu.stats()
    per_group = stats["messagesPerGroup"]
    assert all(r["outages"] == 1 and r["fallback_grants"] > 0 for r in reports)
    outcomes = sum(r["sent"] + r["failed"] + r["unknown"] for r in reports)
    assert outcomes == 400  # every target ended with one outcome
    assert sum(per_group.values()) == sum(r["sent"] for r in reports) == 400
    assert max(per_group.values()) == 1
    tenant = next(iter(stats["tenants"].values()))
    assert tenant["maxInWindow"] <= 300  # nothing went out unpaced
    assert tenant["throttled"] == sum(r["throttled"] for r in reports) == 0


@pytest.mark.parametrize("failing", [False, True])
def test_with_shared_connectors_each_booking_carries_the_connectors_own_limit(
    fake: FakeKaizala, failing: bool
) -> None:
    """``share_connectors``: each booking names the connector, its limit and jitter, so the
    script keeps the connector's budget across processes too; down, the fallback paces at the
    stricter of the tenant's and the connector's limits."""
    backend = ScriptedBackend()
    backend.share_connectors = True
    backend.failing = failing
    seen: list[object] = []
    book = backend.reserve

    async def reserve(**kwargs: object) -> tuple[float, int, bool]:
        seen.append(kwargs["connector"])
        return await book(**kwargs)  # type: ignore[arg-type]

    backend.reserve = reserve  # type: ignore[method-assign]
    connector = Rate(10, 6.0)

    async def main() -> list[float]:
        loop = asyncio.get_running_loop()
        sent: list[float] = []
        limits = RateLimits(connector=connector, tenant=Rate(300, 6.0), backend=backend)
        async with make_client(fake, limits=limits) as client:
            await _hammer(client, 4, loop.time() + 18, sent)
        return sent

    sent = run_virtual(main)
    assert ("app-1", connector, pytest.approx(0.03)) in seen
    assert _most_in_any_window(sent, 6.0) <= connector.limit
    assert len(sent) >= 2 * connector.limit  # paced at the connector's limit, not starved


def test_with_shared_connectors_a_booking_made_for_one_connector_never_serves_another(
    fake: FakeKaizala,
) -> None:
    """Connectors of one process share the tenant's booking stream; each booking names its
    connector (so Redis counts it against that connector's budget), so only that connector may
    send on it: one connector busy, one calling now and then, one giving up on its calls while
    their booking waits for its slot (the booking is handed back, never used by another)."""
    for app in ("app-2", "app-3"):
        fake.apps[app] = f"{app}-secret"
    backend = ScriptedBackend()
    backend.share_connectors = True
    booked_for: dict[str, str] = {}
    book = backend.reserve

    async def reserve(**kwargs: Any) -> tuple[float, int, bool]:
        answer = await book(**kwargs)
        if answer[2]:
            booked_for[kwargs["call_id"]] = kwargs["connector"][0]
        return answer

    backend.reserve = reserve  # type: ignore[method-assign]
    # The tenant binds: a booking often waits for its slot while another connector calls.
    limits = RateLimits(connector=Rate(100, 6.0), tenant=Rate(30, 6.0), backend=backend)

    def client(app: str) -> KaizalaClient:
        secret = fake.apps[app]
        return make_client(fake, limits=limits, credentials=Credentials(app, secret, REFRESH))

    async def main() -> None:
        loop = asyncio.get_running_loop()
        until = loop.time() + 18

        async def now_and_then(idle: KaizalaClient) -> None:
            while loop.time() < until:
                await idle.request("GET", "/groups")
                await asyncio.sleep(0.37)

        async def impatient(quitter: KaizalaClient) -> None:
            while loop.time() < until:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(quitter.request("GET", "/groups"), 0.05)
                await asyncio.sleep(0.13)

        async with client("app-1") as busy, client("app-2") as idle, client("app-3") as quitter:
            await asyncio.gather(
                _hammer(busy, 2, until, []), now_and_then(idle), impatient(quitter)
            )

    run_virtual(main)
    sent = collections.Counter(
        fake.token_apps[c.headers["accesstoken"]] for c in fake.calls if "accesstoken" in c.headers
    )
    bookings = collections.Counter(booked_for.values())
    assert sent["app-1"] >= 30 and sent["app-2"] >= 20  # neither starved
    # The tenant's 90 places in 18 s, less the ones handed back, are used: a booking waiting for
    # its connector is not dropped for another lane's sake over and over.
    assert sent.total() >= 65
    assert bookings["app-3"] > sent["app-3"]  # some of its bookings were handed back
    # Every send rode on a booking for its own connector (a booking handed back is never sent).
    assert all(sent[app] <= bookings[app] for app in fake.apps)
