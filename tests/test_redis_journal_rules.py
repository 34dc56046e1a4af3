"""`RedisJournal` on its own against a real redis-server (``_redis_journal``): its arguments
checked by name, its keys and defaults, each claim answer, the in-flight mark only while the
claim is held, the reaping of a dead worker, the heartbeat, status, delete, closing, the retry
while Redis is out of reach and the durability warning. Driven call by call, without a fan-out."""

from __future__ import annotations

import asyncio
import logging
import math
import sys
import time
from types import SimpleNamespace
from typing import Any

import pytest

from kaizala_async import CampaignStatus, RedisJournal, ValidationError, _redis_journal
from kaizala_async._journal import Claim, LostClaim

_campaigns = iter(range(10**6))


def _name() -> str:
    return f"rules-{next(_campaigns)}-{time.monotonic_ns()}"


@pytest.mark.parametrize(
    ("kwargs", "argument", "says"),
    [
        ({"url": "http://cache:6379"}, "url", "must be a redis://, rediss:// or unix:// URL"),
        ({"url": 6379}, "url", "must be a redis://, rediss:// or unix:// URL"),
        ({"url": ""}, "url", "must be a redis://, rediss:// or unix:// URL"),
        ({"campaign": ""}, "campaign", "must be a non-empty name without braces"),
        ({"campaign": "a{b"}, "campaign", "must be a non-empty name without braces"),
        ({"campaign": "a}b"}, "campaign", "must be a non-empty name without braces"),
        ({"campaign": "a\nb"}, "campaign", "must be a non-empty name without braces"),
        ({"campaign": 7}, "campaign", "must be a non-empty name without braces"),
        ({"lease": 0.5}, "lease", "must be at least 1 second"),
        ({"lease": 0}, "lease", "must be more than 0 seconds, not 0"),
        ({"lease": math.inf}, "lease", "finite"),
    ],
)
def test_each_argument_is_checked_by_name_before_anything_connects(
    kwargs: dict[str, Any], argument: str, says: str
) -> None:
    given: dict[str, Any] = {"url": "redis://cache:6379/0", "campaign": "c", **kwargs}
    with pytest.raises(ValidationError) as caught:
        RedisJournal(given.pop("url"), given.pop("campaign"), **given)
    assert caught.value.argument == argument
    assert says in str(caught.value)
    if argument != "lease" or "1 second" in says:
        assert str(caught.value) == f"{argument}: {says}"  # the whole message, nothing added


@pytest.mark.parametrize("url", ["redis://h", "rediss://h:6380/1", "unix:///tmp/redis.sock"])
def test_every_kind_of_redis_url_is_taken(url: str) -> None:
    assert RedisJournal(url, "c").campaign == "c"
    assert RedisJournal(url, "Xmas-sale|2026").campaign == "Xmas-sale|2026"  # any other char


def test_its_keys_and_defaults() -> None:
    journal = RedisJournal("redis://cache/0", "spring", lease=1.0)
    assert journal.lease == 1.0 and journal.sweep_interval == pytest.approx(1 / 3)
    default = RedisJournal("redis://cache/0", "spring")
    assert default.lease == 30.0 and default.sweep_interval == 10.0
    assert default.claim_batch == 100 and default.shared is True and default.round_trips == 0
    assert len(default.worker) == 12 and default.worker != journal.worker
    int(default.worker, 16)  # hexadecimal
    assert default._keys == ["kaizala:journal:{spring}:state", "kaizala:journal:{spring}:workers"]
    assert default._meta == "kaizala:journal:{spring}:meta"
    assert default._held == "kaizala:journal:{spring}:held:"
    assert _redis_journal.OUTCOME_DELAY == 0.5 and _redis_journal.CLIENT_NAME == "kaizala-journal"


