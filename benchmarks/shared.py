"""Processes sharing one tenant through Redis (a real redis-server): issues 8 and 13."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from ._common import loopback_emulator, print_table
from ._redis_server import redis_server_handle
from ._shared_child import launch, reports

CONNECTOR, TENANT = "100/6", "300/6"
TENANT_LIMIT, PERIOD = 300, 6.0
#: Redis stays down this long when it is killed.
OUTAGE = 2.0


def _run(
    processes: int, count: int, *, block: bool = False, kill_at: float | None = None,
    shift: float = 0.0,
) -> dict[str, Any]:  # fmt: skip
    options = ("--connector-limit", CONNECTOR, "--tenant-limit", TENANT)
    recovered_at = None
    with (
        redis_server_handle() as server,
        loopback_emulator(*options, connectors=processes) as emu,
        tempfile.TemporaryDirectory() as folder,
    ):
        groups = emu.create_groups(count)
        children = launch(emu.root, emu.credentials, groups, server.url, Path(folder),
                          limits=(CONNECTOR, TENANT), shifts={0: shift}, block=block)  # fmt: skip
        if kill_at is not None:
            while sum(emu.stats()["messagesPerGroup"].values()) < kill_at * count:
                time.sleep(0.05)
            server.kill()
            time.sleep(OUTAGE)
            server.restart()
            recovered_at = time.monotonic()
        results = reports(children)
        stats = emu.stats()
    tenant = next(iter(stats["tenants"].values()))
    unshifted = [r for n, r in enumerate(results) if not (shift and n == 0)]
    times = sorted(t for r in unshifted for t in r["times"])
    rate = (len(times) - 1) / (times[-1] - times[0]) / (TENANT_LIMIT / PERIOD)
    granted = sum(r["granted"] for r in results)
    per_group = stats["messagesPerGroup"]
    after = None
    if recovered_at is not None:
        # Redis is back; each process finds it within retry_every (0.5 s): the next window.
        start = recovered_at + 0.5
        window = [t for t in times if start < t <= start + PERIOD]
        after = len(window) / TENANT_LIMIT if times[-1] > start + PERIOD else None
    name = f"Redis killed at {kill_at:.0%}, back after {OUTAGE:g} s" if kill_at else "plain"
    if shift:
        name = f"one clock shifted {shift:+g} s"
    return {
        "processes": processes,
        "run": name + (", loop blocked 5/15 ms" if block else ""),
        "groups": count,
        "sent": sum(r["sent"] for r in results),
        "outcomes": sum(r["sent"] + r["failed"] + r["unknown"] for r in results),
        "429s": tenant["throttled"],  # the emulator counts each 429 in its tenant once
        "most in a tenant window": tenant["maxInWindow"],
        "rate / tenant limit": None if shift else rate,
        "window after recovery / limit": after,
        "round trips / call": sum(r["round_trips"] for r in results) / granted,
        "bookings / call": sum(r["reservations"] for r in results) / granted,
        "calls on fallback": sum(r["fallback_grants"] for r in results),
        "duplicated": sum(1 for v in per_group.values() if v > 1),
    }


def fleet(quick: bool) -> list[dict[str, Any]]:
    """4 and 8 processes: plain, with a loop-blocking task, and Redis SIGKILLed and restarted;
    4 processes with one clock shifted by 7 s."""
    count = 400 if quick else 1200
    rows = []
    for processes in (4, 8):
        rows.append(_run(processes, count))
        rows.append(_run(processes, count, block=True))
        rows.append(_run(processes, count, kill_at=0.4))
    rows.append(_run(4, count, shift=7.0))
    print_table(
        "Processes sharing one tenant through Redis (Rate(100, 6 s) per connector, "
        "Rate(300, 6 s) per tenant)",
        rows,
    )
    return rows
