"""Issue 8: four processes, one tenant, the budget shared through Redis (a real redis-server)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from ._common import loopback_emulator, print_table
from ._redis_server import redis_server
from ._shared_child import launch, reports

PROCESSES = 4
CONNECTOR, TENANT = "100/6", "300/6"


def _redis_commands(url: str) -> int:
    """Script calls Redis has served (EVALSHA, EVAL, SCRIPT LOAD): the round trips."""
    import redis

    stats = redis.Redis.from_url(url).info("commandstats")
    return sum(v["calls"] for k, v in stats.items() if "eval" in k or "script" in k)


def _run(count: int, *, shift: float = 0.0, kill_at: float | None = None) -> dict[str, Any]:
    options = ("--connector-limit", CONNECTOR, "--tenant-limit", TENANT)
    with (
        redis_server() as (url, server),
        loopback_emulator(*options, connectors=PROCESSES) as emu,
        tempfile.TemporaryDirectory() as folder,
    ):
        groups = emu.create_groups(count)
        children = launch(emu.root, emu.credentials, groups, url, Path(folder),
                          limits=(CONNECTOR, TENANT), shifts={0: shift})  # fmt: skip
        commands = None
        if kill_at is not None:
            while sum(emu.stats()["messagesPerGroup"].values()) < kill_at * count:
                time.sleep(0.05)
            commands = _redis_commands(url)
            server.kill()
        results = reports(children)
        if commands is None:
            commands = _redis_commands(url)
        stats = emu.stats()
    tenant = next(iter(stats["tenants"].values()))
    unshifted = [r for n, r in enumerate(results) if not (shift and n == 0)]
    first = min(r["first"] for r in unshifted)
    last = max(r["last"] for r in unshifted)
    sent_unshifted = sum(r["sent"] for r in unshifted)
    booked = sum(r["granted"] - r["fallback_grants"] for r in results)
    per_group = stats["messagesPerGroup"]
    name = "Redis killed at 40 %" if kill_at else "plain"
    return {
        "run": f"one clock shifted {shift:+g} s" if shift else name,
        "groups": count,
        "sent": sum(r["sent"] for r in results),
        "outcomes": sum(r["sent"] + r["failed"] + r["unknown"] for r in results),
        "429s": tenant["throttled"],  # the emulator counts each 429 in its tenant once
        "most in a tenant window": tenant["maxInWindow"],
        "rate / tenant limit": None if shift else (sent_unshifted - 1) / (last - first) / 50.0,
        "Redis commands / booked call": commands / booked if booked else None,
        "calls on fallback": sum(r["fallback_grants"] for r in results),
        "duplicated": sum(1 for v in per_group.values() if v > 1),
    }


def fleet(quick: bool) -> list[dict[str, Any]]:
    """Plain, one clock shifted by 7 s, and Redis killed at 40 % of the run."""
    count = 400 if quick else 1000
    rows = [_run(count), _run(count, shift=7.0), _run(count, kill_at=0.4)]
    print_table(
        f"{PROCESSES} processes, one tenant shared through Redis "
        f"(Rate(100, 6 s) per connector, Rate(300, 6 s) per tenant)",
        rows,
    )
    return rows
