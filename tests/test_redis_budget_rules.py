"""`RedisTenantBudget` on its own against a real redis-server (``_redis``): its arguments checked
by name, its defaults, a pause every process sees, the connection it opens (named, with the
budget's timeouts) and closes, and a client the user passed in left open."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest

from kaizala_async import BracketReport, Rate, RedisTenantBudget, ValidationError


@pytest.mark.parametrize(
    ("changes", "argument", "says"),
    [
        ({"url": "http://localhost"}, "url", "must be a redis://, rediss:// or unix:// URL"),
        ({"url": 6379}, "url", "must be a redis://, rediss:// or unix:// URL"),
        ({"tenant_key": ""}, "tenant_key", "must be a non-empty string without braces or spaces"),
        ({"tenant_key": "a{b}"}, "tenant_key", "without braces or spaces"),
        ({"tenant_key": 7}, "tenant_key", "without braces or spaces"),
        ({"key_prefix": "my prefix"}, "key_prefix", "without braces or spaces"),
        ({"key_prefix": "x\n"}, "key_prefix", "without braces or spaces"),
        ({"processes": 0}, "processes", "must be a whole number of at least 1"),
        ({"timeout": 0}, "timeout", "must be a positive number of seconds, not 0"),
        ({"timeout": True}, "timeout", "must be a positive number of seconds, not True"),
        ({"timeout": "1"}, "timeout", "must be a positive number of seconds, not '1'"),
        ({"retry_every": -1.0}, "retry_every", "must be a positive number of seconds, not -1.0"),
        ({"lease": math.inf}, "lease", "must be finite, not inf"),
        ({"lease": math.nan}, "lease", "must be a positive number of seconds, not nan"),
    ],
)
def test_each_argument_is_checked_by_name_before_anything_connects(
    changes: dict[str, Any], argument: str, says: str
) -> None:
    arguments: dict[str, Any] = {"url": "redis://127.0.0.1:9/0", "tenant_key": "contoso"}
    arguments.update(changes)
    with pytest.raises(ValidationError) as caught:
        RedisTenantBudget(**arguments)
    assert caught.value.argument == argument
    assert says in caught.value.reason and caught.value.reason.startswith("must be")
    assert caught.value.reason.endswith((says, "URL", "spaces", "at least 1"))


def test_every_kind_of_redis_url_is_taken_and_the_defaults_are_documented_ones() -> None:
    for url in ("redis://h:6379/0", "rediss://h:6380/1", "unix:///run/redis.sock"):
        RedisTenantBudget(url, "contoso")
    assert repr(RedisTenantBudget("unix:///run/redis.sock", "TX-1")) == (
        "<RedisTenantBudget 'TX-1' at /run/redis.sock>"
    )
    assert repr(RedisTenantBudget("redis://", "contoso")) == "<RedisTenantBudget 'contoso' at ?>"
    import redis.exceptions

    errors = RedisTenantBudget("redis://h/0", "t").errors
    assert issubclass(redis.exceptions.ConnectionError, errors)  # what counts as "Redis is down"
    budget = RedisTenantBudget("redis://:pw-4711@cache.internal:6379/0", "contoso", processes=3)
    assert (budget.tenant_key, budget.processes, budget.share_connectors) == ("contoso", 3, False)
    assert (budget.timeout, budget.retry_every, budget.lease) == (0.25, 1.0, 180.0)
    assert budget.stats.round_trips == 0
    assert budget.key("tat") == "kaizala:{contoso}:tat"
    assert repr(budget) == "<RedisTenantBudget 'contoso' at cache.internal>"  # no password
    shared = RedisTenantBudget("redis://h/0", "t", share_connectors=1, key_prefix="app")  # type: ignore[arg-type]
    assert shared.share_connectors is True and shared.key("tat") == "app:{t}:tat"


def test_a_pause_holds_every_process_next_slot(redis_url: str) -> None:
    async def main() -> tuple[float, float]:
        first = RedisTenantBudget(redis_url, "pause-test")
        other = RedisTenantBudget(redis_url, "pause-test")  # another process's
        try:
            tenant = Rate(100, 1.0)
            report = BracketReport()
            before, _, _ = await other.reserve(
                tenant=tenant, jitter=0.0, connector=None, call_id="c0", report=report
            )
            await first.pause(tenant=tenant, seconds=2.0)
            after, _, booked = await other.reserve(
                tenant=tenant, jitter=0.0, connector=None, call_id="c1", report=report
            )
            assert booked
            return before, after
        finally:
            await first.aclose()
            await other.aclose()

    before, after = asyncio.run(main())
    assert before < 0.1
    assert 1.9 <= after <= 2.1  # the slot after the pause's end, on Redis's clock


def test_its_own_connection_is_named_timed_and_closed_a_given_one_left_open(
    redis_url: str,
) -> None:
    import redis.asyncio

    async def main() -> None:
        async with redis.asyncio.Redis.from_url(redis_url) as watcher:

            async def named() -> list[dict[str, Any]]:
                return [c for c in await watcher.client_list() if c.get("name") == "kaizala-budget"]

            budget = RedisTenantBudget(redis_url, "conn-test", timeout=0.75)
            await budget.reserve(
                tenant=Rate(100, 1.0), jitter=0.0, connector=None, call_id="c0",
                report=BracketReport(),
            )  # fmt: skip
            assert len(await named()) == 1
            pool_options = budget._client.connection_pool.connection_kwargs  # type: ignore[union-attr]
            assert pool_options["socket_timeout"] == 0.75
            assert pool_options["socket_connect_timeout"] == 0.75
            await budget.aclose()
            for _ in range(50):  # the server sees the close when it next reads the socket
                if not await named():
                    break
                await asyncio.sleep(0.02)
            assert await named() == []

            mine = redis.asyncio.Redis.from_url(redis_url, client_name="the-users-client")
            given = RedisTenantBudget(redis_url, "conn-test", client=mine)
            await given.reserve(
                tenant=Rate(100, 1.0), jitter=0.0, connector=None, call_id="c1",
                report=BracketReport(),
            )  # fmt: skip
            assert await named() == []  # it booked through the user's client, not one of its own
            await given.aclose()
            await asyncio.sleep(0.1)  # a close would have reached the server by now
            users = [c for c in await watcher.client_list() if c.get("name") == "the-users-client"]
            assert len(users) == 1  # still the user's, still connected
            await given.reserve(  # and the budget goes on using it after a close
                tenant=Rate(100, 1.0), jitter=0.0, connector=None, call_id="c2",
                report=BracketReport(),
            )  # fmt: skip
            await mine.aclose()

    asyncio.run(main())


def test_bookings_of_one_process_are_spaced_and_named_per_process(redis_url: str) -> None:
    a = RedisTenantBudget(redis_url, "ids-test")
    b = RedisTenantBudget(redis_url, "ids-test")
    assert a._process_id != b._process_id and len(a._process_id.rsplit("-", 1)[1]) == 12

    async def main() -> list[float]:
        waits = []
        for n in range(3):
            wait, _, booked = await a.reserve(
                tenant=Rate(100, 1.0), jitter=0.0, connector=None, call_id=f"c{n}",
                report=BracketReport(),
            )  # fmt: skip
            assert booked
            waits.append(wait)
        await a.aclose()
        await b.aclose()
        return waits

    waits = asyncio.run(main())
    assert waits[1] >= 0.009 and waits[2] >= waits[1]  # 10 ms apart at 100 per second


def test_without_redis_py_the_budget_says_which_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "redis.exceptions", None)  # as if redis-py were missing
    with pytest.raises(ValidationError) as caught:
        RedisTenantBudget("redis://127.0.0.1:9/0", "contoso")
    assert caught.value.argument == "RedisTenantBudget"
    assert caught.value.reason.startswith("needs redis-py")
    assert "needs redis-py: pip install '.[redis]' (from a checkout of kaizala-async)" in str(
        caught.value
    )


def test_the_booking_arguments_reach_the_script_in_its_units(redis_url: str) -> None:
    """Each argument of a booking, checked by what the script does with it: places held by
    calls in flight for the lease, ends reported with their age, a report alone books nothing,
    and a shared connector's own spacing across processes."""

    async def main() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        tenant = Rate(2, 1.0)  # two places: the ledger, not the spacing, binds here
        budget = RedisTenantBudget(redis_url, "args-test", lease=30.0)
        try:
            book = budget.reserve
            for n in range(2):
                _, _, booked = await book(tenant=tenant, jitter=0.0, connector=None,
                                          call_id=f"c{n}", report=BracketReport())  # fmt: skip
                assert booked
            wait, _, booked = await book(tenant=tenant, jitter=0.0, connector=None,
                                         call_id="c2", report=BracketReport())  # fmt: skip
            seen["held"] = (booked, wait)  # both places held by calls in flight (the lease)
            _, _, booked = await book(tenant=tenant, jitter=0.0, connector=None, call_id=None,
                                      report=BracketReport(ended=(("c0", 5.0), ("c1", 5.0))))  # fmt: skip
            seen["report only"] = booked
            wait, _, booked = await book(tenant=tenant, jitter=0.0, connector=None,
                                         call_id="c3", report=BracketReport())  # fmt: skip
            seen["after ends long ago"] = (booked, wait)
        finally:
            await budget.aclose()

        a = RedisTenantBudget(redis_url, "connector-test", share_connectors=True)
        b = RedisTenantBudget(redis_url, "connector-test", share_connectors=True)
        try:
            waits = []
            for n, budget in enumerate((a, b, a)):
                wait, _, booked = await budget.reserve(
                    tenant=Rate(300, 1.0), jitter=0.0, connector=("conn-1", Rate(2, 1.0), 0.0),
                    call_id=f"k{n}", report=BracketReport(anonymous=(9.0,)),
                )  # fmt: skip
                assert booked
                waits.append(wait)
            seen["connector waits"] = waits
        finally:
            await a.aclose()
            await b.aclose()
        return seen

    seen = asyncio.run(main())
    assert seen["held"][0] is False and 0 < seen["held"][1] <= 1.0  # ask again a little later
    assert seen["report only"] is False
    booked, wait = seen["after ends long ago"]
    assert booked and wait <= 1.6  # the ends free the places (the even spacing still holds)
    first, second, third = seen["connector waits"]
    # The connector's own spacing (1 s / 2) across both processes, well above the tenant's.
    assert 0.45 <= second - first <= 0.55 and 0.45 <= third - second <= 0.55
