"""The bot's token source (``_bot.BotTokens``) on its own, in virtual time: when a token is
usable, when it is fetched, how its lifetime is read from the answer, and the background
renewal with its backoff. A scripted service stands in for B5 and a stub for the user's token
manager (only its endpoint and ``access`` are used)."""

from __future__ import annotations

import asyncio
import email.utils
import itertools
import logging
import random
from datetime import UTC, datetime
from typing import Any

import pytest

from kaizala_async import KaizalaError, Secret
from kaizala_async._bot import BotTokens
from kaizala_async._models.admin import BotToken

from .vtime import run_virtual

#: The service's clock (its Date header), whole seconds: the lifetime is read against DATE + 1.
DATE = 1_700_000_000.0  # in the past: this machine's clock disagrees with the service's
BASE = "https://kms.kaiza.la"


class User:
    """The user's token manager as the bot view uses it: its endpoint, and ``access``."""

    def __init__(self, endpoint: str | None = BASE) -> None:
        self.endpoint_url = endpoint
        self.accesses = 0

    async def access(self) -> None:
        self.accesses += 1
        self.endpoint_url = BASE


class Service:
    """B5: tokens living ``lifetime`` s on the service's clock; ``failures`` raise first."""

    def __init__(self, lifetime: float | None = 100.0, *, dated: bool = True) -> None:
        self.lifetime = lifetime
        self.dated = dated
        self.failures: list[BaseException] = []
        self.fetched_at: list[float] = []

    async def fetch(self) -> tuple[BotToken, str | None]:
        self.fetched_at.append(asyncio.get_running_loop().time())
        if self.failures:
            raise self.failures.pop(0)
        expiry = None
        if self.lifetime is not None:
            expiry = datetime.fromtimestamp(DATE + 1.0 + self.lifetime, UTC)
        token = BotToken(
            access_token=Secret(f"bot-token-{len(self.fetched_at)}"), access_token_expiry=expiry
        )
        return token, email.utils.formatdate(DATE, usegmt=True) if self.dated else None


def tokens(service: Service, user: User | None = None) -> BotTokens:
    return BotTokens(service.fetch, user or User(), "bot-1")  # type: ignore[arg-type]


def shown(found: tuple[Secret, str] | None) -> tuple[str, str] | None:
    return None if found is None else (found[0].reveal(), found[1])


# -- peek and access ---------------------------------------------------------------------------


def test_nothing_is_usable_before_the_first_fetch_and_access_fetches_it() -> None:
    service = Service()

    async def main() -> tuple[Any, Any, int]:
        bot = tokens(service)
        before = shown(bot.peek())
        got = shown(await bot.access())
        return before, got, bot.refreshes

    assert run_virtual(main) == (None, ("bot-token-1", BASE), 1)


@pytest.mark.parametrize(
    ("lifetime", "stale_before_expiry"), [(100.0, 10.0), (600.0, 60.0), (3600.0, 60.0)]
)
def test_a_token_is_usable_until_a_tenth_of_its_life_or_60_s_before_expiry(
    lifetime: float, stale_before_expiry: float
) -> None:
    service = Service(lifetime)

    async def main() -> tuple[Any, Any]:
        loop = asyncio.get_running_loop()
        bot = tokens(service)
        await bot.access()
        start = loop.time()
        await asyncio.sleep(lifetime - stale_before_expiry - 0.01 - (loop.time() - start))
        just_before = shown(bot.peek())
        await asyncio.sleep(0.02)
        return just_before, shown(bot.peek())

    assert run_virtual(main) == (("bot-token-1", BASE), None)


def test_a_usable_token_is_reused_and_a_stale_one_fetched_again() -> None:
    service = Service(100.0)

    async def main() -> list[str]:
        bot = tokens(service)
        seen = [(await bot.access())[0].reveal(), (await bot.access())[0].reveal()]
        await asyncio.sleep(91.0)  # stale 10 s before its expiry
        seen.append((await bot.access())[0].reveal())
        return seen

    assert run_virtual(main) == ["bot-token-1", "bot-token-1", "bot-token-2"]
    assert len(service.fetched_at) == 2


def test_without_the_users_endpoint_the_bot_token_is_not_usable_and_the_user_is_asked() -> None:
    service, user = Service(), User(endpoint=None)

    async def main() -> tuple[Any, Any, int]:
        bot = tokens(service, user)
        got = shown(await bot.access())
        user.endpoint_url = None  # the user's token is gone for now: the bot's cannot be used
        return got, shown(bot.peek()), user.accesses

    assert run_virtual(main) == (("bot-token-1", BASE), None, 1)


