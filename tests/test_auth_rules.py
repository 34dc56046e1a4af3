"""The finer rules of the token manager: when a stored access token is reused, what is saved
with the tokens, how an endpoint move is kept and logged, and what a manager shows of itself."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Any

import anyio
import pytest

from kaizala_async import (
    AuthenticationError,
    Credentials,
    MemoryTokenStore,
    StoredTokens,
    ValidationError,
)
from kaizala_async._auth import TokenManager, _fingerprint
from kaizala_async._secrets import Secret

from .vtime import run_virtual

APP = "app-rules-1"
FRESH = "https://kms.kaiza.la"


class Service:
    """A token service answering A3 with ``lifetime``-second tokens, counting its calls."""

    def __init__(self, lifetime: float = 3600.0) -> None:
        self.lifetime = lifetime
        self.calls = 0

    async def fetch(self, refresh: Secret) -> tuple[object, str | None]:
        self.calls += 1
        expiry = int((time.time() + self.lifetime) * 1000)
        return {"accessToken": f"fetched-{self.calls}", "endpointUrl": FRESH,
                "accessTokenExpiry": expiry}, None  # fmt: skip


def stored(**changes: object) -> StoredTokens:
    """A store entry whose access token is valid for another 100 s of its 3,600."""
    base: dict[str, object] = {
        "application_id": APP,
        "refresh_token": Secret("refresh-rules-1"),
        "endpoint_url": "https://kms2.kaiza.la",
        "access_token": Secret("stored-access-1"),
        "access_token_expiry": time.time() + 100.0,
        "access_token_lifetime": 3600.0,
        "secret_fingerprint": _fingerprint(Secret("secret-rules-1")),
    }
    base.update(changes)
    return StoredTokens(**base)  # type: ignore[arg-type]


def first_token(entry: StoredTokens) -> tuple[str, str, int]:
    """The token and endpoint a new manager uses, loading ``entry``; and A3 calls made."""
    service = Service()

    async def main() -> tuple[str, str]:
        store = MemoryTokenStore()
        await store.save(entry)
        manager = TokenManager(Credentials(APP, "secret-rules-1"), fetch=service.fetch, store=store)
        await manager.load()
        token, endpoint = await manager.access()
        return token.reveal(), endpoint

    token, endpoint = run_virtual(main)
    return token, endpoint, service.calls


def test_a_valid_stored_access_token_is_reused_with_its_endpoint() -> None:
    assert first_token(stored()) == ("stored-access-1", "https://kms2.kaiza.la", 0)


@pytest.mark.parametrize(
    "changes",
    [
        {"access_token": None},
        {"access_token_expiry": None},
        {"access_token_lifetime": None},
        {"access_token_lifetime": 0.0},
        {"endpoint_url": None},
        {"endpoint_url": ""},
        {"access_token_expiry": time.time() - 1.0},  # expired
        {"access_token_expiry": time.time() + 2.0},  # within the 5 s skew: as good as expired
        # fetched with another application secret, or saved without saying: a fetch checks
        # this process's secret (a wrong one went unnoticed while the kept token lived)
        {"secret_fingerprint": _fingerprint(Secret("another-secret"))},
        {"secret_fingerprint": ""},
    ],
)
def test_an_incomplete_or_stale_stored_access_token_is_fetched_again(
    changes: dict[str, object],
) -> None:
    assert first_token(stored(**changes)) == ("fetched-1", FRESH, 1)


def test_a_short_lived_stored_token_is_reused_while_a_tenth_of_its_life_is_left() -> None:
    # 0.5 s left of a 2 s token: its skew is min(5 s, 0.2 s), so it is still good.
    entry = stored(access_token_expiry=time.time() + 0.5, access_token_lifetime=2.0)
    assert first_token(entry) == ("stored-access-1", "https://kms2.kaiza.la", 0)


def test_what_is_saved_after_a_fetch_and_after_a_move() -> None:
    service = Service(lifetime=1000.0)

    async def main() -> tuple[StoredTokens | None, StoredTokens | None, str | None]:
        loop = asyncio.get_running_loop()
        offset = time.time() - loop.time()  # a wall clock that moves with the virtual loop
        store = MemoryTokenStore()
        manager = TokenManager(Credentials(APP, "secret-rules-1", "refresh-rules-2"),
                               fetch=service.fetch, store=store,
                               wall_clock=lambda: offset + loop.time())  # fmt: skip
        await manager.load()
        await manager.access()
        after_fetch = await store.load(APP)
        await asyncio.sleep(100.0)
        await manager.move_endpoint("https://kms9.kaiza.la")
        after_move, moved_to = await store.load(APP), manager.endpoint_url
        token, _ = await manager.access()
        await manager.refresh(stale=token)  # a renewal without rotation is saved too
        renewed = await store.load(APP)
        assert renewed is not None and renewed.access_token == Secret("fetched-2")
        return after_fetch, after_move, moved_to

    after_fetch, after_move, endpoint = run_virtual(main)
    assert after_fetch is not None and after_move is not None
    assert after_fetch.access_token == Secret("fetched-1")
    assert after_fetch.access_token_lifetime == pytest.approx(999.0, abs=1.5)
    assert after_fetch.access_token_expiry == pytest.approx(time.time() + 1000.0, abs=5.0)
    # Saved again on the move: 100 s of loop time later, the expiry is still the same instant.
    assert after_move.access_token_expiry == pytest.approx(
        after_fetch.access_token_expiry, abs=0.01
    )
    assert after_move.endpoint_url == endpoint == "https://kms9.kaiza.la"


def test_a_move_before_any_token_is_kept_saved_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> tuple[str | None, StoredTokens | None, str]:
        store = MemoryTokenStore()
        await store.save(stored(access_token=None, access_token_expiry=None))
        manager = TokenManager(Credentials(APP, "secret-rules-1"), fetch=Service().fetch,
                               store=store)  # fmt: skip
        await manager.load()
        before = repr(manager)
        with caplog.at_level(logging.INFO, logger="kaizala_async.auth"):
            await manager.move_endpoint("https://kms7.kaiza.la")
            await manager.move_endpoint("https://kms7.kaiza.la")
        return manager.endpoint_url, await store.load(APP), before

    endpoint, saved, before = run_virtual(main)
    assert endpoint == "https://kms7.kaiza.la"
    assert saved is not None and saved.endpoint_url == endpoint
    assert saved.access_token is None and saved.access_token_expiry is None
    assert saved.access_token_lifetime is None
    assert before == f"<TokenManager {APP!r} no token>"
    moves = [
        r for r in caplog.records if getattr(r, "kaizala_event", None) == "kaizala.endpoint.moved"
    ]
    assert [r.getMessage() for r in moves][:1] == ["endpoint moved to https://kms7.kaiza.la"]
    assert all(r.levelno == logging.INFO for r in moves)


def test_a_move_to_the_current_endpoint_changes_nothing(caplog: pytest.LogCaptureFixture) -> None:
    service = Service()

    async def main() -> tuple[str, int]:
        store = MemoryTokenStore()
        manager = TokenManager(Credentials(APP, "secret-rules-1", "refresh-rules-3"),
                               fetch=service.fetch, store=store)  # fmt: skip
        await manager.load()
        await manager.access()
        with caplog.at_level(logging.INFO, logger="kaizala_async.auth"):
            await manager.move_endpoint(FRESH)
        return repr(manager), len(caplog.records)

    shown, logged = run_virtual(main)
    assert shown == f"<TokenManager {APP!r} endpoint={FRESH!r}>"
    assert "fetched-1" not in shown and logged == 0


@pytest.mark.parametrize("application_id", ["", "   ", None, 42])
def test_credentials_need_an_application_id(application_id: object) -> None:
    with pytest.raises(ValidationError) as caught:
        Credentials(application_id, "secret-rules-1")  # type: ignore[arg-type]
    assert (caught.value.argument, caught.value.reason) == (
        "application_id",
        "must be a non-empty string",
    )


@pytest.mark.parametrize(
    ("secret", "refresh"), [("", None), ("  ", None), (None, None), ("s-1", ""), ("s-1", 7)]
)
def test_credentials_secrets_are_refused_without_being_echoed(
    secret: object, refresh: object
) -> None:
    with pytest.raises(ValidationError) as caught:
        Credentials(APP, secret, refresh)  # type: ignore[arg-type]
    assert (caught.value.argument, caught.value.reason) == (
        "credentials",
        "secrets must be non-empty strings",
    )
    assert Credentials(APP, Secret("s-2")).application_secret == Secret("s-2")  # kept as given


class FlakyService(Service):
    """A token service whose answers can be made to fail; records when each A3 call came."""

    def __init__(self, lifetime: float) -> None:
        super().__init__(lifetime)
        self.failing = False
        self.at: list[float] = []

    async def fetch(self, refresh: Secret) -> tuple[object, str | None]:
        self.at.append(asyncio.get_running_loop().time())
        if self.failing:
            raise OSError("token service down")
        return await super().fetch(refresh)


def renewing(service: FlakyService, script: Any, run_for: float) -> TokenManager:
    """Run a manager's renewal (it starts with no token) while ``script(manager)`` runs."""

    async def main() -> TokenManager:
        manager = TokenManager(Credentials(APP, "secret-rules-1", "refresh-rules-4"),
                               fetch=service.fetch)  # fmt: skip
        await manager.load()
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(manager.run_renewal)
            await script(manager)
            await asyncio.sleep(run_for)
            tasks.cancel_scope.cancel()
        return manager

    return run_virtual(main)


