"""Scenario: what OpenTelemetry costs per call, side by side in one run.

Four ways, interleaved round by round on ``httpx.MockTransport``: raw httpx; the SDK with
telemetry off (as without the ``otel`` extra); with the extra installed but no provider set
(the API alone, as in a service that has not configured OpenTelemetry); with the
OpenTelemetry SDK and in-memory exporters (every span and metric kept).
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Callable
from typing import Any

import httpx
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from kaizala_async import _telemetry

from ._common import print_table
from ._mock import CREDENTIALS, mock_client, mock_transport
from ._raw import TEXT, access_token, post_text
from .overhead import _timed


def telemetry(quick: bool) -> list[dict[str, Any]]:
    rounds, per_round = (4, 250) if quick else (10, 1000)
    credentials = {
        "applicationId": CREDENTIALS.application_id,
        "applicationSecret": CREDENTIALS.application_secret.reveal(),
        "refreshToken": "bench-refresh",
    }
    spans = InMemorySpanExporter()
    tracing = TracerProvider()
    tracing.add_span_processor(SimpleSpanProcessor(spans))
    recording = _telemetry._Instruments(
        tracing, MeterProvider(metric_readers=[InMemoryMetricReader()])
    )
    real_get = _telemetry._get
    states: dict[str, Callable[[], Any]] = {
        "telemetry off (no otel extra)": lambda: None,
        "otel API, no provider configured": real_get,
        "otel SDK, in-memory exporters": lambda: recording,
    }

    async def run() -> dict[str, list[float]]:
        times: dict[str, list[float]] = {name: [] for name in [*states, "raw httpx"]}
        async with mock_client() as sdk, httpx.AsyncClient(transport=mock_transport()) as raw:
            token, base = await access_token(raw, "https://kms.kaiza.la", credentials)

            async def raw_call() -> None:
                (await post_text(raw, base, token, "g1")).json()

            async def sdk_call() -> None:
                await sdk.messages.send("g1", TEXT)

            for state in states.values():  # warm-up
                _telemetry._get = state  # type: ignore[assignment]
                await _timed(sdk_call, 200, [])
            await _timed(raw_call, 200, [])
            order = [*states, "raw httpx"]
            for r in range(rounds):
                for name in order if r % 2 == 0 else reversed(order):
                    if name == "raw httpx":
                        await _timed(raw_call, per_round, times[name])
                    else:
                        _telemetry._get = states[name]  # type: ignore[assignment]
                        await _timed(sdk_call, per_round, times[name])
        return times

    try:
        times = asyncio.run(run())
    finally:
        _telemetry._get = real_get  # type: ignore[assignment]
    off = statistics.median(times["telemetry off (no otel extra)"])
    raw = statistics.median(times["raw httpx"])
    rows = [
        {"client": name, "calls": len(samples), "median µs": statistics.median(samples) * 1e6,
         "ratio / telemetry off": statistics.median(samples) / off,
         "ratio / raw httpx": statistics.median(samples) / raw}
        for name, samples in times.items()
    ]  # fmt: skip
    assert len(spans.get_finished_spans()) >= rounds * per_round  # the recording state recorded
    print_table("Telemetry: cost per call on httpx.MockTransport (one run, interleaved)", rows)
    return rows