def test_a_valid_bot_token_without_the_users_endpoint_asks_the_user_then_fetches_anew() -> None:
    service, user = Service(), User()

    async def main() -> Any:
        bot = tokens(service, user)
        await bot.access()
        user.endpoint_url = None
        return shown(await bot.access())

    assert run_virtual(main) == ("bot-token-2", BASE)
    assert user.accesses == 1


def test_a_token_is_not_usable_at_the_very_instant_it_goes_stale() -> None:
    async def main() -> tuple[Any, Any, int]:
        bot = tokens(Service(100.0))
        await bot.access()
        stale_at = bot._stale_at
        bot._now = lambda: stale_at - 1e-6  # type: ignore[method-assign]
        before = shown(bot.peek())
        bot._now = lambda: stale_at  # type: ignore[method-assign]
        at = shown(bot.peek())
        await bot.refresh(stale=Secret("another-token"))  # the current one is stale: fetched
        return before, at, bot.refreshes

    assert run_virtual(main) == (("bot-token-1", BASE), None, 2)


def test_the_user_is_not_asked_when_its_endpoint_is_known() -> None:
    user = User()
    run_virtual(lambda: tokens(Service(), user).access())
    assert user.accesses == 0


# -- refresh: single flight --------------------------------------------------------------------


def test_callers_at_once_share_one_fetch() -> None:
    service = Service()

    async def main() -> set[str]:
        bot = tokens(service)
        got = await asyncio.gather(*(bot.access() for _ in range(5)))
        return {token.reveal() for token, _ in got}

    assert run_virtual(main) == {"bot-token-1"}
    assert len(service.fetched_at) == 1


def test_a_refresh_for_a_token_already_replaced_fetches_nothing() -> None:
    service = Service()

    async def main() -> tuple[int, str]:
        bot = tokens(service)
        old = (await bot.access())[0]
        await bot.refresh(stale=old)  # old is the current one: replaced
        await bot.refresh(stale=old)  # someone already replaced it: nothing to do
        token = bot.peek()
        assert token is not None
        return bot.refreshes, token[0].reveal()

    assert run_virtual(main) == (2, "bot-token-2")


def test_a_refresh_for_another_token_still_fetches_once_the_current_one_is_stale() -> None:
    service = Service(100.0)

    async def main() -> int:
        bot = tokens(service)
        await bot.access()
        await asyncio.sleep(95.0)  # the current token is stale
        await bot.refresh(stale=Secret("some-older-token"))
        return bot.refreshes

    assert run_virtual(main) == 2


# -- lifetime ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "usable_for"),
    [
        (Service(100.0), 90.0),  # read against the service's Date (+1 s), not this clock
        (Service(None), 3540.0),  # no expiry given: an hour is assumed
        (Service(-50.0), 0.9),  # already expired by the service's clock: one second at most
    ],
)
def test_the_lifetime_is_read_against_the_services_clock(
    service: Service, usable_for: float
) -> None:
    async def main() -> float:
        loop = asyncio.get_running_loop()
        bot = tokens(service)
        await bot.access()
        start = loop.time()
        while bot.peek() is not None:
            await asyncio.sleep(0.05)
        return loop.time() - start

    assert run_virtual(main) == pytest.approx(usable_for, abs=0.06)


def test_without_a_date_the_lifetime_is_read_against_this_machines_clock() -> None:
    # The expiry is DATE + 101 s; this machine's clock is years past it: the least life, 1 s
    # (with the service's Date it would have been 100 s).
    service = Service(100.0, dated=False)

    async def main() -> tuple[Any, Any]:
        bot = tokens(service)
        await bot.access()
        at_once = shown(bot.peek())
        await asyncio.sleep(0.95)  # stale a tenth of its second before expiry
        return at_once, shown(bot.peek())

    assert run_virtual(main) == (("bot-token-1", BASE), None)


def test_the_repr_names_the_bot_and_never_its_token() -> None:
    async def main() -> str:
        bot = tokens(Service())
        await bot.access()
        return repr(bot)

    assert run_virtual(main) == "<BotTokens bot='bot-1'>"


# -- background renewal ------------------------------------------------------------------------


