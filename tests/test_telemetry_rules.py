"""The telemetry hooks (``_telemetry``) on their own: the endpoint ids, one attempt's span and
metrics as recorded (attributes, status, units), when anything is recorded at all, and an
attempt ended once. Providers of each test only, read back in memory."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.metrics import _internal as metrics_state
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from kaizala_async import _telemetry
from kaizala_async._telemetry import INSTRUMENTS, attempt, endpoint_id, record

Otel = tuple[InMemorySpanExporter, InMemoryMetricReader]


def metrics(reader: InMemoryMetricReader) -> dict[str, Any]:
    """name -> the metric (its unit, description and points)."""
    data = reader.get_metrics_data()
    found: dict[str, Any] = {}
    for resource in data.resource_metrics if data else []:
        for scope in resource.scope_metrics:
            assert scope.scope.name == "kaizala_async"
            for metric in scope.metrics:
                found[metric.name] = metric
    return found


def points(reader: InMemoryMetricReader, name: str) -> list[tuple[dict[str, Any], Any]]:
    """(attributes, value) of each point of ``name`` (a histogram's value: its count and sum)."""
    metric = metrics(reader).get(name)
    if metric is None:
        return []
    found = []
    for point in metric.data.data_points:
        value = (point.count, point.sum) if hasattr(point, "count") else point.value
        found.append((dict(point.attributes), value))
    return found


def one(**changes: Any) -> _telemetry.Attempt:
    args: dict[str, Any] = {
        "method": "POST", "path": "/groups/G1/messages",
        "url": "https://kms.kaiza.la/v1/groups/G1/messages?x=1?y=2", "connector": "app-1",
        "number": 2, "slot_wait": 0.25,
    }  # fmt: skip
    args.update(changes)
    return attempt(**args)


# -- endpoint ids ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("POST", "/groups/G1/messages", "T1"),
        ("POST", "/groups/G1/messages/", "T1"),  # a trailing slash
        ("POST", "/groups/G1/messages?a=b?c", "T1"),  # the query, up to its first "?"
        ("post", "/groups/G1/messages", "other"),  # methods as sent (upper case)
        ("GET", "/groups/G1/messages", "other"),
        ("GET", "/GROUPS/G1", "G3"),  # paths matched whatever their case
        ("GET", "/groups/XX", "G3"),  # only slashes are stripped from the end
        ("GET", "/groups", "G2"),
        ("GET", "/groups/G1/reaction/R9/summary", "R2"),
        ("GET", "/groups/G1/reaction/summary", "R3"),
        ("GET", "/groups/G1/reaction/R9", "R4"),
        ("GET", "/bot/accessToken/B7", "B5"),
        ("GET", "/accessToken", "A3"),
        ("GET", "/groups/G1/members/extra", "other"),  # anchored at both ends
        ("GET", "/x/groups/G1", "other"),
        ("GET", "/", "other"),
        ("GET", "", "other"),
        ("GET", "//", "other"),
    ],
)
def test_endpoint_ids(method: str, path: str, expected: str) -> None:
    assert endpoint_id(method, path) == expected


def test_every_endpoint_of_the_table_has_its_own_id() -> None:
    ids = [found for _, _, found in _telemetry._ENDPOINTS]
    assert len(ids) == len(set(ids)) == 39


# -- when anything is recorded -----------------------------------------------------------------


def test_nothing_is_recorded_until_a_provider_is_set_then_the_global_ones_are_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert _telemetry._instruments is None
    assert not _telemetry.active()
    assert one() is _telemetry.NOOP
    record("kaizala.client.calls", 1)  # a no-op, not an error

    spans, reader = InMemorySpanExporter(), InMemoryMetricReader()
    tracing = TracerProvider()
    tracing.add_span_processor(SimpleSpanProcessor(spans))
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", tracing)
    monkeypatch.setattr(metrics_state, "_METER_PROVIDER", MeterProvider(metric_readers=[reader]))
    try:
        assert _telemetry.active()
        one().done(201)
        assert [s.name for s in spans.get_finished_spans()] == ["kaizala T1"]
        assert points(reader, "kaizala.client.calls")
    finally:
        _telemetry._instruments = None


@pytest.mark.parametrize("which", ["tracer", "meter"])
def test_either_provider_alone_turns_recording_on(
    monkeypatch: pytest.MonkeyPatch, which: str
) -> None:
    if which == "tracer":
        monkeypatch.setattr(trace, "_TRACER_PROVIDER", TracerProvider())
    else:
        monkeypatch.setattr(metrics_state, "_METER_PROVIDER", MeterProvider())
    try:
        assert _telemetry._configured()
    finally:
        _telemetry._instruments = None


