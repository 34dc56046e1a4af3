"""OpenTelemetry spans and metrics, when the ``otel`` extra is installed (else nothing at all).

One span per HTTP attempt (a retried call has one per attempt) and the instruments of
`INSTRUMENTS`, taken from the global tracer and meter providers at the first call made once a provider is set.
Without ``opentelemetry-api``, or before any provider is configured, every hook is a no-op.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any, Final

__all__ = ["INSTRUMENTS", "NOOP", "Attempt", "active", "attempt", "endpoint_id", "record"]

try:  # the `otel` extra
    from opentelemetry import metrics as _metrics
    from opentelemetry import trace as _trace
    from opentelemetry.metrics import _internal as _metrics_state
except ImportError:  # pragma: no cover - exercised where the extra is absent
    _metrics = None  # type: ignore[assignment]
    _trace = None  # type: ignore[assignment]
    _metrics_state = None  # type: ignore[assignment]

ENABLED: Final = _trace is not None
_SCOPE: Final = "kaizala_async"

#: Metric name -> (kind, unit, description): the documented table (docs/guides/observability.md).
INSTRUMENTS: Final = {
    "kaizala.client.calls": ("counter", "{call}", "HTTP attempts, by endpoint and status"),
    "kaizala.client.throttled": ("counter", "{call}", "answers 429 Too Many Requests"),
    "kaizala.client.retries": ("counter", "{call}", "attempts repeated after a failure or a 5xx"),
    "kaizala.client.token_renewals": ("counter", "{token}", "access tokens fetched (A3)"),
    "kaizala.client.budget_fallbacks": ("counter", "{call}", "calls paced by the local fallback"),
    "kaizala.client.slot_wait": ("histogram", "s", "time a call waited for a rate-limit slot"),
    "kaizala.client.duration": ("histogram", "s", "time from sending to the whole answer"),
    "kaizala.client.queue": ("updown", "{call}", "calls waiting for a rate-limit slot"),
}

#: (method, path under /v1, reference id): the API's endpoints, for the ``kaizala.endpoint``
#: attribute (ids are the API page's: ``T1`` is sending a text message).
_ENDPOINTS: Final = [
    (m, re.compile("^" + re.sub(r"\{\w+\}", "[^/]+", p) + "$", re.IGNORECASE), i)
    for m, p, i in (
        ("POST", "/generatePin", "A1"), ("POST", "/loginWithPinAndApplicationId", "A2"),
        ("GET", "/accessToken", "A3"), ("GET", "/users/me", "U1"), ("POST", "/groups", "G1"),
        ("GET", "/groups", "G2"), ("GET", "/groups/{g}", "G3"),
        ("GET", "/groups/{g}/subGroups", "S1"), ("POST", "/groups/{g}/subGroups", "S2"),
        ("PUT", "/groups/{g}/subGroups", "S3"), ("DELETE", "/groups/{g}/subGroups/{s}", "S4"),
        ("GET", "/groups/{g}/members", "M1"), ("PUT", "/groups/{g}/members", "M2"),
        ("DELETE", "/groups/{g}/members/{m}", "M3"), ("POST", "/groups/{g}/subscribers", "P1"),
        ("PUT", "/groups/{g}/subscribers/add", "P2"),
        ("PUT", "/groups/{g}/subscribers/remove", "P3"),
        ("POST", "/groups/{g}/messages", "T1"), ("POST", "/media", "D1"),
        ("POST", "/media/url", "D2"), ("POST", "/groups/{g}/actions", "C1"),
        ("GET", "/groups/{g}/actions", "C2"), ("GET", "/groups/{g}/actions/{a}", "C3"),
        ("POST", "/groups/{g}/actions/{a}/responses", "C4"),
        ("POST", "/groups/{g}/reaction", "R1"), ("GET", "/groups/{g}/reaction/summary", "R3"),
        ("GET", "/groups/{g}/reaction/{r}/summary", "R2"),
        ("GET", "/groups/{g}/reaction/{r}", "R4"), ("POST", "/webhook", "W1"),
        ("GET", "/webhook", "W2"), ("PUT", "/webhook/{w}", "W3"), ("DELETE", "/webhook/{w}", "W4"),
        ("POST", "/bot", "B1"), ("GET", "/bot", "B2"), ("PUT", "/bot/{b}", "B3"),
        ("DELETE", "/bot/{b}", "B4"), ("GET", "/bot/accessToken/{b}", "B5"),
        ("POST", "/groups/{g}/bot", "B6"), ("GET", "/tenant/findGroupsByQuery", "X1"),
    )
]  # fmt: skip


def endpoint_id(method: str, path: str) -> str:
    """The API page's id of ``method path`` (path under ``/v1``), or ``"other"``."""
    path = path.split("?", 1)[0].rstrip("/") or "/"
    for m, pattern, found in _ENDPOINTS:
        if m == method and pattern.match(path):
            return found
    return "other"


