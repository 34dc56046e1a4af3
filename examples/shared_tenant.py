"""Two processes, one tenant: the tenant's calls per minute shared through Redis.

    REDIS_URL=redis://cache:6379/0 python examples/shared_tenant.py --text "Hi" groups.txt

Two worker processes (started by this script) each take half of the groups, each with its own
connector (``KAIZALA_APPLICATION_ID_1``, ``KAIZALA_APPLICATION_SECRET_1``,
``KAIZALA_REFRESH_TOKEN_1``, and the same with ``_2``); both book the tenant's slots in Redis,
so together they stay under the tenant limit. ``KAIZALA_API_ROOT`` points at an emulator and
``KAIZALA_LIMITS`` (``connector/seconds,tenant/seconds``, e.g. ``100/1,150/1``) gives its
scaled limits. Each worker prints one JSON line; the script prints the totals.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from kaizala_async import Credentials, KaizalaClient, Rate, RateLimits, RedisTenantBudget


def _rate(text: str) -> Rate:
    limit, seconds = text.split("/")
    return Rate(int(limit), float(seconds))


async def worker(n: int, groups: list[str], text: str) -> dict[str, int]:
    env = os.environ
    credentials = Credentials(
        env[f"KAIZALA_APPLICATION_ID_{n}"],
        env[f"KAIZALA_APPLICATION_SECRET_{n}"],
        env[f"KAIZALA_REFRESH_TOKEN_{n}"],
    )
    budget = RedisTenantBudget(env["REDIS_URL"], tenant_key="contoso", processes=2)
    connector, tenant = (_rate(r) for r in env.get("KAIZALA_LIMITS", "100/60,300/60").split(","))
    limits = RateLimits(connector=connector, tenant=tenant, backend=budget)
    options = {"api_root": env["KAIZALA_API_ROOT"]} if "KAIZALA_API_ROOT" in env else {}
    async with KaizalaClient(credentials, limits=limits, **options) as client:
        report = await client.fan_out(groups, text=text)
        throttled = client.stats.throttled
    return {"worker": n, "sent": report.sent, "failed": report.failed,
            "unknown": report.unknown, "429s": throttled}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("groups", type=Path)
    parser.add_argument("--text", required=True)
    parser.add_argument("--worker", type=int, choices=[1, 2], help=argparse.SUPPRESS)
    args = parser.parse_args()
    lines = args.groups.read_text(encoding="utf-8").splitlines()
    groups = [line.strip() for line in lines if line.strip()]
    if args.worker:
        share = groups[args.worker - 1 :: 2]
        print(json.dumps(asyncio.run(worker(args.worker, share, args.text))), flush=True)
        return 0
    command = [sys.executable, __file__, str(args.groups), "--text", args.text, "--worker"]
    workers = [subprocess.Popen([*command, str(n)], stdout=subprocess.PIPE, text=True)  # noqa: S603
               for n in (1, 2)]  # fmt: skip
    results = [json.loads(w.communicate()[0].splitlines()[-1]) for w in workers]
    totals = {k: sum(r[k] for r in results) for k in ("sent", "failed", "unknown", "429s")}
    print(json.dumps(totals))
    return 0 if all(w.returncode == 0 for w in workers) and totals["failed"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
