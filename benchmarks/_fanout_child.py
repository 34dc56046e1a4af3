"""A fan-out in its own process (for the SIGKILL scenario): prints its report as JSON."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from kaizala_async import Credentials, KaizalaClient, Rate, RateLimits


async def run(args: argparse.Namespace) -> dict[str, int]:
    c = json.loads(args.credentials)
    credentials = Credentials(c["applicationId"], c["applicationSecret"], c["refreshToken"])
    limits = RateLimits(connector=Rate(args.limit, args.period), tenant=None)
    text = await asyncio.to_thread(Path(args.groups).read_text, encoding="utf-8")
    groups = [line.strip() for line in text.splitlines() if line.strip()]
    async with KaizalaClient(credentials, api_root=args.root, limits=limits) as client:
        report = await client.fan_out(groups, text=args.text, journal=args.journal)
    return {"sent": report.sent, "skipped": report.skipped, "unknown": report.unknown,
            "failed": report.failed}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    for name in ("--root", "--credentials", "--groups", "--journal", "--text"):
        parser.add_argument(name, required=True)
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--period", type=float, default=6.0)
    print(json.dumps(asyncio.run(run(parser.parse_args()))), flush=True)


if __name__ == "__main__":
    main()
