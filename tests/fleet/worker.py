"""One fleet worker: ``python worker.py CONFIG_JSON`` fans a message out to the groups listed in
the config's file, journaled in the config's Redis campaign; prints its report as JSON.

Run from any folder (it reads nothing but its arguments and the groups file it is given).
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from kaizala_async import Credentials, KaizalaClient, Rate, RateLimits, RedisJournal, Unknown


async def main(config: dict[str, object], groups: list[str]) -> None:
    c = config["credentials"]
    assert isinstance(c, dict)
    credentials = Credentials(c["applicationId"], c["applicationSecret"], c["refreshToken"])
    rate = Rate(int(str(config["rate"])), 1.0)
    limits = RateLimits(connector=rate, tenant=Rate(rate.limit * 10, 1.0))
    journal = RedisJournal(
        str(config["redis"]), str(config["campaign"]), lease=float(str(config["lease"]))
    )
    async with KaizalaClient(credentials, api_root=str(config["root"]), limits=limits) as client:
        print("started", flush=True)
        report = await client.fan_out(groups, text="fleet", journal=journal, keep_outcomes=True)
    unknown = [o.group_id for o in report.outcomes or () if isinstance(o, Unknown)]
    print(
        json.dumps(
            {
                "sent": report.sent,
                "skipped": report.skipped,
                "failed": report.failed,
                "unknown": unknown,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    given = json.loads(sys.argv[1])
    listing = Path(str(given["groups"])).read_text(encoding="utf-8")
    asyncio.run(main(given, [line.strip() for line in listing.splitlines() if line.strip()]))
