"""One process of a fleet sharing a tenant through Redis: fans out to its share, prints JSON.

``--shift S`` moves this process's wall and monotonic clocks S seconds (the budget's time comes
from Redis, so it must change nothing).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parent.parent


def launch(
    root: str, credentials: list[dict[str, str]], groups: list[str], redis_url: str,
    folder: Path, *, limits: tuple[str, str], shifts: dict[int, float] | None = None,
    jitter: float | None = None, block: bool = False,
) -> list[subprocess.Popen[str]]:  # fmt: skip
    """One child per connector, each fanning out to its share of ``groups``."""
    children = []
    for n, c in enumerate(credentials):
        share = folder / f"groups-{n}.txt"
        share.write_text("\n".join(groups[n :: len(credentials)]))
        command = [sys.executable, "-m", "benchmarks._shared_child", "--root", root,
                   "--credentials", json.dumps(c), "--groups", str(share), "--redis", redis_url,
                   "--connector-limit", limits[0], "--tenant-limit", limits[1],
                   "--shift", str((shifts or {}).get(n, 0.0))]  # fmt: skip
        if jitter is not None:
            command += ["--jitter", str(jitter)]
        if block:
            command.append("--block")
        children.append(subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=_ROOT))  # noqa: S603
    return children


def reports(children: list[subprocess.Popen[str]]) -> list[dict[str, Any]]:
    """Each child's JSON report, once it has finished."""
    return [json.loads(c.communicate(timeout=900)[0].splitlines()[-1]) for c in children]


def _shift_clocks(seconds: float) -> None:
    wall, monotonic = time.time, time.monotonic
    time.time = lambda: wall() + seconds  # type: ignore[assignment]
    time.monotonic = lambda: monotonic() + seconds  # type: ignore[assignment]


def _rate(text: str) -> Any:
    from kaizala_async import Rate

    limit, period = text.split("/")
    return Rate(int(limit), float(period))


async def _block_the_loop() -> None:
    """The user's own CPU-bound work: holds the event loop 5 ms every 15 ms."""
    while True:
        time.sleep(0.005)  # noqa: ASYNC251 (on purpose)
        await asyncio.sleep(0.010)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from kaizala_async import Credentials, KaizalaClient, RateLimits, RedisTenantBudget

    c = json.loads(args.credentials)
    credentials = Credentials(c["applicationId"], c["applicationSecret"], c["refreshToken"])
    budget = RedisTenantBudget(args.redis, "contoso", retry_every=0.5)
    limits = RateLimits(connector=_rate(args.connector_limit), tenant=_rate(args.tenant_limit),
                        jitter=args.jitter, backend=budget)  # fmt: skip
    text = await asyncio.to_thread(Path(args.groups).read_text, encoding="utf-8")
    groups = [line.strip() for line in text.splitlines() if line.strip()]
    times: list[float] = []
    counts = {"Sent": 0, "Failed": 0, "Unknown": 0, "Skipped": 0}
    blocker = asyncio.create_task(_block_the_loop()) if args.block else None
    async with KaizalaClient(credentials, api_root=args.root, limits=limits) as client:
        print(json.dumps({"ready": True}), flush=True)
        async with client.fan_out_stream(groups, text="Store closes at 6") as stream:
            async for outcome in stream:
                counts[type(outcome).__name__] += 1
                if type(outcome).__name__ == "Sent":
                    times.append(time.monotonic())
        granted = client._limiter.granted
        throttled = client.stats.throttled
    if blocker is not None:
        blocker.cancel()
    s = budget.stats
    return {
        **{k.lower(): v for k, v in counts.items()},
        "granted": granted,
        "throttled": throttled,
        "reservations": s.reservations,
        "round_trips": s.round_trips,
        "times": times,
        "failures": s.failures,
        "outages": s.outages,
        "recoveries": s.recoveries,
        "fallback_grants": s.fallback_grants,
        "first": times[0] if times else None,
        "last": times[-1] if times else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    for name in ("--root", "--credentials", "--groups", "--redis"):
        parser.add_argument(name, required=True)
    parser.add_argument("--connector-limit", default="100/6")
    parser.add_argument("--tenant-limit", default="300/6")
    parser.add_argument("--shift", type=float, default=0.0)
    parser.add_argument("--jitter", type=float, default=None)
    parser.add_argument("--block", action="store_true", help="block the loop 5 ms every 15 ms")
    args = parser.parse_args()
    if args.shift:
        _shift_clocks(args.shift)
    print(json.dumps(asyncio.run(run(args))), flush=True)


if __name__ == "__main__":
    main()