def test_its_repr_names_the_server_and_never_its_password() -> None:
    journal = RedisJournal("redis://:hunter2-secret@cache.internal:6380/0", "spring")
    shown = repr(journal)
    assert "hunter2" not in shown
    assert (
        shown == f"RedisJournal('redis://cache.internal:6380', 'spring', worker={journal.worker!r})"
    )
    assert repr(RedisJournal("redis://cache/0", "s")).startswith("RedisJournal('redis://cache', ")
    assert repr(RedisJournal("unix:///tmp/r.sock", "s")).startswith("RedisJournal('unix://', ")


def test_the_command_lines_form_names_url_and_campaign() -> None:
    journal = _redis_journal.from_url("redis://cache:6379/0#spring-sale")
    assert (journal._url, journal.campaign) == ("redis://cache:6379/0", "spring-sale")
    for bad in ("redis://cache:6379/0", "redis://cache:6379/0#"):
        with pytest.raises(ValidationError) as caught:
            _redis_journal.from_url(bad)
        assert str(caught.value) == (
            "journal: a Redis journal names its campaign: redis://host/0#name"
        )


def test_its_own_connection_is_named_and_timed(redis_url: str) -> None:
    journal = RedisJournal(redis_url, _name())
    kwargs = journal._redis().connection_pool.connection_kwargs
    assert kwargs["client_name"] == "kaizala-journal"
    assert (kwargs["socket_timeout"], kwargs["socket_connect_timeout"]) == (10, 5)
    assert journal._redis() is journal._redis()  # one client, made once
    asyncio.run(journal.aclose())


def test_without_the_redis_extra_it_says_which_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis.asyncio", None)
    with pytest.raises(ValidationError) as caught:
        RedisJournal("redis://cache/0", "c")._redis()
    assert (
        str(caught.value) == 'journal: RedisJournal needs the redis extra: pip install ".[redis]"'
    )


async def _started(url: str, campaign: str, fingerprint: str = "fp") -> RedisJournal:
    journal = RedisJournal(url, campaign, lease=1.0)
    await journal.start(fingerprint)
    return journal


def test_start_keeps_the_first_payload_and_refuses_another(redis_url: str) -> None:
    campaign = _name()

    async def main() -> None:
        first = await _started(redis_url, campaign, "payload-a")
        same = await _started(redis_url, campaign, "payload-a")
        refused = RedisJournal(redis_url, campaign, lease=1.0)
        with pytest.raises(ValidationError) as caught:
            await refused.start("payload-b")
        await refused.aclose()
        assert caught.value.argument == "journal"
        assert str(caught.value) == (
            f"journal: campaign {campaign!r} sends a different message; every worker must send "
            "the same one (use a new campaign name for a new message)"
        )
        redis = first._redis()
        assert await redis.hget(first._meta, "payload") == b"payload-a"
        seconds, micros = await redis.time()
        now_ms = int(seconds) * 1000 + int(micros) // 1000
        assert 0 <= now_ms - first._started_ms < 5_000
        assert first._started_ms <= same._started_ms
        for journal in (first, same):
            await journal.aclose()

    asyncio.run(main())


def test_a_second_start_of_one_object_is_a_new_worker(redis_url: str) -> None:
    async def main() -> None:
        journal = await _started(redis_url, _name())
        worker, started = journal.worker, journal._started_ms
        journal._lost.add("g")
        journal._pending.append(("sent", "g", "r", None))
        journal.stop()
        await asyncio.sleep(0.01)
        await journal.start("fp")
        assert journal.worker != worker and journal._started_ms >= started
        assert len(journal.worker) == 12
        assert not journal._lost and not journal._pending and not journal._stopped.is_set()
        await journal.aclose()

    asyncio.run(main())


