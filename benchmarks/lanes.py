"""Scenario: the dispatcher's price per grant against the number of waiting connectors.

One tenant (``tenant_key`` shared) whose budget binds, and N connectors of it, each with one
task that takes a slot and gives it back at once, for ever: every connector always waits, so
each grant chooses among N. CPU per grant for N = 10 ... 10,000, against N = 10 in the same run.
The grant itself (a timer, a future, a task woken) is the same for every N; what grows with N is
the dispatcher's choice of the connector.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from kaizala_async import Rate, RateLimits
from kaizala_async._ratelimit import RateLimiter

from ._common import print_table

#: The tenant's budget (binding: grants are spaced 1/2000 s apart, every waiter waits).
TENANT = Rate(2000, 1.0)
NEVER = Rate(10**9, 1.0)  # each connector's own budget, never binding


async def _per_grant(lanes: int, grants: int) -> dict[str, float]:
    limits = RateLimits(connector=NEVER, tenant=TENANT, tenant_key="bench-lanes", jitter=0.0,
                        precharge=False)  # fmt: skip
    limiters = [RateLimiter(limits, f"c{n}") for n in range(lanes)]
    for limiter in limiters:
        limiter.open()
    done = asyncio.Event()
    counted = 0
    start_cpu = 0.0
    warm = max(1_000, lanes)  # every connector served once before the count starts

    async def connector(limiter: RateLimiter) -> None:
        nonlocal counted, start_cpu
        while not done.is_set():
            await limiter.acquire()
            limiter.release()
            counted += 1
            if counted == warm:
                start_cpu = time.process_time()
            elif counted == warm + grants:
                done.set()

    tasks = [asyncio.create_task(connector(limiter)) for limiter in limiters]
    await done.wait()
    cpu = time.process_time() - start_cpu
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for limiter in limiters:
        await limiter.aclose()
    return {"connectors waiting": lanes, "grants": grants, "CPU µs per grant": cpu / grants * 1e6}


def lanes(quick: bool) -> list[dict[str, Any]]:
    """CPU per grant with 10, 100, 1,000 and 10,000 connectors of one tenant always waiting."""
    grants = 4_000 if quick else 20_000
    rows = [asyncio.run(_per_grant(n, grants)) for n in (10, 100, 1_000, 10_000)]
    for row in rows:
        row["/ with 10"] = row["CPU µs per grant"] / rows[0]["CPU µs per grant"]
    print_table("The dispatcher's price per grant against connectors waiting (one tenant)", rows)
    return rows
