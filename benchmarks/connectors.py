"""Scenario 4: many connectors in one process, at the real default limits, over MockTransport."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from typing import Any

import httpx

from kaizala_async import KaizalaClient, RateLimits
from kaizala_async._constants import (
    DEFAULT_CONNECTOR_LIMIT,
    DEFAULT_CONNECTOR_PERIOD,
    DEFAULT_TENANT_LIMIT,
    DEFAULT_TENANT_PERIOD,
)

from ._common import print_table
from ._mock import CREDENTIALS, mock_transport
from ._raw import TEXT

WORKERS_PER_CONNECTOR = 2


def _budget(connectors: int, per_tenant: int) -> float:
    """Calls per second the limits allow, summed over the tenants."""
    connector = DEFAULT_CONNECTOR_LIMIT / DEFAULT_CONNECTOR_PERIOD
    tenant = DEFAULT_TENANT_LIMIT / DEFAULT_TENANT_PERIOD
    tenants, rest = divmod(connectors, per_tenant)
    budget = tenants * min(per_tenant * connector, tenant)
    return budget + (min(rest * connector, tenant) if rest else 0.0)


async def _run(connectors: int, per_tenant: int, seconds: float) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    calls: list[float] = []
    inner = mock_transport()

    async def counting(request: httpx.Request) -> httpx.Response:
        calls.append(loop.time())
        return await inner.handle_async_request(request)

    transport = httpx.MockTransport(counting)
    clients = [
        KaizalaClient(
            CREDENTIALS,
            transport=transport,
            limits=RateLimits(tenant_key=f"tenant-{n // per_tenant}" if per_tenant > 1 else None),
        )
        for n in range(connectors)
    ]
    groups = itertools.count()

    async def drive(client: KaizalaClient) -> None:
        async def worker() -> None:
            while True:
                await client.messages.send(f"group-{next(groups)}", TEXT)

        async with client:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(deadline), asyncio.TaskGroup() as tasks:
                    for _ in range(WORKERS_PER_CONNECTOR):
                        tasks.create_task(worker())

    start = loop.time()
    deadline = start + seconds
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
        "CPU share of one core": cpu / (loop.time() - start),
    }


def many_connectors(quick: bool) -> list[dict[str, Any]]:
    """1,000 connectors in 1,000 tenants, then in 250 tenants of 4, for 60 s each."""
    connectors, seconds = (100, 10.0) if quick else (1000, 60.0)
    rows = [asyncio.run(_run(connectors, per_tenant, seconds)) for per_tenant in (1, 4)]
    print_table("Many connectors in one process (default limits, MockTransport)", rows)
    return rows
