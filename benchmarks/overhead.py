"""Scenario 1: what one call through ``KaizalaClient`` costs over the same call in raw httpx."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from kaizala_async import KaizalaClient, RateLimits
from kaizala_async._cookieless import CookielessClient

from ._common import loopback_emulator, print_table
from ._mock import CREDENTIALS, mock_client, mock_transport
from ._raw import TEXT, access_token, post_text
from .profile import NEVER_BINDING

UNLIMITED = ("--connector-limit", "1000000/1", "--tenant-limit", "1000000/1")


async def _timed(call: Callable[[], Awaitable[Any]], n: int, into: list[float]) -> None:
    for _ in range(n):
        start = time.perf_counter()
        await call()
        into.append(time.perf_counter() - start)


async def _compare(
    sdks: dict[str, KaizalaClient], raws: dict[str, httpx.AsyncClient], root: str,
    credentials: dict[str, str], group: str, *, rounds: int, per_round: int,
) -> dict[str, list[float]]:  # fmt: skip
    """Per-call times of each SDK client and each raw client, in interleaved rounds (the order
    rotates each round, so no contender always runs first)."""
    calls: dict[str, Callable[[], Awaitable[Any]]] = {}
    for name, sdk in sdks.items():

        async def sdk_call(sdk: KaizalaClient = sdk) -> None:
            await sdk.messages.send(group, TEXT)

        calls[name] = sdk_call
    for name, raw in raws.items():
        token, base = await access_token(raw, root, credentials)

        async def raw_call(
            raw: httpx.AsyncClient = raw, token: str = token, base: str = base
        ) -> None:
            response = await post_text(raw, base, token, group)
            response.raise_for_status()
            response.json()

        calls[name] = raw_call
    for call in calls.values():
        await _timed(call, 200, [])  # warm every path up
    times: dict[str, list[float]] = {name: [] for name in calls}
    names = list(calls)
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            await _timed(calls[name], per_round, times[name])
    return times


def _row(transport: str, sdk: list[float], raw: list[float], **more: Any) -> dict[str, Any]:
    sdk_median, raw_median = statistics.median(sdk), statistics.median(raw)
    return {
        "transport": transport,
        "calls each": len(sdk),
        "SDK median µs": sdk_median * 1e6,
        "raw httpx median µs": raw_median * 1e6,
        "ratio SDK / raw": sdk_median / raw_median,
        "SDK p90 µs": statistics.quantiles(sdk, n=10)[-1] * 1e6,
        "raw p90 µs": statistics.quantiles(raw, n=10)[-1] * 1e6,
        **more,
    }


def overhead(quick: bool) -> list[dict[str, Any]]:
    """Median per-call time, SDK against raw httpx, on two transports: on ``MockTransport`` with
    limits lifted and with the limiter on but never binding, each also against raw httpx with
    no cookie jar (the SDK's client keeps none: the like-for-like figure)."""
    rounds, per_round = (8, 125) if quick else (40, 250)
    credentials = {
        "applicationId": CREDENTIALS.application_id,
        "applicationSecret": CREDENTIALS.application_secret.reveal(),
        "refreshToken": "bench-refresh",
    }

    async def on_mock() -> dict[str, list[float]]:
        async with (
            mock_client() as lifted,
            mock_client(NEVER_BINDING) as paced,
            httpx.AsyncClient(transport=mock_transport(), timeout=60) as raw,
            CookielessClient(transport=mock_transport(), timeout=60) as bare,
        ):
            return await _compare({"lifted": lifted, "paced": paced}, {"raw": raw, "bare": bare},
                                  "https://kms.kaiza.la", credentials, "g1",
                                  rounds=rounds, per_round=per_round)  # fmt: skip

    mock = asyncio.run(on_mock())
    bare = statistics.median(mock["bare"])
    rows = [
        _row("httpx.MockTransport, limits lifted", mock["lifted"], mock["raw"],
             **{"ratio SDK / raw without cookie jar": statistics.median(mock["lifted"]) / bare}),
        _row("httpx.MockTransport, limiter never binding", mock["paced"], mock["raw"],
             **{"ratio SDK / raw without cookie jar": statistics.median(mock["paced"]) / bare}),
    ]  # fmt: skip
    with loopback_emulator(*UNLIMITED) as emu:
        group = emu.create_groups(1)[0]

        async def on_emulator() -> dict[str, list[float]]:
            async with (
                emu.client(0, RateLimits.unlimited()) as sdk,
                httpx.AsyncClient(timeout=60) as raw,
            ):
                return await _compare({"sdk": sdk}, {"raw": raw}, emu.root, emu.credentials[0],
                                      group, rounds=rounds // 2, per_round=per_round)  # fmt: skip

        loopback = asyncio.run(on_emulator())
        rows.append(_row("loopback emulator, limits lifted", loopback["sdk"], loopback["raw"]))
    print_table("Overhead of one call: SDK (limits lifted) / raw httpx, same transport", rows)
    return rows