def test_without_the_apis_module_globals_the_public_getter_decides(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another API version may keep its providers elsewhere: the proxy (nothing set) and the
    no-op provider mean nothing is configured; any other provider means something is."""

    class Fake:
        ProxyTracerProvider = trace.ProxyTracerProvider
        NoOpTracerProvider = trace.NoOpTracerProvider
        provider: object = trace.ProxyTracerProvider()

        @classmethod
        def get_tracer_provider(cls) -> object:
            return cls.provider

    monkeypatch.setattr(_telemetry, "_trace", Fake)
    assert not _telemetry._configured()
    Fake.provider = trace.NoOpTracerProvider()
    assert not _telemetry._configured()
    Fake.provider = TracerProvider()
    assert _telemetry._configured()


def test_the_instruments_are_made_once_and_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", TracerProvider())
    try:
        first = _telemetry._get()
        assert first is not None and _telemetry._get() is first
    finally:
        _telemetry._instruments = None


def test_the_instruments_carry_the_documented_kinds_units_and_descriptions(otel: Otel) -> None:
    _, reader = otel
    for name, (kind, _, _) in INSTRUMENTS.items():
        record(name, 1 if kind != "histogram" else 0.5, {"k": "v"})
    found = metrics(reader)
    assert set(found) == set(INSTRUMENTS)
    for name, (kind, unit, description) in INSTRUMENTS.items():
        assert (found[name].unit, found[name].description) == (unit, description)
        value = points(reader, name)[0][1]
        assert value == ((1, 0.5) if kind == "histogram" else 1)


# -- one attempt -------------------------------------------------------------------------------


def test_an_attempt_answered_2xx_has_its_span_and_metrics(otel: Otel) -> None:
    spans, reader = otel
    one().done(201)
    (span,) = spans.get_finished_spans()
    assert span.name == "kaizala T1"
    assert span.kind == trace.SpanKind.CLIENT
    assert span.instrumentation_scope is not None
    assert span.instrumentation_scope.name == "kaizala_async"
    assert dict(span.attributes or {}) == {
        "kaizala.endpoint": "T1",
        "http.request.method": "POST",
        "url.full": "https://kms.kaiza.la/v1/groups/G1/messages",  # no query string
        "kaizala.attempt": 2,
        "kaizala.slot_wait": 0.25,
        "kaizala.connector": "app-1",
        "http.response.status_code": 201,
    }
    assert span.status.status_code == trace.StatusCode.UNSET
    tags = {"kaizala.endpoint": "T1", "http.request.method": "POST",
            "kaizala.connector": "app-1", "http.response.status_code": 201}  # fmt: skip
    assert points(reader, "kaizala.client.calls") == [(tags, 1)]
    ((duration_tags, (count, seconds)),) = points(reader, "kaizala.client.duration")
    assert (duration_tags, count) == (tags, 1)
    assert 0 <= seconds < 5  # from the attempt's start to its end
    assert points(reader, "kaizala.client.slot_wait") == [
        ({"kaizala.connector": "app-1", "kaizala.endpoint": "T1"}, (1, 0.25))
    ]
    assert points(reader, "kaizala.client.throttled") == []
    assert points(reader, "kaizala.client.token_renewals") == []


@pytest.mark.parametrize(
    ("status", "error"), [(399, None), (400, "400"), (401, "401"), (500, "500")]
)
def test_an_answer_from_400_up_marks_the_span_an_error(
    otel: Otel, status: int, error: str | None
) -> None:
    spans, _ = otel
    one().done(status)
    (span,) = spans.get_finished_spans()
    if error is None:
        assert span.status.status_code == trace.StatusCode.UNSET
    else:
        assert (span.status.status_code, span.status.description) == (trace.StatusCode.ERROR, error)


def test_a_429_is_counted_as_throttled(otel: Otel) -> None:
    _, reader = otel
    one().done(429)
    ((tags, value),) = points(reader, "kaizala.client.throttled")
    assert value == 1 and tags["http.response.status_code"] == 429


def test_a_failed_attempt_records_its_error_type(otel: Otel) -> None:
    spans, reader = otel
    one().failed("ReadTimeout")
    (span,) = spans.get_finished_spans()
    assert (span.status.status_code, span.status.description) == (
        trace.StatusCode.ERROR, "ReadTimeout",
    )  # fmt: skip
    assert (span.attributes or {})["error.type"] == "ReadTimeout"
    ((tags, value),) = points(reader, "kaizala.client.calls")
    assert value == 1 and tags["error.type"] == "ReadTimeout"
    assert "http.response.status_code" not in tags


@pytest.mark.parametrize(
    ("path", "status", "renewals"),
    [("/accessToken", 200, 1), ("/accessToken", 401, 0), ("/users/me", 200, 0)],
)
def test_a_token_renewal_is_an_a3_answered_200(
    otel: Otel, path: str, status: int, renewals: int
) -> None:
    _, reader = otel
    one(method="GET", path=path).done(status)
    found = points(reader, "kaizala.client.token_renewals")
    assert found == ([({"kaizala.connector": "app-1"}, 1)] if renewals else [])


def test_an_attempt_is_ended_once(otel: Otel) -> None:
    spans, reader = otel
    attempt_ = one()
    attempt_.done(200)
    attempt_.failed("CancelledError")  # the pipeline's outer handler after a done: ignored
    attempt_.done(500)
    assert len(spans.get_finished_spans()) == 1
    ((_, value),) = points(reader, "kaizala.client.calls")
    assert value == 1


def test_the_shared_no_op_records_nothing_even_with_providers(otel: Otel) -> None:
    spans, reader = otel
    _telemetry.NOOP.done(200)
    _telemetry.NOOP.failed("X")
    assert spans.get_finished_spans() == ()
    assert points(reader, "kaizala.client.calls") == []
