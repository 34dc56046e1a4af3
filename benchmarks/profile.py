"""Where the microseconds of one call go: ``messages.send`` on ``httpx.MockTransport`` under
cProfile, its own time summed by module, beside the same POST in raw httpx.

cProfile slows every Python call by about the same factor, so the absolute figures are inflated;
the split between modules, and the SDK's share against raw httpx's, is what to read.
"""

from __future__ import annotations

import asyncio
import cProfile
import pstats
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from kaizala_async import Rate, RateLimits

from ._common import print_table
from ._mock import CREDENTIALS, mock_client, mock_transport
from ._raw import TEXT, access_token, post_text

#: Limits that never bind: the limiter runs as users run it, yet never waits.
NEVER_BINDING = RateLimits(connector=Rate(10**9, 60.0), tenant=Rate(10**9, 60.0))


def _family(filename: str) -> str:
    """The module a profiled function belongs to: ``kaizala_async._transport``, ``httpx``..."""
    path = filename.replace("\\", "/")
    if "kaizala_async/" in path:
        tail = path.rsplit("kaizala_async/", 1)[1].removesuffix(".py").replace("/", ".")
        return f"kaizala_async.{tail}"
    for package in ("httpx", "httpcore", "anyio", "cattrs", "attr", "h11", "sniffio", "idna"):
        if f"/{package}/" in path:
            return package
    if "/asyncio/" in path:
        return "asyncio"
    if path.startswith(("~", "<")):
        return "builtins"
    return "other Python"


async def _calls(call: Callable[[], Awaitable[Any]], n: int) -> None:
    for _ in range(n):
        await call()


def _profiled(work: Callable[[], Awaitable[None]]) -> dict[str, float]:
    profile = cProfile.Profile()
    profile.enable()
    asyncio.run(work())  # type: ignore[arg-type]
    profile.disable()
    by_module: dict[str, float] = defaultdict(float)
    stats: Any = pstats.Stats(profile).stats
    for (filename, _, _), (_, _, own, _, _) in stats.items():
        by_module[_family(filename)] += own
    return by_module


def profile(quick: bool) -> list[dict[str, Any]]:
    """Own time per module of one ``messages.send`` (limiter on, never binding) and of one raw
    httpx POST, in µs per call under cProfile."""
    n = 2_000 if quick else 10_000
    credentials = {
        "applicationId": CREDENTIALS.application_id,
        "applicationSecret": CREDENTIALS.application_secret.reveal(),
        "refreshToken": "bench-refresh",
    }

    async def sdk_work() -> None:
        async with mock_client(NEVER_BINDING) as sdk:
            await sdk.messages.send("g1", TEXT)  # the token call and the first-call set-up
            await _calls(lambda: sdk.messages.send("g1", TEXT), n)

    async def raw_work() -> None:
        async with httpx.AsyncClient(transport=mock_transport(), timeout=60) as raw:
            token, base = await access_token(raw, "https://kms.kaiza.la", credentials)

            async def one() -> None:
                response = await post_text(raw, base, token, "g1")
                response.raise_for_status()
                response.json()

            await _calls(one, n)

    # Warm both up outside the profile (imports, first-call caches).
    _profiled(sdk_work)
    sdk = _profiled(sdk_work)
    raw = _profiled(raw_work)
    modules = sorted(set(sdk) | set(raw), key=lambda m: -(sdk.get(m, 0.0)))
    rows = [
        {
            "module": module,
            "SDK µs/call": sdk.get(module, 0.0) / n * 1e6,
            "raw httpx µs/call": raw.get(module, 0.0) / n * 1e6,
        }
        for module in modules
        if sdk.get(module, 0.0) / n * 1e6 >= 0.5 or raw.get(module, 0.0) / n * 1e6 >= 0.5
    ]
    total_sdk, total_raw = sum(sdk.values()) / n * 1e6, sum(raw.values()) / n * 1e6
    rows.append({"module": "total", "SDK µs/call": total_sdk, "raw httpx µs/call": total_raw})
    print_table(
        f"Where one call's time goes (cProfile, own time by module, {n} calls, MockTransport; "
        f"SDK / raw = {total_sdk / total_raw:.2f} under the profiler)",
        rows,
    )
    return rows