def renewals(service: Service, seconds: float) -> list[float]:
    """Run the renewal for ``seconds`` after a first call fetched a token; the fetch times,
    relative to the first."""

    async def main() -> list[float]:
        bot = tokens(service)
        task = asyncio.ensure_future(bot.run_renewal())
        await asyncio.sleep(5.0)  # the renewal waits for the first call's fetch
        assert service.fetched_at == []
        await bot.access()
        await asyncio.sleep(seconds)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        first = service.fetched_at[0]
        return [round(t - first, 1) for t in service.fetched_at]

    return run_virtual(main)


@pytest.mark.parametrize(
    ("lifetime", "every"),
    [
        (100.0, 80.0),
        (3600.0, 3300.0),
        (1.0, 0.8),
    ],  # a fifth of the life before expiry, at most 300 s
)
def test_the_token_is_renewed_before_it_expires(lifetime: float, every: float) -> None:
    assert renewals(Service(lifetime), 3.5 * every) == [round(n * every, 1) for n in range(4)]


def test_a_failed_renewal_backs_off_doubling_and_is_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(random, "uniform", lambda low, high: high)  # the longest jittered wait
    service = Service(100.0)

    async def main() -> list[float]:
        bot = tokens(service)
        task = asyncio.ensure_future(bot.run_renewal())
        await bot.access()
        service.failures = [KaizalaError("down"), OSError("reset"), KaizalaError("down")]
        await asyncio.sleep(100.0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        first = service.fetched_at[0]
        return [round(t - first, 1) for t in service.fetched_at]

    with caplog.at_level(logging.WARNING, logger="kaizala_async.auth"):
        fetched = run_virtual(main)
    # Renewal due at 80 s fails twice then once more: 1, 2 and 4 s apart, then it succeeds.
    assert fetched == [0.0, 80.0, 81.0, 83.0, 87.0]
    events = [r for r in caplog.records if getattr(r, "kaizala_event", None)]
    assert [r.kaizala_event for r in events] == ["kaizala.bot_token.renewal_failed"] * 3  # type: ignore[attr-defined]
    assert [r.getMessage() for r in events] == [
        "bot token renewal failed (KaizalaError); retrying in 1.0 s",
        "bot token renewal failed (OSError); retrying in 2.0 s",
        "bot token renewal failed (KaizalaError); retrying in 4.0 s",
    ]


def test_the_backoff_waits_between_half_and_all_of_its_step_and_stops_at_60_s(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[tuple[float, float]] = []

    def lowest(low: float, high: float) -> float:
        asked.append((low, high))
        return low

    monkeypatch.setattr(random, "uniform", lowest)
    service = Service(100.0)

    async def main() -> list[float]:
        bot = tokens(service)
        await bot.access()
        service.failures = [OSError("down")] * 9
        task = asyncio.ensure_future(bot.run_renewal())
        await asyncio.sleep(80.0 + 200.0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        times = service.fetched_at[1:]
        return [round(b - a, 2) for a, b in itertools.pairwise(times)]

    gaps = run_virtual(main)
    # Steps 1, 2, 4 ... 60 s (capped), each waited at half: 0.5, 1, 2, 4, 8, 16, 30, 30, 30.
    assert gaps[:9] == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    assert set(asked) == {(0.5, 1.0)}


def test_a_success_resets_the_backoff() -> None:
    service = Service(100.0)

    async def main() -> list[float]:
        bot = tokens(service)
        await bot.access()
        task = asyncio.ensure_future(bot.run_renewal())
        service.failures = [OSError("down")]
        await asyncio.sleep(80.0 + 2.0)  # failed at 80 s, renewed about a second later
        service.failures = [OSError("down")]  # the next renewal fails once too
        await asyncio.sleep(90.0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        first = service.fetched_at[0]
        return [t - first for t in service.fetched_at]

    random.seed(7)
    times = run_virtual(main)
    assert len(times) == 5
    first_gap, second_gap = times[2] - times[1], times[4] - times[3]
    assert 0.5 <= first_gap <= 1.0
    assert 0.5 <= second_gap <= 1.0  # one failure again: the first step, not the second


def test_an_unexpected_error_ends_the_renewal_instead_of_being_retried() -> None:
    service = Service(100.0)

    async def main() -> BaseException | None:
        bot = tokens(service)
        await bot.access()
        service.failures = [ValueError("a bug")]
        task = asyncio.ensure_future(bot.run_renewal())
        await asyncio.sleep(200.0)
        return task.exception() if task.done() else None

    assert isinstance(run_virtual(main), ValueError)
    assert len(service.fetched_at) == 2
