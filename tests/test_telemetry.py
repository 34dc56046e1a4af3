"""OpenTelemetry: one span per HTTP attempt and the documented metrics, read back through the
SDK's in-memory exporter and reader."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import kaizala_async as k
from kaizala_async import _telemetry
from kaizala_async.emulator import Emulator, EmulatorConfig, Fault

_SPANS = InMemorySpanExporter()
_METRICS = InMemoryMetricReader()


@pytest.fixture
def otel() -> Iterator[tuple[InMemorySpanExporter, InMemoryMetricReader]]:
    """The global providers can be set once per process: set them the first time, then clear."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(_SPANS))
        trace.set_tracer_provider(provider)
        metrics.set_meter_provider(MeterProvider(metric_readers=[_METRICS]))
    _telemetry._instruments = None  # bind to these providers
    _METRICS.get_metrics_data()  # drop what earlier tests recorded (cumulative: read below)
    _SPANS.clear()
    yield _SPANS, _METRICS
    _SPANS.clear()


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
    before = {
        n: sum(p.value for p in ps if hasattr(p, "value")) for n, ps in _points(reader).items()
    }
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
    throttled = total.get("kaizala.client.throttled", 0) - before.get("kaizala.client.throttled", 0)
    assert throttled == 1
    waits = [
        p for p in points["kaizala.client.slot_wait"] if p.attributes["kaizala.endpoint"] == "T1"
    ]
    assert sum(p.count for p in waits) >= 51  # every attempt recorded its wait for a slot
    assert max(p.max for p in waits) > 0  # the 429 paused the tenant: someone waited
    assert set(_telemetry.INSTRUMENTS) >= set(points)  # only documented names


def test_every_endpoint_of_the_api_has_its_id() -> None:
    assert _telemetry.endpoint_id("POST", "/groups/g-1@1/messages") == "T1"
    assert _telemetry.endpoint_id("GET", "/groups/g-1/reaction/summary") == "R3"
    assert _telemetry.endpoint_id("GET", "/groups/g-1/reaction/r-1") == "R4"
    assert _telemetry.endpoint_id("GET", "/bot/accessToken/b-1") == "B5"
    assert _telemetry.endpoint_id("PATCH", "/groups") == "other"
    assert len({i for _, _, i in _telemetry._ENDPOINTS}) == 39  # 41 minus the two OAuth pages
    assert isinstance(k.RawResponse, type)
