"""Promises a mutation study found unguarded: each test fails if the promise is broken, through
the public behaviour (the emulator's call log, the journal file, the logs, the clock)."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import httpx
import pytest

import kaizala_async as k
from kaizala_async._journal import Journal
from kaizala_async.emulator import Emulator, EmulatorConfig, Fault
from tests.conftest import make_client
from tests.fake_service import REFRESH, FakeKaizala
from tests.vtime import run_virtual


def _posts(emu: Emulator, group: str) -> int:
    """How many message sends to ``group`` reached the emulator."""
    return sum(1 for c in emu.calls() if c["route"] == "T1" and c["path"].split("/")[3] == group)


def test_a_500_is_never_resent_and_only_busy_answers_are_retried() -> None:
    """A 500 may come after the service acted: sent once, reported Unknown. 502/503/504 say the
    service did not act: retried, at most three attempts in all."""

    async def main() -> tuple[k.FanOutReport, dict[int, int]]:
        async with Emulator() as emu, emu.client() as client:
            ids = emu.create_groups(4)
            for group, status in zip(ids, (500, 502, 503, 504), strict=True):
                route = f"POST /v1/groups/{group}/messages"
                emu.inject(Fault(route=route, error_rate=1.0, error_status=status))
            report = await client.fan_out(ids, text="hi")
            return report, {
                s: _posts(emu, g) for g, s in zip(ids, (500, 502, 503, 504), strict=True)
            }

    report, attempts = run_virtual(main)
    assert attempts == {500: 1, 502: 3, 503: 3, 504: 3}
    assert report.unknown == 1 and report.failed == 3
    assert all(f.retriable for f in report.failures)


def test_a_run_cut_off_mid_send_does_not_resend_on_the_rerun(tmp_path: Path) -> None:
    """A send that left (marked in flight in the journal) is never repeated by a rerun unless
    asked: its fate is unknown, and ``resend_unknown`` is off by default."""
    journal = tmp_path / "run.db"

    async def main() -> tuple[k.FanOutReport, dict[str, int], str]:
        async with Emulator() as emu, emu.client() as client:
            ids = emu.create_groups(3)
            hung = ids[1]
            emu.inject(Fault(route=f"POST /v1/groups/{hung}/messages", hang_rate=1.0))
            async with client.fan_out_stream(ids, text="hi", journal=journal) as stream:
                done: list[k.Outcome] = []
                async for outcome in stream:
                    done.append(outcome)
                    if len(done) == 2:
                        break
            assert {o.group_id for o in done} == {ids[0], ids[2]}  # cut off: `hung` in flight
            assert emu.app.faults.injected["hang"] == 1  # its send left and was never answered
            emu.clear_faults()  # a resend would now be stored
            report = await client.fan_out(ids, text="hi", journal=journal)  # the rerun
            return report, emu.stats()["messagesPerGroup"], hung

    report, per_group, hung = run_virtual(main)
    assert per_group[hung] == 0  # not resent
    assert sorted(per_group.values()) == [0, 1, 1]  # the others were sent once, not again
    assert report.unknown == 1 and report.skipped == 2 and report.sent == 0
    assert report.unknowns[0].from_journal and "resend=" in report.unknowns[0].reason


def test_a_stream_left_early_reports_each_send_cancelled_in_flight(tmp_path: Path) -> None:
    """The block is left after 5 outcomes; sends are paced 10 ms apart and take 0.5 s, so the
    next ones are on their way then."""
    journal = tmp_path / "run.db"

    async def main() -> tuple[k.FanOutReport, list[k.Outcome], dict[str, int]]:
        async with Emulator(EmulatorConfig.fast()) as emu, emu.client() as client:
            # Sends take 0.5 s, paced 10 ms apart, on the real clock: in virtual time the loop
            # jumped ahead while the journal's thread committed, so on a busy machine every send
            # could start, and end, at one instant, none left in flight at the break (it failed
            # 2 runs in 25 with the machine's two cores kept busy).
            emu.inject(Fault(latency=0.5))
            ids = emu.create_groups(40)
            seen: list[k.Outcome] = []
            async with client.fan_out_stream(ids, text="hi", journal=journal) as stream:
                async for outcome in stream:
                    seen.append(outcome)
                    if len(seen) == 5:
                        break
            return stream.report, seen, emu.stats()["messagesPerGroup"]

    report, seen, per_group = asyncio.run(main())
    cancelled = [u for u in report.unknowns if u.reason == "cancelled while in flight"]
    assert cancelled  # several sends were in flight when the block was left
    with sqlite3.connect(journal) as db:
        states = dict(db.execute("SELECT group_id, state FROM targets").fetchall())
    in_flight = {g for g, s in states.items() if s == "inflight"}
    sent = {g for g, s in states.items() if s == "sent"}
    assert {u.group_id for u in cancelled} == in_flight
    assert report.sent == len(sent) >= len([o for o in seen if isinstance(o, k.Sent)])
    stored = {g for g, n in per_group.items() if n}
    assert stored <= sent | in_flight  # nothing the service holds is missing from the report


async def test_a_journal_write_is_committed_when_it_returns(tmp_path: Path) -> None:
    """``write`` returns only once its row is committed: another connection sees it."""
    import anyio

    path = tmp_path / "j.db"
    journal = Journal(path)
    journal.open("fingerprint")
    async with anyio.create_task_group() as group:
        group.start_soon(journal.run_writer)
        await journal.write(("inflight", "g-1", None, None))
        with sqlite3.connect(path) as other:
            rows = other.execute("SELECT group_id, state FROM targets").fetchall()
        assert rows == [("g-1", "inflight")]
        journal.stop()
    journal.close()


def test_the_log_filter_keeps_records_and_redacts_a_message_without_arguments(
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = k.Secret("a-live-refresh-token-value")
    caplog.set_level(logging.DEBUG, logger="kaizala_async")
    log = logging.getLogger("kaizala_async.transport")
    log.warning(f"already formatted with {secret.reveal()}")  # no % arguments
    log.warning("header accessToken: %s", "eyJ-header-value")
    messages = [r.getMessage() for r in caplog.records if r.name == "kaizala_async.transport"]
    assert messages == ["already formatted with ***", "header accessToken: ***"]


async def test_closing_one_of_two_clients_leaves_the_other_paced_and_working() -> None:
    """Clients of one tenant share a dispatcher: closing one must not shut it under the other."""
    async with Emulator() as emu:
        first, second = emu.client(), emu.client()
        async with second:
            async with first:
                await first.users.me()
            await second.users.me()  # still served after `first` closed
            assert (await second.users.me()).mobile_number


async def test_the_last_client_to_close_closes_the_shared_tenant_budget() -> None:
    """Two clients share one Redis-style tenant budget: it is closed once, by the last to go."""
    from tests.test_shared_budget import ScriptedBackend

    backend = ScriptedBackend()
    backend.closed = 0
    async with Emulator() as emu:
        limits = k.RateLimits(
            connector=k.Rate(100, 6.0),
            tenant=k.Rate(300, 6.0),
            backend=backend,  # type: ignore[arg-type]
        )
        a, b = emu.client(limits=limits), emu.client(limits=limits)
        async with b:
            async with a:
                await a.users.me()
            assert backend.closed == 0  # `b` still uses it
            await b.users.me()
        assert backend.closed == 1


def test_after_a_failed_renewal_the_first_retry_comes_within_a_second(fake: FakeKaizala) -> None:
    fake.token_ttl = 100.0

    async def main() -> list[float]:
        async with make_client(fake) as client:
            await client.request("GET", "/groups")
            fake.valid_refresh.discard(REFRESH)  # renewals now fail (401)
            await asyncio.sleep(85.0)  # past the renewal point (80 s), before expiry
        return [c.at for c in fake.calls if c.path == "/v1/accessToken"]

    times = run_virtual(main)
    assert len(times) >= 3  # the first token, a failed renewal, its retries
    first_failure, first_retry = times[1], times[2]
    assert 0.4 <= first_retry - first_failure <= 1.05


async def test_the_receivers_duplicate_memory_is_bounded() -> None:
    """Past ``dedupe`` distinct events the oldest ids are forgotten (memory stays bounded), while
    a recent duplicate is still acknowledged without dispatch."""
    receiver = k.WebhookReceiver(callback_token=None, dedupe=10)
    seen: list[str] = []

    @receiver.on(k.WebhookEvent)
    async def record(event: k.WebhookEvent) -> None:
        seen.append(str(event.event_id))

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=receiver), base_url="http://r"
    ) as http:

        async def deliver(event_id: str) -> None:
            body = {"eventType": "TextMessageCreated", "eventId": event_id, "data": {"text": "x"}}
            assert (await http.post("/", json=body)).status_code == 200

        for n in range(25):
            await deliver(f"e{n}")
        await deliver("e24")  # recent: a duplicate, not dispatched again
        await deliver("e0")  # forgotten: dispatched again
    assert seen == [f"e{n}" for n in range(25)] + ["e0"]


async def test_an_endpoint_move_is_saved_and_the_next_process_starts_there(
    fake: FakeKaizala,
) -> None:
    """A 308 moves the endpoint: the token store keeps the new one (with the tokens), so the
    next client goes there directly instead of meeting the 308 again."""
    store = k.MemoryTokenStore()
    fake.move_to, fake.moves_left = "https://kms2.kaiza.la/", 1
    async with make_client(fake, token_store=store) as client:
        await client.request("GET", "/groups")
        assert client.endpoint_url == "https://kms2.kaiza.la"
    saved = await store.load("app-1")
    assert saved is not None and saved.endpoint_url == "https://kms2.kaiza.la"
    fake.calls.clear()
    async with make_client(fake, token_store=store) as client:
        await client.request("GET", "/groups")
    assert [c.host for c in fake.resource_calls()] == ["kms2.kaiza.la"]


def test_journal_files_are_created_where_asked_and_bad_ones_refused(tmp_path: Path) -> None:
    """A journal in a directory that does not exist yet is created (0600); a file that is not
    a journal, or one written for another message, is refused with a clear error before any
    send; the error names the argument."""
    nested = tmp_path / "runs" / "2026-12-01" / "closing.db"
    journal = Journal(nested)
    journal.open("message-1")
    journal.close()
    assert nested.is_file() and (nested.stat().st_mode & 0o777) == 0o600
    with pytest.raises(k.ValidationError) as other:
        Journal(nested).open("message-2")
    assert other.value.argument == "journal"
    assert "different message" in str(other.value)
    garbage = tmp_path / "notes.db"
    garbage.write_bytes(b"this is not an sqlite database at all" * 100)
    with pytest.raises(k.ValidationError) as broken:
        Journal(garbage).open("message-1")
    assert broken.value.argument == "journal" and "not a usable journal file" in str(broken.value)
