"""Fan-out scenarios (issue 5): the limit's full speed, nothing lost, nothing sent twice."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from kaizala_async import KaizalaClient, Rate, Sent, fan_out_stream
from kaizala_async.emulator import THROTTLE_METHODS

from ._common import (
    loopback_emulator,
    opened,
    print_table,
    rate_option,
    record_series,
    scaled,
    sustained_rate,
)

CONNECTOR = Rate(100, 6.0)
TENANT = Rate(300, 6.0)


async def _timed_fan_out(
    clients: list[KaizalaClient], groups: list[str]
) -> tuple[int, list[float]]:
    times: list[float] = []
    outcomes = 0
    async with fan_out_stream(clients, groups, text="Store closes at 6") as stream:
        async for outcome in stream:
            outcomes += 1
            if isinstance(outcome, Sent):
                times.append(time.monotonic())
    return outcomes, times


def by_method(quick: bool) -> list[dict[str, Any]]:
    """1,000 groups from one connector, once per emulator counting method (scaled limits)."""
    count = 300 if quick else 1000
    # The default pacing against each method: nothing to set for any of them.
    runs: list[tuple[str, Rate]] = [(m, CONNECTOR) for m in THROTTLE_METHODS]
    rows = []
    for method, pace in runs:
        options = ("--throttle", method, "--connector-limit", rate_option(CONNECTOR),
                   "--tenant-limit", rate_option(TENANT))  # fmt: skip
        with loopback_emulator(*options) as emu:
            groups = emu.create_groups(count)
            start = time.monotonic()
            _, times = asyncio.run(_run_clients(emu, 1, groups, pace))
            total = time.monotonic() - start
            stats = emu.stats()
        connector = next(iter(stats["connectors"].values()))
        limit_rate = CONNECTOR.limit / CONNECTOR.period
        if pace == CONNECTOR:
            record_series(f"SDK, {method}", times, CONNECTOR.limit, CONNECTOR.period)
        rows.append(
            {
                "method": method,
                "client pace": f"{pace.limit}/{pace.period:g} s",
                "sent": len(times),
                "429s": connector["throttled"],  # each 429 counts in its connector once
                "max in window": connector["maxInWindow"],
                "rate / limit": sustained_rate(times) / limit_rate,
                "total / ideal time": total / (count / limit_rate),
                "copies per group": sorted(set(stats["messagesPerGroup"].values())),
            }
        )
    print_table("Fan-out under each counting method (1 connector, limit Rate(100, 6 s))", rows)
    return rows


def at_the_limit(quick: bool) -> list[dict[str, Any]]:
    """1,000 groups from 1, 3 and 5 connectors of one tenant, sliding log, scaled limits."""
    count = 300 if quick else 1000
    rows = []
    for connectors in (1, 3, 5):
        options = (
            "--connector-limit",
            rate_option(CONNECTOR),
            "--tenant-limit",
            rate_option(TENANT),
        )
        with loopback_emulator(*options, connectors=connectors) as emu:
            groups = emu.create_groups(count)

            outcomes, times = asyncio.run(_run_clients(emu, connectors, groups))
            stats = emu.stats()
        binding = min(connectors * CONNECTOR.limit, TENANT.limit) / CONNECTOR.period
        tenant = next(iter(stats["tenants"].values()))
        per_group = stats["messagesPerGroup"]
        rows.append(
            {
                "connectors": connectors,
                "groups": count,
                "outcomes": outcomes,
                "sent": len(times),
                "429s": tenant["throttled"],  # each 429 counts in its tenant once
                "max in window (tenant)": tenant["maxInWindow"],
                "tenant limit": TENANT.limit,
                "rate/s": sustained_rate(times),
                "rate / binding limit": sustained_rate(times) / binding,
                "copies per group": sorted(set(per_group.values())),
            }
        )
    print_table(
        "Fan-out at the limit (sliding log, Rate(100, 6 s) per connector, Rate(300, 6 s) per tenant)",
        rows,
    )
    return rows


async def _run_clients(
    emu: Any, connectors: int, groups: list[str], connector: Rate = CONNECTOR
) -> tuple[int, list[float]]:
    """Outcomes and the times of the sends."""
    clients = emu.clients(connectors, scaled(connector, TENANT))
    async with opened(clients):
        return await _timed_fan_out(clients, groups)


def _child(
    emu: Any, groups_file: Path, journal: Path, limit: int, period: float
) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 (our own interpreter and module)
        [
            sys.executable,
            "-m",
            "benchmarks._fanout_child",
            "--root",
            emu.root,
            "--credentials",
            json.dumps(emu.credentials[0]),
            "--groups",
            str(groups_file),
            "--journal",
            str(journal),
            "--text",
            "Store closes at 6",
            "--limit",
            str(limit),
            "--period",
            str(period),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )


def sigkill_and_resume(quick: bool) -> list[dict[str, Any]]:
    """Kill a journaled fan-out with SIGKILL midway, rerun it with the same journal."""
    count = 200 if quick else 600
    limit, period = 100, 2.0  # scaled: 50 sends per second
    rows = []
    rounds = 1 if quick else 3
    for attempt in range(rounds):
        options = (
            "--connector-limit",
            f"{limit}/{period:g}",
            "--tenant-limit",
            f"{3 * limit}/{period:g}",
        )
        with loopback_emulator(*options) as emu, tempfile.TemporaryDirectory() as folder:
            groups = emu.create_groups(count)
            groups_file = Path(folder) / "groups.txt"
            groups_file.write_text("\n".join(groups))
            journal = Path(folder) / "journal.db"
            child = _child(emu, groups_file, journal, limit, period)
            kill_at = count * (0.3 + 0.2 * attempt)
            while sum(emu.stats()["messagesPerGroup"].values()) < kill_at:
                time.sleep(0.02)
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
            assert child.stdout is not None
            child.stdout.close()
            before = sum(emu.stats()["messagesPerGroup"].values())
            rerun = _child(emu, groups_file, journal, limit, period)
            out, _ = rerun.communicate(timeout=600)
            report = json.loads(out)
            per_group = emu.stats()["messagesPerGroup"]
        copies = [per_group.get(g, 0) for g in groups]
        rows.append(
            {
                "run": attempt + 1,
                "groups": count,
                "stored when killed": before,
                "rerun sent": report["sent"],
                "rerun skipped": report["skipped"],
                "rerun unknown": report["unknown"],
                "groups with 1 copy": sum(c == 1 for c in copies),
                "missing": sum(c == 0 for c in copies),
                "duplicated": sum(c > 1 for c in copies),
            }
        )
    print_table("SIGKILL midway, then a rerun with the same journal", rows)
    return rows


def with_faults(quick: bool) -> list[dict[str, Any]]:
    """5 % injected 503s and 2 % connection resets: one outcome each, counts match the emulator."""
    count = 300 if quick else 1000
    options = ("--connector-limit", rate_option(CONNECTOR), "--tenant-limit", rate_option(TENANT))
    with loopback_emulator(*options, "--seed", "7") as emu:
        groups = emu.create_groups(count)
        emu.control(
            "POST",
            "faults",
            {"route": "POST /v1/groups/*/messages", "errorRate": 0.05, "resetRate": 0.02},
        )

        async def main() -> tuple[dict[str, int], int]:
            counts = {"Sent": 0, "Failed": 0, "Skipped": 0, "Unknown": 0}
            n = 0
            async with (
                emu.client(0, scaled(CONNECTOR, TENANT)) as client,
                client.fan_out_stream(groups, text="Store closes at 6") as stream,
            ):
                async for outcome in stream:
                    counts[type(outcome).__name__] += 1
                    n += 1
            return counts, n

        counts, outcomes = asyncio.run(main())
        stats = emu.stats()
        injected = emu.control("GET", "faults")["injected"]
    per_group = stats["messagesPerGroup"]
    row = {
        "groups": count,
        "outcomes": outcomes,
        **{k.lower(): v for k, v in counts.items()},
        "injected 503": injected["error"],
        "injected resets": injected["reset"],
        "emulator messages": sum(per_group.values()),
        "duplicated groups": sum(n > 1 for n in per_group.values()),
        "report sent == emulator": counts["Sent"] == sum(per_group.values()),
    }
    print_table("5 % 503 and 2 % connection resets", [row])
    return [row]


def memory(quick: bool) -> list[dict[str, Any]]:
    """Peak RSS of a fan-out to 10,000 and 100,000 streamed targets (limits lifted)."""
    sizes = (2_000, 20_000) if quick else (10_000, 100_000)
    rows = []
    for n in sizes:
        out = subprocess.run(  # noqa: S603 (our own interpreter and module)
            [sys.executable, "-m", "benchmarks._memory_child", str(n)],
            capture_output=True, text=True, check=True, timeout=1800,
        ).stdout  # fmt: skip
        rows.append(json.loads(out))
    small, large = rows
    ratio = large["peak_rss_kib"] / small["peak_rss_kib"]
    for row in rows:
        row["peak RSS ratio to the smaller run"] = row["peak_rss_kib"] / small["peak_rss_kib"]
        row["sends/s"] = row["sent"] / row["seconds"]
    print_table("Fan-out memory (MockTransport, limits lifted, journal on disk)", rows)
    print(f"peak RSS {sizes[1]:,} / {sizes[0]:,} targets: {ratio:.3f}")
    return rows
