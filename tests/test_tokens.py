"""Tokens (DESIGN §5): renewal before expiry, single flight, rotation, stores, cleanup."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import time
from pathlib import Path

import pytest

from kaizala_async import (
    AuthenticationError,
    Credentials,
    FileTokenStore,
    MemoryTokenStore,
    Rate,
    RateLimits,
    StoredTokens,
    ValidationError,
)
from kaizala_async._auth import TokenManager
from kaizala_async._secrets import Secret

from .conftest import make_client
from .fake_service import APP_ID, APP_SECRET, REFRESH, FakeKaizala
from .vtime import run_virtual


def test_renewal_happens_before_expiry_and_no_caller_waits(fake: FakeKaizala) -> None:
    fake.token_ttl = 100.0
    fake.token_latency = 0.5  # a slow token service: any caller that waited on it would show it

    async def main() -> list[float]:
        loop = asyncio.get_running_loop()
        durations = []
        async with make_client(fake) as client:
            for _ in range(1000):  # 1,000 s of calls, one a second
                start = loop.time()
                await client.request("GET", "/groups")
                durations.append(loop.time() - start)
                await asyncio.sleep(1.0)
        return durations

    durations = run_virtual(main)
    assert fake.expired_uses == 0  # never sent an expired token
    assert [c for c in fake.resource_calls() if c.path != "/v1/groups"] == []
    # 1,000 s with a 100 s token renewed 20 s early: the first token plus about 12 renewals.
    assert 11 <= fake.token_calls <= 14
    assert max(durations) < 0.01  # no call ever waited for the 0.5 s token service


def test_a_long_queue_neither_ages_the_token_nor_delays_its_renewal(fake: FakeKaizala) -> None:
    # 5 s tokens (renewed 1 s early) and 40 callers always queued behind a 10-calls-per-second
    # limit: each waits ~4 s for its slot. A token read before the wait, or a renewal queued
    # behind the callers, would reach the service expired.
    fake.token_ttl = 5.0

    async def main() -> int:
        limits = RateLimits(connector=Rate(10, 1.0), tenant=None, jitter=0.0)
        async with make_client(fake, limits=limits) as client:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 60.0

            async def caller() -> None:
                while loop.time() < deadline:
                    await client.request("GET", "/groups")

            await asyncio.gather(*(caller() for _ in range(40)))
            return client.stats.refreshed_on_401

    assert run_virtual(main) == 0
    assert fake.expired_uses == 0
    assert len(fake.resource_calls()) > 500  # the queue really was busy the whole minute
    assert 13 <= fake.token_calls <= 17  # 60 s of 5 s tokens renewed every ~4 s


def test_fifty_concurrent_calls_on_an_expired_token_make_one_token_request(
    fake: FakeKaizala,
) -> None:
    fake.token_latency = 0.2

    async def main() -> None:
        async with make_client(fake) as client:
            assert fake.token_calls == 1
            fake.revoke_all()  # every call now meets an invalid token
            responses = await asyncio.gather(*(client.request("GET", "/groups") for _ in range(50)))
            assert all(r.status_code == 200 for r in responses)
            assert client.stats.refreshed_on_401 == 50

    run_virtual(main)
    assert fake.token_calls == 2


def test_fifty_callers_of_an_expired_manager_share_one_fetch() -> None:
    fetches = 0

    async def fetch(refresh: Secret) -> tuple[object, str | None]:
        nonlocal fetches
        fetches += 1
        await asyncio.sleep(1.0)
        loop_expiry = 60.0
        import time

        return {
            "accessToken": f"t{fetches}",
            "endpointUrl": "https://kms.kaiza.la",
            "accessTokenExpiry": int((time.time() + loop_expiry) * 1000),
        }, None

    async def main() -> set[str]:
        manager = TokenManager(Credentials("a", "b", "c"), fetch=fetch)
        await manager.load()
        await manager.access()
        await asyncio.sleep(120)  # expired, and no renewal task is running
        results = await asyncio.gather(*(manager.access() for _ in range(50)))
        return {token.reveal() for token, _ in results}

    assert run_virtual(main) == {"t2"}
    assert fetches == 2


def test_invalid_token_is_refreshed_once_then_raised(fake: FakeKaizala) -> None:
    async def main() -> None:
        async with make_client(fake) as client:
            fake.reject_tokens = True
            with pytest.raises(AuthenticationError) as info:
                await client.request("GET", "/groups")
            assert info.value.code == "InvalidToken"
            assert info.value.status == 401

    run_virtual(main)
    assert fake.token_calls == 2  # the first token and exactly one refresh
    assert len(fake.resource_calls()) == 2  # the call and exactly one resend


def test_rotation_is_saved_with_mode_0600_and_used_next_time(
    fake: FakeKaizala, tmp_path: Path
) -> None:
    fake.token_ttl = 100.0
    fake.rotate_on = {2}
    path = tmp_path / "tokens.json"

    async def main() -> None:
        async with make_client(fake, token_store=FileTokenStore(path)) as client:
            await asyncio.sleep(95)  # one background renewal, which rotates
            await client.request("GET", "/groups")
            assert fake.token_calls == 2

    run_virtual(main)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    saved = json.loads(path.read_text())[APP_ID]
    assert saved["refreshToken"] == "rotated-2"
    assert saved["endpointUrl"] == fake.endpoint
    assert REFRESH not in path.read_text()

    # A new process with the original credentials and the same store uses the rotated token
    # (the original is no longer valid at the fake). The stored access token is dropped first,
    # so that the new process has to fetch one (else it would reuse it: see the next test).
    data = json.loads(path.read_text())
    assert data[APP_ID]["accessToken"]
    del data[APP_ID]["accessToken"]
    path.write_text(json.dumps(data))

    async def again() -> None:
        async with make_client(fake, token_store=FileTokenStore(path)) as client:
            await client.request("GET", "/groups")

    run_virtual(again)
    assert fake.calls[-2].headers["refreshtoken"] == "rotated-2"


def test_a_new_process_reuses_a_valid_stored_access_token(
    fake: FakeKaizala, tmp_path: Path
) -> None:
    """The next `kaizala` command (a new process, a new client) makes no token call while the
    stored access token is valid, and fetches one once it is not."""
    path = tmp_path / "tokens.json"
    store = FileTokenStore(path)

    async def one_call() -> None:
        async with make_client(fake, token_store=store) as client:
            await client.request("GET", "/groups")

    run_virtual(one_call)
    assert fake.token_calls == 1
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    run_virtual(one_call)
    assert fake.token_calls == 1  # reused: no second token call
    assert len(fake.resource_calls()) == 2
    data = json.loads(path.read_text())
    data[APP_ID]["accessTokenExpiry"] = time.time() - 1  # expired meanwhile
    path.write_text(json.dumps(data))
    run_virtual(one_call)
    assert fake.token_calls == 2


def test_a_newer_refresh_token_in_credentials_beats_the_store(fake: FakeKaizala) -> None:
    store = MemoryTokenStore()
    fake.valid_refresh = {"portal-new"}

    async def main() -> None:
        await store.save(
            StoredTokens(application_id=APP_ID, refresh_token=Secret("old-chain"), origin="x")
        )
        creds = Credentials(APP_ID, APP_SECRET, "portal-new")
        async with make_client(fake, credentials=creds, token_store=store):
            pass

    run_virtual(main)
    assert fake.calls[0].headers["refreshtoken"] == "portal-new"


def test_credentials_without_refresh_token_load_it_from_the_store(fake: FakeKaizala) -> None:
    store = MemoryTokenStore()

    async def main() -> None:
        await store.save(StoredTokens(application_id=APP_ID, refresh_token=Secret(REFRESH)))
        async with make_client(
            fake, credentials=Credentials(APP_ID, APP_SECRET), token_store=store
        ) as c:
            await c.request("GET", "/groups")

    run_virtual(main)
    assert fake.token_calls == 1


def test_missing_refresh_token_is_a_validation_error_before_any_call(fake: FakeKaizala) -> None:
    async def main() -> None:
        async with make_client(fake, credentials=Credentials(APP_ID, APP_SECRET)):
            pass

    with pytest.raises(ValidationError, match="refresh_token"):
        run_virtual(main)
    assert fake.calls == []


def test_wrong_secret_fails_on_enter_with_authentication_error(fake: FakeKaizala) -> None:
    async def main() -> None:
        async with make_client(fake, credentials=Credentials(APP_ID, "wrong", REFRESH)):
            pass

    with pytest.raises(AuthenticationError) as info:
        run_virtual(main)
    assert info.value.code == "Unauthenticated"
    assert "wrong" not in str(info.value)


def test_file_store_repairs_loose_permissions(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"a": {"refreshToken": "r", "endpointUrl": None, "origin": ""}}))
    os.chmod(path, 0o644)

    async def main() -> StoredTokens | None:
        return await FileTokenStore(path).load("a")

    loaded = run_virtual(main)
    assert loaded is not None and loaded.refresh_token.reveal() == "r"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def _open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def test_nothing_outlives_the_async_with_on_a_real_socket(fake: FakeKaizala) -> None:
    """A real loopback server: after exit no task, connection or file descriptor is left."""
    import uvicorn

    async def main() -> None:
        config = uvicorn.Config(fake, host="127.0.0.1", port=0, log_level="error", lifespan="off")
        server = uvicorn.Server(config)
        serving = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        root = f"http://127.0.0.1:{port}"
        fake.endpoint = root + "/"
        before_tasks = asyncio.all_tasks()
        before_fds = _open_fds()
        async with make_client(fake, api_root=root, transport=None) as client:
            await asyncio.gather(*(client.request("GET", "/groups") for _ in range(5)))
            assert len(asyncio.all_tasks()) > len(before_tasks)  # the renewal task is running
        await asyncio.sleep(0.05)  # let the server notice the closed connections
        assert asyncio.all_tasks() == before_tasks
        assert _open_fds() == before_fds
        server.should_exit = True
        await serving

    asyncio.run(main())


def test_a_new_process_paces_from_the_last_ones_calls(fake: FakeKaizala, tmp_path: Path) -> None:
    """The token store keeps when the connector's recent calls ended. A new client counts them
    (no doubling up on the previous process's window) and, knowing them, does not pre-charge:
    with nothing recent its first call goes at once."""
    path = tmp_path / "tokens.json"
    limits = RateLimits(connector=Rate(2, 10.0), tenant=None, jitter=0.0)

    async def calls(n: int) -> list[float]:
        loop = asyncio.get_running_loop()
        start = loop.time()
        async with make_client(fake, token_store=FileTokenStore(path), limits=limits) as client:
            sent = []
            for _ in range(n):
                await client.request("GET", "/groups")
                sent.append(loop.time() - start)
            return sent

    first = run_virtual(lambda: calls(1))
    assert first[0] >= 5.0  # no history yet: pre-charged, one spacing
    assert json.loads(path.read_text())[APP_ID]["recentCalls"]
    # At once again: the token call and one call of the first process count; N = 2, so the
    # next call waits for a whole window after them (a fresh pre-charge would have allowed it
    # after one spacing: three calls in ten seconds).
    second = run_virtual(lambda: calls(1))
    assert second[0] >= 9.9
    data = json.loads(path.read_text())
    data[APP_ID]["recentCalls"] = [time.time() - 3600]  # long ago
    path.write_text(json.dumps(data))
    third = run_virtual(lambda: calls(1))
    assert third[0] < 1.0  # the history is known and old: no pre-charge
