"""Worker processes draining one Redis-journaled campaign (issue 26): pace, Redis round trips
per send, Redis memory per target, and a worker's peak RSS as the campaign grows."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from ._common import loopback_emulator, print_table
from ._redis_server import redis_server_handle

CONNECTOR, TENANT = "100/6", "300/6"
_ROOT = Path(__file__).resolve().parent.parent


def fleet(quick: bool) -> list[dict[str, Any]]:
    count = 300 if quick else 900
    rows = [_drain(workers, count) for workers in (1, 2, 4)]
    print_table(f"Fleet: {count} groups, one campaign in Redis, tenant budget shared through Redis "
                f"(Rate({CONNECTOR}) per connector, Rate({TENANT}) per tenant)", rows)  # fmt: skip
    small, large = (1_000, 10_000) if quick else (10_000, 100_000)
    scale = [_scale(n) for n in (small, large)]
    scale[1]["RSS / smaller"] = scale[1]["worker peak RSS MiB"] / scale[0]["worker peak RSS MiB"]
    print_table("Fleet at scale: one worker, MockTransport, campaign state in Redis", scale)
    return rows + scale


def _worker(args: list[str]) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "benchmarks._fleet_child", *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=_ROOT)  # noqa: S603


def _args(root: str, credentials: dict[str, str], listing: Path, journal: str, budget: str
          ) -> list[str]:  # fmt: skip
    return ["--root", root, "--credentials", json.dumps(credentials), "--groups", str(listing),
            "--journal", journal, "--campaign", "bench", "--budget", budget,
            "--connector-limit", CONNECTOR, "--tenant-limit", TENANT]  # fmt: skip


def _drain(workers: int, count: int) -> dict[str, Any]:
    options = ("--connector-limit", CONNECTOR, "--tenant-limit", TENANT)
    with (
        redis_server_handle() as journal_server,
        redis_server_handle() as budget_server,
        loopback_emulator(*options, connectors=workers) as emu,
        tempfile.TemporaryDirectory() as folder,
    ):
        groups = emu.create_groups(count)
        listing = Path(folder) / "groups.txt"
        listing.write_text("\n".join(groups))
        children = [
            _worker(
                [
                    "--root",
                    emu.root,
                    "--credentials",
                    json.dumps(emu.credentials[n]),
                    "--groups",
                    str(listing),
                    "--journal",
                    journal_server.url,
                    "--campaign",
                    "bench",
                    "--budget",
                    budget_server.url,
                    "--connector-limit",
                    CONNECTOR,
                    "--tenant-limit",
                    TENANT,
                ]
            )
            for n in range(workers)
        ]
        results = [json.loads(c.communicate()[0]) for c in children]
        stats = emu.stats()
        sends = sorted(c["at"] for c in emu.control("GET", "calls")["calls"]
                       if c["route"] == "T1" and c["status"] == 200)  # fmt: skip
    per_group = [stats["messagesPerGroup"][g] for g in groups]
    sent = sum(r["sent"] for r in results)
    binding = min(workers * 100, 300) / 6.0
    return {
        "workers": workers,
        "groups": count,
        "sent": sent,
        "groups with 2+ copies": sum(1 for n in per_group if n > 1),
        "429s": next(iter(stats["tenants"].values()))["throttled"],
        "rate / binding limit": (len(sends) - 1) / (sends[-1] - sends[0]) / binding,
        "Redis round trips per send": sum(r["round_trips"] for r in results) / max(sent, 1),
        "sent per worker": [r["sent"] for r in results],
    }


def _scale(targets: int) -> dict[str, Any]:
    with redis_server_handle() as server:
        child = _worker(["--mock", str(targets), "--journal", server.url, "--campaign", "scale"])
        result = json.loads(child.communicate()[0])
        memory = asyncio.run(_memory(server.url, targets))
    return {
        "targets": targets,
        "sent": result["sent"],
        "Redis round trips per send": result["round_trips"] / max(result["sent"], 1),
        "Redis bytes per target": memory,
        "worker peak RSS MiB": result["peak_rss_mib"],
    }


async def _memory(url: str, targets: int) -> float:
    import redis.asyncio

    async with redis.asyncio.Redis.from_url(url) as r:
        used = 0
        async for key in r.scan_iter("kaizala:journal:{scale}:*"):
            used += int(await r.memory_usage(key, samples=0) or 0)
    return used / targets
