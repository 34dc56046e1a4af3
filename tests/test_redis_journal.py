"""A fan-out campaign journaled in Redis (issue 26), over a real redis-server."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import os
import signal
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import httpx
import pytest

from benchmarks._redis_server import redis_server_handle
from kaizala_async import (
    CampaignStatus,
    Rate,
    RateLimits,
    RedisJournal,
    Sent,
    Skipped,
    ValidationError,
    _redis_journal,
)
from kaizala_async.emulator import Emulator, EmulatorConfig


def _emulator() -> Emulator:
    return Emulator(
        EmulatorConfig.fast(connector_limit=Rate(1000, 1.0), tenant_limit=Rate(3000, 1.0))
    )


def _copies(emu: Emulator, groups: list[str]) -> collections.Counter[int]:
    """How many groups got 0, 1, 2 ... copies."""
    per_group = emu.stats()["messagesPerGroup"]
    return collections.Counter(per_group[g] for g in groups)


def test_two_workers_drain_one_campaign_and_no_group_gets_two_copies(redis_url: str) -> None:
    async def main() -> tuple[list[int], collections.Counter[int], int]:
        async with _emulator() as emu:
            groups = emu.create_groups(300)
            limits = RateLimits(connector=Rate(1000, 1.0), tenant=Rate(3000, 1.0))
            async with emu.client(limits=limits) as a, emu.client(limits=limits) as b:
                reports = await asyncio.gather(
                    a.fan_out(groups, text="hello", journal=RedisJournal(redis_url, "two")),
                    b.fan_out(groups, text="hello", journal=RedisJournal(redis_url, "two")),
                )
            sent = [r.sent for r in reports]
            late = await _late_worker(emu, groups, redis_url, "two")
            return sent, _copies(emu, groups), late

    sent, copies, late_sent = asyncio.run(main())
    assert sum(sent) == 300 and all(n > 0 for n in sent)  # both worked
    assert copies == {1: 300}
    assert late_sent == 0


async def _late_worker(emu: Emulator, groups: list[str], url: str, campaign: str) -> int:
    """A worker joining after the end: it sends nothing and reports every target."""
    async with emu.client() as late:
        report = await late.fan_out(groups, text="hello", journal=RedisJournal(url, campaign),
                                    keep_outcomes=True)  # fmt: skip
    assert report.total == len(groups)
    assert all(isinstance(o, Skipped) and o.from_journal for o in report.outcomes or ())
    return report.sent


def test_a_worker_with_another_message_is_refused_before_sending(redis_url: str) -> None:
    async def main() -> None:
        async with _emulator() as emu, emu.client() as client:
            groups = emu.create_groups(3)
            await client.fan_out(groups, text="first", journal=RedisJournal(redis_url, "msg"))
            before = emu.stats()["messagesPerGroup"]
            with pytest.raises(ValidationError, match="sends a different message"):
                await client.fan_out(groups, text="second", journal=RedisJournal(redis_url, "msg"))
            assert emu.stats()["messagesPerGroup"] == before

    asyncio.run(main())


def test_a_dead_workers_claims_are_sent_by_another_and_its_in_flight_left_unknown(
    redis_url: str,
) -> None:
    """A worker that claimed targets and died (its lease lapsed): what it claimed and never
    sent is sent by the next worker; what it had in flight is Unknown, never sent again."""

    async def main() -> tuple[list[object], collections.Counter[int]]:
        import redis.asyncio

        async with _emulator() as emu:
            groups = emu.create_groups(6)
            dead = RedisJournal(redis_url, "dead", lease=1.0)
            await dead.start("x")  # only to learn the keys; the fingerprint is overwritten below
            async with redis.asyncio.Redis.from_url(redis_url) as r:
                await r.delete(dead._meta)
                state, workers = dead._keys
                await r.hset(state, mapping={groups[0]: "C|ghost", groups[1]: "I|ghost|1"})
                await r.sadd(dead._held + "ghost", groups[0], groups[1])
                await r.zadd(workers, {"ghost": 1})  # its lease lapsed long ago
            await dead.aclose()
            async with emu.client() as client:
                report = await client.fan_out(groups, text="hi", keep_outcomes=True,
                                              journal=RedisJournal(redis_url, "dead"))  # fmt: skip
            return list(report.outcomes or ()), _copies(emu, groups)

    outcomes, copies = asyncio.run(main())
    by_group = {o.group_id: o for o in outcomes}  # type: ignore[attr-defined]
    assert copies == {1: 5, 0: 1}
    unknown = [o for o in outcomes if type(o).__name__ == "Unknown"]
    assert len(unknown) == 1 and unknown[0].from_journal  # type: ignore[attr-defined]
    assert sum(isinstance(o, Sent) for o in by_group.values()) == 5


def test_status_counts_states_and_workers(redis_url: str) -> None:
    async def main() -> object:
        async with _emulator() as emu, emu.client() as client:
            groups = emu.create_groups(5)
            await client.fan_out(groups, text="hi", journal=RedisJournal(redis_url, "st"))
            journal = RedisJournal(redis_url, "st")
            try:
                return await journal.status()
            finally:
                await journal.aclose()

    status = asyncio.run(main())
    assert isinstance(status, CampaignStatus)
    assert status.counts == {"sent": 5, "failed": 0, "unknown": 0, "claimed": 0, "in_flight": 0}
    assert status.oldest_in_flight is None
    assert all(held == 0 and not live for held, live in status.workers.values())


@pytest.mark.parametrize(("settings", "warned"), [
    ({"appendonly": "no"}, True),
    ({"appendonly": "yes", "appendfsync": "everysec"}, True),
    ({"appendonly": "yes", "appendfsync": "always"}, False),
])  # fmt: skip
def test_a_server_that_could_lose_in_flight_records_is_warned_of_once(
    redis_url: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
    settings: dict[str, str], warned: bool,
) -> None:  # fmt: skip
    import redis.asyncio

    monkeypatch.setattr(_redis_journal, "_WARNED", set())

    async def main() -> None:
        async with redis.asyncio.Redis.from_url(redis_url) as r:
            for name, value in settings.items():
                await r.config_set(name, value)
            try:
                for _ in range(2):
                    journal = RedisJournal(redis_url, "durability")
                    await journal.start("x")
                    await journal.aclose()
            finally:
                await r.config_set("appendonly", "no")
                await r.config_set("appendfsync", "everysec")

    with caplog.at_level(logging.WARNING, logger="kaizala_async.journal"):
        asyncio.run(main())
    events = [r for r in caplog.records
              if getattr(r, "kaizala_event", "") == "kaizala.journal.not_durable"]  # fmt: skip
    assert len(events) == (1 if warned else 0)


def test_the_command_line_fans_out_through_a_redis_campaign_and_reads_its_status(
    redis_url: str, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from kaizala_async.cli import app
    from tests.emulator.helpers import cli_env, loopback_emulator

    with loopback_emulator("--connector-limit", "100/1", "--tenant-limit", "300/1") as (c, root):
        env = cli_env(c, root, tmp_path, refresh_token=True)
        ids = httpx.post(f"{root}/_emulator/groups",
                         json={"count": 12, "mobileNumber": "+911234567890"}).json()["groupIds"]  # fmt: skip
        listing = tmp_path / "groups.txt"
        listing.write_text("\n".join(ids))
        journal = f"{redis_url}#cli-campaign"
        runner = CliRunner()
        sent = runner.invoke(app, ["fanout", "--groups", str(listing), "--text", "hi",
                                   "--journal", journal, "--json"], env=env)  # fmt: skip
        assert sent.exit_code == 0, sent.output
        assert json.loads(sent.output.strip().splitlines()[-1])["sent"] == 12
        again = runner.invoke(app, ["fanout", "--groups", str(listing), "--text", "hi",
                                    "--journal", journal, "--json"], env=env)  # fmt: skip
        assert json.loads(again.output.strip().splitlines()[-1])["skipped"] == 12
        shown = runner.invoke(app, ["fanout", "status", "--journal", journal, "--json"], env=env)
        assert shown.exit_code == 0, shown.output
        assert json.loads(shown.output)["counts"]["sent"] == 12
        bad = runner.invoke(app, ["fanout", "status", "--journal", "run.db"], env=env)
        assert bad.exit_code == 2 and "redis://" in bad.output


def _sends_with_trouble(url: str, campaign: str, trouble: Callable[[], Awaitable[None]]) -> tuple[
    collections.Counter[int], dict[str, int], dict[str, str]
]:  # fmt: skip
    """90 groups at 30/s with ``trouble`` (Redis stopped, or killed and restarted) 1 s in; the
    copies per group, the report's counts and the journal's states."""

    async def main() -> tuple[collections.Counter[int], dict[str, int], dict[str, str]]:
        import redis.asyncio

        async with _emulator() as emu:
            groups = emu.create_groups(90)
            limits = RateLimits(connector=Rate(30, 1.0), tenant=Rate(300, 1.0))
            async with emu.client(limits=limits) as client, anyio.create_task_group() as tasks:
                tasks.start_soon(trouble)
                report = await client.fan_out(groups, text="hi",
                                              journal=RedisJournal(url, campaign, lease=30))  # fmt: skip
            async with redis.asyncio.Redis.from_url(url) as r:
                states = {k.decode(): v.decode()[:1] for k, v in
                          (await r.hgetall(f"kaizala:journal:{{{campaign}}}:state")).items()}  # fmt: skip
            counts = {"sent": report.sent, "unknown": report.unknown, "failed": report.failed}
            return _copies(emu, groups), counts, states

    return asyncio.run(main())


def test_redis_out_of_reach_for_seconds_sends_nothing_without_its_record(tmp_path: Path) -> None:
    """Redis stopped (SIGSTOP) for 2 s mid-run: the workers wait for it, then go on; every group
    the service got a message for is recorded sent, none twice."""
    with redis_server_handle() as server:

        async def trouble() -> None:
            await asyncio.sleep(1.0)
            server.process.send_signal(signal.SIGSTOP)
            await asyncio.sleep(2.0)
            server.process.send_signal(signal.SIGCONT)

        copies, counts, states = _sends_with_trouble(server.url, "stopped", trouble)
    assert copies == {1: 90} and counts["sent"] == 90
    assert set(states.values()) == {"S"}


def test_redis_killed_mid_run_and_restarted_on_its_aof_sends_no_group_twice(
    tmp_path: Path,
) -> None:
    with redis_server_handle(tmp_path) as server:

        async def trouble() -> None:
            await asyncio.sleep(1.0)
            server.kill()  # SIGKILL: what was fsynced to the append-only file survives
            await asyncio.sleep(1.0)
            await asyncio.to_thread(server.restart)

        copies, counts, states = _sends_with_trouble(server.url, "aof", trouble)
    assert max(copies) == 1 and copies[1] == counts["sent"]
    assert counts["sent"] + counts["unknown"] + counts["failed"] == 90
    assert all(states[g] in "SUF" for g in states) and len(states) == 90


def _fds_to(path: Path) -> int:
    found = 0
    for fd in Path("/proc/self/fd").iterdir():
        with contextlib.suppress(OSError):
            if str(path) in os.readlink(fd):
                found += 1
    return found


def test_closing_either_journal_releases_every_connection_and_file(
    redis_url: str, tmp_path: Path
) -> None:
    """The sqlite journal is in WAL mode and leaves no handle on its files; the Redis journal
    leaves no connection to the server."""
    import redis.asyncio

    db = tmp_path / "run.db"

    async def journal_connections(r: redis.asyncio.Redis) -> int:
        clients = await r.client_list()
        return sum(c.get("name") == "kaizala-journal" for c in clients)

    async def main() -> tuple[int, int, int]:
        async with redis.asyncio.Redis.from_url(redis_url) as r:
            before = await journal_connections(r)
            async with _emulator() as emu, emu.client() as client:
                groups = emu.create_groups(5)
                await client.fan_out(groups, text="hi", journal=db)
                assert _fds_to(db) == 0
                journal = RedisJournal(redis_url, "close")
                await journal.status()
                during = await journal_connections(r)
                await journal.aclose()
                await client.fan_out(groups, text="hi", journal=RedisJournal(redis_url, "close"))
            # The server notices a closed socket when it next polls it: give it a moment.
            after = await journal_connections(r)
            for _ in range(50):
                if after == before:
                    break
                await asyncio.sleep(0.05)
                after = await journal_connections(r)
            return before, during, after

    before, during, after = asyncio.run(main())
    assert during > before  # the count sees the journal's own connections
    assert after == before
    with contextlib.closing(sqlite3.connect(db)) as check:
        assert check.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_redis_client_passed_in_is_left_open_by_the_budget_and_the_journal(
    redis_url: str,
) -> None:
    """Closing must not close what the user owns (nothing checked it for the budget)."""
    import redis.asyncio

    from kaizala_async import RedisTenantBudget
    from kaizala_async._shared_tenant import BracketReport

    async def main() -> bool:
        async with redis.asyncio.Redis.from_url(redis_url) as given:
            budget = RedisTenantBudget(redis_url, "given", client=given)
            await budget.reserve(tenant=Rate(100, 1.0), jitter=0.0, connector=None,
                                 call_id="c1", report=BracketReport())  # fmt: skip
            await budget.aclose()
            journal = RedisJournal(redis_url, "given", client=given)
            await journal.start("x")
            await journal.aclose()
            return bool(await given.ping())

    assert asyncio.run(main())


def test_one_journal_object_serves_a_second_run_as_a_new_worker(redis_url: str) -> None:
    async def main() -> tuple[int, int, collections.Counter[int]]:
        async with _emulator() as emu, emu.client() as client:
            groups = emu.create_groups(6)
            journal = RedisJournal(redis_url, "again")
            first = await client.fan_out(groups[:3], text="hi", journal=journal)
            second = await client.fan_out(groups, text="hi", journal=journal)
            return first.sent, second.sent, _copies(emu, groups)

    first, second, copies = asyncio.run(main())
    assert (first, second) == (3, 3) and copies == {1: 6}


def test_the_test_servers_write_only_into_a_folder_of_their_own(tmp_path: Path) -> None:
    """A test that turns persistence on with CONFIG SET (the durability warning's) once left an
    empty appendonly.aof in the folder the tests ran from, and it was committed."""
    import redis

    with redis_server_handle() as server:
        r = redis.Redis.from_url(server.url)
        try:
            folder = Path(str(r.config_get("dir")["dir"]))
            r.config_set("appendonly", "yes")
            r.config_set("appendonly", "no")
        finally:
            r.close()
        assert folder.resolve() != Path.cwd().resolve()
        assert not (Path.cwd() / "appendonly.aof").exists()
    assert not folder.exists()  # removed with the server
