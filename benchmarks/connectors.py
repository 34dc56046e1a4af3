"""Scenario 4: many connectors in one process, at the real default limits, over MockTransport."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import statistics
import time
from typing import Any

import httpx

from kaizala_async import Credentials, KaizalaClient, RateLimits
from kaizala_async._constants import (
    DEFAULT_CONNECTOR_LIMIT,
    DEFAULT_CONNECTOR_PERIOD,
    DEFAULT_TENANT_LIMIT,
    DEFAULT_TENANT_PERIOD,
)

from ._common import print_table
from ._mock import mock_transport
from ._raw import TEXT, post_text

WORKERS_PER_CONNECTOR = 2


def _budget(connectors: int, per_tenant: int) -> float:
    """Calls per second the limits allow, summed over the tenants."""
    connector = DEFAULT_CONNECTOR_LIMIT / DEFAULT_CONNECTOR_PERIOD
    tenant = DEFAULT_TENANT_LIMIT / DEFAULT_TENANT_PERIOD
    tenants, rest = divmod(connectors, per_tenant)
    budget = tenants * min(per_tenant * connector, tenant)
    return budget + (min(rest * connector, tenant) if rest else 0.0)


async def _run(connectors: int, per_tenant: int, seconds: float, settle: float) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    calls: list[float] = []
    inner = mock_transport()

    async def counting(request: httpx.Request) -> httpx.Response:
        calls.append(loop.time())
        return await inner.handle_async_request(request)

    transport = httpx.MockTransport(counting)
    clients = [
        KaizalaClient(
            Credentials(f"bench-app-{n}", "bench-secret", "bench-refresh"),  # one connector each
            transport=transport,
            limits=RateLimits(tenant_key=f"tenant-{n // per_tenant}" if per_tenant > 1 else None),
        )
        for n in range(connectors)
    ]
    groups = itertools.count()
    opened = Steady(len(clients))
    start = loop.time()
    deadline = start + seconds

    async def drive(client: KaizalaClient) -> None:
        async def worker() -> None:
            while True:
                await client.messages.send(f"group-{next(groups)}", TEXT)

        async with client:
            opened.one_ready(calls)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(deadline), asyncio.TaskGroup() as tasks:
                    for _ in range(WORKERS_PER_CONNECTOR):
                        tasks.create_task(worker())

    loop.call_at(start + settle, opened.settled, calls)
    loop.call_at(deadline, opened.end, calls)
    cpu = time.process_time()
    async with asyncio.TaskGroup() as tasks:
        for client in clients:
            tasks.create_task(drive(client))
    cpu = time.process_time() - cpu
    counted = sum(1 for t in calls if start <= t <= deadline)
    budget = _budget(connectors, per_tenant)
    return {
        "connectors": connectors,
        "tenants": -(-connectors // per_tenant),
        "seconds": seconds,
        "calls": counted,
        "calls/s": counted / seconds,
        "budget calls/s": budget,
        "share of budget": counted / seconds / budget,
        "CPU µs per call": cpu / max(len(calls), 1) * 1e6,
        "steady CPU µs per call": opened.per_call(),
        "steady share of budget": opened.rate() / budget,
        "CPU share of one core": cpu / (loop.time() - start),
    }


class Steady:
    """CPU per call from the moment every client is open and the first window is behind (its
    ledgers hold a window of calls, as in a service that has run for a while) to the deadline:
    the clients' opening and closing, a one-off cost per client, and the first window, when the
    ledgers are still filling, left out."""

    def __init__(self, clients: int) -> None:
        self._left = clients
        self._settled = False
        self._from = (0.0, 0, 0.0)
        self._to = (0.0, 0, 0.0)

    def _mark(self, calls: list[float]) -> tuple[float, int, float]:
        return (time.process_time(), len(calls), time.monotonic())

    def one_ready(self, calls: list[float]) -> None:
        self._left -= 1
        if self._left == 0 and self._settled:
            self._from = self._mark(calls)

    def settled(self, calls: list[float]) -> None:
        self._settled = True
        if self._left == 0:
            self._from = self._mark(calls)

    def end(self, calls: list[float]) -> None:
        self._to = self._mark(calls)

    def per_call(self) -> float:
        (cpu0, calls0, _), (cpu1, calls1, _) = self._from, self._to
        return (cpu1 - cpu0) / max(calls1 - calls0, 1) * 1e6

    def rate(self) -> float:
        """Calls per second over the steady part."""
        (_, calls0, t0), (_, calls1, t1) = self._from, self._to
        return (calls1 - calls0) / max(t1 - t0, 1e-9)


async def _raw_paced_cpu_per_call(clients: int, seconds: float) -> float:
    """Raw httpx paced the simplest way at the same rate: ``clients`` httpx clients, two workers
    each, each worker sleeping between its calls so that each client makes 100 calls a minute.
    CPU per call in steady state (the clients' creation left out), for the pacing's own price."""
    transport = mock_transport()
    pause = WORKERS_PER_CONNECTOR * DEFAULT_CONNECTOR_PERIOD / DEFAULT_CONNECTOR_LIMIT
    made = 0

    async def worker(http: httpx.AsyncClient, offset: float) -> None:
        nonlocal made
        await asyncio.sleep(offset)
        while True:
            response = await post_text(http, "https://kms.kaiza.la", "bench-access", f"g-{made}")
            response.raise_for_status()
            response.json()
            made += 1
            await asyncio.sleep(pause)

    https = [httpx.AsyncClient(transport=transport, timeout=60) for _ in range(clients)]
    cpu = time.process_time()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds), asyncio.TaskGroup() as tasks:
            for n, http in enumerate(https):
                for w in range(WORKERS_PER_CONNECTOR):
                    tasks.create_task(worker(http, pause * ((n + w / 2) / clients)))
    cpu = time.process_time() - cpu
    for http in https:
        await http.aclose()
    return cpu / max(made, 1) * 1e6


async def _raw_cpu_per_call(calls: int) -> float:
    """CPU per call of the same POST in raw httpx on the same transport (no pacing)."""
    transport = mock_transport()
    async with httpx.AsyncClient(transport=transport, timeout=60) as http:
        for _ in range(200):  # warm up
            (await post_text(http, "https://kms.kaiza.la", "bench-access", "g")).json()
        cpu = time.process_time()
        for n in range(calls):
            response = await post_text(http, "https://kms.kaiza.la", "bench-access", f"g-{n}")
            response.raise_for_status()
            response.json()
        return (time.process_time() - cpu) / calls * 1e6


def many_connectors(quick: bool) -> list[dict[str, Any]]:
    """1,000 connectors (one application id each) in 1,000 tenants, then in 250 tenants of 4,
    for 190 s each (the steady figures from 130 s on); their CPU per call against raw httpx's for
    the same POST, back to back and paced by ``asyncio.sleep`` at the same rate."""
    # The steady part starts two windows and ten seconds in: every ledger then holds full
    # windows of calls, as in a service that has run for a while. In the first window the
    # ledgers are still filling (cheap), in the second they still count the first one's
    # ramp (dearer): neither is what a long-lived service pays.
    connectors, seconds, settle = (100, 10.0, 0.0) if quick else (1000, 190.0, 130.0)
    # Raw httpx's figure wanders by 10-20 % between runs on a small machine: it is measured
    # before, between and after the two rows, and the median of the three is the reference.
    calls = 5_000 if quick else 20_000
    raws = [asyncio.run(_raw_cpu_per_call(calls))]
    rows = []
    for per_tenant in (1, 4):
        rows.append(asyncio.run(_run(connectors, per_tenant, seconds, settle)))
        raws.append(asyncio.run(_raw_cpu_per_call(calls)))
    raw = statistics.median(raws)
    paced = asyncio.run(_raw_paced_cpu_per_call(connectors, 60.0 if not quick else seconds))
    for row in rows:
        row["raw httpx CPU µs per call"] = raw
        row["CPU / raw"] = row["CPU µs per call"] / raw
        row["steady CPU / raw"] = row["steady CPU µs per call"] / raw
        row["raw httpx paced by sleep, µs per call"] = paced
        row["steady CPU / raw paced"] = row["steady CPU µs per call"] / paced
    print_table("Many connectors in one process (default limits, MockTransport)", rows)
    return rows