class _Instruments:
    def __init__(self, tracer_provider: Any = None, meter_provider: Any = None) -> None:
        """Bound to the global providers, or to the ones given (the benchmarks compare them)."""
        meter = (meter_provider or _metrics.get_meter_provider()).get_meter(_SCOPE)
        self.tracer = (tracer_provider or _trace.get_tracer_provider()).get_tracer(_SCOPE)
        made: dict[str, Any] = {}
        for name, (kind, unit, description) in INSTRUMENTS.items():
            create: Any = {
                "counter": meter.create_counter,
                "histogram": meter.create_histogram,
                "updown": meter.create_up_down_counter,
            }[kind]
            made[name] = create(name, unit=unit, description=description)
        self.by_name = made


_instruments: _Instruments | None = None


def _get() -> _Instruments | None:
    """The instruments, once an OpenTelemetry SDK is configured; None before (or without the
    extra): with no provider set, the API's proxies would record nothing, so nothing is done."""
    global _instruments
    if _instruments is not None:
        return _instruments
    if not ENABLED or not _configured():
        return None
    _instruments = _Instruments()
    return _instruments


def _configured() -> bool:
    """Whether a tracer or meter provider was set. The API keeps them in module globals (None
    until set): reading those is the cheapest check, so a service that has not configured
    OpenTelemetry pays two attribute reads per hook; the public getters are the fallback."""
    try:
        return _trace._TRACER_PROVIDER is not None or _metrics_state._METER_PROVIDER is not None
    except AttributeError:  # pragma: no cover - another API version
        tracing = _trace.get_tracer_provider()
        return not isinstance(tracing, _trace.ProxyTracerProvider | _trace.NoOpTracerProvider)


def active() -> bool:
    """Whether anything is recorded now (the extra is installed and a provider configured)."""
    return _get() is not None


def record(name: str, value: float, attributes: Mapping[str, Any] | None = None) -> None:
    """Add ``value`` to the instrument ``name`` (a no-op without the extra)."""
    got = _get()
    if got is not None:
        instrument = got.by_name[name]
        if INSTRUMENTS[name][0] == "histogram":
            instrument.record(value, dict(attributes or {}))
        else:
            instrument.add(value, dict(attributes or {}))


class Attempt:
    """One HTTP attempt: its span and its metrics. ``done`` or ``failed`` ends it once."""

    __slots__ = ("_attrs", "_ended", "_span", "_started")

    def __init__(self, span: Any, attrs: dict[str, str | int | float]) -> None:
        self._span = span
        self._attrs = attrs
        self._started = time.monotonic()
        self._ended = False

    def done(self, status: int) -> None:
        self._end(
            {"http.response.status_code": status}, error=None if status < 400 else str(status)
        )

    def failed(self, error_type: str) -> None:
        self._end({"error.type": error_type}, error=error_type)

    def _end(self, extra: dict[str, Any], *, error: str | None) -> None:
        if self._ended or self._span is None:
            return
        self._ended = True
        span = self._span
        span.set_attributes(extra)
        if error is not None:
            span.set_status(_trace.Status(_trace.StatusCode.ERROR, error))
        span.end()
        tags = {k: v for k, v in self._attrs.items() if k in _METRIC_KEYS} | extra
        record("kaizala.client.calls", 1, tags)
        record("kaizala.client.duration", time.monotonic() - self._started, tags)
        if extra.get("http.response.status_code") == 429:
            record("kaizala.client.throttled", 1, tags)
        if (
            self._attrs.get("kaizala.endpoint") == "A3"
            and extra.get("http.response.status_code") == 200
        ):
            record(
                "kaizala.client.token_renewals",
                1,
                {"kaizala.connector": self._attrs["kaizala.connector"]},
            )


_METRIC_KEYS: Final = {"kaizala.endpoint", "http.request.method", "kaizala.connector"}
NOOP: Final = Attempt(None, {})
NOOP._ended = True


def attempt(
    method: str, path: str, url: str, *, connector: str, number: int, slot_wait: float
) -> Attempt:
    """Start the span of one attempt (the shared no-op without the extra)."""
    got = _get()
    if got is None:
        return NOOP
    endpoint = endpoint_id(method, path)
    attrs: dict[str, str | int | float] = {
        "kaizala.endpoint": endpoint,
        "http.request.method": method,
        "url.full": url.split("?", 1)[0],
        "kaizala.attempt": number,
        "kaizala.slot_wait": slot_wait,
        "kaizala.connector": connector,
    }
    span = got.tracer.start_span(
        f"kaizala {endpoint}", kind=_trace.SpanKind.CLIENT, attributes=attrs
    )
    record(
        "kaizala.client.slot_wait",
        slot_wait,
        {"kaizala.connector": connector, "kaizala.endpoint": endpoint},
    )
    return Attempt(span, attrs)
