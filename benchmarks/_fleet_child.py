"""One worker of a fleet draining a Redis-journaled campaign: prints JSON (sent, peak RSS).

``--mock N``: no emulator; the worker sends N targets through an in-process MockTransport (the
worker's memory at scale, not the service's pace).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
from pathlib import Path

from kaizala_async import (
    Credentials,
    KaizalaClient,
    Rate,
    RateLimits,
    RedisJournal,
    RedisTenantBudget,
)


def _rate(text: str) -> Rate:
    limit, period = text.split("/")
    return Rate(int(limit), float(period))


async def main(args: argparse.Namespace, listing: list[str]) -> None:
    journal = RedisJournal(args.journal, args.campaign, lease=10.0)
    if args.mock:
        from ._mock import mock_client

        client = mock_client(RateLimits.unlimited())
        targets: object = (f"g-{n}" for n in range(args.mock))  # generated: never a list
    else:
        c = json.loads(args.credentials)
        credentials = Credentials(c["applicationId"], c["applicationSecret"], c["refreshToken"])
        limits = RateLimits(connector=_rate(args.connector_limit), tenant=_rate(args.tenant_limit),
                            backend=RedisTenantBudget(args.budget, "fleet"))  # fmt: skip
        client = KaizalaClient(credentials, api_root=args.root, limits=limits)
        targets = iter(listing)
    async with client:
        report = await client.fan_out(targets, text="fleet", journal=journal)  # type: ignore[arg-type]
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"sent": report.sent, "skipped": report.skipped, "unknown": report.unknown,
                      "round_trips": journal.round_trips, "peak_rss_mib": peak_kib / 1024}))  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    for name in ("--root", "--credentials", "--groups", "--journal", "--campaign", "--budget",
                 "--connector-limit", "--tenant-limit"):  # fmt: skip
        parser.add_argument(name)
    parser.add_argument("--mock", type=int, default=0)
    given = parser.parse_args(sys.argv[1:])
    groups = Path(given.groups).read_text(encoding="utf-8").split() if given.groups else []
    asyncio.run(main(given, groups))