async def _nothing(manager: TokenManager) -> None:
    return None


def test_renewal_starts_without_a_token_and_keeps_renewing_short_tokens() -> None:
    # 1 s tokens are renewed 0.2 s before they expire: every 0.8 s, never in a tight loop
    service = FlakyService(lifetime=1.0)
    renewing(service, _nothing, run_for=10.0)
    assert 11 <= service.calls <= 14


def test_renewal_goes_on_after_someone_else_refreshed() -> None:
    service = FlakyService(lifetime=100.0)

    async def refresh_meanwhile(manager: TokenManager) -> None:
        await asyncio.sleep(10.0)
        token, _ = await manager.access()
        await manager.refresh(stale=token)  # a 401 elsewhere forced a new token at 10 s

    renewing(service, refresh_meanwhile, run_for=300.0)
    # fetched at 0 and 10 s, then renewed every 80 s (100 s tokens, 20 s early): 90, 170, 250
    assert [round(t - service.at[0]) for t in service.at] == [0, 10, 90, 170, 250]


def test_every_first_retry_after_a_failure_comes_within_a_second(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(random, "uniform", lambda low, high: high)  # the longest jittered wait
    service = FlakyService(lifetime=100.0)

    async def fail_twice(manager: TokenManager) -> None:
        await manager.access()
        service.failing = True  # the renewal at 80 s fails, and is retried
        await asyncio.sleep(81.5)
        service.failing = False  # the retry after that succeeds
        await asyncio.sleep(5.0)
        service.failing = True  # the next renewal fails too
        await asyncio.sleep(90.0)

    with caplog.at_level(logging.WARNING, logger="kaizala_async.auth"):
        renewing(service, fail_twice, run_for=0.0)
    times = [round(t - service.at[0], 1) for t in service.at]
    warned = [r for r in caplog.records if r.name == "kaizala_async.auth"]
    assert [r.getMessage() for r in warned[:2]] == [
        "access token renewal failed (OSError); retrying in 1.0 s",
        "access token renewal failed (OSError); retrying in 2.0 s",
    ]
    assert {getattr(r, "kaizala_event", None) for r in warned} == {"kaizala.token.renewal_failed"}
    # failed at 80 and 81 (1 s, then 2 s of backoff), renewed at 83; failed at 163, and the
    # first retry after that failure comes 1 s later again (the backoff starts over)
    assert times == [0.0, 80.0, 81.0, 83.0, 163.0, 164.0, 166.0, 170.0]


def test_a_token_past_its_stale_point_is_never_handed_out() -> None:
    service = FlakyService(lifetime=100.0)

    async def main() -> tuple[object, str]:
        manager = TokenManager(Credentials(APP, "secret-rules-1", "refresh-rules-5"),
                               fetch=service.fetch)  # fmt: skip
        await manager.load()
        await manager.access()
        await asyncio.sleep(96.0)  # 4 s left: within the 5 s skew
        stale = manager.peek()
        token, _ = await manager.access()
        return stale, token.reveal()

    stale, token = run_virtual(main)
    assert stale is None and token == "fetched-2"


@pytest.mark.parametrize(
    ("answer", "code", "message"),
    [
        ({"endpointUrl": FRESH}, "BadTokenResponse",
         "the token service answered without a usable access token"),
        ({"accessToken": "t", "endpointUrl": FRESH, "accessTokenExpiry": 1_000},
         "ExpiredTokenIssued", "the token service issued an already expired access token"),
    ],
)  # fmt: skip
def test_an_unusable_token_answer_is_an_authentication_error(
    answer: dict[str, object], code: str, message: str
) -> None:
    async def fetch(refresh: Secret) -> tuple[object, str | None]:
        return answer, None

    async def main() -> AuthenticationError:
        manager = TokenManager(Credentials(APP, "secret-rules-1", "refresh-rules-6"), fetch=fetch)
        await manager.load()
        with pytest.raises(AuthenticationError) as caught:
            await manager.access()
        return caught.value

    error = run_virtual(main)
    assert (error.status, error.code, error.message) == (200, code, message)


def test_a_store_written_by_an_earlier_version_is_still_recognised() -> None:
    """The store keeps where its refresh token came from as the first 32 hex digits of the
    original token's sha256: a store saved by an earlier version must still be adopted."""
    seen: list[str] = []

    async def fetch(refresh: Secret) -> tuple[object, str | None]:
        seen.append(refresh.reveal())
        return {"accessToken": "t", "endpointUrl": FRESH,
                "accessTokenExpiry": int((time.time() + 3600) * 1000)}, None  # fmt: skip

    async def main() -> None:
        store = MemoryTokenStore()
        origin = "d68bfbc5546d3ca03cba74375ce00e7d"  # sha256("refresh-original")[:32]
        await store.save(StoredTokens(application_id=APP, refresh_token=Secret("rotated-7"),
                                      origin=origin))  # fmt: skip
        manager = TokenManager(Credentials(APP, "secret-rules-1", "refresh-original"),
                               fetch=fetch, store=store)  # fmt: skip
        await manager.load()
        await manager.access()

    run_virtual(main)
    assert seen == ["rotated-7"]  # the rotated token from the store, not the original one


def test_lifetime_counts_from_the_service_date_and_rotations_are_counted_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Lifetime = expiry - (Date + 1 s): the Date header is cut to the second, so the service's
    clock may be up to 1 s later. A rotated refresh token is adopted, counted and logged."""
    date = "Wed, 21 Oct 2026 07:28:00 GMT"  # 1792567680 s since the epoch
    answers: list[tuple[dict[str, object], str | None]] = [
        ({"accessToken": "a-1", "endpointUrl": FRESH, "accessTokenExpiry": 1_792_567_681_500,
          "refreshToken": "r-rotated-2"}, date),  # 1.5 s after Date: 0.5 s of life
        ({"accessToken": "a-2", "endpointUrl": FRESH, "accessTokenExpiry": 1_792_567_780_000,
          "refreshToken": "r-rotated-3"}, date),  # 100 s after Date: 99 s
    ]  # fmt: skip
    seen: list[str] = []

    async def fetch(refresh: Secret) -> tuple[object, str | None]:
        seen.append(refresh.reveal())
        return answers[len(seen) - 1]

    async def main() -> tuple[list[float | None], int, int]:
        store = MemoryTokenStore()
        manager = TokenManager(Credentials(APP, "secret-rules-1", "r-original-1"), fetch=fetch,
                               store=store)  # fmt: skip
        await manager.load()
        lifetimes = []
        for _ in answers:
            await manager.refresh(stale=None if not lifetimes else manager.peek()[0])  # type: ignore[index]
            saved = await store.load(APP)
            lifetimes.append(saved.access_token_lifetime if saved else None)
        return lifetimes, manager.refreshes, manager.rotations

    with caplog.at_level(logging.INFO, logger="kaizala_async.auth"):
        lifetimes, refreshes, rotations = run_virtual(main)
    assert lifetimes[0] == pytest.approx(0.5, abs=1e-6)
    assert lifetimes[1] == pytest.approx(99.0, abs=1e-6)
    assert (refreshes, rotations) == (2, 2)
    assert seen == ["r-original-1", "r-rotated-2"]
    rotated = [
        r for r in caplog.records if getattr(r, "kaizala_event", None) == "kaizala.token.rotated"
    ]
    assert [r.getMessage() for r in rotated] == [f"refresh token rotated for connector {APP}"] * 2
    assert "r-rotated-2" not in caplog.text


def test_what_load_needs_and_what_it_takes_from_the_store() -> None:
    async def main() -> tuple[tuple[str, str], tuple[str, str], str | None, str | None, object]:
        fresh = TokenManager(Credentials(APP, "secret-rules-1"), fetch=Service().fetch)
        with pytest.raises(ValidationError) as no_store:
            await fresh.load()
        empty = TokenManager(Credentials(APP, "secret-rules-1"), fetch=Service().fetch,
                             store=MemoryTokenStore())  # fmt: skip
        with pytest.raises(ValidationError) as nothing_stored:
            await empty.load()
        store = MemoryTokenStore()
        await store.save(stored(access_token=None, access_token_expiry=None))
        loaded = TokenManager(Credentials(APP, "secret-rules-1"), fetch=Service().fetch,
                              store=store)  # fmt: skip
        before = loaded.endpoint_url
        await loaded.load()
        return ((no_store.value.argument, no_store.value.reason),
                (nothing_stored.value.argument, nothing_stored.value.reason),
                before, loaded.endpoint_url, fresh.recent_calls)  # fmt: skip

    no_store, nothing_stored, before, after, recent = run_virtual(main)
    assert no_store == (
        "credentials",
        "no refresh_token given and no token_store to load one from",
    )
    assert nothing_stored == ("credentials", f"no refresh_token given and none stored for {APP!r}")
    assert before is None and after == "https://kms2.kaiza.la"  # the stored endpoint, at once
    assert recent == ()
