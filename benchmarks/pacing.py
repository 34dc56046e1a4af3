"""Pacing under stress (issue 13): every counting method x network profile x event-loop load.

Three connectors of one tenant with unequal loads (two always busy, one light) run against the
in-process emulator at 1 s windows, N = 20 per connector and 45 for the tenant, with the client's
default ``RateLimits`` (only the rates scaled). The emulator's network model delays each call on
its way in and back; a second task blocks the event loop 5 ms every 15 ms. Every cell must show
0 x 429; the rate is the tenant's accepted calls per second over the binding limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from kaizala_async import KaizalaClient, Rate
from kaizala_async.emulator import THROTTLE_METHODS, Emulator, EmulatorConfig, NetworkProfile

from ._common import opened, print_table

CONNECTOR = Rate(20, 1.0)
TENANT = Rate(45, 1.0)
PROFILES: dict[str, NetworkProfile | None] = {
    "none": None,
    "uniform 0-30 ms": NetworkProfile.uniform(0.0, 0.030),
    "2 ms, 3 % spikes 100-300 ms": NetworkProfile.spikes(0.002, 0.03, 0.1, 0.3),
}
LOOPS = ("idle", "blocked 5/15 ms")
#: The light connector sends one message, then rests this long.
LIGHT_REST = 0.1


async def _busy(client: KaizalaClient, group: str, stop: asyncio.Event) -> None:
    while not stop.is_set():
        await client.messages.send(group, "load")


async def _light(client: KaizalaClient, group: str, stop: asyncio.Event, sent: list[float]) -> None:
    while not stop.is_set():
        await client.messages.send(group, "light")
        sent.append(time.monotonic())
        await asyncio.sleep(LIGHT_REST)


async def _block_the_loop(stop: asyncio.Event) -> None:
    while not stop.is_set():
        time.sleep(0.005)  # noqa: ASYNC251 (on purpose: a CPU-bound step holding the loop)
        await asyncio.sleep(0.010)


async def _cell(method: str, network: NetworkProfile | None, blocked: bool, seconds: float,
                warmup: float) -> dict[str, Any]:  # fmt: skip
    config = EmulatorConfig(
        connector_limit=CONNECTOR, tenant_limit=TENANT, throttle=method,  # type: ignore[arg-type]
        network=network,
    )  # fmt: skip
    async with Emulator(config) as emu:
        clients = [emu.client() for _ in range(3)]
        group = emu.create_groups(1)[0]
        stop = asyncio.Event()
        async with opened(clients):
            tasks = [asyncio.create_task(_busy(clients[i], group, stop)) for i in (0, 1)
                     for _ in range(4)]  # fmt: skip
            light: list[float] = []
            tasks.append(asyncio.create_task(_light(clients[2], group, stop, light)))
            if blocked:
                tasks.append(asyncio.create_task(_block_the_loop(stop)))
            await asyncio.sleep(warmup)
            before, light_before, start = _accepted(emu), len(light), time.monotonic()
            await asyncio.sleep(seconds)
            after, light_after = _accepted(emu), len(light)
            elapsed = time.monotonic() - start
            stop.set()
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        stats = emu.stats()
    rate = (after - before) / elapsed
    light = (light_after - light_before) / elapsed
    # Two busy connectors at most N each, the light one at what it asked for, under the tenant.
    binding = min(TENANT.per_second, 2 * CONNECTOR.per_second + light)
    return {
        "429s": sum(c["throttled"] for c in stats["connectors"].values()),
        "max in window (tenant)": next(iter(stats["tenants"].values()))["maxInWindow"],
        "rate/s": rate,
        "rate / binding limit": rate / binding,
    }


def _accepted(emu: Emulator) -> int:
    return int(next(iter(emu.stats()["tenants"].values()))["calls"])


def pacing_stress(quick: bool) -> list[dict[str, Any]]:
    """Every counting method x network profile x loop load; 0 x 429 expected in every cell."""
    seconds, warmup = (3.0, 1.0) if quick else (8.0, 2.0)
    rows = []
    for method in THROTTLE_METHODS:
        for profile, network in PROFILES.items():
            for loop in LOOPS:
                cell = asyncio.run(_cell(method, network, loop != "idle", seconds, warmup))
                rows.append({"method": method, "network": profile, "loop": loop, **cell})
    print_table(
        "Pacing under stress: 3 connectors of one tenant, Rate(20, 1 s) each, Rate(45, 1 s) "
        "tenant, default RateLimits",
        rows,
    )
    worst = min(r["rate / binding limit"] for r in rows)
    print(f"429s in all cells: {sum(r['429s'] for r in rows)}; lowest rate / binding: {worst:.3f}")
    return rows
