"""Fan out to N streamed targets with limits lifted (MockTransport), journal on disk; print the
process's peak RSS (KiB) and the time taken, as JSON."""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from benchmarks._mock import mock_client


def targets(n: int) -> Iterator[str]:
    for i in range(n):
        yield f"group-{i:07d}@1"


async def run(n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        async with mock_client() as client:
            report = await client.fan_out(
                targets(n), text="Store closes at 6", journal=Path(folder) / "j.db", concurrency=32
            )
        elapsed = time.perf_counter() - started
    assert report.sent == n, report
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"targets": n, "sent": report.sent, "peak_rss_kib": peak, "seconds": elapsed}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(run(int(sys.argv[1])))), flush=True)