def test_each_claim_answer(redis_url: str) -> None:
    """New, held by a live worker, mine, sent (with and without a reference), failed by an
    earlier run or by this one, unknown with and without leave to retake it."""
    campaign = _name()

    async def main() -> None:
        other = await _started(redis_url, campaign)
        state = other._keys[0]
        redis = other._redis()
        await other.claim(["held-by-other"], set())
        await asyncio.sleep(0.01)
        me = await _started(redis_url, campaign)
        await redis.hset(state, mapping={
            "sent-ref": "S|ref-1", "sent-none": "S|", "failed-old": f"F|{me._started_ms - 10}",
            "failed-now": f"F|{me._started_ms + 10}", "unknown": "U", "unknown-retake": "U",
        })  # fmt: skip
        names = ["new", "held-by-other", "sent-ref", "sent-none", "failed-old", "failed-now",
                 "unknown", "unknown-retake"]  # fmt: skip
        claims = await me.claim(names, {"unknown-retake"})
        assert claims == [
            Claim("new", None, True),
            Claim("held-by-other", "held", False, holder=other.worker),
            Claim("sent-ref", "sent", False, reference="ref-1"),
            Claim("sent-none", "sent", False, reference=None),
            Claim("failed-old", "failed", True),
            Claim("failed-now", "failed-now", False),
            Claim("unknown", "unknown", False),
            Claim("unknown-retake", "unknown", True),
        ]
        assert (await me.claim(["new"], set())) == [Claim("new", "mine", False)]
        held = await redis.smembers(me._held + me.worker)
        assert held == {b"new", b"failed-old", b"unknown-retake"}
        assert await redis.hget(state, "new") == f"C|{me.worker}".encode()
        lease = await redis.zscore(me._keys[1], me.worker)
        seconds, micros = await redis.time()
        assert lease - (int(seconds) * 1000 + int(micros) // 1000) == pytest.approx(1000, abs=50)
        for journal in (other, me):
            await journal.aclose()

    asyncio.run(main())


def test_an_in_flight_mark_needs_the_claim_and_outcomes_free_it(redis_url: str) -> None:
    campaign = _name()

    async def main() -> None:
        import anyio

        me = await _started(redis_url, campaign)
        redis = me._redis()
        state = me._keys[0]
        await me.claim(["a", "b", "c", "d"], set())
        async with anyio.create_task_group() as group:
            group.start_soon(me.run_writer)
            await me.write(("inflight", "a", None, None))
            assert (await redis.hget(state, "a")).decode().startswith(f"I|{me.worker}|")
            await redis.hset(state, "b", "C|someone-else")  # taken over meanwhile
            with pytest.raises(LostClaim):
                await me.write(("inflight", "b", None, None))
            trips = me.round_trips
            await me.write(("sent", "a", "ref-a", None))
            await me.write(("failed", "c", None, None))
            await me.write(("unknown", "d", None, None))
            assert me.round_trips == trips  # outcomes wait to ride with the next commit
            await asyncio.sleep(_redis_journal.OUTCOME_DELAY + 0.2)
            assert me.round_trips == trips + 1  # ... or go alone within OUTCOME_DELAY
            me.stop()
        assert await redis.hget(state, "a") == b"S|ref-a"
        assert (await redis.hget(state, "c")).startswith(b"F|")
        assert await redis.hget(state, "d") == b"U"
        assert await redis.smembers(me._held + me.worker) == {b"b"}
        await me.aclose()

    asyncio.run(main())


def test_a_dead_workers_claims_are_taken_and_its_in_flight_left_unknown(redis_url: str) -> None:
    campaign = _name()

    async def main() -> None:
        import anyio

        dead = await _started(redis_url, campaign)
        await dead.claim(["claimed", "in-flight"], set())
        async with anyio.create_task_group() as group:
            group.start_soon(dead.run_writer)
            await dead.write(("inflight", "in-flight", None, None))
            dead.stop()
        reaper = await _started(redis_url, campaign)
        busy = await reaper.sweep()
        assert busy == ([], [], True)  # the dead worker's lease is still live: it waits
        await asyncio.sleep(1.1)  # the lease (1 s) lapses
        taken, lost, still = await reaper.sweep()
        assert (taken, lost, still) == (["claimed"], ["in-flight"], False)
        redis = reaper._redis()
        assert await redis.hget(reaper._keys[0], "in-flight") == b"U"
        assert await redis.hget(reaper._keys[0], "claimed") == f"C|{reaper.worker}".encode()
        await reaper.aclose()
        await dead.aclose()

    asyncio.run(main())


def test_the_heartbeat_renews_the_lease_every_third_of_it(redis_url: str) -> None:
    async def main() -> list[float]:
        import anyio

        journal = await _started(redis_url, _name())
        await journal.claim(["g"], set())
        redis = journal._redis()
        leases = []
        async with anyio.create_task_group() as group:
            group.start_soon(journal.run_heartbeat)
            for _ in range(3):
                leases.append(await redis.zscore(journal._keys[1], journal.worker))
                await asyncio.sleep(0.4)
            journal.stop()
        await journal.aclose()
        return leases

    leases = asyncio.run(main())
    assert leases[0] < leases[1] < leases[2]


def test_status_reads_counts_workers_and_the_oldest_in_flight_mark(redis_url: str) -> None:
    campaign = _name()

    async def main() -> CampaignStatus:
        me = await _started(redis_url, campaign)
        await me.claim(["c1", "c2"], set())
        redis = me._redis()
        seconds, _ = await redis.time()
        old = (int(seconds) - 30) * 1000
        await redis.hset(me._keys[0], mapping={
            "s": "S|r", "f": "F|1", "u": "U", "odd": "X|?", "i1": f"I|gone|{old}",
            "i2": f"I|gone|{old + 20_000}",
        })  # fmt: skip
        await redis.zadd(me._keys[1], {"gone": 1})
        status = await me.status()
        await me.aclose()
        return status

    status = asyncio.run(main())
    assert status.counts == {"sent": 1, "failed": 1, "unknown": 2, "claimed": 2, "in_flight": 2}
    assert status.oldest_in_flight == pytest.approx(30.0, abs=1.5)
    worker_entries = sorted(status.workers.values())
    assert worker_entries == [(0, False), (2, True)]


def test_delete_removes_this_campaign_and_no_other(redis_url: str) -> None:
    first, second = _name(), _name()

    async def main() -> tuple[list[bytes], list[bytes]]:
        a = await _started(redis_url, first)
        b = await _started(redis_url, second)
        await a.claim(["g"], set())
        await b.claim(["g"], set())
        await a.delete()
        redis = a._redis()
        left_a = [k async for k in redis.scan_iter(f"kaizala:journal:{{{first}}}:*")]
        left_b = [k async for k in redis.scan_iter(f"kaizala:journal:{{{second}}}:*")]
        empty = RedisJournal(redis_url, _name())
        await empty.delete()  # nothing there: nothing to do
        await empty.aclose()
        for journal in (a, b):
            await journal.aclose()
        return left_a, left_b

    left_a, left_b = asyncio.run(main())
    assert left_a == [] and len(left_b) == 4


def test_closing_ends_the_lease_at_once_and_a_second_close_does_nothing(redis_url: str) -> None:
    campaign = _name()

    async def main() -> None:
        me = await _started(redis_url, campaign)
        await me.claim(["g"], set())
        await me.aclose()
        await me.aclose()
        other = await _started(redis_url, campaign)
        assert await other.claim(["g"], set()) == [Claim("g", None, True)]  # taken at once
        assert await other._redis().zscore(other._keys[1], me.worker) == 0
        await other.aclose()

    asyncio.run(main())


def test_closing_when_redis_is_gone_warns_and_still_disconnects(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def main() -> None:
        journal = RedisJournal("redis://127.0.0.1:1/0", _name())
        journal._redis()
        journal._scripts["claim"] = object()
        await journal.aclose()
        assert journal._scripts == {} and journal._client is None

    with caplog.at_level(logging.WARNING, logger="kaizala_async.journal"):
        asyncio.run(main())
    assert [r.getMessage() for r in caplog.records] == [
        "could not end the journal lease: ConnectionError"
    ]


def test_closing_waits_five_seconds_at_most_for_the_lease_to_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import anyio

    bounds: list[float] = []
    real = anyio.move_on_after

    def spy(seconds: float, *args: Any, **kwargs: Any) -> Any:
        bounds.append(seconds)
        return real(seconds, *args, **kwargs)

    class Hanging:
        async def zadd(self, *args: Any) -> None:
            await asyncio.sleep(3600)

        async def aclose(self) -> None:
            pass

    journal = RedisJournal("redis://cache/0", "c", client=Hanging())  # type: ignore[arg-type]
    journal._client = Hanging()  # type: ignore[assignment]  # its own: closed, and bounded
    monkeypatch.setattr(anyio, "move_on_after", spy)
    monkeypatch.setattr(_redis_journal.anyio, "move_on_after", spy)
    start = time.monotonic()
    asyncio.run(journal.aclose())
    assert bounds == [5] and time.monotonic() - start < 10


def test_redis_out_of_reach_is_retried_with_growing_pauses_then_given_up(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    journal = RedisJournal("redis://cache/0", "c")
    pauses: list[float] = []
    clock = [0.0]

    async def no_sleep(seconds: float) -> None:
        pauses.append(seconds)
        clock[0] += seconds

    monkeypatch.setattr(_redis_journal.anyio, "sleep", no_sleep)
    monkeypatch.setattr(_redis_journal, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    failures: list[BaseException] = [RedisConnectionError("down"), RedisTimeoutError("slow"),
                                      OSError("reset")] * 2  # fmt: skip

    async def flaky() -> str:
        if failures:
            raise failures.pop(0)
        return "answer"

    async def never() -> str:
        raise RedisConnectionError("down for good")

    with caplog.at_level(logging.WARNING, logger="kaizala_async.journal"):
        assert asyncio.run(journal._retrying(flaky)) == "answer"
        assert pauses == [0.1, 0.2, 0.4, 0.8, 1.6, 2.0]
        assert journal.round_trips == 7
        pauses.clear()
        with pytest.raises(RedisConnectionError):
            asyncio.run(journal._retrying(never))
    assert sum(pauses) >= 300 and max(pauses) == 2.0
    events = {getattr(r, "kaizala_event", None) for r in caplog.records}
    assert events == {"kaizala.journal.unreachable"}
    assert caplog.records[0].getMessage() == (
        "the journal's Redis is unreachable (ConnectionError); retrying in 0.1 s"
    )


def test_retries_end_five_minutes_after_the_first_try(monkeypatch: pytest.MonkeyPatch) -> None:
    from redis.exceptions import ConnectionError as RedisConnectionError

    journal = RedisJournal("redis://cache/0", "c")
    readings = iter([0.0, 300.0, 300.5, 301.5, 400.0])

    async def no_sleep(seconds: float) -> None:
        pass

    async def never() -> str:
        raise RedisConnectionError("down")

    monkeypatch.setattr(_redis_journal.anyio, "sleep", no_sleep)
    monkeypatch.setattr(_redis_journal, "time", SimpleNamespace(monotonic=lambda: next(readings)))
    with pytest.raises(RedisConnectionError):
        asyncio.run(journal._retrying(never))
    assert journal.round_trips == 2  # at 300 s still tried again; past it, given up


def test_another_error_is_not_retried() -> None:
    journal = RedisJournal("redis://cache/0", "c")

    async def broken() -> None:
        raise ValueError("a bug")

    with pytest.raises(ValueError, match="a bug"):
        asyncio.run(journal._retrying(broken))
    assert journal.round_trips == 1


class _Config:
    def __init__(self, settings: dict[str, str] | None) -> None:
        self.settings = settings

    async def config_get(self, name: str) -> dict[str, str]:
        if self.settings is None:
            raise PermissionError("CONFIG is disabled")
        return {name: self.settings[name]}


@pytest.mark.parametrize(("settings", "said"), [
    (None, "unknown (CONFIG GET refused)"),
    ({"appendonly": "no", "appendfsync": "everysec"}, "appendonly=no, appendfsync=everysec"),
    ({"appendonly": "yes", "appendfsync": "everysec"}, "appendonly=yes, appendfsync=everysec"),
    ({"appendonly": "no", "appendfsync": "always"}, "appendonly=no, appendfsync=always"),
])  # fmt: skip
def test_the_durability_warning_says_what_the_server_does_once_per_server(
    settings: dict[str, str] | None, said: str, caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(_redis_journal, "_WARNED", set())

    async def main() -> None:
        for url in ("redis://a/0", "redis://a/0", "redis://b/0"):
            await _redis_journal._check_durability(_Config(settings), url)  # type: ignore[arg-type]

    with caplog.at_level(logging.WARNING, logger="kaizala_async.journal"):
        asyncio.run(main())
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2  # once per server
    assert messages[0] == (
        f"the journal's Redis ({said}) may lose in-flight records in a crash: a send whose mark "
        "was lost could be sent again; use appendonly yes with appendfsync always for exactly-once"
    )


def test_a_durable_server_is_not_warned_of(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(_redis_journal, "_WARNED", set())
    durable = _Config({"appendonly": "yes", "appendfsync": "always"})
    with caplog.at_level(logging.WARNING, logger="kaizala_async.journal"):
        asyncio.run(_redis_journal._check_durability(durable, "redis://a/0"))  # type: ignore[arg-type]
    assert caplog.records == []
    assert not _redis_journal._WARNED


def test_a_client_passed_in_is_the_one_used(redis_url: str) -> None:
    import redis.asyncio

    async def main() -> None:
        given = redis.asyncio.Redis.from_url(redis_url)
        closed: list[bool] = []
        real_close = given.aclose

        async def recording() -> None:
            closed.append(True)

        given.aclose = recording  # type: ignore[method-assign]
        journal = RedisJournal(redis_url, _name(), client=given)
        assert journal._redis() is given
        await journal.start("fp")
        await journal.aclose()
        assert closed == [] and journal._client is given  # left open, kept for another run
        await real_close()

    asyncio.run(main())


def test_a_first_start_keeps_the_worker_it_was_made_with(redis_url: str) -> None:
    async def main() -> None:
        journal = RedisJournal(redis_url, _name())
        worker = journal.worker
        await journal.start("fp")
        assert journal.worker == worker
        assert journal._script("claim") is journal._script("claim")  # registered once
        assert journal._script("claim") is not journal._script("record")
        await journal.aclose()

    asyncio.run(main())


def test_under_trio_it_is_refused_with_the_reason() -> None:
    import anyio

    journal = RedisJournal("redis://cache/0", "c")
    with pytest.raises(ValidationError) as caught:
        anyio.run(journal.start, "fp", backend="trio")
    assert str(caught.value) == (
        "journal: RedisJournal runs on asyncio only: redis-py's client is asyncio's; under "
        "trio, use a journal file"
    )


def _fixed_time(client: Any, seconds: int, micros: int) -> None:
    async def fixed() -> tuple[int, int]:
        return seconds, micros

    client.time = fixed


def test_times_are_whole_milliseconds_of_the_servers_clock(redis_url: str) -> None:
    import redis.asyncio

    async def main() -> None:
        given = redis.asyncio.Redis.from_url(redis_url)
        _fixed_time(given, 1_700_000_000, 999_500)  # half a millisecond: rounded down
        journal = RedisJournal(redis_url, _name(), client=given)
        await journal.start("fp")
        assert journal._started_ms == 1_700_000_000_999 and type(journal._started_ms) is int
        state, workers = journal._keys
        await given.hset(state, mapping={"i": "I|w|1700000000000", "u": "U"})
        await given.zadd(workers, {"on-time": 1_700_000_000_999, "late": 1_700_000_000_998,
                                   "third": 1})  # fmt: skip
        status = await journal.status()
        assert status.oldest_in_flight == 0.999
        assert status.counts["unknown"] == 1
        assert status.workers == {"on-time": (0, True), "late": (0, False), "third": (0, False)}
        await journal.aclose()
        await given.aclose()

    asyncio.run(main())


def test_the_lease_given_is_the_one_booked_by_claim_sweep_and_heartbeat(redis_url: str) -> None:
    async def main() -> list[float]:
        import anyio

        journal = RedisJournal(redis_url, _name(), lease=1000.0)
        await journal.start("fp")
        redis = journal._redis()

        async def lease_left() -> float:
            seconds, micros = await redis.time()
            now = int(seconds) * 1000 + int(micros) // 1000
            return float(await redis.zscore(journal._keys[1], journal.worker)) - now

        left = []
        await journal.claim(["g"], set())
        left.append(await lease_left())
        await journal.sweep()
        left.append(await lease_left())
        journal.lease = 3.0  # a heartbeat every second, booking 3 s
        async with anyio.create_task_group() as group:
            group.start_soon(journal.run_heartbeat)
            await asyncio.sleep(0.9)
            left.append(await lease_left())  # not beaten yet: a third of 3 s is 1 s
            await asyncio.sleep(0.3)
            left.append(await lease_left())
            journal.stop()
        await journal.aclose()
        return left

    claimed, swept, before_beat, after_beat = asyncio.run(main())
    assert claimed == pytest.approx(1_000_000, abs=100)
    assert swept == pytest.approx(1_000_000, abs=100)
    assert before_beat > 990_000  # still the sweep's lease
    assert after_beat == pytest.approx(3_000 - 200, abs=100)  # beaten at 1 s, read at 1.2 s


def test_a_sent_mark_without_a_reference_reads_back_as_none(redis_url: str) -> None:
    async def main() -> list[Claim]:
        import anyio

        campaign = _name()
        journal = await _started(redis_url, campaign)
        await journal.claim(["g"], set())
        async with anyio.create_task_group() as group:
            group.start_soon(journal.run_writer)
            await journal.write(("sent", "g", None, None))
            journal.stop()
        other = await _started(redis_url, campaign)
        claims = await other.claim(["g"], set())
        for each in (journal, other):
            await each.aclose()
        return claims

    assert asyncio.run(main()) == [Claim("g", "sent", False, reference=None)]


def test_a_refused_mark_names_its_target_once(redis_url: str) -> None:
    async def main() -> None:
        import anyio

        journal = await _started(redis_url, _name())
        await journal.claim(["a", "b"], set())
        await journal._redis().hset(journal._keys[0], "b", "C|someone-else")
        async with anyio.create_task_group() as group:
            group.start_soon(journal.run_writer)
            with pytest.raises(LostClaim) as caught:
                await journal.write(("inflight", "b", None, None))
            assert caught.value.args == ("b",) and "b" not in journal._lost
            journal.stop()
        await journal.aclose()

    asyncio.run(main())


def test_the_durability_warning_is_once_per_server_url(
    redis_url: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(_redis_journal, "_WARNED", set())
    other_spelling = redis_url.replace("127.0.0.1", "localhost")

    async def main() -> None:
        for url in (redis_url, redis_url, other_spelling):
            journal = RedisJournal(url, _name())
            await journal.start("fp")
            await journal.aclose()

    with caplog.at_level(logging.WARNING, logger="kaizala_async.journal"):
        asyncio.run(main())
    warned = [r for r in caplog.records if "may lose in-flight records" in r.getMessage()]
    assert len(warned) == 2
