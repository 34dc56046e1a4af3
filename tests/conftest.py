from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from kaizala_async import Credentials, KaizalaClient, RateLimits

from .emulator.helpers import loopback_emulator
from .fake_service import APP_ID, APP_SECRET, REFRESH, FakeKaizala


@pytest.fixture
def fake() -> FakeKaizala:
    return FakeKaizala()


def make_client(fake: FakeKaizala, **kwargs: object) -> KaizalaClient:
    """A client wired to the fake through httpx's in-process ASGI transport."""
    options: dict[str, object] = {
        "api_root": "https://api.kaiza.la",
        "transport": httpx.ASGITransport(app=fake),
        "limits": RateLimits.unlimited(),
    }
    options.update(kwargs)
    credentials = options.pop("credentials", Credentials(APP_ID, APP_SECRET, REFRESH))
    return KaizalaClient(credentials, **options)  # type: ignore[arg-type]


@pytest.fixture
def otel() -> Iterator[tuple[Any, Any]]:
    """OpenTelemetry providers of this test only, with the SDK's in-memory span exporter and
    metric reader: ``(spans, reader)``. The global providers stay unset, so the rest of the
    suite records nothing."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from kaizala_async import _telemetry

    spans, reader = InMemorySpanExporter(), InMemoryMetricReader()
    tracing = TracerProvider()
    tracing.add_span_processor(SimpleSpanProcessor(spans))
    _telemetry._instruments = _telemetry._Instruments(
        tracing, MeterProvider(metric_readers=[reader])
    )
    try:
        yield spans, reader
    finally:
        _telemetry._instruments = None


@pytest.fixture(scope="module")
def emulator() -> Iterator[tuple[dict[str, str], str]]:
    """The loopback emulator of a module's command-line tests (fast limits, one connector)."""
    with loopback_emulator("--connector-limit", "100/1", "--tenant-limit", "300/1") as found:
        yield found


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Name the random order's seed at the end of every run, `-q` included (pytest-randomly
    prints it only in the header, which `-q` hides), so a failing order can be replayed from a
    CI log."""
    seed = getattr(config.option, "randomly_seed", None)
    if isinstance(seed, int):
        terminalreporter.write_line(
            f"random order: replay it with -p randomly --randomly-seed={seed}"
        )


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A real redis-server (the dev extra's) for the test module, on a free port."""
    from benchmarks._redis_server import redis_server

    with redis_server() as (url, _):
        yield url
