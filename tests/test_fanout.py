"""Fan-out: outcome logic, journal resume and cancellation, in virtual time against the
in-process emulator at the real limits (100/60 s per connector, 300/60 s per tenant)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest

import kaizala_async as k
from kaizala_async.emulator import Emulator, Fault
from tests.vtime import run_virtual

MOBILE = "+911234567890"


def _journal_states(path: Path) -> dict[str, str]:
    with sqlite3.connect(path) as db:
        return dict(db.execute("SELECT group_id, state FROM targets"))


def test_every_target_gets_exactly_one_outcome() -> None:
    async def main() -> tuple[k.FanOutReport, dict[str, int], list[str]]:
        async with Emulator() as emu, emu.client(timeout=5.0) as client:
            ids = emu.create_groups(40)
            busy, reset, broken, hung = ids[:4]
            emu.inject(Fault(route=f"POST /v1/groups/{busy}/messages", error_rate=1.0))
            emu.inject(Fault(route=f"POST /v1/groups/{reset}/messages", reset_rate=1.0))
            emu.inject(
                Fault(route=f"POST /v1/groups/{broken}/messages", error_rate=1.0, error_status=500)
            )
            emu.inject(Fault(route=f"POST /v1/groups/{hung}/messages", hang_rate=1.0))
            poll = k.PollAction(question="Lunch?", choices=["Yes", "No"])
            targets: list[Any] = [
                *ids[:30],
                (ids[30], "a text of its own"),
                (ids[31], poll),
                ids[5],  # repeated
                "",  # not an id
                (ids[32], ""),  # empty text
                "no-such-group@1",
            ]
            outcomes: list[k.Outcome] = []
            async with client.fan_out_stream(targets, text="Store closes at 6") as stream:
                async for outcome in stream:
                    outcomes.append(outcome)
            report = k.FanOutReport()
            for outcome in outcomes:
                report.add(outcome)
            return report, emu.stats()["messagesPerGroup"], [o.group_id for o in outcomes]

    report, per_group, seen = run_virtual(main)
    assert len(seen) == 36  # one outcome per target, repeated ones included
    assert report.sent == 28  # 30 ids - 4 faulty + 2 pairs
    assert report.skipped == 1
    assert report.unknown == 3  # reset after send, 500, timeout
    assert report.failed == 4  # 503 x3 attempts, "", empty text, unknown group
    kinds = {f.group_id: (type(f.error), f.retriable) for f in report.failures}
    assert kinds["no-such-group@1"] == (k.NotFoundError, False)
    assert kinds[""] == (k.ValidationError, False)
    assert any(t == (k.ServerError, True) for t in kinds.values())
    # The emulator holds exactly what the report says was sent, once each.
    assert sum(per_group.values()) == report.sent
    assert set(per_group.values()) <= {0, 1}


def test_a_rerun_with_the_journal_sends_only_what_is_left(tmp_path: Path) -> None:
    journal = tmp_path / "run.db"

    async def main() -> tuple[k.FanOutReport, k.FanOutReport, k.FanOutReport, dict[str, int]]:
        async with Emulator() as emu, emu.client() as client:
            ids = emu.create_groups(60)
            done = 0

            def stop_after_25(progress: k.FanOutProgress) -> None:
                nonlocal done
                done = progress.done
                if done >= 25:
                    scope.cancel()

            first = k.FanOutReport()
            with anyio.CancelScope() as scope:
                first = await client.fan_out(
                    ids, text="hello", journal=journal, on_progress=stop_after_25
                )
            states = _journal_states(journal)
            first = k.FanOutReport(
                sent=sum(s == "sent" for s in states.values()),
                unknown=sum(s == "inflight" for s in states.values()),
            )
            second = await client.fan_out(ids, text="hello", journal=journal)
            third = await client.fan_out(ids, text="hello", journal=journal, resend_unknown=True)
            return first, second, third, emu.stats()["messagesPerGroup"]

    first, second, third, per_group = run_virtual(main)
    assert 25 <= first.sent < 60
    assert second.skipped == first.sent
    assert second.unknown == first.unknown  # in flight at the cancel: not resent by default
    assert second.sent == 60 - first.sent - first.unknown
    assert third.sent == first.unknown and third.skipped == 60 - first.unknown
    assert all(per_group[g] >= 1 for g in per_group)
    # Only a send cancelled in flight can be doubled, and only because resend_unknown=True.
    assert sum(n - 1 for n in per_group.values()) <= first.unknown
    assert _journal_states(journal) == dict.fromkeys(per_group, "sent")
    assert oct(journal.stat().st_mode & 0o777) == "0o600"


def test_a_journal_is_bound_to_its_message(tmp_path: Path) -> None:
    journal = tmp_path / "run.db"

    async def main() -> int:
        async with Emulator() as emu, emu.client() as client:
            ids = emu.create_groups(3)
            await client.fan_out(ids, text="first message", journal=journal)
            calls = emu.stats()["connectors"]
            with pytest.raises(k.ValidationError) as caught:
                await client.fan_out(ids, text="another message", journal=journal)
            assert caught.value.argument == "journal"
            return sum(c["calls"] for c in emu.stats()["connectors"].values()) - sum(
                c["calls"] for c in calls.values()
            )

    assert run_virtual(main) == 0


def test_cancelling_keeps_every_in_flight_send_in_the_report_and_the_journal(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "run.db"

    async def main() -> tuple[list[k.Outcome], dict[str, int]]:
        async with Emulator() as emu, emu.client() as client:
            emu.inject(Fault(latency=2.0))  # sends take 2 s: several are in flight at once
            ids = emu.create_groups(50)
            seen: list[k.Outcome] = []
            async with client.fan_out_stream(ids, text="hi", journal=journal) as stream:
                async for outcome in stream:
                    seen.append(outcome)
                    if len(seen) == 10:
                        break
            return seen, emu.stats()["messagesPerGroup"]

    seen, per_group = run_virtual(main)
    states = _journal_states(journal)
    stored = {g for g, n in per_group.items() if n}
    assert {o.group_id for o in seen if isinstance(o, k.Sent)} <= stored
    assert {g for g, s in states.items() if s == "sent"} == stored  # nothing sent is unrecorded
    assert all(s in {"sent", "inflight"} for s in states.values())


def test_several_connectors_share_the_work_and_the_tenant_budget() -> None:
    async def main() -> tuple[k.FanOutReport, dict[str, Any]]:
        async with Emulator() as emu:
            ids = emu.create_groups(450)
            async with emu.client() as a, emu.client() as b, emu.client() as c:
                report = await k.fan_out([a, b, c], ids, text="hello")
            return report, emu.stats()

    report, stats = run_virtual(main)
    assert report.sent == 450 and report.ok
    connectors = stats["connectors"].values()
    assert all(c["throttled"] == 0 for c in connectors)
    assert all(c["calls"] > 100 for c in connectors)  # each did a share of the work
    (tenant,) = stats["tenants"].values()
    assert tenant["throttled"] == 0 and tenant["maxInWindow"] <= 300
    assert sum(stats["messagesPerGroup"].values()) == 450


def test_targets_are_read_lazily() -> None:
    pulled = 0

    async def main() -> int:
        nonlocal pulled
        async with Emulator() as emu, emu.client() as client:
            ids = emu.create_groups(200)

            async def stream() -> AsyncIterator[str]:
                nonlocal pulled
                for gid in ids:
                    pulled += 1
                    yield gid

            async with client.fan_out_stream(stream(), text="hi", concurrency=4) as outcomes:
                async for _ in outcomes:
                    return pulled
        return -1

    assert run_virtual(main) <= 4 + 4 + 2  # workers + queue + the one being handed over


def test_bad_arguments_are_refused_before_anything_is_sent() -> None:
    async def main() -> None:
        async with Emulator() as emu, emu.client() as client:
            with pytest.raises(k.ValidationError, match="text"):
                await client.fan_out(["g"], text="a", action=k.AnnouncementAction(message="b"))
            with pytest.raises(k.ValidationError, match="targets"):
                await client.fan_out("group-id", text="a")
            with pytest.raises(k.ValidationError, match="concurrency"):
                await client.fan_out(["g"], text="a", concurrency=0)
            with pytest.raises(k.ValidationError, match="text"):
                await client.fan_out(["g"], text="x" * 4001)
            assert sum(c["calls"] for c in emu.stats()["connectors"].values()) == 1  # the token

    run_virtual(main)
