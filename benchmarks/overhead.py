"""Scenario 1: what one call through ``KaizalaClient`` costs over the same call in raw httpx."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from kaizala_async import KaizalaClient, RateLimits

from ._common import loopback_emulator, print_table
from ._mock import CREDENTIALS, mock_client, mock_transport
from ._raw import TEXT, access_token, post_text

UNLIMITED = ("--connector-limit", "1000000/1", "--tenant-limit", "1000000/1")


async def _timed(call: Callable[[], Awaitable[Any]], n: int, into: list[float]) -> None:
    for _ in range(n):
        start = time.perf_counter()
        await call()
        into.append(time.perf_counter() - start)


async def _compare(
    sdk: KaizalaClient, raw: httpx.AsyncClient, root: str, credentials: dict[str, str],
    group: str, *, rounds: int, per_round: int,
) -> tuple[list[float], list[float]]:  # fmt: skip
    token, base = await access_token(raw, root, credentials)

    async def sdk_call() -> None:
        await sdk.messages.send(group, TEXT)

    async def raw_call() -> None:
        response = await post_text(raw, base, token, group)
        response.raise_for_status()
        response.json()

    await _timed(sdk_call, 200, [])  # warm both paths up
    await _timed(raw_call, 200, [])
    sdk_times: list[float] = []
    raw_times: list[float] = []
    for r in range(rounds):  # interleaved, alternating which goes first
        pair = [(sdk_call, sdk_times), (raw_call, raw_times)]
        for call, into in pair if r % 2 == 0 else reversed(pair):
            await _timed(call, per_round, into)
    return sdk_times, raw_times


def _row(transport: str, sdk: list[float], raw: list[float]) -> dict[str, Any]:
    sdk_median, raw_median = statistics.median(sdk), statistics.median(raw)
    return {
        "transport": transport,
        "calls each": len(sdk),
        "SDK median µs": sdk_median * 1e6,
        "raw httpx median µs": raw_median * 1e6,
        "ratio SDK / raw": sdk_median / raw_median,
        "SDK p90 µs": statistics.quantiles(sdk, n=10)[-1] * 1e6,
        "raw p90 µs": statistics.quantiles(raw, n=10)[-1] * 1e6,
    }


def overhead(quick: bool) -> list[dict[str, Any]]:
    """Median per-call time, SDK (limits lifted) against raw httpx, on two transports."""
    rounds, per_round = (4, 250) if quick else (10, 1000)
    credentials = {
        "applicationId": CREDENTIALS.application_id,
        "applicationSecret": CREDENTIALS.application_secret.reveal(),
        "refreshToken": "bench-refresh",
    }

    async def on_mock() -> tuple[list[float], list[float]]:
        async with (
            mock_client() as sdk,
            httpx.AsyncClient(transport=mock_transport(), timeout=60) as raw,
        ):
            return await _compare(sdk, raw, "https://kms.kaiza.la", credentials, "g1",
                                  rounds=rounds, per_round=per_round)  # fmt: skip

    rows = [_row("httpx.MockTransport", *asyncio.run(on_mock()))]
    with loopback_emulator(*UNLIMITED) as emu:
        group = emu.create_groups(1)[0]

        async def on_emulator() -> tuple[list[float], list[float]]:
            async with (
                emu.client(0, RateLimits.unlimited()) as sdk,
                httpx.AsyncClient(timeout=60) as raw,
            ):
                return await _compare(sdk, raw, emu.root, emu.credentials[0], group,
                                      rounds=rounds // 2, per_round=per_round)  # fmt: skip

        rows.append(_row("loopback emulator", *asyncio.run(on_emulator())))
    print_table("Overhead of one call: SDK (limits lifted) / raw httpx, same transport", rows)
    return rows
