"""Scenario 3: the SDK against what a user would write instead, on the same emulator and targets.

Four connectors of one tenant (scaled limits: ``Rate(100, 6 s)`` per connector, ``Rate(300, 6 s)``
for the tenant, sliding log) share one list of groups. Every contender retries a 429 after its
``Retry-After``, so each shows what the limit costs it: 429s and lost time.

* ``gather + retry``: every send at once with ``asyncio.gather``; sleep ``Retry-After`` on a 429.
* ``AsyncLimiter(100, T)``: one aiolimiter per connector, as its README suggests.
* ``nested aiolimiters``: connector limiter then tenant limiter, ``async with connector, tenant``,
  the way python-telegram-bot's rate limiter nests its per-chat and overall limiters.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
from aiolimiter import AsyncLimiter

from kaizala_async import Rate, Sent, fan_out_stream

from ._common import loopback_emulator, opened, print_table, rate_option, record_series, scaled
from ._raw import TEXT, access_token, post_text

CONNECTOR = Rate(100, 6.0)
TENANT = Rate(300, 6.0)
CONNECTORS = 4
MAX_ATTEMPTS = 30


class _Tally:
    def __init__(self) -> None:
        self.accepted: list[float] = []
        self.throttled: list[float] = []
        self.lost = 0


async def _send_until_accepted(
    http: httpx.AsyncClient, base: str, token: str, group: str, tally: _Tally,
    limiter: Callable[[], contextlib.AbstractAsyncContextManager[Any]],
) -> None:  # fmt: skip
    for _ in range(MAX_ATTEMPTS):
        try:
            async with limiter():
                response = await post_text(http, base, token, group)
        except httpx.HTTPError:
            tally.lost += 1
            return
        if response.status_code == 429:
            tally.throttled.append(time.monotonic())
            await asyncio.sleep(float(response.headers.get("retry-after", "1")))
            continue
        if response.is_success:
            tally.accepted.append(time.monotonic())
        else:
            tally.lost += 1
        return
    tally.lost += 1


async def _user_code(
    emu: Any, groups: list[str], limiter_for: Callable[[int], Callable[[], Any]]
) -> _Tally:
    """What a user writes: a token per connector by hand, then every send gathered."""
    tally = _Tally()
    async with contextlib.AsyncExitStack() as stack:
        https = [
            await stack.enter_async_context(httpx.AsyncClient(timeout=60))
            for _ in range(CONNECTORS)
        ]
        tokens = [
            await access_token(https[n], emu.root, emu.credentials[n]) for n in range(CONNECTORS)
        ]
        sends = []
        for i, group in enumerate(groups):
            n = i % CONNECTORS
            token, base = tokens[n]
            sends.append(_send_until_accepted(https[n], base, token, group, tally, limiter_for(n)))
        await asyncio.gather(*sends)
    return tally


def _no_limiter(_: int) -> Callable[[], Any]:
    return contextlib.nullcontext


def _one_aiolimiter_per_connector() -> Callable[[int], Callable[[], Any]]:
    limiters = [AsyncLimiter(CONNECTOR.limit, CONNECTOR.period) for _ in range(CONNECTORS)]
    return lambda n: lambda: limiters[n]


def _nested_aiolimiters() -> Callable[[int], Callable[[], Any]]:
    connectors = [AsyncLimiter(CONNECTOR.limit, CONNECTOR.period) for _ in range(CONNECTORS)]
    tenant = AsyncLimiter(TENANT.limit, TENANT.period)

    @contextlib.asynccontextmanager
    async def nested(n: int) -> AsyncIterator[None]:
        async with connectors[n], tenant:
            yield

    return lambda n: lambda: nested(n)


async def _sdk(emu: Any, groups: list[str]) -> _Tally:
    tally = _Tally()
    clients = emu.clients(CONNECTORS, scaled(CONNECTOR, TENANT))
    async with opened(clients):
        async with fan_out_stream(clients, groups, text=TEXT) as stream:
            async for outcome in stream:
                if isinstance(outcome, Sent):
                    tally.accepted.append(time.monotonic())
                else:
                    tally.lost += 1
        tally.throttled = [math.nan] * sum(c.stats.throttled for c in clients)
    return tally


CONTENDERS: dict[str, Callable[[Any, list[str]], Any]] = {
    "kaizala-async": _sdk,
    "gather + retry on 429": lambda emu, groups: _user_code(emu, groups, _no_limiter),
    "AsyncLimiter(100, T) per connector": lambda emu, groups: _user_code(
        emu, groups, _one_aiolimiter_per_connector()
    ),
    "nested aiolimiters (PTB style)": lambda emu, groups: _user_code(
        emu, groups, _nested_aiolimiters()
    ),
}


def baselines(quick: bool) -> list[dict[str, Any]]:
    """Same emulator settings, same 1,000 groups, four connectors: each contender in turn."""
    count = 300 if quick else 1000
    ideal = count / (TENANT.limit / TENANT.period)
    options = ("--connector-limit", rate_option(CONNECTOR), "--tenant-limit", rate_option(TENANT))
    rows = []
    for name, contender in CONTENDERS.items():
        with loopback_emulator(*options, connectors=CONNECTORS) as emu:
            groups = emu.create_groups(count)
            start = time.monotonic()
            tally: _Tally = asyncio.run(contender(emu, groups))
            total = time.monotonic() - start
            stats = emu.stats()
        tenant = next(iter(stats["tenants"].values()))
        per_group = stats["messagesPerGroup"]
        record_series(name, tally.accepted, TENANT.limit, TENANT.period,
                      [t for t in tally.throttled if not math.isnan(t)])  # fmt: skip
        rows.append(
            {
                "contender": name,
                "429s": tenant["throttled"],  # each 429 counts in its tenant once
                "most in a tenant window": tenant["maxInWindow"],
                "most in a connector window": max(
                    c["maxInWindow"] for c in stats["connectors"].values()
                ),
                "total s": total,
                "total / ideal": total / ideal,
                "lost": sum(1 for g in groups if per_group.get(g, 0) == 0),
                "duplicated": sum(1 for g in groups if per_group.get(g, 0) > 1),
            }
        )
    print_table(
        f"Against what a user would write: {count} groups, {CONNECTORS} connectors of one tenant, "
        f"Rate(100, 6 s) each, Rate(300, 6 s) for the tenant; ideal {ideal:.0f} s",
        rows,
    )
    return rows
