"""Scenario 6: access tokens that live 5 s, renewed in the background under a full fan-out."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from kaizala_async import Failed, Rate, Sent, Unknown, fan_out_stream

from ._common import loopback_emulator, opened, print_table, rate_option, scaled
from ._raw import TEXT

CONNECTOR = Rate(100, 6.0)
TENANT = Rate(300, 6.0)
CONNECTORS = 3
TOKEN_TTL = 5.0


def renewal_under_load(quick: bool) -> list[dict[str, Any]]:
    """60 s of fan-out from three connectors while their access tokens expire every 5 s."""
    seconds = 20 if quick else 60
    count = int(seconds * TENANT.limit / TENANT.period)
    options = ("--token-ttl", f"{TOKEN_TTL:g}", "--connector-limit", rate_option(CONNECTOR),
               "--tenant-limit", rate_option(TENANT))  # fmt: skip
    with loopback_emulator(*options, connectors=CONNECTORS) as emu:
        groups = emu.create_groups(count)

        async def main() -> dict[str, Any]:
            clients = emu.clients(CONNECTORS, scaled(CONNECTOR, TENANT))
            counts = {Sent: 0, Failed: 0, Unknown: 0}
            async with opened(clients):
                start = time.monotonic()
                async with fan_out_stream(clients, groups, text=TEXT) as stream:
                    async for outcome in stream:
                        counts[type(outcome)] = counts.get(type(outcome), 0) + 1
                elapsed = time.monotonic() - start
                return {
                    "connectors": CONNECTORS,
                    "token lifetime s": TOKEN_TTL,
                    "fan-out s": elapsed,
                    "groups": count,
                    "sent": counts[Sent],
                    "failed": counts[Failed],
                    "unknown": counts[Unknown],
                    "token fetches": sum(c.token_refreshes for c in clients),
                    "401s (expired token sent)": sum(c.stats.refreshed_on_401 for c in clients),
                    "429s": sum(c.stats.throttled for c in clients),
                }

        row = asyncio.run(main())
        row["emulator messages"] = sum(emu.stats()["messagesPerGroup"].values())
    print_table(f"Token renewal under load (access tokens live {TOKEN_TTL:g} s)", [row])
    return [row]
