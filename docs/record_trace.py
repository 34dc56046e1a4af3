"""Renders docs/trace.png: the spans of a small fan-out, as a trace viewer would draw them.

Run from the repository: ``python docs/record_trace.py``. It sends to 12 groups of an
in-process emulator through a client with 4 sends in flight, one answer 429 (the tenant pauses,
the call is repeated), with the OpenTelemetry SDK's in-memory exporter, and draws each span.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from kaizala_async.emulator import Emulator, EmulatorConfig, Fault, NetworkProfile

TARGET = Path(__file__).with_name("trace.png")


async def main(spans: InMemorySpanExporter) -> None:
    config = EmulatorConfig.fast(network=NetworkProfile.uniform(0.01, 0.03))
    async with Emulator(config) as emu, emu.client() as client:
        groups = emu.create_groups(12)
        emu.inject(Fault(route=f"POST /v1/groups/{groups[5]}/messages", error_rate=1.0,
                         error_status=429, times=1))  # fmt: skip
        await client.fan_out(groups, text="Store closes at 6", concurrency=4)


def draw(spans: InMemorySpanExporter) -> None:
    finished = sorted(spans.get_finished_spans(), key=lambda s: s.start_time)
    origin = finished[0].start_time
    fig, ax = plt.subplots(figsize=(9, 0.32 * len(finished) + 1.2))
    for row, span in enumerate(finished):
        start = (span.start_time - origin) / 1e6
        width = max((span.end_time - span.start_time) / 1e6, 0.5)
        status = span.attributes.get("http.response.status_code")
        color = "#c0392b" if status == 429 else "#2e86c1"
        ax.barh(row, width, left=start, color=color, height=0.6)
        wait = span.attributes.get("kaizala.slot_wait", 0.0) * 1000
        label = f"{span.name}  {status}  attempt {span.attributes.get('kaizala.attempt')}"
        label += f"  waited {wait:.0f} ms" if wait >= 1 else ""
        ax.text(start + width + 3, row, label, va="center", fontsize=7)
    ax.invert_yaxis()
    ax.set_yticks([])
    ax.set_xlabel("milliseconds since the first span")
    ax.set_title("One span per HTTP attempt (kaizala A3 = the access token; red: answered 429)",
                 fontsize=9)  # fmt: skip
    ax.spines[["top", "right", "left"]].set_visible(False)
    fig.tight_layout()
    fig.savefig(TARGET, dpi=110)


if __name__ == "__main__":
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    asyncio.run(main(exporter))
    draw(exporter)
    print(f"wrote {TARGET}")
