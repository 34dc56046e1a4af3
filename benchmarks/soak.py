"""A long-lived service's clients under faults and cancellations: nothing may wear out.

Three connectors of one tenant against the loopback emulator (its own process, fast limits,
access tokens living 8 s so renewals come every few seconds), with 503s, resets, 429s and
endpoint moves injected. Each client has 16 tasks sending messages whose calls are cancelled
the ways services cancel them (``asyncio.timeout``, ``wait_for``, ``task.cancel()`` once or
twice, anyio's ``move_on_after``), a task listing groups, and a fan-out now and then (some
cancelled half way). Every 10 s it samples, in this process: connections the pools hold busy,
requests they track, open file descriptors, asyncio tasks. Those must stay flat.

``python -m benchmarks soak`` runs 6 minutes (``--quick``: 40 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import random
import tempfile
import time
from typing import Any

import anyio
import httpx

from kaizala_async import KaizalaClient, KaizalaError, Rate, RateLimits

from ._common import LoopbackEmulator, loopback_emulator, opened, print_table

SENDERS = 16


def soak(quick: bool) -> list[dict[str, Any]]:
    minutes = 40 / 60 if quick else 6.0
    options = ("--connector-limit", "100/1", "--tenant-limit", "300/1", "--token-ttl", "8")
    options += ("--network", "uniform:0.002-0.03")  # each way: cancellations land on the wire
    with loopback_emulator(*options, connectors=3) as emu:
        groups = emu.create_groups(200)
        emu.control("POST", "faults", {"route": "*", "errorRate": 0.02, "errorStatus": 503,
                                       "resetRate": 0.01})  # fmt: skip
        emu.control("POST", "faults", {"route": "*", "errorRate": 0.01, "errorStatus": 429})
        rows = asyncio.run(_soak(emu, groups, minutes * 60))
    print_table(f"Soak: {minutes:g} min, 3 clients, faults and cancellations of every kind", rows)
    # Row 0 is taken before the work starts; the one before last after it ended, the clients
    # still open; the last one after they closed.
    first, settled, closed = rows[1], rows[-2], rows[-1]
    print(
        f"after the work, clients open: {settled['busy connections']} busy connections, "
        f"{settled['pool requests']} tracked requests; after close: fds {first['open fds']} -> "
        f"{closed['open fds']}, tasks {first['tasks']} -> {closed['tasks']}"
    )
    return rows


async def _soak(emu: LoopbackEmulator, groups: list[str], seconds: float) -> list[dict[str, Any]]:
    limits = RateLimits(connector=Rate(100, 1.0), tenant=Rate(300, 1.0), tenant_key="soak")
    clients = [emu.client(n, limits, timeout=5.0) for n in range(3)]
    rng = random.Random(25)
    counts = {"calls": 0, "answered": 0, "cancelled": 0, "errors": 0, "fan-outs": 0}
    rows: list[dict[str, Any]] = []
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as folder:
        async with opened(clients):
            rows.append(_sample(clients, 0.0, counts))
            async with anyio.create_task_group() as group:
                stop = start + seconds
                for n, client in enumerate(clients):
                    for _ in range(SENDERS):
                        group.start_soon(_sender, client, groups, rng, stop, counts)
                    group.start_soon(_lister, client, stop, counts)
                    group.start_soon(_fan_outs, client, groups, rng, stop, counts, f"{folder}/{n}")
                group.start_soon(_mover, emu, stop)
                while time.monotonic() < stop:
                    await asyncio.sleep(min(10.0, max(0.0, stop - time.monotonic())))
                    rows.append(_sample(clients, time.monotonic() - start, counts))
            # The work has ended; the clients are still open and must hold nothing.
            await asyncio.sleep(0.5)
            rows.append(_sample(clients, time.monotonic() - start, counts))
            for client in clients:  # and they still answer
                await client.groups.get(groups[0])
                counts["answered"] += 1
        # Everything has ended; the clients are closed. One last look at the process.
        await asyncio.sleep(0.2)
        rows.append(_sample([], time.monotonic() - start, counts))
    return rows


def _sample(clients: list[KaizalaClient], at: float, counts: dict[str, int]) -> dict[str, Any]:
    busy = tracked = 0
    for client in clients:
        pool = _pool(client)
        busy += sum(1 for c in pool.connections if not c.is_idle() and not c.is_closed())
        tracked += len(pool._requests)
    return {
        "at s": round(at),
        **counts,
        "busy connections": busy if clients else "closed",
        "pool requests": tracked if clients else "closed",
        "open fds": len(os.listdir("/proc/self/fd")),
        "tasks": len(asyncio.all_tasks()),
    }


def _pool(client: KaizalaClient) -> Any:
    transport = client._require().http._transport
    assert isinstance(transport, httpx.AsyncHTTPTransport)
    return transport._pool


async def _cancelled(call: Any, rng: random.Random, counts: dict[str, int]) -> None:
    """Run ``call()``, cancelled at a random moment in one of five ways (or finished)."""
    delay = rng.uniform(0.0, 0.4)  # in the rate limiter's queue, or on the wire
    kind = rng.randrange(5)
    counts["calls"] += 1
    try:
        if kind == 0:
            await asyncio.wait_for(call(), delay)
        elif kind == 1:
            async with asyncio.timeout(delay):
                await call()
        elif kind == 2:
            with anyio.move_on_after(delay) as scope:
                await call()
            counts["cancelled" if scope.cancelled_caught else "answered"] += 1
            return
        else:
            task = asyncio.ensure_future(call())
            await asyncio.sleep(delay)
            task.cancel()
            if kind == 4:  # cancelled again while the first cancellation is handled
                await asyncio.sleep(rng.uniform(0.0, 0.003))
                task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            if task.cancelled():
                counts["cancelled"] += 1
                return
            task.result()
        counts["answered"] += 1
    except TimeoutError:
        counts["cancelled"] += 1
    except KaizalaError:
        counts["errors"] += 1


async def _sender(
    client: KaizalaClient,
    groups: list[str],
    rng: random.Random,
    stop: float,
    counts: dict[str, int],
) -> None:
    while time.monotonic() < stop:
        send = functools.partial(client.messages.send, rng.choice(groups), "soak")
        await _cancelled(send, rng, counts)


async def _lister(client: KaizalaClient, stop: float, counts: dict[str, int]) -> None:
    while time.monotonic() < stop:
        counts["calls"] += 1
        try:
            async for _ in client.groups.list():
                pass
            counts["answered"] += 1
        except KaizalaError:
            counts["errors"] += 1
        await asyncio.sleep(1.0)


async def _fan_outs(
    client: KaizalaClient,
    groups: list[str],
    rng: random.Random,
    stop: float,
    counts: dict[str, int],
    journal: str,
) -> None:
    runs = 0
    while time.monotonic() < stop:
        runs += 1
        chosen = rng.sample(groups, 30)
        with contextlib.suppress(KaizalaError), anyio.move_on_after(rng.uniform(0.5, 6.0)):
            await client.fan_out(chosen, text=f"soak {runs}", journal=f"{journal}-{runs}.db")
        counts["fan-outs"] += 1
        await asyncio.sleep(2.0)


async def _mover(emu: LoopbackEmulator, stop: float) -> None:
    while time.monotonic() < stop - 15:
        await asyncio.sleep(15.0)
        await asyncio.to_thread(emu.control, "POST", "move", {})
