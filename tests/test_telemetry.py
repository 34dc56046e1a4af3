"""OpenTelemetry: one span per HTTP attempt and the documented metrics, read back through the
SDK's in-memory exporter and reader."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from opentelemetry import trace
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import kaizala_async as k
from kaizala_async import _telemetry
from kaizala_async.emulator import Emulator, EmulatorConfig, Fault


def test_nothing_is_recorded_until_a_provider_is_configured() -> None:
    assert _telemetry._instruments is None
    assert _telemetry._get() is None  # the API alone, no provider set: a no-op
    assert _telemetry.attempt("GET", "/users/me", "https://x/v1/users/me", connector="c",
                              number=1, slot_wait=0.0) is _telemetry.NOOP  # fmt: skip


def _points(reader: InMemoryMetricReader) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    data = reader.get_metrics_data()
    for resource in data.resource_metrics if data else []:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                found.setdefault(metric.name, []).extend(metric.data.data_points)
    return found


async def test_a_fan_out_with_one_429_gives_a_span_per_attempt_and_the_metrics(
    otel: tuple[InMemorySpanExporter, InMemoryMetricReader],
) -> None:
    spans, reader = otel
    async with Emulator(EmulatorConfig.fast()) as emu, emu.client() as client:
        ids = emu.create_groups(50)
        emu.inject(Fault(route=f"POST /v1/groups/{ids[7]}/messages", error_rate=1.0,
                         error_status=429, times=1))  # fmt: skip
        report = await client.fan_out(ids, text="hello")
    assert report.sent == 50
    sends = [s for s in spans.get_finished_spans() if s.attributes["kaizala.endpoint"] == "T1"]
    assert len(sends) == 51  # 50 sends and the one repeated after the 429
    assert sorted(s.attributes["http.response.status_code"] for s in sends) == [200] * 50 + [429]
    retried = [s for s in sends if s.attributes["kaizala.attempt"] == 2]
    assert len(retried) == 1 and retried[0].name == "kaizala T1"
    assert all(
        s.kind == trace.SpanKind.CLIENT and "kaizala.slot_wait" in s.attributes for s in sends
    )
    points = _points(reader)
    total = {n: sum(p.value for p in ps if hasattr(p, "value")) for n, ps in points.items()}
    assert total["kaizala.client.throttled"] == 1
    waits = [
        p for p in points["kaizala.client.slot_wait"] if p.attributes["kaizala.endpoint"] == "T1"
    ]
    assert sum(p.count for p in waits) >= 51  # every attempt recorded its wait for a slot
    assert max(p.max for p in waits) < 60  # seconds waited, not a clock reading
    assert max(p.max for p in waits) > 0  # the 429 paused the tenant: someone waited
    assert set(_telemetry.INSTRUMENTS) >= set(points)  # only documented names
    # the queue of calls waiting for a slot: counted up and down, per connector, empty at the end
    [queue] = points["kaizala.client.queue"]
    connector = sends[0].attributes["kaizala.connector"]
    assert connector and queue.value == 0
    assert dict(queue.attributes) == {"kaizala.connector": connector}


def test_every_endpoint_of_the_api_has_its_id() -> None:
    assert _telemetry.endpoint_id("POST", "/groups/g-1@1/messages") == "T1"
    assert _telemetry.endpoint_id("GET", "/groups/g-1/reaction/summary") == "R3"
    assert _telemetry.endpoint_id("GET", "/groups/g-1/reaction/r-1") == "R4"
    assert _telemetry.endpoint_id("GET", "/bot/accessToken/b-1") == "B5"
    assert _telemetry.endpoint_id("PATCH", "/groups") == "other"
    assert len({i for _, _, i in _telemetry._ENDPOINTS}) == 39  # 41 minus the two OAuth pages
    assert isinstance(k.RawResponse, type)


async def test_a_failed_attempt_names_its_error_on_the_span(
    otel: tuple[InMemorySpanExporter, InMemoryMetricReader],
) -> None:
    spans, _ = otel
    async with Emulator(EmulatorConfig.fast()) as emu, emu.client(max_retries=0) as client:
        (group,) = emu.create_groups(1)
        emu.inject(Fault(route=f"POST /v1/groups/{group}/messages", reset_rate=1.0, times=1))
        with pytest.raises(k.TransportError):
            await client.messages.send(group, "hello")
    [send] = [s for s in spans.get_finished_spans() if s.attributes["kaizala.endpoint"] == "T1"]
    assert send.attributes["error.type"] == "ReadError"
    assert "http.response.status_code" not in send.attributes


async def test_a_call_cancelled_on_its_way_names_the_cancellation_on_its_span(
    otel: tuple[InMemorySpanExporter, InMemoryMetricReader],
) -> None:
    spans, _ = otel
    async with Emulator(EmulatorConfig.fast()) as emu, emu.client() as client:
        (group,) = emu.create_groups(1)
        emu.inject(Fault(route=f"POST /v1/groups/{group}/messages", hang_rate=1.0))
        with pytest.raises(TimeoutError):
            with anyio.fail_after(0.5):
                await client.messages.send(group, "hello")
    [send] = [s for s in spans.get_finished_spans() if s.attributes["kaizala.endpoint"] == "T1"]
    assert send.attributes["error.type"] == "CancelledError"


async def test_each_retry_is_counted_per_connector(
    otel: tuple[InMemorySpanExporter, InMemoryMetricReader],
) -> None:
    _, reader = otel
    async with Emulator(EmulatorConfig.fast()) as emu, emu.client() as client:
        emu.inject(Fault(route="GET /v1/groups", error_rate=1.0, error_status=503, times=2))
        await client.groups.list().collect()  # a GET: retried after a 503, twice
        emu.clear_faults()
        emu.inject(Fault(route="GET /v1/groups", reset_rate=1.0, times=1))
        await client.groups.list().collect()  # and after a lost connection, once
        stats = client.stats
    [retries] = _points(reader)["kaizala.client.retries"]
    assert retries.value == 3 and set(dict(retries.attributes)) == {"kaizala.connector"}
    assert (stats.server_error_retries, stats.connection_retries) == (2, 1)
